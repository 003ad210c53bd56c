// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite exitless_pvtimer for pvtimer/policy.c: PVTIMER_ENABLE's
 * argument checks, the host's decision on a read section and its timer
 * delay, the guest's lazy-or-sync decision, the backstop rules, and a walk
 * through the protocol written with these functions alone.
 *
 * Times are TSC cycles of a 2 GHz vCPU unless a name says ns.
 */
#include <kunit/test.h>
#include <linux/build_bug.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/stddef.h>

#include "uapi/exitless.h"
#include "policy.h"

#define TSC_KHZ		2000000U		/* 2 GHz */
#define US		((u64)TSC_KHZ / 1000)	/* cycles */
#define MS		((u64)TSC_KHZ)		/* cycles */
#define NS_PER_MS	1000000ULL
#define EINVAL_RET	(-EXITLESS_EINVAL)
#define SIZE_PVT	EXITLESS_AREA_SIZE_PVTIMER
#define NOW		(1000 * 1000 * MS)	/* 1000 s after boot */
#define MAX_NS		EXITLESS_PVTIMER_MAX_NS

#define NONE		EXITLESS_PVTIMER_HOST_NONE
#define ARM		EXITLESS_PVTIMER_HOST_ARM
#define INJECT		EXITLESS_PVTIMER_HOST_INJECT
#define CANCEL		EXITLESS_PVTIMER_HOST_CANCEL
#define LAZY		EXITLESS_PVTIMER_ARM_LAZY
#define SYNC		EXITLESS_PVTIMER_ARM_SYNC

static long enable(u64 vector, u64 flags, u32 layout, u32 size)
{
	return exitless_pvtimer_check_enable(vector, flags, 0, TSC_KHZ, layout,
					     size);
}

#define BACKSTOP	EXITLESS_PVTIMER_ENABLE_BACKSTOP

static long enable_w(u64 flags, u64 window, u32 khz)
{
	return exitless_pvtimer_check_enable(0xec, flags, window, khz, 3,
					     SIZE_PVT);
}

static u64 delay(u64 deadline, u64 now, u32 khz)
{
	return exitless_pvtimer_delay_ns(deadline, now, khz);
}

static enum exitless_pvtimer_arm arm(u64 deadline, u64 host_armed,
				     bool exit_follows)
{
	return exitless_pvtimer_arm_action(deadline, host_armed, exit_follows);
}

static u64 bfor(u64 deadline, u64 window)
{
	return exitless_pvtimer_backstop_for(deadline, window);
}

/* --- host: PVTIMER_ENABLE's argument checks ---------------------------- */

static void enable_section_layout(struct kunit *test)
{
	/* the size ENABLE asks for is the section's end */
	BUILD_BUG_ON(sizeof(struct exitless_pvtimer_section) !=
		     EXITLESS_AREA_SECTION_SIZE);
	BUILD_BUG_ON(offsetof(struct exitless_pvtimer_section, seq) !=
		     offsetof(struct exitless_pvtimer_section, deadline) + 8);
	KUNIT_EXPECT_EQ(test, SIZE_PVT, 128);
	KUNIT_EXPECT_LE(test, SIZE_PVT, EXITLESS_AREA_MAX_SIZE);
}

static void enable_accepts_valid(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 3, SIZE_PVT), 0L);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, EXITLESS_LAYOUT_VERSION,
				     EXITLESS_AREA_MAX_SIZE), 0L);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 3, 256), 0L);
}

static void enable_vector_bounds(struct kunit *test)
{
	u64 v;

	for (v = 0; v < EXITLESS_PVTIMER_VECTOR_MIN; v++)
		KUNIT_EXPECT_EQ_MSG(test, enable(v, 0, 3, SIZE_PVT), EINVAL_RET,
				    "vector %llu", v);
	KUNIT_EXPECT_EQ(test, enable(31, 0, 3, SIZE_PVT), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(32, 0, 3, SIZE_PVT), 0L);
	KUNIT_EXPECT_EQ(test, enable(255, 0, 3, SIZE_PVT), 0L);
	KUNIT_EXPECT_EQ(test, enable(256, 0, 3, SIZE_PVT), EINVAL_RET);
	/* a0 is 64 bits: nothing may truncate it to a valid vector */
	KUNIT_EXPECT_EQ(test, enable(0x100 | 0xec, 0, 3, SIZE_PVT), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable((1ULL << 32) | 0xec, 0, 3, SIZE_PVT),
			EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable((1ULL << 63) | 0xec, 0, 3, SIZE_PVT),
			EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(U64_MAX, 0, 3, SIZE_PVT), EINVAL_RET);
}

static void enable_flags(struct kunit *test)
{
	unsigned int bit;

	/* bit 0 needs a window (enable_backstop_window), bit 1 is the poller */
	for (bit = 0; bit < 64; bit++)
		KUNIT_EXPECT_EQ_MSG(test, enable(0xec, 1ULL << bit, 3, SIZE_PVT),
				    bit == 1 ? 0L : EINVAL_RET, "flag bit %u", bit);
	KUNIT_EXPECT_EQ(test, enable(0xec, U64_MAX, 3, SIZE_PVT), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP | EXITLESS_PVTIMER_ENABLE_POLL,
				       100 * MS, TSC_KHZ), 0L);
	KUNIT_EXPECT_EQ(test, enable_w(EXITLESS_PVTIMER_ENABLE_POLL, 100 * MS,
				       TSC_KHZ), EINVAL_RET);
}

/* The host's backstop: a window of 1 ms .. 10 s, and only with the flag. */
static void enable_backstop_window(struct kunit *test)
{
	unsigned int bit;
	long r;

	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, 100 * MS, TSC_KHZ), 0L);
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, MS, TSC_KHZ), 0L);
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, 10000 * MS, TSC_KHZ), 0L);
	/* the guest's TSC calibration may differ a little from the host's */
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, 10000 * MS + 10000 * MS / 100,
				       TSC_KHZ), 0L);
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, MS - MS / 100, TSC_KHZ), 0L);
	/* but not much */
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, 10000 * MS + 10000 * MS / 32,
				       TSC_KHZ), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, MS / 2, TSC_KHZ), EINVAL_RET);
	/* none, or absurd */
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, 0, TSC_KHZ), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, 1, TSC_KHZ), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, U64_MAX, TSC_KHZ), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, 1ULL << 63, TSC_KHZ),
			EINVAL_RET);
	/* a vCPU without a TSC rate cannot have one */
	KUNIT_EXPECT_EQ(test, enable_w(BACKSTOP, 100 * MS, 0), EINVAL_RET);
	/* a window without the flag, or an unknown flag with it */
	KUNIT_EXPECT_EQ(test, enable_w(0, 100 * MS, TSC_KHZ), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable_w(0, 1, TSC_KHZ), EINVAL_RET);
	for (bit = 2; bit < 64; bit++)
		KUNIT_EXPECT_EQ_MSG(test, enable_w(BACKSTOP | 1ULL << bit,
						   100 * MS, TSC_KHZ),
				    EINVAL_RET, "flag bit %u", bit);
	/* the flag does not excuse a bad vector or registration */
	r = exitless_pvtimer_check_enable(31, BACKSTOP, 100 * MS, TSC_KHZ, 3,
					  SIZE_PVT);
	KUNIT_EXPECT_EQ(test, r, EINVAL_RET);
	r = exitless_pvtimer_check_enable(0xec, BACKSTOP, 100 * MS, TSC_KHZ, 2,
					  SIZE_PVT);
	KUNIT_EXPECT_EQ(test, r, EINVAL_RET);
}

