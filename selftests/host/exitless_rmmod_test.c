// SPDX-License-Identifier: GPL-2.0
/*
 * exitless_rmmod_test: hot upgrade of the host module under load.
 *
 * vCPU threads loop on PROBE, UNREGISTER and REGISTER while the main thread
 * runs `rmmod exitless_host`: once rmmod has returned every vCPU gets
 * -KVM_ENOSYS; after `insmod $EXITLESS_HOST_KO` PROBE answers again, with a
 * new epoch, and REGISTER/UNREGISTER work again.  At no time does a call
 * answer anything but what the ABI allows.  Not crashing is the main point:
 * the harness scans the kernel log for WARNING/BUG/Oops.
 *
 * usage: exitless_rmmod_test [-n vcpus] [-c cycles] [-s seconds] [-P]
 *   -n  vCPU threads (default 2)
 *   -c  rmmod/insmod cycles (default 2; 0: only load whatever answers,
 *       exitless_host or KVM alone, with hypercalls for -s seconds)
 *   -s  seconds of hypercall load before each rmmod (default 0.2)
 *   -P  park the vCPU threads outside KVM_RUN (VM alive, areas registered)
 *       while rmmod/insmod run.  For multi-threaded QEMU TCG as L0: there,
 *       L1 kernel text patching (ftrace, as module load/unload does) while
 *       L2 vCPUs run corrupts L2 state, even with no exitless module at
 *       all.  Single-threaded TCG (-accel tcg,thread=single) does not.
 * Skips (exit 4) without EXITLESS_HOST_KO, the module to insmod.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "exitless_test.h"

#define WAIT_TIMEOUT	60.0	/* seconds for the vCPUs to make progress */
#define MAX_CYCLES	16

struct result {
	u64 probe;	/* RAX of PROBE */
	u64 epoch;	/* RDX of PROBE */
	u64 reg;	/* RAX of REGISTER */
	u64 unreg;	/* RAX of UNREGISTER */
	u64 abi;	/* RBX of PROBE */
};

struct vcpu_state {
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	pthread_mutex_t lock;
	u64 seq;		/* iterations reported */
	struct result last;
	u64 present, absent, enoent, bad;
	bool dump;		/* main asks for the guest's state */
	bool done;
};

static struct vcpu_state states[EXL_MAX_VCPUS];
static unsigned int nr_vcpus = 2;

/* -P: vCPU threads wait outside KVM_RUN while the module comes or goes */
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;
static bool park_req;
static unsigned int nr_parked;

static void maybe_park(void)
{
	pthread_mutex_lock(&park_lock);
	if (park_req) {
		nr_parked++;
		pthread_cond_broadcast(&park_cond);
		while (park_req)
			pthread_cond_wait(&park_cond, &park_lock);
		nr_parked--;
	}
	pthread_mutex_unlock(&park_lock);
}

static bool park_all(void)
{
	struct timespec deadline;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_TIMEOUT;
	pthread_mutex_lock(&park_lock);
	park_req = true;
	while (ok && nr_parked < nr_vcpus)
		ok = !pthread_cond_timedwait(&park_cond, &park_lock, &deadline);
	pthread_mutex_unlock(&park_lock);
	return ok;
}

static void unpark_all(void)
{
	pthread_mutex_lock(&park_lock);
	park_req = false;
	pthread_cond_broadcast(&park_cond);
	pthread_mutex_unlock(&park_lock);
}

/* Guest memory: set by the host to end the loop. */
static u64 guest_stop[EXL_MAX_VCPUS];

/*
 * Each iteration leaves the vCPU registered, so that the module always has
 * live registrations when it goes: PROBE, UNREGISTER the previous area,
 * REGISTER it again, report.
 */
static void guest_loop(u64 idx, u64 area)
{
	struct exl_hc_out p, r, u;

	while (!READ_ONCE(guest_stop[idx])) {
		exl_hypercall(EXITLESS_HC_PROBE, EXITLESS_ABI_VERSION, 0, 0, 0,
			      &p);
		exl_hypercall(EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &u);
		exl_hypercall(EXITLESS_HC_REGISTER, area,
			      EXITLESS_AREA_MIN_SIZE, EXITLESS_LAYOUT_VERSION,
			      0, &r);
		GUEST_SYNC_ARGS(p.rax, p.rdx, r.rax, u.rax, p.rbx);
	}
	GUEST_DONE();
}

