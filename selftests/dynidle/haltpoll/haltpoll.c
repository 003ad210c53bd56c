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
 * unchanged but for default_idle(), which 6.1's driver calls and the
 * kernel exports only when the driver itself is a module: 6.1's body is
 * given here (6.12's driver calls arch_cpu_idle(), which is exported).
 * The haltpoll governor (built in on 6.12, absent on 6.1) and its
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
#include <asm/irqflags.h>
#include <asm/processor.h>

/* 6.1's arch/x86/kernel/process.c default_idle() (unused on 6.12) */
static void __cpuidle __maybe_unused exitless_haltpoll_default_idle(void)
{
	raw_safe_halt();
}

#define default_idle exitless_haltpoll_default_idle
#include "cpuidle-haltpoll.c"
