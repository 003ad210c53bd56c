// SPDX-License-Identifier: GPL-2.0
/*
 * pvipi, host half: PVIPI_SEND delivers one interrupt (fixed vector or
 * NMI) to any set of vCPUs of the caller's VM with one hypercall
 * (Documentation/pvipi.rst).
 *
 * Runs in the calling vCPU's thread from exitless_dispatch(), with
 * kvm->srcu held by KVM's run loop.  Every argument is guest-controlled:
 * the shape is checked by the pure exitless_pvipi_check_send(), the bitmap
 * is copied once from guest RAM into a host buffer (so the guest cannot
 * change it between the check and the delivery), or taken from a0 when
 * the call says it is there (EXITLESS_PVIPI_SEND_INLINE: up to 64 vCPUs,
 * no guest memory read), its length is bounded by the VM's online vCPU
 * count, and every loop runs over that copy.
 *
 * Delivery uses KVM's exported kvm_apic_send_ipi() on the sender's local
 * APIC, exactly as an x2APIC ICR write by the sender would: a fixed vector
 * once per x2APIC cluster of the set, with the cluster's logical
 * destination (policy.h), an NMI once per target with its x2APIC ID.  KVM
 * fixes a vCPU's x2APIC ID to its vcpu_id, and its logical ID to what the
 * ID implies, so both are known without KVM's private lapic.h; an xAPIC ID
 * is guest-writable and only 8 bits wide, so the call is refused unless
 * the sender and every target are in x2APIC mode.  All or nothing: every
 * target is checked before the first one is sent to.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm_host.h>
#include <linux/nospec.h>
#include <asm/apicdef.h>

#include "compat/compat.h"
#include "host/internal.h"
#include "policy.h"
#include "host.h"

/* The largest bitmap a VM can need: one bit per possible vCPU. */
#define EXITLESS_PVIPI_HOST_WORDS	BITS_TO_LONGS(KVM_MAX_VCPUS)

static bool exitless_pvipi_x2apic(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.apic &&
	       (READ_ONCE(vcpu->arch.apic_base) & X2APIC_ENABLE);
}

/* One interrupt command from @vcpu's local APIC, counted in *@sends. */
static void exitless_pvipi_apic_send(struct kvm_vcpu *vcpu, u32 icr_low,
				     u32 dest, unsigned long *sends)
{
	kvm_apic_send_ipi(vcpu->arch.apic, icr_low, dest);
	(*sends)++;
}

static long exitless_pvipi_send(struct kvm_vcpu *vcpu, struct exitless_hc *hc)
{
	unsigned long map[EXITLESS_PVIPI_HOST_WORDS];
	struct kvm *kvm = vcpu->kvm;
	struct kvm_vcpu *target;
	u32 nr_vcpus, icr_low, bytes, batch = 0, dest;
	unsigned long i, sends = 0;
	bool by_cluster;
	long r, n = 0;

	exitless_count(EXITLESS_CNT_HC_PVIPI);
	if (!(exitless_features & EXITLESS_F_PVIPI))
		return -EXITLESS_EOPNOTSUPP;

	nr_vcpus = min_t(u32, atomic_read(&kvm->online_vcpus), KVM_MAX_VCPUS);
	r = exitless_pvipi_check_send(hc->a0, hc->a1, hc->a2, hc->a3, nr_vcpus);
	if (r)
		return r;
	if (!exitless_pvipi_x2apic(vcpu))
		return -EXITLESS_EOPNOTSUPP;

	if (exitless_pvipi_inline(hc->a3)) {
		/* checked: at most 64 bits, none above a1 */
		map[0] = hc->a0;
		exitless_count(EXITLESS_CNT_PVIPI_INLINE);
	} else {
		bytes = exitless_pvipi_bitmap_bytes(hc->a1);
		if (kvm_read_guest(kvm, hc->a0, map, bytes))
			return -EXITLESS_EFAULT;
	}

	/* first pass: every named vCPU exists and can be addressed */
	by_cluster = exitless_pvipi_by_cluster(hc->a2);
	for_each_set_bit(i, map, hc->a1) {
		target = kvm_get_vcpu(kvm, array_index_nospec(i, nr_vcpus));
		if (!target || !exitless_pvipi_x2apic(target))
			return -EXITLESS_EOPNOTSUPP;
		if (target->vcpu_id > EXITLESS_PVIPI_CLUSTER_MAX_ID)
			by_cluster = false;
	}

	icr_low = exitless_pvipi_icr_low(hc->a2);
	for_each_set_bit(i, map, hc->a1) {
		target = kvm_get_vcpu(kvm, array_index_nospec(i, nr_vcpus));
		if (!target)	/* cannot happen: vCPUs are never removed */
			continue;
		n++;
		if (!by_cluster) {
			exitless_pvipi_apic_send(vcpu, icr_low, target->vcpu_id,
						 &sends);
			continue;
		}
		dest = exitless_pvipi_cluster_add(&batch, target->vcpu_id);
		if (dest)
			exitless_pvipi_apic_send(vcpu, icr_low | APIC_DEST_LOGICAL,
						 dest, &sends);
	}
	if (batch)
		exitless_pvipi_apic_send(vcpu, icr_low | APIC_DEST_LOGICAL,
					 batch, &sends);
	exitless_count_add(EXITLESS_CNT_PVIPI_TARGETS, n);
	exitless_count_add(EXITLESS_CNT_PVIPI_APIC_SENDS, sends);
	return n;
}

long exitless_pvipi_hypercall(struct kvm_vcpu *vcpu, struct exitless_hc *hc)
{
	switch (hc->nr) {
	case EXITLESS_HC_PVIPI_SEND:
		return exitless_pvipi_send(vcpu, hc);
	default:
		exitless_count(EXITLESS_CNT_HC_UNKNOWN);
		return -EXITLESS_ENOSYS;
	}
}
