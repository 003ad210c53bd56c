// SPDX-License-Identifier: GPL-2.0
/*
 * pvipi, guest half: send call-function, call-function-single and
 * reschedule IPIs with one PVIPI_SEND hypercall (Documentation/pvipi.rst).
 *
 * When pvipi is negotiated, guest/main.c calls exitless_pvipi_set(true)
 * and the three IPI senders of smp_ops (exported and writable on 6.1 and
 * 6.12) are replaced; the functions found there (native, or the upstream
 * KVM guest's) are kept and called for an IPI whenever the hypercall does
 * not deliver it: the host module is gone (-KVM_ENOSYS), refuses the call,
 * or a target's vCPU index is unknown.  The host is all-or-nothing, and a
 * duplicate call-function or reschedule IPI is harmless, so falling back
 * for the whole set never loses an IPI.
 *
 * Each CPU packs the destination set into its own bitmap (indexed by the
 * vCPU index the host wrote in each area header at REGISTER) with
 * interrupts off, so that an IPI sent from an interrupt handler cannot
 * scribble on a bitmap being sent.  Interrupts that were on are enabled
 * for the hypercall instruction alone (exitless_hypercall_irqs_on()),
 * the bitmap marked busy meanwhile: a set sent from an interrupt taken
 * there goes native ("nested").
 * A set that leaves one target (after the polling ones) goes out through
 * the saved single-destination sender instead: one ICR write, one exit
 * as well, served by KVM's fastpath (exitless_pvipi_single_native()).
 *
 * Targets polling in idle: see policy.h and exitless_pvipi_poll_begin().
 */
#define pr_fmt(fmt) "exitless_guest: " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/log2.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sysfs.h>
#include <asm/apic.h>
#include <asm/irq_vectors.h>
#include <asm/smp.h>

#include "guest/guest.h"
#include "guest/hypercall.h"
#include "policy.h"
#include "guest.h"

/* Largest vCPU index the guest can name: KVM_MAX_VCPUS on 6.12. */
#define EXITLESS_PVIPI_MAP_BITS		4096
#define EXITLESS_PVIPI_MAP_WORDS	(EXITLESS_PVIPI_MAP_BITS / 64)

struct exitless_pvipi_cpu {
	u64 *map;		/* destination bitmap, kmalloc'd (RAM) */
	u32 dirty_words;	/* words of @map that may be nonzero */
	bool busy;		/* @map is being sent with interrupts on */
	u64 hypercalls;		/* PVIPI_SEND that delivered */
	u64 inline_calls;	/* ... of them with the bitmap in a0 */
	u64 targets;		/* targets they delivered to */
	u64 fallbacks;		/* IPIs sent through the saved senders */
	u64 singles;		/* one target left: sent natively by policy */
	u64 poll_wakes;		/* targets woken through memory */
	u64 nested;		/* sets sent natively: @map was busy */
};

static DEFINE_PER_CPU(struct exitless_pvipi_cpu, exitless_pvipi_cpu);

/*
 * What a sender reads of its targets, in one allocation: each CPU's
 * polling state (policy.h) on a cache line of its own, since the CPU
 * writes it around every idle poll, then the read-mostly cpu -> vCPU
 * index map.  Per-CPU variables would put each target's state in that
 * CPU's own per-CPU area, a page apart: a send to 3 CPUs touched 3 pages
 * for their states and one more for the map, where a guest of up to 60
 * CPUs (68 bytes each) now touches one.  Under nested TCG every page a
 * path touches after a world switch costs a nested page walk; on
 * hardware, TLB entries.
 */
struct exitless_pvipi_slot {
	atomic_t poll;
} ____cacheline_aligned;

static struct exitless_pvipi_slot *exitless_pvipi_slots;
/* cpu -> vCPU index, EXITLESS_PVIPI_IDX_NONE until REGISTER told it */
static u32 *exitless_pvipi_idx;
static bool exitless_pvipi_on;
/* the host's ABI version while exitless_pvipi_on: may it take inline sets? */
static u64 exitless_pvipi_host_version;
/* the operator's switch (module parameter "pvipi") */
static bool pvipi = true;

static void (*exitless_saved_call_func_ipi)(const struct cpumask *mask);
static void (*exitless_saved_call_func_single_ipi)(int cpu);
static void (*exitless_saved_send_reschedule)(int cpu);

void exitless_pvipi_learn_idx(unsigned int cpu, u32 vcpu_idx)
{
	if (exitless_pvipi_idx && cpu < nr_cpu_ids)
		WRITE_ONCE(exitless_pvipi_idx[cpu], vcpu_idx);
}

