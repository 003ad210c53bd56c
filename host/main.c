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
u64 exitless_epoch;
u64 exitless_features;

static unsigned long long features = EXITLESS_HOST_SUPPORTED;
module_param(features, ullong, 0444);
MODULE_PARM_DESC(features,
		 "Mask of features offered to guests (default: all this build supports); bits the build lacks are ignored");

static struct dentry *exitless_debugfs;

static int exitless_stats_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "abi_version %u\n", EXITLESS_ABI_VERSION);
	seq_printf(m, "features 0x%llx\n", exitless_features);
	seq_printf(m, "epoch 0x%llx\n", exitless_epoch);
	seq_printf(m, "vms %d\n", atomic_read(&exitless_stats.vms));
	seq_printf(m, "vcpus_registered %d\n",
		   atomic_read(&exitless_stats.vcpus_registered));
	seq_printf(m, "hc_probe %lld\n", atomic64_read(&exitless_stats.hc_probe));
	seq_printf(m, "hc_register %lld\n",
		   atomic64_read(&exitless_stats.hc_register));
	seq_printf(m, "hc_unregister %lld\n",
		   atomic64_read(&exitless_stats.hc_unregister));
	seq_printf(m, "hc_unknown %lld\n",
		   atomic64_read(&exitless_stats.hc_unknown));
	seq_printf(m, "hc_errors %lld\n",
		   atomic64_read(&exitless_stats.hc_errors));
	seq_printf(m, "vcpu_resets %lld\n",
		   atomic64_read(&exitless_stats.vcpu_resets));
	seq_printf(m, "hc_pvipi %lld\n", atomic64_read(&exitless_stats.hc_pvipi));
	seq_printf(m, "pvipi_targets %lld\n",
		   atomic64_read(&exitless_stats.pvipi_targets));
	seq_printf(m, "pvipi_apic_sends %lld\n",
		   atomic64_read(&exitless_stats.pvipi_apic_sends));
	seq_printf(m, "pvipi_inline %lld\n",
		   atomic64_read(&exitless_stats.pvipi_inline));
	seq_printf(m, "dynidle_updates %lld\n",
		   atomic64_read(&exitless_stats.dynidle_updates));
	seq_printf(m, "dynidle_write_faults %lld\n",
		   atomic64_read(&exitless_stats.dynidle_write_faults));
	seq_printf(m, "pvtimer_vcpus %d\n",
		   atomic_read(&exitless_stats.pvtimer_vcpus));
	seq_printf(m, "hc_pvtimer %lld\n",
		   atomic64_read(&exitless_stats.hc_pvtimer));
	seq_printf(m, "pvtimer_syncs %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_syncs));
	seq_printf(m, "pvtimer_arms %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_arms));
	seq_printf(m, "pvtimer_injects %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_injects));
	seq_printf(m, "pvtimer_kicks %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_kicks));
	seq_printf(m, "pvtimer_guards %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_guards));
	seq_printf(m, "pvtimer_guards_hinted %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_guards_hinted));
	seq_printf(m, "pvtimer_migrations %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_migrations));
	seq_printf(m, "pvtimer_read_faults %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_read_faults));
	seq_printf(m, "pvtimer_write_faults %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_write_faults));
	seq_printf(m, "pvtimer_backstops %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_backstops));
	seq_printf(m, "pvtimer_poll_scans %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_poll_scans));
	seq_printf(m, "pvtimer_poll_arms %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_poll_arms));
	seq_printf(m, "pvtimer_pin_faults %lld\n",
		   atomic64_read(&exitless_stats.pvtimer_pin_faults));
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
	debugfs_remove_recursive(exitless_debugfs);
	pr_info("unloaded; guests fall back to native paths\n");
}

module_init(exitless_host_init);
module_exit(exitless_host_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("exitless developers");
MODULE_DESCRIPTION("exitless host: paravirtual features that remove KVM VM exits");
