/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvtimer, guest half: the interface guest/main.c and dynidle use.
 */
#ifndef EXITLESS_PVTIMER_GUEST_H
#define EXITLESS_PVTIMER_GUEST_H

#include <linux/types.h>

struct exitless_pvtimer_section;

/*
 * Module init / exit.  init finds what the clock event device needs
 * (x2APIC, TSC deadline timer, the interrupt and sched_switch
 * tracepoints) and returns 0 even without them: exitless_pvtimer_usable()
 * then says no.  exit only after exitless_pvtimer_set(false).
 */
int exitless_pvtimer_init(void);
void exitless_pvtimer_exit(void);
bool exitless_pvtimer_usable(void);

/*
 * On (true): on every online CPU whose area has a pvtimer section, have
 * the host serve it (PVTIMER_ENABLE) and make the CPU's clock event
 * device "exitless-pvtimer" (preferred over lapic-deadline); also after a
 * host change.  Off (false): park the devices (each arms its local APIC
 * timer itself, as lapic-deadline does), then PVTIMER_DISABLE.  Caller
 * holds cpus_read_lock() and exitless_guest.lock; sleeps.  Honours the
 * "pvtimer" module parameter.
 */
void exitless_pvtimer_set(bool on);

/* Unload: every CPU back to the local APIC timer.  Same locks. */
void exitless_pvtimer_unbind_all(void);

/*
 * Same host, periodic re-probe: PVTIMER_ENABLE again only on CPUs that
 * are not served (fell back to the APIC timer, or never bound).  Same
 * locks as exitless_pvtimer_set().
 */
void exitless_pvtimer_refresh(void);

/* CPU hotplug (on @cpu, same locks held as exitless_pvtimer_set()). */
void exitless_pvtimer_cpu_online(unsigned int cpu);
void exitless_pvtimer_cpu_offline(unsigned int cpu);

/* @cpu registered (sec) or will register again (NULL). */
void exitless_pvtimer_learn_section(unsigned int cpu,
				    struct exitless_pvtimer_section *sec);

/*
 * dynidle's poll loop: a deadline armed without telling the host (from
 * an interrupt while polling) is due: stop polling and halt.
 */
bool exitless_pvtimer_poll_due(void);

/* /sys/kernel/exitless/pvtimer */
ssize_t exitless_pvtimer_show(char *buf);

#endif
