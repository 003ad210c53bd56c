// SPDX-License-Identifier: GPL-2.0
/*
 * pvtimer, guest half: a per-CPU clock event device, "exitless-pvtimer",
 * that arms timers by writing the deadline into this vCPU's pvtimer
 * section instead of the TSC_DEADLINE MSR (Documentation/pvtimer.rst).
 *
 * Arming (set_next_event): the TSC deadline goes to the section (deadline,
 * then seq + 1).  The host reads the section at every VM exit, so no
 * hypercall is needed when an exit surely comes first: the idle task
 * halts (a VM exit) or leaves idle through a context switch, a task that
 * set itself to sleep switches out next, and a host timer that expires no
 * later than the new deadline makes the host look again.  A deadline
 * armed that way and still unknown to the host when this CPU switches to
 * another task, or to an idle task whose idle loop polls without a bound
 * (another cpuidle driver, haltpoll say), is settled there (a probe on
 * sched_switch); otherwise the device makes a PVTIMER_SYNC hypercall
 * (policy.h has the rules).
 *
 * Expiry: the host injects X86_PLATFORM_IPI_VECTOR, the vector the kernel
 * reserves for platform timer interrupts (UV and NumaChip clock event
 * devices use it; a KVM guest has no other user).  Its handler acks the
 * APIC and fires the x86_platform_ipi_entry tracepoint, where a probe of
 * this module runs the device's event handler (a module cannot install
 * an IDT entry or set x86_platform_ipi_callback, which is not exported).
 *
 * Backstop and fallback: the local APIC timer of the CPU, in TSC-deadline
 * mode on the same vector, stays armed a little after the deadline
 * (pvtimer_backstop_ms); it is moved only when it stops covering the
 * deadline.  If it fires with the deadline still pending, or a SYNC fails,
 * the host is not serving this vCPU any more: the device arms the APIC
 * timer itself from then on (one MSR write per timer, as lapic-deadline
 * does), and the re-probe either finds the host again (PVTIMER_ENABLE,
 * back to memory) or not (every CPU back to lapic-deadline).
 *
 * A host that offers it keeps that backstop itself (ENABLE with
 * EXITLESS_PVTIMER_ENABLE_BACKSTOP): it writes the vCPU's TSC deadline
 * at the exits where it reads the section, so the guest writes no MSR
 * while the host serves it.  The guest then cannot tell the backstop's
 * expiry from the host's injection, so an expiry that is early, late by
 * 1/8 of the window, or for a deadline the host never read is checked
 * with a PVTIMER_SYNC, whose failure is the fallback above.  That
 * backstop follows the deadline the host read last: a deadline armed
 * lazily and earlier than it (or after none) has nothing behind it until
 * the host reads again.  The periodic re-probe bounds that case; with
 * the re-probe off (probe_interval_ms 0), such an arm makes a PVTIMER_SYNC
 * (cover_syncs), for which each CPU remembers its last writes.
 *
 * The device has no .owner: the tick code would hold a reference on this
 * module for as long as it is the tick device, and rmmod could never
 * reach the exit path that unbinds it (exitless_pvtimer_set(false)).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/clockchips.h>
#include <linux/cpuidle.h>
#include <linux/irq_work.h>
#include <linux/jiffies.h>
#include <linux/kvm_para.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/sysfs.h>
#include <linux/tracepoint.h>
#include <asm/apic.h>
#include <asm/apicdef.h>
#include <asm/hpet.h>
#include <asm/irq_vectors.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/tsc.h>

#include "guest/guest.h"
#include "guest/hypercall.h"
#include "dynidle/guest.h"
#include "policy.h"
#include "guest.h"

#define EXITLESS_PVTIMER_VECTOR		X86_PLATFORM_IPI_VECTOR
/* TSC cycles per device tick, as lapic-deadline uses (TSC_DIVISOR) */
#define EXITLESS_PVTIMER_TSC_DIV	8
#define EXITLESS_PVTIMER_RATING		200	/* lapic-deadline: 100, 150 with ARAT */

