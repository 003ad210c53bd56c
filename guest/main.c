// SPDX-License-Identifier: GPL-2.0
/*
 * exitless guest core: find exitless_host.ko behind KVM, negotiate the
 * features both sides have, register one shared area per vCPU, and keep
 * that right across CPU hotplug, host module reload (hot upgrade), live
 * migration, suspend/resume, reboot, kexec and module unload.
 *
 * State machine (Documentation/guest.rst has the long form):
 *
 *   DORMANT --PROBE ok--> ACTIVE: negotiate, REGISTER every online CPU
 *   ACTIVE --PROBE fails--> DORMANT: features off, UNREGISTER every CPU
 *	(KVM answers -KVM_ENOSYS once the host module is gone, which also
 *	says the host no longer writes)
 *   ACTIVE --PROBE, other epoch--> ACTIVE: the old host instance is gone
 *	and its registrations with it: REGISTER every online CPU again
 *
 * The re-probe work, the CPU hotplug callbacks, the reboot notifier and
 * unload serialise on exitless_guest.lock, always taken inside
 * cpus_read_lock() (hotplug callbacks are called with the hotplug lock
 * held).  The syscore callbacks run with one CPU online and interrupts
 * off: they take no lock and only touch the CPU they run on.
 *
 * An area is freed only at unload, and only if its CPU is not in
 * exitless_guest.registered: the host said it stopped writing to it
 * (UNREGISTER returned 0 or -EXITLESS_ENOENT) or that it is gone
 * (-KVM_ENOSYS).  Anything else leaks the page rather than risk the host
 * writing into memory that has been reused.
 */
#define pr_fmt(fmt) "exitless_guest: " fmt

#include <linux/cc_platform.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kvm_para.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/notifier.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/topology.h>
#include <linux/workqueue.h>

#include "compat/compat.h"
#include "guest.h"
#include "hypercall.h"
#include "pvipi/guest.h"
#include "dynidle/guest.h"
#include "pvtimer/guest.h"
#include "uapi/exitless.h"

/* Features this guest implements; each feature adds its bit here. */
#define EXITLESS_GUEST_FEATURES		(EXITLESS_F_AREA | EXITLESS_F_PVIPI | \
					 EXITLESS_F_PVTIMER | EXITLESS_F_DYNIDLE)

/*
 * Bytes of the area the guest lays out: the header, and with dynidle or
 * pvtimer the sections up to the dynidle one (pvtimer's comes first).
 */
#define EXITLESS_GUEST_AREA_SIZE	EXITLESS_AREA_SIZE_DYNIDLE

static_assert(sizeof(struct exitless_area_hdr) == EXITLESS_AREA_HDR_SIZE);
static_assert(sizeof(struct exitless_dynidle_section) ==
	      EXITLESS_AREA_SECTION_SIZE);
static_assert(sizeof(struct exitless_pvtimer_section) ==
	      EXITLESS_AREA_SECTION_SIZE);
static_assert(EXITLESS_AREA_SIZE_PVTIMER <= EXITLESS_AREA_SIZE_DYNIDLE);
static_assert(EXITLESS_AREA_HDR_SIZE >= EXITLESS_AREA_MIN_SIZE);
static_assert(EXITLESS_GUEST_AREA_SIZE <= EXITLESS_AREA_MAX_SIZE);
/* One page per CPU: aligned, and never crossing a 4 KiB boundary. */
static_assert(EXITLESS_GUEST_AREA_SIZE <= PAGE_SIZE);

/* Re-probe period bounds, in ms (0 = no periodic re-probe). */
#define EXITLESS_PROBE_MIN_MS		10
#define EXITLESS_PROBE_MAX_MS		3600000

struct exitless_guest exitless_guest = {
	.lock = __MUTEX_INITIALIZER(exitless_guest.lock),
	.state = EXITLESS_GUEST_DORMANT,
};

/**
 * struct exitless_cpu - per-CPU registration
 * @area: this CPU's area, one zeroed page (NULL when not allocated)
 * @epoch: host epoch REGISTER answered with
 * @err: status of the last (un)registration, read after on_each_cpu()
 */
