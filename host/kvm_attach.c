// SPDX-License-Identifier: GPL-2.0
/*
 * Every place exitless_host.ko attaches to KVM, and only here.
 *
 * KVM has no API for out-of-tree hypercalls or VM lifetime events, so the
 * module attaches with ftrace_ops, the way livepatch does: no kernel text
 * or read-only data is written and no symbol address is guessed (exported
 * symbols are referenced directly; a non-exported one is matched by name
 * through ftrace's own filter).
 *
 * kvm_emulate_hypercall() (exported)
 *	ftrace IPMODIFY: redirected to a wrapper that calls KVM first and
 *	then serves our hypercall range; every other call goes to KVM
 *	untouched.  Verified: 6.1.0-56-amd64, 6.12.117+deb12-amd64.
 * kvm_vcpu_reset() (exported)
 *	ftrace, entry only: on INIT (and SVM's reset after a shutdown
 *	intercept), init_event = true, the guest that registered is gone,
 *	so stop writing its memory.  The init_event = false call comes from
 *	kvm_arch_vcpu_create(), before the vCPU has its index: ignored.
 *	A reset that user space makes by setting the registers (QEMU's
 *	system reset of the boot vCPU) never comes here: the kvm_entry
 *	probe below sees that one.  Verified: same kernels.
 * kvm_arch_destroy_vm() (not exported; matched by name)
 *	ftrace, entry only: free per-VM state exactly when the VM dies
 *	(no vCPU runs any more at that point).  Verified: same kernels.
 * kvm_entry tracepoint (kvm.ko, EXPORT_TRACEPOINT_SYMBOL_GPL)
 *	a probe, via tracepoint_probe_register(): a registered vCPU that
 *	enters outside long mode was reset (vm.c), and dynidle samples whether
 *	the host CPU has other runnable work at every VM entry, in the vCPU
 *	thread, where the host already runs (dynidle/host.c).  Called from
 *	svm_vcpu_run() / vmx_vcpu_run() with interrupts off and kvm->srcu
 *	released.  Prototype (vcpu, force_immediate_exit) in both kernels
 *	(upstream v6.9; backported to Debian's 6.1.192, checked in
 *	linux-source-6.1's arch/x86/kvm/trace.h).  Verified: same kernels.
 *
 * kvm_exit tracepoint (kvm.ko, EXPORT_TRACEPOINT_SYMBOL_GPL)
 *	a probe, likewise: pvtimer reads the vCPU's deadline at every VM
 *	exit (pvtimer/host.c).  Called from svm_handle_exit() (6.1) or the
 *	vcpu_run paths, in the vCPU thread with preemption off (tracepoint
 *	probes always are), interrupts on or off.  Prototype (vcpu, isa) in
 *	both kernels.  Verified: same kernels.
 *
 * kvm_set_msr() (exported)
 *	called, not hooked: pvtimer's host backstop writes the vCPU's
 *	MSR_IA32_TSC_DEADLINE as the guest's own WRMSR would (KVM re-arms
 *	the local APIC timer), from the vCPU thread only: at a VM exit
 *	(the kvm_exit probe above) or in PVTIMER_ENABLE / PVTIMER_SYNC,
 *	and again from the kvm_entry probe when KVM dropped that write.
 *	Only for a vCPU whose guest asked for it (pvtimer/host.c).
 *	Prototype (vcpu, index, data) in both kernels.  Verified: same
 *	kernels.
 * kvm_get_msr() (exported)
 *	called: at the first entry after such a write, pvtimer reads the
 *	TSC deadline back.  On VMX a write made at the exit that the VMX
 *	preemption timer forced is lost: vmx_vcpu_run() fires kvm_exit
 *	before that exit's fastpath, which takes the timer then in use,
 *	the one just written, as expired (kvm_lapic_expired_hv_timer()),
 *	delivers its vector and zeroes the deadline.  (SVM keeps it: the
 *	write clears the expiry still pending, __start_apic_timer().)  At
 *	the entry, with interrupts off and the expiry delivered, a write
 *	is armed.  Prototype (vcpu, index, &data) in both kernels, checked
 *	in linux-source-6.1 and the 6.12 headers.
 * kvm->arch.hlt_in_guest, kvm->arch.mwait_in_guest (struct kvm_arch,
 *	asm/kvm_host.h)
 *	read: a VM whose HLT or MWAIT does not exit
 *	(KVM_CAP_X86_DISABLE_EXITS, set before any vCPU exists) gets no
 *	pvtimer, whose guest counts on the halt's exit.  Both fields in
 *	both kernels' headers.
 *
 * How a call in our range is served: the wrapper first runs KVM's own
 * kvm_emulate_hypercall().  KVM refuses callers outside CPL 0 with
 * -KVM_EPERM (the CPL is not readable from a module: kvm_x86_ops and
 * kvm_require_cpl() are not exported on 6.12), truncates 32-bit callers'
 * result to 32 bits, and answers a 64-bit CPL-0 caller of a number it
 * doesn't know with exactly -KVM_ENOSYS, after skipping the instruction
 * and counting the hypercall in its stats and kvm:kvm_hypercall.  Only in
 * that last case does exitless run the call and replace RAX (and the
 * documented output registers).  So user mode and 32-bit callers see KVM's
 * answer, and stock KVM behaviour is preserved for everything else.
 *
 * Unload while vCPUs run: the ftrace callback (preemption disabled)
 * takes a reference on exitless_inflight before the vCPU enters our
 * wrapper, which drops it when done; unload unregisters the ftrace_ops
 * (no new redirects), kills the reference and waits for its release,
 * then for an RCU-tasks grace period so that no task is still on the
 * last instructions of the wrapper.  The reference is a percpu_ref: per
 * CPU while attached, so no two host CPUs write a shared cache line for
 * a hypercall, and one atomic count only while unload drains it.
 * The destroy hook goes last, after the module has freed every VM's state
 * (exitless_detach_destroy()): a VM that QEMU destroys while the module
 * unloads then never has a host timer of ours outlive its vCPUs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/ftrace.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/percpu-refcount.h>
#include <linux/rcupdate.h>
#include <linux/tracepoint.h>
#include <uapi/linux/kvm_para.h>

#include "compat/compat.h"
#include "internal.h"
#include "abi_policy.h"
#include "exitless_trace.h"
#include "dynidle/host.h"
#include "pvtimer/host.h"

static struct percpu_ref exitless_inflight;
static DECLARE_COMPLETION(exitless_drained);

static void exitless_inflight_release(struct percpu_ref *ref)
{
	complete(&exitless_drained);
}

static unsigned long exitless_arg0(struct ftrace_regs *fregs)
{
	return ftrace_get_regs(fregs)->di;
}

static unsigned long exitless_arg1(struct ftrace_regs *fregs)
{
	return ftrace_get_regs(fregs)->si;
}

/* See kvm_set_msr() in the comment on top. */
int exitless_kvm_set_tsc_deadline(struct kvm_vcpu *vcpu, u64 tsc)
{
	return kvm_set_msr(vcpu, MSR_IA32_TSC_DEADLINE, tsc);
}