/* What the ABI allows for one iteration, whatever the module is doing. */
static bool result_allowed(const struct result *r)
{
	if (r->probe == 0) {
		if (r->abi != EXITLESS_ABI_VERSION || !r->epoch)
			return false;
	} else if (r->probe != EXL_KVM_ENOSYS) {
		return false;
	}
	if (r->reg != 0 && r->reg != EXL_KVM_ENOSYS)
		return false;
	/* ENOENT: first iteration, or the module was reloaded since */
	return r->unreg == 0 || r->unreg == EXL_KVM_ENOSYS ||
	       r->unreg == EXL_RET(EXITLESS_ENOENT);
}

/* Where a vCPU that makes no progress is: RIP, registers, code bytes. */
static void dump_guest(struct kvm_vcpu *vcpu)
{
	struct kvm_regs regs;
	u8 *code;

	vcpu_regs_get(vcpu, &regs);
	ksft_print_msg("vCPU %u: rip %#llx rsp %#llx rflags %#llx\n", vcpu->id,
		       regs.rip, regs.rsp, regs.rflags);
	ksft_print_msg("vCPU %u: rax %#llx rbx %#llx rcx %#llx rdx %#llx\n",
		       vcpu->id, regs.rax, regs.rbx, regs.rcx, regs.rdx);
	ksft_print_msg("vCPU %u: guest_loop at %p, exl_guest_executor at %p\n",
		       vcpu->id, guest_loop, exl_guest_executor);
	if (!sparsebit_is_set(vcpu->vm->vpages_mapped,
			      regs.rip >> vcpu->vm->page_shift)) {
		ksft_print_msg("vCPU %u: rip is not a guest address\n",
			       vcpu->id);
		return;
	}
	code = addr_gva2hva(vcpu->vm, regs.rip);
	ksft_print_msg("vCPU %u: code at rip: %02x %02x %02x %02x %02x %02x %02x %02x\n",
		       vcpu->id, code[0], code[1], code[2], code[3], code[4],
		       code[5], code[6], code[7]);
}

/*
 * Run to the next ucall.  A signal (from main, when this vCPU seems stuck)
 * interrupts KVM_RUN: then dump the guest's state and go on.
 */
static u64 run_to_ucall(struct vcpu_state *st, struct ucall *uc)
{
	struct kvm_vcpu *vcpu = st->vcpu;
	int rc;

	for (;;) {
		rc = __vcpu_run(vcpu);
		if (rc < 0 && errno == EINTR) {
			if (READ_ONCE(st->dump)) {
				dump_guest(vcpu);
				WRITE_ONCE(st->dump, false);
			}
			continue;
		}
		TEST_ASSERT(!rc, "vCPU %u: KVM_RUN failed: %d", vcpu->id, rc);
		if (vcpu->run->exit_reason != KVM_EXIT_IO)
			vcpu_dump(stderr, vcpu, 4);
		TEST_ASSERT(vcpu->run->exit_reason == KVM_EXIT_IO,
			    "vCPU %u: unexpected exit reason %u (%s)", vcpu->id,
			    vcpu->run->exit_reason,
			    exit_reason_str(vcpu->run->exit_reason));
		if (get_ucall(vcpu, uc) == UCALL_ABORT)
			REPORT_GUEST_ASSERT_1(*uc, "value %#lx");
		return uc->cmd;
	}
}

static void report_bad(struct vcpu_state *st, const struct result *r)
{
	ksft_print_msg("vCPU %u it %lu: probe %#lx abi %lu epoch %#lx reg %#lx unreg %#lx\n",
		       st->vcpu->id, st->seq, r->probe, r->abi, r->epoch,
		       r->reg, r->unreg);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu_state *st = arg;
	struct result r;
	struct ucall uc;
	u64 cmd;

	for (;;) {
		cmd = run_to_ucall(st, &uc);
		if (cmd == UCALL_DONE)
			break;
		TEST_ASSERT(cmd == UCALL_SYNC, "vCPU %u: ucall %lu",
			    st->vcpu->id, (unsigned long)cmd);
		r.probe = uc.args[1];
		r.epoch = uc.args[2];
		r.reg = uc.args[3];
		r.unreg = uc.args[4];
		r.abi = uc.args[5];

		pthread_mutex_lock(&st->lock);
		if (!result_allowed(&r)) {
			if (st->bad++ < 5)
				report_bad(st, &r);
		}
		st->present += r.probe == 0;
		st->absent += r.probe == EXL_KVM_ENOSYS;
		st->enoent += r.unreg == EXL_RET(EXITLESS_ENOENT);
		st->last = r;
		st->seq++;
		pthread_mutex_unlock(&st->lock);
		maybe_park();
	}
	WRITE_ONCE(st->done, true);
	return NULL;
}

static void sig_nop(int sig)
{
}

/* Ask vCPU @i's thread to print where its guest is. */
static void request_dump(unsigned int i)
{
	WRITE_ONCE(states[i].dump, true);
	pthread_kill(states[i].thread, SIGUSR1);
	usleep(500000);
}