static void enable_layout(struct kunit *test)
{
	/* version 2 has no pvtimer section, whatever the size */
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 0, SIZE_PVT), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 1, SIZE_PVT), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 2, SIZE_PVT), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 2, EXITLESS_AREA_MAX_SIZE),
			EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 3, SIZE_PVT), 0L);
}

static void enable_size(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 3, 0), EINVAL_RET);
	/* the header alone, and one byte short of the section's end */
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 3, EXITLESS_AREA_HDR_SIZE),
			EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 3, EXITLESS_AREA_OFF_PVTIMER + 8),
			EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 3, SIZE_PVT - 1), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 3, SIZE_PVT), 0L);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 3, SIZE_PVT + 1), 0L);
}

/*
 * Every failing check gives -EXITLESS_EINVAL, so the order among them is
 * not visible in the return value.  What the order means to the caller is
 * that the arguments can be checked alone, against a registration that
 * passes (host.c does this before it looks the vCPU up, so a bad vector
 * or flags gets EINVAL before an unregistered vCPU gets ENOENT), and that
 * any mix of failures still fails.
 */
static void enable_check_order(struct kunit *test)
{
	/* arguments alone, against a registration that passes */
	KUNIT_EXPECT_EQ(test, enable(31, 0, EXITLESS_LAYOUT_VERSION, SIZE_PVT),
			EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0xec, 1, EXITLESS_LAYOUT_VERSION, SIZE_PVT),
			EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, EXITLESS_LAYOUT_VERSION, SIZE_PVT),
			0L);
	/* a good call against a bad registration */
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 2, SIZE_PVT - 1), EINVAL_RET);
	/* every mix of failures */
	KUNIT_EXPECT_EQ(test, enable(256, 1, 2, 64), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(256, 0, 2, 64), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0xec, 1, 2, 64), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(256, 1, 3, SIZE_PVT), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, enable(0, 0, 3, 64), EINVAL_RET);
}

/* --- host: decision on a read section ---------------------------------- */

static enum exitless_pvtimer_host_act
decide(u64 deadline, u64 seq, u64 seen, bool force, bool fired, u64 now)
{
	return exitless_pvtimer_host_decide(deadline, seq, seen, force, fired,
					    now);
}

static void decide_same_seq_is_none(struct kunit *test)
{
	/* acted on once: never again, whatever the deadline says */
	KUNIT_EXPECT_EQ(test, decide(NOW + MS, 5, 5, false, false, NOW), NONE);
	KUNIT_EXPECT_EQ(test, decide(NOW - MS, 5, 5, false, false, NOW), NONE);
	KUNIT_EXPECT_EQ(test, decide(NOW, 5, 5, false, false, NOW), NONE);
	KUNIT_EXPECT_EQ(test, decide(0, 5, 5, false, false, NOW), NONE);
	/* the section after the vector was injected: not injected again */
	KUNIT_EXPECT_EQ(test, decide(NOW - 10 * MS, 7, 7, false, false, NOW),
			NONE);
	/* a zeroed section never touched by the guest */
	KUNIT_EXPECT_EQ(test, decide(0, 0, 0, false, false, NOW), NONE);
}

static void decide_same_seq_fired_injects(struct kunit *test)
{
	/* the timer for this very deadline expired in guest mode */
	KUNIT_EXPECT_EQ(test, decide(NOW - US, 5, 5, false, true, NOW), INJECT);
	KUNIT_EXPECT_EQ(test, decide(NOW, 5, 5, false, true, NOW), INJECT);
	KUNIT_EXPECT_EQ(test, decide(NOW - 10 * MS, 5, 5, false, true, NOW),
			INJECT);
}

static void decide_force(struct kunit *test)
{
	/* PVTIMER_ENABLE: act on the section although seq was seen */
	KUNIT_EXPECT_EQ(test, decide(NOW + MS, 5, 5, true, false, NOW), ARM);
	KUNIT_EXPECT_EQ(test, decide(NOW - MS, 5, 5, true, false, NOW), INJECT);
	KUNIT_EXPECT_EQ(test, decide(NOW, 5, 5, true, false, NOW), INJECT);
	KUNIT_EXPECT_EQ(test, decide(0, 5, 5, true, false, NOW), CANCEL);
	/* the first ENABLE of a zeroed section */
	KUNIT_EXPECT_EQ(test, decide(0, 0, 0, true, false, NOW), CANCEL);
	/* forced, the deadline decides even if a timer fired */
	KUNIT_EXPECT_EQ(test, decide(NOW + MS, 5, 5, true, true, NOW), ARM);
	KUNIT_EXPECT_EQ(test, decide(0, 5, 5, true, true, NOW), CANCEL);
	/* forced with a new seq changes nothing */
	KUNIT_EXPECT_EQ(test, decide(NOW + MS, 6, 5, true, false, NOW), ARM);
}

static void decide_new_seq(struct kunit *test)
{
	/* no deadline: stop the timer */
	KUNIT_EXPECT_EQ(test, decide(0, 6, 5, false, false, NOW), CANCEL);
	/* past, equal, future */
	KUNIT_EXPECT_EQ(test, decide(NOW - 1, 6, 5, false, false, NOW), INJECT);
	KUNIT_EXPECT_EQ(test, decide(1, 6, 5, false, false, NOW), INJECT);
	KUNIT_EXPECT_EQ(test, decide(NOW, 6, 5, false, false, NOW), INJECT);
	KUNIT_EXPECT_EQ(test, decide(NOW + 1, 6, 5, false, false, NOW), ARM);
	KUNIT_EXPECT_EQ(test, decide(U64_MAX, 6, 5, false, false, NOW), ARM);
	/* any other seq is new: wrap-around, and seq going backwards */
	KUNIT_EXPECT_EQ(test, decide(NOW + MS, 0, U64_MAX, false, false, NOW),
			ARM);
	KUNIT_EXPECT_EQ(test, decide(NOW + MS, 4, 5, false, false, NOW), ARM);
	/* at TSC 0 nothing is due yet but 0, which means "none" */
	KUNIT_EXPECT_EQ(test, decide(1, 1, 0, false, false, 0), ARM);
}

/*
 * The host timer expired while the vCPU ran guest code, and before the
 * exit the guest wrote another deadline: the host decides on the new one,
 * not on the fired timer.
 */
static void decide_race_new_deadline_wins(struct kunit *test)
{
	u64 fired_at = NOW;

	/* moved later: re-arm, no vector now */
	KUNIT_EXPECT_EQ(test, decide(fired_at + 5 * MS, 6, 5, false, true,
				     fired_at + US), ARM);
	/* removed: cancel, no vector */
	KUNIT_EXPECT_EQ(test, decide(0, 6, 5, false, true, fired_at + US),
			CANCEL);
	/* moved earlier, or later but already due by the exit: inject */
	KUNIT_EXPECT_EQ(test, decide(fired_at - MS, 6, 5, false, true,
				     fired_at + US), INJECT);
	KUNIT_EXPECT_EQ(test, decide(fired_at + US / 2, 6, 5, false, true,
				     fired_at + US), INJECT);
	/* several re-arms in between (seq jumped by more than one) */
	KUNIT_EXPECT_EQ(test, decide(fired_at + 3 * MS, 9, 5, false, true,
				     fired_at + US), ARM);
}

/*
 * BUG (fails against policy.c as written): the host's timer runs at most
 * EXITLESS_PVTIMER_MAX_NS, and policy.h promises for a later deadline that
 * it "is re-read when that expires".  But when the capped timer expires
 * while the vCPU is in guest mode (fired) and the guest has not touched
 * its section since (same seq), host_decide() answers INJECT without
 * looking at guest_now: the guest gets its vector an hour early, and every
 * hour again for a far deadline.  A fired timer whose deadline is still
 * ahead should be re-armed for the rest (ARM); only a due one injected.
 */