/* See kvm_get_msr() in the comment on top. */
int exitless_kvm_get_tsc_deadline(struct kvm_vcpu *vcpu, u64 *tsc)
{
	return kvm_get_msr(vcpu, MSR_IA32_TSC_DEADLINE, tsc);
}

/* See kvm->arch.hlt_in_guest in the comment on top. */
bool exitless_kvm_halts_in_guest(struct kvm *kvm)
{
	return READ_ONCE(kvm->arch.hlt_in_guest) ||
	       READ_ONCE(kvm->arch.mwait_in_guest);
}

/* The replacement for kvm_emulate_hypercall(); see the comment on top. */
static noinline int exitless_emulate_hypercall(struct kvm_vcpu *vcpu)
{
	unsigned long *regs = vcpu->arch.regs;
	struct exitless_hc hc = {
		.nr = regs[VCPU_REGS_RAX],
		.a0 = regs[VCPU_REGS_RBX],
		.a1 = regs[VCPU_REGS_RCX],
		.a2 = regs[VCPU_REGS_RDX],
		.a3 = regs[VCPU_REGS_RSI],
	};
	long ret;
	int r;

	/* not a tail call: the hook must see this module as the caller */
	r = kvm_emulate_hypercall(vcpu);

	if (!vcpu->arch.guest_state_protected &&
	    regs[VCPU_REGS_RAX] == (unsigned long)-KVM_ENOSYS) {
		ret = exitless_dispatch(vcpu, &hc);
		regs[VCPU_REGS_RAX] = ret;
		if (hc.out_regs > 0)
			regs[VCPU_REGS_RBX] = hc.out[0];
		if (hc.out_regs > 1)
			regs[VCPU_REGS_RCX] = hc.out[1];
		if (hc.out_regs > 2)
			regs[VCPU_REGS_RDX] = hc.out[2];
		trace_exitless_hypercall(vcpu->vcpu_id, hc.nr, hc.a0, hc.a1,
					 hc.a2, hc.a3, ret);
	}

	/* the last put after exitless_detach()'s kill completes its wait */
	percpu_ref_put(&exitless_inflight);
	return r;
}

