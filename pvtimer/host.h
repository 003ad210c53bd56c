/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvtimer, host half: a host timer per vCPU for the deadline in the
 * vCPU's pvtimer section (Documentation/pvtimer.rst).
 */
#ifndef EXITLESS_PVTIMER_HOST_H
#define EXITLESS_PVTIMER_HOST_H

#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct kvm_vcpu;
struct page;
struct exitless_vcpu;
struct exitless_hc;

/**
 * struct exitless_pvtimer_vcpu - one vCPU's pvtimer, in its exitless_vcpu
 * @lock: guards everything below against the timer callback (hard irq)
 * @timer: runs for @armed, pinned to the CPU the vCPU last entered on
 * @vcpu: the vCPU (the state dies with the VM, before the vCPU)
 * @seen_seq: the section's seq the host acted on last
 * @armed: deadline (vCPU TSC) @timer runs for, 0 = none
 * @guard_ns: length of the guard being started
 * @tick_hint: the section's tick_hint, as read with the deadline acted on
 *	last: where the guard after its injection may end (policy.h)
 * @pub_seq: host_seq as the section shows it
 * @pub_armed: host_armed as the section shows it
 * @cpu: CPU @timer was queued on, -1 = not known (moved at the next entry)
 * @vector: what to inject
 * @enabled: PVTIMER_ENABLE'd and not disabled since
 * @pub_valid: @pub_seq and @pub_armed were written since ENABLE
 * @in_guest: between a VM entry and the next VM exit: the guest may have
 *	written a deadline the host has not read
 * @fired: @timer expired while @in_guest: decide at the next exit
 * @guard: @timer runs for a guard (see pvtimer_guard_us), not a deadline
 * @unread: the section was not readable at an exit and the vector was
 *	injected for it; cleared by the next read (one such vector per read)
 * @window: the guest's backstop window (ENABLE's a2), 0 = the guest keeps
 *	its own backstop
 * @backstop: the APIC TSC deadline the host last wrote, 0 = none
 * @backstop_want: the one to write next (vCPU thread, outside @lock)
 * @backstop_dirty: @backstop_want is planned and not taken yet
 * @backstop_check: @backstop was written since the last VM entry: that
 *	entry checks that KVM kept it (exitless_pvtimer_backstop_verify())
 * @poll_node: on the poller's list while @poll_page is pinned
 * @poll_page: the page of the section, pinned for the poller (poller mode)
 * @poll_sec: the section's deadline and seq in @poll_page
 * @poll_seq: the seq the poller acted on last
 * @by_poll: @timer was armed by the poller, not from the vCPU's thread
 */
struct exitless_pvtimer_vcpu {
	raw_spinlock_t lock;
	struct hrtimer timer;
	struct kvm_vcpu *vcpu;
	u64 seen_seq;
	u64 armed;
	u64 guard_ns;
	u64 tick_hint;
	u64 pub_seq;
	u64 pub_armed;
	int cpu;
	u8 vector;
	bool enabled;
	bool pub_valid;
	bool in_guest;
	bool fired;
	bool guard;
	bool unread;
	u64 window;
	u64 backstop;
	u64 backstop_want;
	bool backstop_dirty;
	bool backstop_check;
	struct list_head poll_node;
	struct page *poll_page;
	const u64 *poll_sec;
	u64 poll_seq;
	bool by_poll;
};

/*
 * Module load and unload: the optional poller (pvtimer_poll_us); the
 * poller is stopped after the attachments (no new ENABLE) and before the
 * per-VM state is freed.
 */
int exitless_pvtimer_init(void);
void exitless_pvtimer_exit(void);

/* When the per-vCPU state is created (vCPU thread) / before it is freed. */
void exitless_pvtimer_vcpu_init(struct exitless_vcpu *xv,
				struct kvm_vcpu *vcpu);
/*
 * Stop serving: no vector is injected after this returns.  Any context
 * but the timer's own callback; takes no lock held by a caller.
 */
void exitless_pvtimer_vcpu_stop(struct exitless_vcpu *xv);

/* The PVTIMER_* calls, from exitless_dispatch(). */
long exitless_pvtimer_hypercall(struct kvm_vcpu *vcpu, struct exitless_hc *hc);

/*
 * kvm_attach.c, at every VM exit (kvm_exit tracepoint) and VM entry
 * (kvm_entry) of every vCPU: vCPU thread, preemption off, interrupts
 * maybe off, kvm->srcu maybe not held.
 */
void exitless_pvtimer_vcpu_exit(struct kvm_vcpu *vcpu);
void exitless_pvtimer_vcpu_entry(struct kvm_vcpu *vcpu);

#endif
