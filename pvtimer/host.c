// SPDX-License-Identifier: GPL-2.0
/*
 * pvtimer, host half: for each vCPU that enabled it, a host timer for the
 * deadline in its pvtimer section, and the guest's vector injected when
 * that deadline comes (Documentation/pvtimer.rst).
 *
 * By default no dedicated host CPU and no polling: the section is read
 * where the host already runs in the vCPU's thread, at every VM exit
 * (kvm_exit tracepoint) and on PVTIMER_SYNC.  Optionally
 * (pvtimer_poll_us) a housekeeping kthread also reads every section
 * that often, as the original cloud design did, so that the guest needs
 * no hypercall for a deadline further away than the poller's period;
 * the two modes are compared in Documentation/pvtimer.rst.  The host timer (an hrtimer, hard
 * irq, pinned to the CPU the vCPU runs on, moved along at VM entry) then
 * either
 *  - injects the vector at once, if the vCPU is outside guest mode: the
 *    host read the section at the vCPU's last exit and the guest cannot
 *    have changed it since, so the deadline it runs for is the guest's;
 *  - or, if the vCPU runs guest code (which may have moved its deadline
 *    later without telling: see policy.h), kicks it out and decides at
 *    the exit, with the section in hand.
 *
 * Delivery is a self-IPI on the vCPU's own local APIC (kvm_apic_send_ipi()
 * with the "self" shorthand), exactly as if the guest had sent it: KVM
 * queues it in the APIC and wakes the vCPU if it halts.
 *
 * The guest's backstop (ENABLE with EXITLESS_PVTIMER_ENABLE_BACKSTOP):
 * where the host reads a new deadline it also arms the vCPU's own local
 * APIC TSC-deadline timer a little after it (exitless_pvtimer_host_backstop()),
 * through kvm_set_msr() (kvm_attach.c), as the guest's WRMSR would but
 * without its exit.  That timer is the VM's state: it outlives this
 * module and migrates with the VM, which is what the guest's liveness
 * needs.  The write is made in the vCPU thread with @lock dropped.
 *
 * Every value in the section is the guest's: the deadline only decides
 * when this vCPU gets its own vector (the delay is capped, see
 * exitless_pvtimer_delay_ns()), seq only whether the host looks at it.
 * The vector is checked at ENABLE.
 *
 * Lifetime and locking: the state lives in the vCPU's exitless_vcpu.
 * @lock (raw: taken by the timer callback in hard irq) guards it; the
 * timer is started and try-cancelled under it, and waited for (cancel)
 * only without it.  exitless_pvtimer_vcpu_stop() runs before the state is
 * freed (VM destruction, before KVM frees the vCPUs; module unload, after
 * kvm_attach.c stopped every probe and hypercall), and on UNREGISTER and
 * INIT; after it the callback no longer runs and nothing re-arms.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/smp.h>

#include "compat/compat.h"
#include "host/internal.h"
#include "policy.h"
#include "host.h"

/*
 * The guard: after injecting an expiry the host looks at the section
 * again this long after (in the vCPU's next exit at the latest, forcing
 * one if the vCPU still runs guest code then).  The guest's timer handler
 * arms its next deadline right after the injection; with a guard that
 * comes no later than that deadline, the guest needs no PVTIMER_SYNC for
 * it (host_armed shows the guard), and a vCPU that halts before the guard
 * never pays for it.  The guest's tick, restarted at its next jiffy when
 * the woken CPU leaves idle, often falls inside the guard: the guard then
 * ends at that jiffy, which the guest gives as the section's tick_hint
 * (exitless_pvtimer_guard_end()).  0 = no guard.
 */
static unsigned int pvtimer_guard_us = 1000;
module_param(pvtimer_guard_us, uint, 0644);
MODULE_PARM_DESC(pvtimer_guard_us,
		 "pvtimer: look at a vCPU's deadline again this many us after injecting its expiry, 0..10000, 0 = never (default: 1000)");

/*
 * The poller (off by default): a kthread that reads the section of every
 * vCPU that asked for it (ENABLE with EXITLESS_PVTIMER_ENABLE_POLL) every
 * pvtimer_poll_us and starts the vCPU's host timer for a deadline the
 * vCPU's thread has not read yet; it sleeps while no vCPU asks.  Set at
 * load only: a guest is told the period at PVTIMER_ENABLE and counts on
 * it from then on.
 */
