// SPDX-License-Identifier: GPL-2.0
/*
 * exitless_probe_test: EXITLESS_HC_PROBE from a raw 64-bit CPL 0 guest.
 *
 * With exitless_host loaded: RAX = 0, RBX = EXITLESS_ABI_VERSION, RCX holds
 * EXITLESS_F_AREA and no unknown bit, RDX (the host epoch) is nonzero and
 * the same for every call, vCPU and VM; numbers outside our range, or with
 * bits above 32 set, still reach KVM.
 *
 * With --expect-absent (no exitless_host): KVM answers every number of our
 * range with -KVM_ENOSYS and leaves RBX/RCX/RDX alone.
 */
#include <string.h>

#include "exitless_test.h"

static void test_absent(void)
{
	struct kvm_vcpu *vcpus[2];
	struct exl_hc_out out;
	struct kvm_vm *vm;
	u64 bad, bad_nr, bad_rax;
	vm_vaddr_t area;

	ksft_set_plan(5);
	vm = exl_vm_create_executor(2, vcpus);

	exl_hc(vcpus[0], EXITLESS_HC_PROBE, EXITLESS_ABI_VERSION, 0x1111,
	       0x2222, 0x3333, &out);
	ksft_test_result(out.rax == EXL_KVM_ENOSYS,
			 "PROBE answers -KVM_ENOSYS (rax %#lx)\n", out.rax);
	ksft_test_result(out.rbx == EXITLESS_ABI_VERSION && out.rcx == 0x1111 &&
			 out.rdx == 0x2222,
			 "PROBE leaves RBX/RCX/RDX alone (%#lx %#lx %#lx)\n",
			 out.rbx, out.rcx, out.rdx);

	area = vm_vaddr_alloc_page(vm);
	exl_area_init(vm, addr_gva2gpa(vm, area), EXITLESS_LAYOUT_VERSION,
		      EXITLESS_AREA_MIN_SIZE);
	exl_hc(vcpus[0], EXITLESS_HC_REGISTER, addr_gva2gpa(vm, area),
	       EXITLESS_AREA_MIN_SIZE, EXITLESS_LAYOUT_VERSION, 0, &out);
	ksft_test_result(out.rax == EXL_KVM_ENOSYS,
			 "REGISTER answers -KVM_ENOSYS (rax %#lx)\n", out.rax);
	exl_hc(vcpus[0], EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &out);
	ksft_test_result(out.rax == EXL_KVM_ENOSYS,
			 "UNREGISTER answers -KVM_ENOSYS (rax %#lx)\n",
			 out.rax);

	bad = exl_guest_sweep(vcpus[1], EXITLESS_HC_BASE, EXITLESS_HC_LAST,
			      EXL_KVM_ENOSYS, &bad_nr, &bad_rax);
	ksft_test_result(!bad,
			 "all %d numbers of the range answer -KVM_ENOSYS (%lu did not, first %#lx: %#lx)\n",
			 EXITLESS_HC_COUNT, bad, bad_nr, bad_rax);

	exl_guest_done(vcpus[0]);
	exl_guest_done(vcpus[1]);
	kvm_vm_free(vm);
}

