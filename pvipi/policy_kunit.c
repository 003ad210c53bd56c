// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite exitless_pvipi for pvipi/policy.c: PVIPI_SEND's argument
 * checks and ICR, packing a CPU set into the vCPU-index bitmap, and the
 * polling-target protocol.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/module.h>

#include "uapi/exitless.h"
#include "policy.h"

#define GPA		0x1000ULL
#define FIXED(v)	(EXITLESS_PVIPI_MODE_FIXED | (v))
#define NMI		EXITLESS_PVIPI_MODE_NMI
#define EINVAL_RET	(-EXITLESS_EINVAL)

/* --- host: argument checks ------------------------------------------- */

static void check_accepts_valid(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA, 1, FIXED(0xfd), 0, 1), 0L);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA, 256, FIXED(16), 0, 256), 0L);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA + 8, 4096, FIXED(255), 0, 4096), 0L);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA, 3, NMI, 0, 4), 0L);
}

static void check_vector(struct kunit *test)
{
	u64 v;

	for (v = 0; v < EXITLESS_PVIPI_VECTOR_MIN; v++)
		KUNIT_EXPECT_EQ_MSG(test, exitless_pvipi_check_send(GPA, 1, FIXED(v), 0, 1),
				    EINVAL_RET, "vector %llu", v);
	/* NMI takes no vector */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA, 1, NMI | 0x20, 0, 1), EINVAL_RET);
}

static void check_modes(struct kunit *test)
{
	u64 mode;

	/* SMI, reserved, INIT, SIPI, ExtINT and the rest: only fixed and NMI */
	for (mode = 0; mode <= EXITLESS_PVIPI_MODE_MASK; mode += 0x100) {
		long want = (mode == EXITLESS_PVIPI_MODE_FIXED) ? 0 :
			    (mode == EXITLESS_PVIPI_MODE_NMI) ? 0 : EINVAL_RET;
		u64 vec = mode == EXITLESS_PVIPI_MODE_NMI ? 0 : 0x40;

		KUNIT_EXPECT_EQ_MSG(test, exitless_pvipi_check_send(GPA, 1, mode | vec, 0, 1),
				    want, "mode %#llx", mode);
	}
}

static void check_reserved_bits(struct kunit *test)
{
	unsigned int bit;

	/* logical destination, level, trigger, shorthand, high bits */
	for (bit = 11; bit < 64; bit++)
		KUNIT_EXPECT_EQ_MSG(test,
				    exitless_pvipi_check_send(GPA, 1,
							      FIXED(0x40) | (1ULL << bit),
							      0, 1),
				    EINVAL_RET, "bit %u", bit);
	/* bit 0 is EXITLESS_PVIPI_SEND_INLINE (check_inline) */
	for (bit = 1; bit < 64; bit++)
		KUNIT_EXPECT_EQ_MSG(test,
				    exitless_pvipi_check_send(GPA, 1, FIXED(0x40), 1ULL << bit, 1),
				    EINVAL_RET, "flag bit %u", bit);
	KUNIT_EXPECT_EQ(test,
			exitless_pvipi_check_send(1, 1, FIXED(0x40),
						  EXITLESS_PVIPI_SEND_INLINE | 2, 1),
			EINVAL_RET);
}

#define INL	EXITLESS_PVIPI_SEND_INLINE

static void check_inline(struct kunit *test)
{
	unsigned int n;

	KUNIT_EXPECT_TRUE(test, exitless_pvipi_inline(INL));
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_inline(0));
	/* a0 is the bitmap: any bits below a1, no alignment, no address */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(0x1e, 5, FIXED(0xfd), INL, 8), 0L);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(0x7, 3, NMI, INL, 3), 0L);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(U64_MAX, 64, FIXED(0x40), INL, 256),
			0L);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(1ULL << 63, 64, FIXED(0x40), INL, 64),
			0L);
	/* an empty inline set is a valid call that delivers nothing */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(0, 1, FIXED(0x40), INL, 1), 0L);
	/* a bit at or above a1 */
	for (n = 1; n < 64; n++)
		KUNIT_EXPECT_EQ_MSG(test,
				    exitless_pvipi_check_send(1ULL << n, n, FIXED(0x40), INL, 64),
				    EINVAL_RET, "bit %u of %u", n, n);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(U64_MAX, 63, FIXED(0x40), INL, 64),
			EINVAL_RET);
	/* more than one word, none, or more than the VM's vCPUs */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(1, 65, FIXED(0x40), INL, 256),
			EINVAL_RET);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(1, (1ULL << 32) + 1, FIXED(0x40), INL,
							256),
			EINVAL_RET);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(0, 0, FIXED(0x40), INL, 8), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(1, 9, FIXED(0x40), INL, 8), EINVAL_RET);
	/* the mode and vector checks still apply */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(1, 1, FIXED(15), INL, 1), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(1, 1, NMI | 0x20, INL, 1), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(1, 1, FIXED(0x40) | 0x800, INL, 1),
			EINVAL_RET);
}

