// SPDX-License-Identifier: GPL-2.0
/*
 * dynidle, guest half: a cpuidle driver that polls before it halts, with
 * a poll budget from policy.c (Documentation/dynidle.rst).
 *
 * When dynidle is negotiated, guest/main.c calls exitless_dynidle_set(true)
 * (and again when the "dynidle" parameter is written; with it 0 the
 * driver stays off): the driver "exitless_dynidle" is registered with one
 * idle state whose ->enter() does the whole idle period: compute the
 * budget (window, next timer deadline from dev->next_hrtimer, contention
 * from steal time and the host's hint in this vCPU's dynidle section),
 * poll for at most that long, halt if nothing came, learn from what
 * happened.  A single state
 * keeps the governor out of it (the scheduler skips the governor for a
 * one-state driver; a governor that still runs can only pick state 0),
 * so the policy is ours alone and needs no KVM_HINTS_REALTIME, unlike
 * upstream's cpuidle-haltpoll which must be built in and forced.
 *
 * While polling, the CPU keeps TIF_POLLING_NRFLAG (wakers of the idle
 * task skip the reschedule IPI) and is a pvipi polling target
 * (exitless_pvipi_poll_begin(): call-function and reschedule IPIs from
 * pvipi's senders are written to memory, not sent).  Before halting it
 * clears both, so every wake-up from then on is a real interrupt.
 *
 * Host halt polling is switched off (MSR_KVM_POLL_CONTROL = 0, through
 * arch_haltpoll_enable()) on every CPU that has the driver, so host and
 * guest polling do not stack; it is switched back on when the CPU loses
 * the driver.  One MSR write per CPU and registration: toggling it per
 * idle period would cost an exit each time.
 *
 * The state has CPUIDLE_FLAG_RCU_IDLE: RCU keeps watching while the CPU
 * polls (counters and tracepoints are fine there), and the driver tells
 * RCU the CPU is idle only around HLT.
 *
 * Giving way (host gone, features off, dynidle=0, unload, reboot): every
 * device and the driver are unregistered, so no CPU enters ->enter()
 * again; the ones still inside are woken and waited for (in_enter), then
 * an RCU grace period covers the instructions after in_enter is cleared,
 * which run with interrupts off and RCU watching.
 */
#define pr_fmt(fmt) "exitless_guest: " fmt

#include <linux/cpu.h>
#include <linux/cpuidle.h>
#include <linux/cpuidle_haltpoll.h>
#include <linux/delay.h>
#include <linux/kernel_stat.h>
#include <linux/kvm_para.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/idle.h>
#include <linux/smp.h>
#include <linux/sysfs.h>
#include <asm/processor.h>

#include "compat/compat.h"
#include "guest/guest.h"
#include "pvipi/guest.h"
#include "pvtimer/guest.h"
#include "uapi/exitless.h"
#include "policy.h"
#include "guest.h"

#define CREATE_TRACE_POINTS
#include "dynidle_trace.h"

/* cpu_relax() rounds between two clock reads, as poll_idle() does */
#define EXITLESS_DYNIDLE_RELAX_COUNT	200

/**
 * struct exitless_dynidle_cpu - one CPU's policy state and counters
 * @st: the policy's learnt state
 * @sec: this CPU's dynidle section (NULL: not registered with layout 2)
 * @entries: idle periods handled
 * @polls_woken: polls that a wake-up ended
 * @polls_halted: polls that ran out of budget, then halted
 * @polls_deadline: polls that ran up to the timer deadline, then went
 *	back to the idle loop without halting
 * @halts_direct: halted without polling (budget 0)
 * @contended: idle periods found contended (among @halts_direct)
 * @halts_due: the timer it knew of was already due (among @halts_direct)
 * @due_synced: idle periods that began with a lazy pvtimer deadline due,
 *	delivered by a PVTIMER_SYNC from the poll instead of a halt
 * @due_waited: ... with a pvtimer deadline due that the host knows of,
 *	whose interrupt was polled for instead of halted for
 * @to_deadline: polls that ran up to a near timer deadline
 * @poll_ns: time spent polling, less @sync_ns
 * @sync_ns: time spent in those PVTIMER_SYNC (@due_synced, or due during
 *	a poll), up to their return: the exit, and the timer's interrupt if
 *	it came at the return
 * @in_enter: the CPU is inside exitless_dynidle_enter()
 */
