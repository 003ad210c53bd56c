// SPDX-License-Identifier: GPL-2.0
/*
 * exitless_pvtimer_test: the pvtimer calls (ENABLE, DISABLE, SYNC) and the
 * pvtimer section, against a raw guest with an in-kernel local APIC.
 *
 * The guest runs in x2APIC mode with two handlers: the pvtimer vector
 * (PT_VECTOR), which records the TSC it arrived at, and a watchdog vector
 * (WD_VECTOR) on the local APIC's own TSC-deadline timer, armed around
 * every wait so that a lost pvtimer interrupt ends a HLT instead of hanging
 * the test.  The host drives the guest through a mailbox, as the executor
 * of exitless_util.c, and makes every check.
 *
 *  1. hostile: ENABLE, DISABLE and SYNC with bad vectors and flags, before
 *     REGISTER, on areas of layout < 3 or too small for the section;
 *     unknown numbers of the pvtimer sub-range; deadlines U64_MAX, 1 and 0
 *     and a seq at U64_MAX (and wrapping) in the section, then SYNC.  Each
 *     call gets its documented answer and the kernel log stays silent.
 *  2. delivery: REPS deadlines ~DELTA_US ahead, each written to the section
 *     (deadline, then seq + 1) before a HLT with no hypercall: the host
 *     reads it at the HLT exit; every interrupt must come, none before its
 *     deadline.  Then the same with PVTIMER_SYNC and a busy loop, and with
 *     the deadline moved later, without a call, after the SYNC.  The
 *     lateness is printed (cycles and us).
 *  3. DISABLE: a deadline armed (with SYNC), then DISABLE: the watchdog
 *     ends the HLT, and no interrupt comes that was not already pending in
 *     the IRR when DISABLE returned.
 *  3b. unreadable: the section in a memslot of its own, which is then
 *     deleted, so that no exit can read it (the guest's writes to it exit
 *     as MMIO): the first exit after the deletion injects the vector at
 *     once (a halting guest would otherwise sleep on a deadline the host
 *     never read); the further ones, and the failing SYNC, inject nothing
 *     more.
 *  4. the host's backstop: ENABLE with EXITLESS_PVTIMER_ENABLE_BACKSTOP
 *     (hostile windows refused); the vCPU's TSC deadline (KVM_GET_MSRS)
 *     follows the deadlines the host reads, and without the flag the
 *     host never writes it.  A backstop written at an exit that the
 *     APIC timer itself forced (VMX drops that write) is armed after.
 *  4b. a VM whose HLT does not exit (KVM_CAP_X86_DISABLE_EXITS) is refused
 *     ENABLE with -EOPNOTSUPP.
 *  5. the host's poller, when exitless_host runs one (pvtimer_poll_us;
 *     selftests/host/run.sh runs this test a second time with it): ENABLE
 *     returns 0 in RBX without EXITLESS_PVTIMER_ENABLE_POLL, twice the
 *     poller's period with it; deadlines written while the guest
 *     busy-waits, with no call and no HLT, all come and none early, the
 *     poller arming the host timer for them.  With the host's mapping of
 *     the area's page made read-only (the host can read the section but
 *     not pin the page), ENABLE with the flag is served lazily: RBX 0,
 *     counted in pvtimer_pin_faults; writable again, the poller is back.
 *  6. teardown: a VM destroyed with a host timer armed; then VMs whose
 *     vCPUs arm deadlines in a loop (HLT, SYNC, cancel, DISABLE + ENABLE)
 *     are killed (their process gets SIGKILL) at varied points; with -R
 *     also a rmmod/insmod of the host module while they run
 *     (EXITLESS_HOST_KO): they go on without it (the watchdog) and enable
 *     again after it.  The host's stats come back to where they were; the
 *     harness scans the kernel log.
 *
 * usage: exitless_pvtimer_test [-r reps] [-k kills] [-R]
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/wait.h>

#include "exitless_test.h"
#include "apic.h"

#define PT_VECTOR	0xf7
#define WD_VECTOR	0xe0

#ifndef APIC_LVTT
#define APIC_LVTT	0x320
#endif
#define LVTT_TSCDEADLINE	(2U << 17)

#define SYNC_WAIT	0x57414954UL
#define SYNC_READY	0x52454459UL

#define AREA_SIZE	EXITLESS_AREA_SIZE_PVTIMER	/* the smallest that serves */
#define DELTA_US	2000	/* deadline ahead of "now" in the delivery test */
#define QUIET_MS	100	/* how long "no interrupt" is watched for */
#define LOAD_VCPUS	4
#define MAX_LOAD_VCPUS	8
#define SETTLE_TIMEOUT	10.0
#define GONE_GPA	0xa0000000ULL	/* the unreadable test's area */
#define GONE_SLOT	11

#define EINVAL_RET	EXL_RET(EXITLESS_EINVAL)
#define ENOENT_RET	EXL_RET(EXITLESS_ENOENT)
#define ENOSYS_RET	EXL_RET(EXITLESS_ENOSYS)
#define EOPNOTSUPP_RET	EXL_RET(EXITLESS_EOPNOTSUPP)

enum op { OP_HC = 1, OP_WAIT, OP_ARM, OP_DONE, OP_UNREAD, OP_DROP };

/* OP_ARM flags */
#define F_SYNC		0x1	/* PVTIMER_SYNC after writing the section */
#define F_BUSY		0x2	/* busy-wait (sti) instead of sti; hlt */
#define F_DISABLE	0x4	/* ENABLE, arm, DISABLE: wait for the watchdog */
#define F_LATER		0x8	/* after SYNC, move the deadline later, no call */

struct pt_mbox {
	u64 op;
	u64 nr, a[4];
	struct exl_hc_out out;
	/* OP_ARM */
	u64 section;		/* gva of the pvtimer section */
	u64 reps, delta, timeout, flags, vector;
	/* OP_ARM results */
	u64 got, early, lost, wd, bad_rax, late_sum, late_max, min_late;
	u64 dups;		/* interrupts beyond the first in one rep */
	u64 pending_at_disable;	/* F_DISABLE: in the IRR when DISABLE returned */
	u64 due_at_disable;	/* F_DISABLE: the deadline had passed by then */
	s64 worst_early;
};

static struct pt_mbox mbox;
static u64 pt_count, pt_tsc, wd_count;