/**
 * struct exitless_pvtimer_cpu - one CPU's device and protocol state
 * @ced: the clock event device
 * @sec: this CPU's pvtimer section (NULL: not registered with layout 3)
 * @seq: the last seq written
 * @written: the last EXITLESS_PVTIMER_WRITTEN deadlines written, at
 *	[seq % EXITLESS_PVTIMER_WRITTEN]: which ones the host may have read
 * @deadline: the last deadline armed (TSC), 0 = none
 * @backstop: the APIC TSC deadline armed, 0 = none
 * @bound: @ced is registered with the clockevents core
 * @direct: the host does not serve this CPU: arm the APIC timer directly
 * @host_backstop: the host keeps the APIC backstop armed (ENABLE with
 *	EXITLESS_PVTIMER_ENABLE_BACKSTOP): this CPU writes none
 * @host_window: the backstop window given to the host at that ENABLE (TSC
 *	cycles): the host's, whatever pvtimer_backstop_ms says since
 * @lazy: @deadline went to memory only, counting on an exit that has not
 *	come yet (settled at the next switch to another task)
 * @host_poll: the host's poller reads the section within this many TSC
 *	cycles (PVTIMER_ENABLE's RBX), 0 = no poller
 * @arms: deadlines armed
 * @lazy_arms: ... without a hypercall
 * @syncs: PVTIMER_SYNC made
 * @settles: ... of them at a context switch
 * @poll_syncs: ... of them for a lazy deadline found due in dynidle's poll
 * @backstops: APIC backstop (re)arms
 * @checks: PVTIMER_SYNC made to check an expiry (host_backstop)
 * @cover_syncs: PVTIMER_SYNC made for a deadline that would have been lazy
 *	but that the host's backstop does not cover (exitless_pvtimer_uncovered())
 * @irqs: expiry interrupts handled
 * @fallbacks: times the host was found not serving (direct mode)
 * @direct_arms: deadlines armed in direct mode
 * @tick_ns: the tick's next jiffy after @deadline (CLOCK_MONOTONIC ns),
 *	0 = none yet
 * @tick_tsc: ... its TSC, given to the host as tick_hint with @deadline
 * @tick_arms: deadlines armed for the jiffy given as the hint before
 */
struct exitless_pvtimer_cpu {
	struct clock_event_device ced;
	struct exitless_pvtimer_section *sec;
	u64 seq;
	struct exitless_pvtimer_written written[EXITLESS_PVTIMER_WRITTEN];
	u64 deadline;
	u64 backstop;
	bool bound;
	bool direct;
	bool host_backstop;
	bool lazy;
	u64 host_window;
	u64 host_poll;
	u64 arms;
	u64 lazy_arms;
	u64 syncs;
	u64 settles;
	u64 poll_syncs;
	u64 backstops;
	u64 checks;
	u64 cover_syncs;
	u64 irqs;
	u64 fallbacks;
	u64 direct_arms;
	u64 tick_ns;
	u64 tick_tsc;
	u64 tick_arms;
};

static DEFINE_PER_CPU(struct exitless_pvtimer_cpu, exitless_pvtimer_cpu);

static struct tracepoint *exitless_pvtimer_irq_tp;
static struct tracepoint *exitless_pvtimer_switch_tp;
static bool exitless_pvtimer_probes;
static bool exitless_pvtimer_capable;
static bool exitless_pvtimer_on;	/* set(true) ran; under the guest lock */
/*
 * PVTIMER_ENABLE answered EOPNOTSUPP: the host serves no pvtimer to this
 * VM (its HLT or MWAIT does not exit, or it has no in-kernel local APIC
 * or TSC rate), so the re-probe does not ask again; set(true) does.
 */
static bool exitless_pvtimer_refused;

static bool pvtimer = true;
static bool pvtimer_poll = true;
static unsigned int pvtimer_backstop_ms = 100;

/* The window the backstop must fire in after a deadline, in TSC cycles. */
static u64 exitless_pvtimer_window(void)
{
	unsigned int ms = clamp_val(READ_ONCE(pvtimer_backstop_ms), 1, 10000);

	return (u64)ms * tsc_khz;
}

static void exitless_pvtimer_msr_deadline(u64 tsc)
{
	wrmsrl(MSR_IA32_TSC_DEADLINE, tsc);
}

/*
 * Keep the APIC backstop covering @deadline; an MSR write if it must move.
 * A backstop before the deadline will do unless this CPU goes idle with
 * nothing to run (it would wake for nothing); see backstop_covers().
 */
static void exitless_pvtimer_backstop(struct exitless_pvtimer_cpu *pc,
				      u64 deadline)
{
	u64 window = exitless_pvtimer_window();
	bool early_ok = !is_idle_task(current) || need_resched();

	/* the host keeps it; a parked device's APIC timer is the deadline */
	if (pc->host_backstop || pc->direct)
		return;
	if (exitless_pvtimer_backstop_covers(deadline, pc->backstop,
					     window / 8, window, early_ok))
		return;
	pc->backstop = exitless_pvtimer_backstop_for(deadline, window);
	exitless_pvtimer_msr_deadline(pc->backstop);
	pc->backstops++;
}

/*
 * The re-probe is queued from an irq_work: a fallback can happen in the
 * scheduler (sched_switch, hrtick) with a runqueue lock held, where
 * queueing work, which may wake a worker, would deadlock.
 */
static void exitless_pvtimer_kick_fn(struct irq_work *work)
{
	exitless_guest_kick_probe();
}

static DEFINE_IRQ_WORK(exitless_pvtimer_kick, exitless_pvtimer_kick_fn);

/* The host stopped serving this CPU: the APIC timer takes the deadline. */
static void exitless_pvtimer_fallback(struct exitless_pvtimer_cpu *pc)
{
	pc->direct = true;
	pc->lazy = false;
	pc->host_backstop = false;
	pc->fallbacks++;
	pc->backstop = 0;
	exitless_pvtimer_msr_deadline(pc->deadline);
	irq_work_queue(&exitless_pvtimer_kick);
}