static void decide_capped_timer_rearms(struct kunit *test)
{
	u64 armed_at = NOW;
	u64 deadline = armed_at + 2 * 3600 * 1000 * MS;	/* in 2 hours */
	u64 ns = delay(deadline, armed_at, TSC_KHZ);
	u64 fired_at = armed_at + 3600 * 1000 * MS;	/* the cap expired */

	KUNIT_ASSERT_EQ(test, ns, EXITLESS_PVTIMER_MAX_NS);
	KUNIT_EXPECT_EQ_MSG(test, decide(deadline, 5, 5, false, true, fired_at),
			    ARM,
			    "a capped timer expired an hour before the deadline: arm again");
	/* the rest of the wait, from the new now */
	KUNIT_EXPECT_EQ(test, delay(deadline, fired_at, TSC_KHZ), EXITLESS_PVTIMER_MAX_NS);
}

/* --- host: timer delay --------------------------------------------------- */

static void delay_due_is_zero(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, delay(NOW, NOW, TSC_KHZ), 0ULL);
	KUNIT_EXPECT_EQ(test, delay(NOW - 1, NOW, TSC_KHZ), 0ULL);
	KUNIT_EXPECT_EQ(test, delay(1, U64_MAX, TSC_KHZ), 0ULL);
	KUNIT_EXPECT_EQ(test, delay(0, NOW, TSC_KHZ), 0ULL);
	KUNIT_EXPECT_EQ(test, delay(U64_MAX, U64_MAX, TSC_KHZ), 0ULL);
	/* due is due, even without a known frequency */
	KUNIT_EXPECT_EQ(test, delay(NOW, NOW, 0), 0ULL);
	KUNIT_EXPECT_EQ(test, delay(NOW - 1, NOW, 0), 0ULL);
}

static void delay_one_ms(struct kunit *test)
{
	static const u32 khz[] = {
		1, 1000, 1000000, 2100000, 2999999, 3700000, 5000000, U32_MAX,
	};
	unsigned int i;

	/* tsc_khz cycles are 1 ms at every frequency */
	for (i = 0; i < ARRAY_SIZE(khz); i++) {
		KUNIT_EXPECT_EQ_MSG(test, delay(NOW + khz[i], NOW, khz[i]),
				    NS_PER_MS, "tsc_khz %u", khz[i]);
		KUNIT_EXPECT_EQ_MSG(test, delay(NOW + 10ULL * khz[i], NOW, khz[i]),
				    10 * NS_PER_MS, "tsc_khz %u", khz[i]);
	}
	/* 1 us at 2 GHz */
	KUNIT_EXPECT_EQ(test, delay(NOW + US, NOW, TSC_KHZ), 1000ULL);
	/* one cycle: rounded down, never later than the deadline */
	KUNIT_EXPECT_EQ(test, delay(NOW + 1, NOW, TSC_KHZ), 0ULL);
	KUNIT_EXPECT_EQ(test, delay(NOW + 3, NOW, 2100000), 1ULL); /* 1.43 ns */
}

static void delay_unknown_frequency(struct kunit *test)
{
	/* no tsc_khz: the longest wait, then the section is read again */
	KUNIT_EXPECT_EQ(test, delay(NOW + 1, NOW, 0), MAX_NS);
	KUNIT_EXPECT_EQ(test, delay(U64_MAX, 0, 0), MAX_NS);
}

static void delay_hour_cap(struct kunit *test)
{
	u64 hour = 3600ULL * 1000 * MS;

	KUNIT_EXPECT_EQ(test, MAX_NS, 3600ULL * 1000000000ULL);
	KUNIT_EXPECT_EQ(test, delay(NOW + hour, NOW, TSC_KHZ), MAX_NS);
	/* 0.5 ns short */
	KUNIT_EXPECT_EQ(test, delay(NOW + hour - 1, NOW, TSC_KHZ), MAX_NS - 1);
	KUNIT_EXPECT_EQ(test, delay(NOW + hour - MS, NOW, TSC_KHZ),
			MAX_NS - NS_PER_MS);
	KUNIT_EXPECT_EQ(test, delay(NOW + 2 * hour, NOW, TSC_KHZ), MAX_NS);
	/* a 1 kHz TSC: the hour is 3.6e6 cycles */
	KUNIT_EXPECT_EQ(test, delay(3600000, 0, 1), MAX_NS);
	KUNIT_EXPECT_EQ(test, delay(3599999, 0, 1), MAX_NS - NS_PER_MS);
	/* the fastest TSC: just under the hour, no overflow on the way */
	KUNIT_EXPECT_EQ(test, delay(3600000ULL * U32_MAX - 1, 0, U32_MAX),
			MAX_NS - 1);
	KUNIT_EXPECT_EQ(test, delay(3600000ULL * U32_MAX, 0, U32_MAX), MAX_NS);
}

static void delay_huge_deadlines(struct kunit *test)
{
	static const u32 khz[] = { 1, 1000, TSC_KHZ, U32_MAX };
	unsigned int i;
	u32 k;

	for (i = 0; i < ARRAY_SIZE(khz); i++) {
		k = khz[i];
		/* the guest picks any value: capped, never wrapped */
		KUNIT_EXPECT_EQ_MSG(test, delay(U64_MAX, 0, k), MAX_NS,
				    "tsc_khz %u", k);
		KUNIT_EXPECT_EQ_MSG(test, delay(U64_MAX, NOW, k), MAX_NS,
				    "tsc_khz %u", k);
		KUNIT_EXPECT_EQ_MSG(test, delay(1ULL << 63, 1ULL << 62, k),
				    MAX_NS, "tsc_khz %u", k);
		/* near the end of the TSC's range, small delays stay exact */
		KUNIT_EXPECT_EQ_MSG(test, delay(U64_MAX, U64_MAX - k, k),
				    NS_PER_MS, "tsc_khz %u", k);
	}
	KUNIT_EXPECT_EQ(test, delay(U64_MAX, U64_MAX - 2, TSC_KHZ), 1ULL);
	KUNIT_EXPECT_EQ(test, delay(U64_MAX, U64_MAX - 1, 1), NS_PER_MS);
	KUNIT_EXPECT_LE(test, delay(U64_MAX, 1, TSC_KHZ), MAX_NS);
}

/* --- guest: lazy or sync ------------------------------------------------- */

static void arm_disarm_is_lazy(struct kunit *test)
{
	/* an early expiry of the host timer is harmless */
	KUNIT_EXPECT_EQ(test, arm(0, 0, false), LAZY);
	KUNIT_EXPECT_EQ(test, arm(0, NOW, false), LAZY);
	KUNIT_EXPECT_EQ(test, arm(0, U64_MAX, false), LAZY);
	KUNIT_EXPECT_EQ(test, arm(0, NOW, true), LAZY);
}

static void arm_exit_follows_is_lazy(struct kunit *test)
{
	/* no host timer, or one later than the deadline: still lazy */
	KUNIT_EXPECT_EQ(test, arm(NOW + MS, 0, true), LAZY);
	KUNIT_EXPECT_EQ(test, arm(NOW + MS, NOW + 2 * MS, true), LAZY);
	KUNIT_EXPECT_EQ(test, arm(NOW + MS, NOW, true), LAZY);
	KUNIT_EXPECT_EQ(test, arm(1, U64_MAX, true), LAZY);
}

