// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite exitless_dynidle for dynidle/policy.c: poll-window growth
 * and shrink on wake-up history, the timer-deadline cap, the contention
 * cut-off (steal time and the host's hint), and the cases where
 * upstream's cpuidle-haltpoll governor misbehaves.  upstream_adjust()
 * below is a copy of that governor's adjust_poll_limit() (Linux 6.1,
 * drivers/cpuidle/governors/haltpoll.c) with its default parameters, so
 * each such case runs the same history through both.
 */
#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/module.h>

#include "policy.h"

#define US	1000ULL
#define MS	(1000 * US)

/*
 * The module's defaults, but for @grow_after: 1 here (grow from 0 on the
 * first short halt, as upstream does), so that each case below sees the
 * window move at once; grow_after_ignores_lone_wakeups covers 2.
 */
static const struct exitless_dynidle_params defaults = {
	.max_ns = 200 * US,
	.grow_start_ns = 50 * US,
	.grow = 2,
	.grow_after = 1,
	.shrink = 2,
	.shrink_after = 4,
	.break_even_ns = 20 * US,
	.steal_pct = 10,
	.steal_period_ns = 4 * MS,
};

/* upstream's adjust_poll_limit(), its types and defaults included */
struct upstream {
	unsigned int max_ns, grow, grow_start, shrink;
	unsigned int poll_limit_ns;
};

static void upstream_adjust(struct upstream *u, u64 block_ns)
{
	unsigned int val;

	if (block_ns > u->poll_limit_ns && block_ns <= u->max_ns) {
		val = u->poll_limit_ns * u->grow;
		if (val < u->grow_start)
			val = u->grow_start;
		if (val > u->max_ns)
			val = u->max_ns;
		u->poll_limit_ns = val;
	} else if (block_ns > u->max_ns) {
		val = u->poll_limit_ns;
		if (u->shrink == 0)
			val = 0;
		else
			val /= u->shrink;
		u->poll_limit_ns = val;
	}
}

#define UPSTREAM_DEFAULTS { .max_ns = 200000, .grow = 2, \
			    .grow_start = 50000, .shrink = 2 }

static void halted(struct exitless_dynidle_state *st, u64 idle_ns)
{
	exitless_dynidle_update(&defaults, st, EXITLESS_DYNIDLE_HALTED, idle_ns,
				EXITLESS_DYNIDLE_NO_DEADLINE);
}

static u64 budget(const struct exitless_dynidle_params *p,
		  const struct exitless_dynidle_state *st, bool contended,
		  u64 until_deadline, bool *to_deadline)
{
	return exitless_dynidle_budget(p, st, contended, until_deadline,
				       to_deadline);
}

/* --- the window -------------------------------------------------------- */

static void grows_from_zero_to_max(struct kunit *test)
{
	struct exitless_dynidle_state st = {};

	/* each wake-up soon after a halt grows the window */
	halted(&st, 30 * US);
	KUNIT_EXPECT_EQ(test, st.window_ns, 50 * US);
	halted(&st, 80 * US);
	KUNIT_EXPECT_EQ(test, st.window_ns, 100 * US);
	halted(&st, 150 * US);
	KUNIT_EXPECT_EQ(test, st.window_ns, 200 * US);
	halted(&st, 190 * US);
	KUNIT_EXPECT_EQ(test, st.window_ns, 200 * US);	/* capped */
}

static void woken_keeps_window(struct kunit *test)
{
	struct exitless_dynidle_state st = { .window_ns = 100 * US };
	int i;

	for (i = 0; i < 100; i++)
		exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_WOKEN,
					10 * US, EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 100 * US);
}

static void skipped_teaches_nothing(struct kunit *test)
{
	struct exitless_dynidle_state st = { .window_ns = 100 * US,
					     .long_idles = 3 };

	exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_SKIPPED,
				10 * MS, EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 100 * US);
	KUNIT_EXPECT_EQ(test, st.long_idles, 3U);
}

