// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_anchor: run in L1 by the harness (lib.sh, kvm_anchor_start) around
 * an L2 stage whose L1 runs on two TCG threads.  It holds one VM open,
 * with one vCPU that never runs and whose local APIC is disabled (both
 * in hardware, by MSR_IA32_APICBASE, and in software, as at reset), and
 * waits for SIGTERM.
 *
 * Why: KVM flips static keys as VMs and their APICs come and go:
 * preempt_notifier_key at each VM's creation and destruction,
 * apic_sw_disabled when a vCPU is created or reset and when its guest
 * enables or disables its APIC (an L2 CPU's bring-up, its shutdown),
 * apic_hw_disabled likewise for APICBASE.  Each flip from 0 to 1 or back
 * patches L1's kernel text (text_poke_bp()), and under multi-threaded
 * TCG a patch may leave the other L1 CPU running stale code: on
 * 2026-12-06 (6.1, the dynidle boot), as the L2's QEMU exited, L1's CPU
 * 0 waited in smp_call_function_many_cond() for CPU 1, which spun in
 * exc_int3() with interrupts off.  Traced in L1 (ftrace on
 * jump_label_update(), the same boot, 6.1), one 2-vCPU L2's life flipped
 * them six times: at VM creation, at vCPU creation, 1 s after its guest
 * enabled its APICs (the deferred decrement), at its guest's APIC
 * disable in shutdown, at VM destruction, and 1 s after: two while
 * its vCPUs ran, two as its QEMU exited.  While this VM lives, each of
 * those keys stays on (its count never falls back to 0): with it, the
 * same trace showed no flip from the L2's creation to its destruction.
 * KVM then only takes the branches that check each APIC's own state, as
 * it does whenever any guest's APIC is disabled.  Its own creation and
 * exit flip them too, so the harness starts and stops it with L1's
 * other CPUs offline (lib.sh, one_cpu): in one boot that did not, L1
 * hung in exc_int3() as the anchor started.  It does not cure that L1
 * of everything: in one boot with it (and the trace on), L1's QEMU
 * process hit its stack guard page in exc_page_fault() with a per-CPU
 * base of 0, after the L2 had stalled.
 *
 * Prints "kvm_anchor: holding ..." once ready; exits 1 with a message
 * if any step fails, 0 on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MSR_IA32_APICBASE	0x1b
/* the default base, with neither the enable bit (11) nor x2APIC (10) */
#define APICBASE_DISABLED	0xfee00000ULL

static int fail(const char *what)
{
	fprintf(stderr, "kvm_anchor: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msrs;
	sigset_t set;
	int kvm, vm, vcpu, sig;

	/* block the signals first: sigwait() below takes them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return fail("sigprocmask");

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	/* an in-kernel local APIC: the keys above are the lapic's */
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		return fail("KVM_CREATE_IRQCHIP");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = 1;
	msrs.entry.index = MSR_IA32_APICBASE;
	msrs.entry.data = APICBASE_DISABLED;
	if (ioctl(vcpu, KVM_SET_MSRS, &msrs) != 1)
		return fail("KVM_SET_MSRS (APICBASE, disabled)");

	printf("kvm_anchor: holding a VM with 1 vCPU, its APIC disabled (pid %d)\n",
	       (int)getpid());
	fflush(stdout);

	if (sigwait(&set, &sig))
		return fail("sigwait");
	return 0;
}