static unsigned int pvtimer_poll_us;
module_param(pvtimer_poll_us, uint, 0444);
MODULE_PARM_DESC(pvtimer_poll_us,
		 "pvtimer: a host kthread reads every vCPU's deadline this often (us), 50..10000, so the guest needs no hypercall for a deadline further away than twice that; 0 = no poller (default: 0)");

#define EXITLESS_PVTIMER_POLL_MIN_US	50
#define EXITLESS_PVTIMER_POLL_MAX_US	10000

/* The vCPUs the poller reads (@poll_page pinned); nests outside pt->lock. */
static LIST_HEAD(exitless_pvtimer_polled);
static DEFINE_RAW_SPINLOCK(exitless_pvtimer_poll_lock);
static DECLARE_WAIT_QUEUE_HEAD(exitless_pvtimer_poll_wq);
static struct task_struct *exitless_pvtimer_poller;

/*
 * Start the guard (lock held, timer not queued): returns false if there
 * is none, true if @pt->timer must be (re)started for @pt->guard_ns.
 * A vCPU the poller reads needs none: the poller looks again anyway.
 */
static bool exitless_pvtimer_guard(struct exitless_pvtimer_vcpu *pt, u64 now)
{
	u32 us = min(READ_ONCE(pvtimer_guard_us), 10000U);
	u32 khz = pt->vcpu->arch.virtual_tsc_khz;
	u64 guard, end;

	if (!us || pt->poll_page)
		return false;
	guard = mul_u64_u32_div(us, khz, 1000) + 1;
	/* ends at the guest's tick if it comes first (policy.h) */
	end = exitless_pvtimer_guard_end(now, guard, pt->tick_hint);
	pt->guard = true;
	pt->armed = end;
	if (end - now == guard) {
		pt->guard_ns = (u64)us * NSEC_PER_USEC;
	} else {
		pt->guard_ns = exitless_pvtimer_delay_ns(end, now, khz) + 1;
		exitless_count(EXITLESS_CNT_PVTIMER_GUARDS_HINTED);
	}
	exitless_count(EXITLESS_CNT_PVTIMER_GUARDS);
	return true;
}

/*
 * Lock held, @pt->timer just (re)started pinned on this CPU: note where
 * it is queued.  A callback of it still running elsewhere (waiting for
 * the lock) keeps it on that CPU's base: -1, and the next VM entry
 * moves it.
 */
static void exitless_pvtimer_note_cpu(struct exitless_pvtimer_vcpu *pt)
{
	lockdep_assert_held(&pt->lock);
	pt->cpu = hrtimer_callback_running(&pt->timer) ? -1 :
						       smp_processor_id();
}

/* Lock held: start @pt->timer @ns from now on this CPU, where the vCPU runs. */
static void exitless_pvtimer_start(struct exitless_pvtimer_vcpu *pt, u64 ns)
{
	hrtimer_start(&pt->timer, ns_to_ktime(ns), HRTIMER_MODE_REL_PINNED_HARD);
	exitless_pvtimer_note_cpu(pt);
}

/* What the host reads of the section: the guest's fields. */
struct exitless_pvtimer_read {
	u64 deadline;
	u64 seq;
	u64 tick_hint;
};

/* Read the section's guest fields into @rd; @atomic: no page faults. */
static int exitless_pvtimer_read(struct kvm_vcpu *vcpu,
				 struct exitless_vcpu *xv,
				 struct exitless_pvtimer_read *rd, bool atomic)
{
	struct kvm *kvm = vcpu->kvm;
	u64 v[5];	/* deadline .. tick_hint: one copy */
	int idx, r;

	BUILD_BUG_ON(offsetof(struct exitless_pvtimer_section, tick_hint) !=
		     4 * sizeof(u64));

	idx = srcu_read_lock(&kvm->srcu);
	if (atomic)
		pagefault_disable();
	r = kvm_read_guest_offset_cached(kvm, &xv->ghc, v,
					 EXITLESS_AREA_OFF_PVTIMER +
					 offsetof(struct exitless_pvtimer_section,
						  deadline),
					 sizeof(v));
	if (atomic)
		pagefault_enable();
	srcu_read_unlock(&kvm->srcu, idx);
	if (r) {
		exitless_count(EXITLESS_CNT_PVTIMER_READ_FAULTS);
		return r;
	}
	rd->deadline = v[0];
	rd->seq = v[1];
	rd->tick_hint = v[4];
	return 0;
}