static void notrace exitless_hypercall_hook(unsigned long ip,
					    unsigned long parent_ip,
					    struct ftrace_ops *ops,
					    struct ftrace_regs *fregs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)exitless_arg0(fregs);

	/* our own call to KVM's handler, or not our number: leave it */
	if (within_module(parent_ip, THIS_MODULE))
		return;
	if (!exitless_hc_in_range(vcpu->arch.regs[VCPU_REGS_RAX]))
		return;
	/* live: exitless_detach() kills it only after unregistering us */
	percpu_ref_get(&exitless_inflight);
	exitless_ftrace_set_ip(fregs, (unsigned long)exitless_emulate_hypercall);
}

static void notrace exitless_reset_hook(unsigned long ip,
					unsigned long parent_ip,
					struct ftrace_ops *ops,
					struct ftrace_regs *fregs)
{
	/* kvm_vcpu_reset(vcpu, init_event): see the list on top */
	if (exitless_arg1(fregs) & 0xff)
		exitless_vcpu_reset((struct kvm_vcpu *)exitless_arg0(fregs));
}

static void notrace exitless_destroy_hook(unsigned long ip,
					  unsigned long parent_ip,
					  struct ftrace_ops *ops,
					  struct ftrace_regs *fregs)
{
	exitless_vm_destroy((struct kvm *)exitless_arg0(fregs));
}

/* kvm_entry's probe: TP_PROTO(struct kvm_vcpu *vcpu, bool force_immediate_exit) */
static void exitless_entry_probe(void *data, struct kvm_vcpu *vcpu,
				 bool force_immediate_exit)
{
	/* first: a vCPU reset by user space writes nothing after it */
	exitless_vcpu_entry_check(vcpu);
	exitless_dynidle_vcpu_entry(vcpu);
	exitless_pvtimer_vcpu_entry(vcpu);
}

/* kvm_exit's probe: TP_PROTO(struct kvm_vcpu *vcpu, u32 isa) */
static void exitless_exit_probe(void *data, struct kvm_vcpu *vcpu, u32 isa)
{
	exitless_pvtimer_vcpu_exit(vcpu);
}

static struct ftrace_ops exitless_hypercall_ops = {
	.func = exitless_hypercall_hook,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		 FTRACE_OPS_FL_RECURSION,
};

static struct ftrace_ops exitless_reset_ops = {
	.func = exitless_reset_hook,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION,
};

static struct ftrace_ops exitless_destroy_ops = {
	.func = exitless_destroy_hook,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION,
};

static int exitless_hook_ip(struct ftrace_ops *ops, unsigned long ip,
			    const char *name)
{
	int r = ftrace_set_filter_ip(ops, ip, 0, 0);

	if (!r)
		r = register_ftrace_function(ops);
	if (r)
		pr_err("cannot attach to %s: %d\n", name, r);
	return r;
}