static void pt_handler(struct ex_regs *regs)
{
	exl_guest_halt_fixup(regs);
	WRITE_ONCE(pt_tsc, rdtsc());
	WRITE_ONCE(pt_count, pt_count + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static void wd_handler(struct ex_regs *regs)
{
	exl_guest_halt_fixup(regs);
	WRITE_ONCE(wd_count, wd_count + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_wait(void)
{
	u64 c0 = READ_ONCE(pt_count), t0 = rdtsc();

	asm volatile("sti" ::: "memory");
	while (READ_ONCE(pt_count) == c0 && rdtsc() - t0 < mbox.a[0])
		cpu_relax();
	asm volatile("cli" ::: "memory");
	mbox.out.rax = READ_ONCE(pt_count) - c0;
	mbox.out.rbx = READ_ONCE(pt_tsc) - t0;
}

/* One arm: section, optional SYNC/DISABLE, wait; the counters in mbox. */
static void guest_arm_once(struct exitless_pvtimer_section *s)
{
	u64 c0 = READ_ONCE(pt_count), w0 = READ_ONCE(wd_count), dl, late;
	struct exl_hc_out o;

	if (mbox.flags & F_DISABLE) {
		/*
		 * ENABLE reads the section at once: the last rep's deadline,
		 * never delivered (DISABLEd) and due by now, would be injected
		 * at this ENABLE.  Take it out first.
		 */
		WRITE_ONCE(s->deadline, 0);
		barrier();
		WRITE_ONCE(s->seq, s->seq + 1);
		exl_hypercall(EXITLESS_HC_PVTIMER_ENABLE, mbox.vector, 0, 0, 0,
			      &o);
		if (o.rax)
			mbox.bad_rax = o.rax;
	}
	dl = rdtsc() + mbox.delta;
	wrmsr(MSR_IA32_TSC_DEADLINE, dl + mbox.timeout);
	WRITE_ONCE(s->deadline, dl);
	barrier();
	WRITE_ONCE(s->seq, s->seq + 1);
	if (mbox.flags & F_SYNC) {
		exl_hypercall(EXITLESS_HC_PVTIMER_SYNC, 0, 0, 0, 0, &o);
		if (o.rax)
			mbox.bad_rax = o.rax;
	}
	if (mbox.flags & F_LATER) {
		/* the host's timer runs for the old one: it must not inject */
		dl += mbox.delta;
		WRITE_ONCE(s->deadline, dl);
		barrier();
		WRITE_ONCE(s->seq, s->seq + 1);
	}
	if (mbox.flags & F_DISABLE) {
		exl_hypercall(EXITLESS_HC_PVTIMER_DISABLE, 0, 0, 0, 0, &o);
		if (o.rax)
			mbox.bad_rax = o.rax;
		/*
		 * IF is 0: one injected before DISABLE returned waits in the
		 * IRR, and the ABI allows it to come.
		 */
		if (x2apic_read_reg(APIC_IRR + (mbox.vector / 32) * 0x10) &
		    (1U << (mbox.vector % 32)))
			mbox.pending_at_disable++;
		if (rdtsc() >= dl)
			mbox.due_at_disable++;
		/* only the watchdog may end this wait */
		while (READ_ONCE(wd_count) == w0)
			exl_guest_halt();
	} else if (mbox.flags & F_BUSY) {
		asm volatile("sti" ::: "memory");
		while (READ_ONCE(pt_count) == c0 && READ_ONCE(wd_count) == w0)
			cpu_relax();
		asm volatile("cli" ::: "memory");
	} else {
		while (READ_ONCE(pt_count) == c0 && READ_ONCE(wd_count) == w0)
			exl_guest_halt();
	}
	wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	mbox.wd += READ_ONCE(wd_count) != w0;
	if (READ_ONCE(pt_count) == c0) {
		mbox.lost++;
		return;
	}
	mbox.got += READ_ONCE(pt_count) - c0;
	mbox.dups += READ_ONCE(pt_count) - c0 - 1;
	if (READ_ONCE(pt_tsc) < dl) {
		mbox.early++;
		if ((s64)(READ_ONCE(pt_tsc) - dl) < mbox.worst_early)
			mbox.worst_early = READ_ONCE(pt_tsc) - dl;
		return;
	}
	late = READ_ONCE(pt_tsc) - dl;
	mbox.late_sum += late;
	if (late > mbox.late_max)
		mbox.late_max = late;
	if (late < mbox.min_late)
		mbox.min_late = late;
}

static void guest_arm(void)
{
	struct exitless_pvtimer_section *s = (void *)mbox.section;
	u64 r;

	mbox.got = 0;
	mbox.dups = 0;
	mbox.early = 0;
	mbox.lost = 0;
	mbox.wd = 0;
	mbox.bad_rax = 0;
	mbox.late_sum = 0;
	mbox.late_max = 0;
	mbox.pending_at_disable = 0;
	mbox.due_at_disable = 0;
	mbox.min_late = ~0ULL;
	mbox.worst_early = 0;
	for (r = 0; r < mbox.reps; r++)
		guest_arm_once(s);
}

/*
 * OP_UNREAD: the section's memslot is gone; each write below exits
 * (MMIO) and the host cannot read the section there.  Then a wait for
 * the vector (a[0] cycles), a SYNC, and a quiet wait of a[1] cycles
 * ended by the watchdog.
 */
static void guest_unread(void)
{
	struct exitless_pvtimer_section *s = (void *)mbox.section;
	u64 c0 = READ_ONCE(pt_count), w0 = READ_ONCE(wd_count), t0 = rdtsc();
	struct exl_hc_out o;

	wrmsr(MSR_IA32_TSC_DEADLINE, t0 + mbox.a[0]);
	WRITE_ONCE(s->deadline, t0 + mbox.delta);
	barrier();
	WRITE_ONCE(s->seq, 1);
	while (READ_ONCE(pt_count) == c0 && READ_ONCE(wd_count) == w0)
		exl_guest_halt();
	wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	mbox.wd = READ_ONCE(wd_count) != w0;
	mbox.got = READ_ONCE(pt_count) - c0;
	mbox.min_late = READ_ONCE(pt_tsc) - t0;
	exl_hypercall(EXITLESS_HC_PVTIMER_SYNC, 0, 0, 0, 0, &o);
	mbox.bad_rax = o.rax;
	c0 = READ_ONCE(pt_count);
	w0 = READ_ONCE(wd_count);
	wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() + mbox.a[1]);
	while (READ_ONCE(wd_count) == w0)
		exl_guest_halt();
	mbox.lost = READ_ONCE(pt_count) - c0;	/* here: vectors after it */
}

/*
 * OP_DROP: make the host read a new deadline at the exit that the APIC
 * timer's own expiry forces.  Each try arms the guest's own APIC TSC
 * deadline a[0] cycles ahead (that WRMSR exits), then writes a deadline
 * the host's backstop does not cover yet (a[1] + try * a[2]) with no
 * call, and waits (IF 0) until either the timer's vector is pending in
 * the IRR or an exit read the section (host_seq): both at once is the
 * case; host_seq alone, another exit read it first: try again (up to
 * a[3] tries).  out.rax: the try that made it (0: none), out.rbx: that
 * deadline.  The pending vector is taken here, IF on for a moment.
 */
static bool wd_pending(void)
{
	return x2apic_read_reg(APIC_IRR + (WD_VECTOR / 32) * 0x10) &
	       (1U << (WD_VECTOR % 32));
}

static void guest_drop(void)
{
	struct exitless_pvtimer_section *s = (void *)mbox.section;
	u64 k, t0, seq, dl = 0;
	bool wd, read;

	mbox.out.rax = 0;
	for (k = 1; k <= mbox.a[3] && !mbox.out.rax; k++) {
		wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() + mbox.a[0]);
		dl = mbox.a[1] + k * mbox.a[2];
		seq = s->seq + 1;
		WRITE_ONCE(s->deadline, dl);
		barrier();
		WRITE_ONCE(s->seq, seq);
		t0 = rdtsc();
		do {
			wd = wd_pending();
			read = READ_ONCE(s->host_seq) == seq;
		} while (!wd && !read && rdtsc() - t0 < 100 * mbox.a[0]);
		if (wd && read)
			mbox.out.rax = k;
		if (wd)
			asm volatile("sti; nop; cli" ::: "memory");
	}
	mbox.out.rbx = dl;
}

static void pt_guest(void)
{
	x2apic_enable();
	x2apic_write_reg(APIC_LVTT, LVTT_TSCDEADLINE | WD_VECTOR);
	for (;;) {
		GUEST_SYNC(SYNC_WAIT);
		switch (READ_ONCE(mbox.op)) {
		case OP_HC:
			exl_hypercall(mbox.nr, mbox.a[0], mbox.a[1], mbox.a[2],
				      mbox.a[3], &mbox.out);
			break;
		case OP_WAIT:
			guest_wait();
			break;
		case OP_ARM:
			guest_arm();
			break;
		case OP_UNREAD:
			guest_unread();
			break;
		case OP_DROP:
			guest_drop();
			break;
		case OP_DONE:
			GUEST_DONE();
			break;
		default:
			GUEST_ASSERT_1(0, mbox.op);
		}
	}
}

/*
 * Host side.
 */
static struct kvm_vm *vm;
static struct kvm_vcpu *vcpu;
static u64 area_gpa;
static vm_vaddr_t area_gva;
static struct exitless_pvtimer_section *sec;	/* host view */
static u64 tsc_khz;
static unsigned int reps = 50;
static unsigned int kills = 4;
static bool do_rmmod;
static unsigned int poll_us;	/* exitless_host's pvtimer_poll_us */

static struct pt_mbox *host_mbox(void)
{
	return addr_gva2hva(vm, (vm_vaddr_t)&mbox);
}

static void run_op(u64 op)
{
	struct ucall uc;
	u64 cmd;

	WRITE_ONCE(host_mbox()->op, op);
	cmd = exl_vcpu_run_ucall(vcpu, &uc);
	TEST_ASSERT(cmd == UCALL_SYNC && uc.args[1] == SYNC_WAIT,
		    "guest lost after op %lu (ucall %lu)", op,
		    (unsigned long)cmd);
}

static u64 hc(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct pt_mbox *mb = host_mbox();

	mb->nr = nr;
	mb->a[0] = a0;
	mb->a[1] = a1;
	mb->a[2] = a2;
	mb->a[3] = a3;
	memset(&mb->out, 0xa5, sizeof(mb->out));
	run_op(OP_HC);
	return mb->out.rax;
}

static u64 reg(u64 size, u64 layout)
{
	exl_area_init(vm, area_gpa, layout, size);
	memset(sec, 0, sizeof(*sec));
	return hc(EXITLESS_HC_REGISTER, area_gpa, size, layout, 0);
}

static u64 unreg(void)
{
	return hc(EXITLESS_HC_UNREGISTER, 0, 0, 0, 0);
}

static u64 enable(u64 vector, u64 flags)
{
	return hc(EXITLESS_HC_PVTIMER_ENABLE, vector, flags, 0, 0);
}

static u64 sync_(u64 flags)
{
	return hc(EXITLESS_HC_PVTIMER_SYNC, flags, 0, 0, 0);
}

static u64 disable(u64 flags)
{
	return hc(EXITLESS_HC_PVTIMER_DISABLE, flags, 0, 0, 0);
}

static u64 us_to_cycles(u64 us)
{
	return us * tsc_khz / 1000;
}

static double cycles_to_us(double c)
{
	return c * 1000.0 / tsc_khz;
}

/* Wait up to @ms in the guest (sti) for pvtimer interrupts; how many came. */
static u64 guest_wait_ms(u64 ms, u64 *after_cycles)
{
	struct pt_mbox *mb = host_mbox();

	mb->a[0] = us_to_cycles(ms * 1000);
	run_op(OP_WAIT);
	if (after_cycles)
		*after_cycles = mb->out.rbx;
	return mb->out.rax;
}

static void check_rax(const char *what, u64 rax, u64 want)
{
	ksft_test_result(rax == want, "%s: rax %#lx, want %#lx\n", what, rax,
			 want);
}

/* Write the section from the host (the vCPU is outside KVM_RUN). */
static void set_section(u64 deadline, u64 seq)
{
	WRITE_ONCE(sec->deadline, deadline);
	WRITE_ONCE(sec->seq, seq);
}

/* Is @vector pending in the vCPU's IRR (the vCPU is outside KVM_RUN)? */
static bool irr_has(u8 vector)
{
	struct kvm_lapic_state lapic;
	u32 irr;

	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic);
	memcpy(&irr, &lapic.regs[APIC_IRR + (vector / 32) * 0x10], 4);
	return irr & (1U << (vector % 32));
}

#define NR_HOSTILE_TESTS	49

static void test_hostile(void)
{
	static const struct { const char *what; u64 vector, flags; } bad[] = {
		{ "vector 0", 0, 0 },
		{ "vector 31", 31, 0 },
		{ "vector 256", 256, 0 },
		{ "vector 2^32 + 0xf7 (truncation)", (1ULL << 32) | PT_VECTOR, 0 },
		{ "vector ~0", ~0ULL, 0 },
		{ "flags 1", PT_VECTOR, 1 },
		{ "flags 1 << 32 (truncation)", PT_VECTOR, 1ULL << 32 },
		{ "flags 1 << 63", PT_VECTOR, 1ULL << 63 },
		{ "flags 4 (unknown)", PT_VECTOR, 4 },
		{ "flags 2 | 1 << 32 (truncation)", PT_VECTOR, 2 | 1ULL << 32 },
	};
	u64 rax, rax2, n, after, bad_nr, bad_rax, seq;
	char what[128];
	unsigned int i;
	bool irr;
	s64 base_vcpus = exl_stat("pvtimer_vcpus");
	int kmsg;

	kmsg = exl_kmsg_open();
	TEST_ASSERT(kmsg >= 0, "/dev/kmsg: %s", strerror(-kmsg));

	/* nothing registered */
	check_rax("ENABLE before REGISTER: -ENOENT", enable(PT_VECTOR, 0),
		  ENOENT_RET);
	check_rax("ENABLE vector 0 before REGISTER: arguments first, -EINVAL",
		  enable(0, 0), EINVAL_RET);
	check_rax("SYNC before REGISTER: -ENOENT", sync_(0), ENOENT_RET);
	check_rax("DISABLE before REGISTER: -ENOENT", disable(0), ENOENT_RET);
	check_rax("SYNC flags 1 before REGISTER: -EINVAL", sync_(1), EINVAL_RET);
	check_rax("DISABLE flags 1 before REGISTER: -EINVAL", disable(1),
		  EINVAL_RET);

	/* areas that cannot hold the section */
	rax = reg(256, 2);
	rax2 = enable(PT_VECTOR, 0);
	ksft_test_result(rax == 0 && rax2 == EINVAL_RET && unreg() == 0,
			 "ENABLE on a layout 2 area (256 bytes): -EINVAL (REGISTER %#lx, ENABLE %#lx)\n",
			 rax, rax2);
	rax = reg(256, 1);
	rax2 = enable(PT_VECTOR, 0);
	ksft_test_result(rax == 0 && rax2 == EINVAL_RET && unreg() == 0,
			 "ENABLE on a layout 1 area (256 bytes): -EINVAL (REGISTER %#lx, ENABLE %#lx)\n",
			 rax, rax2);
	rax = reg(EXITLESS_AREA_MIN_SIZE, 3);
	rax2 = enable(PT_VECTOR, 0);
	ksft_test_result(rax == 0 && rax2 == EINVAL_RET && unreg() == 0,
			 "ENABLE on a layout 3 area of %d bytes: -EINVAL (REGISTER %#lx, ENABLE %#lx)\n",
			 EXITLESS_AREA_MIN_SIZE, rax, rax2);
	rax = reg(AREA_SIZE - 1, 3);
	rax2 = enable(PT_VECTOR, 0);
	ksft_test_result(rax == 0 && rax2 == EINVAL_RET && unreg() == 0,
			 "ENABLE on a layout 3 area of %d bytes (one short): -EINVAL (REGISTER %#lx, ENABLE %#lx)\n",
			 AREA_SIZE - 1, rax, rax2);

	/* a good area: bad arguments */
	rax = reg(AREA_SIZE, 3);
	ksft_test_result(rax == 0, "REGISTER layout 3, %d bytes: 0 (rax %#lx)\n",
			 AREA_SIZE, rax);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(what, sizeof(what),
			 "ENABLE %s (a0 %#lx a1 %#lx): -EINVAL", bad[i].what,
			 bad[i].vector, bad[i].flags);
		check_rax(what, enable(bad[i].vector, bad[i].flags), EINVAL_RET);
	}
	check_rax("SYNC before ENABLE: -ENOENT", sync_(0), ENOENT_RET);
	check_rax("SYNC flags 1 before ENABLE: -EINVAL", sync_(1), EINVAL_RET);
	check_rax("DISABLE flags 1: -EINVAL", disable(1), EINVAL_RET);
	check_rax("DISABLE flags 1 << 32 (truncation): -EINVAL",
		  disable(1ULL << 32), EINVAL_RET);
	ksft_test_result(exl_stat("pvtimer_vcpus") == base_vcpus,
			 "refused ENABLEs leave pvtimer_vcpus at %ld\n",
			 base_vcpus);

	/* the edges, then the real vector */
	check_rax("ENABLE vector 32: 0", enable(32, 0), 0);
	check_rax("ENABLE vector 255 (enabled: changes the vector): 0",
		  enable(255, 0), 0);
	check_rax("ENABLE vector 0xf7: 0", enable(PT_VECTOR, 0), 0);
	ksft_test_result(exl_stat("pvtimer_vcpus") == base_vcpus + 1,
			 "three ENABLEs count one pvtimer vCPU (pvtimer_vcpus %ld, want %ld)\n",
			 exl_stat("pvtimer_vcpus"), base_vcpus + 1);
	check_rax("SYNC flags 1 while enabled: -EINVAL", sync_(1), EINVAL_RET);
	check_rax("SYNC flags 1 << 32 (truncation): -EINVAL", sync_(1ULL << 32),
		  EINVAL_RET);
	check_rax("SYNC with nothing armed: 0", sync_(0), 0);

	{
		u64 nr, nbad = 0;

		bad_nr = 0;
		bad_rax = 0;
		for (nr = EXITLESS_HC_PVTIMER_SYNC + 1;
		     nr < EXITLESS_HC_PVTIMER_BASE + EXITLESS_HC_FEATURE_SPAN;
		     nr++) {
			rax = hc(nr, 0, 0, 0, 0);
			if (rax == ENOSYS_RET)
				continue;
			if (!nbad++) {
				bad_nr = nr;
				bad_rax = rax;
			}
		}
		ksft_test_result(!nbad,
				 "the %d unused pvtimer numbers answer -ENOSYS (%lu did not, first %#lx: %#lx)\n",
				 EXITLESS_HC_FEATURE_SPAN - 3, nbad, bad_nr,
				 bad_rax);
	}

	/* hostile sections */
	seq = 1;
	set_section(~0ULL, seq);
	rax = sync_(0);
	n = guest_wait_ms(QUIET_MS, NULL);
	ksft_test_result(rax == 0 && n == 0,
			 "deadline U64_MAX, SYNC: 0 and no interrupt in %d ms (rax %#lx, %lu came)\n",
			 QUIET_MS, rax, n);
	ksft_test_result(sec->host_seq == seq && sec->host_armed == ~0ULL,
			 "deadline U64_MAX: the host shows host_seq %lu host_armed %#lx (want %lu, U64_MAX)\n",
			 sec->host_seq, sec->host_armed, seq);

	set_section(1, ++seq);
	rax = sync_(0);
	irr = irr_has(PT_VECTOR);
	n = guest_wait_ms(QUIET_MS, &after);
	ksft_test_result(rax == 0 && irr && n == 1,
			 "deadline 1, SYNC: 0 and the interrupt at once (rax %#lx, in the IRR when SYNC returned: %d; %lu came, %.0f us after the wait began)\n",
			 rax, irr, n, cycles_to_us(after));
	n = guest_wait_ms(QUIET_MS, NULL);
	ksft_test_result(n == 0,
			 "deadline 1 is not injected twice (%lu more came in %d ms)\n",
			 n, QUIET_MS);

	set_section(~0ULL, ++seq);
	rax = sync_(0);
	set_section(0, ++seq);
	rax2 = sync_(0);
	n = guest_wait_ms(QUIET_MS, NULL);
	ksft_test_result(rax == 0 && rax2 == 0 && n == 0 &&
			 sec->host_armed == 0,
			 "deadline 0 cancels: SYNCs %#lx %#lx, %lu interrupts in %d ms, host_armed %#lx\n",
			 rax, rax2, n, QUIET_MS, sec->host_armed);

	set_section(1, ~0ULL);
	rax = sync_(0);
	n = guest_wait_ms(QUIET_MS, NULL);
	ksft_test_result(rax == 0 && n == 1 && sec->host_seq == ~0ULL,
			 "seq U64_MAX, deadline 1, SYNC: 0 and one interrupt (rax %#lx, %lu came, host_seq %#lx)\n",
			 rax, n, sec->host_seq);
	set_section(1, 0);
	rax = sync_(0);
	n = guest_wait_ms(QUIET_MS, NULL);
	ksft_test_result(rax == 0 && n == 1 && sec->host_seq == 0,
			 "seq wrapping to 0, deadline 1, SYNC: 0 and one interrupt (rax %#lx, %lu came, host_seq %#lx)\n",
			 rax, n, sec->host_seq);

	/*
	 * Information only: ENABLE on an enabled vCPU (a vector change) reads
	 * the section "at once", forced, so the deadline just delivered (same
	 * seq) is acted on again.
	 */
	rax = enable(PT_VECTOR, 0);
	n = guest_wait_ms(QUIET_MS, NULL);
	ksft_print_msg("note: ENABLE again (%#lx), delivered deadline 1 kept: %lu more came\n",
		       rax, n);

	/* a deadline that only looks far when read as signed */
	set_section(1ULL << 63, 1);
	rax = sync_(0);
	n = guest_wait_ms(QUIET_MS, NULL);
	ksft_test_result(rax == 0 && n == 0,
			 "deadline 2^63, SYNC: 0 and no interrupt in %d ms (rax %#lx, %lu came)\n",
			 QUIET_MS, rax, n);

	/* DISABLE, and UNREGISTER implies it */
	check_rax("DISABLE: 0", disable(0), 0);
	check_rax("SYNC after DISABLE: -ENOENT", sync_(0), ENOENT_RET);
	check_rax("DISABLE again (registered, not enabled): 0", disable(0), 0);
	ksft_test_result(exl_stat("pvtimer_vcpus") == base_vcpus,
			 "after DISABLE pvtimer_vcpus is back to %ld (%ld)\n",
			 base_vcpus, exl_stat("pvtimer_vcpus"));
	rax = enable(PT_VECTOR, 0);
	set_section(~0ULL, 2);
	rax2 = sync_(0);
	ksft_test_result(rax == 0 && rax2 == 0 && unreg() == 0 &&
			 reg(AREA_SIZE, 3) == 0 && sync_(0) == ENOENT_RET,
			 "UNREGISTER disables: ENABLE %#lx, SYNC %#lx, then after UNREGISTER + REGISTER SYNC is -ENOENT\n",
			 rax, rax2);
	ksft_test_result(exl_stat("pvtimer_vcpus") == base_vcpus,
			 "after UNREGISTER pvtimer_vcpus is back to %ld (%ld)\n",
			 base_vcpus, exl_stat("pvtimer_vcpus"));

	n = exl_kmsg_new_records(kmsg, "kmsg: ");
	ksft_test_result(n == 0, "hostile: no record in the kernel log (%lu new)\n",
			 n);
	close(kmsg);
}

