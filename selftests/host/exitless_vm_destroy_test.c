// SPDX-License-Identifier: GPL-2.0
/*
 * exitless_vm_destroy_test: per-VM and per-vCPU host state lives exactly as
 * long as the VM.
 *
 * The host module's debugfs stats (vms, vcpus_registered) are read before,
 * while and after VMs whose vCPUs all registered their areas: they rise by
 * the number of VMs and registered vCPUs, and return to where they were
 * once the VMs are destroyed, whether the vCPUs unregistered first or not,
 * and for two VMs destroyed one after the other.  Adding a vCPU to a VM
 * leaves the registrations of the others alone.  A vCPU that user space
 * resets (its registers set back to real mode, as QEMU's system reset
 * does) loses its registration, and only it; one that runs an SMI handler
 * keeps it.
 */
#include <string.h>

#include "exitless_test.h"

#define NR_VCPUS	8
#define SETTLE_TIMEOUT	10.0	/* seconds for the counts to come back */

struct counts {
	s64 vms;
	s64 regs;
};

static struct counts read_counts(void)
{
	struct counts c = { exl_stat("vms"), exl_stat("vcpus_registered") };

	if (c.vms < 0 || c.regs < 0)
		ksft_exit_fail_msg("%s lacks vms or vcpus_registered\n",
				   EXL_STATS_PATH);
	return c;
}

/* Wait for the counts to reach @want; the last counts read. */
static struct counts settle(struct counts want, double *secs)
{
	double t0 = exl_now();
	struct counts c;

	for (;;) {
		c = read_counts();
		*secs = exl_now() - t0;
		if ((c.vms == want.vms && c.regs == want.regs) ||
		    *secs > SETTLE_TIMEOUT)
			return c;
		usleep(10000);
	}
}

static struct kvm_vm *vm_all_registered(unsigned int n,
					struct kvm_vcpu *vcpus[], int *ok)
{
	struct kvm_vm *vm = exl_vm_create_executor(n, vcpus);
	struct exl_hc_out out;
	vm_vaddr_t gva;
	unsigned int i;
	u64 gpa;

	*ok = 0;
	for (i = 0; i < n; i++) {
		gva = vm_vaddr_alloc_page(vm);
		gpa = addr_gva2gpa(vm, gva);
		exl_area_init(vm, gpa, EXITLESS_LAYOUT_VERSION,
			      EXITLESS_AREA_MIN_SIZE);
		exl_hc(vcpus[i], EXITLESS_HC_REGISTER, gpa,
		       EXITLESS_AREA_MIN_SIZE, EXITLESS_LAYOUT_VERSION, 0,
		       &out);
		if (out.rax)
			ksft_print_msg("vCPU %u: REGISTER answers %#lx\n", i,
				       out.rax);
		else
			(*ok)++;
	}
	return vm;
}

static void check(const char *when, struct counts got, struct counts want)
{
	ksft_test_result(got.vms == want.vms,
			 "%s: vms %ld (want %ld)\n", when, got.vms, want.vms);
	ksft_test_result(got.regs == want.regs,
			 "%s: vcpus_registered %ld (want %ld)\n", when,
			 got.regs, want.regs);
}

static void check_back(const char *when, struct counts base)
{
	struct counts c;
	double secs;

	c = settle(base, &secs);
	ksft_test_result(c.vms == base.vms && c.regs == base.regs,
			 "%s: back to vms %ld, vcpus_registered %ld in %.3f s (now %ld, %ld)\n",
			 when, base.vms, base.regs, secs, c.vms, c.regs);
}

/* N vCPUs register, then unregister, then the VM goes. */
static void test_unregister_then_destroy(void)
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct counts base, now;
	struct exl_hc_out out;
	struct kvm_vm *vm;
	int ok, i, unregs = 0;

	base = read_counts();
	vm = vm_all_registered(NR_VCPUS, vcpus, &ok);
	ksft_test_result(ok == NR_VCPUS, "A: %d of %d vCPUs registered\n", ok,
			 NR_VCPUS);
	check("A: registered", read_counts(),
	      (struct counts){ base.vms + 1, base.regs + NR_VCPUS });

	for (i = 0; i < NR_VCPUS; i++) {
		exl_hc(vcpus[i], EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &out);
		unregs += !out.rax;
	}
	now = read_counts();
	ksft_test_result(unregs == NR_VCPUS && now.regs == base.regs &&
			 now.vms == base.vms + 1,
			 "A: %d unregistered: vcpus_registered %ld (want %ld), vms %ld (want %ld)\n",
			 unregs, now.regs, base.regs, now.vms, base.vms + 1);

	kvm_vm_free(vm);
	check_back("A: destroyed", base);
}

