/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dynidle policy: pure functions, no kernel objects and no locks, so the
 * KUnit suite exitless_dynidle (policy_kunit.c) covers them.
 *
 * One idle period of a CPU goes:  budget = exitless_dynidle_budget(...);
 * poll for at most @budget ns (ends early on a wake-up); halt if nothing
 * came; then exitless_dynidle_update(...) with what happened.  Three
 * inputs shape the budget:
 *
 *  - the poll window, learnt from the wake-up history of this CPU
 *    (grown when a wake-up came soon after a halt, from 0 only once
 *    that happened @grow_after times in a row, shrunk only after
 *    several idle periods in a row were long or ended by the known
 *    timer: one long idle does not throw away what the short ones
 *    taught, and a timer is no wake-up to poll for; once a run of
 *    long periods is that long, each further one shrinks it again);
 *  - the next timer deadline the CPU knows of: never poll past it, and
 *    if it is nearer than a halt pays off (the break-even time), poll
 *    right up to it instead of halting;
 *  - contention of the host CPU under this vCPU: the host's hint
 *    (another runnable task on that CPU at the last VM entry) or a steal
 *    time fraction above a threshold; then no polling at all, and the
 *    window is left as it was (those periods say nothing about wake-ups).
 *
 * All times are in ns.
 */
#ifndef EXITLESS_DYNIDLE_POLICY_H
#define EXITLESS_DYNIDLE_POLICY_H

#include <linux/types.h>

/* No known timer deadline. */
#define EXITLESS_DYNIDLE_NO_DEADLINE	U64_MAX

/**
 * struct exitless_dynidle_params - the tunables (module parameters)
 * @max_ns: the window never grows beyond this; 0 = never poll
 * @grow_start_ns: first window after 0, and windows below it drop to 0
 *	(clamped to @max_ns)
 * @grow: factor the window grows by (>= 2 to grow at all)
 * @grow_after: short halts in a row before a window of 0 starts to grow
 *	(>= 1; 1 = on the first)
 * @shrink: divisor the window shrinks by (0 = straight to 0)
 * @shrink_after: long idle periods in a row before the window shrinks,
 *	then on each further one of the run (>= 1)
 * @break_even_ns: a deadline nearer than this is polled up to, not
 *	halted for (0 = never poll past the window)
 * @steal_pct: steal time above this percentage of the last sample
 *	period means contended (0 = steal time is ignored)
 * @steal_period_ns: shortest period a steal sample is taken over
 */
struct exitless_dynidle_params {
	u64 max_ns;
	u64 grow_start_ns;
	u32 grow;
	u32 grow_after;
	u32 shrink;
	u32 shrink_after;
	u64 break_even_ns;
	u32 steal_pct;
	u64 steal_period_ns;
};

/**
 * struct exitless_dynidle_state - one CPU's learnt state
 * @window_ns: the current poll window
 * @long_idles: long idle periods in a row (reset by a short one)
 * @short_halts: short halts in a row while the window is 0
 * @steal_contended: the last steal sample was above the threshold
 * @steal_last_ns: steal time at the start of the current sample
 * @clock_last_ns: clock at the start of the current sample (0 = none)
 */
struct exitless_dynidle_state {
	u64 window_ns;
	u32 long_idles;
	u32 short_halts;
	bool steal_contended;
	u64 steal_last_ns;
	u64 clock_last_ns;
};

/* How an idle period ended. */
enum exitless_dynidle_outcome {
	EXITLESS_DYNIDLE_SKIPPED,	/* no poll: contended, or no budget */
	EXITLESS_DYNIDLE_WOKEN,		/* a wake-up ended the poll */
	EXITLESS_DYNIDLE_HALTED,	/* polled the whole budget, then halted */
	/* polled up to the timer deadline, then back to the idle loop */
	EXITLESS_DYNIDLE_DEADLINE,
};

/* Are @p usable (the checks the module parameters' setters make)? */
bool exitless_dynidle_params_valid(const struct exitless_dynidle_params *p);

/*
 * Feed one steal-time reading: @now_ns and @steal_ns are this CPU's clock
 * and cumulated steal time.  A sample closes once @steal_period_ns has
 * passed; its steal fraction decides st->steal_contended until the next
 * one closes.  Clock or steal going backwards (CPU hotplug, migration)
 * restarts the sample.
 */
void exitless_dynidle_steal_sample(const struct exitless_dynidle_params *p,
				   struct exitless_dynidle_state *st,
				   u64 now_ns, u64 steal_ns);

/* Contended: the host's hint, or the last steal sample. */
bool exitless_dynidle_contended(const struct exitless_dynidle_params *p,
				const struct exitless_dynidle_state *st,
				bool host_busy);

/*
 * Poll budget for an idle period starting @until_deadline_ns before the
 * next timer deadline this CPU knows of (EXITLESS_DYNIDLE_NO_DEADLINE if
 * none).  0 = halt at once.  Sets *@to_deadline when the budget runs to
 * the deadline because halting would not pay off.
 */
u64 exitless_dynidle_budget(const struct exitless_dynidle_params *p,
			    const struct exitless_dynidle_state *st,
			    bool contended, u64 until_deadline_ns,
			    bool *to_deadline);

/*
 * Poll budget for an idle period that starts with the timer this CPU
 * knew of already due, its interrupt not taken yet, and the host about
 * to deliver it at an exit of its own (pvtimer's deadline, known to the
 * host).  exitless_dynidle_budget() would halt at once, and the halt
 * would be one more exit before the host's, with a sleep and a wake-up
 * of the vCPU in the host, and every waker meanwhile sending an IPI.  So
 * poll the window instead; the timer's interrupt ends the poll.
 */
u64 exitless_dynidle_budget_due(const struct exitless_dynidle_params *p,
				const struct exitless_dynidle_state *st,
				bool contended);

/*
 * A poll of @budget_ns that no wake-up ended: did it run up to the timer
 * deadline known at its start (@until_deadline_ns, as passed to
 * exitless_dynidle_budget())?  Then that timer's interrupt is due or
 * taken, and the CPU goes back to the idle loop, which reads the next
 * deadline and starts a new period (polling again), rather than halt:
 * a wake-up that comes after the timer would find it halted, at the
 * cost of an exit.  (Under TCG a round trip of 1 to 3 ms often spans
 * the 4 ms tick; on hardware a halt after the timer is rare.)
 */
bool exitless_dynidle_ran_to_deadline(u64 budget_ns, u64 until_deadline_ns);

/*
 * Learn from one idle period: @outcome, @idle_ns, how long the CPU was
 * idle in all (poll and halt), and @until_deadline_ns, the time from the
 * period's start to the next timer deadline known then (as passed to
 * exitless_dynidle_budget()).  A SKIPPED period teaches nothing; one that
 * lasted up to the deadline (a DEADLINE one always does) was ended by
 * that timer, not by a wake-up a poll could catch, and counts as a long
 * idle period.
 */
void exitless_dynidle_update(const struct exitless_dynidle_params *p,
			     struct exitless_dynidle_state *st,
			     enum exitless_dynidle_outcome outcome, u64 idle_ns,
			     u64 until_deadline_ns);

#endif