static void arm_against_host_timer(struct kunit *test)
{
	u64 d = NOW + 4 * MS;

	/* the host looks again when its timer expires: by then at the latest */
	KUNIT_EXPECT_EQ(test, arm(d, d - MS, false), LAZY);
	KUNIT_EXPECT_EQ(test, arm(d, 1, false), LAZY);
	KUNIT_EXPECT_EQ(test, arm(d, d, false), LAZY);
	/* the host would expire too late, or not at all */
	KUNIT_EXPECT_EQ(test, arm(d, d + 1, false), SYNC);
	KUNIT_EXPECT_EQ(test, arm(d, U64_MAX, false), SYNC);
	KUNIT_EXPECT_EQ(test, arm(d, 0, false), SYNC);
	KUNIT_EXPECT_EQ(test, arm(U64_MAX, 0, false), SYNC);
	KUNIT_EXPECT_EQ(test, arm(U64_MAX, U64_MAX, false), LAZY);
}

/* cover(): write @n deadlines from seq 1 into a ring, then ask about the last */
static bool cover(const u64 *deadlines, unsigned int n, u64 host_seq)
{
	struct exitless_pvtimer_written w[EXITLESS_PVTIMER_WRITTEN] = {};
	unsigned int i;

	for (i = 0; i < n; i++)
		w[(i + 1) % EXITLESS_PVTIMER_WRITTEN] =
			(struct exitless_pvtimer_written){ i + 1, deadlines[i] };
	return !exitless_pvtimer_uncovered(deadlines[n - 1], w, n, host_seq);
}

static void arm_cover_by_host_read(struct kunit *test)
{
	u64 d = NOW + MS;
	const u64 same[] = { d, d }, earlier[] = { d - 1, d },
		  later[] = { d + 1, d }, none[] = { 0, d }, off[] = { d, 0 };

	/* the host read (seq 1) this deadline or an earlier one: covered */
	KUNIT_EXPECT_TRUE(test, cover(same, 2, 1));
	KUNIT_EXPECT_TRUE(test, cover(earlier, 2, 1));
	/* a later one (a stopped tick's far timer): its backstop is too late */
	KUNIT_EXPECT_FALSE(test, cover(later, 2, 1));
	/* none: the host disarmed it */
	KUNIT_EXPECT_FALSE(test, cover(none, 2, 1));
	/* the fresh section (host_seq 0) is none */
	KUNIT_EXPECT_FALSE(test, cover(same, 2, 0));
	/* the host read this very write */
	KUNIT_EXPECT_TRUE(test, cover(later, 2, 2));
	KUNIT_EXPECT_TRUE(test, cover(none, 2, 3));
	/* none again needs no cover */
	KUNIT_EXPECT_TRUE(test, cover(off, 2, 1));
}

static void arm_cover_read_not_yet_published(struct kunit *test)
{
	u64 d1 = NOW + MS, d2 = NOW + 4000 * MS, d3 = NOW + 2 * MS;
	const u64 lag[] = { d1, d2, d3 }, lag_none[] = { d1, 0, d3 },
		  lag_ok[] = { d1, d3 - 1, d3 };

	/*
	 * host_seq names d1 (published at the last entry), but the exit
	 * since read d2 (the CPU halted with its tick stopped) and armed the
	 * backstop at d2 + window / 8 or later, and the host may be gone:
	 * d3, earlier than d2, is not covered although it is later than d1
	 */
	KUNIT_EXPECT_FALSE(test, cover(lag, 3, 1));
	/* a none in between: disarmed, whichever was read */
	KUNIT_EXPECT_FALSE(test, cover(lag_none, 3, 1));
	/* every write the host may have read is no later: covered */
	KUNIT_EXPECT_TRUE(test, cover(lag_ok, 3, 1));
}

static void arm_cover_beyond_memory(struct kunit *test)
{
	u64 d[EXITLESS_PVTIMER_WRITTEN + 1];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(d); i++)
		d[i] = NOW + i * MS;	/* ever later: covered if known */
	/* the host read one of the last 7 writes before this one */
	KUNIT_EXPECT_TRUE(test, cover(d, ARRAY_SIZE(d), 2));
	KUNIT_EXPECT_TRUE(test, cover(d, ARRAY_SIZE(d), ARRAY_SIZE(d) - 1));
	/* one written before those: its slot holds another write */
	KUNIT_EXPECT_FALSE(test, cover(d, ARRAY_SIZE(d), 1));
}

static void looks_by_poller(struct kunit *test)
{
	u64 p = MS / 2;

	/* no poller: the host's timer alone */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_host_looks_by(0, 0, NOW), 0ULL);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_host_looks_by(NOW + MS, 0, NOW),
			NOW + MS);
	/* a poller: its next round, or the host's timer if sooner */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_host_looks_by(0, p, NOW), NOW + p);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_host_looks_by(NOW + MS, p, NOW),
			NOW + p);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_host_looks_by(NOW + 1, p, NOW),
			NOW + 1);
	/* the end of time does not wrap to "soon" */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_host_looks_by(0, p, U64_MAX - 1),
			U64_MAX);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_host_looks_by(0, U64_MAX, NOW),
			U64_MAX);
}

static void arm_with_poller(struct kunit *test)
{
	u64 p = MS / 2, by;

	/* a deadline past the poller's next round is lazy, a nearer one not */
	KUNIT_EXPECT_EQ(test, arm(NOW + MS, exitless_pvtimer_host_looks_by(0, p, NOW),
				  false), LAZY);
	KUNIT_EXPECT_EQ(test, arm(NOW + p, exitless_pvtimer_host_looks_by(0, p, NOW),
				  false), LAZY);
	KUNIT_EXPECT_EQ(test, arm(NOW + p - 1,
				  exitless_pvtimer_host_looks_by(0, p, NOW), false),
			SYNC);
	/* a host timer before the deadline still makes it lazy */
	by = exitless_pvtimer_host_looks_by(NOW + 5, p, NOW);
	KUNIT_EXPECT_EQ(test, arm(NOW + 10, by, false), LAZY);
}

static void exit_follows_cases(struct kunit *test)
{
	static const struct {
		bool idle, halting, irq, running, want;
	} c[] = {
		/* the idle task halts (an exit) or leaves by a switch */
		{ true, true, false, true, true },
		{ true, true, false, false, true },
		{ true, true, true, true, true },	/* irq while idle */
		{ true, true, true, false, true },
		/* ... but a polling idle loop may not exit for long */
		{ true, false, false, true, false },
		{ true, false, false, false, false },
		{ true, false, true, true, false },
		{ true, false, true, false, false },
		/* an irq returns to the task it interrupted */
		{ false, true, true, true, false },
		{ false, true, true, false, false },
		{ false, false, true, true, false },
		{ false, false, true, false, false },
		/* a task that set itself to sleep switches out next */
		{ false, true, false, false, true },
		{ false, false, false, false, true },
		/* a running task goes on running */
		{ false, true, false, true, false },
		{ false, false, false, true, false },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    exitless_pvtimer_exit_follows(c[i].idle,
								  c[i].halting,
								  c[i].irq,
								  c[i].running),
				    c[i].want,
				    "idle %d halting %d irq %d running %d",
				    c[i].idle, c[i].halting, c[i].irq,
				    c[i].running);
}

/* --- guest: the backstop ------------------------------------------------- */

#define MARGIN	(100 * US)
#define WINDOW	(50 * MS)

static bool covers(u64 deadline, u64 backstop)
{
	return exitless_pvtimer_backstop_covers(deadline, backstop, MARGIN,
						WINDOW, false);
}

