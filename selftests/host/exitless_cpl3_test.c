// SPDX-License-Identifier: GPL-2.0
/*
 * exitless_cpl3_test: the ABI is for guest kernel mode only.
 *
 * A vCPU first calls PROBE at CPL 0 (the control), then is moved to CPL 3
 * (every guest page made user-accessible, CS/SS with DPL 3, IOPL 3 so the
 * ucall port I/O still works) and issues PROBE, REGISTER with a valid area,
 * UNREGISTER and an unknown number of our range: KVM must refuse each with
 * -KVM_EPERM before the host module sees it, so the module's hc_* counters
 * do not move and the area is not written.  Back at CPL 0, nothing is
 * registered and PROBE answers as before.
 *
 * Runs with or without exitless_host (the control then sees -KVM_ENOSYS).
 */
#include "exitless_test.h"

#define X86_EFLAGS_IOPL_3	(3UL << 12)

static const char * const hc_stats[] = {
	"hc_probe", "hc_register", "hc_unregister", "hc_unknown", "hc_errors",
};

/* Set U/S in every present entry of all four levels of the guest tables. */
static void make_all_pages_user(struct kvm_vm *vm)
{
	u64 *pml4, *pdpt, *pd, *pt;
	int i4, i3, i2, i1;

	pml4 = addr_gpa2hva(vm, vm->pgd);
	for (i4 = 0; i4 < 512; i4++) {
		if (!(pml4[i4] & PTE_PRESENT_MASK))
			continue;
		pml4[i4] |= PTE_USER_MASK;
		pdpt = addr_gpa2hva(vm, PTE_GET_PFN(pml4[i4]) << vm->page_shift);
		for (i3 = 0; i3 < 512; i3++) {
			if (!(pdpt[i3] & PTE_PRESENT_MASK))
				continue;
			pdpt[i3] |= PTE_USER_MASK;
			if (pdpt[i3] & PTE_LARGE_MASK)
				continue;
			pd = addr_gpa2hva(vm, PTE_GET_PFN(pdpt[i3]) << vm->page_shift);
			for (i2 = 0; i2 < 512; i2++) {
				if (!(pd[i2] & PTE_PRESENT_MASK))
					continue;
				pd[i2] |= PTE_USER_MASK;
				if (pd[i2] & PTE_LARGE_MASK)
					continue;
				pt = addr_gpa2hva(vm, PTE_GET_PFN(pd[i2]) << vm->page_shift);
				for (i1 = 0; i1 < 512; i1++)
					if (pt[i1] & PTE_PRESENT_MASK)
						pt[i1] |= PTE_USER_MASK;
			}
		}
	}
}

/*
 * Move a vCPU, stopped in a ucall, to CPL 3 or back to CPL 0.  On SVM the
 * CPL is SS.DPL, on VMX SS.DPL too (CS.RPL must match); IOPL 3 lets the
 * ucall's IN instruction run at CPL 3.
 */
static void vcpu_set_cpl(struct kvm_vcpu *vcpu, int cpl)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.cs.dpl = cpl;
	sregs.cs.selector = (sregs.cs.selector & ~3) | cpl;
	sregs.ss = sregs.ds;
	sregs.ss.dpl = cpl;
	sregs.ss.selector = (sregs.ds.selector & ~3) | cpl;
	vcpu_sregs_set(vcpu, &sregs);

	vcpu_regs_get(vcpu, &regs);
	if (cpl)
		regs.rflags |= X86_EFLAGS_IOPL_3;
	else
		regs.rflags &= ~X86_EFLAGS_IOPL_3;
	vcpu_regs_set(vcpu, &regs);
}