struct exitless_dynidle_cpu {
	struct exitless_dynidle_state st;
	struct exitless_dynidle_section *sec;
	u64 entries;
	u64 polls_woken;
	u64 polls_halted;
	u64 polls_deadline;
	u64 halts_direct;
	u64 contended;
	u64 halts_due;
	u64 due_synced;
	u64 due_waited;
	u64 to_deadline;
	u64 poll_ns;
	u64 sync_ns;
	int in_enter;
};

static DEFINE_PER_CPU(struct exitless_dynidle_cpu, exitless_dynidle_cpu);
static DEFINE_PER_CPU(struct cpuidle_device, exitless_dynidle_dev);
static bool exitless_dynidle_on;
/* the operator's switch (module parameter "dynidle") */
static bool dynidle = true;
/* the host lets the guest switch its halt polling off */
static bool exitless_dynidle_poll_control;

/*
 * Defaults: max, grow start, grow and shrink are upstream haltpoll's
 * (guest_halt_poll_*); the others are this driver's own choices, see
 * Documentation/dynidle.rst.
 */
static struct exitless_dynidle_params exitless_dynidle_params = {
	.max_ns = 200000,
	.grow_start_ns = 50000,
	.grow = 2,
	.grow_after = 2,
	.shrink = 2,
	.shrink_after = 4,
	.break_even_ns = 20000,
	.steal_pct = 10,
	.steal_period_ns = 4000000,
};

static DEFINE_MUTEX(exitless_dynidle_param_lock);

/*
 * Set one field of exitless_dynidle_params: the new value is tried on a
 * copy, and only a valid whole is taken.  The idle path reads fields one
 * by one without a lock; a mix of old and new values during a change is
 * harmless (every field is bounded on its own).
 */
static int exitless_dynidle_param_set(const char *val,
				      const struct kernel_param *kp, bool wide)
{
	struct exitless_dynidle_params p;
	size_t off = (char *)kp->arg - (char *)&exitless_dynidle_params;
	u64 v;
	int ret;

	ret = kstrtoull(val, 0, &v);
	if (ret)
		return ret;
	if (!wide && v > U32_MAX)
		return -EINVAL;

	mutex_lock(&exitless_dynidle_param_lock);
	p = exitless_dynidle_params;
	if (wide)
		*(u64 *)((char *)&p + off) = v;
	else
		*(u32 *)((char *)&p + off) = v;
	if (!exitless_dynidle_params_valid(&p))
		ret = -EINVAL;
	else if (wide)
		WRITE_ONCE(*(u64 *)kp->arg, v);
	else
		WRITE_ONCE(*(u32 *)kp->arg, v);
	mutex_unlock(&exitless_dynidle_param_lock);
	return ret;
}

static int exitless_dynidle_set_u64(const char *val,
				    const struct kernel_param *kp)
{
	return exitless_dynidle_param_set(val, kp, true);
}

static int exitless_dynidle_set_u32(const char *val,
				    const struct kernel_param *kp)
{
	return exitless_dynidle_param_set(val, kp, false);
}

static const struct kernel_param_ops exitless_dynidle_u64_ops = {
	.set = exitless_dynidle_set_u64,
	.get = param_get_ullong,
};

static const struct kernel_param_ops exitless_dynidle_u32_ops = {
	.set = exitless_dynidle_set_u32,
	.get = param_get_uint,
};

module_param_cb(dynidle_poll_max_ns, &exitless_dynidle_u64_ops,
		&exitless_dynidle_params.max_ns, 0644);
MODULE_PARM_DESC(dynidle_poll_max_ns,
		 "dynidle: largest poll window in ns, 0 = never poll (default: 200000)");
module_param_cb(dynidle_grow_start_ns, &exitless_dynidle_u64_ops,
		&exitless_dynidle_params.grow_start_ns, 0644);
MODULE_PARM_DESC(dynidle_grow_start_ns,
		 "dynidle: first window after 0; smaller windows become 0 (default: 50000)");
module_param_cb(dynidle_grow, &exitless_dynidle_u32_ops,
		&exitless_dynidle_params.grow, 0644);
MODULE_PARM_DESC(dynidle_grow,
		 "dynidle: factor the window grows by, < 2 = never grows (default: 2)");
module_param_cb(dynidle_grow_after, &exitless_dynidle_u32_ops,
		&exitless_dynidle_params.grow_after, 0644);
MODULE_PARM_DESC(dynidle_grow_after,
		 "dynidle: short halts in a row before a window of 0 grows, >= 1 (default: 2)");