static void shrinks_after_long_idles_in_a_row(struct kunit *test)
{
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	int i;

	for (i = 0; i < 3; i++)
		halted(&st, 5 * MS);
	KUNIT_EXPECT_EQ(test, st.window_ns, 200 * US);
	halted(&st, 5 * MS);
	KUNIT_EXPECT_EQ(test, st.window_ns, 100 * US);
	/* the run goes on: each further long period shrinks again */
	halted(&st, 5 * MS);
	KUNIT_EXPECT_EQ(test, st.window_ns, 50 * US);
	/* below the grow start: straight to 0, not 25 us */
	halted(&st, 5 * MS);
	KUNIT_EXPECT_EQ(test, st.window_ns, 0ULL);
	KUNIT_EXPECT_EQ(test, budget(&defaults, &st, false,
				     EXITLESS_DYNIDLE_NO_DEADLINE, &(bool){0}),
			0ULL);
}

/*
 * A guest whose load has just ended, with the nested benchmark's 8 ms
 * window: polling the whole window on 4 idle periods per halving (as
 * before this rule) cost 4 * (8 + 4 + ... + 0.0625) ms, ~64 ms, over 32
 * periods; now 4 * 8 ms and then one period per halving.
 */
static void load_ended_stops_polling_soon(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct exitless_dynidle_state st = { .window_ns = 8 * MS };
	u64 polled = 0;
	bool to_deadline;
	int i;

	p.max_ns = 8 * MS;
	for (i = 0; i < 64 && st.window_ns; i++) {
		polled += exitless_dynidle_budget(&p, &st, false,
						  EXITLESS_DYNIDLE_NO_DEADLINE,
						  &to_deadline);
		exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED,
					80 * MS, EXITLESS_DYNIDLE_NO_DEADLINE);
	}
	KUNIT_EXPECT_EQ(test, st.window_ns, 0ULL);
	KUNIT_EXPECT_EQ(test, i, 11);	/* 4 periods, then 7 halvings */
	KUNIT_EXPECT_LT(test, polled, 48 * MS);
	/* a wake-up soon after a halt ends the run: grow, count again */
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 30 * US,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 50 * US);
	KUNIT_EXPECT_EQ(test, st.long_idles, 0U);
}

static void short_idle_resets_long_count(struct kunit *test)
{
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	int i;

	/* ping-pong with a periodic long sleep: the window stays */
	for (i = 0; i < 50; i++) {
		halted(&st, 5 * MS);
		halted(&st, 5 * MS);
		exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_WOKEN,
					20 * US, EXITLESS_DYNIDLE_NO_DEADLINE);
	}
	KUNIT_EXPECT_EQ(test, st.window_ns, 200 * US);
}

static void shrink_zero_means_off(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct exitless_dynidle_state st = { .window_ns = 200 * US };

	p.shrink = 0;
	p.shrink_after = 1;
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 5 * MS,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 0ULL);
}

static void grow_one_never_grows(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct exitless_dynidle_state st = {};

	p.grow = 1;
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 30 * US,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 0ULL);
}

static void max_lowered_under_window(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	bool td;

	/* the admin lowers max_ns while a CPU has a bigger window */
	p.max_ns = 80 * US;
	p.grow_start_ns = 50 * US;
	KUNIT_EXPECT_EQ(test, budget(&p, &st, false,
				     EXITLESS_DYNIDLE_NO_DEADLINE, &td),
			80 * US);
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 70 * US,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 80 * US);
	p.max_ns = 0;
	KUNIT_EXPECT_EQ(test, budget(&p, &st, false,
				     EXITLESS_DYNIDLE_NO_DEADLINE, &td),
			0ULL);
}

static void huge_max_saturates(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct exitless_dynidle_state st = { .window_ns = U64_MAX / 2 + 1 };

	p.max_ns = U64_MAX - 1;
	p.grow = 4;
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 10 * US,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, U64_MAX - 1);
}

/* --- the deadline cap -------------------------------------------------- */

static void deadline_caps_window(struct kunit *test)
{
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	bool td;

	KUNIT_EXPECT_EQ(test, budget(&defaults, &st, false, 120 * US, &td),
			120 * US);
	KUNIT_EXPECT_FALSE(test, td);
	KUNIT_EXPECT_EQ(test, budget(&defaults, &st, false, 5 * MS, &td),
			200 * US);
	KUNIT_EXPECT_FALSE(test, td);
	KUNIT_EXPECT_EQ(test, budget(&defaults, &st, false,
				     EXITLESS_DYNIDLE_NO_DEADLINE, &td),
			200 * US);
}