/* A sender's side of the polling protocol: true = woken, no IPI needed. */
static bool exitless_pvipi_wake_polling(unsigned int cpu, void *unused)
{
	atomic_t *st = &exitless_pvipi_slots[cpu].poll;
	int old = atomic_read(st);

	do {
		if (!exitless_pvipi_poll_wakeable(old))
			return false;
	} while (!atomic_try_cmpxchg(st, &old,
				     exitless_pvipi_poll_woken(old)));
	this_cpu_inc(exitless_pvipi_cpu.poll_wakes);
	return true;
}

void exitless_pvipi_poll_begin(void)
{
	atomic_set(&exitless_pvipi_slots[smp_processor_id()].poll,
		   EXITLESS_PVIPI_POLL_POLLING);
	/* the state is visible before the loop's first need_resched() check */
	smp_mb__after_atomic();
}

bool exitless_pvipi_poll_woken_up(void)
{
	atomic_t *st = &exitless_pvipi_slots[smp_processor_id()].poll;

	return exitless_pvipi_poll_must_exit(atomic_read(st));
}

void exitless_pvipi_poll_end(void)
{
	int old = atomic_xchg(&exitless_pvipi_slots[smp_processor_id()].poll,
			      EXITLESS_PVIPI_POLL_OFF);

	/*
	 * A sender woke us instead of sending: leave idle through the
	 * scheduler, whose idle loop runs the queued call-function work
	 * (flush_smp_call_function_queue()) and reschedules.
	 */
	if (exitless_pvipi_poll_must_exit(old)) {
		set_tsk_need_resched(current);
		set_preempt_need_resched();
	}
}

/* exitless_pvipi_send(): send natively, the bitmap is in use (not a failure) */
#define EXITLESS_PVIPI_NESTED	1

/*
 * One PVIPI_SEND for @cpus (a bitmap of nr_cpu_ids bits).  0 when every
 * target got the IPI or was woken through memory, or when one target is
 * left for the caller to send to natively: then *@single is that CPU
 * (else -1).  Otherwise nonzero and the caller sends natively to the
 * whole set: EXITLESS_PVIPI_NESTED if this CPU's bitmap was in use, a
 * negative error if the hypercall did not deliver.  Interrupts are off;
 * @flags is what the caller's local_irq_save() saved.
 */
static long exitless_pvipi_send(const unsigned long *cpus, u64 vector,
				unsigned long flags, int *single)
{
	struct exitless_pvipi_cpu *pc = this_cpu_ptr(&exitless_pvipi_cpu);
	u64 mode_vector = EXITLESS_PVIPI_MODE_FIXED | vector;
	u64 host_version = READ_ONCE(exitless_pvipi_host_version);
	unsigned int last = 0;
	u64 word = 0, *map, a0, a3 = 0;
	u32 nbits = 0, map_bits;
	bool small;
	long ret;
	int n;

	*single = -1;
	if (!READ_ONCE(exitless_pvipi_on))
		return -EXITLESS_EOPNOTSUPP;
	/*
	 * A guest of at most 64 CPUs packs into a word on the stack and sends
	 * it inline: no bitmap in memory, so none to share with a set sent
	 * from an interrupt, and one page fewer on the path.  (A vCPU index
	 * of 64 or more, which such a guest should not have, fails the pack:
	 * that IPI goes out natively.)
	 */
	small = exitless_pvipi_use_inline(host_version, nr_cpu_ids);
	if (small) {
		map = &word;
		map_bits = EXITLESS_PVIPI_INLINE_BITS;
	} else {
		/* sent from an interrupt taken inside the window below */
		if (READ_ONCE(pc->busy))
			return EXITLESS_PVIPI_NESTED;
		memset(pc->map, 0, pc->dirty_words * sizeof(u64));
		map = pc->map;
		map_bits = EXITLESS_PVIPI_MAP_BITS;
	}
	n = exitless_pvipi_pack(map, map_bits, exitless_pvipi_idx, cpus,
				nr_cpu_ids, exitless_pvipi_wake_polling, NULL,
				&nbits, &last);
	if (!small)
		pc->dirty_words = DIV_ROUND_UP(nbits, 64);
	if (n < 0)
		return -EXITLESS_EINVAL;
	if (!n)
		return 0;	/* every target polled: woken through memory */
	if (exitless_pvipi_single_native(n)) {
		pc->singles++;
		*single = last;
		return 0;
	}
	/* a small guest's word always fits: nbits <= 64 */
	if (exitless_pvipi_use_inline(host_version, nbits)) {
		/* the bitmap goes in a0: the host reads no guest memory */
		a0 = map[0];
		a3 = EXITLESS_PVIPI_SEND_INLINE;
	} else {
		a0 = virt_to_phys(pc->map);
	}
	/*
	 * Interrupts that were on stay on across the call, unless this task
	 * could be preempted (and migrated) by the return from one.  STI's
	 * shadow keeps them out until the hypercall has completed, but a CPU
	 * that drops the shadow at a VM exit (QEMU's emulated SVM, see
	 * Documentation/pvipi.rst) lets one in before it: an IPI sent from
	 * there must not rewrite @pc->map under this call, so it finds it
	 * busy and goes native.  That also sends natively a set from an
	 * interrupt taken right after the call, before the CLI: rare, and
	 * counted in "nested".  A word on the stack needs no such guard:
	 * the call has it in a register.
	 */
	if (!irqs_disabled_flags(flags) && preempt_count()) {
		if (!small)
			WRITE_ONCE(pc->busy, true);
		barrier();	/* busy before interrupts are on */
		ret = exitless_hypercall_irqs_on(EXITLESS_HC_PVIPI_SEND, a0,
						 nbits, mode_vector, a3);
		barrier();	/* ... until they are off again */
		if (!small)
			WRITE_ONCE(pc->busy, false);
	} else {
		ret = exitless_hypercall(EXITLESS_HC_PVIPI_SEND, a0, nbits,
					 mode_vector, a3, NULL);
	}
	if (ret != n)
		return ret < 0 ? ret : -EXITLESS_EINVAL;
	pc->hypercalls++;
	if (a3)
		pc->inline_calls++;
	pc->targets += n;
	return 0;
}