struct exitless_cpu {
	struct exitless_area_hdr *area;
	u64 epoch;
	long err;
};

static DEFINE_PER_CPU(struct exitless_cpu, exitless_cpu);

/*
 * Layout version and size REGISTER uses: version 2 (with the dynidle
 * section) only when dynidle is negotiated, since only a host offering
 * it serves version 2.  Set by exitless_activate() under the lock.
 */
static unsigned int exitless_area_layout = 1;
static unsigned int exitless_area_size = EXITLESS_AREA_HDR_SIZE;

static int exitless_hp_state;
static bool exitless_reboot_registered;
static bool exitless_syscore_registered;

static unsigned long long features = EXITLESS_F_ALL;
module_param(features, ullong, 0444);
MODULE_PARM_DESC(features,
		 "Features the guest may use, a mask of EXITLESS_F_* (default: all)");

static unsigned int probe_interval_ms = 1000;

static void exitless_probe_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(exitless_probe_work, exitless_probe_work_fn);

/* The hypercall answer says the host does not (or no longer) write the area. */
static bool exitless_hc_released(long ret)
{
	return !ret || ret == -EXITLESS_ENOENT || ret == -KVM_ENOSYS;
}

/* Offered by the host, wanted by the admin, implemented here. */
static u64 exitless_negotiate(u64 offered, u64 wanted)
{
	u64 f = offered & wanted & EXITLESS_GUEST_FEATURES;

	/* pvtimer needs x2APIC, a TSC deadline timer and two tracepoints */
	if (!exitless_pvtimer_usable())
		f &= ~EXITLESS_F_PVTIMER;

	/* Every feature lives in the shared area. */
	if (!(f & EXITLESS_F_AREA))
		return 0;
	return f;
}

static bool exitless_area_in_use(void)
{
	struct exitless_guest *eg = &exitless_guest;

	return eg->state == EXITLESS_GUEST_ACTIVE && !eg->stopping &&
	       (eg->features_enabled & EXITLESS_F_AREA);
}

/* Queue a re-probe now, e.g. when a hypercall says the host changed. */
static void exitless_kick_probe(void)
{
	if (exitless_guest.started && !exitless_guest.stopping)
		mod_delayed_work(system_freezable_wq, &exitless_probe_work, 0);
}

void exitless_guest_kick_probe(void)
{
	exitless_kick_probe();
}

bool exitless_guest_reprobes(void)
{
	return READ_ONCE(probe_interval_ms);
}

/* Queue the next periodic re-probe; caller holds exitless_guest.lock. */
static void exitless_schedule_probe(void)
{
	unsigned int ms = READ_ONCE(probe_interval_ms);

	lockdep_assert_held(&exitless_guest.lock);
	if (exitless_guest.started && !exitless_guest.stopping && ms)
		queue_delayed_work(system_freezable_wq, &exitless_probe_work,
				   msecs_to_jiffies(ms));
}

/*
 * Register the calling CPU's area.  Runs on that CPU with preemption or
 * interrupts disabled; REGISTER applies to the vCPU that executes it.
 */
static long exitless_cpu_register(void)
{
	struct exitless_cpu *ec = this_cpu_ptr(&exitless_cpu);
	unsigned int cpu = smp_processor_id();
	struct exitless_area_hdr *hdr = ec->area;
	u64 epoch;
	long ret;

	if (cpumask_test_cpu(cpu, &exitless_guest.registered))
		return 0;

	/* Not registered: the host does not write here, so reset it all. */
	memset(hdr, 0, EXITLESS_GUEST_AREA_SIZE);
	hdr->magic = EXITLESS_AREA_MAGIC;
	hdr->version = exitless_area_layout;
	hdr->size = exitless_area_size;

	ret = exitless_hc_register(virt_to_phys(hdr), exitless_area_size,
				   exitless_area_layout, &epoch);
	if (ret == -EXITLESS_EBUSY) {
		/*
		 * A registration this kernel does not know of: left by the
		 * kernel we were kexec'd from after a crash, or by an
		 * earlier instance of this module.  Drop it and retry once.
		 */
		if (!exitless_hc_unregister())
			ret = exitless_hc_register(virt_to_phys(hdr),
						   exitless_area_size,
						   exitless_area_layout,
						   &epoch);
	}
	if (!ret) {
		ec->epoch = epoch;
		cpumask_set_cpu(cpu, &exitless_guest.registered);
		/* the host wrote the header before answering */
		exitless_pvipi_learn_idx(cpu, READ_ONCE(hdr->vcpu_id));
		exitless_dynidle_learn_section(cpu, exitless_area_layout >= 2 ?
					       (void *)hdr + EXITLESS_AREA_OFF_DYNIDLE :
					       NULL);
		exitless_pvtimer_learn_section(cpu, exitless_area_layout >= 3 ?
					       (void *)hdr + EXITLESS_AREA_OFF_PVTIMER :
					       NULL);
	}
	return ret;
}