static void near_deadline_polled_up_to(struct kunit *test)
{
	struct exitless_dynidle_state st = {};	/* window 0 */
	bool td;

	/* a timer sooner than a halt pays off: poll to it, even at window 0 */
	KUNIT_EXPECT_EQ(test, budget(&defaults, &st, false, 15 * US, &td),
			15 * US);
	KUNIT_EXPECT_TRUE(test, td);
	/* at the break-even point and beyond: the window decides */
	KUNIT_EXPECT_EQ(test, budget(&defaults, &st, false, 20 * US, &td),
			0ULL);
	KUNIT_EXPECT_FALSE(test, td);
	/* a deadline already due: nothing to poll for */
	KUNIT_EXPECT_EQ(test, budget(&defaults, &st, false, 0, &td), 0ULL);
}

static void due_timer_from_host_polled_for(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct exitless_dynidle_state st = { .window_ns = 120 * US };

	/* a due timer the host delivers: the window, as with no deadline */
	KUNIT_EXPECT_EQ(test, exitless_dynidle_budget_due(&p, &st, false),
			120 * US);
	/* ... but not on a contended host, nor beyond the maximum */
	KUNIT_EXPECT_EQ(test, exitless_dynidle_budget_due(&p, &st, true),
			0ULL);
	p.max_ns = 100 * US;
	KUNIT_EXPECT_EQ(test, exitless_dynidle_budget_due(&p, &st, false),
			100 * US);
	p.max_ns = 0;
	KUNIT_EXPECT_EQ(test, exitless_dynidle_budget_due(&p, &st, false),
			0ULL);
	/* window 0: halt at once, as for any due timer */
	st.window_ns = 0;
	p.max_ns = defaults.max_ns;
	KUNIT_EXPECT_EQ(test, exitless_dynidle_budget_due(&p, &st, false),
			0ULL);
}

static void break_even_zero_disables(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct exitless_dynidle_state st = {};
	bool td;

	p.break_even_ns = 0;
	KUNIT_EXPECT_EQ(test, budget(&p, &st, false, 5 * US, &td), 0ULL);
	KUNIT_EXPECT_FALSE(test, td);
}

/* --- contention -------------------------------------------------------- */

static void host_hint_stops_polling(struct kunit *test)
{
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	bool td;

	KUNIT_EXPECT_TRUE(test, exitless_dynidle_contended(&defaults, &st, true));
	KUNIT_EXPECT_EQ(test, budget(&defaults, &st, true,
				     EXITLESS_DYNIDLE_NO_DEADLINE, &td),
			0ULL);
	/* even a near deadline is halted for while contended */
	KUNIT_EXPECT_EQ(test, budget(&defaults, &st, true, 5 * US, &td), 0ULL);
	KUNIT_EXPECT_FALSE(test, td);
}

static void steal_sampling(struct kunit *test)
{
	struct exitless_dynidle_state st = {};
	u64 t = 1 * MS;

	exitless_dynidle_steal_sample(&defaults, &st, t, 0);	/* starts */
	KUNIT_EXPECT_FALSE(test, exitless_dynidle_contended(&defaults, &st, false));
	/* 2 ms later: sample still open, whatever was stolen */
	exitless_dynidle_steal_sample(&defaults, &st, t + 2 * MS, 2 * MS);
	KUNIT_EXPECT_FALSE(test, st.steal_contended);
	/* 4 ms, 2 ms stolen: 50 % */
	exitless_dynidle_steal_sample(&defaults, &st, t + 4 * MS, 2 * MS);
	KUNIT_EXPECT_TRUE(test, exitless_dynidle_contended(&defaults, &st, false));
	/* next 4 ms: 0.4 ms stolen = 10 %, not above 10 %: clear */
	exitless_dynidle_steal_sample(&defaults, &st, t + 8 * MS,
				      2 * MS + 400 * US);
	KUNIT_EXPECT_FALSE(test, st.steal_contended);
	/* 0.41 ms of 4 ms: above */
	exitless_dynidle_steal_sample(&defaults, &st, t + 12 * MS,
				      2 * MS + 810 * US);
	KUNIT_EXPECT_TRUE(test, st.steal_contended);
}