static void exitless_pvtimer_inject(struct exitless_pvtimer_vcpu *pt, u8 vector)
{
	kvm_apic_send_ipi(pt->vcpu->arch.apic,
			  APIC_DEST_SELF | APIC_DM_FIXED | vector, 0);
	exitless_count(EXITLESS_CNT_PVTIMER_INJECTS);
}

/*
 * The backstop for a new deadline (lock held): noted, taken by the
 * caller (exitless_pvtimer_backstop_take()) and written once the lock is
 * dropped.
 */
static void exitless_pvtimer_backstop_plan(struct exitless_pvtimer_vcpu *pt,
					   u64 deadline, u64 now)
{
	u64 want = exitless_pvtimer_host_backstop(deadline, pt->backstop,
						  pt->window, now);

	pt->backstop_want = want;
	pt->backstop_dirty = want != pt->backstop;
}

/*
 * Lock held: take the planned backstop, if there is one to write; the
 * caller writes it with exitless_pvtimer_backstop_write() once the lock
 * is dropped.  A plan is taken once: a write KVM refuses is tried again
 * with the next deadline only (the guest asks the host, with SYNC, on an
 * expiry it does not trust, so a missing backstop costs no timer).
 */
static bool exitless_pvtimer_backstop_take(struct exitless_pvtimer_vcpu *pt,
					   u64 *want)
{
	lockdep_assert_held(&pt->lock);
	if (!pt->backstop_dirty)
		return false;
	pt->backstop_dirty = false;
	*want = pt->backstop_want;
	return true;
}

/*
 * Write a taken backstop into the vCPU's APIC (vCPU thread, lock not
 * held: KVM cancels and starts its APIC timer).
 */
static void exitless_pvtimer_backstop_write(struct exitless_pvtimer_vcpu *pt,
					    u64 want)
{
	unsigned long flags;

	if (exitless_kvm_set_tsc_deadline(pt->vcpu, want))
		return;
	exitless_count(EXITLESS_CNT_PVTIMER_BACKSTOPS);
	raw_spin_lock_irqsave(&pt->lock, flags);
	pt->backstop = want;
	pt->backstop_check = true;
	raw_spin_unlock_irqrestore(&pt->lock, flags);
}

/*
 * At the first VM entry after a backstop write (vCPU thread, interrupts
 * off): on VMX, KVM drops a TSC deadline written at the exit the APIC
 * timer's own expiry forced (it takes the new one as expired, delivers
 * the vector and zeroes it; see kvm_attach.c).  That is done by this
 * entry: write @want again if it is gone and still to come.  A backstop
 * that has come meanwhile (it fired while the vCPU halted) is not
 * written again.
 */
static void exitless_pvtimer_backstop_verify(struct exitless_pvtimer_vcpu *pt,
					     u64 want)
{
	struct kvm_vcpu *vcpu = pt->vcpu;
	u64 cur;

	if (exitless_kvm_get_tsc_deadline(vcpu, &cur) || cur == want ||
	    want <= kvm_read_l1_tsc(vcpu, rdtsc()))
		return;
	if (!exitless_kvm_set_tsc_deadline(vcpu, want))
		exitless_count(EXITLESS_CNT_PVTIMER_BACKSTOP_REWRITES);
}

/*
 * Drop @pt's lock, which the caller took with raw_spin_lock_irqsave(),
 * then write the backstop planned under it, if any, and inject the
 * guest's vector if @inject.
 */
static void exitless_pvtimer_unlock_act(struct exitless_pvtimer_vcpu *pt,
					unsigned long flags, bool inject)
	__releases(&pt->lock)
{
	u64 backstop;
	bool write = exitless_pvtimer_backstop_take(pt, &backstop);
	u8 vector = pt->vector;

	raw_spin_unlock_irqrestore(&pt->lock, flags);
	if (write)
		exitless_pvtimer_backstop_write(pt, backstop);
	if (inject)
		exitless_pvtimer_inject(pt, vector);
}

/*
 * Act on a section read in the vCPU's thread.  Called with @pt->lock held;
 * returns true if the caller must inject (after dropping the lock).
 */