/*
 * Unregister the calling CPU's area, same context as registering.  The
 * CPU leaves exitless_guest.registered only when the host is known to no
 * longer write to the area.
 */
static long exitless_cpu_unregister(void)
{
	unsigned int cpu = smp_processor_id();
	long ret;

	if (!cpumask_test_cpu(cpu, &exitless_guest.registered))
		return 0;
	ret = exitless_hc_unregister();
	if (exitless_hc_released(ret))
		cpumask_clear_cpu(cpu, &exitless_guest.registered);
	return ret;
}

static void exitless_register_fn(void *unused)
{
	this_cpu_write(exitless_cpu.err, exitless_cpu_register());
}

static void exitless_unregister_fn(void *unused)
{
	this_cpu_write(exitless_cpu.err, exitless_cpu_unregister());
}

/*
 * Register (or unregister) every online CPU, each from itself, and log a
 * summary of the failures.  Caller holds cpus_read_lock() and
 * exitless_guest.lock.
 */
static void exitless_all_cpus(bool reg)
{
	unsigned int cpu, failed = 0, first = 0;
	long first_err = 0;
	bool gone = false;

	lockdep_assert_held(&exitless_guest.lock);

	on_each_cpu(reg ? exitless_register_fn : exitless_unregister_fn,
		    NULL, 1);

	for_each_online_cpu(cpu) {
		long err = per_cpu(exitless_cpu, cpu).err;

		if (reg ? !err : exitless_hc_released(err))
			continue;
		if (reg && err == -KVM_ENOSYS) {
			gone = true;	/* left between PROBE and REGISTER */
			continue;
		}
		if (!failed++) {
			first = cpu;
			first_err = err;
		}
	}
	if (gone)
		exitless_kick_probe();
	if (!failed)
		return;
	if (reg)
		pr_warn_ratelimited("REGISTER failed on %u CPU(s), CPU%u: %ld\n",
				    failed, first, first_err);
	else
		pr_err("UNREGISTER failed on %u CPU(s), CPU%u: %ld; their areas are never freed\n",
		       failed, first, first_err);
}

static void exitless_register_all(void)
{
	exitless_all_cpus(true);
}

static void exitless_unregister_all(void)
{
	exitless_all_cpus(false);
}

/* Did any CPU's registration come back from another host instance? */
static bool exitless_epoch_mismatch(void)
{
	unsigned int cpu;

	for_each_cpu(cpu, &exitless_guest.registered)
		if (per_cpu(exitless_cpu, cpu).epoch != exitless_guest.host_epoch)
			return true;
	return false;
}

/*
 * Attach to the host instance @p describes.  Caller holds cpus_read_lock()
 * and exitless_guest.lock.
 */