static void steal_backwards_restarts(struct kunit *test)
{
	struct exitless_dynidle_state st = {};

	exitless_dynidle_steal_sample(&defaults, &st, 10 * MS, 5 * MS);
	/* steal went backwards (new steal-time area after migration) */
	exitless_dynidle_steal_sample(&defaults, &st, 20 * MS, 1 * MS);
	KUNIT_EXPECT_FALSE(test, st.steal_contended);
	KUNIT_EXPECT_EQ(test, st.clock_last_ns, 20 * MS);
	/* clock backwards */
	exitless_dynidle_steal_sample(&defaults, &st, 5 * MS, 1 * MS);
	KUNIT_EXPECT_EQ(test, st.clock_last_ns, 5 * MS);
	/* more steal than time (coarse accounting): 100 %, no overflow */
	exitless_dynidle_steal_sample(&defaults, &st, 10 * MS, U64_MAX);
	KUNIT_EXPECT_TRUE(test, st.steal_contended);
	/* a period of years, no overflow */
	st = (struct exitless_dynidle_state){};
	exitless_dynidle_steal_sample(&defaults, &st, 1, 0);
	exitless_dynidle_steal_sample(&defaults, &st, U64_MAX - 1, U64_MAX / 2);
	KUNIT_EXPECT_TRUE(test, st.steal_contended);
}

static void steal_pct_zero_ignores_steal(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct exitless_dynidle_state st = {};

	p.steal_pct = 0;
	exitless_dynidle_steal_sample(&p, &st, 1 * MS, 0);
	exitless_dynidle_steal_sample(&p, &st, 10 * MS, 9 * MS);
	KUNIT_EXPECT_FALSE(test, exitless_dynidle_contended(&p, &st, false));
	KUNIT_EXPECT_TRUE(test, exitless_dynidle_contended(&p, &st, true));
}

/*
 * An idle guest: now and then a background wake-up comes soon after
 * another (a short halt), among long idle periods.  With @grow_after 2
 * a lone one starts no polling; two in a row do.  Upstream grows on
 * each, and then polls its window for nothing.
 */
static void grow_after_ignores_lone_wakeups(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct upstream u = UPSTREAM_DEFAULTS;
	struct exitless_dynidle_state st = {};
	int i;

	p.grow_after = 2;
	for (i = 0; i < 10; i++) {
		exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED,
					150 * US, EXITLESS_DYNIDLE_NO_DEADLINE);
		upstream_adjust(&u, 150 * US);
		KUNIT_EXPECT_EQ(test, st.window_ns, 0ULL);
		/* upstream polls its window on the next period */
		KUNIT_EXPECT_GT(test, (u64)u.poll_limit_ns, 0ULL);
		/* a long one in between resets the count */
		exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED,
					50 * MS, EXITLESS_DYNIDLE_NO_DEADLINE);
		upstream_adjust(&u, 50 * MS);
		KUNIT_EXPECT_EQ(test, st.short_halts, 0U);
	}
	/* so does a timer-ended one */
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 30 * US,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 4 * MS,
				4 * MS);
	KUNIT_EXPECT_EQ(test, st.short_halts, 0U);
	/* two in a row: a load has started */
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 30 * US,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 0ULL);
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 30 * US,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 50 * US);
	/* a window above 0 grows on each, as before */
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 80 * US,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 100 * US);
}

static void params_valid(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;

	KUNIT_EXPECT_TRUE(test, exitless_dynidle_params_valid(&p));
	p.shrink_after = 0;
	KUNIT_EXPECT_FALSE(test, exitless_dynidle_params_valid(&p));
	p = defaults;
	p.grow_after = 0;
	KUNIT_EXPECT_FALSE(test, exitless_dynidle_params_valid(&p));
	p = defaults;
	p.steal_pct = 101;
	KUNIT_EXPECT_FALSE(test, exitless_dynidle_params_valid(&p));
	/* max 0 (polling off) without touching the grow start */
	p = defaults;
	p.max_ns = 0;
	KUNIT_EXPECT_TRUE(test, exitless_dynidle_params_valid(&p));
}

static void grow_start_above_max_clamped(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct exitless_dynidle_state st = {};

	p.max_ns = 30 * US;	/* below the 50 us grow start */
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 20 * US,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 30 * US);
}

