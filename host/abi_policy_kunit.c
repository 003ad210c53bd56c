// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for host/abi_policy.c (hypercall argument checks) and for
 * the layout facts of include/uapi/exitless.h that host and guest rely on.
 */
#include <kunit/test.h>
#include <linux/bitops.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/stddef.h>
#include <uapi/linux/kvm_para.h>

#include "uapi/exitless.h"
#include "abi_policy.h"

#define PAGE_4K		4096ULL
/* A page-aligned guest-physical address with nothing special about it. */
#define GPA_OK		0x12345000ULL

static long check_area(u64 gpa, u64 size)
{
	return exitless_check_register_args(gpa, size, 1, 0);
}

/* exitless_hc_in_range(): both edges of the private range. */

static void hc_range_rejects_zero(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, exitless_hc_in_range(0));
}

static void hc_range_rejects_base_minus_one(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, exitless_hc_in_range(EXITLESS_HC_BASE - 1));
}

static void hc_range_accepts_base(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, exitless_hc_in_range(EXITLESS_HC_BASE));
	KUNIT_EXPECT_TRUE(test, exitless_hc_in_range(EXITLESS_HC_BASE + 1));
}

static void hc_range_accepts_last(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, exitless_hc_in_range(EXITLESS_HC_LAST));
	KUNIT_EXPECT_TRUE(test, exitless_hc_in_range(EXITLESS_HC_LAST - 1));
}

static void hc_range_rejects_last_plus_one(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, exitless_hc_in_range(EXITLESS_HC_LAST + 1));
}

/* RAX is 64 bits wide: a check done on 32 bits would accept these. */
static void hc_range_rejects_huge(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, exitless_hc_in_range(U32_MAX));
	KUNIT_EXPECT_FALSE(test, exitless_hc_in_range(U64_MAX));
	KUNIT_EXPECT_FALSE(test, exitless_hc_in_range(BIT_ULL(63)));
	KUNIT_EXPECT_FALSE(test,
			   exitless_hc_in_range(BIT_ULL(32) | EXITLESS_HC_BASE));
	KUNIT_EXPECT_FALSE(test,
			   exitless_hc_in_range(BIT_ULL(63) | EXITLESS_HC_LAST));
}

static void hc_range_holds_every_call(struct kunit *test)
{
	u64 nr, n = 0;

	KUNIT_EXPECT_TRUE(test, exitless_hc_in_range(EXITLESS_HC_PROBE));
	KUNIT_EXPECT_TRUE(test, exitless_hc_in_range(EXITLESS_HC_REGISTER));
	KUNIT_EXPECT_TRUE(test, exitless_hc_in_range(EXITLESS_HC_UNREGISTER));

	for (nr = EXITLESS_HC_BASE - 64; nr <= EXITLESS_HC_LAST + 64; nr++)
		n += exitless_hc_in_range(nr);
	KUNIT_EXPECT_EQ(test, n, (u64)EXITLESS_HC_COUNT);
}

/* exitless_check_register_args(): shapes that must be accepted. */

static void register_accepts_min_size(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check_area(GPA_OK, EXITLESS_AREA_MIN_SIZE), 0);
	KUNIT_EXPECT_EQ(test, check_area(GPA_OK + EXITLESS_AREA_ALIGN,
					 EXITLESS_AREA_MIN_SIZE), 0);
}

static void register_accepts_max_size_at_page_start(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check_area(GPA_OK, EXITLESS_AREA_MAX_SIZE), 0);
	KUNIT_EXPECT_EQ(test, check_area(0, EXITLESS_AREA_MAX_SIZE), 0);
}

static void register_accepts_area_ending_at_page_end(struct kunit *test)
{
	u64 page_end = GPA_OK + PAGE_4K;

	KUNIT_EXPECT_EQ(test, check_area(page_end - 64, 64), 0);
	KUNIT_EXPECT_EQ(test, check_area(page_end - 128, 128), 0);
	KUNIT_EXPECT_EQ(test, check_area(page_end - 2048, 2048), 0);
	/* size need not be a multiple of the alignment */
	KUNIT_EXPECT_EQ(test, check_area(page_end - 128, 100), 0);
}

