// SPDX-License-Identifier: GPL-2.0
/*
 * exitless_haltpoll: the running kernel's own cpuidle-haltpoll driver,
 * built as a module, so that make bench can compare it with dynidle in
 * one L2 boot, loading and removing each in turn (bench.sh "abab").
 * Debian builds cpuidle-haltpoll into the kernel, where it registers
 * only at boot (cpuidle_haltpoll.force=1) and never goes away.  Test
 * only: not part of exitless, not in the DKMS package.
 *
 * build.sh copies drivers/cpuidle/cpuidle-haltpoll.c from Debian's
 * linux-source of the same series next to this file; it is compiled
 * unchanged but for default_idle(), which the kernel exports only when
 * the driver itself is a module: the same body is given here.  The
 * haltpoll governor (built in on 6.12, absent on 6.1) and its
 * guest_halt_poll_* parameters are the kernel's own, as for the built-in
 * driver.
 */
#include <linux/cpu.h>
#include <linux/cpuidle.h>
#include <linux/cpuidle_haltpoll.h>
#include <linux/init.h>
#include <linux/kvm_para.h>
#include <linux/module.h>
#include <linux/sched/idle.h>
#include <linux/version.h>
#include <asm/irqflags.h>
#include <asm/processor.h>

/* arch/x86/kernel/process.c's default_idle() of the same kernel */
static void exitless_haltpoll_default_idle(void)
{
	raw_safe_halt();
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	raw_local_irq_disable();
#endif
}

#define default_idle exitless_haltpoll_default_idle
#include "cpuidle-haltpoll.c"