static void exitless_free_filters(void)
{
	ftrace_free_filter(&exitless_hypercall_ops);
	ftrace_free_filter(&exitless_reset_ops);
	ftrace_free_filter(&exitless_destroy_ops);
}

int exitless_attach(void)
{
	char exitless_destroy_fn[] = "kvm_arch_destroy_vm";
	int r;

	r = percpu_ref_init(&exitless_inflight, exitless_inflight_release, 0,
			    GFP_KERNEL);
	if (r)
		return r;

	/* state hooks first: once hypercalls are served, state must die right */
	r = ftrace_set_filter(&exitless_destroy_ops, exitless_destroy_fn,
			      strlen(exitless_destroy_fn), 0);
	if (!r)
		r = register_ftrace_function(&exitless_destroy_ops);
	if (r) {
		pr_err("cannot attach to %s: %d\n", exitless_destroy_fn, r);
		goto out_free_filters;
	}
	r = exitless_hook_ip(&exitless_reset_ops,
			     (unsigned long)kvm_vcpu_reset, "kvm_vcpu_reset");
	if (r)
		goto out_unregister_destroy;
	r = tracepoint_probe_register(&__tracepoint_kvm_entry,
				      exitless_entry_probe, NULL);
	if (r) {
		pr_err("cannot attach to tracepoint kvm_entry: %d\n", r);
		goto out_unregister_reset;
	}
	r = tracepoint_probe_register(&__tracepoint_kvm_exit,
				      exitless_exit_probe, NULL);
	if (r) {
		pr_err("cannot attach to tracepoint kvm_exit: %d\n", r);
		goto out_unregister_entry;
	}
	r = exitless_hook_ip(&exitless_hypercall_ops,
			     (unsigned long)kvm_emulate_hypercall,
			     "kvm_emulate_hypercall");
	if (r)
		goto out_unregister_exit;
	return 0;

out_unregister_exit:
	tracepoint_probe_unregister(&__tracepoint_kvm_exit,
				    exitless_exit_probe, NULL);
out_unregister_entry:
	tracepoint_probe_unregister(&__tracepoint_kvm_entry,
				    exitless_entry_probe, NULL);
	tracepoint_synchronize_unregister();
out_unregister_reset:
	unregister_ftrace_function(&exitless_reset_ops);
out_unregister_destroy:
	unregister_ftrace_function(&exitless_destroy_ops);
out_free_filters:
	exitless_free_filters();
	percpu_ref_exit(&exitless_inflight);
	return r;
}

void exitless_detach(void)
{
	/* no new redirect after this; ftrace waits for running callbacks */
	unregister_ftrace_function(&exitless_hypercall_ops);
	percpu_ref_kill(&exitless_inflight);
	wait_for_completion(&exitless_drained);
	/*
	 * The release, module code, may have been called from the ref's
	 * RCU callback: rcu_barrier() returns once that callback has
	 * returned.  (A release called from the wrapper's put is covered by
	 * the RCU-tasks wait below, as the wrapper's own tail is.)
	 */
	rcu_barrier();
	percpu_ref_exit(&exitless_inflight);
	/* a vCPU may still be on the wrapper's last instructions */
	synchronize_rcu_tasks();
	/* no probe runs on a vCPU entry or exit any more after this */
	tracepoint_probe_unregister(&__tracepoint_kvm_exit,
				    exitless_exit_probe, NULL);
	tracepoint_probe_unregister(&__tracepoint_kvm_entry,
				    exitless_entry_probe, NULL);
	tracepoint_synchronize_unregister();
	/*
	 * No vCPU is in our code now.  The reset hook goes; the destroy hook
	 * stays until exitless_vm_exit() has stopped every VM's timers (see
	 * exitless_detach_destroy()).
	 */
	unregister_ftrace_function(&exitless_reset_ops);
}

/*
 * Last, after exitless_vm_exit(): until then a VM that KVM destroys still
 * has its state freed (its timers cancelled) before KVM frees its vCPUs,
 * which those timers point to.  Returns once no destroy hook runs.
 */
void exitless_detach_destroy(void)
{
	unregister_ftrace_function(&exitless_destroy_ops);
	exitless_free_filters();
}
