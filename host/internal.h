/* SPDX-License-Identifier: GPL-2.0 */
/*
 * exitless_host.ko internals shared by host/ and the features' host halves.
 */
#ifndef EXITLESS_HOST_INTERNAL_H
#define EXITLESS_HOST_INTERNAL_H

#include <linux/kvm_host.h>
#include <linux/atomic.h>
#include <linux/percpu.h>
#include "uapi/exitless.h"
#include "pvtimer/host.h"

/* Features this build of the host module implements. */
#define EXITLESS_HOST_SUPPORTED		(EXITLESS_F_AREA | EXITLESS_F_PVIPI | \
					 EXITLESS_F_PVTIMER | EXITLESS_F_DYNIDLE)

/* Module-wide gauges, shown in debugfs (exitless/stats). */
struct exitless_host_stats {
	atomic_t vms;			/* VMs with exitless state */
	atomic_t vcpus_registered;	/* areas registered now */
	atomic_t pvtimer_vcpus;		/* vCPUs with pvtimer enabled now */
};

extern struct exitless_host_stats exitless_stats;

/*
 * Module-wide event counts, shown in debugfs in this order.  They are
 * bumped on every VM's hot paths (each hypercall, timer arm and
 * injection), so each CPU keeps its own and a read sums them: no two
 * host CPUs share a counter's cache line.
 */
enum exitless_count {
	EXITLESS_CNT_HC_PROBE,
	EXITLESS_CNT_HC_REGISTER,
	EXITLESS_CNT_HC_UNREGISTER,
	EXITLESS_CNT_HC_UNKNOWN,		/* numbers in our range we don't know */
	EXITLESS_CNT_HC_ERRORS,			/* calls answered with an error */
	EXITLESS_CNT_VCPU_RESETS,		/* registrations dropped by INIT/reset */
	EXITLESS_CNT_HC_PVIPI,			/* pvipi sub-range calls */
	EXITLESS_CNT_PVIPI_TARGETS,		/* vCPUs PVIPI_SEND delivered to */
	EXITLESS_CNT_PVIPI_APIC_SENDS,		/* its deliveries into KVM's APIC code */
	EXITLESS_CNT_PVIPI_INLINE,		/* ... calls with the bitmap in a0 */
	EXITLESS_CNT_DYNIDLE_UPDATES,		/* dynidle host_flags written */
	EXITLESS_CNT_DYNIDLE_WRITE_FAULTS,	/* ... not written: page not mapped */
	EXITLESS_CNT_HC_PVTIMER,		/* pvtimer sub-range calls */
	EXITLESS_CNT_PVTIMER_SYNCS,		/* PVTIMER_SYNC calls */
	EXITLESS_CNT_PVTIMER_ARMS,		/* host timers (re)armed */
	EXITLESS_CNT_PVTIMER_INJECTS,		/* vectors injected */
	EXITLESS_CNT_PVTIMER_KICKS,		/* expiries that forced an exit first */
	EXITLESS_CNT_PVTIMER_GUARDS,		/* guards started after an injection */
	EXITLESS_CNT_PVTIMER_GUARDS_HINTED,	/* ... ended at the guest's tick hint */
	EXITLESS_CNT_PVTIMER_MIGRATIONS,	/* timers moved to the vCPU's new CPU */
	EXITLESS_CNT_PVTIMER_READ_FAULTS,	/* section not readable at an exit */
	EXITLESS_CNT_PVTIMER_WRITE_FAULTS,	/* host_seq/host_armed not written */
	EXITLESS_CNT_PVTIMER_BACKSTOPS,		/* APIC backstops written for guests */
	EXITLESS_CNT_PVTIMER_BACKSTOP_REWRITES,	/* ... again at entry: KVM dropped one */
	EXITLESS_CNT_PVTIMER_POLL_SCANS,	/* poller rounds over every vCPU */
	EXITLESS_CNT_PVTIMER_POLL_ARMS,		/* host timers armed by the poller */
	EXITLESS_CNT_PVTIMER_PIN_FAULTS,	/* poller: section page not pinned */
	EXITLESS_NR_COUNTS
};

struct exitless_counts {
	u64 n[EXITLESS_NR_COUNTS];
};

DECLARE_PER_CPU(struct exitless_counts, exitless_counts);

/* Count @nr events on this CPU's copy of counter @c; any context. */
static inline void exitless_count_add(enum exitless_count c, u64 nr)
{
	this_cpu_add(exitless_counts.n[c], nr);
}

static inline void exitless_count(enum exitless_count c)
{
	this_cpu_inc(exitless_counts.n[c]);
}

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
void exitless_vcpu_entry_check(struct kvm_vcpu *vcpu);

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
void exitless_detach_destroy(void);
/* the vCPU's MSR_IA32_TSC_DEADLINE, as a guest WRMSR; vCPU thread only */
int exitless_kvm_set_tsc_deadline(struct kvm_vcpu *vcpu, u64 tsc);
int exitless_kvm_get_tsc_deadline(struct kvm_vcpu *vcpu, u64 *tsc);
/* the VM's HLT or MWAIT runs without a VM exit (KVM_CAP_X86_DISABLE_EXITS) */
bool exitless_kvm_halts_in_guest(struct kvm *kvm);

#endif
