/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference between the kernels exitless supports
 * (Linux 6.1 LTS and 6.12 LTS, as Debian ships them) lives here.  Each
 * block names the version and the upstream change it papers over, and
 * gives feature code a capability macro or helper; feature code never
 * tests LINUX_VERSION_CODE itself.
 */
#ifndef EXITLESS_COMPAT_H
#define EXITLESS_COMPAT_H

#include <linux/version.h>
#include <linux/ftrace.h>

/*
 * ftrace: setting the resume address of a traced function.
 * 6.1:  ftrace_instruction_pointer_set(fregs, ip)
 * 6.7+: renamed ftrace_regs_set_instruction_pointer(fregs, ip) by the
 *       ftrace_regs accessor rework ("ftrace: Rename
 *       ftrace_instruction_pointer_set()").
 * Both are macros on x86, so their presence is the capability test.
 */
#if defined(ftrace_regs_set_instruction_pointer)
#define exitless_ftrace_set_ip(fregs, ip) \
	ftrace_regs_set_instruction_pointer(fregs, ip)
#elif defined(ftrace_instruction_pointer_set)
#define exitless_ftrace_set_ip(fregs, ip) \
	ftrace_instruction_pointer_set(fregs, ip)
#else
#error "exitless: no way to redirect an ftrace'd function on this kernel"
#endif

/*
 * syscore callbacks take a context pointer.
 *
 * Upstream "syscore: Pass context data to callbacks" (v6.19) replaced
 * register_syscore_ops(struct syscore_ops *) and callbacks taking no
 * argument with register_syscore(struct syscore *) and callbacks taking
 * (void *data); it was backported to 6.12.114 (Debian 6.12.117+deb12 has
 * it), not to 6.1.  Since backports make the version number useless, Kbuild
 * probes the header and defines EXITLESS_HAVE_SYSCORE_DATA when
 * register_syscore() exists.
 *
 * Use:
 *	static int foo_suspend(EXITLESS_SYSCORE_ARGS);
 *	static void foo_resume(EXITLESS_SYSCORE_ARGS);
 *	EXITLESS_DEFINE_SYSCORE(foo_syscore, foo_suspend, foo_resume);
 *	exitless_register_syscore(&foo_syscore);
 *	exitless_unregister_syscore(&foo_syscore);
 */
#include <linux/syscore_ops.h>

#ifdef EXITLESS_HAVE_SYSCORE_DATA
#define EXITLESS_SYSCORE_ARGS	void *data
#define EXITLESS_DEFINE_SYSCORE(name, suspend_fn, resume_fn)		\
	static const struct syscore_ops name##_ops = {			\
		.suspend = suspend_fn,					\
		.resume = resume_fn,					\
	};								\
	static struct syscore name = { .ops = &name##_ops }
#define exitless_register_syscore(s)	register_syscore(s)
#define exitless_unregister_syscore(s)	unregister_syscore(s)
#else
#define EXITLESS_SYSCORE_ARGS	void
#define EXITLESS_DEFINE_SYSCORE(name, suspend_fn, resume_fn)		\
	static struct syscore_ops name = {				\
		.suspend = suspend_fn,					\
		.resume = resume_fn,					\
	}
#define exitless_register_syscore(s)	register_syscore_ops(s)
#define exitless_unregister_syscore(s)	unregister_syscore_ops(s)
#endif

/*
 * kvm_apic_send_ipi() is exported by kvm.ko (EXPORT_SYMBOL_GPL, 6.1 and
 * 6.12, checked in both headers packages' Module.symvers) but declared
 * only in arch/x86/kvm/lapic.h, which the headers packages do not ship.
 * Same prototype in 6.1 and 6.12: "Send an IPI as the local APIC @apic
 * would for an ICR write of @icr_low/@icr_high"; in x2APIC mode
 * @icr_high is the 32-bit destination ID.
 */
struct kvm_lapic;
void kvm_apic_send_ipi(struct kvm_lapic *apic, u32 icr_low, u32 icr_high);

/*
 * A cpuidle state with CPUIDLE_FLAG_RCU_IDLE tells RCU itself that the CPU
 * goes idle, around the instruction that idles it (dynidle/guest.c).
 * The instruction is HLT with interrupts enabled by its STI, and the
 * interrupt that ends it returns through the entry code, which tells
 * lockdep that interrupts are on; so lockdep must be told the same before
 * the halt, and that they are off again after it.
 * 6.3+: "cpuidle: Fix ct_idle_*() usage" added the inline
 *       ct_cpuidle_enter() / ct_cpuidle_exit() (linux/cpuidle.h), which
 *       do both around ct_idle_enter() / ct_idle_exit().
 * 6.1:  the driver calls ct_idle_enter() / ct_idle_exit() (exported,
 *       linux/context_tracking.h) with the lockdep and irq-tracer calls
 *       of 6.1's default_idle_call() around them (all exported, or empty
 *       inlines without lockdep).  Without them lockdep saw interrupts on
 *       after the halt while they were off: on a lockdep kernel (make
 *       debug), sched_clock_tick()'s lockdep_assert_irqs_disabled() warned
 *       from cpuidle_enter_state().
 * Inline functions leave no macro to test, hence the version check.
 */
#include <linux/context_tracking.h>
#include <linux/cpuidle.h>
#include <linux/irqflags.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define exitless_ct_idle_enter()	ct_cpuidle_enter()
#define exitless_ct_idle_exit()		ct_cpuidle_exit()
#else
static __always_inline void exitless_ct_idle_enter(void)
{
	trace_hardirqs_on_prepare();
	lockdep_hardirqs_on_prepare();
	ct_idle_enter();
	lockdep_hardirqs_on(_THIS_IP_);
}

static __always_inline void exitless_ct_idle_exit(void)
{
	lockdep_hardirqs_off(_THIS_IP_);
	ct_idle_exit();
}
#endif

/*
 * KVM's vCPU flag for System Management Mode, host code only (defined once
 * <linux/kvm_host.h> came first; a user without it fails to build).
 * 6.1:  HF_SMM_MASK is always defined in asm/kvm_host.h.
 * 6.2+: only with CONFIG_KVM_SMM, when upstream's SMM rework of v6.2
 *       made SMM support optional; without it no vCPU ever enters SMM
 *       (Debian's 6.12 has it).
 */
#ifdef HF_GUEST_MASK
#ifdef HF_SMM_MASK
#define EXITLESS_HF_SMM		HF_SMM_MASK
#else
#define EXITLESS_HF_SMM		0
#endif
#endif

#endif /* EXITLESS_COMPAT_H */