module_param_cb(dynidle_shrink, &exitless_dynidle_u32_ops,
		&exitless_dynidle_params.shrink, 0644);
MODULE_PARM_DESC(dynidle_shrink,
		 "dynidle: divisor the window shrinks by, 0 = straight to 0 (default: 2)");
module_param_cb(dynidle_shrink_after, &exitless_dynidle_u32_ops,
		&exitless_dynidle_params.shrink_after, 0644);
MODULE_PARM_DESC(dynidle_shrink_after,
		 "dynidle: long idle periods in a row before the window shrinks, then on each further one, >= 1 (default: 4)");
module_param_cb(dynidle_break_even_ns, &exitless_dynidle_u64_ops,
		&exitless_dynidle_params.break_even_ns, 0644);
MODULE_PARM_DESC(dynidle_break_even_ns,
		 "dynidle: a timer due sooner than this is polled up to instead of halted for, 0 = never (default: 20000)");
module_param_cb(dynidle_steal_pct, &exitless_dynidle_u32_ops,
		&exitless_dynidle_params.steal_pct, 0644);
MODULE_PARM_DESC(dynidle_steal_pct,
		 "dynidle: no polling while steal time is above this percentage, 0..100, 0 = ignore steal (default: 10)");
module_param_cb(dynidle_steal_period_ns, &exitless_dynidle_u64_ops,
		&exitless_dynidle_params.steal_period_ns, 0644);
MODULE_PARM_DESC(dynidle_steal_period_ns,
		 "dynidle: shortest period a steal-time sample covers (default: 4000000)");

void exitless_dynidle_learn_section(unsigned int cpu,
				    struct exitless_dynidle_section *sec)
{
	WRITE_ONCE(per_cpu(exitless_dynidle_cpu, cpu).sec, sec);
}

/* Nanoseconds to the next timer event the idle loop knows of. */
static u64 exitless_dynidle_until_deadline(struct cpuidle_device *dev)
{
	ktime_t next = READ_ONCE(dev->next_hrtimer);
	s64 delta;

	if (!next)
		return EXITLESS_DYNIDLE_NO_DEADLINE;
	delta = ktime_to_ns(ktime_sub(next, ktime_get()));
	return delta > 0 ? delta : 0;
}

/*
 * Poll for at most @budget ns from @start; interrupts are enabled for
 * the duration, as in poll_idle().  Returns true if a wake-up ended it.
 * With @for_timer, pvtimer's interrupt ends it too.  *@timer says that
 * interrupt came while waited for (whatever ended the poll): the period
 * was that timer's, and the idle loop then looks at the next one.  A lazy
 * pvtimer deadline found due is delivered by a PVTIMER_SYNC made while
 * still polling; *@sync_ns is the time from before that hypercall to its
 * return (an exit, as a halt for the deadline would be, not polling).
 */
static bool exitless_dynidle_poll(u64 start, u64 budget, bool for_timer,
				  bool *timer, u64 *sync_ns)
{
	u64 irqs = exitless_pvtimer_irq_count();
	unsigned int relax = 0;

	local_irq_enable();
	if (!current_set_polling_and_test()) {
		exitless_pvipi_poll_begin();
		while (!need_resched() && !exitless_pvipi_poll_woken_up()) {
			if (relax) {
				relax--;
				cpu_relax();
				continue;
			}
			relax = EXITLESS_DYNIDLE_RELAX_COUNT;
			if (for_timer && exitless_pvtimer_irq_count() != irqs)
				break;
			if (exitless_pvtimer_poll_due()) {
				u64 t = local_clock();

				/* its vector comes at the hypercall's return */
				exitless_pvtimer_poll_sync();
				*sync_ns += local_clock() - t;
				for_timer = true;
				relax = 0;
				continue;
			}
			if (local_clock() - start >= budget)
				break;
		}
		/* sets need_resched if a sender woke us through memory */
		exitless_pvipi_poll_end();
	}
	local_irq_disable();
	*timer = for_timer && exitless_pvtimer_irq_count() != irqs;
	return need_resched();
}

/* HLT, with RCU told the CPU is idle; interrupts are off before and after. */
static void exitless_dynidle_halt(void)
{
	/* wakers must send an IPI from now on */
	if (current_clr_polling_and_test())
		return;
	exitless_ct_idle_enter();
	raw_safe_halt();
	raw_local_irq_disable();
	exitless_ct_idle_exit();
}