static void exitless_pvtimer_sync(struct exitless_pvtimer_cpu *pc)
{
	long ret;

	pc->syncs++;
	ret = exitless_hypercall(EXITLESS_HC_PVTIMER_SYNC, 0, 0, 0, 0, NULL);
	if (ret)
		exitless_pvtimer_fallback(pc);
}

/* This CPU's idle loop halts, or polls no further than a known deadline. */
static bool exitless_pvtimer_halting_idle(void)
{
	struct cpuidle_driver *drv;

	if (boot_option_idle_override == IDLE_POLL)
		return false;
	drv = cpuidle_get_driver();
	return !drv || exitless_dynidle_is_driver(drv);
}

static void exitless_pvtimer_write(struct exitless_pvtimer_cpu *pc,
				   u64 deadline)
{
	struct exitless_pvtimer_section *sec = pc->sec;

	pc->deadline = deadline;
	WRITE_ONCE(sec->deadline, deadline);
	WRITE_ONCE(sec->tick_hint, deadline ? pc->tick_tsc : 0);
	/* the host's poller may read both while this vCPU runs */
	smp_wmb();
	WRITE_ONCE(sec->seq, ++pc->seq);
	pc->written[pc->seq % EXITLESS_PVTIMER_WRITTEN] =
		(struct exitless_pvtimer_written){ pc->seq, deadline };
}

/*
 * With the host's backstop and no periodic re-probe: would a lazy arm of
 * @deadline have no APIC timer behind it, should the host be gone?  (The
 * re-probe bounds that case otherwise: see "Liveness" in pvtimer.rst.)
 */
static bool exitless_pvtimer_host_uncovers(struct exitless_pvtimer_cpu *pc,
					   u64 deadline)
{
	if (!pc->host_backstop || exitless_guest_reprobes())
		return false;
	return exitless_pvtimer_uncovered(deadline, pc->written, pc->seq,
					  READ_ONCE(pc->sec->host_seq));
}

/* When the host reads the section again without a call, 0 = at an exit. */
static u64 exitless_pvtimer_looks_by(struct exitless_pvtimer_cpu *pc)
{
	return exitless_pvtimer_host_looks_by(READ_ONCE(pc->sec->host_armed),
					      pc->host_poll, rdtsc());
}

/* Arm @deadline (TSC, 0 = none) on this CPU; interrupts are off. */
static void exitless_pvtimer_arm(struct exitless_pvtimer_cpu *pc, u64 deadline)
{
	bool follows;

	pc->arms++;
	if (pc->direct || !pc->sec) {
		pc->deadline = deadline;
		pc->direct_arms++;
		exitless_pvtimer_msr_deadline(deadline);
		return;
	}
	exitless_pvtimer_write(pc, deadline);
	exitless_pvtimer_backstop(pc, deadline);
	follows = exitless_pvtimer_exit_follows(is_idle_task(current),
						exitless_pvtimer_halting_idle(),
						in_interrupt(),
						task_is_running(current));
	if (exitless_pvtimer_arm_action(deadline, exitless_pvtimer_looks_by(pc),
					follows) == EXITLESS_PVTIMER_ARM_LAZY) {
		if (!exitless_pvtimer_host_uncovers(pc, deadline)) {
			pc->lazy_arms++;
			pc->lazy = follows && deadline;
			return;
		}
		/* nothing would fire for it if the host were gone */
		pc->cover_syncs++;
	}
	pc->lazy = false;
	exitless_pvtimer_sync(pc);
}

/*
 * The tick hint.  With each deadline the section carries tick_hint, the
 * TSC of the tick's next jiffy after it: when the deadline's interrupt
 * wakes an idle CPU, the tick restarts there, and the host may end the
 * guard after its injection at that jiffy (policy.h), so that the tick's
 * arm is lazy.  For that the arm must not come out earlier than the hint:
 * an event at the hinted jiffy is armed at the hinted TSC value itself,
 * which is computed once per jiffy (a fresh conversion of the same
 * CLOCK_MONOTONIC time may differ by a few cycles).  @event_ns is the
 * event's time (the clock event core's next_event), @deadline its TSC as
 * converted from the delta; returns the deadline to arm.
 */
static u64 exitless_pvtimer_tick(struct exitless_pvtimer_cpu *pc,
				 u64 event_ns, u64 deadline)
{
	u64 next = exitless_pvtimer_tick_after(event_ns, TICK_NSEC);

	if (pc->tick_ns && event_ns == pc->tick_ns) {
		pc->tick_arms++;
		/* a fresh conversion within 10 us of the hint */
		deadline = exitless_pvtimer_tick_snap(deadline, pc->tick_tsc,
						      tsc_khz / 100);
	}
	if (next != pc->tick_ns) {
		pc->tick_ns = next;
		pc->tick_tsc = deadline +
			       mul_u64_u32_div(next - event_ns, tsc_khz,
					       NSEC_PER_MSEC);
	}
	return deadline;
}