static void register_accepts_version_1(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, exitless_check_register_args(GPA_OK, 64, 1, 0), 0);
	KUNIT_EXPECT_EQ(test,
			exitless_check_register_args(GPA_OK, 64,
						     EXITLESS_LAYOUT_VERSION, 0),
			0);
}

/* exitless_check_register_args(): each bad shape alone. */

static void register_rejects_nonzero_flags(struct kunit *test)
{
	static const u64 flags[] = { 1, 2, BIT_ULL(31), BIT_ULL(32),
				     BIT_ULL(63), U64_MAX };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    exitless_check_register_args(GPA_OK, 64, 1,
								 flags[i]),
				    -EXITLESS_EINVAL, "flags %#llx", flags[i]);
}

static void register_rejects_version_0(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, exitless_check_register_args(GPA_OK, 64, 0, 0),
			-EXITLESS_EINVAL);
}

static void register_rejects_version_too_new(struct kunit *test)
{
	static const u64 versions[] = { EXITLESS_LAYOUT_VERSION + 1,
					U16_MAX, BIT_ULL(32) | 1, U64_MAX };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(versions); i++)
		KUNIT_EXPECT_EQ_MSG(test,
				    exitless_check_register_args(GPA_OK, 64,
								 versions[i], 0),
				    -EXITLESS_EINVAL, "version %#llx",
				    versions[i]);
}

static void register_rejects_size_0(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check_area(GPA_OK, 0), -EXITLESS_EINVAL);
}

static void register_rejects_size_below_min(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, check_area(GPA_OK, EXITLESS_AREA_MIN_SIZE - 1),
			-EXITLESS_EINVAL);
	KUNIT_EXPECT_EQ(test, check_area(GPA_OK, 1), -EXITLESS_EINVAL);
}

static void register_rejects_size_above_max(struct kunit *test)
{
	static const u64 sizes[] = { EXITLESS_AREA_MAX_SIZE + 1, 2 * PAGE_4K,
				     BIT_ULL(32) | 64, U64_MAX };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		KUNIT_EXPECT_EQ_MSG(test, check_area(GPA_OK, sizes[i]),
				    -EXITLESS_EINVAL, "size %#llx", sizes[i]);
}

static void register_rejects_unaligned_gpa(struct kunit *test)
{
	static const u64 offsets[] = { 1, 8, 32, EXITLESS_AREA_ALIGN - 1,
				       EXITLESS_AREA_ALIGN + 1 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(offsets); i++)
		KUNIT_EXPECT_EQ_MSG(test, check_area(GPA_OK + offsets[i], 64),
				    -EXITLESS_EINVAL, "gpa %#llx",
				    GPA_OK + offsets[i]);
}

static void register_rejects_area_crossing_page(struct kunit *test)
{
	u64 page_end = GPA_OK + PAGE_4K;

	/* one alignment unit past the page end */
	KUNIT_EXPECT_EQ(test, check_area(page_end - 64, 128), -EXITLESS_EINVAL);
	/* one byte past the page end */
	KUNIT_EXPECT_EQ(test, check_area(page_end - 64, 65), -EXITLESS_EINVAL);
	/* a full-size area not starting on a page */
	KUNIT_EXPECT_EQ(test, check_area(GPA_OK + 64, EXITLESS_AREA_MAX_SIZE),
			-EXITLESS_EINVAL);
}

/*
 * Aligned gpa at the top of the address space: gpa + size wraps to a small
 * number, which a naive page-crossing test would accept.
 */