/* --- side by side with upstream's adjust_poll_limit() ------------------ */

/* periods the known timer ended are long idle periods, woken or not */
static void timer_ended_periods_shrink(struct kunit *test)
{
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	int i;

	/* halted, the timer due 150 us after the start ended it: no grow */
	st.window_ns = 100 * US;
	exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_HALTED,
				150 * US, 150 * US);
	KUNIT_EXPECT_EQ(test, st.window_ns, 100 * US);
	KUNIT_EXPECT_EQ(test, st.long_idles, 1U);
	/* a wake-up before the deadline still grows */
	exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_HALTED,
				120 * US, 150 * US);
	KUNIT_EXPECT_EQ(test, st.window_ns, 200 * US);
	KUNIT_EXPECT_EQ(test, st.long_idles, 0U);
	/* a poll ended by the timer's own wake-up (a sleeper) counts too */
	for (i = 0; i < 4; i++)
		exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_WOKEN,
					80 * US, 80 * US);
	KUNIT_EXPECT_EQ(test, st.window_ns, 100 * US);
	/* a woken poll before the deadline keeps the window and the count */
	exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_WOKEN,
				10 * US, 80 * US);
	KUNIT_EXPECT_EQ(test, st.window_ns, 100 * US);
	KUNIT_EXPECT_EQ(test, st.long_idles, 0U);
	/* a deadline already passed at entry: the timer ends it */
	exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_HALTED,
				5 * US, 0);
	KUNIT_EXPECT_EQ(test, st.long_idles, 1U);
}

/* --- a poll that runs up to the timer: back to the idle loop ------------ */

static void poll_to_deadline_returns(struct kunit *test)
{
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	bool td;
	u64 b;

	/* the window capped by the deadline: the poll ends at the timer */
	b = budget(&defaults, &st, false, 120 * US, &td);
	KUNIT_EXPECT_TRUE(test, exitless_dynidle_ran_to_deadline(b, 120 * US));
	/* polled up to a near timer, window 0 */
	st.window_ns = 0;
	b = budget(&defaults, &st, false, 15 * US, &td);
	KUNIT_EXPECT_TRUE(test, td);
	KUNIT_EXPECT_TRUE(test, exitless_dynidle_ran_to_deadline(b, 15 * US));
	/* the window ran out first: halt */
	st.window_ns = 200 * US;
	b = budget(&defaults, &st, false, 5 * MS, &td);
	KUNIT_EXPECT_FALSE(test, exitless_dynidle_ran_to_deadline(b, 5 * MS));
	/* no deadline known, no budget, a deadline due already: halt */
	KUNIT_EXPECT_FALSE(test,
			   exitless_dynidle_ran_to_deadline(200 * US,
							    EXITLESS_DYNIDLE_NO_DEADLINE));
	KUNIT_EXPECT_FALSE(test, exitless_dynidle_ran_to_deadline(0, 0));
	b = budget(&defaults, &st, false, 0, &td);
	KUNIT_EXPECT_FALSE(test, exitless_dynidle_ran_to_deadline(b, 0));
}

/*
 * A request-response load whose round trip spans the tick: each period
 * that reaches the timer goes back to the idle loop (DEADLINE), and the
 * wake-up ends the next one.  The window is kept; only a run of periods
 * ended by timers alone shrinks it.
 */
static void deadline_periods_keep_window_under_load(struct kunit *test)
{
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	int i;

	for (i = 0; i < 20; i++) {
		exitless_dynidle_update(&defaults, &st,
					EXITLESS_DYNIDLE_DEADLINE, 120 * US,
					120 * US);
		exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_WOKEN,
					30 * US, 4 * MS);
	}
	KUNIT_EXPECT_EQ(test, st.window_ns, 200 * US);
	KUNIT_EXPECT_EQ(test, st.long_idles, 0U);
	/* timers alone: a long idle each, never a grow */
	for (i = 0; i < 3; i++)
		exitless_dynidle_update(&defaults, &st,
					EXITLESS_DYNIDLE_DEADLINE, 4 * MS,
					4 * MS);
	KUNIT_EXPECT_EQ(test, st.window_ns, 200 * US);
	KUNIT_EXPECT_EQ(test, st.long_idles, 3U);
	exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_DEADLINE,
				4 * MS, 4 * MS);
	KUNIT_EXPECT_EQ(test, st.window_ns, 100 * US);
	exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_DEADLINE,
				4 * MS, 4 * MS);
	KUNIT_EXPECT_EQ(test, st.window_ns, 50 * US);
	exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_DEADLINE,
				4 * MS, 4 * MS);
	KUNIT_EXPECT_EQ(test, st.window_ns, 0ULL);
}