static int exitless_dynidle_enter(struct cpuidle_device *dev,
				  struct cpuidle_driver *drv, int index)
{
	struct exitless_dynidle_cpu *dc = this_cpu_ptr(&exitless_dynidle_cpu);
	const struct exitless_dynidle_params *p = &exitless_dynidle_params;
	enum exitless_pvtimer_due due = EXITLESS_PVTIMER_DUE_NONE;
	enum exitless_dynidle_outcome outcome;
	struct exitless_dynidle_section *sec;
	bool contended, host_busy = false, to_deadline, woken = false;
	bool at_deadline = false, timer = false;
	/* one read of the parameter for the checks below */
	bool may_poll = READ_ONCE(p->max_ns);
	u64 start, budget, polled = 0, synced = 0, idle, until_deadline;

	WRITE_ONCE(dc->in_enter, 1);
	start = local_clock();

	exitless_dynidle_steal_sample(p, &dc->st, start,
				      kcpustat_this_cpu->cpustat[CPUTIME_STEAL]);
	sec = READ_ONCE(dc->sec);
	if (sec)
		host_busy = READ_ONCE(sec->host_flags) &
			    EXITLESS_DYNIDLE_HOST_BUSY;
	contended = exitless_dynidle_contended(p, &dc->st, host_busy);
	until_deadline = exitless_dynidle_until_deadline(dev);
	/* the timer is due already: is it pvtimer's, and who delivers it? */
	if (!until_deadline)
		due = exitless_pvtimer_due();
	if (due == EXITLESS_PVTIMER_DUE_HOST) {
		budget = exitless_dynidle_budget_due(p, &dc->st, contended);
		to_deadline = false;
	} else {
		budget = exitless_dynidle_budget(p, &dc->st, contended,
						 until_deadline, &to_deadline);
	}

	/*
	 * A lazy deadline is delivered from the poll, without a halt (unless
	 * dynidle_poll_max_ns = 0: no polling at all).
	 */
	if (budget || (due == EXITLESS_PVTIMER_DUE_LAZY && may_poll)) {
		woken = exitless_dynidle_poll(start, budget,
					      due != EXITLESS_PVTIMER_DUE_NONE,
					      &timer, &synced);
		polled = local_clock() - start;
		polled -= min(synced, polled);
		/* back to the idle loop at the timer, which has come */
		at_deadline = !woken &&
			      (timer ||
			       (due == EXITLESS_PVTIMER_DUE_NONE &&
				exitless_dynidle_ran_to_deadline(budget,
								 until_deadline)));
	}
	if (!woken && !at_deadline)
		exitless_dynidle_halt();
	idle = local_clock() - start;

	if (contended)
		outcome = EXITLESS_DYNIDLE_SKIPPED;
	else if (woken)
		outcome = EXITLESS_DYNIDLE_WOKEN;
	else if (at_deadline)
		outcome = EXITLESS_DYNIDLE_DEADLINE;
	else
		outcome = EXITLESS_DYNIDLE_HALTED;
	/*
	 * A wake-up caught while waiting for a due timer whose interrupt
	 * did not come: as any other (that timer, due from the start, would
	 * make it a timer's period).  Once the interrupt came (it may have
	 * woken a sleeper), the period was the timer's.
	 */
	if (woken && due != EXITLESS_PVTIMER_DUE_NONE && !timer)
		until_deadline = EXITLESS_DYNIDLE_NO_DEADLINE;
	exitless_dynidle_update(p, &dc->st, outcome, idle, until_deadline);

	dc->entries++;
	dc->poll_ns += polled;
	dc->sync_ns += synced;
	dc->due_synced += due == EXITLESS_PVTIMER_DUE_LAZY && may_poll;
	dc->due_waited += due == EXITLESS_PVTIMER_DUE_HOST && budget;
	if (woken) {
		dc->polls_woken++;
	} else if (at_deadline) {
		dc->polls_deadline++;
	} else if (!budget) {
		dc->halts_direct++;
		dc->contended += contended;
		/* ... or a pvtimer deadline the host knows of, at window 0 */
		dc->halts_due += !contended &&
				 (to_deadline ||
				  (due == EXITLESS_PVTIMER_DUE_HOST && may_poll));
	} else {
		dc->polls_halted++;
	}
	dc->to_deadline += budget && to_deadline;
	trace_exitless_dynidle_idle(dev->cpu, budget, polled, idle,
				    dc->st.window_ns,
				    woken ? 1 : at_deadline ? 3 : !budget ? 0 : 2,
				    contended, to_deadline);