#define NR_DELIVERY_TESTS	11

/* Run OP_ARM; prints its figures, returns the mailbox. */
static struct pt_mbox *arm_run(const char *name, u64 nreps, u64 flags,
			       u64 delta_us, u64 timeout_ms)
{
	struct pt_mbox *mb = host_mbox();
	double t0 = exl_now();

	mb->section = area_gva + EXITLESS_AREA_OFF_PVTIMER;
	mb->reps = nreps;
	mb->flags = flags;
	mb->vector = PT_VECTOR;
	mb->delta = us_to_cycles(delta_us);
	mb->timeout = us_to_cycles(timeout_ms * 1000);
	run_op(OP_ARM);
	ksft_print_msg("%s: %lu deadlines +%lu us, %.2f s: %lu came, %lu early, %lu lost, wd %lu\n",
		       name, nreps, delta_us, exl_now() - t0, mb->got,
		       mb->early, mb->lost, mb->wd);
	if (mb->got > mb->early)
		ksft_print_msg("%s: lateness avg %.0f cycles = %.1f us, min %.1f us, max %.1f us\n",
			       name,
			       (double)mb->late_sum / (mb->got - mb->early),
			       cycles_to_us((double)mb->late_sum /
					    (mb->got - mb->early)),
			       cycles_to_us(mb->min_late),
			       cycles_to_us(mb->late_max));
	if (mb->early)
		ksft_print_msg("%s: worst early arrival %ld cycles (%.1f us) before the deadline\n",
			       name, mb->worst_early,
			       cycles_to_us(-(double)mb->worst_early));
	return mb;
}