static void backstop_covers_rules(struct kunit *test)
{
	u64 d = NOW;

	/* no deadline needs no backstop */
	KUNIT_EXPECT_TRUE(test, covers(0, 0));
	KUNIT_EXPECT_TRUE(test, covers(0, NOW));
	/* a deadline needs one */
	KUNIT_EXPECT_FALSE(test, covers(d, 0));
	/* before or at the deadline: the host had no chance */
	KUNIT_EXPECT_FALSE(test, covers(d, d - MS));
	KUNIT_EXPECT_FALSE(test, covers(d, 1));
	KUNIT_EXPECT_FALSE(test, covers(d, d));
	/* within the margin */
	KUNIT_EXPECT_FALSE(test, covers(d, d + 1));
	KUNIT_EXPECT_FALSE(test, covers(d, d + MARGIN - 1));
	/* in the window, its ends included */
	KUNIT_EXPECT_TRUE(test, covers(d, d + MARGIN));
	KUNIT_EXPECT_TRUE(test, covers(d, d + MS));
	KUNIT_EXPECT_TRUE(test, covers(d, d + WINDOW / 2));
	KUNIT_EXPECT_TRUE(test, covers(d, d + WINDOW));
	/* past the window: a lost deadline would wait too long */
	KUNIT_EXPECT_FALSE(test, covers(d, d + WINDOW + 1));
	KUNIT_EXPECT_FALSE(test, covers(d, U64_MAX));
	KUNIT_EXPECT_FALSE(test, covers(1, U64_MAX));
	/* margin 0: anything after the deadline and in the window */
	KUNIT_EXPECT_TRUE(test, exitless_pvtimer_backstop_covers(d, d + 1, 0,
								 WINDOW, false));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_backstop_covers(d, d, 0,
								  WINDOW, false));
}

/* a backstop before the deadline: an early check, only where wanted */
static void backstop_early_check(struct kunit *test)
{
	u64 d = NOW + 500 * MS;

	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_backstop_covers(d, NOW + MS,
								  MARGIN,
								  WINDOW,
								  false));
	KUNIT_EXPECT_TRUE(test, exitless_pvtimer_backstop_covers(d, NOW + MS,
								 MARGIN, WINDOW,
								 true));
	/* at the deadline itself: never, early or not */
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_backstop_covers(d, d, 0,
								  WINDOW,
								  true));
	/* after it, early_ok changes nothing */
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_backstop_covers(d, d + 1,
								  MARGIN,
								  WINDOW,
								  true));
	KUNIT_EXPECT_FALSE(test,
			   exitless_pvtimer_backstop_covers(d, d + WINDOW + 1,
							    MARGIN, WINDOW,
							    true));
	/* no backstop at all never covers */
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_backstop_covers(d, 0, MARGIN,
								  WINDOW,
								  true));
}

static void backstop_for_values(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, bfor(NOW, WINDOW), NOW + WINDOW / 2);
	KUNIT_EXPECT_EQ(test, bfor(NOW, 7), NOW + 3);
	KUNIT_EXPECT_EQ(test, bfor(NOW, 0), NOW);
	KUNIT_EXPECT_EQ(test, bfor(1, U64_MAX), 1ULL << 63);
	/* what it picks covers the deadline, whatever the margin up to w/2 */
	KUNIT_EXPECT_TRUE(test, covers(NOW, bfor(NOW, WINDOW)));
	KUNIT_EXPECT_TRUE(test, covers(1, bfor(1, WINDOW)));
	KUNIT_EXPECT_TRUE(test,
			  exitless_pvtimer_backstop_covers(NOW,
							   bfor(NOW, WINDOW),
							   WINDOW / 2, WINDOW,
							   false));
}

static void backstop_for_end_of_time(struct kunit *test)
{
	u64 half = WINDOW / 2;

	/* the last deadline that still gets its full half window */
	KUNIT_EXPECT_EQ(test, bfor(U64_MAX - half, WINDOW), U64_MAX);
	/* later ones saturate, never wrap to a backstop in the past */
	KUNIT_EXPECT_EQ(test, bfor(U64_MAX - half + 1, WINDOW), U64_MAX);
	KUNIT_EXPECT_EQ(test, bfor(U64_MAX - 1, WINDOW), U64_MAX);
	KUNIT_EXPECT_EQ(test, bfor(U64_MAX, WINDOW), U64_MAX);
	KUNIT_EXPECT_EQ(test, bfor(U64_MAX, U64_MAX), U64_MAX);
	KUNIT_EXPECT_TRUE(test, covers(U64_MAX - half, U64_MAX));
	/*
	 * Within the margin of the end of time no backstop can give the host
	 * its margin, and covers() says so (the guest would re-arm at every
	 * deadline there: centuries away on any TSC).
	 */
	KUNIT_EXPECT_FALSE(test, covers(U64_MAX - 1, bfor(U64_MAX - 1, WINDOW)));
	KUNIT_EXPECT_FALSE(test, covers(U64_MAX, U64_MAX));
}

/*
 * A periodic 1 ms timer, window 50 ms, margin 100 us: the backstop goes
 * 25 ms past the deadline it was armed for and covers every deadline up
 * to 24.9 ms after that one, so it moves once every 25 deadlines: 40 MSR
 * writes in 1000 ms instead of 1000.
 */
static void backstop_rearm_rate(struct kunit *test)
{
	u64 backstop = 0, d, first = NOW;
	unsigned int i, rearms = 0, last = 0, gap_min = UINT_MAX, gap_max = 0;

	for (i = 0; i < 1000; i++) {
		d = first + i * MS;
		if (!covers(d, backstop)) {
			backstop = bfor(d, WINDOW);
			if (rearms) {
				gap_min = min(gap_min, i - last);
				gap_max = max(gap_max, i - last);
			}
			last = i;
			rearms++;
		}
		KUNIT_ASSERT_TRUE_MSG(test, covers(d, backstop), "step %u", i);
	}
	KUNIT_EXPECT_EQ(test, rearms, 40U);
	KUNIT_EXPECT_EQ(test, gap_min, 25U);
	KUNIT_EXPECT_EQ(test, gap_max, 25U);
}

static void backstop_earlier_deadline_rearms(struct kunit *test)
{
	u64 backstop = bfor(NOW + 10 * MS, WINDOW);

	/* still within the window of an earlier deadline */
	KUNIT_EXPECT_TRUE(test, covers(NOW, backstop));
	/* too far before it: a loss would be found too late */
	KUNIT_EXPECT_FALSE(test, covers(NOW - 30 * MS, backstop));
	/* past it */
	KUNIT_EXPECT_FALSE(test, covers(NOW + 35 * MS, backstop));
}

static void host_missed_rules(struct kunit *test)
{
	u64 d = NOW, b = bfor(NOW, WINDOW);

	/* the host never read the deadline (host_seq != seq) */
	/* the host's vector, before the backstop: not missed */
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(d, d, b, false));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b - 1, d, b,
							      false));
	/* the backstop's time, the deadline still pending: missed */
	KUNIT_EXPECT_TRUE(test, exitless_pvtimer_host_missed(b, d, b, false));
	KUNIT_EXPECT_TRUE(test, exitless_pvtimer_host_missed(b + MS, d, b,
							     false));
	KUNIT_EXPECT_TRUE(test, exitless_pvtimer_host_missed(U64_MAX, d, b,
							     false));
	/* nothing pending, or no backstop armed */
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b, 0, b, false));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b, d, 0, false));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(U64_MAX, 0, 0,
							      false));
	/* the deadline moved past the backstop: not due, nothing missed */
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b, b + MS, b,
							      false));
	KUNIT_EXPECT_TRUE(test, exitless_pvtimer_host_missed(b + MS, b + MS, b,
							     false));
}

static u64 hbs(u64 deadline, u64 backstop, u64 now)
{
	return exitless_pvtimer_host_backstop(deadline, backstop, WINDOW, now);
}