	/* the last store in this module's code; see exitless_dynidle_drain() */
	smp_store_release(&dc->in_enter, 0);
	return index;
}

/*
 * No .owner: the cpuidle core would take a reference on this module for
 * every device, and rmmod could then never reach the exit path that
 * unregisters them.  The module instead unregisters everything and
 * drains before its code can go (exitless_dynidle_set(false)).
 */
static struct cpuidle_driver exitless_dynidle_driver;

bool exitless_dynidle_is_driver(struct cpuidle_driver *drv)
{
	return drv == &exitless_dynidle_driver;
}

static struct cpuidle_driver exitless_dynidle_driver = {
	.name = "exitless_dynidle",
	.states = {
		{
			.name = "DYNIDLE",
			.desc = "exitless: poll, then HLT",
			.exit_latency = 1,
			.target_residency = 1,
			.enter = exitless_dynidle_enter,
			.flags = CPUIDLE_FLAG_RCU_IDLE,
		},
	},
	.state_count = 1,
};

static void exitless_dynidle_dev_add(unsigned int cpu)
{
	struct cpuidle_device *dev = per_cpu_ptr(&exitless_dynidle_dev, cpu);
	int ret;

	if (dev->registered)
		return;
	memset(dev, 0, sizeof(*dev));
	dev->cpu = cpu;
	ret = cpuidle_register_device(dev);
	if (ret) {
		pr_warn_ratelimited("dynidle: CPU%u: cpuidle device not registered: %d\n",
				    cpu, ret);
		return;
	}
	if (exitless_dynidle_poll_control)
		arch_haltpoll_enable(cpu);	/* host halt polling off */
}

static void exitless_dynidle_dev_del(unsigned int cpu)
{
	struct cpuidle_device *dev = per_cpu_ptr(&exitless_dynidle_dev, cpu);

	if (!dev->registered)
		return;
	if (exitless_dynidle_poll_control && cpu_online(cpu))
		arch_haltpoll_disable(cpu);	/* host halt polling back on */
	cpuidle_unregister_device(dev);
}

static void exitless_dynidle_nop(void *unused)
{
}

/*
 * No CPU can enter the driver any more: wait for those inside it (a kick
 * ends a halt), then for a grace period that covers their last
 * instructions after in_enter was cleared.
 */
static void exitless_dynidle_drain(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		/* pairs with the release that ends exitless_dynidle_enter() */
		while (smp_load_acquire(&per_cpu(exitless_dynidle_cpu, cpu).in_enter)) {
			if (cpu_online(cpu))
				smp_call_function_single(cpu, exitless_dynidle_nop,
							 NULL, 1);
			usleep_range(100, 200);
		}
	}
	synchronize_rcu();
}

/*
 * KVM_FEATURE_POLL_CONTROL, read from CPUID as arch/x86/kernel/kvm.c does
 * (kvm_para_has_feature() calls kvm_arch_para_features(), not exported).
 * Checked here so that arch_haltpoll_enable() never logs its error.
 */
static bool exitless_dynidle_has_poll_control(void)
{
	u32 base = hypervisor_cpuid_base(KVM_SIGNATURE, 0);

	return base &&
	       (cpuid_eax(base | KVM_CPUID_FEATURES) &
		BIT(KVM_FEATURE_POLL_CONTROL));
}

void exitless_dynidle_set(bool on)
{
	unsigned int cpu;
	int ret;

	lockdep_assert_held(&exitless_guest.lock);
	on = on && READ_ONCE(dynidle);
	if (on == exitless_dynidle_on)
		return;
	if (on) {
		ret = cpuidle_register_driver(&exitless_dynidle_driver);
		if (ret) {
			pr_info("dynidle: cpuidle driver not registered (%d; another idle driver in use?): off\n",
				ret);
			return;
		}
		exitless_dynidle_poll_control = exitless_dynidle_has_poll_control();
		exitless_dynidle_on = true;
		for_each_online_cpu(cpu)
			exitless_dynidle_dev_add(cpu);
		/* the guest logs one line when it attaches: this is debug */
		pr_debug("dynidle: idle driver on, host halt polling %s\n",
			 exitless_dynidle_poll_control ?
			 "switched off while it is" :
			 "left on (no KVM_FEATURE_POLL_CONTROL)");
		return;
	}
	for_each_possible_cpu(cpu)
		exitless_dynidle_dev_del(cpu);
	cpuidle_unregister_driver(&exitless_dynidle_driver);
	exitless_dynidle_on = false;
	exitless_dynidle_drain();
	pr_debug("dynidle: idle driver off\n");
}

