// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the exitless host ABI selftests: the executor guest,
 * its host side, and readers for debugfs stats and the kernel log.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>

#include "exitless_test.h"

bool exl_use_vmcall;

/* See exitless_test.h: the hlt's address is what the fixup looks for. */
asm(".pushsection .text, \"ax\"\n"
	".globl exl_guest_halt\n"
	".type exl_guest_halt, @function\n"
	"exl_guest_halt:\n"
	"sti\n"
	".globl exl_guest_hlt_insn\n"
	"exl_guest_hlt_insn:\n"
	"hlt\n"
	"cli\n"
	"ret\n"
	".size exl_guest_halt, . - exl_guest_halt\n"
	".popsection\n");

struct exl_mbox exl_mbox[EXL_MAX_VCPUS];
void (*exl_mmio_handler)(struct kvm_vcpu *vcpu);

/* Guest code: runs in the VM, 64-bit, CPL 0 (or 3 in the CPL test). */
void exl_guest_executor(u64 idx)
{
	struct exl_mbox *mb = &exl_mbox[idx];
	struct exl_hc_out o;
	u64 nr, bad;

	for (;;) {
		GUEST_SYNC(EXL_SYNC_WAIT);

		switch (READ_ONCE(mb->op)) {
		case EXL_OP_HYPERCALL:
			exl_hypercall(mb->nr, mb->a[0], mb->a[1], mb->a[2],
				      mb->a[3], &mb->out);
			break;
		case EXL_OP_READ64:
			mb->out.rax = READ_ONCE(*(u64 *)mb->a[0]);
			break;
		case EXL_OP_WRITE64:
			WRITE_ONCE(*(u64 *)mb->a[0], mb->a[1]);
			break;
		case EXL_OP_SWEEP:
			bad = 0;
			mb->out.rbx = 0;
			mb->out.rcx = 0;
			for (nr = mb->nr; nr <= mb->a[0]; nr++) {
				exl_hypercall(nr, 0, 0, 0, 0, &o);
				if (o.rax == mb->a[1])
					continue;
				if (!bad) {
					mb->out.rbx = nr;
					mb->out.rcx = o.rax;
				}
				bad++;
			}
			mb->out.rax = bad;
			break;
		case EXL_OP_CPL:
			mb->out.rax = exl_guest_cpl();
			break;
		case EXL_OP_DONE:
			GUEST_DONE();
			break;
		default:
			GUEST_ASSERT_1(0, mb->op);
		}
	}
}