static void snapshot(u64 *seq, struct result *last)
{
	unsigned int i;

	for (i = 0; i < nr_vcpus; i++) {
		pthread_mutex_lock(&states[i].lock);
		if (seq)
			seq[i] = states[i].seq;
		if (last)
			last[i] = states[i].last;
		pthread_mutex_unlock(&states[i].lock);
	}
}

/*
 * Wait until every vCPU has finished two more iterations than at @from, so
 * that its last one started after this call; then its last results.
 */
static bool wait_progress(const u64 *from, struct result *last)
{
	u64 seq[EXL_MAX_VCPUS];
	double t0 = exl_now();
	unsigned int i, done;

	for (;;) {
		snapshot(seq, last);
		for (done = 0, i = 0; i < nr_vcpus; i++)
			done += seq[i] >= from[i] + 2;
		if (done == nr_vcpus)
			return true;
		if (exl_now() - t0 > WAIT_TIMEOUT) {
			for (i = 0; i < nr_vcpus; i++) {
				if (seq[i] >= from[i] + 2)
					continue;
				ksft_print_msg("vCPU %u stuck: %lu iterations, started at %lu\n",
					       i, seq[i], from[i]);
				request_dump(i);
			}
			return false;
		}
		usleep(1000);
	}
}

static bool all_probe_ok(const struct result *last, u64 *epoch)
{
	unsigned int i;

	*epoch = last[0].epoch;
	for (i = 0; i < nr_vcpus; i++)
		if (last[i].probe || last[i].epoch != *epoch)
			return false;
	return true;
}

static bool park, threads_started;

static void report_vcpu(unsigned int i)
{
	struct vcpu_state *st = &states[i];

	ksft_print_msg("vCPU %u: %lu iterations (module %lu, none %lu, -ENOENT %lu, bad %lu)\n",
		       i, st->seq, st->present, st->absent, st->enoent, st->bad);
}

static int run_module_cmd(const char *what, char *const argv[])
{
	double t0 = exl_now();
	int rc;

	if (park && threads_started && !park_all())
		ksft_exit_fail_msg("the vCPU threads do not park\n");
	rc = exl_run_cmd(argv);
	if (park && threads_started)
		unpark_all();

	ksft_print_msg("%s: exit %d in %.3f s\n", what, rc, exl_now() - t0);
	return rc;
}