static int exitless_pvtimer_next_event(unsigned long delta,
				       struct clock_event_device *ced)
{
	struct exitless_pvtimer_cpu *pc = this_cpu_ptr(&exitless_pvtimer_cpu);
	u64 deadline = rdtsc() + (u64)delta * EXITLESS_PVTIMER_TSC_DIV;

	exitless_pvtimer_arm(pc, exitless_pvtimer_tick(pc,
						       ktime_to_ns(ced->next_event),
						       deadline));
	return 0;
}

/*
 * Program the APIC timer: TSC-deadline mode, this device's vector.  An
 * x2APIC register is an MSR (apic_write() is a static call 6.12 does not
 * export to modules); x2APIC mode is checked at init.
 */
static void exitless_pvtimer_lvtt(void)
{
	wrmsrl(APIC_BASE_MSR + (APIC_LVTT >> 4),
	       APIC_LVT_TIMER_TSCDEADLINE | EXITLESS_PVTIMER_VECTOR);
}

static int exitless_pvtimer_set_oneshot(struct clock_event_device *ced)
{
	exitless_pvtimer_lvtt();
	return 0;
}

/* Nothing pending: tell the host lazily (an early expiry is harmless). */
static int exitless_pvtimer_oneshot_stopped(struct clock_event_device *ced)
{
	exitless_pvtimer_arm(this_cpu_ptr(&exitless_pvtimer_cpu), 0);
	return 0;
}

static int exitless_pvtimer_shutdown(struct clock_event_device *ced)
{
	struct exitless_pvtimer_cpu *pc = this_cpu_ptr(&exitless_pvtimer_cpu);

	if (pc->sec && !pc->direct)
		exitless_pvtimer_write(pc, 0);
	pc->deadline = 0;
	pc->backstop = 0;
	pc->lazy = false;
	/* the host's backstop goes when it reads the 0 (a stray one is harmless) */
	if (!pc->host_backstop || pc->direct || !pc->sec)
		exitless_pvtimer_msr_deadline(0);
	return 0;
}

/* x86_platform_ipi_entry: TP_PROTO(int vector); hard irq, APIC acked. */
static void exitless_pvtimer_irq(void *data, int vector)
{
	struct exitless_pvtimer_cpu *pc = this_cpu_ptr(&exitless_pvtimer_cpu);
	u64 now;

	if (!pc->bound || !pc->ced.event_handler)
		return;
	now = rdtsc();
	if (!pc->direct && pc->sec) {
		bool host_knows = READ_ONCE(pc->sec->host_seq) == pc->seq;

		if (!pc->host_backstop) {
			if (exitless_pvtimer_host_missed(now, pc->deadline,
							 pc->backstop,
							 host_knows))
				exitless_pvtimer_fallback(pc);
		} else if (exitless_pvtimer_irq_suspect(now, pc->deadline,
							pc->host_window / 8,
							host_knows)) {
			/* the host's injection, or the backstop of a host gone? */
			pc->checks++;
			exitless_pvtimer_sync(pc);
		}
	}
	if (pc->backstop && now >= pc->backstop)
		pc->backstop = 0;	/* a TSC deadline fires once */
	pc->irqs++;
	pc->ced.event_handler(&pc->ced);
}

/*
 * sched_switch: settle a lazily armed deadline before other work runs,
 * or before an idle loop that may poll past it without an exit.
 */
static void exitless_pvtimer_switch(void *data, bool preempt,
				    struct task_struct *prev,
				    struct task_struct *next,
				    unsigned int prev_state)
{
	struct exitless_pvtimer_cpu *pc = this_cpu_ptr(&exitless_pvtimer_cpu);

	if (!pc->lazy ||
	    (is_idle_task(next) && exitless_pvtimer_halting_idle()))
		return;
	pc->lazy = false;
	if (pc->direct || !pc->sec || !pc->deadline)
		return;
	/* the host read the current deadline already (at a halt, say) */
	if (READ_ONCE(pc->sec->host_seq) == pc->seq)
		return;
	if (exitless_pvtimer_arm_action(pc->deadline,
					exitless_pvtimer_looks_by(pc),
					false) == EXITLESS_PVTIMER_ARM_LAZY)
		return;
	pc->settles++;
	exitless_pvtimer_sync(pc);
}

/* The device has the host serve it: bound, not parked, a section. */
static bool exitless_pvtimer_served(struct exitless_pvtimer_cpu *pc)
{
	return pc->bound && !pc->direct && pc->sec;
}

/* This CPU's deadline is due, and the host serves the device. */
static bool exitless_pvtimer_due_now(struct exitless_pvtimer_cpu *pc)
{
	return exitless_pvtimer_served(pc) && pc->deadline &&
	       rdtsc() >= pc->deadline;
}

/*
 * Only for a device the host serves: a parked one arms the APIC timer
 * itself, and exitless_pvtimer_poll_sync() would make no call, so the
 * poll would ask again and again.
 */
