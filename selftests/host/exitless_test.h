/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the exitless host ABI selftests.
 *
 * Each test is one file holding its guest and host code, as upstream KVM
 * selftests are.  What they share lives here and in exitless_util.c:
 *
 *  - exl_hypercall(): the guest side of the calling convention of
 *    include/uapi/exitless.h (RAX = number, RBX/RCX/RDX/RSI = a0..a3 in;
 *    RAX/RBX/RCX/RDX out);
 *  - an "executor" guest: each vCPU waits in a ucall, the host puts one
 *    request (a hypercall, a guest read or write, a sweep over numbers) in
 *    the vCPU's mailbox in guest memory and runs the vCPU to the next
 *    ucall, so that all checks are made, and reported as TAP, on the host;
 *  - host-side readers for the host module's debugfs stats and for the
 *    kernel log (/dev/kmsg).
 */
#ifndef EXITLESS_SELFTEST_H
#define EXITLESS_SELFTEST_H

#include <stdbool.h>
#include <linux/kvm_para.h>

#include "kvm_util.h"
#include "processor.h"

#include "uapi/exitless.h"

/* What KVM itself answers, as seen in the guest's RAX. */
#define EXL_KVM_ENOSYS		((u64)-KVM_ENOSYS)
#define EXL_KVM_EPERM		((u64)-KVM_EPERM)
/* Our own codes, negated as the ABI returns them. */
#define EXL_RET(e)		((u64)-(s64)(e))

#define EXL_MAX_VCPUS		64

#define EXL_HOST_MODULE		"exitless_host"
#define EXL_SYSFS_MODULE	"/sys/module/exitless_host"
#define EXL_STATS_PATH		"/sys/kernel/debug/exitless/stats"

struct exl_hc_out {
	u64 rax;
	u64 rbx;
	u64 rcx;
	u64 rdx;
};

/* Set by the host (exl_vm_create) when the CPU wants VMCALL, not VMMCALL. */
extern bool exl_use_vmcall;

/* Guest side: one hypercall, every output register returned. */
static inline void exl_hypercall(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3,
				 struct exl_hc_out *out)
{
	u64 rax = nr, rbx = a0, rcx = a1, rdx = a2;

	if (exl_use_vmcall)
		asm volatile("vmcall"
			     : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx)
			     : "S"(a3) : "memory");
	else
		asm volatile("vmmcall"
			     : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx)
			     : "S"(a3) : "memory");
	out->rax = rax;
	out->rbx = rbx;
	out->rcx = rcx;
	out->rdx = rdx;
}