/*
 * Did every one of @reps deadlines get its interrupt, with no watchdog?
 * Under TCG a nested guest now and then takes one injected interrupt
 * twice: exitless_pvipi_test sees it after upstream KVM_HC_SEND_IPI too,
 * and CI on 2026-12-03 (6.12) saw 11 interrupts for 10 deadlines here,
 * none early.  So a rep's extra interrupt is accepted only when the
 * host's own count (@injected, pvtimer_injects over the run) shows one
 * injection per deadline: the duplicate then came from below the host
 * module, which acted on each deadline once.  Printed either way.
 */
static bool all_came(const char *name, const struct pt_mbox *mb, u64 reps,
		     s64 injected)
{
	if (mb->lost || mb->wd || mb->got - mb->dups != reps)
		return false;
	if (!mb->dups)
		return true;
	ksft_print_msg("%s: %lu taken twice; %ld injections for %lu deadlines\n",
		       name, mb->dups, injected, reps);
	return injected == (s64)reps;
}

static void test_delivery(void)
{
	s64 syncs0, syncs1, injects0, injects1, kicks0;
	struct pt_mbox *mb;
	u64 rax;

	rax = enable(PT_VECTOR, 0);
	ksft_test_result(rax == 0, "delivery: ENABLE vector %#x: 0 (rax %#lx)\n",
			 PT_VECTOR, rax);
	/* without the flag, no poller: RBX 0 whatever the host runs */
	ksft_test_result(host_mbox()->out.rbx == 0,
			 "ENABLE without EXITLESS_PVTIMER_ENABLE_POLL: RBX 0 (%lu)\n",
			 host_mbox()->out.rbx);

	syncs0 = exl_stat("pvtimer_syncs");
	injects0 = exl_stat("pvtimer_injects");
	mb = arm_run("HLT, no SYNC", reps, 0, DELTA_US, 200);
	syncs1 = exl_stat("pvtimer_syncs");
	injects1 = exl_stat("pvtimer_injects");
	ksft_test_result(all_came("HLT, no SYNC", mb, reps, injects1 - injects0),
			 "HLT, no SYNC: all %u interrupts came (%lu, %lu lost, watchdog %lu)\n",
			 reps, mb->got, mb->lost, mb->wd);
	ksft_test_result(!mb->early,
			 "HLT, no SYNC: none before its deadline (%lu early)\n",
			 mb->early);
	ksft_test_result(syncs1 == syncs0 && injects1 - injects0 >= reps,
			 "HLT, no SYNC: no SYNC made, the host injected (syncs +%ld, injects +%ld)\n",
			 syncs1 - syncs0, injects1 - injects0);

	kicks0 = exl_stat("pvtimer_kicks");
	injects0 = exl_stat("pvtimer_injects");
	mb = arm_run("SYNC, busy loop", 10, F_SYNC | F_BUSY, DELTA_US, 200);
	ksft_print_msg("SYNC, busy loop: the host kicked the vCPU %ld times\n",
		       exl_stat("pvtimer_kicks") - kicks0);
	ksft_test_result(all_came("SYNC, busy loop", mb, 10,
				  exl_stat("pvtimer_injects") - injects0) &&
			 !mb->bad_rax,
			 "SYNC, busy loop: all 10 interrupts came (%lu, %lu lost, watchdog %lu, SYNC rax %#lx)\n",
			 mb->got, mb->lost, mb->wd, mb->bad_rax);
	ksft_test_result(!mb->early,
			 "SYNC, busy loop: none before its deadline (%lu early)\n",
			 mb->early);

	/*
	 * Moved later without telling: the host's timer expires at the first
	 * deadline while the guest runs, kicks it out and, at that exit,
	 * reads the later one: nothing may come before it.  (5 * DELTA_US:
	 * the guest's second write must land before the first deadline.)
	 */
	kicks0 = exl_stat("pvtimer_kicks");
	injects0 = exl_stat("pvtimer_injects");
	mb = arm_run("SYNC, moved later, busy loop", 10,
		     F_SYNC | F_BUSY | F_LATER, 5 * DELTA_US, 200);
	ksft_test_result(all_came("SYNC, moved later, busy loop", mb, 10,
				  exl_stat("pvtimer_injects") - injects0) &&
			 !mb->bad_rax,
			 "moved later without a call: all 10 interrupts came (%lu, %lu lost, watchdog %lu, SYNC rax %#lx)\n",
			 mb->got, mb->lost, mb->wd, mb->bad_rax);
	ksft_test_result(!mb->early,
			 "moved later without a call: none before the later deadline (%lu early, worst %.1f us; kicks +%ld)\n",
			 mb->early, cycles_to_us(-(double)mb->worst_early),
			 exl_stat("pvtimer_kicks") - kicks0);

	/*
	 * DISABLE stops it: the watchdog, 20 ms after the deadline, ends the
	 * HLT.  5 * DELTA_US: the deadline rarely passes before DISABLE, but
	 * under TCG it may, and then an injection before DISABLE returned is
	 * allowed (the IRR tells).
	 */
	mb = arm_run("DISABLE", 3, F_SYNC | F_DISABLE, 5 * DELTA_US, 20);
	ksft_print_msg("DISABLE: pending when DISABLE returned %lu, deadline passed by then %lu\n",
		       mb->pending_at_disable, mb->due_at_disable);
	ksft_test_result(mb->wd == 3 && !mb->bad_rax,
			 "DISABLE: the watchdog ends each HLT (%lu of 3, rax %#lx)\n",
			 mb->wd, mb->bad_rax);
	ksft_test_result(mb->got <= mb->pending_at_disable &&
			 mb->got + mb->lost == 3,
			 "DISABLE: no pvtimer interrupt injected after DISABLE (%lu came, %lu of them pending in the IRR before DISABLE returned)\n",
			 mb->got, mb->pending_at_disable);
}

