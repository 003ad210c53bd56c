// SPDX-License-Identifier: GPL-2.0
/*
 * exitless_ipibench: an in-kernel IPI load for the pvipi benchmark and
 * stress run in an L2 Linux guest (selftests/pvipi/kbench.sh, run.sh,
 * ipi_stress.sh; selftests/dynidle/bench.sh).  Test only: not part of
 * exitless_guest.ko, not in the DKMS package.
 *
 * The kernel's own IPI senders are called, so whichever sender is
 * installed (native x2APIC, upstream PV IPI, exitless pvipi) does the
 * work.  Every load runs on CPU 0, the vCPU whose exits L1 counts, in the
 * writer's own task bound to CPU 0 for the time of the load: a task that
 * sleeps, not a kworker waited for uninterruptibly, so a long stress run
 * trips no hung-task report, and a fatal signal stops it.
 * Write "<kind> <count>" to
 * /sys/kernel/debug/exitless_ipibench/run; the write returns when the
 * load is over, and "result" then holds one line of key=value:
 *
 *   multi <n>    n calls of smp_call_function_many() to every other online
 *                CPU, each waiting for every target
 *   single <n>   n calls of smp_call_function_single() to CPU 1, waiting
 *   resched <n>  n reschedule IPIs to CPU 1 (smp_ops.smp_send_reschedule)
 *   stress <n>   at least n IPIs as "multi" calls, no latency kept
 *
 * The target side of a call is ipibench_fn(), which counts per CPU; a
 * call returns only once every target ran it, so "received" is counted
 * where the IPI was taken and must equal "ipis" (a lost IPI hangs the
 * call).  Cycles are rdtsc_ordered() around each call (for resched: the
 * send alone).  gap_us (module parameter, default 0) sleeps between
 * calls; limit_s stops a load after that many seconds.
 */
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/msr.h>
#include <asm/smp.h>

static unsigned int gap_us;
module_param(gap_us, uint, 0644);
MODULE_PARM_DESC(gap_us, "Sleep between two sends, in microseconds (default 0)");

static unsigned int limit_s = 1800;
module_param(limit_s, uint, 0644);
MODULE_PARM_DESC(limit_s, "Stop a load after this many seconds (default 1800)");

#define IPIBENCH_MAX_LAT	200000	/* calls whose cycles are kept */
#define IPIBENCH_MAX_COUNT	100000000

static DEFINE_PER_CPU(unsigned long, ipibench_received);
static DEFINE_MUTEX(ipibench_lock);
static struct dentry *ipibench_dir;
static unsigned long ipibench_progress;	/* calls made by the load running */
static char ipibench_result[320];

enum ipibench_kind { IPIBENCH_MULTI, IPIBENCH_SINGLE, IPIBENCH_RESCHED, IPIBENCH_STRESS };

static const char * const ipibench_names[] = {
	[IPIBENCH_MULTI] = "multi",
	[IPIBENCH_SINGLE] = "single",
	[IPIBENCH_RESCHED] = "resched",
	[IPIBENCH_STRESS] = "stress",
};

struct ipibench_run {
	enum ipibench_kind kind;
	unsigned long count;	/* calls (multi, single, resched) or IPIs (stress) */
	cpumask_var_t targets;
	u64 *cycles;		/* one per call, up to IPIBENCH_MAX_LAT */
	unsigned long calls;
	u64 max_cycles;
	u64 elapsed_ns;
	bool timed_out;		/* limit_s reached, or a fatal signal */
};

static void ipibench_fn(void *info)
{
	this_cpu_inc(ipibench_received);
}

static unsigned long ipibench_received_sum(const struct cpumask *mask)
{
	unsigned long sum = 0;
	int cpu;

	for_each_cpu(cpu, mask)
		sum += READ_ONCE(per_cpu(ipibench_received, cpu));
	return sum;
}

/* One send; returns the cycles it took. */
static u64 ipibench_one(struct ipibench_run *r)
{
	/* the sender installed now (exitless_guest swaps it) */
	void (*resched)(int cpu) = READ_ONCE(smp_ops.smp_send_reschedule);
	u64 t0, t1;

	preempt_disable();
	t0 = rdtsc_ordered();
	switch (r->kind) {
	case IPIBENCH_MULTI:
	case IPIBENCH_STRESS:
		smp_call_function_many(r->targets, ipibench_fn, NULL, true);
		break;
	case IPIBENCH_SINGLE:
		smp_call_function_single(1, ipibench_fn, NULL, 1);
		break;
	case IPIBENCH_RESCHED:
		resched(1);
		break;
	}
	t1 = rdtsc_ordered();
	preempt_enable();
	return t1 - t0;
}

/* The load, in the writer's task bound to CPU 0. */
static void ipibench_load(struct ipibench_run *r)
{
	unsigned long deadline = jiffies + (unsigned long)limit_s * HZ;
	unsigned long calls = r->count;
	unsigned int per_call = cpumask_weight(r->targets);
	u64 start = ktime_get_ns();
	unsigned long i;
	u64 c;

	if (r->kind == IPIBENCH_STRESS)
		calls = DIV_ROUND_UP(r->count, per_call);
	for (i = 0; i < calls; i++) {
		c = ipibench_one(r);
		if (r->cycles && i < IPIBENCH_MAX_LAT)
			r->cycles[i] = c;
		r->max_cycles = max(r->max_cycles, c);
		WRITE_ONCE(ipibench_progress, i + 1);
		if (gap_us)
			usleep_range(gap_us, gap_us + gap_us / 4 + 1);
		else
			cond_resched();
		if (time_after(jiffies, deadline) || fatal_signal_pending(current)) {
			r->timed_out = true;
			i++;
			break;
		}
	}
	r->calls = i;
	r->elapsed_ns = ktime_get_ns() - start;
}