/* Guest side: the current privilege level, from CS's RPL. */
static inline u16 exl_guest_cpl(void)
{
	u16 cs;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

/*
 * Guest side: sti; hlt; cli, halting until an interrupt comes.
 *
 * QEMU's emulated SVM (helper_vmrun() in QEMU 7.2, Debian 12's) saves
 * sti's interrupt shadow in the VMCB's int_state at a #VMEXIT but never
 * loads it back at VMRUN.  When a #VMEXIT lands between the sti and the
 * hlt, KVM may then deliver a pending interrupt right there: its handler
 * returns to the hlt, which halts with that interrupt already taken and,
 * if it was the last one due, nothing left to wake it.  Every handler of
 * an interrupt that ends an exl_guest_halt() calls exl_guest_halt_fixup(),
 * which steps over the hlt in that one case, so that the caller sees the
 * interrupt and checks its condition again.  On a CPU that keeps the
 * shadow (hardware, KVM) an interrupt never comes with RIP at that hlt.
 */
void exl_guest_halt(void);
extern const char exl_guest_hlt_insn[];

/* In a guest handler: true if it stepped over exl_guest_halt()'s hlt. */
static inline bool exl_guest_halt_fixup(struct ex_regs *regs)
{
	if (regs->rip != (u64)exl_guest_hlt_insn)
		return false;
	regs->rip++;	/* hlt is one byte */
	return true;
}

/* Executor requests (host -> guest mailbox). */
enum exl_op {
	EXL_OP_NONE,
	EXL_OP_HYPERCALL,	/* nr, a[0..3] -> out */
	EXL_OP_READ64,		/* a[0] = gva -> out.rax */
	EXL_OP_WRITE64,		/* a[0] = gva, a[1] = value */
	EXL_OP_SWEEP,		/* nr .. a[0], expect a[1] -> out */
	EXL_OP_CPL,		/* -> out.rax */
	EXL_OP_DONE,
};

/* The stage the executor reports in GUEST_SYNC while it waits. */
#define EXL_SYNC_WAIT		0x45584cUL

struct exl_mbox {
	u64 op;
	u64 nr;
	u64 a[4];
	struct exl_hc_out out;
};

extern struct exl_mbox exl_mbox[EXL_MAX_VCPUS];

/* Guest entry point of the executor; vCPU i is started with i in RDI. */
void exl_guest_executor(u64 idx);

/*
 * Host side.
 */
void exl_init(void);

/* Tell the guest image of @vm which hypercall instruction to use. */
void exl_vm_sync(struct kvm_vm *vm);

/*
 * A VM with nr_vcpus vCPUs (index == vCPU id) that will run guest_code with
 * the index in RDI.  Nothing has run yet.
 */
struct kvm_vm *exl_vm_create(unsigned int nr_vcpus, struct kvm_vcpu *vcpus[],
			     void *guest_code);
/* Run an executor vCPU of such a VM up to its first wait. */
void exl_executor_start(struct kvm_vcpu *vcpu);
/* Both: a VM whose vCPUs all wait in the executor. */
struct kvm_vm *exl_vm_create_executor(unsigned int nr_vcpus,
				      struct kvm_vcpu *vcpus[]);

/* Called for each KVM_EXIT_MMIO the executor's vCPUs make; NULL = fail. */
extern void (*exl_mmio_handler)(struct kvm_vcpu *vcpu);

/* Run @vcpu to its next ucall; MMIO exits go to exl_mmio_handler. */
u64 exl_vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);

void exl_hc(struct kvm_vcpu *vcpu, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3,
	    struct exl_hc_out *out);
u64 exl_guest_read64(struct kvm_vcpu *vcpu, u64 gva);
void exl_guest_write64(struct kvm_vcpu *vcpu, u64 gva, u64 val);
/*
 * Issue every number in [first, last]; returns how many did not answer
 * RAX == expect, the first such number in *bad_nr and its RAX in *bad_rax.
 */
u64 exl_guest_sweep(struct kvm_vcpu *vcpu, u64 first, u64 last, u64 expect,
		    u64 *bad_nr, u64 *bad_rax);
u16 exl_guest_cpl_of(struct kvm_vcpu *vcpu);
void exl_guest_done(struct kvm_vcpu *vcpu);

/* PROBE from @vcpu; true if the host module answered. */
bool exl_probe(struct kvm_vcpu *vcpu, struct exl_hc_out *out);

/* Fill a guest area's guest-owned header fields (magic, version, size). */
void exl_area_init(struct kvm_vm *vm, u64 gpa, u16 version, u16 size);

bool exl_module_loaded(void);

/* The host module's debugfs stats. */
#define EXL_STATS_MAX		64
struct exl_stats {
	int nr;
	char name[EXL_STATS_MAX][48];
	u64 val[EXL_STATS_MAX];
};

/* 0, or -errno if the file could not be read. */
int exl_stats_read(struct exl_stats *st);
/* The value of @name; false if the file or the line is missing. */
bool exl_stats_get(const struct exl_stats *st, const char *name, u64 *val);
/* Re-read the stats and return @name, or -1 (and a message) if missing. */
s64 exl_stat(const char *name);

/* The kernel log: open at its end, then count and print new records. */
int exl_kmsg_open(void);
int exl_kmsg_new_records(int fd, const char *prefix);

/* Run a command (argv[0] looked up in PATH); its exit status, or -1. */
int exl_run_cmd(char *const argv[]);

/* Seconds since some fixed point, for timeouts and durations. */
double exl_now(void);

#endif /* EXITLESS_SELFTEST_H */