bool exitless_pvtimer_poll_due(void)
{
	struct exitless_pvtimer_cpu *pc = this_cpu_ptr(&exitless_pvtimer_cpu);

	return pc->lazy && exitless_pvtimer_due_now(pc);
}

enum exitless_pvtimer_due exitless_pvtimer_due(void)
{
	struct exitless_pvtimer_cpu *pc = this_cpu_ptr(&exitless_pvtimer_cpu);

	lockdep_assert_irqs_disabled();
	if (!exitless_pvtimer_due_now(pc))
		return EXITLESS_PVTIMER_DUE_NONE;
	return pc->lazy ? EXITLESS_PVTIMER_DUE_LAZY : EXITLESS_PVTIMER_DUE_HOST;
}

u64 exitless_pvtimer_irq_count(void)
{
	return this_cpu_read(exitless_pvtimer_cpu.irqs);
}

/*
 * A lazily armed deadline is due while dynidle polls: have the host read
 * it now, with a PVTIMER_SYNC made with interrupts on, so that the vector
 * the host injects for it comes at the hypercall's return.  The caller
 * keeps polling meanwhile: a waker sees it and sends no IPI, where a halt
 * (the other exit that tells the host) would make every waker send one.
 */
void exitless_pvtimer_poll_sync(void)
{
	struct exitless_pvtimer_cpu *pc;
	unsigned long flags;
	long ret;

	lockdep_assert_irqs_enabled();
	local_irq_save(flags);
	pc = this_cpu_ptr(&exitless_pvtimer_cpu);
	if (!pc->lazy || !exitless_pvtimer_served(pc)) {
		local_irq_restore(flags);
		return;
	}
	pc->lazy = false;
	pc->syncs++;
	pc->poll_syncs++;
	ret = exitless_hypercall_irqs_on(EXITLESS_HC_PVTIMER_SYNC, 0, 0, 0, 0);
	/*
	 * The vector, and any other interrupt, may have come meanwhile, even
	 * the IPI that unbinds this device: its shutdown ran and
	 * lapic-deadline armed the APIC timer, which a fallback would
	 * overwrite.  Fall back only while this device still has the tick.
	 */
	if (ret && exitless_pvtimer_served(pc) &&
	    !clockevent_state_shutdown(&pc->ced) &&
	    !clockevent_state_detached(&pc->ced))
		exitless_pvtimer_fallback(pc);
	local_irq_restore(flags);
}

void exitless_pvtimer_learn_section(unsigned int cpu,
				    struct exitless_pvtimer_section *sec)
{
	struct exitless_pvtimer_cpu *pc = per_cpu_ptr(&exitless_pvtimer_cpu, cpu);
	unsigned long flags;

	/* the device may arm on this CPU: change the section with irqs off */
	local_irq_save(flags);
	pc->sec = sec;
	if (!sec && pc->bound && !pc->direct) {
		pc->direct = true;
		pc->lazy = false;
		pc->host_backstop = false;
		exitless_pvtimer_msr_deadline(pc->deadline);
	}
	local_irq_restore(flags);
}

