// SPDX-License-Identifier: GPL-2.0
/*
 * exitless_vm_destroy_test: per-VM and per-vCPU host state lives exactly as
 * long as the VM.
 *
 * The host module's debugfs stats (vms, vcpus_registered) are read before,
 * while and after VMs whose vCPUs all registered their areas: they rise by
 * the number of VMs and registered vCPUs, and return to where they were
 * once the VMs are destroyed, whether the vCPUs unregistered first or not,
 * and for two VMs destroyed one after the other.  Adding a vCPU to a VM
 * leaves the registrations of the others alone.
 */
#include <string.h>

#include "exitless_test.h"

#define NR_VCPUS	8
#define SETTLE_TIMEOUT	10.0	/* seconds for the counts to come back */

struct counts {
	s64 vms;
	s64 regs;
};

static struct counts read_counts(void)
{
	struct counts c = { exl_stat("vms"), exl_stat("vcpus_registered") };

	if (c.vms < 0 || c.regs < 0)
		ksft_exit_fail_msg("%s lacks vms or vcpus_registered\n",
				   EXL_STATS_PATH);
	return c;
}

/* Wait for the counts to reach @want; the last counts read. */
static struct counts settle(struct counts want, double *secs)
{
	double t0 = exl_now();
	struct counts c;

	for (;;) {
		c = read_counts();
		*secs = exl_now() - t0;
		if ((c.vms == want.vms && c.regs == want.regs) ||
		    *secs > SETTLE_TIMEOUT)
			return c;
		usleep(10000);
	}
}

static struct kvm_vm *vm_all_registered(unsigned int n,
					struct kvm_vcpu *vcpus[], int *ok)
{
	struct kvm_vm *vm = exl_vm_create_executor(n, vcpus);
	struct exl_hc_out out;
	vm_vaddr_t gva;
	unsigned int i;
	u64 gpa;

	*ok = 0;
	for (i = 0; i < n; i++) {
		gva = vm_vaddr_alloc_page(vm);
		gpa = addr_gva2gpa(vm, gva);
		exl_area_init(vm, gpa, EXITLESS_LAYOUT_VERSION,
			      EXITLESS_AREA_MIN_SIZE);
		exl_hc(vcpus[i], EXITLESS_HC_REGISTER, gpa,
		       EXITLESS_AREA_MIN_SIZE, EXITLESS_LAYOUT_VERSION, 0,
		       &out);
		if (out.rax)
			ksft_print_msg("vCPU %u: REGISTER answers %#lx\n", i,
				       out.rax);
		else
			(*ok)++;
	}
	return vm;
}

static void check(const char *when, struct counts got, struct counts want)
{
	ksft_test_result(got.vms == want.vms,
			 "%s: vms %ld (want %ld)\n", when, got.vms, want.vms);
	ksft_test_result(got.regs == want.regs,
			 "%s: vcpus_registered %ld (want %ld)\n", when,
			 got.regs, want.regs);
}

static void check_back(const char *when, struct counts base)
{
	struct counts c;
	double secs;

	c = settle(base, &secs);
	ksft_test_result(c.vms == base.vms && c.regs == base.regs,
			 "%s: back to vms %ld, vcpus_registered %ld in %.3f s (now %ld, %ld)\n",
			 when, base.vms, base.regs, secs, c.vms, c.regs);
}

/* N vCPUs register, then unregister, then the VM goes. */
static void test_unregister_then_destroy(void)
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct counts base, now;
	struct exl_hc_out out;
	struct kvm_vm *vm;
	int ok, i, unregs = 0;

	base = read_counts();
	vm = vm_all_registered(NR_VCPUS, vcpus, &ok);
	ksft_test_result(ok == NR_VCPUS, "A: %d of %d vCPUs registered\n", ok,
			 NR_VCPUS);
	check("A: registered", read_counts(),
	      (struct counts){ base.vms + 1, base.regs + NR_VCPUS });

	for (i = 0; i < NR_VCPUS; i++) {
		exl_hc(vcpus[i], EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &out);
		unregs += !out.rax;
	}
	now = read_counts();
	ksft_test_result(unregs == NR_VCPUS && now.regs == base.regs &&
			 now.vms == base.vms + 1,
			 "A: %d unregistered: vcpus_registered %ld (want %ld), vms %ld (want %ld)\n",
			 unregs, now.regs, base.regs, now.vms, base.vms + 1);

	kvm_vm_free(vm);
	check_back("A: destroyed", base);
}

/* N vCPUs register, and the VM goes without unregistering. */
static void test_destroy_registered(void)
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct counts base;
	struct kvm_vm *vm;
	int ok;

	base = read_counts();
	vm = vm_all_registered(NR_VCPUS, vcpus, &ok);
	ksft_test_result(ok == NR_VCPUS, "B: %d of %d vCPUs registered\n", ok,
			 NR_VCPUS);
	check("B: registered", read_counts(),
	      (struct counts){ base.vms + 1, base.regs + NR_VCPUS });

	kvm_vm_free(vm);
	check_back("B: destroyed while registered", base);
}