static bool exitless_pvtimer_apply(struct exitless_pvtimer_vcpu *pt,
				   const struct exitless_pvtimer_read *rd,
				   bool force)
{
	struct kvm_vcpu *vcpu = pt->vcpu;
	u64 now = kvm_read_l1_tsc(vcpu, rdtsc());
	u64 deadline = rd->deadline, seq = rd->seq;
	u64 ns;

	lockdep_assert_held(&pt->lock);
	pt->unread = false;
	/* for the guard after this deadline, wherever it is injected */
	pt->tick_hint = rd->tick_hint;
	if (pt->window && (seq != pt->seen_seq || force))
		exitless_pvtimer_backstop_plan(pt, deadline, now);
	switch (exitless_pvtimer_host_decide(deadline, seq, pt->seen_seq, force,
					     pt->fired, now)) {
	case EXITLESS_PVTIMER_HOST_NONE:
		break;
	case EXITLESS_PVTIMER_HOST_CANCEL:
		hrtimer_try_to_cancel(&pt->timer);
		pt->armed = 0;
		pt->guard = false;
		pt->by_poll = false;
		break;
	case EXITLESS_PVTIMER_HOST_INJECT:
		hrtimer_try_to_cancel(&pt->timer);
		pt->armed = 0;
		pt->guard = false;
		pt->by_poll = false;
		pt->seen_seq = seq;
		pt->fired = false;
		if (exitless_pvtimer_guard(pt, now))
			exitless_pvtimer_start(pt, pt->guard_ns);
		return true;
	case EXITLESS_PVTIMER_HOST_ARM:
		ns = exitless_pvtimer_delay_ns(deadline, now,
					       vcpu->arch.virtual_tsc_khz);
		/*
		 * The timer expired early for this same deadline, armed here
		 * or by the poller: steps, as in exitless_pvtimer_fn().
		 */
		if (pt->fired && (seq == pt->seen_seq ||
				  (pt->by_poll && seq == pt->poll_seq)))
			ns = exitless_pvtimer_step_ns(ns);
		exitless_pvtimer_start(pt, ns);
		pt->armed = deadline;
		pt->guard = false;
		pt->by_poll = false;
		exitless_count(EXITLESS_CNT_PVTIMER_ARMS);
		break;
	}
	pt->seen_seq = seq;
	pt->fired = false;
	return false;
}

static enum hrtimer_restart exitless_pvtimer_fn(struct hrtimer *timer)
{
	struct exitless_pvtimer_vcpu *pt =
		container_of(timer, struct exitless_pvtimer_vcpu, timer);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	bool inject = false, kick = false;
	unsigned long flags;
	u64 now, ns;
	u8 vector;

	raw_spin_lock_irqsave(&pt->lock, flags);
	/* disabled, cancelled or re-armed while this callback waited */
	if (pt->enabled && pt->armed && !hrtimer_is_queued(timer)) {
		now = kvm_read_l1_tsc(pt->vcpu, rdtsc());
		if (pt->guard) {
			/*
			 * Look again: at an exit, forced if the vCPU runs
			 * guest code; if it does not, its last exit read the
			 * section and there is nothing new (or could not,
			 * and gave the guest the vector to check with).
			 */
			pt->guard = false;
			pt->armed = 0;
			kick = pt->in_guest;
		} else if (pt->in_guest) {
			/* the exit decides, with the section in hand */
			pt->armed = 0;
			pt->fired = true;
			kick = true;
		} else if (pt->armed <= now) {
			pt->armed = 0;
			inject = true;
			if (exitless_pvtimer_guard(pt, now)) {
				hrtimer_set_expires(timer,
						    ktime_add_ns(ktime_get(),
								 pt->guard_ns));
				ret = HRTIMER_RESTART;
			}
		} else {
			/* capped, or clocks apart: look again in steps */
			ns = exitless_pvtimer_delay_ns(pt->armed, now,
						       pt->vcpu->arch.virtual_tsc_khz);
			ns = exitless_pvtimer_step_ns(ns);
			hrtimer_set_expires(timer, ktime_add_ns(ktime_get(), ns));
			ret = HRTIMER_RESTART;
		}
	}
	vector = pt->vector;
	raw_spin_unlock_irqrestore(&pt->lock, flags);

	if (inject)
		exitless_pvtimer_inject(pt, vector);
	if (kick) {
		exitless_count(EXITLESS_CNT_PVTIMER_KICKS);
		kvm_vcpu_kick(pt->vcpu);
	}
	return ret;
}

/* The poller's list and pin: see pvtimer_poll_us. */
static void exitless_pvtimer_poll_detach(struct exitless_pvtimer_vcpu *pt)
{
	struct page *page;
	unsigned long flags;

	raw_spin_lock_irqsave(&exitless_pvtimer_poll_lock, flags);
	list_del_init(&pt->poll_node);
	raw_spin_lock(&pt->lock);
	page = pt->poll_page;
	pt->poll_page = NULL;
	pt->poll_sec = NULL;
	raw_spin_unlock(&pt->lock);
	raw_spin_unlock_irqrestore(&exitless_pvtimer_poll_lock, flags);
	if (page)
		unpin_user_page(page);
}