/* On the CPU itself, interrupts off: have the host serve it, then bind. */
static void exitless_pvtimer_enable_fn(void *unused)
{
	struct exitless_pvtimer_cpu *pc = this_cpu_ptr(&exitless_pvtimer_cpu);
	struct clock_event_device *ced = &pc->ced;
	struct exitless_hc_out out = {};
	long ret = -EXITLESS_ENOENT;

	/*
	 * The host keeps the backstop if it can (one without: EINVAL); its
	 * poller, from ABI version 2 (a version-1 host refuses the flag and
	 * leaves a0 in RBX), if pvtimer_poll allows.
	 */
	pc->host_poll = 0;
	if (pc->sec) {
		bool v2 = READ_ONCE(exitless_guest.host_version) >= 2;
		u64 poll = v2 && READ_ONCE(pvtimer_poll) ?
			   EXITLESS_PVTIMER_ENABLE_POLL : 0;

		pc->host_window = exitless_pvtimer_window();
		ret = exitless_hypercall(EXITLESS_HC_PVTIMER_ENABLE,
					 EXITLESS_PVTIMER_VECTOR,
					 EXITLESS_PVTIMER_ENABLE_BACKSTOP | poll,
					 pc->host_window, 0, &out);
		pc->host_backstop = !ret;
		if (ret == -EXITLESS_EINVAL)
			ret = exitless_hypercall(EXITLESS_HC_PVTIMER_ENABLE,
						 EXITLESS_PVTIMER_VECTOR, poll,
						 0, 0, &out);
		if (!ret && v2)
			pc->host_poll = out.rbx;
	}
	if (ret) {
		if (pc->bound && !pc->direct) {
			pc->direct = true;
			pc->lazy = false;
			exitless_pvtimer_msr_deadline(pc->deadline);
		}
		if (ret == -KVM_ENOSYS)
			/* the host left after the PROBE: the re-probe sees it */
			irq_work_queue(&exitless_pvtimer_kick);
		else if (ret == -EXITLESS_EOPNOTSUPP)
			WRITE_ONCE(exitless_pvtimer_refused, true);
		else if (ret != -EXITLESS_ENOENT || pc->sec)
			pr_warn_ratelimited("CPU%u: PVTIMER_ENABLE failed: %ld\n",
					    smp_processor_id(), ret);
		return;
	}
	if (pc->bound) {
		/* back from direct mode, or a new host: give it the deadline */
		pc->direct = false;
		pc->backstop = 0;
		pc->lazy = false;
		exitless_pvtimer_write(pc, pc->deadline);
		exitless_pvtimer_backstop(pc, pc->deadline);
		if (pc->deadline)
			exitless_pvtimer_sync(pc);
		return;
	}
	memset(ced, 0, sizeof(*ced));
	ced->name = "exitless-pvtimer";
	ced->features = CLOCK_EVT_FEAT_ONESHOT | CLOCK_EVT_FEAT_PERCPU;
	ced->rating = EXITLESS_PVTIMER_RATING;
	ced->cpumask = cpumask_of(smp_processor_id());
	ced->irq = -1;
	ced->set_next_event = exitless_pvtimer_next_event;
	ced->set_state_oneshot = exitless_pvtimer_set_oneshot;
	ced->set_state_oneshot_stopped = exitless_pvtimer_oneshot_stopped;
	ced->set_state_shutdown = exitless_pvtimer_shutdown;
	pc->direct = false;
	pc->deadline = 0;
	pc->backstop = 0;
	pc->lazy = false;
	pc->tick_ns = 0;
	pc->tick_tsc = 0;
	pc->bound = true;
	clockevents_config_and_register(ced, tsc_khz * (1000 / EXITLESS_PVTIMER_TSC_DIV),
					0xF, ~0UL);
	/*
	 * The lapic-deadline device this one replaced went back to the
	 * clockevents core, which may have made it the broadcast device
	 * (it outranks the HPET) and shut it down: that masked this CPU's
	 * APIC timer, which the backstop needs.  Program it again.
	 */
	exitless_pvtimer_lvtt();
	pc->backstop = 0;
	exitless_pvtimer_backstop(pc, pc->deadline);
}

static void exitless_pvtimer_disable_fn(void *unused)
{
	struct exitless_pvtimer_cpu *pc = this_cpu_ptr(&exitless_pvtimer_cpu);

	if (pc->sec)
		exitless_hypercall(EXITLESS_HC_PVTIMER_DISABLE, 0, 0, 0, 0, NULL);
	pc->direct = false;
	pc->lazy = false;
}

/*
 * When a device of ours replaced lapic-deadline on the first CPU, the
 * clockevents core made that CPU's local APIC timer its broadcast device
 * (see exitless_pvtimer_set()).  Unload gives each CPU's tick to the best
 * free device that covers it: on that CPU only the HPET can be one.  A
 * guest without the HPET's legacy clock event (QEMU's -machine hpet=off,
 * microVMs) has none, so clockevents_unbind_device() would fail there and
 * unload would free a device the CPU still ticks on.  Such a guest keeps
 * the module instead: it takes a reference on itself, once, and rmmod
 * answers that it is in use.  pvtimer=0 still parks every device (it
 * then arms the local APIC timer itself, as lapic-deadline does).
 */
static unsigned long exitless_pvtimer_pinned;

static void exitless_pvtimer_cpu_on(unsigned int cpu)
{
	smp_call_function_single(cpu, exitless_pvtimer_enable_fn, NULL, 1);
	if (!READ_ONCE(per_cpu_ptr(&exitless_pvtimer_cpu, cpu)->bound) ||
	    is_hpet_enabled() || test_and_set_bit(0, &exitless_pvtimer_pinned))
		return;
	__module_get(THIS_MODULE);
	pr_notice("no HPET clock event: CPU%u's tick could not be given back, so this module stays loaded (rmmod refused; pvtimer=0 parks the devices)\n",
		  cpu);
}

static void exitless_pvtimer_cpu_off(unsigned int cpu)
{
	struct exitless_pvtimer_cpu *pc = per_cpu_ptr(&exitless_pvtimer_cpu, cpu);
	int ret;

	if (!pc->bound)
		return;
	/* the best other device (lapic-deadline) takes the pending event */
	ret = clockevents_unbind_device(&pc->ced, cpu);
	if (ret)
		pr_err("CPU%u: cannot give the tick back: %d\n", cpu, ret);
	else
		WRITE_ONCE(pc->bound, false);
	smp_call_function_single(cpu, exitless_pvtimer_disable_fn, NULL, 1);
}

