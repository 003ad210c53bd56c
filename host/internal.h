/* SPDX-License-Identifier: GPL-2.0 */
/*
 * exitless_host.ko internals shared by host/ and the features' host halves.
 */
#ifndef EXITLESS_HOST_INTERNAL_H
#define EXITLESS_HOST_INTERNAL_H

#include <linux/kvm_host.h>
#include <linux/atomic.h>
#include "uapi/exitless.h"
#include "pvtimer/host.h"

/* Features this build of the host module implements. */
#define EXITLESS_HOST_SUPPORTED		(EXITLESS_F_AREA | EXITLESS_F_PVIPI | \
					 EXITLESS_F_PVTIMER | EXITLESS_F_DYNIDLE)

/* Module-wide counters, shown in debugfs (exitless/stats). */
struct exitless_host_stats {
	atomic_t vms;			/* VMs with exitless state */
	atomic_t vcpus_registered;	/* areas registered now */
	atomic64_t hc_probe;
	atomic64_t hc_register;
	atomic64_t hc_unregister;
	atomic64_t hc_unknown;		/* numbers in our range we don't know */
	atomic64_t hc_errors;		/* calls answered with an error */
	atomic64_t vcpu_resets;		/* registrations dropped by INIT/reset */
	atomic64_t hc_pvipi;		/* pvipi sub-range calls */
	atomic64_t pvipi_targets;	/* vCPUs PVIPI_SEND delivered to */
	atomic64_t pvipi_apic_sends;	/* its deliveries into KVM's APIC code */
	atomic64_t pvipi_inline;	/* ... calls with the bitmap in a0 */
	atomic64_t dynidle_updates;	/* dynidle host_flags written */
	atomic64_t dynidle_write_faults; /* ... not written: page not mapped */
	atomic_t pvtimer_vcpus;		/* vCPUs with pvtimer enabled now */
	atomic64_t hc_pvtimer;		/* pvtimer sub-range calls */
	atomic64_t pvtimer_syncs;	/* PVTIMER_SYNC calls */
	atomic64_t pvtimer_arms;	/* host timers (re)armed */
	atomic64_t pvtimer_injects;	/* vectors injected */
	atomic64_t pvtimer_kicks;	/* expiries that forced an exit first */
	atomic64_t pvtimer_guards;	/* guards started after an injection */
	atomic64_t pvtimer_guards_hinted; /* ... ended at the guest's tick hint */
	atomic64_t pvtimer_migrations;	/* timers moved to the vCPU's new CPU */
	atomic64_t pvtimer_read_faults;	/* section not readable at an exit */
	atomic64_t pvtimer_write_faults; /* host_seq/host_armed not written */
	atomic64_t pvtimer_backstops;	/* APIC backstops written for guests */
	atomic64_t pvtimer_poll_scans;	/* poller rounds over every vCPU */
	atomic64_t pvtimer_poll_arms;	/* host timers armed by the poller */
	atomic64_t pvtimer_pin_faults;	/* poller: section page not pinned */
};

extern struct exitless_host_stats exitless_stats;
extern u64 exitless_epoch;
extern u64 exitless_features;	/* offered: module param & supported */

/* Per-vCPU state; lives as long as its VM (or the module). */
struct exitless_vcpu {
	struct gfn_to_hva_cache ghc;	/* the registered area */
	u64 gpa;
	u32 size;
	u16 version;
	bool registered;
	u32 dynidle_flags;		/* dynidle: host_flags the guest has */
	struct exitless_pvtimer_vcpu pvtimer;
};

/* Per-VM state, created on the first call that needs it. */
struct exitless_vm {
	struct hlist_node node;		/* in the VM table, keyed by kvm */
	struct kvm *kvm;
	struct xarray vcpus;		/* vcpu_idx -> struct exitless_vcpu */
	u64 epoch;			/* PROBE's RDX for this VM */
	struct rcu_head rcu;
};

/* host/vm.c */
int exitless_vm_init(void);
void exitless_vm_exit(void);
struct exitless_vm *exitless_vm_find(struct kvm *kvm);
struct exitless_vm *exitless_vm_get_or_create(struct kvm *kvm);
struct exitless_vcpu *exitless_vcpu_find(struct kvm_vcpu *vcpu);
struct exitless_vcpu *exitless_vcpu_get_or_create(struct kvm_vcpu *vcpu);
void exitless_vcpu_drop_registration(struct exitless_vcpu *xv);
void exitless_vm_destroy(struct kvm *kvm);
void exitless_vcpu_reset(struct kvm_vcpu *vcpu);

/* host/hypercall.c: called from the KVM hypercall hook, vCPU context */
struct exitless_hc {
	unsigned long nr, a0, a1, a2, a3;
	/* outputs, written to RBX/RCX/RDX when out_regs says so */
	unsigned long out[3];
	int out_regs;
};

long exitless_dispatch(struct kvm_vcpu *vcpu, struct exitless_hc *hc);

/*
 * kvm.ko's kvm_entry and kvm_exit tracepoints: exported (EXPORT_TRACEPOINT_SYMBOL_GPL in
 * arch/x86/kvm/x86.c) but declared only in arch/x86/kvm/trace.h, which the
 * headers packages do not ship.  Used by kvm_attach.c only.
 */
extern struct tracepoint __tracepoint_kvm_entry;
extern struct tracepoint __tracepoint_kvm_exit;

/* host/kvm_attach.c */
int exitless_attach(void);
void exitless_detach(void);
/* the vCPU's MSR_IA32_TSC_DEADLINE, as a guest WRMSR; vCPU thread only */
int exitless_kvm_set_tsc_deadline(struct kvm_vcpu *vcpu, u64 tsc);

#endif