static void exitless_activate(const struct exitless_probe *p)
{
	struct exitless_guest *eg = &exitless_guest;
	u64 enabled = exitless_negotiate(p->features, features);
	unsigned int cpu;

	/*
	 * A registration made with another host instance died with it (that
	 * is what a new epoch means): nothing writes to that area any more.
	 * This covers every CPU after a reload or migration, and a CPU whose
	 * UNREGISTER failed while the old instance was still there.
	 */
	for_each_cpu(cpu, &eg->registered)
		if (per_cpu(exitless_cpu, cpu).epoch != p->epoch)
			cpumask_clear_cpu(cpu, &eg->registered);

	eg->host_version = p->version;
	eg->host_epoch = p->epoch;
	eg->features_offered = p->features;
	eg->state = EXITLESS_GUEST_ACTIVE;
	eg->absent_logged = false;

	/* Areas first, then the features that use them. */
	if (enabled & EXITLESS_F_PVTIMER)
		exitless_area_layout = 3;
	else
		exitless_area_layout = (enabled & EXITLESS_F_DYNIDLE) ? 2 : 1;
	if (enabled & EXITLESS_F_DYNIDLE)
		exitless_area_size = EXITLESS_AREA_SIZE_DYNIDLE;
	else if (enabled & EXITLESS_F_PVTIMER)
		exitless_area_size = EXITLESS_AREA_SIZE_PVTIMER;
	else
		exitless_area_size = EXITLESS_AREA_HDR_SIZE;
	if (enabled & EXITLESS_F_AREA)
		exitless_register_all();
	eg->features_enabled = enabled;
	exitless_pvipi_set(enabled & EXITLESS_F_PVIPI);
	exitless_dynidle_set(enabled & EXITLESS_F_DYNIDLE);
	exitless_pvtimer_set(enabled & EXITLESS_F_PVTIMER);

	/* The host changed again between PROBE and REGISTER. */
	if (exitless_epoch_mismatch())
		exitless_kick_probe();
}

/* Back to native paths.  Caller holds cpus_read_lock() and the lock. */
static void exitless_deactivate(void)
{
	struct exitless_guest *eg = &exitless_guest;

	/* Features off first, then tell the host to stop writing. */
	exitless_pvtimer_set(false);
	exitless_dynidle_set(false);
	exitless_pvipi_set(false);
	eg->features_enabled = 0;
	exitless_unregister_all();
	eg->state = EXITLESS_GUEST_DORMANT;
	eg->host_version = 0;
	eg->host_epoch = 0;
	eg->features_offered = 0;
}

static void exitless_log_active(const char *what)
{
	struct exitless_guest *eg = &exitless_guest;

	pr_info("%s: host ABI v%llu, epoch %#llx, features offered %#llx, enabled %#llx, %u of %u CPUs registered\n",
		what, eg->host_version, eg->host_epoch, eg->features_offered,
		eg->features_enabled, cpumask_weight(&eg->registered),
		num_online_cpus());
}

/*
 * PROBE the host and move the state machine.  Caller holds
 * cpus_read_lock() and exitless_guest.lock.
 */
static void exitless_reprobe(void)
{
	struct exitless_guest *eg = &exitless_guest;
	struct exitless_probe p;
	long ret;

	lockdep_assert_held(&eg->lock);

	if (!eg->kvm || eg->stopping)
		return;

	eg->probe_count++;
	ret = exitless_hc_probe(&p);
	if (!ret && !p.version)
		ret = -EXITLESS_EINVAL;	/* no ABI this guest speaks */

	if (ret) {
		if (eg->state == EXITLESS_GUEST_ACTIVE) {
			exitless_deactivate();
			pr_info("host module gone (PROBE: %ld): native paths in use\n",
				ret);
			eg->absent_logged = true;
		} else if (!eg->absent_logged) {
			pr_info("host module not present (PROBE: %ld): native paths in use, re-probing every %u ms\n",
				ret, READ_ONCE(probe_interval_ms));
			eg->absent_logged = true;
		}
		return;
	}

	if (eg->state == EXITLESS_GUEST_DORMANT) {
		if (eg->attached_once)
			eg->host_changes++;
		exitless_activate(&p);
		exitless_log_active(eg->attached_once ? "host back" : "active");
		eg->attached_once = true;
		return;
	}

	if (p.epoch != eg->host_epoch) {
		/*
		 * Reloaded, or migrated to another host running the module:
		 * the old instance and every registration with it are gone,
		 * so nothing writes to the areas; register them all again.
		 */
		eg->host_changes++;
		eg->features_enabled = 0;
		exitless_activate(&p);
		exitless_log_active("host changed");
		return;
	}

	/* Same host: retry CPUs whose registration failed before. */
	if ((eg->features_enabled & EXITLESS_F_AREA) &&
	    !cpumask_subset(cpu_online_mask, &eg->registered))
		exitless_register_all();
	/* ... and give pvtimer back to CPUs that fell back to the APIC */
	if (eg->features_enabled & EXITLESS_F_PVTIMER)
		exitless_pvtimer_refresh();
}

