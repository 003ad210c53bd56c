// SPDX-License-Identifier: GPL-2.0
/*
 * dynidle, host half: tell the guest whether the host CPU under a vCPU
 * has other runnable work (Documentation/dynidle.rst), so that its idle
 * loop does not poll on a contended CPU.
 *
 * No dedicated host CPU and no timer: the hint is sampled at every VM
 * entry of the vCPU, where the host already runs in the vCPU's thread on
 * the CPU in question, with single_task_running() (one read of this
 * runqueue's nr_running).  The guest's area is written only when the
 * value changed, so a vCPU on an uncontended CPU costs one hash lookup
 * and one compare per entry.
 *
 * Context (kvm_entry tracepoint, see kvm_attach.c): interrupts off,
 * preemption off, kvm->srcu not held, the vCPU loaded.  So the write takes
 * kvm->srcu itself (the gfn_to_hva cache may need the memslots) and runs
 * with page faults disabled: if the page of the area is not mapped in the
 * host right now, the write fails, the host keeps its old idea of what
 * the guest sees, and the next entry tries again.  Nothing here trusts
 * the guest: the host decides what is written and where (the registered
 * area, whose size covers the section), and reads nothing back.
 *
 * Lifetime: the per-vCPU state is found as the hypercalls find it; it is
 * freed only when the VM is destroyed (no vCPU runs) or at unload, after
 * kvm_attach.c has unregistered the tracepoint probe and waited for
 * running probes to finish.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm_host.h>
#include <linux/sched/stat.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>

#include "host/internal.h"
#include "host.h"

void exitless_dynidle_vcpu_entry(struct kvm_vcpu *vcpu)
{
	struct exitless_vcpu *xv;
	struct kvm *kvm = vcpu->kvm;
	u32 flags;
	int idx, r;

	/* VMs that never registered an area pay one atomic read */
	if (!atomic_read(&exitless_stats.vcpus_registered) ||
	    !(exitless_features & EXITLESS_F_DYNIDLE))
		return;
	xv = exitless_vcpu_find(vcpu);
	if (!xv || !xv->registered || xv->version < 2 ||
	    xv->size < EXITLESS_AREA_SIZE_DYNIDLE)
		return;

	flags = single_task_running() ? 0 : EXITLESS_DYNIDLE_HOST_BUSY;
	if (flags == xv->dynidle_flags)
		return;

	idx = srcu_read_lock(&kvm->srcu);
	pagefault_disable();
	r = kvm_write_guest_offset_cached(kvm, &xv->ghc, &flags,
					  EXITLESS_AREA_OFF_DYNIDLE +
					  offsetof(struct exitless_dynidle_section,
						   host_flags),
					  sizeof(flags));
	pagefault_enable();
	srcu_read_unlock(&kvm->srcu, idx);
	if (r) {
		exitless_count(EXITLESS_CNT_DYNIDLE_WRITE_FAULTS);
		return;
	}
	xv->dynidle_flags = flags;
	exitless_count(EXITLESS_CNT_DYNIDLE_UPDATES);
}