/*
 * A call-function set with one target left goes out with the
 * call-function-single vector, as smp_call_function_many_cond() itself
 * sends a set of one: both vectors run the same queue
 * (generic_smp_call_function_interrupt() is
 * generic_smp_call_function_single_interrupt() in 6.1 and 6.12), and
 * the single sender is an ICR write even where upstream PV IPI replaced
 * the mask senders with KVM_HC_SEND_IPI.
 */
static void exitless_pvipi_call_func_ipi(const struct cpumask *mask)
{
	unsigned long flags;
	int single;
	long ret;

	local_irq_save(flags);
	ret = exitless_pvipi_send(cpumask_bits(mask), CALL_FUNCTION_VECTOR,
				  flags, &single);
	if (ret) {
		if (ret == EXITLESS_PVIPI_NESTED)
			this_cpu_inc(exitless_pvipi_cpu.nested);
		else
			this_cpu_inc(exitless_pvipi_cpu.fallbacks);
		exitless_saved_call_func_ipi(mask);
	} else if (single >= 0) {
		exitless_saved_call_func_single_ipi(single);
	}
	local_irq_restore(flags);
}

/*
 * One target: the case exitless_pvipi_single_native() sends natively, so
 * no bitmap, no vCPU index and no interrupts off.  A target polling in
 * idle is woken through memory; any other gets the saved sender's ICR
 * write, which is also the fallback while the host is leaving.
 */
static void exitless_pvipi_one(int cpu, void (*saved)(int cpu))
{
	if (!READ_ONCE(exitless_pvipi_on)) {
		this_cpu_inc(exitless_pvipi_cpu.fallbacks);
	} else {
		if (exitless_pvipi_wake_polling(cpu, NULL))
			return;
		this_cpu_inc(exitless_pvipi_cpu.singles);
	}
	saved(cpu);
}

static void exitless_pvipi_call_func_single_ipi(int cpu)
{
	exitless_pvipi_one(cpu, exitless_saved_call_func_single_ipi);
}

static void exitless_pvipi_send_reschedule(int cpu)
{
	exitless_pvipi_one(cpu, exitless_saved_send_reschedule);
}

