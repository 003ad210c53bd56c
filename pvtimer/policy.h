/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvtimer policy: pure functions, no kernel objects and no locks, so the
 * KUnit suite exitless_pvtimer (policy_kunit.c) covers them.
 *
 * The protocol (Documentation/pvtimer.rst).  The guest writes each new
 * deadline of its clock event device into its pvtimer section (deadline,
 * then seq + 1).  The host reads the section at every VM exit of the
 * vCPU and on PVTIMER_SYNC, and runs a host timer for the deadline it
 * read; when that timer expires it injects the guest's vector, or, if the
 * vCPU is running guest code (which may have written a later deadline
 * since the host last looked), forces an exit and decides there.
 *
 * So a deadline written to memory reaches the host by the next VM exit.
 * The guest makes a hypercall only when that could be too late:
 *  - "lazy": no hypercall when the host's running timer expires no later
 *    than the new deadline (it will look again then), when the deadline
 *    is removed (an early expiry is harmless), or when the vCPU is about
 *    to stop running guest work (the idle task, which halts, or a task
 *    that is about to sleep): a halt is a VM exit; a switch to another
 *    task first settles the deadline (guest's sched_switch probe);
 *  - "sync": PVTIMER_SYNC otherwise.
 *
 * Liveness: the guest also keeps its local APIC's TSC-deadline timer, on
 * the same vector, armed as a backstop a little after the deadline (it is
 * moved only when it no longer covers the deadline, so it costs an MSR
 * write every few tens of ms of timer progress, not one per timer).  A
 * backstop that fires with the deadline still pending means the host no
 * longer serves the vCPU (its module left, or the VM moved to a host
 * without it): the guest arms the APIC timer itself from then on.  A host
 * that offers it keeps that backstop for the guest instead, at the exits
 * where it reads the section (exitless_pvtimer_host_backstop()): no MSR
 * write exit at all; the guest then checks suspect expiries with a
 * PVTIMER_SYNC (exitless_pvtimer_irq_suspect()).
 *
 * Times are TSC cycles of the vCPU unless a name says ns.
 */
#ifndef EXITLESS_PVTIMER_POLICY_H
#define EXITLESS_PVTIMER_POLICY_H

#include <linux/types.h>

/* Longest delay the host arms a timer for; later deadlines are re-read. */
#define EXITLESS_PVTIMER_MAX_NS		(3600ULL * 1000000000ULL)

/* Longest backstop window a guest may ask the host for (ENABLE's a2). */
#define EXITLESS_PVTIMER_BACKSTOP_MAX_MS	10000

/*
 * Host: check PVTIMER_ENABLE's arguments (@vector, @flags, @window, in
 * that order; @tsc_khz is the vCPU's TSC rate) and the registration they
 * apply to (@layout, @size of the area).  @window must be 0 without
 * EXITLESS_PVTIMER_ENABLE_BACKSTOP, and 1 ms .. 10 s of TSC with it.
 * Returns 0 or -EXITLESS_EINVAL.  Whether the vCPU registered at all is
 * for the caller to find out first.
 */
long exitless_pvtimer_check_enable(u64 vector, u64 flags, u64 window,
				   u32 tsc_khz, u32 layout, u32 size);

/* What the host does after reading a vCPU's section. */
enum exitless_pvtimer_host_act {
	EXITLESS_PVTIMER_HOST_NONE,	/* keep the timer as it is */
	EXITLESS_PVTIMER_HOST_ARM,	/* (re)arm the timer for the deadline */
	EXITLESS_PVTIMER_HOST_INJECT,	/* due: inject the vector now */
	EXITLESS_PVTIMER_HOST_CANCEL,	/* no deadline: stop the timer */
};

/**
 * exitless_pvtimer_host_decide - the host's answer to a read section
 * @deadline: the section's deadline (0 = none)
 * @seq: the section's seq
 * @seen_seq: the seq the host acted on last time
 * @force: act on @deadline even if @seq is @seen_seq (PVTIMER_ENABLE)
 * @fired: the host timer expired while the vCPU ran guest code and the
 *	guest has not been given the vector for it
 * @guest_now: the vCPU's TSC now
 *
 * A deadline the host acted on once (same seq) is never acted on again:
 * after its vector was injected the section still holds it until the
 * guest arms the next one.  If the timer fired meanwhile and the guest
 * did not move the deadline, it is injected if due, or armed again if the
 * timer was early (capped at EXITLESS_PVTIMER_MAX_NS, or clocks apart).
 */
enum exitless_pvtimer_host_act
exitless_pvtimer_host_decide(u64 deadline, u64 seq, u64 seen_seq, bool force,
			     bool fired, u64 guest_now);

/*
 * Host: ns from now until @deadline, @guest_now being the vCPU's TSC now
 * and @tsc_khz its TSC frequency; 0 if due; at most
 * EXITLESS_PVTIMER_MAX_NS (a later deadline is re-read when that expires:
 * the guest cannot make the host compute with huge values).
 */
u64 exitless_pvtimer_delay_ns(u64 deadline, u64 guest_now, u32 tsc_khz);

/*
 * Host: the host timer expired before the deadline in the vCPU's TSC
 * (@remaining_ns = exitless_pvtimer_delay_ns() then, > 0): how long to
 * wait before looking again.  The timer counts CLOCK_MONOTONIC; an early
 * expiry means the host's clock and the vCPU's TSC disagree (or the
 * delay was capped), and they may disagree the other way next, so the
 * rest is waited for in steps of a quarter (at least
 * EXITLESS_PVTIMER_STEP_MIN_NS), each checked against the TSC.  Seen on
 * a host whose TSC KVM takes as unstable (6.1's L1 under TCG, on the
 * HPET): KVM restarts a vCPU's TSC at each vcpu_load and catches it up
 * later, so the two part by tens of ms to over a second and back, and a
 * wait for the whole rest was seen still pending (1.5 ms to 1.6 s away)
 * with the deadline 50-61 ms overdue (Documentation/pvtimer.rst).
 */
#define EXITLESS_PVTIMER_STEP_MIN_NS	100000ULL
u64 exitless_pvtimer_step_ns(u64 remaining_ns);

/**
 * exitless_pvtimer_guard_end - when the host's guard after an injection ends
 * @now: the vCPU's TSC at the injection
 * @guard: the guard's length in TSC cycles (pvtimer_guard_us), > 0
 * @tick_hint: the section's tick_hint read with the injected deadline:
 *	where the guest expects to arm its next deadline (0 = none)
 *
 * The guard ends at @now + @guard: a deadline the guest arms at or after
 * that is lazy.  The guest's tick, restarted at its next jiffy when the
 * woken CPU leaves idle, often falls inside the guard and would need
 * PVTIMER_SYNC.  So when the hint falls inside the guard, the guard ends
 * there instead: the tick armed at the hint is then lazy, and the host
 * looks again when it is due (an exit it needs anyway to inject it, or
 * none if the vCPU halted before).  A hint sooner than a quarter of the
 * guard is not taken: the woken guest may restart its tick after it, at
 * the jiffy after, and a guard that short would force an exit for
 * nothing.  Any hint is safe: it can only shorten the guard of the vCPU
 * that gave it, to no less than a quarter.
 */
u64 exitless_pvtimer_guard_end(u64 now, u64 guard, u64 tick_hint);

/*
 * Guest: the tick's next jiffy after an event at @event_ns, @tick_ns being
 * the tick period (TICK_NSEC): the tick runs on multiples of TICK_NSEC of
 * CLOCK_MONOTONIC (tick_init_jiffy_update(), both 6.1 and 6.12; not with
 * the skew_tick boot option, where the hint is merely wrong).  0 if
 * @tick_ns is 0.
 */
u64 exitless_pvtimer_tick_after(u64 event_ns, u32 tick_ns);

/*
 * Guest: the deadline to arm for an event at the jiffy given as a tick
 * hint (@tick_hint, TSC), computed afresh as @deadline: the hint itself,
 * which the host's guard may end at, if it is no earlier and at most
 * @slack later (the two differ by the rounding of TSC and CLOCK_MONOTONIC
 * conversions); otherwise @deadline.  Never earlier than @deadline.
 */
u64 exitless_pvtimer_tick_snap(u64 deadline, u64 tick_hint, u64 slack);

/* Guest: what arming a deadline takes. */
enum exitless_pvtimer_arm {
	EXITLESS_PVTIMER_ARM_LAZY,	/* memory only */
	EXITLESS_PVTIMER_ARM_SYNC,	/* memory, then PVTIMER_SYNC */
};

/**
 * exitless_pvtimer_host_looks_by - when the host reads the section next
 * @host_armed: the section's host_armed (0 = no host timer)
 * @poll: the host poller's period from PVTIMER_ENABLE (0 = no poller)
 * @now: the guest's TSC now
 *
 * Return: the time by which the host reads the section again without a
 * call (its timer, or the poller's next round), 0 = not before an exit;
 * exitless_pvtimer_arm_action()'s @host_armed.
 */
u64 exitless_pvtimer_host_looks_by(u64 host_armed, u64 poll, u64 now);

/**
 * exitless_pvtimer_arm_action - does a new deadline need PVTIMER_SYNC?
 * @deadline: the new deadline (0 = none)
 * @host_armed: the section's host_armed (0 = no host timer)
 * @exit_follows: the vCPU will exit, or reach a point that settles the
 *	deadline, before it runs anything else (exitless_pvtimer_exit_follows())
 */
enum exitless_pvtimer_arm
exitless_pvtimer_arm_action(u64 deadline, u64 host_armed, bool exit_follows);

/* How many of its last writes a guest CPU remembers (a power of 2). */
#define EXITLESS_PVTIMER_WRITTEN	8

/* One write of the section: its seq and deadline (0 = none). */
struct exitless_pvtimer_written {
	u64 seq;
	u64 deadline;
};

/**
 * exitless_pvtimer_uncovered - with the host's backstop, would a lazy arm
 *	of @deadline have no APIC timer behind it?
 * @deadline: the new deadline, just written as @seq (0 = none)
 * @written: the guest's last writes, write s at
 *	[s % EXITLESS_PVTIMER_WRITTEN], @seq's included
 * @seq: the seq of this write
 * @host_seq: the section's host_seq
 *
 * The host arms the vCPU's APIC backstop from the deadline it reads,
 * between that deadline + 1/8 of the window and the deadline + the window,
 * and disarms it when it reads none (exitless_pvtimer_host_backstop()).
 * Until it reads again, a deadline armed lazily is covered by that
 * backstop only: if the host is gone (rmmod, migration), it fires within
 * the window of the new deadline only if the deadline the host read is
 * not later than the new one.  Which one the host read is not known
 * exactly: host_seq names a read, but is published at VM entry, while
 * the read (and the backstop) happen at the exit before, after which the
 * host may leave; and a read between a deadline's store and its seq's
 * sees the newer deadline.  So any write from @host_seq on may be the
 * one: the arm is covered only if they are all remembered, none is none,
 * and @deadline is no earlier than any of them.  Otherwise it needs
 * PVTIMER_SYNC, which either serves it or fails and falls back.  (A
 * backstop that fired while a deadline was pending was checked with a
 * PVTIMER_SYNC of its own, exitless_pvtimer_irq_suspect(); one that fired
 * with none pending leaves that none among the writes from @host_seq on.)
 * host_seq 0 is the fresh section's: none.  A @host_seq of @seq or later
 * means the host read this very write.
 */
bool exitless_pvtimer_uncovered(u64 deadline,
				const struct exitless_pvtimer_written *written,
				u64 seq, u64 host_seq);

/**
 * exitless_pvtimer_exit_follows - will the CPU stop running guest work?
 * @idle_task: the CPU runs its idle task (in task or interrupt context)
 * @halting_idle: this CPU's idle loop halts rather than polls without a
 *	bound (the kernel's default idle, or dynidle, which never polls
 *	past a known deadline)
 * @in_irq: interrupt (hard or soft) context
 * @task_running: current's state is TASK_RUNNING
 *
 * The idle task halts (a VM exit) or leaves idle through a context switch
 * (settled there); a task that set itself to sleep before arming a timer
 * (nanosleep, poll and epoll timeouts, futex waits) switches out next.
 */
bool exitless_pvtimer_exit_follows(bool idle_task, bool halting_idle,
				   bool in_irq, bool task_running);

/**
 * exitless_pvtimer_backstop_covers - does the armed backstop still do?
 * @deadline: the pending deadline (0 = none)
 * @backstop: the APIC TSC deadline armed as a backstop (0 = none)
 * @margin: least time the host gets to deliver before the backstop fires
 * @window: latest the backstop may fire after the deadline
 * @early_ok: a backstop before the deadline will do (see below)
 *
 * The backstop must fire no later than @deadline + @window (the bound on
 * a lost deadline), and never between @deadline and @deadline + @margin
 * (the host had no fair chance yet: a false alarm).  Before @deadline it
 * is only an early check: when it fires, nothing is missed yet and it is
 * armed again for the deadline, at the cost of an interrupt.  That is
 * worth it (@early_ok) when the deadline will likely move before the
 * backstop fires, e.g. a far deadline armed while a woken task is about
 * to run and arm a nearer one; not on a CPU going idle for long, which
 * the early check would wake for nothing.  No deadline needs no backstop.
 */
bool exitless_pvtimer_backstop_covers(u64 deadline, u64 backstop, u64 margin,
				      u64 window, bool early_ok);

/*
 * The backstop for @deadline: halfway into the window, so that it covers
 * the deadlines of the next 3/8 window of timer progress too.
 */
u64 exitless_pvtimer_backstop_for(u64 deadline, u64 window);

/**
 * exitless_pvtimer_host_backstop - the backstop the host keeps armed
 * @deadline: the deadline the host just read (0 = none)
 * @backstop: the vCPU's APIC TSC deadline the host last wrote (0 = none)
 * @window: the guest's window (ENABLE's a2; 0 = the guest keeps its own)
 * @guest_now: the vCPU's TSC now
 *
 * With EXITLESS_PVTIMER_ENABLE_BACKSTOP the host, not the guest, keeps
 * the vCPU's local APIC TSC-deadline timer armed as the backstop: a write
 * the host makes at an exit it takes anyway, not an exiting WRMSR.  The
 * APIC timer is the VM's own state, so it outlives the host module and
 * moves with the VM (QEMU migrates it).  Returns the value to arm:
 * @backstop itself while it still covers the deadline (the guest's rules,
 * exitless_pvtimer_backstop_covers(), never early: an early backstop
 * would wake the guest for nothing), 0 with no deadline, and never a
 * time already past (a due deadline's window counts from now).
 */
u64 exitless_pvtimer_host_backstop(u64 deadline, u64 backstop, u64 window,
				   u64 guest_now);

/**
 * exitless_pvtimer_irq_suspect - with the host's backstop, ask the host?
 * @now: TSC when the vector arrived
 * @deadline: the pending deadline (0 = none)
 * @margin: lateness the host is allowed (1/8 of the window)
 * @host_knows: the section's host_seq is the guest's seq
 *
 * The guest cannot tell the host's injection from the APIC backstop (one
 * vector), nor see where the host armed the backstop.  An expiry that
 * comes on time for a deadline the host read is the host's; any other
 * (early, late by the margin or more, or for a deadline the host never
 * read) may be the backstop of a host that is gone: the guest then makes
 * PVTIMER_SYNC, whose failure means the host no longer serves it.
 */
bool exitless_pvtimer_irq_suspect(u64 now, u64 deadline, u64 margin,
				  bool host_knows);

/**
 * exitless_pvtimer_host_missed - did a backstop catch a lost deadline?
 * @now: TSC when the vector arrived
 * @deadline: the pending deadline (0 = none)
 * @backstop: the backstop armed (0 = none)
 * @host_knows: the section's host_seq is the guest's seq: the host read
 *	the current deadline (as of this vCPU's last VM entry)
 *
 * True when the backstop's time has come, the deadline before it is
 * still pending, and the host never read it although it had at least
 * the margin: it is gone, or this VM is not registered with it.  A host
 * that read the deadline and is merely late (both interrupts, one
 * vector, arriving together on a busy host) is no miss: the handler runs
 * the expired timers either way.
 */
bool exitless_pvtimer_host_missed(u64 now, u64 deadline, u64 backstop,
				  bool host_knows);

#endif