/*
 * PVTIMER_ENABLE, vCPU thread (current->mm is the VM's), if the guest
 * @asked for the poller (EXITLESS_PVTIMER_ENABLE_POLL): pin the page of
 * the section so that the poller reads it from its own thread.  Returns
 * the period the guest may count on, in the vCPU's TSC cycles: twice the
 * poller's, for its wake-up slack; 0 = not polled.
 */
static u64 exitless_pvtimer_poll_attach(struct kvm_vcpu *vcpu,
					struct exitless_vcpu *xv, bool asked)
{
	struct exitless_pvtimer_vcpu *pt = &xv->pvtimer;
	gpa_t gpa = xv->gpa + EXITLESS_AREA_OFF_PVTIMER;
	unsigned long hva, flags;
	struct page *page;
	int idx;

	BUILD_BUG_ON(offsetof(struct exitless_pvtimer_section, deadline) != 0 ||
		     offsetof(struct exitless_pvtimer_section, seq) != 8);
	/* ENABLE again: the area may have moved, the flag changed */
	exitless_pvtimer_poll_detach(pt);
	if (!asked || !exitless_pvtimer_poller)
		return 0;
	if (offset_in_page(gpa) + 2 * sizeof(u64) > PAGE_SIZE)
		return 0;
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	hva = gfn_to_hva(vcpu->kvm, gpa_to_gfn(gpa));
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	if (kvm_is_error_hva(hva) ||
	    pin_user_pages_fast(hva, 1, FOLL_WRITE | FOLL_LONGTERM, &page) != 1) {
		/* served lazily, as without the poller */
		exitless_count(EXITLESS_CNT_PVTIMER_PIN_FAULTS);
		return 0;
	}
	raw_spin_lock_irqsave(&exitless_pvtimer_poll_lock, flags);
	raw_spin_lock(&pt->lock);
	pt->poll_page = page;
	pt->poll_sec = page_address(page) + offset_in_page(gpa);
	pt->poll_seq = pt->seen_seq;
	raw_spin_unlock(&pt->lock);
	list_add_tail(&pt->poll_node, &exitless_pvtimer_polled);
	raw_spin_unlock_irqrestore(&exitless_pvtimer_poll_lock, flags);
	wake_up(&exitless_pvtimer_poll_wq);
	return mul_u64_u32_div(2ULL * pvtimer_poll_us,
			       vcpu->arch.virtual_tsc_khz, 1000);
}

/*
 * One vCPU, poller's lock held: a deadline the vCPU's thread has not read
 * gets the host timer.  Only while the vCPU runs guest code: outside, its
 * last exit read the section.  The timer's expiry then goes the usual
 * way (a kick, and the exit decides with the section in hand), so a
 * deadline the guest moved since is still served right.
 */
static void exitless_pvtimer_poll_one(struct exitless_pvtimer_vcpu *pt)
{
	const u64 *sec = pt->poll_sec;
	u64 seq, deadline, now, ns;

	/* the guest writes deadline, smp_wmb(), then seq, without stopping */
	seq = READ_ONCE(sec[1]);
	smp_rmb();	/* seq before deadline: pairs with the guest's smp_wmb() */
	deadline = READ_ONCE(sec[0]);
	smp_rmb();	/* deadline before seq again: a write in between shows */
	if (READ_ONCE(sec[1]) != seq)
		return;		/* being written: the next round */

	raw_spin_lock(&pt->lock);
	if (!pt->enabled || !pt->in_guest || seq == pt->seen_seq ||
	    seq == pt->poll_seq)
		goto out;
	pt->poll_seq = seq;
	if (!deadline) {
		if (pt->by_poll) {
			hrtimer_try_to_cancel(&pt->timer);
			pt->armed = 0;
			pt->by_poll = false;
		}
		goto out;
	}
	/* the host's own timer comes first: the exit it forces reads this */
	if (pt->armed && !pt->guard && !pt->by_poll && pt->armed <= deadline)
		goto out;
	now = kvm_read_l1_tsc(pt->vcpu, rdtsc());
	ns = exitless_pvtimer_delay_ns(deadline, now,
				       pt->vcpu->arch.virtual_tsc_khz);
	exitless_pvtimer_start(pt, ns);
	pt->armed = deadline;
	pt->guard = false;
	pt->by_poll = true;
	exitless_count(EXITLESS_CNT_PVTIMER_POLL_ARMS);
out:
	raw_spin_unlock(&pt->lock);
}

