// SPDX-License-Identifier: GPL-2.0
/*
 * dynidle policy (see policy.h): the poll window, the deadline cap and
 * the contention cut-off, as pure functions.
 *
 * Compared with upstream's cpuidle-haltpoll governor (adjust_poll_limit()
 * in drivers/cpuidle/governors/haltpoll.c):
 *  - upstream halves the window on every single idle period longer than
 *    its maximum, so one long sleep among many short ones loses what the
 *    short ones taught; here the window shrinks only after @shrink_after
 *    long periods in a row;
 *  - upstream keeps shrinking to windows far below its own grow start
 *    (25, 12.5, 6.25 us ...) that catch almost nothing yet are polled
 *    every time; here a window below @grow_start_ns is 0;
 *  - upstream computes in unsigned int: a maximum above 2^31 ns wraps
 *    the grown window; here everything is u64 and saturates;
 *  - upstream polls past the next timer deadline, and polls while the
 *    host CPU is contended; here neither.
 */
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/math64.h>

#include "policy.h"

bool exitless_dynidle_params_valid(const struct exitless_dynidle_params *p)
{
	/* a grow start above the maximum is clamped to it where used */
	return p->shrink_after >= 1 && p->grow_after >= 1 &&
	       p->steal_pct <= 100;
}

void exitless_dynidle_steal_sample(const struct exitless_dynidle_params *p,
				   struct exitless_dynidle_state *st,
				   u64 now_ns, u64 steal_ns)
{
	u64 period, stolen;

	if (!st->clock_last_ns || now_ns < st->clock_last_ns ||
	    steal_ns < st->steal_last_ns) {
		st->clock_last_ns = now_ns ? now_ns : 1;
		st->steal_last_ns = steal_ns;
		return;
	}
	period = now_ns - st->clock_last_ns;
	if (!period || period < p->steal_period_ns)
		return;
	stolen = steal_ns - st->steal_last_ns;
	/* steal accounting is coarse (per tick): never above 100 % */
	stolen = min(stolen, period);
	/* a period of years would overflow "* 100": keep the ratio */
	while (period > U64_MAX / 100) {
		period >>= 1;
		stolen >>= 1;
	}
	st->steal_contended = p->steal_pct &&
			      stolen * 100 > period * p->steal_pct;
	st->clock_last_ns = now_ns;
	st->steal_last_ns = steal_ns;
}

bool exitless_dynidle_contended(const struct exitless_dynidle_params *p,
				const struct exitless_dynidle_state *st,
				bool host_busy)
{
	return host_busy || (p->steal_pct && st->steal_contended);
}

u64 exitless_dynidle_budget(const struct exitless_dynidle_params *p,
			    const struct exitless_dynidle_state *st,
			    bool contended, u64 until_deadline_ns,
			    bool *to_deadline)
{
	u64 window = min(st->window_ns, p->max_ns);

	*to_deadline = false;
	if (contended || !p->max_ns)
		return 0;
	/* a timer due before a halt pays off: poll right up to it */
	if (until_deadline_ns < p->break_even_ns) {
		*to_deadline = true;
		return until_deadline_ns;
	}
	return min(window, until_deadline_ns);
}

u64 exitless_dynidle_budget_due(const struct exitless_dynidle_params *p,
				const struct exitless_dynidle_state *st,
				bool contended)
{
	bool to_deadline;

	/* as with no deadline known: its interrupt ends the poll */
	return exitless_dynidle_budget(p, st, contended,
				       EXITLESS_DYNIDLE_NO_DEADLINE,
				       &to_deadline);
}

bool exitless_dynidle_ran_to_deadline(u64 budget_ns, u64 until_deadline_ns)
{
	return budget_ns && until_deadline_ns != EXITLESS_DYNIDLE_NO_DEADLINE &&
	       budget_ns >= until_deadline_ns;
}

/* window * factor, saturating at @cap */
static u64 exitless_dynidle_mul_cap(u64 window, u32 factor, u64 cap)
{
	if (factor && window > div64_u64(cap, factor))
		return cap;
	return min(window * factor, cap);
}

/*
 * Several long idle periods in a row: shrink the window, and once the
 * run has reached @shrink_after, shrink again on each further long
 * period of it.  The run already shows the wake-ups have gone away;
 * waiting @shrink_after periods per step as well kept a guest that
 * had just gone idle polling the whole old window for 4 * 8 periods
 * (a window of 8 ms, 8 steps to 0) after its load ended.
 */
static u64 exitless_dynidle_long_idle(const struct exitless_dynidle_params *p,
				      struct exitless_dynidle_state *st, u64 w)
{
	st->short_halts = 0;
	if (st->long_idles < U32_MAX)
		st->long_idles++;
	if (st->long_idles < max(p->shrink_after, 1U))
		return w;
	w = p->shrink ? div_u64(w, p->shrink) : 0;
	return w < p->grow_start_ns ? 0 : w;
}

void exitless_dynidle_update(const struct exitless_dynidle_params *p,
			     struct exitless_dynidle_state *st,
			     enum exitless_dynidle_outcome outcome, u64 idle_ns,
			     u64 until_deadline_ns)
{
	u64 w = min(st->window_ns, p->max_ns);
	/*
	 * The timer the CPU knew of ended the period (a timer cannot fire
	 * before its deadline): no wake-up came that a longer poll could
	 * have caught.  Upstream's haltpoll counts such periods as short
	 * wake-ups and grows its window on them, so a guest idling on a
	 * periodic timer ends up polling most of its idle time.
	 */
	bool timer = until_deadline_ns != EXITLESS_DYNIDLE_NO_DEADLINE &&
		     idle_ns >= until_deadline_ns;

	switch (outcome) {
	case EXITLESS_DYNIDLE_SKIPPED:
		return;
	case EXITLESS_DYNIDLE_DEADLINE:
		/* the timer ended it, whatever @idle_ns says */
		w = exitless_dynidle_long_idle(p, st, w);
		break;
	case EXITLESS_DYNIDLE_WOKEN:
		if (timer) {
			w = exitless_dynidle_long_idle(p, st, w);
			break;
		}
		/* the window caught the wake-up: keep it */
		st->long_idles = 0;
		break;
	case EXITLESS_DYNIDLE_HALTED:
		if (timer || idle_ns > p->max_ns) {
			/* polling was wasted; shrink if it keeps happening */
			w = exitless_dynidle_long_idle(p, st, w);
			break;
		}
		/* the wake-up came soon after the halt: poll longer */
		st->long_idles = 0;
		if (p->grow < 2)
			break;
		/*
		 * From 0, only once it keeps happening: in an idle guest a
		 * background wake-up often comes soon after another one,
		 * and one such pair would start polling (and keep it up for
		 * @shrink_after periods) with nothing to catch.
		 */
		if (!w && ++st->short_halts < max(p->grow_after, 1U))
			break;
		st->short_halts = 0;
		w = exitless_dynidle_mul_cap(w, p->grow, p->max_ns);
		if (w < p->grow_start_ns)
			w = min(p->grow_start_ns, p->max_ns);
		break;
	}
	st->window_ns = w;
}
