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
 * an interrupt while polling) is due: have the host deliver it, with
 * exitless_pvtimer_poll_sync().
 */
bool exitless_pvtimer_poll_due(void);

/* This CPU's pvtimer deadline, if due (interrupts off). */
enum exitless_pvtimer_due {
	EXITLESS_PVTIMER_DUE_NONE,	/* not due, or not pvtimer's to deliver */
	EXITLESS_PVTIMER_DUE_LAZY,	/* due, and the host may not know it */
	EXITLESS_PVTIMER_DUE_HOST,	/* due, and the host delivers it */
};

enum exitless_pvtimer_due exitless_pvtimer_due(void);

/*
 * dynidle's poll, interrupts on: a PVTIMER_SYNC for a lazy deadline, whose
 * vector then comes at the return (no-op if nothing is lazy).
 */
void exitless_pvtimer_poll_sync(void);

/* Expiry interrupts this CPU has handled so far. */
u64 exitless_pvtimer_irq_count(void);

/* /sys/kernel/exitless/pvtimer */
ssize_t exitless_pvtimer_show(char *buf);

#endif