/* A runtime switch (e.g. the pvtimer parameter) changed. */
void exitless_guest_features_changed(void)
{
	struct exitless_guest *eg = &exitless_guest;

	cpus_read_lock();
	mutex_lock(&eg->lock);
	if (eg->state == EXITLESS_GUEST_ACTIVE && !eg->stopping) {
		exitless_pvipi_set(eg->features_enabled & EXITLESS_F_PVIPI);
		exitless_dynidle_set(eg->features_enabled & EXITLESS_F_DYNIDLE);
		exitless_pvtimer_set(eg->features_enabled & EXITLESS_F_PVTIMER);
	}
	mutex_unlock(&eg->lock);
	cpus_read_unlock();
}

/* Set the parameter with @set, then apply the features again. */
static int exitless_guest_reapply(const char *val,
				  const struct kernel_param *kp,
				  int (*set)(const char *, const struct kernel_param *))
{
	int ret = set(val, kp);

	if (ret)
		return ret;
	exitless_guest_features_changed();
	return 0;
}

static int exitless_guest_switch_set(const char *val,
				     const struct kernel_param *kp)
{
	return exitless_guest_reapply(val, kp, param_set_bool);
}

const struct kernel_param_ops exitless_guest_switch_ops = {
	.set = exitless_guest_switch_set,
	.get = param_get_bool,
};

static int exitless_guest_uint_set(const char *val,
				   const struct kernel_param *kp)
{
	return exitless_guest_reapply(val, kp, param_set_uint);
}

const struct kernel_param_ops exitless_guest_uint_ops = {
	.set = exitless_guest_uint_set,
	.get = param_get_uint,
};

static void exitless_probe_work_fn(struct work_struct *work)
{
	cpus_read_lock();
	mutex_lock(&exitless_guest.lock);
	exitless_reprobe();
	exitless_schedule_probe();
	mutex_unlock(&exitless_guest.lock);
	cpus_read_unlock();
}

static int exitless_probe_interval_set(const char *val,
				       const struct kernel_param *kp)
{
	unsigned int ms;
	int ret;

	ret = kstrtouint(val, 0, &ms);
	if (ret)
		return ret;
	if (ms && (ms < EXITLESS_PROBE_MIN_MS || ms > EXITLESS_PROBE_MAX_MS))
		return -EINVAL;

	/* Also called while parsing insmod arguments, before init. */
	mutex_lock(&exitless_guest.lock);
	WRITE_ONCE(*(unsigned int *)kp->arg, ms);
	if (exitless_guest.started && !exitless_guest.stopping) {
		if (ms)
			mod_delayed_work(system_freezable_wq,
					 &exitless_probe_work,
					 msecs_to_jiffies(ms));
		else
			cancel_delayed_work(&exitless_probe_work);
	}
	mutex_unlock(&exitless_guest.lock);
	return 0;
}

static const struct kernel_param_ops exitless_probe_interval_ops = {
	.set = exitless_probe_interval_set,
	.get = param_get_uint,
};

module_param_cb(probe_interval_ms, &exitless_probe_interval_ops,
		&probe_interval_ms, 0644);
MODULE_PARM_DESC(probe_interval_ms,
		 "Re-probe the host every this many ms, 10..3600000, 0 = never (default: 1000)");

/* CPUHP_AP_ONLINE_DYN callbacks: run on @cpu, hotplug lock held. */
static int exitless_cpu_online(unsigned int cpu)
{
	long ret = 0;

	mutex_lock(&exitless_guest.lock);
	if (exitless_area_in_use()) {
		preempt_disable();
		WARN_ON_ONCE(smp_processor_id() != cpu);
		ret = exitless_cpu_register();
		preempt_enable();
		if (ret == -KVM_ENOSYS)
			exitless_kick_probe();	/* host gone */
		else if (ret)
			pr_warn_ratelimited("CPU%u: REGISTER failed: %ld\n",
					    cpu, ret);
		else if (per_cpu(exitless_cpu, cpu).epoch !=
			 exitless_guest.host_epoch)
			exitless_kick_probe();	/* host changed */
	}
	exitless_dynidle_cpu_online(cpu);
	exitless_pvtimer_cpu_online(cpu);
	mutex_unlock(&exitless_guest.lock);
	/* Never fail a CPU's onlining for an optional PV feature. */
	return 0;
}