static int exitless_pvtimer_poll_fn(void *unused)
{
	struct exitless_pvtimer_vcpu *pt;
	unsigned long flags;
	u32 us = pvtimer_poll_us;

	while (!kthread_should_stop()) {
		/* no vCPU asked for it: sleep, at no cost */
		if (list_empty(&exitless_pvtimer_polled)) {
			wait_event_interruptible(exitless_pvtimer_poll_wq,
						 !list_empty(&exitless_pvtimer_polled) ||
						 kthread_should_stop());
			continue;
		}
		raw_spin_lock_irqsave(&exitless_pvtimer_poll_lock, flags);
		list_for_each_entry(pt, &exitless_pvtimer_polled, poll_node)
			exitless_pvtimer_poll_one(pt);
		raw_spin_unlock_irqrestore(&exitless_pvtimer_poll_lock, flags);
		exitless_count(EXITLESS_CNT_PVTIMER_POLL_SCANS);
		usleep_range(us, us + us / 8);
	}
	return 0;
}

int exitless_pvtimer_init(void)
{
	struct task_struct *t;

	if (!pvtimer_poll_us)
		return 0;
	if (pvtimer_poll_us < EXITLESS_PVTIMER_POLL_MIN_US ||
	    pvtimer_poll_us > EXITLESS_PVTIMER_POLL_MAX_US) {
		pr_err("pvtimer_poll_us=%u: 0 (no poller) or %u..%u\n",
		       pvtimer_poll_us, EXITLESS_PVTIMER_POLL_MIN_US,
		       EXITLESS_PVTIMER_POLL_MAX_US);
		return -EINVAL;
	}
	if (!(exitless_features & EXITLESS_F_PVTIMER)) {
		pr_info("pvtimer not offered: no poller\n");
		return 0;
	}
	t = kthread_run(exitless_pvtimer_poll_fn, NULL, "exitless-pvtpoll");
	if (IS_ERR(t))
		return PTR_ERR(t);
	exitless_pvtimer_poller = t;
	pr_info("pvtimer poller: every vCPU's deadline read every %u us\n",
		pvtimer_poll_us);
	return 0;
}

void exitless_pvtimer_exit(void)
{
	if (!exitless_pvtimer_poller)
		return;
	kthread_stop(exitless_pvtimer_poller);
	exitless_pvtimer_poller = NULL;
}

void exitless_pvtimer_vcpu_init(struct exitless_vcpu *xv,
				struct kvm_vcpu *vcpu)
{
	struct exitless_pvtimer_vcpu *pt = &xv->pvtimer;

	raw_spin_lock_init(&pt->lock);
	INIT_LIST_HEAD(&pt->poll_node);
	hrtimer_init(&pt->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	pt->timer.function = exitless_pvtimer_fn;
	pt->vcpu = vcpu;
}

void exitless_pvtimer_vcpu_stop(struct exitless_vcpu *xv)
{
	struct exitless_pvtimer_vcpu *pt = &xv->pvtimer;
	unsigned long flags;
	bool was;

	/* the poller first: it arms nothing after this */
	exitless_pvtimer_poll_detach(pt);
	raw_spin_lock_irqsave(&pt->lock, flags);
	was = pt->enabled;
	pt->enabled = false;
	pt->armed = 0;
	pt->guard = false;
	pt->fired = false;
	pt->unread = false;
	/* an APIC backstop written stays: the guest's liveness needs it */
	pt->window = 0;
	pt->backstop_dirty = false;
	raw_spin_unlock_irqrestore(&pt->lock, flags);
	/* waits for a running callback: it injects nothing after this */
	hrtimer_cancel(&pt->timer);
	if (was)
		atomic_dec(&exitless_stats.pvtimer_vcpus);
}

static long exitless_pvtimer_enable(struct kvm_vcpu *vcpu,
				    struct exitless_hc *hc)
{
	struct exitless_vcpu *xv;
	struct exitless_pvtimer_vcpu *pt;
	unsigned long flags;
	struct exitless_pvtimer_read rd;
	u64 poll;
	bool was, inject;
	long r;