static void use_inline(struct kunit *test)
{
	/* hosts before ABI version 4 refuse the flag */
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_use_inline(0, 2));
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_use_inline(3, 2));
	KUNIT_EXPECT_TRUE(test, exitless_pvipi_use_inline(4, 2));
	KUNIT_EXPECT_TRUE(test, exitless_pvipi_use_inline(5, 64));
	/* one word at most; never for an empty bitmap */
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_use_inline(4, 65));
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_use_inline(4, 4096));
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_use_inline(4, 0));
}

static void check_lengths(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA, 0, FIXED(0x40), 0, 8), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA, 9, FIXED(0x40), 0, 8), EINVAL_RET);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA, 8, FIXED(0x40), 0, 8), 0L);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA, U64_MAX, FIXED(0x40), 0, U32_MAX),
			EINVAL_RET);
	/* truncated to 32 bits this would be 1 */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA, (1ULL << 32) + 1, FIXED(0x40), 0, 8),
			EINVAL_RET);
	/* a VM with no vCPU online (cannot call, but the check must hold) */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(GPA, 1, FIXED(0x40), 0, 0), EINVAL_RET);
}

static void check_addresses(struct kunit *test)
{
	u64 off;

	for (off = 1; off < 8; off++)
		KUNIT_EXPECT_EQ_MSG(test,
				    exitless_pvipi_check_send(GPA + off, 1, FIXED(0x40), 0, 1),
				    EINVAL_RET, "gpa + %llu", off);
	/* the bitmap would wrap around the address space */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(U64_MAX - 7, 64, FIXED(0x40), 0, 64),
			EINVAL_RET);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_check_send(U64_MAX - 15, 64, FIXED(0x40), 0, 64), 0L);
}

static void bitmap_bytes(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, exitless_pvipi_bitmap_bytes(1), 8U);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_bitmap_bytes(64), 8U);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_bitmap_bytes(65), 16U);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_bitmap_bytes(4096), 512U);
}

static void icr_low(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, exitless_pvipi_icr_low(FIXED(0xfd)), 0xfdU);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_icr_low(NMI), 0x400U);
}

static void by_cluster(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, exitless_pvipi_by_cluster(FIXED(0xfd)));
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_by_cluster(NMI));
}

static void cluster_batches(struct kunit *test)
{
	u32 batch = 0;

	/* IDs 1, 2, 3: one cluster, nothing to send yet */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_cluster_add(&batch, 1), 0U);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_cluster_add(&batch, 2), 0U);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_cluster_add(&batch, 3), 0U);
	KUNIT_EXPECT_EQ(test, batch, 0xeU);
	/* ID 16 starts cluster 1: cluster 0's batch goes out */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_cluster_add(&batch, 16), 0xeU);
	KUNIT_EXPECT_EQ(test, batch, 0x10001U);
	/* ID 35 (cluster 2, bit 3) */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_cluster_add(&batch, 35), 0x10001U);
	KUNIT_EXPECT_EQ(test, batch, 0x20008U);
	/* ID 0 is bit 0 of cluster 0: a batch is never 0 once it holds one */
	batch = 0;
	KUNIT_EXPECT_EQ(test, exitless_pvipi_cluster_add(&batch, 0), 0U);
	KUNIT_EXPECT_EQ(test, batch, 1U);
}

