// SPDX-License-Identifier: GPL-2.0
/*
 * exitless_hostile_test: every guest-supplied value is validated.
 *
 * A raw CPL 0 guest (the executor) calls REGISTER with addresses that are
 * not writable RAM (beyond every memslot, in an MMIO-like gap, in a
 * KVM_MEM_READONLY memslot: -EXITLESS_EFAULT), with bad alignment, size,
 * page crossing, layout version or flags (-EXITLESS_EINVAL, including
 * values that only look valid once truncated to 32 or 16 bits), twice
 * (-EXITLESS_EBUSY); UNREGISTER with nothing registered (-EXITLESS_ENOENT)
 * or with flags (-EXITLESS_EINVAL); every unused number of our range
 * (-EXITLESS_ENOSYS).  Valid registrations succeed, and the guest sees the
 * host-written header fields.  A registered area's memslot is deleted under
 * the host's feet.  None of it may leave a record in the kernel log.
 */
#include <string.h>

#include "exitless_test.h"

#define MMIO_GPA	0x80000000ULL	/* no memslot: MMIO to KVM */
#define RO_GPA		0x90000000ULL
#define RO_SLOT		10
#define GONE_GPA	0xa0000000ULL
#define GONE_SLOT	11
#define MMIO_MAGIC	0x4f494d4dULL	/* "MMIO" */

#define PAGE		4096ULL
#define MIN		EXITLESS_AREA_MIN_SIZE
#define MAX		EXITLESS_AREA_MAX_SIZE
#define LAYOUT		EXITLESS_LAYOUT_VERSION
#define EFAULT_RET	EXL_RET(EXITLESS_EFAULT)
#define EINVAL_RET	EXL_RET(EXITLESS_EINVAL)

enum base { B_AREA, B_TOP, B_ABS, B_MMIO, B_RO };

struct reg_case {
	const char *what;
	enum base base;
	u64 off, size, version, flags;
	u64 expect;
};

static const struct reg_case reg_cases[] = {
	/* not writable RAM */
	{ "gpa above every memslot", B_TOP, 0, MIN, LAYOUT, 0, EFAULT_RET },
	{ "gpa at the top of the 64-bit space", B_ABS, ~0ULL & ~(PAGE - 1),
	  MIN, LAYOUT, 0, EFAULT_RET },
	{ "valid gpa with bit 63 set", B_AREA, 1ULL << 63, MIN, LAYOUT, 0,
	  EFAULT_RET },
	{ "gpa in an MMIO-like gap (no memslot)", B_MMIO, 0, MIN, LAYOUT, 0,
	  EFAULT_RET },
	{ "gpa in a KVM_MEM_READONLY memslot", B_RO, 0, MIN, LAYOUT, 0,
	  EFAULT_RET },
	/* alignment */
	{ "gpa 1-byte aligned", B_AREA, 1, MIN, LAYOUT, 0, EINVAL_RET },
	{ "gpa 8-byte aligned", B_AREA, 8, MIN, LAYOUT, 0, EINVAL_RET },
	{ "gpa 32-byte aligned", B_AREA, 32, MIN, LAYOUT, 0, EINVAL_RET },
	/* size */
	{ "size 0", B_AREA, 0, 0, LAYOUT, 0, EINVAL_RET },
	{ "size below the minimum", B_AREA, 0, MIN - 1, LAYOUT, 0, EINVAL_RET },
	{ "size above the maximum", B_AREA, 0, MAX + 1, LAYOUT, 0, EINVAL_RET },
	{ "size 2^32 + min (truncation)", B_AREA, 0, (1ULL << 32) + MIN,
	  LAYOUT, 0, EINVAL_RET },
	{ "size 2^16 + min (truncation)", B_AREA, 0, (1ULL << 16) + MIN,
	  LAYOUT, 0, EINVAL_RET },
	{ "size ~0", B_AREA, 0, ~0ULL, LAYOUT, 0, EINVAL_RET },
	/* page crossing */
	{ "area crossing a page by min bytes", B_AREA, PAGE - MIN, 2 * MIN,
	  LAYOUT, 0, EINVAL_RET },
	{ "area crossing a page by 64 bytes", B_AREA, PAGE - 128, 192,
	  LAYOUT, 0, EINVAL_RET },
	{ "max-size area not at a page start", B_AREA, MIN, MAX, LAYOUT, 0,
	  EINVAL_RET },
	/* layout version */
	{ "version 0", B_AREA, 0, MIN, 0, 0, EINVAL_RET },
	{ "version LAYOUT + 1", B_AREA, 0, MIN, LAYOUT + 1, 0, EINVAL_RET },
	{ "version 2^16 + 1 (truncation)", B_AREA, 0, MIN, (1ULL << 16) + 1,
	  0, EINVAL_RET },
	{ "version 2^32 + 1 (truncation)", B_AREA, 0, MIN, (1ULL << 32) + 1,
	  0, EINVAL_RET },
	{ "version ~0", B_AREA, 0, MIN, ~0ULL, 0, EINVAL_RET },
	/* flags */
	{ "flags 1", B_AREA, 0, MIN, LAYOUT, 1, EINVAL_RET },
	{ "flags 1 << 32 (truncation)", B_AREA, 0, MIN, LAYOUT, 1ULL << 32,
	  EINVAL_RET },
	{ "flags 1 << 63", B_AREA, 0, MIN, LAYOUT, 1ULL << 63, EINVAL_RET },
};