void exitless_pvipi_set(bool on)
{
	on = on && READ_ONCE(pvipi);
	/*
	 * A new host instance (reload, migration) may speak another ABI
	 * version; an older one refuses an inline set with -EINVAL, and
	 * that IPI goes out natively (the fallback), so nothing is lost
	 * between its arrival and this update.
	 */
	WRITE_ONCE(exitless_pvipi_host_version,
		   on ? exitless_guest.host_version : 0);
	if (on == exitless_pvipi_on || !exitless_pvipi_idx)
		return;
	/*
	 * The host sends only to x2APIC IDs (pvipi/host.c): in xAPIC mode
	 * every PVIPI_SEND would fail and the IPI go out natively as well,
	 * two exits instead of one.
	 */
	if (on && !x2apic_enabled()) {
		pr_info_once("pvipi: local APIC in xAPIC mode, IPIs stay native\n");
		return;
	}
	if (on) {
		exitless_saved_call_func_ipi = smp_ops.send_call_func_ipi;
		exitless_saved_call_func_single_ipi =
			smp_ops.send_call_func_single_ipi;
		exitless_saved_send_reschedule = smp_ops.smp_send_reschedule;
		WRITE_ONCE(exitless_pvipi_on, true);
		/* the saved senders are set before anyone can call ours */
		smp_wmb();
		WRITE_ONCE(smp_ops.send_call_func_ipi,
			   exitless_pvipi_call_func_ipi);
		WRITE_ONCE(smp_ops.send_call_func_single_ipi,
			   exitless_pvipi_call_func_single_ipi);
		WRITE_ONCE(smp_ops.smp_send_reschedule,
			   exitless_pvipi_send_reschedule);
		pr_debug("pvipi: IPIs sent by hypercall\n");
		return;
	}
	/* give back only what is still ours */
	if (smp_ops.send_call_func_ipi == exitless_pvipi_call_func_ipi)
		WRITE_ONCE(smp_ops.send_call_func_ipi,
			   exitless_saved_call_func_ipi);
	if (smp_ops.send_call_func_single_ipi ==
	    exitless_pvipi_call_func_single_ipi)
		WRITE_ONCE(smp_ops.send_call_func_single_ipi,
			   exitless_saved_call_func_single_ipi);
	if (smp_ops.smp_send_reschedule == exitless_pvipi_send_reschedule)
		WRITE_ONCE(smp_ops.smp_send_reschedule,
			   exitless_saved_send_reschedule);
	/* callers still inside ours fall back from now on */
	WRITE_ONCE(exitless_pvipi_on, false);
	/*
	 * Every sender runs with preemption (and interrupts) off: after a
	 * grace period none is left in this module's code.
	 */
	synchronize_rcu();
	pr_debug("pvipi: native IPIs\n");
}

module_param_cb(pvipi, &exitless_guest_switch_ops, &pvipi, 0644);
MODULE_PARM_DESC(pvipi,
		 "pvipi: send IPIs by hypercall when the host offers it; 0 gives the IPI path back to the kernel at once, 1 takes it again (default: 1)");

ssize_t exitless_pvipi_show(char *buf)
{
	u64 hc = 0, targets = 0, fallbacks = 0, singles = 0, wakes = 0;
	u64 nested = 0, inl = 0;
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct exitless_pvipi_cpu *pc = per_cpu_ptr(&exitless_pvipi_cpu, cpu);

		hc += READ_ONCE(pc->hypercalls);
		inl += READ_ONCE(pc->inline_calls);
		targets += READ_ONCE(pc->targets);
		fallbacks += READ_ONCE(pc->fallbacks);
		singles += READ_ONCE(pc->singles);
		wakes += READ_ONCE(pc->poll_wakes);
		nested += READ_ONCE(pc->nested);
	}
	return sysfs_emit(buf,
			  "in_use %d\nhypercalls %llu\ntargets %llu\nfallbacks %llu\nsingles %llu\npoll_wakes %llu\nnested %llu\ninline %llu\n",
			  READ_ONCE(exitless_pvipi_on), hc, targets, fallbacks,
			  singles, wakes, nested, inl);
}

int exitless_pvipi_init(void)
{
	size_t slots = array_size(nr_cpu_ids, sizeof(*exitless_pvipi_slots));
	size_t size = slots + array_size(nr_cpu_ids, sizeof(u32));
	unsigned int cpu;

	/* a power of two: kmalloc aligns it to its size, a line at least */
	exitless_pvipi_slots = kzalloc(roundup_pow_of_two(size), GFP_KERNEL);
	if (!exitless_pvipi_slots)
		return -ENOMEM;
	exitless_pvipi_idx = (u32 *)((char *)exitless_pvipi_slots + slots);
	memset(exitless_pvipi_idx, 0xff, nr_cpu_ids * sizeof(u32));
	for_each_possible_cpu(cpu) {
		u64 *map = kzalloc(EXITLESS_PVIPI_MAP_WORDS * sizeof(u64),
				   GFP_KERNEL);

		if (!map) {
			exitless_pvipi_exit();
			return -ENOMEM;
		}
		per_cpu_ptr(&exitless_pvipi_cpu, cpu)->map = map;
	}
	return 0;
}

void exitless_pvipi_exit(void)
{
	unsigned int cpu;

	WARN_ON_ONCE(exitless_pvipi_on);
	for_each_possible_cpu(cpu) {
		struct exitless_pvipi_cpu *pc = per_cpu_ptr(&exitless_pvipi_cpu, cpu);

		kfree(pc->map);
		pc->map = NULL;
	}
	kfree(exitless_pvipi_slots);
	exitless_pvipi_slots = NULL;
	exitless_pvipi_idx = NULL;
}