void exl_init(void)
{
	/* Output goes through pipes to the harness: keep it in order. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void exl_vm_sync(struct kvm_vm *vm)
{
	exl_use_vmcall = is_intel_cpu();
	sync_global_to_guest(vm, exl_use_vmcall);
}

struct kvm_vm *exl_vm_create(unsigned int nr_vcpus, struct kvm_vcpu *vcpus[],
			     void *guest_code)
{
	struct kvm_vm *vm;
	unsigned int i;

	TEST_ASSERT(nr_vcpus && nr_vcpus <= EXL_MAX_VCPUS,
		    "bad vCPU count %u", nr_vcpus);

	vm = vm_create_with_vcpus(nr_vcpus, guest_code, vcpus);
	exl_vm_sync(vm);

	for (i = 0; i < nr_vcpus; i++)
		vcpu_args_set(vcpus[i], 1, (uint64_t)i);
	return vm;
}

void exl_executor_start(struct kvm_vcpu *vcpu)
{
	struct ucall uc;
	u64 cmd;

	cmd = exl_vcpu_run_ucall(vcpu, &uc);
	TEST_ASSERT(cmd == UCALL_SYNC && uc.args[1] == EXL_SYNC_WAIT,
		    "vCPU %u: executor did not start (ucall %lu)",
		    vcpu->id, (unsigned long)cmd);
}

struct kvm_vm *exl_vm_create_executor(unsigned int nr_vcpus,
				      struct kvm_vcpu *vcpus[])
{
	struct kvm_vm *vm = exl_vm_create(nr_vcpus, vcpus, exl_guest_executor);
	unsigned int i;

	for (i = 0; i < nr_vcpus; i++)
		exl_executor_start(vcpus[i]);
	return vm;
}

u64 exl_vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	u64 cmd;

	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_MMIO && exl_mmio_handler) {
			exl_mmio_handler(vcpu);
			continue;
		}
		if (run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "vCPU %u state at the unexpected exit:\n",
				vcpu->id);
			vcpu_dump(stderr, vcpu, 4);
		}
		TEST_ASSERT(run->exit_reason == KVM_EXIT_IO,
			    "vCPU %u: unexpected exit reason %u (%s)",
			    vcpu->id, run->exit_reason,
			    exit_reason_str(run->exit_reason));
		cmd = get_ucall(vcpu, uc);
		if (cmd == UCALL_ABORT)
			REPORT_GUEST_ASSERT_1(*uc, "value %#lx");
		return cmd;
	}
}

static struct exl_mbox *exl_host_mbox(struct kvm_vcpu *vcpu)
{
	TEST_ASSERT(vcpu->id < EXL_MAX_VCPUS, "vCPU id %u", vcpu->id);
	return addr_gva2hva(vcpu->vm, (vm_vaddr_t)&exl_mbox[vcpu->id]);
}

static void exl_exec(struct kvm_vcpu *vcpu, u64 op, u64 nr, u64 a0, u64 a1,
		     u64 a2, u64 a3, struct exl_hc_out *out)
{
	struct exl_mbox *mb = exl_host_mbox(vcpu);
	struct ucall uc;
	u64 cmd;

	mb->nr = nr;
	mb->a[0] = a0;
	mb->a[1] = a1;
	mb->a[2] = a2;
	mb->a[3] = a3;
	memset(&mb->out, 0xa5, sizeof(mb->out));
	WRITE_ONCE(mb->op, op);

	cmd = exl_vcpu_run_ucall(vcpu, &uc);
	if (op == EXL_OP_DONE) {
		TEST_ASSERT(cmd == UCALL_DONE, "vCPU %u: no UCALL_DONE (%lu)",
			    vcpu->id, (unsigned long)cmd);
		return;
	}
	TEST_ASSERT(cmd == UCALL_SYNC && uc.args[1] == EXL_SYNC_WAIT,
		    "vCPU %u: executor lost after op %lu (ucall %lu)",
		    vcpu->id, op, (unsigned long)cmd);
	if (out)
		*out = mb->out;
}

void exl_hc(struct kvm_vcpu *vcpu, u64 nr, u64 a0, u64 a1, u64 a2, u64 a3,
	    struct exl_hc_out *out)
{
	exl_exec(vcpu, EXL_OP_HYPERCALL, nr, a0, a1, a2, a3, out);
}

u64 exl_guest_read64(struct kvm_vcpu *vcpu, u64 gva)
{
	struct exl_hc_out out;

	exl_exec(vcpu, EXL_OP_READ64, 0, gva, 0, 0, 0, &out);
	return out.rax;
}

void exl_guest_write64(struct kvm_vcpu *vcpu, u64 gva, u64 val)
{
	exl_exec(vcpu, EXL_OP_WRITE64, 0, gva, val, 0, 0, NULL);
}

u64 exl_guest_sweep(struct kvm_vcpu *vcpu, u64 first, u64 last, u64 expect,
		    u64 *bad_nr, u64 *bad_rax)
{
	struct exl_hc_out out;

	TEST_ASSERT(first <= last && last - first < 65536, "bad sweep range");
	exl_exec(vcpu, EXL_OP_SWEEP, first, last, expect, 0, 0, &out);
	*bad_nr = out.rbx;
	*bad_rax = out.rcx;
	return out.rax;
}

u16 exl_guest_cpl_of(struct kvm_vcpu *vcpu)
{
	struct exl_hc_out out;

	exl_exec(vcpu, EXL_OP_CPL, 0, 0, 0, 0, 0, &out);
	return out.rax;
}

void exl_guest_done(struct kvm_vcpu *vcpu)
{
	exl_exec(vcpu, EXL_OP_DONE, 0, 0, 0, 0, 0, NULL);
}

bool exl_probe(struct kvm_vcpu *vcpu, struct exl_hc_out *out)
{
	exl_hc(vcpu, EXITLESS_HC_PROBE, EXITLESS_ABI_VERSION, 0, 0, 0, out);
	return out->rax == 0;
}

void exl_area_init(struct kvm_vm *vm, u64 gpa, u16 version, u16 size)
{
	struct exitless_area_hdr *hdr = addr_gpa2hva(vm, gpa);

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = EXITLESS_AREA_MAGIC;
	hdr->version = version;
	hdr->size = size;
}

bool exl_module_loaded(void)
{
	return access(EXL_SYSFS_MODULE, F_OK) == 0;
}

int exl_stats_read(struct exl_stats *st)
{
	char line[128], name[48], val[32], *end;
	unsigned long long v;
	FILE *f;

	st->nr = 0;
	f = fopen(EXL_STATS_PATH, "r");
	if (!f)
		return -errno;
	while (st->nr < EXL_STATS_MAX && fgets(line, sizeof(line), f)) {
		/* "name value", the value decimal or 0x-prefixed hex */
		if (sscanf(line, "%47s %31s", name, val) != 2)
			continue;
		v = strtoull(val, &end, 0);
		if (*end)
			continue;
		strcpy(st->name[st->nr], name);
		st->val[st->nr] = v;
		st->nr++;
	}
	fclose(f);
	return 0;
}

bool exl_stats_get(const struct exl_stats *st, const char *name, u64 *val)
{
	int i;

	for (i = 0; i < st->nr; i++) {
		if (!strcmp(st->name[i], name)) {
			*val = st->val[i];
			return true;
		}
	}
	return false;
}

s64 exl_stat(const char *name)
{
	struct exl_stats st;
	int ret;
	u64 v;

	ret = exl_stats_read(&st);
	if (ret) {
		ksft_print_msg("cannot read %s: %s\n", EXL_STATS_PATH,
			       strerror(-ret));
		return -1;
	}
	if (!exl_stats_get(&st, name, &v)) {
		ksft_print_msg("no '%s' in %s\n", name, EXL_STATS_PATH);
		return -1;
	}
	return v;
}

int exl_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

int exl_kmsg_new_records(int fd, const char *prefix)
{
	char rec[8192];
	int n = 0;
	ssize_t len;

	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE) {
			/* records were overwritten: still new records */
			ksft_print_msg("%s(kmsg records lost)\n", prefix);
			n++;
			continue;
		}
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			break;
		rec[len] = '\0';
		if (len && rec[len - 1] == '\n')
			rec[len - 1] = '\0';
		ksft_print_msg("%s%s\n", prefix, rec);
		n++;
	}
	return n;
}

int exl_run_cmd(char *const argv[])
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double exl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