static void register_rejects_gpa_overflow(struct kunit *test)
{
	u64 top = U64_MAX & ~(u64)(EXITLESS_AREA_ALIGN - 1);

	KUNIT_EXPECT_EQ(test, check_area(top, 64), -EXITLESS_EINVAL);
	KUNIT_EXPECT_EQ(test, check_area(top, 128), -EXITLESS_EINVAL);
	KUNIT_EXPECT_EQ(test, check_area(U64_MAX - PAGE_4K + 1, PAGE_4K),
			-EXITLESS_EINVAL);
}

/* Layout and number facts of include/uapi/exitless.h. */

static void abi_area_hdr_size(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, sizeof(struct exitless_area_hdr),
			(size_t)EXITLESS_AREA_HDR_SIZE);
	KUNIT_EXPECT_EQ(test, EXITLESS_AREA_HDR_SIZE, 64);
	KUNIT_EXPECT_LE(test, EXITLESS_AREA_HDR_SIZE, EXITLESS_AREA_MIN_SIZE);
}

static void expect_field(struct kunit *test, const char *name, size_t off,
			 size_t size, size_t want_off, size_t want_size)
{
	KUNIT_EXPECT_EQ_MSG(test, off, want_off, "offset of %s", name);
	KUNIT_EXPECT_EQ_MSG(test, size, want_size, "size of %s", name);
}

static void abi_area_hdr_offsets(struct kunit *test)
{
	expect_field(test, "magic", offsetof(struct exitless_area_hdr, magic),
		     sizeof_field(struct exitless_area_hdr, magic), 0, 4);
	expect_field(test, "version",
		     offsetof(struct exitless_area_hdr, version),
		     sizeof_field(struct exitless_area_hdr, version), 4, 2);
	expect_field(test, "size", offsetof(struct exitless_area_hdr, size),
		     sizeof_field(struct exitless_area_hdr, size), 6, 2);
	expect_field(test, "host_flags",
		     offsetof(struct exitless_area_hdr, host_flags),
		     sizeof_field(struct exitless_area_hdr, host_flags), 8, 4);
	expect_field(test, "vcpu_id",
		     offsetof(struct exitless_area_hdr, vcpu_id),
		     sizeof_field(struct exitless_area_hdr, vcpu_id), 12, 4);
	expect_field(test, "host_epoch",
		     offsetof(struct exitless_area_hdr, host_epoch),
		     sizeof_field(struct exitless_area_hdr, host_epoch), 16, 8);
	expect_field(test, "reserved",
		     offsetof(struct exitless_area_hdr, reserved),
		     sizeof_field(struct exitless_area_hdr, reserved), 24, 40);
}

static void abi_area_limits(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, is_power_of_2(EXITLESS_AREA_ALIGN));
	KUNIT_EXPECT_EQ(test, EXITLESS_AREA_MIN_SIZE % EXITLESS_AREA_ALIGN, 0);
	KUNIT_EXPECT_LE(test, EXITLESS_AREA_MIN_SIZE, EXITLESS_AREA_MAX_SIZE);
	KUNIT_EXPECT_LE(test, (u64)EXITLESS_AREA_MAX_SIZE, PAGE_4K);
	KUNIT_EXPECT_GE(test, EXITLESS_LAYOUT_VERSION, 1);
	/* the header's __u16 fields must hold what REGISTER accepts */
	KUNIT_EXPECT_LE(test, EXITLESS_AREA_MAX_SIZE, U16_MAX);
	KUNIT_EXPECT_LE(test, EXITLESS_LAYOUT_VERSION, U16_MAX);
}

static void abi_error_codes_distinct_positive(struct kunit *test)
{
	static const long codes[] = {
		EXITLESS_EINVAL, EXITLESS_EFAULT, EXITLESS_EBUSY,
		EXITLESS_ENOENT, EXITLESS_ENOSYS, EXITLESS_ENOMEM,
		EXITLESS_EOPNOTSUPP,
	};
	/* KVM's own hypercall return codes, which a guest must tell apart */
	static const long kvm_codes[] = {
		KVM_ENOSYS, KVM_EFAULT, KVM_EINVAL, KVM_E2BIG, KVM_EPERM,
		KVM_EOPNOTSUPP,
	};
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		KUNIT_EXPECT_GT_MSG(test, codes[i], 0L, "code #%u", i);
		for (j = i + 1; j < ARRAY_SIZE(codes); j++)
			KUNIT_EXPECT_NE_MSG(test, codes[i], codes[j],
					    "codes #%u and #%u", i, j);
		for (j = 0; j < ARRAY_SIZE(kvm_codes); j++)
			KUNIT_EXPECT_NE_MSG(test, codes[i], kvm_codes[j],
					    "code #%u vs KVM code #%u", i, j);
	}
}

