/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvipi, guest half: the interface guest/main.c (and dynidle) use.
 */
#ifndef EXITLESS_PVIPI_GUEST_H
#define EXITLESS_PVIPI_GUEST_H

#include <linux/types.h>

/* Module init / exit; exit only after exitless_pvipi_set(false). */
int exitless_pvipi_init(void);
void exitless_pvipi_exit(void);

/*
 * Take over (true) or give back (false) the IPI sending of smp_ops.
 * Giving back waits for an RCU grace period, after which no CPU runs the
 * module's senders any more.  Caller holds exitless_guest.lock; sleeps.
 */
void exitless_pvipi_set(bool on);

/* REGISTER told @cpu's vCPU index (the area header's vcpu_id). */
void exitless_pvipi_learn_idx(unsigned int cpu, u32 vcpu_idx);

/*
 * The polling-target hooks for an idle poll loop (dynidle), called on the
 * polling CPU with interrupts enabled and preemption disabled:
 *	exitless_pvipi_poll_begin();
 *	while (!need_resched() && !exitless_pvipi_poll_woken_up() && ...)
 *		cpu_relax();
 *	exitless_pvipi_poll_end();
 * While the CPU polls, senders of call-function and reschedule IPIs to it
 * write to memory instead of sending; poll_end() then makes the CPU leave
 * idle through the scheduler, which runs what was sent.
 */
void exitless_pvipi_poll_begin(void);
bool exitless_pvipi_poll_woken_up(void);
void exitless_pvipi_poll_end(void);

/* /sys/kernel/exitless/pvipi */
ssize_t exitless_pvipi_show(char *buf);

#endif