int main(void)
{
	struct exl_stats before, after;
	struct exitless_area_hdr *hdr;
	struct exl_hc_out out, ctl;
	struct kvm_vcpu *vcpu;
	bool have_stats, moved;
	struct kvm_vm *vm;
	u64 gpa, expect;
	vm_vaddr_t area;
	unsigned int i;
	u64 b, a;
	u16 cpl;

	exl_init();
	ksft_print_header();
	ksft_set_plan(10);

	vm = exl_vm_create(1, &vcpu, exl_guest_executor);
	area = vm_vaddr_alloc_page(vm);
	gpa = addr_gva2gpa(vm, area);
	exl_area_init(vm, gpa, EXITLESS_LAYOUT_VERSION, EXITLESS_AREA_MIN_SIZE);
	hdr = addr_gpa2hva(vm, gpa);
	/* Before the guest has run, so that no TLB holds a supervisor entry. */
	make_all_pages_user(vm);
	exl_executor_start(vcpu);

	/* Control, at CPL 0. */
	cpl = exl_guest_cpl_of(vcpu);
	exl_probe(vcpu, &ctl);
	ksft_test_result(cpl == 0 && (ctl.rax == 0 || ctl.rax == EXL_KVM_ENOSYS),
			 "CPL %u control: PROBE answers %s (rax %#lx)\n", cpl,
			 ctl.rax == 0 ? "0, exitless_host is there" :
			 "-KVM_ENOSYS, no exitless_host", ctl.rax);
	if (ctl.rax == 0 && !exl_module_loaded())
		ksft_print_msg("PROBE answered but %s is absent?\n",
			       EXL_SYSFS_MODULE);

	have_stats = exl_stats_read(&before) == 0;

	vcpu_set_cpl(vcpu, 3);
	cpl = exl_guest_cpl_of(vcpu);
	ksft_test_result(cpl == 3, "guest now runs at CPL %u\n", cpl);
	if (cpl != 3)
		ksft_exit_fail_msg("could not move the vCPU to CPL 3\n");

	exl_hc(vcpu, EXITLESS_HC_PROBE, EXITLESS_ABI_VERSION, 0, 0, 0, &out);
	ksft_test_result(out.rax == EXL_KVM_EPERM,
			 "CPL 3 PROBE: -KVM_EPERM (rax %#lx)\n", out.rax);
	exl_hc(vcpu, EXITLESS_HC_REGISTER, gpa, EXITLESS_AREA_MIN_SIZE,
	       EXITLESS_LAYOUT_VERSION, 0, &out);
	ksft_test_result(out.rax == EXL_KVM_EPERM,
			 "CPL 3 REGISTER (valid area): -KVM_EPERM (rax %#lx)\n",
			 out.rax);
	exl_hc(vcpu, EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &out);
	ksft_test_result(out.rax == EXL_KVM_EPERM,
			 "CPL 3 UNREGISTER: -KVM_EPERM (rax %#lx)\n", out.rax);
	exl_hc(vcpu, EXITLESS_HC_BASE + 3, 0, 0, 0, 0, &out);
	ksft_test_result(out.rax == EXL_KVM_EPERM,
			 "CPL 3 unknown number of our range: -KVM_EPERM (rax %#lx)\n",
			 out.rax);

	ksft_test_result(hdr->host_flags == 0 && hdr->vcpu_id == 0 &&
			 hdr->host_epoch == 0,
			 "area not written by the host (flags %#x, vcpu %u, epoch %#llx)\n",
			 hdr->host_flags, hdr->vcpu_id,
			 (unsigned long long)hdr->host_epoch);

	if (!have_stats || exl_stats_read(&after)) {
		ksft_test_result_skip("hc_* counters: no %s\n",
				      EXL_STATS_PATH);
	} else {
		moved = false;
		for (i = 0; i < ARRAY_SIZE(hc_stats); i++) {
			if (!exl_stats_get(&before, hc_stats[i], &b) ||
			    !exl_stats_get(&after, hc_stats[i], &a)) {
				ksft_print_msg("no %s in %s\n", hc_stats[i],
					       EXL_STATS_PATH);
				moved = true;
			} else if (a != b) {
				ksft_print_msg("%s moved: %lu -> %lu\n",
					       hc_stats[i], b, a);
				moved = true;
			}
		}
		ksft_test_result(!moved,
				 "no hc_* counter moved for the CPL 3 calls\n");
	}

	/* Back to CPL 0: nothing was registered, PROBE as before. */
	vcpu_set_cpl(vcpu, 0);
	exl_hc(vcpu, EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &out);
	expect = ctl.rax == 0 ? EXL_RET(EXITLESS_ENOENT) : EXL_KVM_ENOSYS;
	ksft_test_result(out.rax == expect,
			 "CPL 0 again: UNREGISTER finds nothing registered (rax %#lx, want %#lx)\n",
			 out.rax, expect);
	exl_probe(vcpu, &out);
	ksft_test_result(exl_guest_cpl_of(vcpu) == 0 && out.rax == ctl.rax &&
			 out.rdx == ctl.rdx,
			 "CPL 0 again: PROBE answers as the control did (rax %#lx)\n",
			 out.rax);

	exl_guest_done(vcpu);
	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