int main(int argc, char *argv[])
{
	static char * const rmmod[] = { "rmmod", EXL_HOST_MODULE, NULL };
	u64 epochs[MAX_CYCLES + 1], from[EXL_MAX_VCPUS];
	struct kvm_vcpu *vcpus[EXL_MAX_VCPUS];
	struct result last[EXL_MAX_VCPUS];
	char *insmod[3];
	unsigned int i, c, cycles = 2;
	double soak = 0.2, t0;
	struct sigaction sa = { .sa_handler = sig_nop };
	u64 bad = 0, iters = 0;
	bool ok, fresh, started, soak_only;
	struct kvm_vm *vm;
	int opt, rc, e;
	vm_vaddr_t gva;
	char *ko;

	exl_init();
	while ((opt = getopt(argc, argv, "n:c:s:P")) != -1) {
		if (opt == 'P')
			park = true;
		else if (opt == 'n')
			nr_vcpus = atoi(optarg);
		else if (opt == 'c')
			cycles = atoi(optarg);
		else if (opt == 's')
			soak = atof(optarg);
		else
			ksft_exit_fail_msg("usage: %s [-n vcpus] [-c cycles] [-s seconds] [-P]\n",
					   argv[0]);
	}
	if (nr_vcpus < 1 || nr_vcpus > EXL_MAX_VCPUS ||
	    cycles > MAX_CYCLES || soak < 0 || soak > 3600)
		ksft_exit_fail_msg("bad -n, -c or -s\n");

	ksft_print_header();
	ksft_print_msg("module commands run with the vCPUs %s\n",
		       park ? "parked (-P)" : "running");
	ko = getenv("EXITLESS_HOST_KO");
	if (cycles && (!ko || !*ko)) {
		fprintf(stderr,
			"SKIP: EXITLESS_HOST_KO is not set: no module to insmod after rmmod\n");
		ksft_exit_skip("EXITLESS_HOST_KO is not set\n");
	}
	insmod[0] = "insmod";
	insmod[1] = ko;
	insmod[2] = NULL;
	if (cycles && !exl_module_loaded()) {
		ksft_print_msg("%s not loaded: loading %s\n", EXL_HOST_MODULE,
			       ko);
		if (run_module_cmd("insmod", insmod))
			ksft_exit_fail_msg("insmod %s failed\n", ko);
	}
	/* -c 0: a soak of whatever answers, module or not */
	soak_only = !cycles && !exl_module_loaded();
	ksft_set_plan(3 + 6 * cycles);

	/* no SA_RESTART: the signal must end KVM_RUN */
	sigaction(SIGUSR1, &sa, NULL);

	vm = exl_vm_create(nr_vcpus, vcpus, guest_loop);
	for (i = 0; i < nr_vcpus; i++) {
		gva = vm_vaddr_alloc_page(vm);
		exl_area_init(vm, addr_gva2gpa(vm, gva),
			      EXITLESS_LAYOUT_VERSION, EXITLESS_AREA_MIN_SIZE);
		vcpu_args_set(vcpus[i], 2, (uint64_t)i,
			      (uint64_t)addr_gva2gpa(vm, gva));
		states[i].vcpu = vcpus[i];
		pthread_mutex_init(&states[i].lock, NULL);
		pthread_create(&states[i].thread, NULL, vcpu_thread,
			       &states[i]);
	}
	threads_started = true;

	memset(from, 0, sizeof(from));
	started = wait_progress(from, last);
	ok = started && (all_probe_ok(last, &epochs[0]) || soak_only);
	ksft_test_result(ok, "%u vCPUs looping, PROBE answers, epoch %#lx\n",
			 nr_vcpus, epochs[0]);
	if (!ok)
		ksft_exit_fail_msg("exitless_host does not answer\n");

	if (!cycles)
		usleep(soak * 1e6);
	for (c = 0; c < cycles; c++) {
		usleep(soak * 1e6);
		rc = run_module_cmd("rmmod", rmmod);
		ksft_test_result(rc == 0, "cycle %u: rmmod with the VM running\n", c);
		if (rc)
			ksft_exit_fail_msg("rmmod failed: giving up\n");

		snapshot(from, NULL);
		ok = wait_progress(from, last);
		for (i = 0; ok && i < nr_vcpus; i++)
			ok = last[i].probe == EXL_KVM_ENOSYS &&
			     last[i].reg == EXL_KVM_ENOSYS &&
			     last[i].unreg == EXL_KVM_ENOSYS;
		ksft_test_result(ok,
				 "cycle %u: after rmmod every vCPU gets -KVM_ENOSYS\n",
				 c);
		ksft_test_result(!exl_module_loaded() &&
				 access(EXL_STATS_PATH, F_OK),
				 "cycle %u: module and its debugfs are gone\n",
				 c);

		rc = run_module_cmd("insmod", insmod);
		ksft_test_result(rc == 0, "cycle %u: insmod %s with the VM running\n",
				 c, ko);
		if (rc)
			ksft_exit_fail_msg("insmod failed: giving up\n");

		snapshot(from, NULL);
		ok = wait_progress(from, last) &&
		     all_probe_ok(last, &epochs[c + 1]);
		for (fresh = ok, e = 0; e <= (int)c; e++)
			fresh &= epochs[e] != epochs[c + 1];
		ksft_test_result(ok && fresh,
				 "cycle %u: PROBE answers again with a new epoch %#lx\n",
				 c, epochs[c + 1]);
		for (ok = true, i = 0; i < nr_vcpus; i++)
			ok &= !last[i].reg && !last[i].unreg;
		ksft_test_result(ok,
				 "cycle %u: REGISTER/UNREGISTER work again\n",
				 c);
	}

	for (i = 0; i < nr_vcpus; i++)
		WRITE_ONCE(*(u64 *)addr_gva2hva(vm, (vm_vaddr_t)&guest_stop[i]),
			   1);
	for (t0 = exl_now(), i = 0; i < nr_vcpus; i++) {
		while (!READ_ONCE(states[i].done) &&
		       exl_now() - t0 < WAIT_TIMEOUT)
			usleep(1000);
		if (!READ_ONCE(states[i].done)) {
			ksft_print_msg("vCPU %u does not stop\n", i);
			request_dump(i);
			ksft_exit_fail_msg("a vCPU is stuck\n");
		}
		pthread_join(states[i].thread, NULL);
		report_vcpu(i);
		bad += states[i].bad;
		iters += states[i].seq;
	}
	ksft_test_result(!bad,
			 "every answer in %lu iterations was one the ABI allows (%lu not)\n",
			 iters, bad);
	for (fresh = true, c = 0; c <= cycles; c++)
		for (e = 0; e < (int)c; e++)
			fresh &= epochs[e] != epochs[c];
	ksft_test_result(fresh, "all %u epochs differ\n", cycles + 1);

	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