static void cluster_full_and_highest(struct kunit *test)
{
	u32 batch = 0, id;

	for (id = 16; id < 32; id++)
		KUNIT_EXPECT_EQ(test, exitless_pvipi_cluster_add(&batch, id), 0U);
	KUNIT_EXPECT_EQ(test, batch, 0x1ffffU);
	/* the highest ID allowed never makes the broadcast destination */
	batch = 0;
	for (id = EXITLESS_PVIPI_CLUSTER_MAX_ID - 15;
	     id <= EXITLESS_PVIPI_CLUSTER_MAX_ID; id++)
		exitless_pvipi_cluster_add(&batch, id);
	KUNIT_EXPECT_EQ(test, batch, 0xfffeffffU);
	KUNIT_EXPECT_NE(test, batch, 0xffffffffU);
}

/* Sparse IDs (i * 3, as the host selftest): each ID sent exactly once. */
static void cluster_covers_each_once(struct kunit *test)
{
	static u8 seen[3 * 256];
	u32 batch = 0, dest, sends = 0, clusters = 0, i, b;

	memset(seen, 0, sizeof(seen));
	for (i = 1; i < 256; i++) {
		if (i == 1 || (i * 3) >> 4 != ((i - 1) * 3) >> 4)
			clusters++;
		dest = exitless_pvipi_cluster_add(&batch, i * 3);
		if (!dest)
			continue;
		sends++;
		for (b = 0; b < 16; b++)
			if (dest & BIT(b))
				seen[(dest >> 16) * 16 + b]++;
	}
	sends++;
	for (b = 0; b < 16; b++)
		if (batch & BIT(b))
			seen[(batch >> 16) * 16 + b]++;
	KUNIT_EXPECT_EQ(test, sends, clusters);
	for (i = 0; i < ARRAY_SIZE(seen); i++)
		KUNIT_EXPECT_EQ(test, seen[i], (i % 3 || !i) ? 0 : 1);
}

/* --- guest: packing ---------------------------------------------------- */

#define NCPUS	300

struct pack_ctx {
	u64 map[NCPUS / 64 + 1];
	u32 idx[NCPUS];
	DECLARE_BITMAP(cpus, NCPUS);
};

static struct pack_ctx *pack_ctx_new(struct kunit *test)
{
	struct pack_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, c);
	/* sparse, reversed vCPU indices: cpu i is vCPU NCPUS - 1 - i */
	for (i = 0; i < NCPUS; i++)
		c->idx[i] = NCPUS - 1 - i;
	return c;
}

static void pack_sparse_set(struct kunit *test)
{
	struct pack_ctx *c = pack_ctx_new(test);
	u32 nbits = 0;
	int n;

	__set_bit(0, c->cpus);
	__set_bit(150, c->cpus);
	__set_bit(299, c->cpus);
	n = exitless_pvipi_pack(c->map, NCPUS, c->idx, c->cpus, NCPUS,
				NULL, NULL, &nbits, NULL);
	KUNIT_EXPECT_EQ(test, n, 3);
	KUNIT_EXPECT_EQ(test, nbits, (u32)NCPUS);	/* cpu 0 is vCPU 299 */
	KUNIT_EXPECT_TRUE(test, test_bit(299, (unsigned long *)c->map));
	KUNIT_EXPECT_TRUE(test, test_bit(149, (unsigned long *)c->map));
	KUNIT_EXPECT_TRUE(test, test_bit(0, (unsigned long *)c->map));
	KUNIT_EXPECT_EQ(test, bitmap_weight((unsigned long *)c->map, NCPUS), 3U);
}

static void pack_all(struct kunit *test)
{
	struct pack_ctx *c = pack_ctx_new(test);
	u32 nbits = 0;

	bitmap_fill(c->cpus, NCPUS);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_pack(c->map, NCPUS, c->idx, c->cpus,
						  NCPUS, NULL, NULL, &nbits, NULL),
			NCPUS);
	KUNIT_EXPECT_EQ(test, nbits, (u32)NCPUS);
	KUNIT_EXPECT_TRUE(test, bitmap_full((unsigned long *)c->map, NCPUS));
}