	/*
	 * A local APIC in the kernel to deliver to, a TSC rate to count in,
	 * and a halt that exits: the guest arms lazily before it halts.
	 */
	if (!vcpu->arch.apic || !vcpu->arch.virtual_tsc_khz ||
	    exitless_kvm_halts_in_guest(vcpu->kvm))
		return -EXITLESS_EOPNOTSUPP;
	/* the arguments first, then the registration they apply to */
	r = exitless_pvtimer_check_enable(hc->a0, hc->a1, hc->a2,
					  vcpu->arch.virtual_tsc_khz, 3,
					  EXITLESS_AREA_SIZE_PVTIMER);
	if (r)
		return r;
	xv = exitless_vcpu_find(vcpu);
	if (!xv || !xv->registered)
		return -EXITLESS_ENOENT;
	r = exitless_pvtimer_check_enable(hc->a0, hc->a1, hc->a2,
					  vcpu->arch.virtual_tsc_khz,
					  xv->version, xv->size);
	if (r)
		return r;
	if (exitless_pvtimer_read(vcpu, xv, &rd, false))
		return -EXITLESS_EFAULT;

	pt = &xv->pvtimer;
	poll = exitless_pvtimer_poll_attach(vcpu, xv,
					    hc->a1 & EXITLESS_PVTIMER_ENABLE_POLL);
	raw_spin_lock_irqsave(&pt->lock, flags);
	was = pt->enabled;
	pt->enabled = true;
	pt->vector = hc->a0;
	pt->pub_valid = false;
	/* the guest's own backstop, if any, is where it left it: unknown */
	pt->window = hc->a2;
	pt->backstop = 0;
	pt->backstop_dirty = false;
	inject = exitless_pvtimer_apply(pt, &rd, true);
	/*
	 * Under the lock, paired with vcpu_stop()'s decrement by "was"; the
	 * count only gates the exit and entry hooks, which run on this very
	 * vCPU thread.
	 */
	if (!was)
		atomic_inc(&exitless_stats.pvtimer_vcpus);
	exitless_pvtimer_unlock_act(pt, flags, inject);
	/* RBX: how often the poller reads the section (ABI version 2) */
	hc->out[0] = poll;
	hc->out_regs = 1;
	return 0;
}

static long exitless_pvtimer_sync(struct kvm_vcpu *vcpu, struct exitless_hc *hc)
{
	struct exitless_vcpu *xv;
	struct exitless_pvtimer_vcpu *pt;
	unsigned long flags;
	struct exitless_pvtimer_read rd;
	bool inject;

	if (hc->a0)
		return -EXITLESS_EINVAL;
	xv = exitless_vcpu_find(vcpu);
	if (!xv || !xv->registered || !READ_ONCE(xv->pvtimer.enabled))
		return -EXITLESS_ENOENT;
	if (exitless_pvtimer_read(vcpu, xv, &rd, false))
		return -EXITLESS_EFAULT;

	pt = &xv->pvtimer;
	raw_spin_lock_irqsave(&pt->lock, flags);
	inject = pt->enabled && exitless_pvtimer_apply(pt, &rd, false);
	exitless_pvtimer_unlock_act(pt, flags, inject);
	return 0;
}

long exitless_pvtimer_hypercall(struct kvm_vcpu *vcpu, struct exitless_hc *hc)
{
	struct exitless_vcpu *xv;

	exitless_count(EXITLESS_CNT_HC_PVTIMER);
	if (!(exitless_features & EXITLESS_F_PVTIMER))
		return -EXITLESS_EOPNOTSUPP;

	switch (hc->nr) {
	case EXITLESS_HC_PVTIMER_ENABLE:
		return exitless_pvtimer_enable(vcpu, hc);
	case EXITLESS_HC_PVTIMER_DISABLE:
		if (hc->a0)
			return -EXITLESS_EINVAL;
		xv = exitless_vcpu_find(vcpu);
		if (!xv || !xv->registered)
			return -EXITLESS_ENOENT;
		exitless_pvtimer_vcpu_stop(xv);
		return 0;
	case EXITLESS_HC_PVTIMER_SYNC:
		exitless_count(EXITLESS_CNT_PVTIMER_SYNCS);
		return exitless_pvtimer_sync(vcpu, hc);
	default:
		exitless_count(EXITLESS_CNT_HC_UNKNOWN);
		return -EXITLESS_ENOSYS;
	}
}

static struct exitless_vcpu *exitless_pvtimer_find(struct kvm_vcpu *vcpu)
{
	struct exitless_vcpu *xv;