static void abi_feature_bits_distinct(struct kunit *test)
{
	static const u64 bits[] = {
		EXITLESS_F_AREA, EXITLESS_F_PVIPI, EXITLESS_F_PVTIMER,
		EXITLESS_F_DYNIDLE,
	};
	u64 all = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bits); i++) {
		KUNIT_EXPECT_EQ_MSG(test, hweight64(bits[i]), 1U,
				    "feature #%u", i);
		KUNIT_EXPECT_EQ_MSG(test, all & bits[i], 0ULL,
				    "feature #%u overlaps", i);
		all |= bits[i];
	}
	KUNIT_EXPECT_EQ(test, EXITLESS_F_ALL, all);
}

static void abi_hc_range_avoids_kvm(struct kunit *test)
{
	static const u64 kvm_hcs[] = {
		KVM_HC_VAPIC_POLL_IRQ, KVM_HC_MMU_OP, KVM_HC_FEATURES,
		KVM_HC_PPC_MAP_MAGIC_PAGE, KVM_HC_KICK_CPU,
		KVM_HC_MIPS_GET_CLOCK_FREQ, KVM_HC_MIPS_EXIT_VM,
		KVM_HC_MIPS_CONSOLE_OUTPUT, KVM_HC_CLOCK_PAIRING,
		KVM_HC_SEND_IPI, KVM_HC_SCHED_YIELD, KVM_HC_MAP_GPA_RANGE,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kvm_hcs); i++) {
		KUNIT_EXPECT_EQ(test, kvm_hcs[i], (u64)i + 1);
		KUNIT_EXPECT_FALSE_MSG(test, exitless_hc_in_range(kvm_hcs[i]),
				       "KVM hypercall %llu", kvm_hcs[i]);
	}
	KUNIT_EXPECT_GT(test, (u64)EXITLESS_HC_BASE, (u64)KVM_HC_MAP_GPA_RANGE);
	KUNIT_EXPECT_GT(test, (u64)EXITLESS_HC_LAST, (u64)EXITLESS_HC_BASE);
	/* the whole range fits in 32 bits, i.e. in EAX for 32-bit callers */
	KUNIT_EXPECT_LE(test, (u64)EXITLESS_HC_LAST, (u64)U32_MAX);
}

/* Whether [a, a + len) and [b, b + len) share a number. */
static bool spans_overlap(u64 a, u64 b, u64 len)
{
	return a < b + len && b < a + len;
}

/* Each feature's call numbers: inside ours, apart, clear of the core calls. */
static void abi_feature_hc_subranges(struct kunit *test)
{
	static const u64 bases[] = {
		EXITLESS_HC_PVIPI_BASE, EXITLESS_HC_PVTIMER_BASE,
		EXITLESS_HC_DYNIDLE_BASE,
	};
	static const u64 core[] = {
		EXITLESS_HC_PROBE, EXITLESS_HC_REGISTER, EXITLESS_HC_UNREGISTER,
	};
	const u64 span = EXITLESS_HC_FEATURE_SPAN;
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(bases); i++) {
		KUNIT_EXPECT_TRUE_MSG(test, exitless_hc_in_range(bases[i]),
				      "sub-range #%u start", i);
		KUNIT_EXPECT_TRUE_MSG(test,
				      exitless_hc_in_range(bases[i] + span - 1),
				      "sub-range #%u end", i);
		KUNIT_EXPECT_EQ_MSG(test, (bases[i] - EXITLESS_HC_BASE) % span,
				    0ULL, "sub-range #%u alignment", i);
		for (j = i + 1; j < ARRAY_SIZE(bases); j++)
			KUNIT_EXPECT_FALSE_MSG(test,
					       spans_overlap(bases[i], bases[j],
							     span),
					       "sub-ranges #%u and #%u", i, j);
		for (j = 0; j < ARRAY_SIZE(core); j++)
			KUNIT_EXPECT_FALSE_MSG(test,
					       core[j] >= bases[i] &&
					       core[j] < bases[i] + span,
					       "sub-range #%u holds core call #%u",
					       i, j);
	}
}