/* On the CPU: the host stops, the APIC timer takes the deadline. */
static void exitless_pvtimer_park_fn(void *unused)
{
	struct exitless_pvtimer_cpu *pc = this_cpu_ptr(&exitless_pvtimer_cpu);

	if (!pc->bound || pc->direct)
		return;
	pc->direct = true;
	pc->lazy = false;
	pc->host_backstop = false;
	pc->backstop = 0;
	exitless_pvtimer_lvtt();	/* see exitless_pvtimer_enable_fn() */
	exitless_pvtimer_msr_deadline(pc->deadline);
	if (pc->sec)
		exitless_hypercall(EXITLESS_HC_PVTIMER_DISABLE, 0, 0, 0, 0, NULL);
}

/*
 * Off does not unbind the devices: the kernel, when exitless-pvtimer
 * replaced lapic-deadline on the first CPU, made that CPU's local APIC
 * timer its broadcast device (it outranks the HPET), and a broadcast
 * device cannot be given back, so unbinding would leave that CPU's tick
 * on the HPET.  A parked device arms the local APIC timer itself, which
 * is what lapic-deadline does.  Only unload unbinds.
 */
void exitless_pvtimer_set(bool on)
{
	unsigned int cpu;

	lockdep_assert_held(&exitless_guest.lock);
	on = on && READ_ONCE(pvtimer) && exitless_pvtimer_usable();
	if (!on && !exitless_pvtimer_on)
		return;
	if (on)
		WRITE_ONCE(exitless_pvtimer_refused, false);
	for_each_online_cpu(cpu) {
		if (on)
			exitless_pvtimer_cpu_on(cpu);
		else
			smp_call_function_single(cpu, exitless_pvtimer_park_fn,
						 NULL, 1);
	}
	exitless_pvtimer_on = on;
	if (on && READ_ONCE(exitless_pvtimer_refused))
		pr_info("pvtimer: the host does not serve it to this VM (PVTIMER_ENABLE: EOPNOTSUPP; its HLT or MWAIT does not exit?): lapic-deadline stays\n");
}

void exitless_pvtimer_unbind_all(void)
{
	unsigned int cpu;

	lockdep_assert_held(&exitless_guest.lock);
	for_each_online_cpu(cpu)
		exitless_pvtimer_cpu_off(cpu);
	exitless_pvtimer_on = false;
}

void exitless_pvtimer_refresh(void)
{
	unsigned int cpu;

	lockdep_assert_held(&exitless_guest.lock);
	if (!exitless_pvtimer_on || READ_ONCE(exitless_pvtimer_refused))
		return;
	for_each_online_cpu(cpu) {
		struct exitless_pvtimer_cpu *pc =
			per_cpu_ptr(&exitless_pvtimer_cpu, cpu);

		if (!READ_ONCE(pc->bound) || READ_ONCE(pc->direct))
			exitless_pvtimer_cpu_on(cpu);
	}
}

void exitless_pvtimer_cpu_online(unsigned int cpu)
{
	if (exitless_pvtimer_on)
		exitless_pvtimer_cpu_on(cpu);
}

void exitless_pvtimer_cpu_offline(unsigned int cpu)
{
	exitless_pvtimer_cpu_off(cpu);
}

bool exitless_pvtimer_usable(void)
{
	return exitless_pvtimer_capable && exitless_pvtimer_probes;
}

module_param_cb(pvtimer, &exitless_guest_switch_ops, &pvtimer, 0644);
MODULE_PARM_DESC(pvtimer,
		 "pvtimer: arm timers through memory shared with the host when it offers it (default: 1)");
module_param_cb(pvtimer_poll, &exitless_guest_switch_ops, &pvtimer_poll,
		0644);
MODULE_PARM_DESC(pvtimer_poll,
		 "pvtimer: have the host's poller read this guest's deadlines, if the host runs one (its pvtimer_poll_us): fewer hypercalls, at the cost of a host CPU (default: 1)");
/* A new window goes to the host: every CPU enables again. */
module_param_cb(pvtimer_backstop_ms, &exitless_guest_uint_ops,
		&pvtimer_backstop_ms, 0644);
MODULE_PARM_DESC(pvtimer_backstop_ms,
		 "pvtimer: a deadline the host has not delivered this many ms late is taken back by the local APIC timer, 1..10000 (default: 100; a change enables every CPU again, giving the host the new window)");

static void exitless_pvtimer_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "x86_platform_ipi_entry"))
		exitless_pvtimer_irq_tp = tp;
	else if (!strcmp(tp->name, "sched_switch"))
		exitless_pvtimer_switch_tp = tp;
}