/* Two VMs, each with two registered vCPUs, destroyed one by one. */
static void test_two_vms(void)
{
	struct kvm_vcpu *vcpus_a[2], *vcpus_b[2];
	struct kvm_vm *vm_a, *vm_b;
	struct counts base, now;
	int ok_a, ok_b;
	double secs;

	base = read_counts();
	vm_a = vm_all_registered(2, vcpus_a, &ok_a);
	vm_b = vm_all_registered(2, vcpus_b, &ok_b);
	now = read_counts();
	ksft_test_result(ok_a == 2 && ok_b == 2 && now.vms == base.vms + 2 &&
			 now.regs == base.regs + 4,
			 "C: two VMs registered: vms %ld (want %ld), vcpus_registered %ld (want %ld)\n",
			 now.vms, base.vms + 2, now.regs, base.regs + 4);

	kvm_vm_free(vm_a);
	now = settle((struct counts){ base.vms + 1, base.regs + 2 }, &secs);
	ksft_test_result(now.vms == base.vms + 1 && now.regs == base.regs + 2,
			 "C: first VM destroyed: vms %ld (want %ld), vcpus_registered %ld (want %ld)\n",
			 now.vms, base.vms + 1, now.regs, base.regs + 2);

	/* The survivor still answers. */
	exl_hc(vcpus_b[1], EXITLESS_HC_UNREGISTER, 0, 0, 0, 0,
	       &(struct exl_hc_out){});
	kvm_vm_free(vm_b);
	check_back("C: second VM destroyed", base);
}

/*
 * A vCPU created after another one registered: creating it must not touch
 * the other's registration (KVM resets a new vCPU before giving it its
 * index).
 */
static void test_vcpu_added_later(void)
{
	struct kvm_vcpu *vcpu0, *vcpu1;
	struct exl_hc_out reg, unreg;
	struct counts base, now;
	struct kvm_vm *vm;
	vm_vaddr_t gva;
	u64 gpa;

	base = read_counts();
	vm = vm_create(2);
	vcpu0 = vm_vcpu_add(vm, 0, exl_guest_executor);
	vcpu_args_set(vcpu0, 1, (uint64_t)0);
	exl_vm_sync(vm);
	exl_executor_start(vcpu0);
	gva = vm_vaddr_alloc_page(vm);
	gpa = addr_gva2gpa(vm, gva);
	exl_area_init(vm, gpa, EXITLESS_LAYOUT_VERSION, EXITLESS_AREA_MIN_SIZE);
	exl_hc(vcpu0, EXITLESS_HC_REGISTER, gpa, EXITLESS_AREA_MIN_SIZE,
	       EXITLESS_LAYOUT_VERSION, 0, &reg);

	vcpu1 = vm_vcpu_add(vm, 1, exl_guest_executor);
	vcpu_args_set(vcpu1, 1, (uint64_t)1);
	exl_executor_start(vcpu1);
	now = read_counts();
	exl_hc(vcpu0, EXITLESS_HC_UNREGISTER, 0, 0, 0, 0, &unreg);
	ksft_test_result(!reg.rax && now.regs == base.regs + 1 && !unreg.rax,
			 "D: adding vCPU 1 keeps vCPU 0's registration (REGISTER %#lx, then vcpus_registered %ld want %ld, UNREGISTER %#lx want 0)\n",
			 reg.rax, now.regs, base.regs + 1, unreg.rax);

	kvm_vm_free(vm);
	check_back("D: destroyed", base);
}

/* Information only: what a VM that never calls us does to the counts. */
static void note_unused_vm(void)
{
	struct counts base = read_counts(), during, after;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	double secs;

	vm = exl_vm_create_executor(1, &vcpu);
	during = read_counts();
	kvm_vm_free(vm);
	after = settle(base, &secs);
	ksft_print_msg("a VM that never calls: vms %ld -> %ld -> %ld\n",
		       base.vms, during.vms, after.vms);
}

int main(void)
{
	struct exl_hc_out out;
	struct counts base;
	double secs;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	exl_init();
	ksft_print_header();
	__TEST_REQUIRE(exl_module_loaded(), "%s is not loaded",
		       EXL_HOST_MODULE);
	__TEST_REQUIRE(access("/sys/kernel/debug/kvm", F_OK) == 0,
		       "debugfs is not mounted at /sys/kernel/debug");
	if (access(EXL_STATS_PATH, R_OK))
		ksft_exit_fail_msg("%s is loaded but %s is missing\n",
				   EXL_HOST_MODULE, EXL_STATS_PATH);

	base = read_counts();
	vm = exl_vm_create_executor(1, &vcpu);
	if (!exl_probe(vcpu, &out))
		ksft_exit_fail_msg("PROBE answers %#lx with %s loaded\n",
				   out.rax, EXL_HOST_MODULE);
	kvm_vm_free(vm);
	settle(base, &secs);

	ksft_set_plan(14);
	test_unregister_then_destroy();
	test_destroy_registered();
	test_two_vms();
	test_vcpu_added_later();
	note_unused_vm();
	ksft_finished();
	return 0;
}
