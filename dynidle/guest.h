/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dynidle, guest half: the interface guest/main.c uses.
 */
#ifndef EXITLESS_DYNIDLE_GUEST_H
#define EXITLESS_DYNIDLE_GUEST_H

#include <linux/types.h>

struct exitless_dynidle_section;

/* Module init / exit; exit only after exitless_dynidle_set(false). */
int exitless_dynidle_init(void);
void exitless_dynidle_exit(void);

/*
 * Register (true) or unregister (false) the dynidle cpuidle driver on
 * every online CPU.  Unregistering returns once no CPU runs the driver's
 * code any more.  Caller holds cpus_read_lock() and exitless_guest.lock;
 * sleeps.
 */
void exitless_dynidle_set(bool on);

/*
 * CPU hotplug (CPUHP_AP_ONLINE_DYN, on @cpu, same locks held): add or
 * remove @cpu's cpuidle device while the driver is registered.
 */
void exitless_dynidle_cpu_online(unsigned int cpu);
void exitless_dynidle_cpu_offline(unsigned int cpu);

/*
 * @cpu's dynidle section, which the host writes once @cpu registered its
 * area with layout version 2 (NULL: none).  The memory must stay valid
 * until exitless_dynidle_exit().
 */
void exitless_dynidle_learn_section(unsigned int cpu,
				    struct exitless_dynidle_section *sec);

/* Is @drv the dynidle driver (which never polls past a known deadline)? */
struct cpuidle_driver;
bool exitless_dynidle_is_driver(struct cpuidle_driver *drv);

/* /sys/kernel/exitless/dynidle and dynidle_cpus */
ssize_t exitless_dynidle_show(char *buf);
ssize_t exitless_dynidle_cpus_show(char *buf);

#endif