/*
 * An idle guest whose only wake-ups are a periodic timer (the tick kept
 * at 4 ms, under a window cap of 20 ms, as in the nested benchmark):
 * upstream sees each 4 ms block as a short one and grows its limit until
 * it covers the block, so it polls every period through, up to the
 * timer; dynidle learns that the timer is no wake-up, its window goes
 * to 0, and it halts at once.
 */
static void vs_upstream_periodic_timer(struct kunit *test)
{
	struct exitless_dynidle_params p = defaults;
	struct upstream u = UPSTREAM_DEFAULTS;
	struct exitless_dynidle_state st = { .window_ns = 2 * MS };
	bool to_deadline;
	int i;

	p.max_ns = 20 * MS;
	u.max_ns = 20 * MS;
	u.poll_limit_ns = 2 * MS;
	for (i = 0; i < 64; i++) {
		upstream_adjust(&u, 4 * MS);
		exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED,
					4 * MS, 4 * MS);
	}
	KUNIT_EXPECT_GE(test, (u64)u.poll_limit_ns, 4 * MS);
	KUNIT_EXPECT_EQ(test, st.window_ns, 0ULL);
	KUNIT_EXPECT_EQ(test, exitless_dynidle_budget(&p, &st, false, 4 * MS,
						      &to_deadline), 0ULL);
}

static void vs_upstream_one_long_sleep(struct kunit *test)
{
	struct upstream u = UPSTREAM_DEFAULTS;
	struct exitless_dynidle_state st = {};
	int i;

	/* learn: wake-ups 150 us after each idle start */
	for (i = 0; i < 4; i++) {
		upstream_adjust(&u, 150 * US);
		halted(&st, 150 * US);
	}
	KUNIT_EXPECT_EQ(test, (u64)u.poll_limit_ns, 200 * US);
	KUNIT_EXPECT_EQ(test, st.window_ns, 200 * US);
	/* one 10 ms sleep: upstream halves, so the next 150 us wake-up is
	 * missed (halt, HLT exit); dynidle keeps its window
	 */
	upstream_adjust(&u, 10 * MS);
	halted(&st, 10 * MS);
	KUNIT_EXPECT_EQ(test, (u64)u.poll_limit_ns, 100 * US);
	KUNIT_EXPECT_EQ(test, st.window_ns, 200 * US);
	KUNIT_EXPECT_LT(test, (u64)u.poll_limit_ns, 150 * US);
	KUNIT_EXPECT_GT(test, st.window_ns, 150 * US);
}

static void vs_upstream_useless_tiny_windows(struct kunit *test)
{
	struct upstream u = UPSTREAM_DEFAULTS;
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	int i;

	u.poll_limit_ns = 200000;
	/* a mostly idle guest: long sleeps only */
	for (i = 0; i < 16; i++) {
		upstream_adjust(&u, 10 * MS);
		halted(&st, 10 * MS);
	}
	/* upstream still polls a few hundred ns on every idle entry... */
	KUNIT_EXPECT_GT(test, u.poll_limit_ns, 0U);
	KUNIT_EXPECT_LT(test, (u64)u.poll_limit_ns, 50 * US);
	/* ...dynidle has stopped polling */
	KUNIT_EXPECT_EQ(test, st.window_ns, 0ULL);
}

static void vs_upstream_u32_wrap(struct kunit *test)
{
	struct upstream u = UPSTREAM_DEFAULTS;
	struct exitless_dynidle_params p = defaults;
	struct exitless_dynidle_state st = { .window_ns = 3000000000ULL };

	/* guest_halt_poll_ns raised to 4 s: 3 s * 2 wraps in unsigned int */
	u.max_ns = 4000000000U;
	u.poll_limit_ns = 3000000000U;
	upstream_adjust(&u, 3500000000ULL);
	KUNIT_EXPECT_LT(test, (u64)u.poll_limit_ns, 3000000000ULL);
	p.max_ns = 4000000000ULL;
	exitless_dynidle_update(&p, &st, EXITLESS_DYNIDLE_HALTED, 3500000000ULL,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 4000000000ULL);
}