/* The backstop the host keeps: the guest's rules, never early or past. */
static void host_backstop_rules(struct kunit *test)
{
	u64 d = NOW + 10 * MS, b = bfor(d, WINDOW);

	/* no deadline, or a guest that keeps its own backstop: none */
	KUNIT_EXPECT_EQ(test, hbs(0, b, NOW), 0ULL);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_host_backstop(d, 0, 0, NOW),
			0ULL);
	/* a new deadline: halfway into the window */
	KUNIT_EXPECT_EQ(test, hbs(d, 0, NOW), b);
	/* kept while it covers the deadline */
	KUNIT_EXPECT_EQ(test, hbs(d, b, NOW), b);
	KUNIT_EXPECT_EQ(test, hbs(d + 15 * MS, b, NOW), b);
	KUNIT_EXPECT_EQ(test, hbs(b - WINDOW / 8, b, NOW), b);
	/* not once it is less than 1/8 of the window after the deadline */
	KUNIT_EXPECT_EQ(test, hbs(b - WINDOW / 8 + 1, b, NOW),
			bfor(b - WINDOW / 8 + 1, WINDOW));
	/* never early: a far deadline moves it */
	KUNIT_EXPECT_EQ(test, hbs(d + 5000 * MS, b, NOW),
			bfor(d + 5000 * MS, WINDOW));
	/* nor too late: an earlier deadline moves it back */
	KUNIT_EXPECT_EQ(test, hbs(d - 60 * MS, b, NOW - 100 * MS),
			bfor(d - 60 * MS, WINDOW));
	/* a deadline already due: the window counts from now */
	KUNIT_EXPECT_EQ(test, hbs(NOW - 500 * MS, 0, NOW), bfor(NOW, WINDOW));
	KUNIT_EXPECT_GT(test, hbs(NOW - 500 * MS, bfor(NOW - 500 * MS, WINDOW),
				  NOW), NOW);
	/* the end of time */
	KUNIT_EXPECT_EQ(test, hbs(U64_MAX, 0, NOW), U64_MAX);
	KUNIT_EXPECT_EQ(test, hbs(U64_MAX - 1, U64_MAX, NOW), U64_MAX);
}

/*
 * Steady 1 ms timers: the host writes the backstop once per 3/8 window
 * (here 50 ms: every 19 ms of timer progress).
 */
static void host_backstop_rate(struct kunit *test)
{
	u64 b = 0, d, want;
	unsigned int i, writes = 0;

	for (i = 0; i < 1000; i++) {
		d = NOW + i * MS;
		want = hbs(d, b, d - MS / 2);
		if (want != b) {
			writes++;
			b = want;
		}
		KUNIT_ASSERT_TRUE_MSG(test, covers(d, b), "step %u", i);
	}
	KUNIT_EXPECT_EQ(test, writes, 53U);
}

static bool suspect(u64 now, u64 deadline, bool host_knows)
{
	return exitless_pvtimer_irq_suspect(now, deadline, MARGIN, host_knows);
}

/* With the host's backstop, which expiries the guest checks with SYNC. */
static void irq_suspect_rules(struct kunit *test)
{
	u64 d = NOW;

	/* on time, for a deadline the host read: the host's injection */
	KUNIT_EXPECT_FALSE(test, suspect(d, d, true));
	KUNIT_EXPECT_FALSE(test, suspect(d + MARGIN - 1, d, true));
	/* late by the margin: maybe the backstop of a host that left */
	KUNIT_EXPECT_TRUE(test, suspect(d + MARGIN, d, true));
	KUNIT_EXPECT_TRUE(test, suspect(U64_MAX, d, true));
	/* early: not the host's deadline; maybe an old backstop */
	KUNIT_EXPECT_TRUE(test, suspect(d - 1, d, true));
	KUNIT_EXPECT_TRUE(test, suspect(0, d, true));
	/* a deadline the host never read, whenever it comes */
	KUNIT_EXPECT_TRUE(test, suspect(d, d, false));
	KUNIT_EXPECT_TRUE(test, suspect(d - 1, d, false));
	/* nothing pending: nothing to check */
	KUNIT_EXPECT_FALSE(test, suspect(d, 0, false));
	KUNIT_EXPECT_FALSE(test, suspect(U64_MAX, 0, true));
}

/* The host read the current deadline: merely late, never a miss. */
static void host_missed_host_knows(struct kunit *test)
{
	u64 d = NOW, b = bfor(NOW, WINDOW);

	/* every case that is a miss when the host never read the deadline */
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b, d, b, true));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b + MS, d, b,
							      true));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(U64_MAX, d, b,
							      true));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b + MS, b + MS, b,
							      true));
	/* and the ones that are not */
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(d, d, b, true));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b - 1, d, b,
							      true));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b, 0, b, true));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b, d, 0, true));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(U64_MAX, 0, 0,
							      true));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(b, b + MS, b,
							      true));
	/* the same moment, only host_knows differs */
	KUNIT_EXPECT_TRUE(test, exitless_pvtimer_host_missed(b, d, b, false));
}

/* --- the guard's end and the guest's tick hint ------------------------- */

#define GUARD		MS			/* pvtimer_guard_us = 1000 */
#define TICK_NS		4000000U		/* HZ = 250 */

static void guard_end_without_hint(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_guard_end(NOW, GUARD, 0),
			NOW + GUARD);
	/* a hint at or after the guard's end, or in the past: not taken */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_guard_end(NOW, GUARD,
							 NOW + GUARD),
			NOW + GUARD);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_guard_end(NOW, GUARD,
							 NOW + 5 * GUARD),
			NOW + GUARD);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_guard_end(NOW, GUARD, NOW),
			NOW + GUARD);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_guard_end(NOW, GUARD, NOW - MS),
			NOW + GUARD);
}

static void guard_end_at_hint(struct kunit *test)
{
	/* inside the guard and at least a quarter of it away: the hint */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_guard_end(NOW, GUARD,
							 NOW + GUARD / 4),
			NOW + GUARD / 4);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_guard_end(NOW, GUARD,
							 NOW + GUARD - 1),
			NOW + GUARD - 1);
	/* sooner than a quarter: the guest may restart its tick after it */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_guard_end(NOW, GUARD,
							 NOW + GUARD / 4 - 1),
			NOW + GUARD);
}

static void guard_end_hostile(struct kunit *test)
{
	u64 e;

	/* a guard that would wrap ends at the end of time, hints or not */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_guard_end(U64_MAX - 10, GUARD,
							 0),
			U64_MAX);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_guard_end(U64_MAX - 10, GUARD,
							 U64_MAX),
			U64_MAX);
	/* whatever the hint, the guard stays between a quarter and all */
	for (e = 0; e < 64; e++) {
		u64 hint = NOW - 4 * GUARD + e * GUARD / 8;
		u64 end = exitless_pvtimer_guard_end(NOW, GUARD, hint);

		KUNIT_EXPECT_GE(test, end, NOW + GUARD / 4);
		KUNIT_EXPECT_LE(test, end, NOW + GUARD);
	}
}

static void tick_after_grid(struct kunit *test)
{
	u64 j = 1000ULL * TICK_NS;	/* a jiffy, 4 s after boot */

	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_after(j - 1, TICK_NS), j);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_after(j - TICK_NS + 1,
							  TICK_NS), j);
	/* an event at a jiffy (the tick itself): the next one */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_after(j, TICK_NS),
			j + TICK_NS);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_after(0, TICK_NS),
			(u64)TICK_NS);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_after(j, 0), 0ULL);
}

static void tick_snap_rules(struct kunit *test)
{
	u64 d = NOW + MS;

	/* the hint a little later than the fresh deadline: the hint */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_snap(d, d + 5, US), d + 5);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_snap(d, d + US, US),
			d + US);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_snap(d, d, US), d);
	/* never earlier, and not far later */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_snap(d, d - 1, US), d);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_snap(d, d + US + 1, US), d);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_tick_snap(d, 0, US), d);
}

