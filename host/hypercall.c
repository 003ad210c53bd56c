// SPDX-License-Identifier: GPL-2.0
/*
 * The calls of exitless's private hypercall range (include/uapi/exitless.h,
 * Documentation/abi.rst).  Runs in the calling vCPU's thread, after KVM
 * itself has checked that the caller is 64-bit guest kernel mode (see
 * kvm_attach.c), with kvm->srcu held by KVM's run loop.  Every argument is
 * guest-controlled and checked before use.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm_host.h>

#include "internal.h"
#include "abi_policy.h"
#include "pvipi/host.h"
#include "pvtimer/host.h"

static long exitless_hc_probe(struct kvm_vcpu *vcpu, struct exitless_hc *hc)
{
	struct exitless_vm *vm;

	exitless_count(EXITLESS_CNT_HC_PROBE);
	vm = exitless_vm_get_or_create(vcpu->kvm);
	if (!vm)
		return -EXITLESS_ENOMEM;
	/* a0 (the guest's highest version) is informational in version 1 */
	hc->out[0] = EXITLESS_ABI_VERSION;
	hc->out[1] = exitless_features;
	hc->out[2] = vm->epoch;
	hc->out_regs = 3;
	return 0;
}

/* The VM's epoch; its state exists once the vCPU's does. */
static u64 exitless_vm_epoch(struct kvm_vcpu *vcpu)
{
	struct exitless_vm *vm = exitless_vm_find(vcpu->kvm);

	return vm ? vm->epoch : exitless_epoch;
}

/* Does @gpa..+@size lie in a writable RAM memslot of this VM? */
static bool exitless_gpa_writable(struct kvm *kvm, u64 gpa)
{
	gfn_t gfn = gpa >> PAGE_SHIFT;
	struct kvm_memory_slot *slot;

	/* also refuses KVM's internal slots (APIC access page etc.) */
	if (!kvm_is_visible_gfn(kvm, gfn))
		return false;
	slot = gfn_to_memslot(kvm, gfn);
	return slot && !(slot->flags & KVM_MEM_READONLY);
}

static long exitless_hc_register(struct kvm_vcpu *vcpu, struct exitless_hc *hc)
{
	u64 gpa = hc->a0, size = hc->a1, version = hc->a2, flags = hc->a3;
	struct exitless_area_hdr hdr;
	struct exitless_vcpu *xv;
	unsigned int host_off, host_len;
	long r;

	exitless_count(EXITLESS_CNT_HC_REGISTER);

	r = exitless_check_register_args(gpa, size, version, flags);
	if (r)
		return r;
	if (!exitless_gpa_writable(vcpu->kvm, gpa))
		return -EXITLESS_EFAULT;

	xv = exitless_vcpu_get_or_create(vcpu);
	if (!xv)
		return -EXITLESS_ENOMEM;
	if (xv->registered)
		return -EXITLESS_EBUSY;

	if (kvm_gfn_to_hva_cache_init(vcpu->kvm, &xv->ghc, gpa, size))
		return -EXITLESS_EFAULT;
	if (kvm_read_guest_cached(vcpu->kvm, &xv->ghc, &hdr, sizeof(hdr)))
		return -EXITLESS_EFAULT;
	if (hdr.magic != EXITLESS_AREA_MAGIC || hdr.version != version ||
	    hdr.size != size)
		return -EXITLESS_EINVAL;

	hdr.host_flags = EXITLESS_HOST_ATTACHED;
	hdr.vcpu_id = vcpu->vcpu_idx;
	hdr.host_epoch = exitless_vm_epoch(vcpu);
	/* the host-owned fields are contiguous: host_flags..host_epoch */
	host_off = offsetof(struct exitless_area_hdr, host_flags);
	host_len = offsetofend(struct exitless_area_hdr, host_epoch) - host_off;
	if (kvm_write_guest_offset_cached(vcpu->kvm, &xv->ghc, &hdr.host_flags,
					  host_off, host_len))
		return -EXITLESS_EFAULT;

	xv->gpa = gpa;
	xv->size = size;
	xv->version = version;
	xv->dynidle_flags = 0;		/* the guest zeroed its section */
	xv->registered = true;
	atomic_inc(&exitless_stats.vcpus_registered);

	hc->out[0] = hdr.host_epoch;
	hc->out_regs = 1;
	return 0;
}

static long exitless_hc_unregister(struct kvm_vcpu *vcpu,
				   struct exitless_hc *hc)
{
	struct exitless_vcpu *xv;

	exitless_count(EXITLESS_CNT_HC_UNREGISTER);
	if (hc->a0)
		return -EXITLESS_EINVAL;
	xv = exitless_vcpu_find(vcpu);
	if (!xv || !xv->registered)
		return -EXITLESS_ENOENT;
	exitless_vcpu_drop_registration(xv);
	return 0;
}

long exitless_dispatch(struct kvm_vcpu *vcpu, struct exitless_hc *hc)
{
	long r;

	switch (hc->nr) {
	case EXITLESS_HC_PROBE:
		r = exitless_hc_probe(vcpu, hc);
		break;
	case EXITLESS_HC_REGISTER:
		r = exitless_hc_register(vcpu, hc);
		break;
	case EXITLESS_HC_UNREGISTER:
		r = exitless_hc_unregister(vcpu, hc);
		break;
	case EXITLESS_HC_PVIPI_BASE ...
	     EXITLESS_HC_PVIPI_BASE + EXITLESS_HC_FEATURE_SPAN - 1:
		r = exitless_pvipi_hypercall(vcpu, hc);
		break;
	case EXITLESS_HC_PVTIMER_BASE ...
	     EXITLESS_HC_PVTIMER_BASE + EXITLESS_HC_FEATURE_SPAN - 1:
		r = exitless_pvtimer_hypercall(vcpu, hc);
		break;
	default:
		exitless_count(EXITLESS_CNT_HC_UNKNOWN);
		r = -EXITLESS_ENOSYS;
		break;
	}
	/* PVIPI_SEND answers how many it delivered: only < 0 is an error */
	if (r < 0)
		exitless_count(EXITLESS_CNT_HC_ERRORS);
	return r;
}