static void vs_upstream_polls_past_deadline(struct kunit *test)
{
	struct upstream u = UPSTREAM_DEFAULTS;
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	bool td;

	u.poll_limit_ns = 200000;
	/* timer in 60 us, nothing else coming: upstream polls 200 us
	 * (poll_idle() only looks at need_resched()); dynidle stops at 60
	 */
	KUNIT_EXPECT_EQ(test, (u64)u.poll_limit_ns, 200 * US);
	KUNIT_EXPECT_EQ(test, budget(&defaults, &st, false, 60 * US, &td),
			60 * US);
}

static void vs_upstream_polls_when_contended(struct kunit *test)
{
	struct upstream u = UPSTREAM_DEFAULTS;
	struct exitless_dynidle_state st = { .window_ns = 200 * US };
	bool td;

	u.poll_limit_ns = 200000;
	/* 50 % steal: upstream has no input for it and polls 200 us */
	exitless_dynidle_steal_sample(&defaults, &st, 1 * MS, 0);
	exitless_dynidle_steal_sample(&defaults, &st, 5 * MS, 2 * MS);
	KUNIT_EXPECT_EQ(test, (u64)u.poll_limit_ns, 200 * US);
	KUNIT_EXPECT_EQ(test, budget(&defaults, &st,
				     exitless_dynidle_contended(&defaults, &st, false),
				     EXITLESS_DYNIDLE_NO_DEADLINE, &td),
			0ULL);
	/* the window survives the contended period */
	exitless_dynidle_update(&defaults, &st, EXITLESS_DYNIDLE_SKIPPED, 10 * MS,
				EXITLESS_DYNIDLE_NO_DEADLINE);
	KUNIT_EXPECT_EQ(test, st.window_ns, 200 * US);
}

static struct kunit_case exitless_dynidle_cases[] = {
	KUNIT_CASE(grows_from_zero_to_max),
	KUNIT_CASE(woken_keeps_window),
	KUNIT_CASE(skipped_teaches_nothing),
	KUNIT_CASE(shrinks_after_long_idles_in_a_row),
	KUNIT_CASE(load_ended_stops_polling_soon),
	KUNIT_CASE(short_idle_resets_long_count),
	KUNIT_CASE(shrink_zero_means_off),
	KUNIT_CASE(grow_one_never_grows),
	KUNIT_CASE(max_lowered_under_window),
	KUNIT_CASE(huge_max_saturates),
	KUNIT_CASE(deadline_caps_window),
	KUNIT_CASE(near_deadline_polled_up_to),
	KUNIT_CASE(due_timer_from_host_polled_for),
	KUNIT_CASE(break_even_zero_disables),
	KUNIT_CASE(host_hint_stops_polling),
	KUNIT_CASE(steal_sampling),
	KUNIT_CASE(steal_backwards_restarts),
	KUNIT_CASE(steal_pct_zero_ignores_steal),
	KUNIT_CASE(grow_after_ignores_lone_wakeups),
	KUNIT_CASE(params_valid),
	KUNIT_CASE(grow_start_above_max_clamped),
	KUNIT_CASE(timer_ended_periods_shrink),
	KUNIT_CASE(poll_to_deadline_returns),
	KUNIT_CASE(deadline_periods_keep_window_under_load),
	KUNIT_CASE(vs_upstream_periodic_timer),
	KUNIT_CASE(vs_upstream_one_long_sleep),
	KUNIT_CASE(vs_upstream_useless_tiny_windows),
	KUNIT_CASE(vs_upstream_u32_wrap),
	KUNIT_CASE(vs_upstream_polls_past_deadline),
	KUNIT_CASE(vs_upstream_polls_when_contended),
	{}
};

static struct kunit_suite exitless_dynidle_suite = {
	.name = "exitless_dynidle",
	.test_cases = exitless_dynidle_cases,
};

kunit_test_suite(exitless_dynidle_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for the exitless dynidle policy");
MODULE_INFO(test, "Y");
