// SPDX-License-Identifier: GPL-2.0
/*
 * pvipi policy: pure functions; see policy.h.  Linked into both modules
 * (guest_policy.c includes this file for exitless_guest.ko).
 */
#include <linux/bitmap.h>
#include <linux/find.h>
#include <linux/limits.h>

#include "policy.h"
#include "uapi/exitless.h"

long exitless_pvipi_check_send(u64 gpa, u64 nbits, u64 mode_vector, u64 flags,
			       u32 nr_vcpus)
{
	u64 mode = mode_vector & EXITLESS_PVIPI_MODE_MASK;
	u64 vector = mode_vector & EXITLESS_PVIPI_VECTOR_MASK;

	if (flags & ~EXITLESS_PVIPI_SEND_INLINE)
		return -EXITLESS_EINVAL;
	if (mode_vector & ~(EXITLESS_PVIPI_MODE_MASK | EXITLESS_PVIPI_VECTOR_MASK))
		return -EXITLESS_EINVAL;
	switch (mode) {
	case EXITLESS_PVIPI_MODE_FIXED:
		if (vector < EXITLESS_PVIPI_VECTOR_MIN)
			return -EXITLESS_EINVAL;
		break;
	case EXITLESS_PVIPI_MODE_NMI:
		if (vector)
			return -EXITLESS_EINVAL;
		break;
	default:
		return -EXITLESS_EINVAL;
	}
	if (!nbits || nbits > nr_vcpus)
		return -EXITLESS_EINVAL;
	if (exitless_pvipi_inline(flags)) {
		/* @gpa is the bitmap: no bit at or above @nbits */
		if (nbits > EXITLESS_PVIPI_INLINE_BITS)
			return -EXITLESS_EINVAL;
		if (nbits < EXITLESS_PVIPI_INLINE_BITS && gpa >> nbits)
			return -EXITLESS_EINVAL;
		return 0;
	}
	if (gpa & 7)
		return -EXITLESS_EINVAL;
	/* nbits <= nr_vcpus < 2^32: the length cannot overflow the gpa */
	if (gpa > U64_MAX - exitless_pvipi_bitmap_bytes(nbits))
		return -EXITLESS_EINVAL;
	return 0;
}

bool exitless_pvipi_inline(u64 flags)
{
	return flags & EXITLESS_PVIPI_SEND_INLINE;
}

bool exitless_pvipi_use_inline(u64 host_version, u32 nbits)
{
	return host_version >= EXITLESS_PVIPI_INLINE_VERSION &&
	       nbits && nbits <= EXITLESS_PVIPI_INLINE_BITS;
}

u32 exitless_pvipi_bitmap_bytes(u64 nbits)
{
	if (nbits > U32_MAX)
		nbits = U32_MAX;
	return (u32)((nbits + 63) / 64) * 8;
}

u32 exitless_pvipi_icr_low(u64 mode_vector)
{
	/* physical destination mode (bit 11 clear), no shorthand, edge */
	return (u32)(mode_vector & (EXITLESS_PVIPI_MODE_MASK |
				    EXITLESS_PVIPI_VECTOR_MASK));
}

bool exitless_pvipi_by_cluster(u64 mode_vector)
{
	return (mode_vector & EXITLESS_PVIPI_MODE_MASK) ==
	       EXITLESS_PVIPI_MODE_FIXED;
}

u32 exitless_pvipi_cluster_add(u32 *batch, u32 id)
{
	u32 dest = (id >> 4) << 16 | 1U << (id & 15), flush = 0;

	if (*batch && (*batch >> 16) != (dest >> 16)) {
		flush = *batch;
		*batch = 0;
	}
	*batch |= dest;
	return flush;
}

int exitless_pvipi_pack(u64 *map, u32 map_bits, const u32 *cpu_idx,
			const unsigned long *cpus, u32 nr_cpus,
			bool (*skip)(unsigned int cpu, void *ctx), void *ctx,
			u32 *nbits, unsigned int *last_cpu)
{
	unsigned int cpu;
	u32 idx, top = 0;
	int n = 0;

	for_each_set_bit(cpu, cpus, nr_cpus) {
		if (skip && skip(cpu, ctx))
			continue;
		idx = cpu_idx[cpu];
		if (idx == EXITLESS_PVIPI_IDX_NONE || idx >= map_bits) {
			*nbits = top;
			return -1;
		}
		map[idx / 64] |= 1ULL << (idx % 64);
		if (idx + 1 > top)
			top = idx + 1;
		if (last_cpu)
			*last_cpu = cpu;
		n++;
	}
	*nbits = top;
	return n;
}

bool exitless_pvipi_single_native(int n)
{
	return n == 1;
}

bool exitless_pvipi_poll_wakeable(u32 state)
{
	return state & EXITLESS_PVIPI_POLL_POLLING;
}

u32 exitless_pvipi_poll_woken(u32 state)
{
	return state | EXITLESS_PVIPI_POLL_WAKE;
}

bool exitless_pvipi_poll_must_exit(u32 state)
{
	return state & EXITLESS_PVIPI_POLL_WAKE;
}