	/* VMs without a pvtimer vCPU pay one atomic read per exit/entry */
	if (!atomic_read(&exitless_stats.pvtimer_vcpus))
		return NULL;
	xv = exitless_vcpu_find(vcpu);
	if (!xv || !READ_ONCE(xv->pvtimer.enabled))
		return NULL;
	return xv;
}

void exitless_pvtimer_vcpu_exit(struct kvm_vcpu *vcpu)
{
	struct exitless_vcpu *xv = exitless_pvtimer_find(vcpu);
	struct exitless_pvtimer_vcpu *pt;
	bool inject = false;
	unsigned long flags;
	struct exitless_pvtimer_read rd;
	int r;

	if (!xv)
		return;
	pt = &xv->pvtimer;
	r = exitless_pvtimer_read(vcpu, xv, &rd, true);

	raw_spin_lock_irqsave(&pt->lock, flags);
	pt->in_guest = false;
	if (pt->enabled) {
		if (!r) {
			inject = exitless_pvtimer_apply(pt, &rd, false);
		} else if (!pt->unread || pt->fired) {
			/*
			 * Unreadable without a fault (a page the host's mm
			 * just unmapped: NUMA balancing, reclaim, migration).
			 * The guest may have armed a deadline for this very
			 * exit to read, and a halting vCPU would then sleep
			 * until something else woke it.  Better early than
			 * never: the vector, which a guest takes as an early
			 * expiry and checks with PVTIMER_SYNC, whose read may
			 * fault the page back in.  Once until the next read:
			 * a section that stays unreadable (its memslot gone)
			 * must not make every exit inject.
			 */
			pt->unread = true;
			pt->fired = false;
			inject = true;
		}
	}
	exitless_pvtimer_unlock_act(pt, flags, inject);
}

void exitless_pvtimer_vcpu_entry(struct kvm_vcpu *vcpu)
{
	struct exitless_vcpu *xv = exitless_pvtimer_find(vcpu);
	struct exitless_pvtimer_vcpu *pt;
	int cpu = smp_processor_id();
	unsigned long flags;
	bool fired, publish, check;
	u64 pub[2], backstop;
	int idx, r;

	if (!xv)
		return;
	pt = &xv->pvtimer;

	raw_spin_lock_irqsave(&pt->lock, flags);
	pt->in_guest = true;
	fired = pt->fired;
	check = pt->backstop_check && pt->window && pt->backstop;
	pt->backstop_check = false;
	backstop = pt->backstop;
	/* follow the vCPU: its timer fires where it runs */
	if (pt->armed && pt->cpu != cpu && hrtimer_is_queued(&pt->timer)) {
		hrtimer_start(&pt->timer, hrtimer_get_expires(&pt->timer),
			      HRTIMER_MODE_ABS_PINNED_HARD);
		exitless_pvtimer_note_cpu(pt);
		exitless_count(EXITLESS_CNT_PVTIMER_MIGRATIONS);
	}
	pub[0] = pt->seen_seq;
	pub[1] = pt->armed;
	publish = pt->enabled && (!pt->pub_valid || pub[0] != pt->pub_seq ||
				  pub[1] != pt->pub_armed);
	raw_spin_unlock_irqrestore(&pt->lock, flags);

	if (check)
		exitless_pvtimer_backstop_verify(pt, backstop);

	/*
	 * The timer expired after the last exit and this entry comes without
	 * an exit in between (the kick landed before the entry): leave the
	 * guest again at once, the exit decides.
	 */
	if (fired) {
		/* smp_ops' own: 6.12's smp_send_reschedule() needs ipi.h */
		void (*resched)(int cpu) = smp_ops.smp_send_reschedule;

		resched(cpu);
	}

	if (!publish)
		return;
	idx = srcu_read_lock(&vcpu->kvm->srcu);
	pagefault_disable();
	r = kvm_write_guest_offset_cached(vcpu->kvm, &xv->ghc, pub,
					  EXITLESS_AREA_OFF_PVTIMER +
					  offsetof(struct exitless_pvtimer_section,
						   host_seq),
					  sizeof(pub));
	pagefault_enable();
	srcu_read_unlock(&vcpu->kvm->srcu, idx);
	if (r) {
		exitless_count(EXITLESS_CNT_PVTIMER_WRITE_FAULTS);
		return;
	}
	raw_spin_lock_irqsave(&pt->lock, flags);
	pt->pub_seq = pub[0];
	pt->pub_armed = pub[1];
	pt->pub_valid = true;
	raw_spin_unlock_irqrestore(&pt->lock, flags);
}