static int exitless_cpu_offline(unsigned int cpu)
{
	long ret;

	mutex_lock(&exitless_guest.lock);
	exitless_pvtimer_cpu_offline(cpu);
	exitless_dynidle_cpu_offline(cpu);
	preempt_disable();
	WARN_ON_ONCE(smp_processor_id() != cpu);
	ret = exitless_cpu_unregister();
	preempt_enable();
	if (ret == -KVM_ENOSYS)
		exitless_kick_probe();
	else if (!exitless_hc_released(ret))
		pr_err("CPU%u: UNREGISTER failed: %ld; its area is never freed\n",
		       cpu, ret);
	mutex_unlock(&exitless_guest.lock);
	return 0;
}

/*
 * Reboot, power-off and kexec (kernel_kexec() runs the reboot notifiers):
 * the host must stop writing before the next kernel owns the memory.
 * A crash kexec runs no notifier; the kdump kernel lives in memory of its
 * own, and REGISTER's -EXITLESS_EBUSY path clears what is left.
 */
static int exitless_reboot_notify(struct notifier_block *nb,
				  unsigned long code, void *unused)
{
	cpus_read_lock();
	mutex_lock(&exitless_guest.lock);
	exitless_guest.stopping = true;
	if (exitless_guest.state == EXITLESS_GUEST_ACTIVE)
		exitless_deactivate();
	mutex_unlock(&exitless_guest.lock);
	cpus_read_unlock();
	return NOTIFY_DONE;
}

static struct notifier_block exitless_reboot_nb = {
	.notifier_call = exitless_reboot_notify,
};

/*
 * System suspend and hibernation: the other CPUs went through the hotplug
 * callbacks already; these run on the last CPU with interrupts off and
 * nothing else running, so they take no lock.
 */
static int exitless_syscore_suspend(EXITLESS_SYSCORE_ARGS)
{
	unsigned int cpu = smp_processor_id();
	long ret = exitless_cpu_unregister();

	if (!exitless_hc_released(ret))
		pr_err("CPU%u: UNREGISTER failed on suspend: %ld\n", cpu, ret);
	/*
	 * UNREGISTER stopped the host's pvtimer for this vCPU, and nothing
	 * enables it again before the other CPUs come back up on resume:
	 * a deadline armed through the area then would never fire (seen:
	 * the boot CPU asleep in the hotplug sync, in HLT for good).  This
	 * CPU's timers go to its APIC until the re-probe after resume
	 * gives pvtimer back.
	 */
	exitless_pvtimer_learn_section(cpu, NULL);
	exitless_dynidle_learn_section(cpu, NULL);
	return 0;
}

static void exitless_syscore_resume(EXITLESS_SYSCORE_ARGS)
{
	unsigned int cpu = smp_processor_id();
	long ret;

	if (!exitless_area_in_use())
		return;
	ret = exitless_cpu_register();
	if (ret || per_cpu(exitless_cpu, cpu).epoch != exitless_guest.host_epoch)
		pr_debug("CPU%u: host changed or refused across suspend (%ld)\n",
			 cpu, ret);
	/*
	 * The re-probe (queued until tasks thaw) sorts out a host reloaded
	 * or a VM restored elsewhere meanwhile, and gives pvtimer back to
	 * this CPU, which suspend left on its APIC.
	 */
	exitless_kick_probe();
}

EXITLESS_DEFINE_SYSCORE(exitless_syscore, exitless_syscore_suspend,
			exitless_syscore_resume);

static int exitless_alloc_areas(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		int node = cpu_to_node(cpu);
		struct page *page;

		if (node != NUMA_NO_NODE && !node_online(node))
			node = NUMA_NO_NODE;
		page = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO, 0);
		if (!page)
			return -ENOMEM;
		per_cpu(exitless_cpu, cpu).area = page_address(page);
	}
	return 0;
}