/* N vCPUs register, and the VM goes without unregistering. */
static void test_destroy_registered(void)
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct counts base;
	struct kvm_vm *vm;
	int ok;

	base = read_counts();
	vm = vm_all_registered(NR_VCPUS, vcpus, &ok);
	ksft_test_result(ok == NR_VCPUS, "B: %d of %d vCPUs registered\n", ok,
			 NR_VCPUS);
	check("B: registered", read_counts(),
	      (struct counts){ base.vms + 1, base.regs + NR_VCPUS });

	kvm_vm_free(vm);
	check_back("B: destroyed while registered", base);
}

/* Two VMs, each with two registered vCPUs, destroyed one by one. */
static void test_two_vms(void)
{
	struct kvm_vcpu *vcpus_a[2], *vcpus_b[2];
	struct kvm_vm *vm_a, *vm_b;
	struct counts base, now;
	int ok_a, ok_b;
	double secs;

	base = read_counts();
	vm_a = vm_all_registered(2, vcpus_a, &ok_a);
	vm_b = vm_all_registered(2, vcpus_b, &ok_b);
	now = read_counts();
	ksft_test_result(ok_a == 2 && ok_b == 2 && now.vms == base.vms + 2 &&
			 now.regs == base.regs + 4,
			 "C: two VMs registered: vms %ld (want %ld), vcpus_registered %ld (want %ld)\n",
			 now.vms, base.vms + 2, now.regs, base.regs + 4);

	kvm_vm_free(vm_a);
	now = settle((struct counts){ base.vms + 1, base.regs + 2 }, &secs);
	ksft_test_result(now.vms == base.vms + 1 && now.regs == base.regs + 2,
			 "C: first VM destroyed: vms %ld (want %ld), vcpus_registered %ld (want %ld)\n",
			 now.vms, base.vms + 1, now.regs, base.regs + 2);

	/* The survivor still answers. */
	exl_hc(vcpus_b[1], EXITLESS_HC_UNREGISTER, 0, 0, 0, 0,
	       &(struct exl_hc_out){});
	kvm_vm_free(vm_b);
	check_back("C: second VM destroyed", base);
}

/*
 * A vCPU created after another one registered: creating it must not touch
 * the other's registration (KVM resets a new vCPU before giving it its
 * index).
 */
static void test_vcpu_added_later(void)
{
	struct kvm_vcpu *vcpu0, *vcpu1;
	struct exl_hc_out reg, unreg;
	struct counts base, now;
	struct kvm_vm *vm;
	vm_vaddr_t gva;
	u64 gpa;

	base = read_counts();
	vm = vm_create(2);
	vcpu0 = vm_vcpu_add(vm, 0, exl_guest_executor);
	vcpu_args_set(vcpu0, 1, (uint64_t)0);
	exl_vm_sync(vm);
	exl_executor_start(vcpu0);
	gva = vm_vaddr_alloc_page(vm);
	gpa = addr_gva2gpa(vm, gva);
	exl_area_init(vm, gpa, EXITLESS_LAYOUT_VERSION, EXITLESS_AREA_MIN_SIZE);
	exl_hc(vcpu0, EXITLESS_HC_REGISTER, gpa, EXITLESS_AREA_MIN_SIZE,
	       EXITLESS_LAYOUT_VERSION, 0, &reg);

	vcpu1 = vm_vcpu_add(vm, 1, exl_guest_executor);
	vcpu_args_set(vcpu1, 1, (uint64_t)1);
	exl_executor_start(vcpu1);
	now = read_counts();
	exl_hc(vcpu0, EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &unreg);
	ksft_test_result(!reg.rax && now.regs == base.regs + 1 && !unreg.rax,
			 "D: adding vCPU 1 keeps vCPU 0's registration (REGISTER %#lx, then vcpus_registered %ld want %ld, UNREGISTER %#lx want 0)\n",
			 reg.rax, now.regs, base.regs + 1, unreg.rax);

	kvm_vm_free(vm);
	check_back("D: destroyed", base);
}