static int ipibench_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile of the n sorted values v. */
static u64 ipibench_pct(const u64 *v, unsigned long n, unsigned int p)
{
	return n ? v[(n - 1) * p / 100] : 0;
}

static int ipibench_start(enum ipibench_kind kind, unsigned long count)
{
	struct ipibench_run r = { .kind = kind, .count = count };
	unsigned long before, received, ipis, kept;
	cpumask_var_t allowed;
	int ret;

	if (!zalloc_cpumask_var(&r.targets, GFP_KERNEL))
		return -ENOMEM;
	if (!alloc_cpumask_var(&allowed, GFP_KERNEL)) {
		free_cpumask_var(r.targets);
		return -ENOMEM;
	}
	cpumask_copy(allowed, current->cpus_ptr);
	cpus_read_lock();
	if (!cpu_online(0) || !cpu_online(1)) {
		ret = -ENODEV;	/* needs CPUs 0 and 1 online */
		goto out_unlock;
	}
	if (kind == IPIBENCH_MULTI || kind == IPIBENCH_STRESS)
		cpumask_andnot(r.targets, cpu_online_mask, cpumask_of(0));
	else
		cpumask_set_cpu(1, r.targets);
	if (kind != IPIBENCH_STRESS) {
		r.cycles = kvmalloc_array(min_t(unsigned long, count, IPIBENCH_MAX_LAT),
					  sizeof(*r.cycles), GFP_KERNEL);
		if (!r.cycles) {
			ret = -ENOMEM;
			goto out_unlock;
		}
	}
	before = ipibench_received_sum(r.targets);
	WRITE_ONCE(ipibench_progress, 0);
	ret = set_cpus_allowed_ptr(current, cpumask_of(0));
	if (ret)
		goto out_unlock;
	ipibench_load(&r);
	set_cpus_allowed_ptr(current, allowed);
	received = ipibench_received_sum(r.targets) - before;
	ipis = kind == IPIBENCH_RESCHED ? r.calls : r.calls * cpumask_weight(r.targets);
	/* the calls whose cycles were kept: none for stress */
	kept = r.cycles ? min_t(unsigned long, r.calls, IPIBENCH_MAX_LAT) : 0;
	sort(r.cycles, kept, sizeof(*r.cycles), ipibench_cmp, NULL);
	/* resched has no handler of ours: "received" is not counted there */
	snprintf(ipibench_result, sizeof(ipibench_result),
		 "kind=%s calls=%lu targets=%u ipis=%lu received=%lu%s ns=%llu p50_cycles=%llu p99_cycles=%llu max_cycles=%llu gap_us=%u tsc_khz=%u\n",
		 ipibench_names[kind], r.calls, cpumask_weight(r.targets), ipis,
		 kind == IPIBENCH_RESCHED ? 0 : received,
		 r.timed_out ? " timed_out=1" : "", r.elapsed_ns,
		 ipibench_pct(r.cycles, kept, 50), ipibench_pct(r.cycles, kept, 99),
		 r.max_cycles, gap_us, tsc_khz);
out_unlock:
	cpus_read_unlock();
	kvfree(r.cycles);
	free_cpumask_var(allowed);
	free_cpumask_var(r.targets);
	return ret;
}

static ssize_t ipibench_run_write(struct file *file, const char __user *ubuf,
				  size_t len, loff_t *ppos)
{
	char buf[32], name[16];
	unsigned long count;
	unsigned int kind;
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%15s %lu", name, &count) != 2 || !count ||
	    count > IPIBENCH_MAX_COUNT)
		return -EINVAL;
	for (kind = 0; kind < ARRAY_SIZE(ipibench_names); kind++)
		if (!strcmp(name, ipibench_names[kind]))
			break;
	if (kind == ARRAY_SIZE(ipibench_names))
		return -EINVAL;
	if (!mutex_trylock(&ipibench_lock))
		return -EBUSY;
	ipibench_result[0] = '\0';
	ret = ipibench_start(kind, count);
	mutex_unlock(&ipibench_lock);
	return ret ? ret : len;
}

static const struct file_operations ipibench_run_fops = {
	.owner = THIS_MODULE,
	.write = ipibench_run_write,
	.llseek = noop_llseek,
};

static ssize_t ipibench_result_read(struct file *file, char __user *ubuf,
				    size_t len, loff_t *ppos)
{
	ssize_t ret;

	if (!mutex_trylock(&ipibench_lock))
		return -EBUSY;
	ret = simple_read_from_buffer(ubuf, len, ppos, ipibench_result,
				      strlen(ipibench_result));
	mutex_unlock(&ipibench_lock);
	return ret;
}

static const struct file_operations ipibench_result_fops = {
	.owner = THIS_MODULE,
	.read = ipibench_result_read,
	.llseek = default_llseek,
};

static int __init ipibench_init(void)
{
	ipibench_dir = debugfs_create_dir("exitless_ipibench", NULL);
	debugfs_create_file("run", 0200, ipibench_dir, NULL, &ipibench_run_fops);
	debugfs_create_file("result", 0400, ipibench_dir, NULL, &ipibench_result_fops);
	debugfs_create_ulong("progress", 0400, ipibench_dir, &ipibench_progress);
	return 0;
}

static void __exit ipibench_exit(void)
{
	debugfs_remove_recursive(ipibench_dir);
}

module_init(ipibench_init);
module_exit(ipibench_exit);
MODULE_DESCRIPTION("exitless selftest: in-kernel IPI load for the pvipi benchmark");
MODULE_LICENSE("GPL");