#define NR_UNREAD_TESTS	3

/* The unreadable test's MMIO exits: the guest's writes to its section. */
static void unread_mmio(struct kvm_vcpu *v)
{
	struct kvm_run *run = v->run;

	TEST_ASSERT(run->mmio.is_write &&
		    run->mmio.phys_addr >= GONE_GPA + EXITLESS_AREA_OFF_PVTIMER &&
		    run->mmio.phys_addr < GONE_GPA + AREA_SIZE,
		    "unexpected MMIO at %#llx len %u write %u",
		    run->mmio.phys_addr, run->mmio.len, run->mmio.is_write);
}

/*
 * A section the host cannot read at an exit: in a memslot of its own,
 * deleted once pvtimer is enabled on it.  (In production the read fails
 * without a fault on a page the host's mm just unmapped; the exit probe
 * may not sleep.  A deleted memslot makes every read fail, which also
 * shows the injection is made once until the next read.)  The deadline,
 * 1 s away, is never read: only the injection for the unreadable exit
 * ends the first wait before its watchdog.
 */
static void test_unread(void)
{
	struct pt_mbox *mb = host_mbox();
	s64 inj0, faults0, inj, faults;
	u64 rax, rax2, rax3;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, GONE_GPA,
				    GONE_SLOT, 1, 0);
	virt_map(vm, GONE_GPA, GONE_GPA, 1);
	exl_area_init(vm, GONE_GPA, 3, AREA_SIZE);
	/* the vCPU moves to the new area (its section: no deadline) */
	rax = unreg();
	rax = rax ?: hc(EXITLESS_HC_REGISTER, GONE_GPA, AREA_SIZE, 3, 0);
	rax2 = enable(PT_VECTOR, 0);
	vm_mem_region_delete(vm, GONE_SLOT);
	exl_mmio_handler = unread_mmio;
	inj0 = exl_stat("pvtimer_injects");
	faults0 = exl_stat("pvtimer_read_faults");
	mb->section = GONE_GPA + EXITLESS_AREA_OFF_PVTIMER;
	mb->delta = us_to_cycles(1000000);
	mb->a[0] = us_to_cycles(200 * 1000);
	mb->a[1] = us_to_cycles(QUIET_MS * 1000);
	run_op(OP_UNREAD);
	exl_mmio_handler = NULL;
	inj = exl_stat("pvtimer_injects") - inj0;
	faults = exl_stat("pvtimer_read_faults") - faults0;
	ksft_test_result(!rax && !rax2 && mb->got >= 1 && !mb->wd,
			 "unreadable: the vector comes at the first exit that cannot read the section (UNREGISTER + REGISTER %#lx, ENABLE %#lx; %lu came after %.1f us, watchdog %lu; %ld read faults)\n",
			 rax, rax2, mb->got,
			 mb->got ? cycles_to_us(mb->min_late) : 0.0, mb->wd,
			 faults);
	ksft_test_result(inj == 1 && !mb->lost,
			 "unreadable: once until the next read (injects +%ld, %lu more in %d ms after the SYNC)\n",
			 inj, mb->lost, QUIET_MS);
	rax3 = unreg();
	ksft_test_result(mb->bad_rax == EXL_RET(EXITLESS_EFAULT) && !rax3 &&
			 reg(AREA_SIZE, 3) == 0,
			 "unreadable: SYNC -EFAULT (%#lx), UNREGISTER %#lx, the usual area registered again\n",
			 mb->bad_rax, rax3);
}

#define NR_POLLER_TESTS	4

/* What ENABLE with the poll flag returns in RBX: twice pvtimer_poll_us. */
static u64 poll_period(void)
{
	return 2ULL * poll_us * tsc_khz / 1000;
}

/*
 * The poller: deadlines written while the guest busy-waits with
 * interrupts on, no SYNC and no HLT.  Without a poller only an exit that
 * happens to come reads them (the watchdog otherwise); with one, it
 * arms the host timer within its period.
 */
static void test_poller(void)
{
	s64 arms0 = exl_stat("pvtimer_poll_arms"), syncs0 = exl_stat("pvtimer_syncs");
	s64 inj0, kick0;
	struct pt_mbox *mb;
	u64 rax;

	u64 rbx;

	/* ENABLE injects a deadline already past: the last test's, take it out */
	set_section(0, sec->seq + 1);
	rax = enable(PT_VECTOR, EXITLESS_PVTIMER_ENABLE_POLL);
	rbx = host_mbox()->out.rbx;
	/* the poller's period the guest may count on: twice pvtimer_poll_us */
	ksft_test_result(!rax && rbx == poll_period(),
			 "poller: ENABLE with EXITLESS_PVTIMER_ENABLE_POLL: RBX %lu cycles, pvtimer_poll_us %u x 2 (rax %#lx)\n",
			 rbx, poll_us, rax);
	inj0 = exl_stat("pvtimer_injects");
	kick0 = exl_stat("pvtimer_kicks");
	mb = arm_run("poller, busy loop, no SYNC", 20, F_BUSY, DELTA_US, 200);
	inj0 = exl_stat("pvtimer_injects") - inj0;
	kick0 = exl_stat("pvtimer_kicks") - kick0;
	/*
	 * The poller's timer runs on its own CPU, so its expiry kicks the
	 * vCPU from there (kicks), unlike the vCPU's own timer.  Under TCG's
	 * nested SVM, an interrupt the host injected once was seen to reach
	 * the guest twice after such kicks (21-22 arrivals for 20 injections,
	 * 2026-12-02; none without kicks): the host's count is what is
	 * asserted to be one per deadline, the arrivals to be at least that.
	 */
	ksft_print_msg("poller: %ld injections, %ld kicks, %lu arrivals\n",
		       inj0, kick0, mb->got);
	ksft_test_result(inj0 == 20 && mb->got >= 20 && !mb->lost && !mb->wd,
			 "poller: every deadline written during a busy loop came, injected once each (injects +%ld, %lu arrivals, %lu lost, watchdog %lu)\n",
			 inj0, mb->got, mb->lost, mb->wd);
	ksft_test_result(!mb->early,
			 "poller: none before its deadline (%lu early)\n",
			 mb->early);
	ksft_test_result(exl_stat("pvtimer_poll_arms") > arms0 &&
			 exl_stat("pvtimer_syncs") == syncs0,
			 "poller: it armed the host timer, no SYNC made (poll_arms +%ld, syncs +%ld)\n",
			 exl_stat("pvtimer_poll_arms") - arms0,
			 exl_stat("pvtimer_syncs") - syncs0);
}

#define NR_PIN_TESTS	2

/*
 * The poller cannot pin the page of the section: the host's mapping of
 * the area's page made read-only, so that reads of the section work and
 * pin_user_pages_fast(FOLL_WRITE) does not.  ENABLE must still succeed,
 * served lazily (RBX 0), and count it; ENABLE again once the page is
 * writable gets the poller.  The guest does not touch the area meanwhile
 * (it only makes the call, from the mailbox's page); the host's own
 * writes to it fail and are tried again at the next entry.
 */
static void test_pin_fault(void)
{
	long psz = getpagesize();
	void *page = (void *)((unsigned long)sec & ~(psz - 1UL));
	u64 period = poll_period(), rax, rbx;
	s64 faults0 = exl_stat("pvtimer_pin_faults");
	s64 faults;

	set_section(0, sec->seq + 1);
	TEST_ASSERT(!mprotect(page, psz, PROT_READ), "mprotect(PROT_READ)");
	rax = enable(PT_VECTOR, EXITLESS_PVTIMER_ENABLE_POLL);
	rbx = host_mbox()->out.rbx;
	TEST_ASSERT(!mprotect(page, psz, PROT_READ | PROT_WRITE),
		    "mprotect(PROT_READ | PROT_WRITE)");
	faults = exl_stat("pvtimer_pin_faults") - faults0;
	ksft_test_result(!rax && !rbx && faults == 1,
			 "poller: a page the host cannot pin: ENABLE served lazily (rax %#lx, RBX %lu), pvtimer_pin_faults +%ld\n",
			 rax, rbx, faults);
	rax = enable(PT_VECTOR, EXITLESS_PVTIMER_ENABLE_POLL);
	rbx = host_mbox()->out.rbx;
	ksft_test_result(!rax && rbx == period &&
			 exl_stat("pvtimer_pin_faults") == faults0 + 1,
			 "poller: the page writable again: ENABLE gets the poller (RBX %lu cycles, want %lu)\n",
			 rbx, period);
}