/* Real mode, as a reset leaves a vCPU, running @code_gpa from offset 0. */
static void set_reset_state(struct kvm_vcpu *vcpu, u64 code_gpa)
{
	struct kvm_segment data = {
		.limit = 0xffff, .type = 3, .present = 1, .s = 1,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 0x2 };

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cr0 = 0x60000010;	/* CD, NW, ET: the value after RESET */
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	sregs.cs = (struct kvm_segment){
		.base = code_gpa, .limit = 0xffff, .selector = code_gpa >> 4,
		.type = 0xb, .present = 1, .s = 1,
	};
	sregs.ds = data;
	sregs.es = data;
	sregs.fs = data;
	sregs.gs = data;
	sregs.ss = data;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_regs_set(vcpu, &regs);
}

/*
 * A vCPU that user space resets by setting its registers, as QEMU's
 * system reset does to the boot vCPU (no INIT comes), loses its
 * registration at its next entry, and only it: its neighbour keeps its
 * own.
 */
static void test_reset_by_user_space(void)
{
	static const u8 code[] = {
		0xb0, 0x5a,		/* mov al, 0x5a */
		0xe6, 0x80,		/* out 0x80, al */
		0xf4,			/* hlt */
	};
	struct kvm_vcpu *vcpus[2];
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct exl_hc_out out0, out1;
	struct counts base, now;
	s64 resets0, resets1;
	struct kvm_run *run;
	struct kvm_vm *vm;
	vm_vaddr_t gva;
	u64 gpa;
	int ok;

	base = read_counts();
	resets0 = exl_stat("vcpu_resets");
	vm = vm_all_registered(2, vcpus, &ok);
	now = read_counts();
	ksft_test_result(ok == 2 && now.regs == base.regs + 2,
			 "E: 2 vCPUs registered (vcpus_registered %ld, want %ld)\n",
			 now.regs, base.regs + 2);

	gva = vm_vaddr_alloc_page(vm);
	gpa = addr_gva2gpa(vm, gva);
	memcpy(addr_gva2hva(vm, gva), code, sizeof(code));
	/* the executor's ucall (an IN) done, so its registers can be kept */
	vcpu_run_complete_io(vcpus[0]);
	vcpu_sregs_get(vcpus[0], &sregs);
	vcpu_regs_get(vcpus[0], &regs);
	set_reset_state(vcpus[0], gpa);
	vcpu_run(vcpus[0]);
	run = vcpus[0]->run;
	now = read_counts();
	resets1 = exl_stat("vcpu_resets");
	ksft_test_result(run->exit_reason == KVM_EXIT_IO &&
			 run->io.port == 0x80 &&
			 run->io.direction == KVM_EXIT_IO_OUT &&
			 now.regs == base.regs + 1 && resets1 == resets0 + 1,
			 "E: vCPU 0 ran in real mode after a reset by KVM_SET_SREGS (exit %u, port %#x): vcpus_registered %ld (want %ld), vcpu_resets +%ld (want +1)\n",
			 run->exit_reason, run->io.port, now.regs,
			 base.regs + 1, resets1 - resets0);

	/* back where the executor waited, in long mode */
	vcpu_sregs_set(vcpus[0], &sregs);
	vcpu_regs_set(vcpus[0], &regs);
	exl_hc(vcpus[0], EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &out0);
	exl_hc(vcpus[1], EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &out1);
	ksft_test_result(out0.rax == EXL_RET(EXITLESS_ENOENT) && !out1.rax,
			 "E: UNREGISTER answers %#lx on the reset vCPU (want %#lx), %#lx on the other (want 0)\n",
			 out0.rax, EXL_RET(EXITLESS_ENOENT), out1.rax);

	kvm_vm_free(vm);
	check_back("E: destroyed", base);
}

/* SMRAM for test F, as upstream's x86_64/smm_test.c lays it out. */
#define SMRAM_SIZE	65536
#define SMRAM_MEMSLOT	((1 << 16) | 1)	/* address space 1: SMM's */
#define SMRAM_PAGES	(SMRAM_SIZE / PAGE_SIZE)
#define SMRAM_GPA	0x1000000
#define SMM_PORT	0xe

/*
 * The other side of E: a registered vCPU that takes an SMI runs outside
 * long mode too, in SMM, and must keep its registration through it (the
 * firmware's SMM handlers run at any time under OVMF with SMM).
 */
