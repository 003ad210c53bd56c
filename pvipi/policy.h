/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvipi policy: pure functions, no kernel objects and no locks, so the
 * KUnit suite exitless_pvipi (policy_kunit.c) covers them.
 *
 * Host side: the shape check of PVIPI_SEND's arguments and the ICR it
 * turns into.  Guest side: packing a set of CPUs into the vCPU-index
 * bitmap the host reads, and the polling-target protocol (a target CPU
 * that polls in idle is woken through memory, without an IPI).
 */
#ifndef EXITLESS_PVIPI_POLICY_H
#define EXITLESS_PVIPI_POLICY_H

#include <linux/types.h>

/* A CPU whose vCPU index the guest does not know (not registered yet). */
#define EXITLESS_PVIPI_IDX_NONE		U32_MAX

/*
 * Check PVIPI_SEND's arguments for shape: bitmap alignment, bit count
 * against the VM's @nr_vcpus, mode, vector, flags.  Whether @gpa is
 * backed by RAM is for the caller to find out.  With
 * EXITLESS_PVIPI_SEND_INLINE in @flags, @gpa is the bitmap itself: at
 * most 64 bits, none set at or above @nbits.  Returns 0 or
 * -EXITLESS_EINVAL.
 */
long exitless_pvipi_check_send(u64 gpa, u64 nbits, u64 mode_vector, u64 flags,
			       u32 nr_vcpus);

/* Does PVIPI_SEND's a3 (@flags) say that a0 is the bitmap itself? */
bool exitless_pvipi_inline(u64 flags);

/* The first host ABI version that takes EXITLESS_PVIPI_SEND_INLINE. */
#define EXITLESS_PVIPI_INLINE_VERSION	4

/*
 * Guest: send a packed bitmap of @nbits bits inline (in a0) to a host of
 * ABI version @host_version?  Yes when the host takes it and the bitmap
 * fits in one word: the host then reads no guest memory for the call.
 */
bool exitless_pvipi_use_inline(u64 host_version, u32 nbits);

/* Bytes of a destination bitmap of @nbits bits (whole 64-bit words). */
u32 exitless_pvipi_bitmap_bytes(u64 nbits);

/* ICR low word (physical destination, no shorthand) for a checked a2. */
u32 exitless_pvipi_icr_low(u64 mode_vector);

/*
 * Host: delivery by x2APIC cluster.  In x2APIC mode a local APIC's
 * logical ID is fixed by its x2APIC ID (cluster = ID >> 4 in bits 31:16,
 * bit ID & 15 in bits 15:0; KVM derives it and refuses any other), so one
 * logical-destination IPI reaches every target of a cluster of 16 IDs:
 * one delivery into KVM's local APIC code per cluster of the set instead
 * of one per target.  Only for a fixed vector, which every local APIC
 * that is software-disabled drops either way; an NMI also reaches those,
 * but KVM's logical lookup skips them, so NMIs go one target at a time.
 */
#define EXITLESS_PVIPI_CLUSTER_MAX_ID	0xfffefU /* cluster 0xffff: broadcast */

/* Is a checked a2 (@mode_vector) sent by cluster? */
bool exitless_pvipi_by_cluster(u64 mode_vector);

/*
 * Add the target with x2APIC ID @id (at most
 * EXITLESS_PVIPI_CLUSTER_MAX_ID) to *@batch, an x2APIC logical
 * destination (0 = empty).  Returns the destination to send now, 0 if
 * none: the old *@batch when @id is in another cluster, which then starts
 * a new batch.  What is left in *@batch at the end is sent last.
 */
u32 exitless_pvipi_cluster_add(u32 *batch, u32 id);

/*
 * Guest: pack the CPUs set in @cpus (a bitmap of @nr_cpus bits) into
 * @map, a bitmap of @map_bits bits indexed by vCPU index, where
 * @cpu_idx[cpu] is the vCPU index of each CPU.  @skip, if not NULL, is
 * asked about each CPU first: true means "handled without an IPI" (a
 * polling target woken through memory) and leaves it out.
 *
 * @map must be zero on entry.  On success returns the number of targets
 * packed and sets *@nbits to the bits the host must read (highest index
 * + 1, 0 if no target is left) and, if @last_cpu is not NULL, *@last_cpu
 * to the last CPU packed (the only one when 1 is returned).  Returns -1
 * if a target has no known index or one beyond @map_bits: the caller
 * then sends natively (@map is left dirty up to *@nbits, which is set in
 * every case).
 */
int exitless_pvipi_pack(u64 *map, u32 map_bits, const u32 *cpu_idx,
			const unsigned long *cpus, u32 nr_cpus,
			bool (*skip)(unsigned int cpu, void *ctx), void *ctx,
			u32 *nbits, unsigned int *last_cpu);

/*
 * Guest: should the @n targets that still need an IPI (after the polling
 * ones) go out through the kernel's own single-destination sender rather
 * than PVIPI_SEND?  Yes for exactly one: that is one x2APIC ICR write,
 * one exit as well (none with hardware IPI virtualization), and KVM
 * serves it in its fastpath, before the full exit path a hypercall takes.
 */
bool exitless_pvipi_single_native(int n);

/*
 * The polling-state word of a guest CPU (not ABI: guest memory only).
 * An idle poll loop (dynidle) sets POLLING while it polls and clears the
 * word when it stops; a sender that finds POLLING sets WAKE instead of
 * sending an IPI, and the loop, seeing WAKE, leaves idle through the
 * scheduler (need_resched on itself), which runs the pending
 * smp_call_function work and the reschedule.
 */
#define EXITLESS_PVIPI_POLL_OFF		0U
#define EXITLESS_PVIPI_POLL_POLLING	1U
#define EXITLESS_PVIPI_POLL_WAKE	2U

/* May a sender that read @state wake the CPU through memory? */
bool exitless_pvipi_poll_wakeable(u32 state);

/* The state a sender installs (compare-and-exchange from @state). */
u32 exitless_pvipi_poll_woken(u32 state);

/* Does the loop that ends with @state have to leave idle for a wake? */
bool exitless_pvipi_poll_must_exit(u32 state);

#endif