#define NR_BACKSTOP_TESTS	10

/*
 * The host's backstop (ENABLE with EXITLESS_PVTIMER_ENABLE_BACKSTOP): the
 * host writes the vCPU's TSC deadline from each deadline it reads, read
 * back here through KVM_GET_MSRS.  The deadlines are far in the future
 * (nothing fires); the guest's LVTT is in TSC-deadline mode (watchdog).
 */
static u64 backstop_seq = 1ULL << 40;

/* Write @deadline to the section, SYNC, and read the vCPU's TSC deadline. */
static u64 backstop_after(u64 deadline)
{
	set_section(deadline, ++backstop_seq);
	sync_(0);
	return vcpu_get_msr(vcpu, MSR_IA32_TSC_DEADLINE);
}

/*
 * The host writes its backstop at the exit the APIC timer's own expiry
 * forced, having read a new deadline there (OP_DROP).  The backstop must
 * be armed after.  VMX loses that write (the exit's fastpath takes the
 * new timer as expired and zeroes it), and the next entry writes it
 * again (pvtimer_backstop_rewrites); SVM, all this machine has, keeps it
 * (the write clears the pending expiry).
 */
static void test_backstop_drop(u64 w, u64 far)
{
	struct pt_mbox *mb = host_mbox();
	u64 rewrites0, msr, dl, k;

	backstop_after(far);	/* the backstop: far + w/2 */
	rewrites0 = exl_stat("pvtimer_backstop_rewrites");
	mb->section = area_gva + EXITLESS_AREA_OFF_PVTIMER;
	/* short: fewer other exits before the timer's */
	mb->a[0] = us_to_cycles(300);
	mb->a[1] = far;
	mb->a[2] = w;		/* each try's deadline beyond the last backstop */
	mb->a[3] = 50;
	run_op(OP_DROP);
	k = mb->out.rax;
	dl = mb->out.rbx;
	backstop_seq = READ_ONCE(sec->seq);
	msr = vcpu_get_msr(vcpu, MSR_IA32_TSC_DEADLINE);
	if (!k)
		ksft_test_result_skip("backstop: %lu tries, each read by another exit first\n",
				      (unsigned long)mb->a[3]);
	else
		ksft_test_result(msr == dl + w / 2,
				 "backstop: written at the exit the APIC timer's expiry forced, it stays armed (%#lx, want %#lx; try %lu; written again at entry: %ld)\n",
				 msr, dl + w / 2, k,
				 exl_stat("pvtimer_backstop_rewrites") - rewrites0);
	backstop_after(0);
}

static void test_host_backstop(void)
{
	u64 w = us_to_cycles(100 * 1000), far = 1ULL << 62;
	u64 backstops0 = exl_stat("pvtimer_backstops"), msr;

	check_rax("ENABLE backstop, window 0: -EINVAL",
		  hc(EXITLESS_HC_PVTIMER_ENABLE, PT_VECTOR,
		     EXITLESS_PVTIMER_ENABLE_BACKSTOP, 0, 0), EINVAL_RET);
	check_rax("ENABLE backstop, window 2^63: -EINVAL",
		  hc(EXITLESS_HC_PVTIMER_ENABLE, PT_VECTOR,
		     EXITLESS_PVTIMER_ENABLE_BACKSTOP, 1ULL << 63, 0),
		  EINVAL_RET);
	check_rax("ENABLE, a window without the flag: -EINVAL",
		  hc(EXITLESS_HC_PVTIMER_ENABLE, PT_VECTOR, 0, w, 0),
		  EINVAL_RET);
	check_rax("ENABLE backstop, window 100 ms: 0",
		  hc(EXITLESS_HC_PVTIMER_ENABLE, PT_VECTOR,
		     EXITLESS_PVTIMER_ENABLE_BACKSTOP, w, 0), 0);

	msr = backstop_after(far);
	ksft_test_result(msr == far + w / 2,
			 "backstop: a deadline read, the APIC TSC deadline is deadline + window/2 (%#lx, want %#lx)\n",
			 msr, far + w / 2);
	/* 10 ms later: still covered, left alone */
	msr = backstop_after(far + us_to_cycles(10000));
	ksft_test_result(msr == far + w / 2,
			 "backstop: a deadline 10 ms later keeps it (%#lx)\n",
			 msr);
	msr = backstop_after(0);
	ksft_test_result(msr == 0,
			 "backstop: no deadline disarms it (%#lx; %ld written)\n",
			 msr, exl_stat("pvtimer_backstops") - backstops0);
	test_backstop_drop(w, far);

	/* without the flag the host leaves the APIC timer to the guest */
	check_rax("ENABLE without the backstop: 0", enable(PT_VECTOR, 0), 0);
	msr = backstop_after(far);
	backstop_after(0);
	ksft_test_result(msr == 0,
			 "no backstop asked: the host writes no TSC deadline (%#lx)\n",
			 msr);
}

/*
 * Teardown.
 */
struct counts {
	s64 vms, regs, pt;
};

static struct counts read_counts(void)
{
	struct counts c = { exl_stat("vms"), exl_stat("vcpus_registered"),
			    exl_stat("pvtimer_vcpus") };
	return c;
}

static bool counts_eq(struct counts a, struct counts b)
{
	return a.vms == b.vms && a.regs == b.regs && a.pt == b.pt;
}

static struct counts settle(struct counts want, double *secs)
{
	double t0 = exl_now();
	struct counts c;

	for (;;) {
		c = read_counts();
		*secs = exl_now() - t0;
		if (counts_eq(c, want) || *secs > SETTLE_TIMEOUT)
			return c;
		usleep(10000);
	}
}

/* The single-vCPU VM goes with a host timer 1 s ahead. */
static void test_destroy_armed(struct counts base)
{
	struct counts c;
	double secs;
	u64 rax, rax2;

	rax = enable(PT_VECTOR, 0);
	set_section(rdtsc() + us_to_cycles(1000000), 1000);
	rax2 = sync_(0);
	ksft_test_result(rax == 0 && rax2 == 0 && sec->host_armed,
			 "teardown: ENABLE %#lx, SYNC %#lx, host timer armed for %#lx\n",
			 rax, rax2, sec->host_armed);
	kvm_vm_free(vm);
	vm = NULL;
	c = settle(base, &secs);
	ksft_test_result(counts_eq(c, base),
			 "teardown: VM destroyed with its timer armed: vms %ld, vcpus_registered %ld, pvtimer_vcpus %ld back (want %ld %ld %ld) in %.2f s\n",
			 c.vms, c.regs, c.pt, base.vms, base.regs, base.pt,
			 secs);
}

/*
 * Load guests: each vCPU arms deadlines in a loop, re-enabling as needed.
 * Each waits for its own interrupts only, counted per vCPU (its x2APIC
 * ID is its index): a count shared by all vCPUs let one vCPU's wait end
 * on another's interrupt, and its unlocked increments could lose one.
 */
static u64 load_iters[MAX_LOAD_VCPUS];
static u64 load_pt[MAX_LOAD_VCPUS], load_wd[MAX_LOAD_VCPUS];
/* interrupts taken between exl_guest_halt()'s sti and hlt, of all vCPUs */
static u64 load_fixups;