/* Free every area the host is known not to write to; leak the rest. */
static void exitless_free_areas(void)
{
	unsigned int cpu, leaked = 0;

	for_each_possible_cpu(cpu) {
		struct exitless_cpu *ec = per_cpu_ptr(&exitless_cpu, cpu);

		if (!ec->area)
			continue;
		if (cpumask_test_cpu(cpu, &exitless_guest.registered))
			leaked++;
		else
			free_page((unsigned long)ec->area);
		ec->area = NULL;
	}
	if (leaked)
		pr_err("%u area(s) still registered with the host: not freed\n",
		       leaked);
}

/* Undo whatever init did; safe after a partial init. */
static void exitless_guest_uninit(void)
{
	cpus_read_lock();
	mutex_lock(&exitless_guest.lock);
	exitless_guest.stopping = true;	/* no registering, no re-arming */
	/* the tick back to the local APIC timer on every CPU */
	exitless_pvtimer_unbind_all();
	/* idle back to the kernel's own, once no CPU is in the driver */
	exitless_dynidle_set(false);
	/* IPIs back to the native senders, after a grace period */
	exitless_pvipi_set(false);
	mutex_unlock(&exitless_guest.lock);
	cpus_read_unlock();
	cancel_delayed_work_sync(&exitless_probe_work);

	/* Runs exitless_cpu_offline() on every online CPU: unregisters. */
	if (exitless_hp_state > 0) {
		cpuhp_remove_state(exitless_hp_state);
		exitless_hp_state = 0;
	}
	if (exitless_syscore_registered) {
		exitless_unregister_syscore(&exitless_syscore);
		exitless_syscore_registered = false;
	}
	if (exitless_reboot_registered) {
		unregister_reboot_notifier(&exitless_reboot_nb);
		exitless_reboot_registered = false;
	}
	exitless_guest_sysfs_exit();
	exitless_dynidle_exit();
	exitless_pvtimer_exit();
	/*
	 * pvtimer's re-probe kick (irq_work, synced by its exit) may have
	 * read stopping just before it was set and queued the work after
	 * the cancel above.
	 */
	cancel_delayed_work_sync(&exitless_probe_work);
	exitless_free_areas();
	exitless_pvipi_exit();
}

static int __init exitless_guest_init(void)
{
	int ret;

	ret = exitless_guest_sysfs_init();
	if (ret)
		return ret;

	if (!kvm_para_available()) {
		pr_info("not running on KVM: dormant\n");
		return 0;
	}
	if (cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT)) {
		pr_info("memory-encrypted guest, areas cannot be shared: dormant\n");
		return 0;
	}

	ret = exitless_alloc_areas();
	if (ret)
		goto out_uninit;
	ret = exitless_pvipi_init();
	if (ret)
		goto out_uninit;
	ret = exitless_dynidle_init();
	if (ret)
		goto out_uninit;
	ret = exitless_pvtimer_init();
	if (ret)
		goto out_uninit;

	ret = register_reboot_notifier(&exitless_reboot_nb);
	if (ret)
		goto out_uninit;
	exitless_reboot_registered = true;

	exitless_register_syscore(&exitless_syscore);
	exitless_syscore_registered = true;

	/* Dormant so far: the callbacks installed here do nothing yet. */
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "exitless/guest:online",
				exitless_cpu_online, exitless_cpu_offline);
	if (ret < 0)
		goto out_uninit;
	exitless_hp_state = ret;

	cpus_read_lock();
	mutex_lock(&exitless_guest.lock);
	exitless_guest.kvm = true;
	exitless_guest.started = true;
	exitless_reprobe();
	exitless_schedule_probe();
	mutex_unlock(&exitless_guest.lock);
	cpus_read_unlock();
	return 0;

out_uninit:
	exitless_guest_uninit();
	return ret;
}

static void __exit exitless_guest_exit(void)
{
	exitless_guest_uninit();
}

module_init(exitless_guest_init);
module_exit(exitless_guest_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("exitless developers");
MODULE_DESCRIPTION("exitless guest: per-vCPU shared areas with exitless_host.ko, fewer VM exits");