/* Each feature's area section: after the header, aligned, apart, in bounds. */
static void abi_area_sections(struct kunit *test)
{
	static const u64 offs[] = {
		EXITLESS_AREA_OFF_PVTIMER, EXITLESS_AREA_OFF_DYNIDLE,
		EXITLESS_AREA_OFF_PVIPI,
	};
	const u64 len = EXITLESS_AREA_SECTION_SIZE;
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		KUNIT_EXPECT_GE_MSG(test, offs[i], (u64)EXITLESS_AREA_HDR_SIZE,
				    "section #%u", i);
		KUNIT_EXPECT_EQ_MSG(test, offs[i] % EXITLESS_AREA_ALIGN, 0ULL,
				    "section #%u", i);
		KUNIT_EXPECT_LE_MSG(test, offs[i] + len,
				    (u64)EXITLESS_AREA_MAX_SIZE, "section #%u", i);
		for (j = i + 1; j < ARRAY_SIZE(offs); j++)
			KUNIT_EXPECT_FALSE_MSG(test,
					       spans_overlap(offs[i], offs[j], len),
					       "sections #%u and #%u", i, j);
	}
}

static struct kunit_case exitless_abi_cases[] = {
	KUNIT_CASE(hc_range_rejects_zero),
	KUNIT_CASE(hc_range_rejects_base_minus_one),
	KUNIT_CASE(hc_range_accepts_base),
	KUNIT_CASE(hc_range_accepts_last),
	KUNIT_CASE(hc_range_rejects_last_plus_one),
	KUNIT_CASE(hc_range_rejects_huge),
	KUNIT_CASE(hc_range_holds_every_call),
	KUNIT_CASE(register_accepts_min_size),
	KUNIT_CASE(register_accepts_max_size_at_page_start),
	KUNIT_CASE(register_accepts_area_ending_at_page_end),
	KUNIT_CASE(register_accepts_version_1),
	KUNIT_CASE(register_rejects_nonzero_flags),
	KUNIT_CASE(register_rejects_version_0),
	KUNIT_CASE(register_rejects_version_too_new),
	KUNIT_CASE(register_rejects_size_0),
	KUNIT_CASE(register_rejects_size_below_min),
	KUNIT_CASE(register_rejects_size_above_max),
	KUNIT_CASE(register_rejects_unaligned_gpa),
	KUNIT_CASE(register_rejects_area_crossing_page),
	KUNIT_CASE(register_rejects_gpa_overflow),
	KUNIT_CASE(abi_area_hdr_size),
	KUNIT_CASE(abi_area_hdr_offsets),
	KUNIT_CASE(abi_area_limits),
	KUNIT_CASE(abi_error_codes_distinct_positive),
	KUNIT_CASE(abi_feature_bits_distinct),
	KUNIT_CASE(abi_hc_range_avoids_kvm),
	KUNIT_CASE(abi_feature_hc_subranges),
	KUNIT_CASE(abi_area_sections),
	{}
};

static struct kunit_suite exitless_abi_suite = {
	.name = "exitless_abi",
	.test_cases = exitless_abi_cases,
};

kunit_test_suite(exitless_abi_suite);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("exitless developers");
MODULE_DESCRIPTION("KUnit tests for the exitless hypercall ABI checks");
MODULE_INFO(test, "Y");
