/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's side of the exitless calling convention (include/uapi/exitless.h):
 * RAX = number, RBX/RCX/RDX/RSI = arguments 0..3; RAX = status and
 * RBX/RCX/RDX = call-specific outputs on return.
 *
 * KVM_HYPERCALL is an alternative patched at module load: VMCALL on Intel,
 * VMMCALL on AMD.  Only ever call these after kvm_para_available() said
 * yes: on bare metal or another hypervisor the instruction faults.
 */
#ifndef _EXITLESS_GUEST_HYPERCALL_H
#define _EXITLESS_GUEST_HYPERCALL_H

#include <linux/irqflags.h>
#include <linux/kvm_para.h>
#include <linux/types.h>

#include "uapi/exitless.h"

#ifndef CONFIG_X86_64
#error "exitless: the hypercall ABI is defined for x86-64 only"
#endif

/* RBX/RCX/RDX as the host left them. */
struct exitless_hc_out {
	unsigned long rbx;
	unsigned long rcx;
	unsigned long rdx;
};

static __always_inline long exitless_hypercall(unsigned long nr,
					       unsigned long a0,
					       unsigned long a1,
					       unsigned long a2,
					       unsigned long a3,
					       struct exitless_hc_out *out)
{
	unsigned long rax = nr, rbx = a0, rcx = a1, rdx = a2;

	/* The host may write guest memory (the areas): clobber "memory". */
	asm volatile(KVM_HYPERCALL
		     : "+a" (rax), "+b" (rbx), "+c" (rcx), "+d" (rdx)
		     : "S" (a3)
		     : "memory");
	if (out) {
		out->rbx = rbx;
		out->rcx = rcx;
		out->rdx = rdx;
	}
	return (long)rax;
}

/*
 * The same call, for a caller that has just disabled interrupts that were
 * enabled: they are enabled for the hypercall alone.  STI's shadow keeps
 * them off until the hypercall instruction has completed, so the host
 * serves the call exactly as with them off; an interrupt that became
 * pending meanwhile (the vCPU's own timer, say) is injected at the
 * re-entry instead of KVM opening an interrupt window, one more exit,
 * for the caller's later local_irq_restore().  It may be taken between
 * the hypercall and the CLI: the caller must allow that, as it would
 * just before its local_irq_save(), and must not be preemptible.
 */
static __always_inline long exitless_hypercall_irqs_on(unsigned long nr,
						       unsigned long a0,
						       unsigned long a1,
						       unsigned long a2,
						       unsigned long a3)
{
	unsigned long rax = nr, rbx = a0, rcx = a1, rdx = a2;

	trace_hardirqs_on();
	asm volatile("sti\n\t" KVM_HYPERCALL "\n\tcli"
		     : "+a" (rax), "+b" (rbx), "+c" (rcx), "+d" (rdx)
		     : "S" (a3)
		     : "memory");
	trace_hardirqs_off();
	return (long)rax;
}

/* What PROBE tells about the host module. */
struct exitless_probe {
	u64 version;	/* host ABI version */
	u64 features;	/* EXITLESS_F_* the host offers */
	u64 epoch;	/* host instance; changes on reload or migration */
};

static inline long exitless_hc_probe(struct exitless_probe *p)
{
	struct exitless_hc_out out;
	long ret;

	ret = exitless_hypercall(EXITLESS_HC_PROBE, EXITLESS_ABI_VERSION,
				 0, 0, 0, &out);
	if (!ret) {
		p->version = out.rbx;
		p->features = out.rcx;
		p->epoch = out.rdx;
	}
	return ret;
}

/* Register the calling vCPU's area; applies to the CPU that executes it. */
static inline long exitless_hc_register(phys_addr_t gpa, unsigned int size,
					unsigned int layout, u64 *epoch)
{
	struct exitless_hc_out out;
	long ret;

	ret = exitless_hypercall(EXITLESS_HC_REGISTER, gpa, size, layout, 0,
				 &out);
	if (!ret)
		*epoch = out.rbx;
	return ret;
}

/* Unregister the calling vCPU's area. */
static inline long exitless_hc_unregister(void)
{
	return exitless_hypercall(EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, NULL);
}

#endif /* _EXITLESS_GUEST_HYPERCALL_H */