module_param_cb(dynidle, &exitless_guest_switch_ops, &dynidle, 0644);
MODULE_PARM_DESC(dynidle,
		 "dynidle: poll before halting when the host offers it; 0 gives idle back to the kernel (and halt polling back to the host) at once, 1 takes it again (default: 1)");

void exitless_dynidle_cpu_online(unsigned int cpu)
{
	if (exitless_dynidle_on)
		exitless_dynidle_dev_add(cpu);
}

void exitless_dynidle_cpu_offline(unsigned int cpu)
{
	if (exitless_dynidle_on)
		exitless_dynidle_dev_del(cpu);
}

ssize_t exitless_dynidle_show(char *buf)
{
	u64 entries = 0, woken = 0, halted = 0, at_deadline = 0, direct = 0;
	u64 contended = 0, due = 0, deadline = 0, poll_ns = 0, sync_ns = 0;
	u64 synced = 0, waited = 0;
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct exitless_dynidle_cpu *dc =
			per_cpu_ptr(&exitless_dynidle_cpu, cpu);

		entries += READ_ONCE(dc->entries);
		woken += READ_ONCE(dc->polls_woken);
		halted += READ_ONCE(dc->polls_halted);
		at_deadline += READ_ONCE(dc->polls_deadline);
		direct += READ_ONCE(dc->halts_direct);
		contended += READ_ONCE(dc->contended);
		due += READ_ONCE(dc->halts_due);
		synced += READ_ONCE(dc->due_synced);
		waited += READ_ONCE(dc->due_waited);
		deadline += READ_ONCE(dc->to_deadline);
		poll_ns += READ_ONCE(dc->poll_ns);
		sync_ns += READ_ONCE(dc->sync_ns);
	}
	return sysfs_emit(buf,
			  "in_use %d\nhost_poll_control %d\nentries %llu\npolls_woken %llu\npolls_halted %llu\npolls_deadline %llu\nhalts_direct %llu\ncontended %llu\nhalts_due %llu\ndue_synced %llu\ndue_waited %llu\nto_deadline %llu\npoll_ns %llu\nsync_ns %llu\n",
			  READ_ONCE(exitless_dynidle_on),
			  READ_ONCE(exitless_dynidle_poll_control), entries,
			  woken, halted, at_deadline, direct, contended, due,
			  synced, waited, deadline, poll_ns, sync_ns);
}

ssize_t exitless_dynidle_cpus_show(char *buf)
{
	unsigned int cpu;
	int len = 0;

	for_each_possible_cpu(cpu) {
		struct exitless_dynidle_cpu *dc =
			per_cpu_ptr(&exitless_dynidle_cpu, cpu);

		/* one page: the CPUs that fit (9 to 20; a line < 448 bytes) */
		if (len > PAGE_SIZE - 448)
			break;
		len += sysfs_emit_at(buf, len,
				     "cpu%u entries %llu polls_woken %llu polls_halted %llu polls_deadline %llu halts_direct %llu contended %llu halts_due %llu due_synced %llu due_waited %llu to_deadline %llu poll_ns %llu sync_ns %llu window_ns %llu\n",
				     cpu, READ_ONCE(dc->entries),
				     READ_ONCE(dc->polls_woken),
				     READ_ONCE(dc->polls_halted),
				     READ_ONCE(dc->polls_deadline),
				     READ_ONCE(dc->halts_direct),
				     READ_ONCE(dc->contended),
				     READ_ONCE(dc->halts_due),
				     READ_ONCE(dc->due_synced),
				     READ_ONCE(dc->due_waited),
				     READ_ONCE(dc->to_deadline),
				     READ_ONCE(dc->poll_ns),
				     READ_ONCE(dc->sync_ns),
				     READ_ONCE(dc->st.window_ns));
	}
	return len;
}

int exitless_dynidle_init(void)
{
	return 0;
}

void exitless_dynidle_exit(void)
{
	unsigned int cpu;

	WARN_ON_ONCE(exitless_dynidle_on);
	for_each_possible_cpu(cpu)
		exitless_dynidle_learn_section(cpu, NULL);
}