/* Checks outside the table, counted for the plan. */
#define NR_OTHER_TESTS	26

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpus[2];
static u64 area_gpa[2];
static vm_vaddr_t area_gva[2];
static u64 epoch;

static void mmio_handler(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	TEST_ASSERT(run->mmio.phys_addr == MMIO_GPA && !run->mmio.is_write &&
		    run->mmio.len == 8,
		    "unexpected MMIO at %#llx len %u write %u",
		    run->mmio.phys_addr, run->mmio.len, run->mmio.is_write);
	memcpy(run->mmio.data, &(u64){ MMIO_MAGIC }, 8);
}

static u64 case_gpa(const struct reg_case *c)
{
	switch (c->base) {
	case B_AREA:
		return area_gpa[0] + c->off;
	case B_TOP:
		return (vm->max_gfn << vm->page_shift) + c->off;
	case B_MMIO:
		return MMIO_GPA + c->off;
	case B_RO:
		return RO_GPA + c->off;
	default:
		return c->off;
	}
}

static u64 reg(struct kvm_vcpu *vcpu, u64 gpa, u64 size, u64 version,
	       u64 flags, u64 *rbx)
{
	struct exl_hc_out out;

	exl_hc(vcpu, EXITLESS_HC_REGISTER, gpa, size, version, flags, &out);
	if (rbx)
		*rbx = out.rbx;
	return out.rax;
}

static u64 unreg(struct kvm_vcpu *vcpu, u64 flags)
{
	struct exl_hc_out out;

	exl_hc(vcpu, EXITLESS_HC_UNREGISTER, flags, 0, 0, 0, &out);
	return out.rax;
}

/* A valid registration of vCPU i, then its header as the guest sees it. */
static void test_valid_register(int i)
{
	u64 w0, w1, w2, res, rax, rbx;
	struct kvm_vcpu *vcpu = vcpus[i];
	vm_vaddr_t gva = area_gva[i];
	int j;

	rax = reg(vcpu, area_gpa[i], MIN, LAYOUT, 0, &rbx);
	ksft_test_result(rax == 0 && rbx == epoch,
			 "vCPU %d: valid REGISTER answers 0 and the epoch (rax %#lx, rbx %#lx)\n",
			 i, rax, rbx);

	w0 = exl_guest_read64(vcpu, gva);
	w1 = exl_guest_read64(vcpu, gva + 8);
	w2 = exl_guest_read64(vcpu, gva + 16);
	for (res = 0, j = 24; j < EXITLESS_AREA_HDR_SIZE; j += 8)
		res |= exl_guest_read64(vcpu, gva + j);

	ksft_test_result((u32)w1 & EXITLESS_HOST_ATTACHED,
			 "vCPU %d: guest sees host_flags with ATTACHED (%#x)\n",
			 i, (u32)w1);
	ksft_test_result(w1 >> 32 == (u64)i,
			 "vCPU %d: guest sees vcpu_id %d (%lu)\n", i, i,
			 w1 >> 32);
	ksft_test_result(w2 == epoch,
			 "vCPU %d: guest sees host_epoch = PROBE's (%#lx)\n",
			 i, w2);
	ksft_test_result((u32)w0 == EXITLESS_AREA_MAGIC &&
			 ((w0 >> 32) & 0xffff) == LAYOUT &&
			 w0 >> 48 == MIN && !res,
			 "vCPU %d: guest fields and reserved untouched (%#lx, reserved %#lx)\n",
			 i, w0, res);
}