/*
 * The case the hint is for: a timer at t wakes the idle vCPU, whose tick
 * restarts at the next jiffy, 600 us later, inside a 1 ms guard.  Without
 * the hint that arm needs PVTIMER_SYNC; with it, the guard ends at the
 * jiffy and the arm is lazy, even if the fresh deadline came out a few
 * cycles before the hint.
 */
static void tick_hint_spares_sync(struct kunit *test)
{
	u64 t = NOW, tick = t + 600 * US, fresh = tick - 3;
	u64 end;

	end = exitless_pvtimer_guard_end(t, GUARD, 0);
	KUNIT_EXPECT_EQ(test, arm(fresh, end, false), SYNC);

	end = exitless_pvtimer_guard_end(t, GUARD, tick);
	KUNIT_EXPECT_EQ(test, end, tick);
	KUNIT_EXPECT_EQ(test, arm(fresh, end, false), SYNC);
	KUNIT_EXPECT_EQ(test, arm(exitless_pvtimer_tick_snap(fresh, tick, US),
				  end, false), LAZY);
}

/* --- the protocol, walked with these functions ---------------------------- */

struct sim {
	/* the section */
	struct exitless_pvtimer_section sec;
	/* the host's state */
	u64 seen_seq, armed, expires;
	bool fired, in_guest, injected;
	/* the guest's */
	u64 backstop;
	unsigned int syncs;
};

/* the host acts on the section it read (exit, SYNC or ENABLE) */
static void host_read(struct sim *s, bool force, u64 now)
{
	switch (exitless_pvtimer_host_decide(s->sec.deadline, s->sec.seq,
					     s->seen_seq, force, s->fired, now)) {
	case EXITLESS_PVTIMER_HOST_NONE:
		break;
	case EXITLESS_PVTIMER_HOST_CANCEL:
		s->armed = 0;
		break;
	case EXITLESS_PVTIMER_HOST_INJECT:
		s->armed = 0;
		s->injected = true;
		break;
	case EXITLESS_PVTIMER_HOST_ARM:
		s->armed = s->sec.deadline;
		s->expires = now + delay(s->sec.deadline, now,
							     TSC_KHZ) *
			     TSC_KHZ / NS_PER_MS;
		break;
	}
	s->seen_seq = s->sec.seq;
	s->fired = false;
}

static void vm_exit(struct sim *s, u64 now)
{
	s->in_guest = false;
	host_read(s, false, now);
}

/* entry: the host publishes what it knows */
static void vm_entry(struct sim *s)
{
	s->in_guest = true;
	s->sec.host_seq = s->seen_seq;
	s->sec.host_armed = s->armed;
}

/* the host timer expires; true if it injected at once */
static bool host_timer(struct sim *s, u64 now)
{
	if (!s->armed || now < s->expires)
		return false;
	s->armed = 0;
	if (s->in_guest) {
		s->fired = true;	/* kick: the exit decides */
		return false;
	}
	s->injected = true;
	return true;
}

/* the guest's set_next_event: section, then hypercall or not, backstop */
static enum exitless_pvtimer_arm guest_arm(struct kunit *test, struct sim *s,
					   u64 deadline, bool exit_follows,
					   u64 now)
{
	enum exitless_pvtimer_arm a;

	KUNIT_EXPECT_TRUE(test, s->in_guest);
	s->sec.deadline = deadline;
	s->sec.seq++;
	a = arm(deadline, s->sec.host_armed, exit_follows);
	if (a == EXITLESS_PVTIMER_ARM_SYNC) {
		s->syncs++;
		vm_exit(s, now);	/* PVTIMER_SYNC */
		vm_entry(s);
	}
	if (!covers(deadline, s->backstop))
		s->backstop = bfor(deadline, WINDOW);
	return a;
}

/* what the guest's handler reads: the host read the current deadline */
static bool host_knows(const struct sim *s)
{
	return s->sec.host_seq == s->sec.seq;
}

static bool take_injection(struct sim *s)
{
	bool was = s->injected;

	s->injected = false;
	return was;
}

static void protocol_walk(struct kunit *test)
{
	struct sim *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	u64 t = NOW, d1, d2, d3, d4;

	KUNIT_ASSERT_NOT_NULL(test, s);

	/* ENABLE on a zeroed section: nothing to do, nothing armed */
	KUNIT_EXPECT_EQ(test, enable(0xec, 0, 3, SIZE_PVT), 0L);
	host_read(s, true, t);
	KUNIT_EXPECT_EQ(test, s->armed, 0ULL);
	KUNIT_EXPECT_FALSE(test, take_injection(s));
	vm_entry(s);

	/* a running task arms 10 ms out: no host timer yet, so SYNC */
	d1 = t + 10 * MS;
	KUNIT_EXPECT_EQ(test, guest_arm(test, s, d1, false, t), SYNC);
	KUNIT_EXPECT_EQ(test, s->armed, d1);
	KUNIT_EXPECT_EQ(test, s->sec.host_armed, d1);
	KUNIT_EXPECT_EQ(test, s->sec.host_seq, s->sec.seq);
	KUNIT_EXPECT_EQ(test, s->expires, d1);
	KUNIT_EXPECT_TRUE(test, covers(d1, s->backstop));

	/* it moves the deadline 5 ms later: the host looks at d1 anyway */
	t += MS;
	d2 = d1 + 5 * MS;
	KUNIT_EXPECT_EQ(test, guest_arm(test, s, d2, false, t), LAZY);
	KUNIT_EXPECT_EQ(test, s->armed, d1);	/* the host does not know */
	KUNIT_EXPECT_NE(test, s->sec.host_seq, s->sec.seq);

	/* an unrelated exit: the host reads d2 and re-arms */
	t += MS;
	vm_exit(s, t);
	KUNIT_EXPECT_EQ(test, s->armed, d2);
	KUNIT_EXPECT_FALSE(test, take_injection(s));
	vm_entry(s);
	KUNIT_EXPECT_EQ(test, s->sec.host_armed, d2);

	/* lazily later again (d3), and the host timer for d2 fires in guest
	 * mode before any exit: kicked out, the host finds d3 and re-arms
	 */
	t += MS;
	d3 = d2 + 3 * MS;
	KUNIT_EXPECT_EQ(test, guest_arm(test, s, d3, false, t), LAZY);
	t = d2;
	KUNIT_EXPECT_FALSE(test, host_timer(s, t));
	KUNIT_EXPECT_TRUE(test, s->fired);
	vm_exit(s, t + US);
	KUNIT_EXPECT_FALSE(test, take_injection(s));	/* not early */
	KUNIT_EXPECT_EQ(test, s->armed, d3);
	vm_entry(s);

	/* d3's timer fires in guest mode, nothing moved: injected at the exit */
	t = d3;
	host_timer(s, t);
	vm_exit(s, t + US);
	KUNIT_EXPECT_TRUE(test, take_injection(s));
	vm_entry(s);
	KUNIT_EXPECT_EQ(test, s->sec.host_armed, 0ULL);
	/* the host never acts on that deadline again */
	vm_exit(s, t + 2 * US);
	KUNIT_EXPECT_FALSE(test, take_injection(s));
	vm_entry(s);

	/* the guest's handler: the host delivered, nothing missed */
	KUNIT_EXPECT_TRUE(test, host_knows(s));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(t + 2 * US, d3,
							      s->backstop,
							      host_knows(s)));

	/* the idle task arms 2 ms out and halts: lazy, the halt is an exit */
	t += 3 * US;
	d4 = t + 2 * MS;
	KUNIT_EXPECT_TRUE(test, exitless_pvtimer_exit_follows(true, true, false,
							      true));
	KUNIT_EXPECT_EQ(test, guest_arm(test, s, d4, true, t), LAZY);
	KUNIT_EXPECT_EQ(test, s->armed, 0ULL);
	vm_exit(s, t + US);	/* HLT */
	KUNIT_EXPECT_EQ(test, s->armed, d4);
	/* halted: the timer injects at once, which wakes the vCPU */
	t = d4;
	KUNIT_EXPECT_TRUE(test, host_timer(s, t));
	KUNIT_EXPECT_TRUE(test, take_injection(s));
	vm_entry(s);
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(t + US, d4,
							      s->backstop,
							      host_knows(s)));

	/* no next event: removed lazily, cancelled at the next exit */
	KUNIT_EXPECT_EQ(test, guest_arm(test, s, 0, false, t + US), LAZY);
	KUNIT_EXPECT_TRUE(test, covers(0, s->backstop));
	vm_exit(s, t + 2 * US);
	KUNIT_EXPECT_EQ(test, s->armed, 0ULL);
	KUNIT_EXPECT_FALSE(test, take_injection(s));
	vm_entry(s);

	/* a deadline already due when the SYNC arrives: injected there */
	t += MS;
	KUNIT_EXPECT_EQ(test, guest_arm(test, s, t - 1, false, t), SYNC);
	KUNIT_EXPECT_TRUE(test, take_injection(s));
	KUNIT_EXPECT_EQ(test, s->armed, 0ULL);

	/* only the deadlines no timer of the host covered needed a call */
	KUNIT_EXPECT_EQ(test, s->syncs, 2U);
}

