// SPDX-License-Identifier: GPL-2.0
/*
 * exitless_host.ko: paravirtual features that remove VM exits from KVM
 * guests.  Core: module parameters, the host instance epoch, counters in
 * debugfs, tracepoints; kvm_attach.c attaches to KVM, hypercall.c serves
 * the ABI, vm.c keeps per-VM state.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/seq_file.h>

#include "internal.h"

#define CREATE_TRACE_POINTS
#include "exitless_trace.h"

struct exitless_host_stats exitless_stats;
DEFINE_PER_CPU(struct exitless_counts, exitless_counts);
u64 exitless_epoch;
u64 exitless_features;

static unsigned long long features = EXITLESS_HOST_SUPPORTED;
module_param(features, ullong, 0444);
MODULE_PARM_DESC(features,
		 "Mask of features offered to guests (default: all this build supports); bits the build lacks are ignored");

static struct dentry *exitless_debugfs;

static const char * const exitless_count_names[] = {
	[EXITLESS_CNT_HC_PROBE] = "hc_probe",
	[EXITLESS_CNT_HC_REGISTER] = "hc_register",
	[EXITLESS_CNT_HC_UNREGISTER] = "hc_unregister",
	[EXITLESS_CNT_HC_UNKNOWN] = "hc_unknown",
	[EXITLESS_CNT_HC_ERRORS] = "hc_errors",
	[EXITLESS_CNT_VCPU_RESETS] = "vcpu_resets",
	[EXITLESS_CNT_HC_PVIPI] = "hc_pvipi",
	[EXITLESS_CNT_PVIPI_TARGETS] = "pvipi_targets",
	[EXITLESS_CNT_PVIPI_APIC_SENDS] = "pvipi_apic_sends",
	[EXITLESS_CNT_PVIPI_INLINE] = "pvipi_inline",
	[EXITLESS_CNT_DYNIDLE_UPDATES] = "dynidle_updates",
	[EXITLESS_CNT_DYNIDLE_WRITE_FAULTS] = "dynidle_write_faults",
	[EXITLESS_CNT_HC_PVTIMER] = "hc_pvtimer",
	[EXITLESS_CNT_PVTIMER_SYNCS] = "pvtimer_syncs",
	[EXITLESS_CNT_PVTIMER_ARMS] = "pvtimer_arms",
	[EXITLESS_CNT_PVTIMER_INJECTS] = "pvtimer_injects",
	[EXITLESS_CNT_PVTIMER_KICKS] = "pvtimer_kicks",
	[EXITLESS_CNT_PVTIMER_GUARDS] = "pvtimer_guards",
	[EXITLESS_CNT_PVTIMER_GUARDS_HINTED] = "pvtimer_guards_hinted",
	[EXITLESS_CNT_PVTIMER_MIGRATIONS] = "pvtimer_migrations",
	[EXITLESS_CNT_PVTIMER_READ_FAULTS] = "pvtimer_read_faults",
	[EXITLESS_CNT_PVTIMER_WRITE_FAULTS] = "pvtimer_write_faults",
	[EXITLESS_CNT_PVTIMER_BACKSTOPS] = "pvtimer_backstops",
	[EXITLESS_CNT_PVTIMER_BACKSTOP_REWRITES] = "pvtimer_backstop_rewrites",
	[EXITLESS_CNT_PVTIMER_POLL_SCANS] = "pvtimer_poll_scans",
	[EXITLESS_CNT_PVTIMER_POLL_ARMS] = "pvtimer_poll_arms",
	[EXITLESS_CNT_PVTIMER_PIN_FAULTS] = "pvtimer_pin_faults",
};

static_assert(ARRAY_SIZE(exitless_count_names) == EXITLESS_NR_COUNTS);

/* One counter summed over the CPUs: exact once its writers are done. */
static u64 exitless_count_read(enum exitless_count c)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(&exitless_counts, cpu)->n[c]);
	return sum;
}

static int exitless_stats_show(struct seq_file *m, void *unused)
{
	enum exitless_count c;

	seq_printf(m, "abi_version %u\n", EXITLESS_ABI_VERSION);
	seq_printf(m, "features 0x%llx\n", exitless_features);
	seq_printf(m, "epoch 0x%llx\n", exitless_epoch);
	seq_printf(m, "vms %d\n", atomic_read(&exitless_stats.vms));
	seq_printf(m, "vcpus_registered %d\n",
		   atomic_read(&exitless_stats.vcpus_registered));
	for (c = 0; c < EXITLESS_NR_COUNTS; c++) {
		if (c == EXITLESS_CNT_HC_PVTIMER)
			seq_printf(m, "pvtimer_vcpus %d\n",
				   atomic_read(&exitless_stats.pvtimer_vcpus));
		seq_printf(m, "%s %llu\n", exitless_count_names[c],
			   exitless_count_read(c));
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(exitless_stats);

static int __init exitless_host_init(void)
{
	int r;

	exitless_features = features & EXITLESS_HOST_SUPPORTED;
	/* never 0, so a guest can tell "no registration" from an epoch */
	exitless_epoch = get_random_u64() | 1;

	r = exitless_vm_init();
	if (r)
		return r;

	/* debugfs is optional: failures are ignored by design */
	exitless_debugfs = debugfs_create_dir("exitless", NULL);
	debugfs_create_file("stats", 0444, exitless_debugfs, NULL,
			    &exitless_stats_fops);

	r = exitless_pvtimer_init();
	if (r)
		goto out_remove_debugfs;
	r = exitless_attach();
	if (r)
		goto out_poller;

	pr_info("ABI %u ready, features 0x%llx, epoch 0x%llx\n",
		EXITLESS_ABI_VERSION, exitless_features, exitless_epoch);
	return 0;

out_poller:
	exitless_pvtimer_exit();
out_remove_debugfs:
	debugfs_remove_recursive(exitless_debugfs);
	exitless_vm_exit();
	return r;
}

static void __exit exitless_host_exit(void)
{
	exitless_detach();
	exitless_pvtimer_exit();
	exitless_vm_exit();
	exitless_detach_destroy();
	debugfs_remove_recursive(exitless_debugfs);
	pr_info("unloaded; guests fall back to native paths\n");
}

module_init(exitless_host_init);
module_exit(exitless_host_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("exitless developers");
MODULE_DESCRIPTION("exitless host: paravirtual features that remove KVM VM exits");