/* One interrupt of this vCPU, counted in @count (load_pt or load_wd). */
static void load_irq(struct ex_regs *regs, u64 *count)
{
	u64 me = x2apic_read_reg(APIC_ID);

	if (exl_guest_halt_fixup(regs))
		__atomic_add_fetch(&load_fixups, 1, __ATOMIC_RELAXED);
	WRITE_ONCE(count[me], count[me] + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static void load_pt_handler(struct ex_regs *regs)
{
	load_irq(regs, load_pt);
}

static void load_wd_handler(struct ex_regs *regs)
{
	load_irq(regs, load_wd);
}

static void load_guest(u64 idx, u64 gva, u64 gpa, u64 delta)
{
	struct exitless_pvtimer_section *s =
		(void *)(gva + EXITLESS_AREA_OFF_PVTIMER);
	struct exitless_area_hdr *h = (void *)gva;
	struct exl_hc_out o;
	bool on = false;
	u64 i, dl, w0, c0;

	x2apic_enable();
	x2apic_write_reg(APIC_LVTT, LVTT_TSCDEADLINE | WD_VECTOR);
	h->magic = EXITLESS_AREA_MAGIC;
	h->version = 3;
	h->size = AREA_SIZE;
	GUEST_SYNC(SYNC_READY);

	for (i = 0; ; i++) {
		if (!on) {
			/* first time, or the module came back: start over */
			exl_hypercall(EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &o);
			exl_hypercall(EXITLESS_HC_REGISTER, gpa, AREA_SIZE, 3,
				      0, &o);
			exl_hypercall(EXITLESS_HC_PVTIMER_ENABLE, PT_VECTOR, 0,
				      0, 0, &o);
			on = !o.rax;
		}
		c0 = READ_ONCE(load_pt[idx]);
		w0 = READ_ONCE(load_wd[idx]);
		/* 0 .. 2 delta ahead, now and then already past */
		dl = rdtsc() + (i % 7 == 3 ? 0 : delta * (i % 3));
		wrmsr(MSR_IA32_TSC_DEADLINE, dl + delta + 20 * delta);
		WRITE_ONCE(s->deadline, dl);
		barrier();
		WRITE_ONCE(s->seq, s->seq + 1);
		switch (i % 4) {
		case 0:		/* lazy: the HLT exit tells the host */
			while (READ_ONCE(load_pt[idx]) == c0 &&
			       READ_ONCE(load_wd[idx]) == w0)
				exl_guest_halt();
			break;
		case 1:		/* SYNC, busy */
			exl_hypercall(EXITLESS_HC_PVTIMER_SYNC, 0, 0, 0, 0, &o);
			on = !o.rax;
			asm volatile("sti" ::: "memory");
			while (READ_ONCE(load_pt[idx]) == c0 &&
			       READ_ONCE(load_wd[idx]) == w0)
				cpu_relax();
			asm volatile("cli" ::: "memory");
			break;
		case 2:		/* SYNC, then cancel */
			exl_hypercall(EXITLESS_HC_PVTIMER_SYNC, 0, 0, 0, 0, &o);
			WRITE_ONCE(s->deadline, 0);
			barrier();
			WRITE_ONCE(s->seq, s->seq + 1);
			exl_hypercall(EXITLESS_HC_PVTIMER_SYNC, 0, 0, 0, 0, &o);
			on = !o.rax;
			asm volatile("sti; nop; cli" ::: "memory");
			break;
		default:	/* DISABLE and ENABLE again with a timer armed */
			exl_hypercall(EXITLESS_HC_PVTIMER_SYNC, 0, 0, 0, 0, &o);
			exl_hypercall(EXITLESS_HC_PVTIMER_DISABLE, 0, 0, 0, 0,
				      &o);
			exl_hypercall(EXITLESS_HC_PVTIMER_ENABLE, PT_VECTOR, 0,
				      0, 0, &o);
			on = !o.rax;
			asm volatile("sti; nop; cli" ::: "memory");
			break;
		}
		wrmsr(MSR_IA32_TSC_DEADLINE, 0);
		WRITE_ONCE(load_iters[idx], i + 1);
	}
}

static void *load_vcpu_thread(void *arg)
{
	struct kvm_vcpu *v = arg;
	struct ucall uc;
	u64 cmd;

	cmd = exl_vcpu_run_ucall(v, &uc);
	/* the guest never comes back: only an assertion would */
	TEST_ASSERT(0, "load vCPU %u left the guest (ucall %lu)", v->id,
		    (unsigned long)cmd);
	return NULL;
}

/*
 * Child: a VM of LOAD_VCPUS looping vCPUs; writes to @fd, every time
 * they have made progress, a line with their iterations (the sum, then
 * each vCPU's) and the hlt fixups of all, until it is killed.
 */
static void load_child(int fd, u64 delta)
{
	struct kvm_vcpu *lv[MAX_LOAD_VCPUS];
	pthread_t th[MAX_LOAD_VCPUS];
	struct kvm_vm *lvm;
	unsigned int i;
	vm_vaddr_t gva;
	u64 *iters, *fixups;
	char buf[128];
	u64 sum, last = 0;
	int len;

	lvm = vm_create_with_vcpus(LOAD_VCPUS, load_guest, lv);
	exl_vm_sync(lvm);
	vm_init_descriptor_tables(lvm);
	vm_install_exception_handler(lvm, PT_VECTOR, load_pt_handler);
	vm_install_exception_handler(lvm, WD_VECTOR, load_wd_handler);
	for (i = 0; i < LOAD_VCPUS; i++) {
		vcpu_set_cpuid_feature(lv[i], X86_FEATURE_TSC_DEADLINE_TIMER);
		vcpu_init_descriptor_tables(lv[i]);
		gva = vm_vaddr_alloc_page(lvm);
		memset(addr_gva2hva(lvm, gva), 0, 4096);
		vcpu_args_set(lv[i], 4, (u64)i, (u64)gva,
			      (u64)addr_gva2gpa(lvm, gva), delta);
	}
	for (i = 0; i < LOAD_VCPUS; i++) {
		struct ucall uc;

		TEST_ASSERT(exl_vcpu_run_ucall(lv[i], &uc) == UCALL_SYNC &&
			    uc.args[1] == SYNC_READY, "load vCPU %u: no start",
			    i);
	}
	for (i = 0; i < LOAD_VCPUS; i++)
		pthread_create(&th[i], NULL, load_vcpu_thread, lv[i]);
	iters = addr_gva2hva(lvm, (vm_vaddr_t)load_iters);
	fixups = addr_gva2hva(lvm, (vm_vaddr_t)&load_fixups);
	for (;;) {
		usleep(20000);
		for (sum = 0, i = 0; i < LOAD_VCPUS; i++)
			sum += READ_ONCE(iters[i]);
		if (sum == last)
			continue;
		last = sum;
		len = snprintf(buf, sizeof(buf), "%lu", sum);
		for (i = 0; i < LOAD_VCPUS; i++)
			len += snprintf(buf + len, sizeof(buf) - len, " %lu",
					READ_ONCE(iters[i]));
		snprintf(buf + len, sizeof(buf) - len, " (hlt fixups %lu)\n",
			 READ_ONCE(*fixups));
		if (write(fd, buf, strlen(buf)) < 0)
			_exit(0);
	}
}

struct loader {
	pid_t pid;
	int fd;
	u64 iters;		/* of all vCPUs */
	char each[96];		/* each vCPU's, as the child wrote them */
};

static bool loader_start(struct loader *l, u64 delta)
{
	int p[2];

	TEST_ASSERT(!pipe(p), "pipe");
	fflush(stdout);
	fflush(stderr);
	l->pid = fork();
	TEST_ASSERT(l->pid >= 0, "fork");
	if (!l->pid) {
		close(p[0]);
		load_child(p[1], delta);
		_exit(0);
	}
	close(p[1]);
	l->fd = p[0];
	l->iters = 0;
	strcpy(l->each, "none yet");
	return true;
}

/* Read progress lines until the iterations pass @want or @secs pass. */
static bool loader_progress(struct loader *l, u64 want, double secs)
{
	double t0 = exl_now();
	char buf[4096];
	ssize_t len;
	char *nl, *p;

	while (exl_now() - t0 < secs) {
		struct timeval tv = { 0, 100000 };
		fd_set set;

		FD_ZERO(&set);
		FD_SET(l->fd, &set);
		if (select(l->fd + 1, &set, NULL, NULL, &tv) <= 0)
			continue;
		len = read(l->fd, buf, sizeof(buf) - 1);
		if (len <= 0)
			return false;	/* the child died */
		buf[len] = '\0';
		/* the last complete line */
		buf[len] = '\0';
		nl = strrchr(buf, '\n');
		if (!nl)
			continue;
		*nl = '\0';
		p = strrchr(buf, '\n');
		p = p ? p + 1 : buf;
		l->iters = strtoull(p, &p, 10);
		snprintf(l->each, sizeof(l->each), "%s", *p ? p + 1 : "?");
		if (l->iters >= want)
			return true;
	}
	return false;
}

static bool loader_kill(struct loader *l)
{
	int status;

	kill(l->pid, SIGKILL);
	close(l->fd);
	if (waitpid(l->pid, &status, 0) != l->pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void test_kill_under_load(struct counts base)
{
	u64 delta = us_to_cycles(200);
	unsigned int k, ok = 0;
	s64 inj0 = exl_stat("pvtimer_injects");
	struct loader l;
	struct counts c;
	double secs;
	bool prog, killed;

	for (k = 0; k < kills; k++) {
		loader_start(&l, delta);
		prog = loader_progress(&l, 40 + 40 * k, 60);
		/* stop at a different point each time */
		usleep(1000 * (7 * k % 20));
		killed = loader_kill(&l);
		c = settle(base, &secs);
		ksft_print_msg("kill %u: %lu iterations, SIGKILL %s, counts back in %.2f s\n",
			       k, l.iters, killed ? "ok" : "FAILED", secs);
		if (prog && killed && counts_eq(c, base))
			ok++;
		else
			ksft_print_msg("kill %u: progress %d: %ld %ld %ld, want %ld %ld %ld\n",
				       k, prog, c.vms, c.regs, c.pt, base.vms,
				       base.regs, base.pt);
	}
	ksft_test_result(ok == kills,
			 "teardown: %u VMs of %d vCPUs arming in a loop were killed, each had made progress and the counts came back (%u ok)\n",
			 kills, LOAD_VCPUS, ok);
	ksft_test_result(exl_stat("pvtimer_injects") > inj0,
			 "teardown: the host injected under load (%ld injects)\n",
			 exl_stat("pvtimer_injects") - inj0);
}

static void test_rmmod_under_load(struct counts base)
{
	static char * const rmmod[] = { "rmmod", EXL_HOST_MODULE, NULL };
	char *ko = getenv("EXITLESS_HOST_KO");
	char *insmod[3];
	u64 delta = us_to_cycles(200), it;
	struct loader l;
	struct counts c;
	bool p1, p2, p3, killed;
	s64 inj0, inj1, pt;
	double secs, t0;
	int rc1, rc2;
	char at_rmmod[sizeof(l.each)], at_insmod[sizeof(l.each)];

	insmod[0] = "insmod";
	insmod[1] = ko;
	insmod[2] = NULL;
	loader_start(&l, delta);
	p1 = loader_progress(&l, 50, 60);
	strcpy(at_rmmod, l.each);
	rc1 = exl_run_cmd(rmmod);
	/* without the module (counted from now): the watchdog ends each wait */
	loader_progress(&l, ~0ULL, 0.2);
	it = l.iters;
	p2 = loader_progress(&l, it + 8, 60);
	rc2 = exl_run_cmd(insmod);
	strcpy(at_insmod, l.each);
	/*
	 * The vCPUs went on while insmod ran: from here, wait until all of
	 * them enabled pvtimer again and the host injected (or 60 s).
	 */
	inj0 = exl_stat("pvtimer_injects");
	t0 = exl_now();
	do {
		p3 = loader_progress(&l, l.iters + 20, 60);
		inj1 = exl_stat("pvtimer_injects");
		pt = exl_stat("pvtimer_vcpus");
	} while (p3 && (pt != LOAD_VCPUS || inj1 <= inj0) &&
		 exl_now() - t0 < 60);
	killed = loader_kill(&l);
	/* which vCPU stopped, and when, if one did; the hlt fixups */
	ksft_print_msg("iterations of each vCPU: before rmmod %s, at insmod %s, at the end %s\n",
		       at_rmmod, at_insmod, l.each);
	ksft_test_result(p1 && !rc1 && p2 && !rc2,
			 "rmmod %s with %d vCPUs arming: exit %d, they go on without it, insmod exit %d (progress %d %d)\n",
			 EXL_HOST_MODULE, LOAD_VCPUS, rc1, rc2, p1, p2);
	/*
	 * Every vCPU must enable again.  One of the four used to stay halted
	 * for good now and then (6.12 on 2026-12-01, CI of 8c8107a and
	 * 02b5b55 on 6.1): a state dump on 2026-12-05 showed it halted at the
	 * hlt of its wait, its IRR and ISR empty, with both its interrupts
	 * already counted since the wait began.  They had been taken between
	 * sti and hlt, where QEMU's emulated SVM does not keep sti's shadow;
	 * exl_guest_halt_fixup() now steps over that hlt (exitless_test.h),
	 * and "hlt fixups" above counts how often it did.
	 */
	ksft_test_result(p3 && inj0 >= 0 && inj1 > inj0 && pt == LOAD_VCPUS,
			 "after insmod all %d vCPUs enable again and get interrupts (progress %d, pvtimer_vcpus %ld, injects +%ld in %.2f s)\n",
			 LOAD_VCPUS, p3, pt, inj1 - inj0, exl_now() - t0);
	/* a fresh module: nothing */
	base.vms = 0;
	base.regs = 0;
	base.pt = 0;
	c = settle(base, &secs);
	ksft_test_result(killed && counts_eq(c, base),
			 "after the kill: vms %ld, vcpus_registered %ld, pvtimer_vcpus %ld (want 0) in %.2f s\n",
			 c.vms, c.regs, c.pt, secs);
}

/* The rest of a VM's setup, once vm and vcpu (running pt_guest) exist. */
static void setup_vm(void)
{
	exl_vm_sync(vm);
	vm_init_descriptor_tables(vm);
	vcpu_init_descriptor_tables(vcpu);
	vm_install_exception_handler(vm, PT_VECTOR, pt_handler);
	vm_install_exception_handler(vm, WD_VECTOR, wd_handler);
	vcpu_set_cpuid_feature(vcpu, X86_FEATURE_TSC_DEADLINE_TIMER);
	area_gva = vm_vaddr_alloc_page(vm);
	area_gpa = addr_gva2gpa(vm, area_gva);
	sec = addr_gpa2hva(vm, area_gpa + EXITLESS_AREA_OFF_PVTIMER);
	tsc_khz = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
	TEST_ASSERT((s64)tsc_khz > 0, "KVM_GET_TSC_KHZ: %ld", (long)tsc_khz);
	run_op(0);	/* to the first wait: x2APIC on, watchdog LVT set */
}

static void create_vm(void)
{
	vm = vm_create_with_one_vcpu(&vcpu, pt_guest);
	setup_vm();
}

#define NR_HLT_TESTS	2

/*
 * A VM whose HLT does not exit (KVM_CAP_X86_DISABLE_EXITS, as QEMU's
 * -overcommit cpu-pm=on sets it) gets no pvtimer: its guest arms lazily
 * before a halt, counting on the halt's exit.  A VM of its own, then the
 * test's VM again.
 */
static void test_hlt_in_guest(void)
{
	struct kvm_vm *vm0 = vm;
	struct kvm_vcpu *vcpu0 = vcpu;
	u64 gpa0 = area_gpa;
	vm_vaddr_t gva0 = area_gva;
	struct exitless_pvtimer_section *sec0 = sec;

	vm = vm_create(1);
	vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS, KVM_X86_DISABLE_EXITS_HLT);
	vcpu = vm_vcpu_add(vm, 0, pt_guest);
	setup_vm();
	hc(EXITLESS_HC_PROBE, EXITLESS_ABI_VERSION, 0, 0, 0);
	check_rax("HLT exits disabled: REGISTER layout 3", reg(AREA_SIZE, 3), 0);
	check_rax("HLT exits disabled: ENABLE is -EOPNOTSUPP",
		  enable(PT_VECTOR, 0), EOPNOTSUPP_RET);
	kvm_vm_free(vm);
	vm = vm0;
	vcpu = vcpu0;
	area_gpa = gpa0;
	area_gva = gva0;
	sec = sec0;
}

/* exitless_host's pvtimer_poll_us; 0 for a module without it */
static unsigned int read_poll_us(void)
{
	FILE *f = fopen("/sys/module/" EXL_HOST_MODULE "/parameters/pvtimer_poll_us",
			"r");
	unsigned int v = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%u", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

int main(int argc, char *argv[])
{
	struct exl_hc_out out;
	struct counts base;
	int opt;

	exl_init();
	while ((opt = getopt(argc, argv, "r:k:R")) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 'k':
			kills = atoi(optarg);
			break;
		case 'R':
			do_rmmod = true;
			break;
		default:
			ksft_exit_fail_msg("usage: %s [-r reps] [-k kills] [-R]\n",
					   argv[0]);
		}
	}
	ksft_print_header();
	__TEST_REQUIRE(exl_module_loaded(), "%s is not loaded",
		       EXL_HOST_MODULE);
	if (access(EXL_STATS_PATH, R_OK))
		ksft_exit_fail_msg("%s is loaded but %s is missing\n",
				   EXL_HOST_MODULE, EXL_STATS_PATH);
	TEST_ASSERT(reps >= 1 && kills >= 1, "need reps, kills >= 1");
	if (do_rmmod && !getenv("EXITLESS_HOST_KO")) {
		ksft_print_msg("-R without EXITLESS_HOST_KO: no rmmod part\n");
		do_rmmod = false;
	}
	poll_us = read_poll_us();
	base = read_counts();
	ksft_set_plan(1 + NR_HOSTILE_TESTS + NR_DELIVERY_TESTS +
		      (poll_us ? NR_POLLER_TESTS + NR_PIN_TESTS : 0) +
		      NR_UNREAD_TESTS + NR_BACKSTOP_TESTS + NR_HLT_TESTS + 2 + 2 +
		      (do_rmmod ? 3 : 0));

	create_vm();
	ksft_print_msg("guest TSC %lu kHz, host poller %u us\n", tsc_khz,
		       poll_us);
	hc(EXITLESS_HC_PROBE, EXITLESS_ABI_VERSION, 0, 0, 0);
	out = host_mbox()->out;
	ksft_test_result(out.rax == 0 && (out.rcx & EXITLESS_F_PVTIMER),
			 "PROBE offers EXITLESS_F_PVTIMER (rax %#lx, features %#lx)\n",
			 out.rax, out.rcx);

	test_hostile();
	test_delivery();
	test_unread();
	if (poll_us) {
		test_poller();
		test_pin_fault();
	}
	test_host_backstop();
	test_hlt_in_guest();
	test_destroy_armed(base);
	test_kill_under_load(base);
	if (do_rmmod)
		test_rmmod_under_load(base);

	ksft_finished();
	return 0;
}
