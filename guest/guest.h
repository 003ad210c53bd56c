/* SPDX-License-Identifier: GPL-2.0 */
/*
 * State shared between the files of exitless_guest.ko.
 */
#ifndef _EXITLESS_GUEST_GUEST_H
#define _EXITLESS_GUEST_GUEST_H

#include <linux/cpumask.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/types.h>

enum exitless_guest_state {
	EXITLESS_GUEST_DORMANT,	/* native paths: no host module, or none usable */
	EXITLESS_GUEST_ACTIVE,	/* attached to one host instance (host_epoch) */
};

/**
 * struct exitless_guest - the guest module's one instance
 * @lock: serialises every change below; lock order: cpus_read_lock(),
 *	then @lock (CPU hotplug callbacks run with the hotplug lock held)
 * @state: dormant or active
 * @kvm: hypercalls may be issued (running on KVM, not memory-encrypted)
 * @started: module init finished; the re-probe work may be queued
 * @stopping: unload, reboot or kexec under way: never register again
 * @attached_once: some host instance was attached to since load
 * @absent_logged: the host's absence was logged since the last attach
 * @host_version: host ABI version from PROBE (0 when dormant)
 * @host_epoch: host instance from PROBE (0 when dormant)
 * @features_offered: feature mask from PROBE (0 when dormant)
 * @features_enabled: features in use (0 when dormant)
 * @host_changes: attaches to a host instance after the first one
 * @probe_count: PROBE hypercalls issued
 * @registered: CPUs whose area the host may write; a bit is cleared only
 *	when the host said it stopped (UNREGISTER) or is gone
 */
struct exitless_guest {
	struct mutex lock;	/* taken inside cpus_read_lock() */
	enum exitless_guest_state state;
	bool kvm;
	bool started;
	bool stopping;
	bool attached_once;
	bool absent_logged;
	u64 host_version;
	u64 host_epoch;
	u64 features_offered;
	u64 features_enabled;
	u64 host_changes;
	u64 probe_count;
	struct cpumask registered;
};

extern struct exitless_guest exitless_guest;

/* Queue a re-probe of the host now; any context. */
void exitless_guest_kick_probe(void);
/* The periodic re-probe runs (probe_interval_ms is not 0). */
bool exitless_guest_reprobes(void);
/* A feature's runtime switch changed: apply it (process context). */
void exitless_guest_features_changed(void);
/* A bool module parameter that is a feature's runtime switch. */
extern const struct kernel_param_ops exitless_guest_switch_ops;
/* A uint module parameter that features take at enable: applied again. */
extern const struct kernel_param_ops exitless_guest_uint_ops;

int exitless_guest_sysfs_init(void);
void exitless_guest_sysfs_exit(void);

#endif /* _EXITLESS_GUEST_GUEST_H */