static void test_present(void)
{
	struct kvm_vcpu *vcpus[2], *vcpu_b;
	struct exl_hc_out first, out;
	struct kvm_vm *vm, *vm_b;
	s64 probes_before, probes_after;
	int probes = 0;
	bool same;
	u64 a0;

	ksft_set_plan(12);
	vm = exl_vm_create_executor(2, vcpus);
	probes_before = exl_stat("hc_probe");

	exl_probe(vcpus[0], &first);
	probes++;
	ksft_test_result(first.rax == 0, "PROBE answers 0 (rax %#lx)\n",
			 first.rax);
	if (first.rax != 0)
		ksft_exit_fail_msg("exitless_host is loaded but does not answer PROBE\n");
	ksft_print_msg("host: ABI %lu, features %#lx, epoch %#lx\n",
		       first.rbx, first.rcx, first.rdx);

	ksft_test_result(first.rbx == EXITLESS_ABI_VERSION,
			 "RBX = ABI version %d (got %lu)\n",
			 EXITLESS_ABI_VERSION, first.rbx);
	ksft_test_result(first.rcx & EXITLESS_F_AREA,
			 "RCX offers EXITLESS_F_AREA (%#lx)\n", first.rcx);
	ksft_test_result(!(first.rcx & ~EXITLESS_F_ALL),
			 "RCX has no bit beyond EXITLESS_F_ALL (%#lx)\n",
			 first.rcx);
	ksft_test_result(first.rdx != 0, "RDX (epoch) is nonzero\n");

	/* Same answer for any a0, on any vCPU, in another VM. */
	same = true;
	for (a0 = 0; a0 < 4; a0++) {
		u64 ver = a0 == 3 ? 0xffffffffffffffffULL : a0;

		exl_hc(vcpus[a0 & 1], EXITLESS_HC_PROBE, ver, 0, 0, 0, &out);
		probes++;
		if (memcmp(&out, &first, sizeof(out))) {
			ksft_print_msg("PROBE(a0=%#lx) on vCPU %lu: %#lx %#lx %#lx %#lx\n",
				       ver, a0 & 1, out.rax, out.rbx, out.rcx,
				       out.rdx);
			same = false;
		}
	}
	ksft_test_result(same,
			 "same answer and epoch for any a0 and vCPU of a VM\n");

	/* another VM (a migrated one, say): same answer, its own epoch */
	vm_b = exl_vm_create_executor(1, &vcpu_b);
	exl_probe(vcpu_b, &out);
	probes++;
	ksft_test_result(out.rax == first.rax && out.rbx == first.rbx &&
			 out.rcx == first.rcx && out.rdx && out.rdx != first.rdx,
			 "a second VM: same answer, an epoch of its own (%#lx, %#lx)\n",
			 out.rdx, first.rdx);
	exl_guest_done(vcpu_b);
	kvm_vm_free(vm_b);

	/* RAX is 64 bits wide in 64-bit mode: this is not our number. */
	exl_hc(vcpus[0], EXITLESS_HC_PROBE | (1ULL << 32), 0, 0, 0, 0, &out);
	ksft_test_result(out.rax == EXL_KVM_ENOSYS,
			 "PROBE | 1 << 32 goes to KVM: -KVM_ENOSYS (rax %#lx)\n",
			 out.rax);
	exl_hc(vcpus[0], EXITLESS_HC_BASE - 1, 0, 0, 0, 0, &out);
	ksft_test_result(out.rax == EXL_KVM_ENOSYS,
			 "HC_BASE - 1 goes to KVM: -KVM_ENOSYS (rax %#lx)\n",
			 out.rax);
	exl_hc(vcpus[0], EXITLESS_HC_LAST + 1, 0, 0, 0, 0, &out);
	ksft_test_result(out.rax == EXL_KVM_ENOSYS,
			 "HC_LAST + 1 goes to KVM: -KVM_ENOSYS (rax %#lx)\n",
			 out.rax);
	exl_hc(vcpus[1], KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0, &out);
	ksft_test_result(out.rax == 0,
			 "KVM's own KVM_HC_VAPIC_POLL_IRQ still answers 0 (rax %#lx)\n",
			 out.rax);

	probes_after = exl_stat("hc_probe");
	if (probes_before < 0 || probes_after < 0)
		ksft_test_result_skip("stats hc_probe: no %s\n",
				      EXL_STATS_PATH);
	else
		ksft_test_result(probes_after - probes_before == probes,
				 "stats hc_probe rose by %d (%ld -> %ld)\n",
				 probes, probes_before, probes_after);

	exl_guest_done(vcpus[0]);
	exl_guest_done(vcpus[1]);
	kvm_vm_free(vm);
}

int main(int argc, char *argv[])
{
	bool absent = argc > 1 && !strcmp(argv[1], "--expect-absent");

	exl_init();
	if (argc > 1 && !absent)
		ksft_exit_fail_msg("usage: %s [--expect-absent]\n", argv[0]);
	ksft_print_header();

	if (absent) {
		test_absent();
	} else {
		__TEST_REQUIRE(exl_module_loaded(), "%s is not loaded",
			       EXL_HOST_MODULE);
		test_present();
	}
	ksft_finished();
	return 0;
}