/*
 * The host stops serving (module unloaded): the backstop finds out.  The
 * host had read the pending deadline, so the first backstop cannot tell
 * a gone host from a late one; the next deadline, which no host reads,
 * tells.
 */
static void protocol_host_gone(struct kunit *test)
{
	struct sim *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	u64 t = NOW, d, d2;

	KUNIT_ASSERT_NOT_NULL(test, s);
	host_read(s, true, t);
	vm_entry(s);
	d = t + MS;
	KUNIT_EXPECT_EQ(test, guest_arm(test, s, d, false, t), SYNC);

	/* the host is gone: its fields stay as they were, no timer runs */
	s->armed = 0;
	t = d;
	KUNIT_EXPECT_FALSE(test, host_timer(s, t));
	/* the guest's APIC timer fires at the backstop with d pending, but
	 * the host had read d (the SYNC): it may only be late, no miss yet
	 */
	KUNIT_EXPECT_EQ(test, s->backstop, d + WINDOW / 2);
	KUNIT_EXPECT_TRUE(test, host_knows(s));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(s->backstop - 1,
							      d, s->backstop,
							      host_knows(s)));
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(s->backstop, d,
							      s->backstop,
							      host_knows(s)));

	/* the backstop fired (a TSC deadline fires once); the handler ran
	 * d's timer and arms the next: lazy, the stale host_armed d covers
	 * it, and no host reads it
	 */
	t = s->backstop;
	s->backstop = 0;
	d2 = t + MS;
	KUNIT_EXPECT_EQ(test, guest_arm(test, s, d2, false, t), LAZY);
	KUNIT_EXPECT_FALSE(test, host_knows(s));
	KUNIT_EXPECT_EQ(test, s->backstop, d2 + WINDOW / 2);
	t = d2;
	KUNIT_EXPECT_FALSE(test, host_timer(s, t));
	/* its backstop finds d2 pending and never read: missed */
	KUNIT_EXPECT_FALSE(test, exitless_pvtimer_host_missed(s->backstop - 1,
							      d2, s->backstop,
							      host_knows(s)));
	KUNIT_EXPECT_TRUE(test, exitless_pvtimer_host_missed(s->backstop, d2,
							     s->backstop,
							     host_knows(s)));
}

/* An early host timer waits for the rest in quarters, at least 100 us. */
static void step_short_rest_at_once(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_step_ns(1), 1ULL);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_step_ns(100000), 100000ULL);
	/* a quarter would be shorter than the minimum step */
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_step_ns(300000), 100000ULL);
}

static void step_long_rest_in_quarters(struct kunit *test)
{
	u64 rest = 77000000, steps = 0;

	KUNIT_EXPECT_EQ(test, exitless_pvtimer_step_ns(77000000), 19250000ULL);
	KUNIT_EXPECT_EQ(test, exitless_pvtimer_step_ns(MAX_NS), MAX_NS / 4);
	/* with the clocks agreeing, 77 ms take 23 steps, never 0 */
	while (rest && steps < 100) {
		KUNIT_EXPECT_GT(test, exitless_pvtimer_step_ns(rest), 0ULL);
		rest -= exitless_pvtimer_step_ns(rest);
		steps++;
	}
	KUNIT_EXPECT_EQ(test, steps, 23ULL);
}

static struct kunit_case exitless_pvtimer_cases[] = {
	KUNIT_CASE(enable_section_layout),
	KUNIT_CASE(enable_accepts_valid),
	KUNIT_CASE(enable_vector_bounds),
	KUNIT_CASE(enable_flags),
	KUNIT_CASE(enable_backstop_window),
	KUNIT_CASE(enable_layout),
	KUNIT_CASE(enable_size),
	KUNIT_CASE(enable_check_order),
	KUNIT_CASE(decide_same_seq_is_none),
	KUNIT_CASE(decide_same_seq_fired_injects),
	KUNIT_CASE(decide_force),
	KUNIT_CASE(decide_new_seq),
	KUNIT_CASE(decide_race_new_deadline_wins),
	KUNIT_CASE(decide_capped_timer_rearms),
	KUNIT_CASE(step_short_rest_at_once),
	KUNIT_CASE(step_long_rest_in_quarters),
	KUNIT_CASE(delay_due_is_zero),
	KUNIT_CASE(delay_one_ms),
	KUNIT_CASE(delay_unknown_frequency),
	KUNIT_CASE(delay_hour_cap),
	KUNIT_CASE(delay_huge_deadlines),
	KUNIT_CASE(arm_disarm_is_lazy),
	KUNIT_CASE(arm_exit_follows_is_lazy),
	KUNIT_CASE(arm_against_host_timer),
	KUNIT_CASE(arm_cover_by_host_read),
	KUNIT_CASE(arm_cover_read_not_yet_published),
	KUNIT_CASE(arm_cover_beyond_memory),
	KUNIT_CASE(looks_by_poller),
	KUNIT_CASE(arm_with_poller),
	KUNIT_CASE(exit_follows_cases),
	KUNIT_CASE(backstop_covers_rules),
	KUNIT_CASE(backstop_early_check),
	KUNIT_CASE(backstop_for_values),
	KUNIT_CASE(backstop_for_end_of_time),
	KUNIT_CASE(backstop_rearm_rate),
	KUNIT_CASE(backstop_earlier_deadline_rearms),
	KUNIT_CASE(host_backstop_rules),
	KUNIT_CASE(host_backstop_rate),
	KUNIT_CASE(irq_suspect_rules),
	KUNIT_CASE(host_missed_rules),
	KUNIT_CASE(host_missed_host_knows),
	KUNIT_CASE(guard_end_without_hint),
	KUNIT_CASE(guard_end_at_hint),
	KUNIT_CASE(guard_end_hostile),
	KUNIT_CASE(tick_after_grid),
	KUNIT_CASE(tick_snap_rules),
	KUNIT_CASE(tick_hint_spares_sync),
	KUNIT_CASE(protocol_walk),
	KUNIT_CASE(protocol_host_gone),
	{}
};

static struct kunit_suite exitless_pvtimer_suite = {
	.name = "exitless_pvtimer",
	.test_cases = exitless_pvtimer_cases,
};

kunit_test_suite(exitless_pvtimer_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for the exitless pvtimer policy");
MODULE_INFO(test, "Y");