int exitless_pvtimer_init(void)
{
	int ret;

	/* what lapic-deadline needs, and x2APIC for the LVT as an MSR */
	exitless_pvtimer_capable = x2apic_mode && tsc_khz &&
		boot_cpu_has(X86_FEATURE_TSC_DEADLINE_TIMER);
	if (!exitless_pvtimer_capable) {
		pr_info("pvtimer: needs x2APIC and a TSC deadline timer: not available\n");
		return 0;
	}
	for_each_kernel_tracepoint(exitless_pvtimer_find_tp, NULL);
	if (!exitless_pvtimer_irq_tp || !exitless_pvtimer_switch_tp) {
		pr_info("pvtimer: tracepoints x86_platform_ipi_entry/sched_switch not found: not available\n");
		return 0;
	}
	ret = tracepoint_probe_register(exitless_pvtimer_irq_tp,
					exitless_pvtimer_irq, NULL);
	if (ret)
		goto out_err;
	ret = tracepoint_probe_register(exitless_pvtimer_switch_tp,
					exitless_pvtimer_switch, NULL);
	if (ret) {
		tracepoint_probe_unregister(exitless_pvtimer_irq_tp,
					    exitless_pvtimer_irq, NULL);
		goto out_err;
	}
	exitless_pvtimer_probes = true;
	return 0;

out_err:
	pr_info("pvtimer: cannot attach to tracepoints (%d): not available\n",
		ret);
	return 0;
}

void exitless_pvtimer_exit(void)
{
	if (!exitless_pvtimer_probes)
		return;
	tracepoint_probe_unregister(exitless_pvtimer_switch_tp,
				    exitless_pvtimer_switch, NULL);
	tracepoint_probe_unregister(exitless_pvtimer_irq_tp,
				    exitless_pvtimer_irq, NULL);
	tracepoint_synchronize_unregister();
	irq_work_sync(&exitless_pvtimer_kick);
	exitless_pvtimer_probes = false;
}

ssize_t exitless_pvtimer_show(char *buf)
{
	struct exitless_pvtimer_cpu t = {};
	unsigned int cpu, bound = 0, direct = 0, host_backstop = 0, polled = 0;
	u64 hw_min = U64_MAX, hw_max = 0;
	int len;

	for_each_online_cpu(cpu) {
		struct exitless_pvtimer_cpu *pc =
			per_cpu_ptr(&exitless_pvtimer_cpu, cpu);

		bound += READ_ONCE(pc->bound);
		direct += READ_ONCE(pc->bound) && READ_ONCE(pc->direct);
		host_backstop += READ_ONCE(pc->bound) &&
				 READ_ONCE(pc->host_backstop);
		if (READ_ONCE(pc->bound) && READ_ONCE(pc->host_backstop)) {
			u64 hw = READ_ONCE(pc->host_window);

			hw_min = min(hw_min, hw);
			hw_max = max(hw_max, hw);
		}
		polled += READ_ONCE(pc->bound) && !READ_ONCE(pc->direct) &&
			  READ_ONCE(pc->host_poll);
		t.checks += READ_ONCE(pc->checks);
		t.cover_syncs += READ_ONCE(pc->cover_syncs);
		t.arms += READ_ONCE(pc->arms);
		t.lazy_arms += READ_ONCE(pc->lazy_arms);
		t.syncs += READ_ONCE(pc->syncs);
		t.settles += READ_ONCE(pc->settles);
		t.poll_syncs += READ_ONCE(pc->poll_syncs);
		t.backstops += READ_ONCE(pc->backstops);
		t.irqs += READ_ONCE(pc->irqs);
		t.fallbacks += READ_ONCE(pc->fallbacks);
		t.direct_arms += READ_ONCE(pc->direct_arms);
		t.tick_arms += READ_ONCE(pc->tick_arms);
	}
	len = sysfs_emit(buf, "usable %d\non %d\ncpus_bound %u\ncpus_direct %u\n",
			 exitless_pvtimer_usable(), READ_ONCE(exitless_pvtimer_on),
			 bound, direct);
	len += sysfs_emit_at(buf, len,
			     "arms %llu\nlazy_arms %llu\nsyncs %llu\nsettles %llu\nbackstop_arms %llu\nirqs %llu\nfallbacks %llu\ndirect_arms %llu\n",
			     t.arms, t.lazy_arms, t.syncs, t.settles,
			     t.backstops, t.irqs, t.fallbacks, t.direct_arms);
	len += sysfs_emit_at(buf, len, "cpus_host_backstop %u\nbackstop_checks %llu\n",
			     host_backstop, t.checks);
	len += sysfs_emit_at(buf, len, "cpus_host_poller %u\n", polled);
	len += sysfs_emit_at(buf, len, "tick_arms %llu\npoll_syncs %llu\n",
			     t.tick_arms, t.poll_syncs);
	len += sysfs_emit_at(buf, len, "cover_syncs %llu\n", t.cover_syncs);
	/* the window the host keeps the backstop by, in ms (0: none) */
	if (!hw_max || !tsc_khz) {
		hw_min = 0;
		hw_max = 0;
	} else {
		hw_min = div_u64(hw_min, tsc_khz);
		hw_max = div_u64(hw_max, tsc_khz);
	}
	len += sysfs_emit_at(buf, len,
			     "host_backstop_ms_min %llu\nhost_backstop_ms_max %llu\n",
			     hw_min, hw_max);
	len += sysfs_emit_at(buf, len, "refused %d\n",
			     READ_ONCE(exitless_pvtimer_refused));
	return len;
}