static void test_smm_keeps_registration(void)
{
	static const u8 handler[] = {
		0xb0, 0xfe,		/* mov al, 0xfe */
		0xe4, SMM_PORT,		/* in al, SMM_PORT */
		0x0f, 0xaa,		/* rsm */
	};
	struct kvm_vcpu_events events;
	struct exl_hc_out out;
	struct counts base, now;
	struct kvm_vcpu *vcpu;
	struct kvm_regs regs;
	s64 resets0, resets1;
	struct kvm_run *run;
	struct kvm_vm *vm;
	int ok;

	if (!kvm_has_cap(KVM_CAP_X86_SMM)) {
		ksft_test_result_skip("F: KVM offers no SMM (KVM_CAP_X86_SMM)\n");
		ksft_test_result_skip("F: UNREGISTER after RSM\n");
		ksft_test_result_skip("F: destroyed\n");
		return;
	}
	base = read_counts();
	resets0 = exl_stat("vcpu_resets");
	vm = vm_all_registered(1, &vcpu, &ok);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SMRAM_GPA,
				    SMRAM_MEMSLOT, SMRAM_PAGES, 0);
	TEST_ASSERT(vm_phy_pages_alloc(vm, SMRAM_PAGES, SMRAM_GPA,
				       SMRAM_MEMSLOT) == SMRAM_GPA,
		    "SMRAM not at %#x", SMRAM_GPA);
	memset(addr_gpa2hva(vm, SMRAM_GPA), 0, SMRAM_SIZE);
	memcpy(addr_gpa2hva(vm, SMRAM_GPA) + 0x8000, handler,
	       sizeof(handler));
	vcpu_set_msr(vcpu, MSR_IA32_SMBASE, SMRAM_GPA);

	vcpu_events_get(vcpu, &events);
	events.smi.pending = 1;
	events.flags |= KVM_VCPUEVENT_VALID_SMM;
	vcpu_events_set(vcpu, &events);
	vcpu_run(vcpu);
	run = vcpu->run;
	vcpu_regs_get(vcpu, &regs);
	now = read_counts();
	resets1 = exl_stat("vcpu_resets");
	ksft_test_result(ok == 1 && run->exit_reason == KVM_EXIT_IO &&
			 run->io.port == SMM_PORT && (regs.rax & 0xff) == 0xfe &&
			 now.regs == base.regs + 1 && resets1 == resets0,
			 "F: registered vCPU in its SMI handler (exit %u, port %#x): vcpus_registered %ld (want %ld), vcpu_resets +%ld (want +0)\n",
			 run->exit_reason, run->io.port, now.regs,
			 base.regs + 1, resets1 - resets0);

	/* RSM, back to the executor, which unregisters */
	exl_hc(vcpu, EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &out);
	ksft_test_result(!out.rax,
			 "F: UNREGISTER after RSM answers %#lx (want 0)\n",
			 out.rax);

	kvm_vm_free(vm);
	check_back("F: destroyed", base);
}

/* Information only: what a VM that never calls us does to the counts. */
static void note_unused_vm(void)
{
	struct counts base = read_counts(), during, after;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	double secs;

	vm = exl_vm_create_executor(1, &vcpu);
	during = read_counts();
	kvm_vm_free(vm);
	after = settle(base, &secs);
	ksft_print_msg("a VM that never calls: vms %ld -> %ld -> %ld\n",
		       base.vms, during.vms, after.vms);
}

int main(void)
{
	struct exl_hc_out out;
	struct counts base;
	double secs;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	exl_init();
	ksft_print_header();
	__TEST_REQUIRE(exl_module_loaded(), "%s is not loaded",
		       EXL_HOST_MODULE);
	__TEST_REQUIRE(access("/sys/kernel/debug/kvm", F_OK) == 0,
		       "debugfs is not mounted at /sys/kernel/debug");
	if (access(EXL_STATS_PATH, R_OK))
		ksft_exit_fail_msg("%s is loaded but %s is missing\n",
				   EXL_HOST_MODULE, EXL_STATS_PATH);

	base = read_counts();
	vm = exl_vm_create_executor(1, &vcpu);
	if (!exl_probe(vcpu, &out))
		ksft_exit_fail_msg("PROBE answers %#lx with %s loaded\n",
				   out.rax, EXL_HOST_MODULE);
	kvm_vm_free(vm);
	settle(base, &secs);

	ksft_set_plan(21);
	test_unregister_then_destroy();
	test_destroy_registered();
	test_two_vms();
	test_vcpu_added_later();
	test_reset_by_user_space();
	test_smm_keeps_registration();
	note_unused_vm();
	ksft_finished();
	return 0;
}
