// SPDX-License-Identifier: GPL-2.0
/*
 * pvtimer policy (see policy.h): the host's decision on a read section,
 * the guest's lazy-or-sync decision and the backstop rules, as pure
 * functions.
 */
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/math64.h>

#include "uapi/exitless.h"
#include "policy.h"

long exitless_pvtimer_check_enable(u64 vector, u64 flags, u64 window,
				   u32 tsc_khz, u32 layout, u32 size)
{
	if (vector < EXITLESS_PVTIMER_VECTOR_MIN || vector > 255)
		return -EXITLESS_EINVAL;
	if (flags & ~(EXITLESS_PVTIMER_ENABLE_BACKSTOP |
		      EXITLESS_PVTIMER_ENABLE_POLL))
		return -EXITLESS_EINVAL;
	if (!(flags & EXITLESS_PVTIMER_ENABLE_BACKSTOP) && window)
		return -EXITLESS_EINVAL;
	/*
	 * 1 ms .. 10 s of this vCPU's TSC (tsc_khz: cycles per ms), with
	 * 1/64 to spare for the guest's own calibration of the TSC rate
	 */
	if ((flags & EXITLESS_PVTIMER_ENABLE_BACKSTOP) &&
	    (!tsc_khz || window < tsc_khz - tsc_khz / 64 ||
	     window > (u64)(tsc_khz + tsc_khz / 64) *
		      EXITLESS_PVTIMER_BACKSTOP_MAX_MS))
		return -EXITLESS_EINVAL;
	if (layout < 3 || size < EXITLESS_AREA_SIZE_PVTIMER)
		return -EXITLESS_EINVAL;
	return 0;
}

enum exitless_pvtimer_host_act
exitless_pvtimer_host_decide(u64 deadline, u64 seq, u64 seen_seq, bool force,
			     bool fired, u64 guest_now)
{
	if (seq == seen_seq && !force) {
		if (!fired || !deadline)
			return EXITLESS_PVTIMER_HOST_NONE;
		/* a capped or early host timer: not due yet, wait again */
		return deadline <= guest_now ? EXITLESS_PVTIMER_HOST_INJECT :
					       EXITLESS_PVTIMER_HOST_ARM;
	}
	if (!deadline)
		return EXITLESS_PVTIMER_HOST_CANCEL;
	if (deadline <= guest_now)
		return EXITLESS_PVTIMER_HOST_INJECT;
	return EXITLESS_PVTIMER_HOST_ARM;
}

u64 exitless_pvtimer_delay_ns(u64 deadline, u64 guest_now, u32 tsc_khz)
{
	u64 cycles, max_cycles;

	if (deadline <= guest_now)
		return 0;
	if (!tsc_khz)
		return EXITLESS_PVTIMER_MAX_NS;
	cycles = deadline - guest_now;
	/* EXITLESS_PVTIMER_MAX_NS in cycles, without overflow */
	max_cycles = mul_u64_u32_div(EXITLESS_PVTIMER_MAX_NS / 1000000,
				     tsc_khz, 1);
	if (cycles >= max_cycles)
		return EXITLESS_PVTIMER_MAX_NS;
	return mul_u64_u32_div(cycles, 1000000, tsc_khz);
}

u64 exitless_pvtimer_step_ns(u64 remaining_ns)
{
	if (remaining_ns <= EXITLESS_PVTIMER_STEP_MIN_NS)
		return remaining_ns;
	return max_t(u64, remaining_ns / 4, EXITLESS_PVTIMER_STEP_MIN_NS);
}

u64 exitless_pvtimer_guard_end(u64 now, u64 guard, u64 tick_hint)
{
	u64 end = now + guard < now ? U64_MAX : now + guard;

	if (tick_hint > now && tick_hint < end && tick_hint - now >= guard / 4)
		return tick_hint;
	return end;
}

u64 exitless_pvtimer_tick_after(u64 event_ns, u32 tick_ns)
{
	u32 rem;

	if (!tick_ns)
		return 0;
	div_u64_rem(event_ns, tick_ns, &rem);
	return event_ns - rem + tick_ns;
}

u64 exitless_pvtimer_tick_snap(u64 deadline, u64 tick_hint, u64 slack)
{
	if (tick_hint >= deadline && tick_hint - deadline <= slack)
		return tick_hint;
	return deadline;
}

u64 exitless_pvtimer_host_looks_by(u64 host_armed, u64 poll, u64 now)
{
	u64 by;

	if (!poll)
		return host_armed;
	by = now + poll < now ? U64_MAX : now + poll;
	return host_armed && host_armed < by ? host_armed : by;
}

enum exitless_pvtimer_arm
exitless_pvtimer_arm_action(u64 deadline, u64 host_armed, bool exit_follows)
{
	if (!deadline || exit_follows)
		return EXITLESS_PVTIMER_ARM_LAZY;
	if (host_armed && host_armed <= deadline)
		return EXITLESS_PVTIMER_ARM_LAZY;
	return EXITLESS_PVTIMER_ARM_SYNC;
}

bool exitless_pvtimer_uncovered(u64 deadline,
				const struct exitless_pvtimer_written *written,
				u64 seq, u64 host_seq)
{
	u64 s;

	if (!deadline || host_seq >= seq)
		return false;
	/* the fresh section, or reads older than the guest remembers */
	if (!host_seq || seq - host_seq >= EXITLESS_PVTIMER_WRITTEN)
		return true;
	for (s = host_seq; s < seq; s++) {
		const struct exitless_pvtimer_written *w =
			&written[s % EXITLESS_PVTIMER_WRITTEN];

		if (w->seq != s || !w->deadline || deadline < w->deadline)
			return true;
	}
	return false;
}

bool exitless_pvtimer_exit_follows(bool idle_task, bool halting_idle,
				   bool in_irq, bool task_running)
{
	if (idle_task)
		return halting_idle;
	if (in_irq)
		return false;
	return !task_running;
}

bool exitless_pvtimer_backstop_covers(u64 deadline, u64 backstop, u64 margin,
				      u64 window, bool early_ok)
{
	if (!deadline)
		return true;
	if (!backstop)
		return false;
	if (backstop < deadline)
		return early_ok;
	/* at the deadline itself: a race with the host's own delivery */
	if (backstop == deadline)
		return false;
	return backstop - deadline >= margin && backstop - deadline <= window;
}

u64 exitless_pvtimer_backstop_for(u64 deadline, u64 window)
{
	u64 half = window / 2;

	/* a deadline near the end of time gets the last representable one */
	return deadline > U64_MAX - half ? U64_MAX : deadline + half;
}

u64 exitless_pvtimer_host_backstop(u64 deadline, u64 backstop, u64 window,
				   u64 guest_now)
{
	u64 from;

	if (!deadline || !window)
		return 0;
	/* a deadline already due: the window counts from now */
	from = max(deadline, guest_now);
	if (exitless_pvtimer_backstop_covers(from, backstop, window / 8,
					     window, false))
		return backstop;
	return exitless_pvtimer_backstop_for(from, window);
}

bool exitless_pvtimer_irq_suspect(u64 now, u64 deadline, u64 margin,
				  bool host_knows)
{
	if (!deadline)
		return false;
	if (!host_knows || now < deadline)
		return true;
	return now - deadline >= margin;
}

bool exitless_pvtimer_host_missed(u64 now, u64 deadline, u64 backstop,
				  bool host_knows)
{
	return deadline && backstop && now >= backstop && now >= deadline &&
	       !host_knows;
}