static void pack_nbits_is_highest_plus_one(struct kunit *test)
{
	struct pack_ctx *c = pack_ctx_new(test);
	u32 nbits = 0;

	__set_bit(NCPUS - 1, c->cpus);	/* vCPU 0 */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_pack(c->map, NCPUS, c->idx, c->cpus,
						  NCPUS, NULL, NULL, &nbits, NULL), 1);
	KUNIT_EXPECT_EQ(test, nbits, 1U);
	KUNIT_EXPECT_EQ(test, c->map[0], 1ULL);
}

static void pack_empty(struct kunit *test)
{
	struct pack_ctx *c = pack_ctx_new(test);
	u32 nbits = 123;

	KUNIT_EXPECT_EQ(test, exitless_pvipi_pack(c->map, NCPUS, c->idx, c->cpus,
						  NCPUS, NULL, NULL, &nbits, NULL), 0);
	KUNIT_EXPECT_EQ(test, nbits, 0U);
}

static void pack_unknown_index_fails(struct kunit *test)
{
	struct pack_ctx *c = pack_ctx_new(test);
	u32 nbits = 0;

	c->idx[7] = EXITLESS_PVIPI_IDX_NONE;
	__set_bit(3, c->cpus);
	__set_bit(7, c->cpus);
	KUNIT_EXPECT_LT(test, exitless_pvipi_pack(c->map, NCPUS, c->idx, c->cpus,
						  NCPUS, NULL, NULL, &nbits, NULL), 0);
	/* what was packed so far is reported, for the caller to clear */
	KUNIT_EXPECT_EQ(test, nbits, (u32)(NCPUS - 3));
}

static void pack_index_beyond_map_fails(struct kunit *test)
{
	struct pack_ctx *c = pack_ctx_new(test);
	u32 nbits = 0;

	__set_bit(0, c->cpus);	/* vCPU 299 */
	KUNIT_EXPECT_LT(test, exitless_pvipi_pack(c->map, 299, c->idx, c->cpus,
						  NCPUS, NULL, NULL, &nbits, NULL), 0);
	KUNIT_EXPECT_EQ(test, c->map[4], 0ULL);
}

/* CPUs that are a multiple of 3 "poll" and are woken through memory */
static bool skip_mult3(unsigned int cpu, void *ctx)
{
	unsigned int *calls = ctx;

	(*calls)++;
	return cpu % 3 == 0;
}

static void pack_skips_polling(struct kunit *test)
{
	struct pack_ctx *c = pack_ctx_new(test);
	unsigned int calls = 0, i;
	u32 nbits = 0;
	int n;

	for (i = 0; i < 12; i++)
		__set_bit(i, c->cpus);
	n = exitless_pvipi_pack(c->map, NCPUS, c->idx, c->cpus, NCPUS,
				skip_mult3, &calls, &nbits, NULL);
	KUNIT_EXPECT_EQ(test, n, 8);
	KUNIT_EXPECT_EQ(test, calls, 12U);
	for (i = 0; i < 12; i++)
		KUNIT_EXPECT_EQ_MSG(test, test_bit(NCPUS - 1 - i, (unsigned long *)c->map),
				    i % 3 != 0, "cpu %u", i);
}

static bool skip_all(unsigned int cpu, void *ctx)
{
	return true;
}

static void pack_all_polling_needs_no_call(struct kunit *test)
{
	struct pack_ctx *c = pack_ctx_new(test);
	u32 nbits = 77;

	bitmap_fill(c->cpus, NCPUS);
	c->idx[5] = EXITLESS_PVIPI_IDX_NONE;	/* never asked: skipped */
	KUNIT_EXPECT_EQ(test, exitless_pvipi_pack(c->map, NCPUS, c->idx, c->cpus,
						  NCPUS, skip_all, NULL, &nbits, NULL), 0);
	KUNIT_EXPECT_EQ(test, nbits, 0U);
}