/* Register an area in its own memslot, then delete the memslot. */
static void test_memslot_deleted(void)
{
	u64 rax, rax2, rax3;

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, GONE_GPA,
				    GONE_SLOT, 1, 0);
	exl_area_init(vm, GONE_GPA, LAYOUT, MIN);
	rax = reg(vcpus[1], GONE_GPA, MIN, LAYOUT, 0, NULL);
	vm_mem_region_delete(vm, GONE_SLOT);
	exl_hc(vcpus[1], EXITLESS_HC_PROBE, EXITLESS_ABI_VERSION, 0, 0, 0,
	       &(struct exl_hc_out){});
	rax2 = unreg(vcpus[1], 0);
	rax3 = reg(vcpus[1], GONE_GPA, MIN, LAYOUT, 0, NULL);
	ksft_test_result(rax == 0 && rax2 == 0 && rax3 == EFAULT_RET,
			 "memslot deleted under a registration: REGISTER %#lx, UNREGISTER %#lx, REGISTER again %#lx (want 0, 0, -EFAULT)\n",
			 rax, rax2, rax3);
}

int main(void)
{
	u8 ro_before[EXITLESS_AREA_HDR_SIZE];
	u64 rax, bad, bad_nr, bad_rax;
	struct exl_hc_out out;
	unsigned int i;
	int kmsg, n;

	exl_init();
	ksft_print_header();
	__TEST_REQUIRE(exl_module_loaded(), "%s is not loaded",
		       EXL_HOST_MODULE);
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_READONLY_MEM));
	ksft_set_plan(ARRAY_SIZE(reg_cases) + NR_OTHER_TESTS);

	vm = exl_vm_create_executor(2, vcpus);
	exl_mmio_handler = mmio_handler;
	for (i = 0; i < 2; i++) {
		area_gva[i] = vm_vaddr_alloc_page(vm);
		area_gpa[i] = addr_gva2gpa(vm, area_gva[i]);
		exl_area_init(vm, area_gpa[i], LAYOUT, MIN);
	}
	/* A read-only memslot, its header prefilled from the host side. */
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, RO_GPA, RO_SLOT,
				    1, KVM_MEM_READONLY);
	exl_area_init(vm, RO_GPA, LAYOUT, MIN);
	memcpy(ro_before, addr_gpa2hva(vm, RO_GPA), sizeof(ro_before));
	/* The gap is MMIO to KVM: a guest read of it exits to us. */
	virt_map(vm, MMIO_GPA, MMIO_GPA, 1);
	ksft_test_result(exl_guest_read64(vcpus[0], MMIO_GPA) == MMIO_MAGIC,
			 "the gap at %#llx is MMIO (the guest read exits to userspace)\n",
			 MMIO_GPA);

	exl_probe(vcpus[0], &out);
	if (out.rax)
		ksft_exit_fail_msg("PROBE answers %#lx with %s loaded\n",
				   out.rax, EXL_HOST_MODULE);
	epoch = out.rdx;

	/* From here on the host must stay silent. */
	kmsg = exl_kmsg_open();
	if (kmsg < 0)
		ksft_exit_fail_msg("/dev/kmsg: %s\n", strerror(-kmsg));

	rax = unreg(vcpus[0], 0);
	ksft_test_result(rax == EXL_RET(EXITLESS_ENOENT),
			 "UNREGISTER without REGISTER: -ENOENT (rax %#lx)\n",
			 rax);

	for (i = 0; i < ARRAY_SIZE(reg_cases); i++) {
		const struct reg_case *c = &reg_cases[i];
		u64 gpa = case_gpa(c);

		rax = reg(vcpus[0], gpa, c->size, c->version, c->flags, NULL);
		ksft_test_result(rax == c->expect,
				 "REGISTER %s (gpa %#lx size %#lx version %#lx flags %#lx): rax %#lx, want %#lx\n",
				 c->what, gpa, c->size, c->version, c->flags,
				 rax, c->expect);
		if (!rax)	/* accepted: undo, keep the next case valid */
			unreg(vcpus[0], 0);
	}
	ksft_test_result(!memcmp(ro_before, addr_gpa2hva(vm, RO_GPA),
				 sizeof(ro_before)),
			 "the read-only memslot was not written\n");

	rax = unreg(vcpus[0], 0);
	ksft_test_result(rax == EXL_RET(EXITLESS_ENOENT),
			 "after the refused REGISTERs nothing is registered: -ENOENT (rax %#lx)\n",
			 rax);

	test_valid_register(0);
	rax = reg(vcpus[0], area_gpa[0], MIN, LAYOUT, 0, NULL);
	ksft_test_result(rax == EXL_RET(EXITLESS_EBUSY),
			 "REGISTER twice: -EBUSY (rax %#lx)\n", rax);
	rax = reg(vcpus[0], area_gpa[1] + MIN, MIN, LAYOUT, 0, NULL);
	ksft_test_result(rax == EXL_RET(EXITLESS_EBUSY),
			 "REGISTER another area while registered: -EBUSY (rax %#lx)\n",
			 rax);
	rax = unreg(vcpus[0], 1);
	ksft_test_result(rax == EINVAL_RET,
			 "UNREGISTER flags 1: -EINVAL (rax %#lx)\n", rax);
	rax = unreg(vcpus[0], 1ULL << 32);
	ksft_test_result(rax == EINVAL_RET,
			 "UNREGISTER flags 1 << 32 (truncation): -EINVAL (rax %#lx)\n",
			 rax);
	rax = unreg(vcpus[0], 0);
	ksft_test_result(rax == 0, "UNREGISTER: 0 (rax %#lx)\n", rax);
	rax = unreg(vcpus[0], 0);
	ksft_test_result(rax == EXL_RET(EXITLESS_ENOENT),
			 "UNREGISTER again: -ENOENT (rax %#lx)\n", rax);

	/* The edges of what is valid. */
	exl_area_init(vm, area_gpa[0], LAYOUT, MAX);
	rax = reg(vcpus[0], area_gpa[0], MAX, LAYOUT, 0, NULL);
	ksft_test_result(rax == 0 && unreg(vcpus[0], 0) == 0,
			 "REGISTER max size at a page start: 0 (rax %#lx)\n",
			 rax);
	exl_area_init(vm, area_gpa[0] + PAGE - MIN, LAYOUT, MIN);
	rax = reg(vcpus[0], area_gpa[0] + PAGE - MIN, MIN, LAYOUT, 0, NULL);
	ksft_test_result(rax == 0 && unreg(vcpus[0], 0) == 0,
			 "REGISTER min size ending at a page end: 0 (rax %#lx)\n",
			 rax);
	exl_area_init(vm, area_gpa[0], LAYOUT, MIN);

	/* A second vCPU: its own registration, its own index. */
	test_valid_register(1);
	ksft_test_result(unreg(vcpus[1], 0) == 0,
			 "vCPU 1: UNREGISTER: 0\n");

	test_memslot_deleted();

	/* every number but the core calls and the features' calls */
	bad = exl_guest_sweep(vcpus[0], EXITLESS_HC_BASE + 3,
			      EXITLESS_HC_PVIPI_SEND - 1,
			      EXL_RET(EXITLESS_ENOSYS), &bad_nr, &bad_rax);
	if (!bad)
		bad = exl_guest_sweep(vcpus[0], EXITLESS_HC_PVIPI_SEND + 1,
				      EXITLESS_HC_PVTIMER_ENABLE - 1,
				      EXL_RET(EXITLESS_ENOSYS), &bad_nr,
				      &bad_rax);
	if (!bad)
		bad = exl_guest_sweep(vcpus[0], EXITLESS_HC_PVTIMER_SYNC + 1,
				      EXITLESS_HC_LAST,
				      EXL_RET(EXITLESS_ENOSYS), &bad_nr,
				      &bad_rax);
	ksft_test_result(!bad,
			 "all %d unused numbers answer -EXITLESS_ENOSYS (%lu did not, first %#lx: %#lx)\n",
			 EXITLESS_HC_COUNT - 7, bad, bad_nr, bad_rax);

	n = exl_kmsg_new_records(kmsg, "kmsg: ");
	ksft_test_result(n == 0, "no record in the kernel log (%d new)\n", n);
	close(kmsg);

	exl_guest_done(vcpus[0]);
	exl_guest_done(vcpus[1]);
	kvm_vm_free(vm);
	ksft_finished();
	return 0;
}