/* the last CPU packed is reported: the one target the caller may send to */
static void pack_reports_last_cpu(struct kunit *test)
{
	struct pack_ctx *c = pack_ctx_new(test);
	unsigned int calls = 0, last = 1000;
	u32 nbits = 0;

	__set_bit(3, c->cpus);
	__set_bit(7, c->cpus);
	__set_bit(12, c->cpus);
	KUNIT_EXPECT_EQ(test, exitless_pvipi_pack(c->map, NCPUS, c->idx, c->cpus,
						  NCPUS, NULL, NULL, &nbits,
						  &last), 3);
	KUNIT_EXPECT_EQ(test, last, 12U);

	/* 3 and 12 poll: 7 is the only target left */
	memset(c->map, 0, sizeof(c->map));
	last = 1000;
	KUNIT_EXPECT_EQ(test, exitless_pvipi_pack(c->map, NCPUS, c->idx, c->cpus,
						  NCPUS, skip_mult3, &calls,
						  &nbits, &last), 1);
	KUNIT_EXPECT_EQ(test, last, 7U);
	KUNIT_EXPECT_EQ(test, nbits, (u32)(NCPUS - 7));

	/* nobody left: *last_cpu is not written */
	memset(c->map, 0, sizeof(c->map));
	last = 1000;
	KUNIT_EXPECT_EQ(test, exitless_pvipi_pack(c->map, NCPUS, c->idx, c->cpus,
						  NCPUS, skip_all, NULL, &nbits,
						  &last), 0);
	KUNIT_EXPECT_EQ(test, last, 1000U);
}

/* one target left goes out natively; none, or two and more, do not */
static void single_native(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_single_native(-1));
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_single_native(0));
	KUNIT_EXPECT_TRUE(test, exitless_pvipi_single_native(1));
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_single_native(2));
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_single_native(NCPUS));
}

/* --- guest: polling-target protocol ------------------------------------ */

static void poll_protocol(struct kunit *test)
{
	u32 s = EXITLESS_PVIPI_POLL_OFF;

	/* not polling: the sender must send an IPI */
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_poll_wakeable(s));
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_poll_must_exit(s));

	/* polling: woken through memory, and the loop must then leave idle */
	s = EXITLESS_PVIPI_POLL_POLLING;
	KUNIT_EXPECT_TRUE(test, exitless_pvipi_poll_wakeable(s));
	KUNIT_EXPECT_FALSE(test, exitless_pvipi_poll_must_exit(s));
	s = exitless_pvipi_poll_woken(s);
	KUNIT_EXPECT_TRUE(test, exitless_pvipi_poll_must_exit(s));

	/* a second sender finds it still polling: no IPI, same state */
	KUNIT_EXPECT_TRUE(test, exitless_pvipi_poll_wakeable(s));
	KUNIT_EXPECT_EQ(test, exitless_pvipi_poll_woken(s), s);
}

static struct kunit_case exitless_pvipi_cases[] = {
	KUNIT_CASE(check_accepts_valid),
	KUNIT_CASE(check_vector),
	KUNIT_CASE(check_modes),
	KUNIT_CASE(check_reserved_bits),
	KUNIT_CASE(check_lengths),
	KUNIT_CASE(check_addresses),
	KUNIT_CASE(check_inline),
	KUNIT_CASE(use_inline),
	KUNIT_CASE(bitmap_bytes),
	KUNIT_CASE(icr_low),
	KUNIT_CASE(by_cluster),
	KUNIT_CASE(cluster_batches),
	KUNIT_CASE(cluster_full_and_highest),
	KUNIT_CASE(cluster_covers_each_once),
	KUNIT_CASE(pack_sparse_set),
	KUNIT_CASE(pack_all),
	KUNIT_CASE(pack_nbits_is_highest_plus_one),
	KUNIT_CASE(pack_empty),
	KUNIT_CASE(pack_unknown_index_fails),
	KUNIT_CASE(pack_index_beyond_map_fails),
	KUNIT_CASE(pack_skips_polling),
	KUNIT_CASE(pack_all_polling_needs_no_call),
	KUNIT_CASE(pack_reports_last_cpu),
	KUNIT_CASE(single_native),
	KUNIT_CASE(poll_protocol),
	{}
};

static struct kunit_suite exitless_pvipi_suite = {
	.name = "exitless_pvipi",
	.test_cases = exitless_pvipi_cases,
};

kunit_test_suite(exitless_pvipi_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for the exitless pvipi policy");
MODULE_INFO(test, "Y");
