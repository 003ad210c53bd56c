/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * exitless host-guest ABI.
 *
 * The one header that holds every number and shared structure of the ABI
 * between exitless_host.ko (KVM host) and exitless_guest.ko (guest).  Host,
 * guest, KUnit suites and selftests include it; nothing redefines a number.
 * Documentation/abi.rst describes it in prose; change both together.
 *
 * Calling convention (x86-64 only): the guest kernel (CPL 0, 64-bit mode)
 * executes VMCALL/VMMCALL with
 *	RAX = call number, RBX/RCX/RDX/RSI = arguments 0..3
 * and gets back
 *	RAX = 0 or a negative EXITLESS_E* code,
 *	RBX/RCX/RDX = call-specific outputs (documented per call).
 *
 * Without exitless_host.ko, KVM answers every number here with -KVM_ENOSYS
 * (-1000), and with -KVM_EPERM (-1) for callers outside CPL 0, whatever the
 * number; those are KVM's codes, not ours.  Callers outside 64-bit mode are
 * never served: they get KVM's -KVM_ENOSYS truncated to 32 bits.
 *
 * Arguments are checked in the order the calls list them; the first
 * failing check decides the error.
 */
#ifndef _UAPI_EXITLESS_H
#define _UAPI_EXITLESS_H

#include <linux/types.h>

/*
 * ABI version the host answers with in PROBE; bumped on any change.
 * 2: PVTIMER_ENABLE takes EXITLESS_PVTIMER_ENABLE_POLL and returns the
 *    host poller's period in RBX.
 * 3: the host reads the pvtimer section's tick_hint (a guest of any
 *    version may write it: a host before 3 ignores it).
 * 4: PVIPI_SEND takes EXITLESS_PVIPI_SEND_INLINE (the bitmap in a0).
 */
#define EXITLESS_ABI_VERSION		4

/*
 * Private hypercall range: 256 numbers from 0x45584c00 ("EXL\0"), far from
 * KVM's own numbers (1..12) and from the Xen and Hyper-V conventions.
 */
#define EXITLESS_HC_BASE		0x45584c00UL
#define EXITLESS_HC_COUNT		256
#define EXITLESS_HC_LAST		(EXITLESS_HC_BASE + EXITLESS_HC_COUNT - 1)

/*
 * PROBE: a0 = highest ABI version the guest speaks (0 = don't care).
 * Out: RAX = 0, RBX = host ABI version, RCX = feature mask the host offers,
 *      RDX = epoch of this VM with this host module instance (changes
 *      whenever the host module is reloaded, or the VM lands in another
 *      QEMU process, on another host or the same one: every registration
 *      is then gone and the guest must register again).  Never 0.
 */
#define EXITLESS_HC_PROBE		(EXITLESS_HC_BASE + 0)
/*
 * REGISTER: register the calling vCPU's shared area.
 *	a0 = guest-physical address (EXITLESS_AREA_ALIGN aligned, RAM)
 *	a1 = size in bytes (EXITLESS_AREA_MIN_SIZE..EXITLESS_AREA_MAX_SIZE,
 *	     and the area must not cross a 4 KiB page)
 *	a2 = layout version (1..EXITLESS_LAYOUT_VERSION)
 *	a3 = flags, must be 0
 * The guest fills the area's header first (magic, version = a2, size =
 * a1); a header that doesn't match gets -EXITLESS_EINVAL.  The area must
 * be in guest RAM the host may write: no memslot (MMIO) or a read-only
 * memslot gets -EXITLESS_EFAULT.  Registering an already registered vCPU
 * gets -EXITLESS_EBUSY.
 * Out: RAX = 0; RBX = host epoch the registration belongs to.
 * The host then writes the area's host-owned fields (see below).  It
 * drops the registration itself when the vCPU gets INIT or is reset, and
 * when the VM is destroyed or the host module unloaded.
 */
#define EXITLESS_HC_REGISTER		(EXITLESS_HC_BASE + 1)
/*
 * UNREGISTER: a0 = flags, must be 0.  After RAX = 0 the host never writes
 * the calling vCPU's area again.
 */
#define EXITLESS_HC_UNREGISTER		(EXITLESS_HC_BASE + 2)

/*
 * Sub-ranges reserved for the features' own calls (each feature documents
 * its calls in Documentation/<feature>.rst and defines them here, inside
 * its sub-range):
 *	EXITLESS_HC_BASE + 0x10 .. 0x1f	pvipi
 *	EXITLESS_HC_BASE + 0x20 .. 0x2f	pvtimer
 *	EXITLESS_HC_BASE + 0x30 .. 0x3f	dynidle
 */
#define EXITLESS_HC_PVIPI_BASE		(EXITLESS_HC_BASE + 0x10)
#define EXITLESS_HC_PVTIMER_BASE	(EXITLESS_HC_BASE + 0x20)
#define EXITLESS_HC_DYNIDLE_BASE	(EXITLESS_HC_BASE + 0x30)
#define EXITLESS_HC_FEATURE_SPAN	0x10

/*
 * pvipi (Documentation/pvipi.rst).
 *
 * PVIPI_SEND: deliver one interrupt to a set of vCPUs of the caller's VM.
 *	a0 = guest-physical address of the destination bitmap: bit i (of
 *	     little-endian 64-bit words) names KVM's vCPU index i, as the host
 *	     writes it in each area's header (vcpu_id); 8-byte aligned, in
 *	     guest RAM (it may cross pages)
 *	a1 = bits in the bitmap, 1..number of vCPUs of the VM
 *	a2 = EXITLESS_PVIPI_MODE_FIXED | vector (16..255), or
 *	     EXITLESS_PVIPI_MODE_NMI (vector 0); no other bit
 *	a3 = flags: 0, or (ABI version 4) EXITLESS_PVIPI_SEND_INLINE: a0 is
 *	     the bitmap itself (bit i names vCPU index i), a1 is 1..64 and
 *	     no bit of a0 at or above a1 is set; no guest memory is read
 * All or nothing: every argument and every named vCPU is checked before
 * anything is delivered.  The caller and every target must have their
 * local APIC in x2APIC mode (the host addresses a vCPU by its x2APIC ID,
 * which KVM fixes to the vCPU id); otherwise -EXITLESS_EOPNOTSUPP and
 * nothing is delivered.
 * Out: RAX = number of vCPUs the interrupt was delivered to (>= 0, the
 *	number of bits set), or a negative EXITLESS_E* code.
 */
#define EXITLESS_HC_PVIPI_SEND		(EXITLESS_HC_PVIPI_BASE + 0)

/*
 * pvtimer (Documentation/pvtimer.rst).  The guest writes the next expiry of
 * its per-CPU clock event device into its pvtimer section (deadline, in
 * the vCPU's own TSC, and seq); the host reads the section at every VM
 * exit of the vCPU and on PVTIMER_SYNC, runs a host timer for it and
 * injects the vector given to PVTIMER_ENABLE when it expires.
 *
 * PVTIMER_ENABLE: start serving the calling vCPU's pvtimer section.
 *	a0 = vector to inject on expiry, 32..255
 *	a1 = flags: EXITLESS_PVTIMER_ENABLE_BACKSTOP, EXITLESS_PVTIMER_ENABLE_POLL
 *	a2 = with EXITLESS_PVTIMER_ENABLE_BACKSTOP, the backstop window in
 *	     the vCPU's TSC cycles, 1 ms .. 10 s; 0 without it
 * With EXITLESS_PVTIMER_ENABLE_BACKSTOP the host keeps the vCPU's local
 * APIC TSC-deadline timer (the guest has programmed LVTT: TSC-deadline
 * mode, its vector) armed as the guest's liveness backstop: from every
 * deadline it reads, it arms that timer between deadline + a2/8 and
 * deadline + a2 (never for a time already past), and disarms it when the
 * deadline is removed; the guest then writes MSR_IA32_TSC_DEADLINE only
 * when the host no longer serves it.  The APIC timer is the VM's state:
 * it stays armed when the host module leaves and migrates with the VM.
 * A host without this flag refuses it with -EXITLESS_EINVAL (the guest
 * then enables without it and keeps its own backstop).
 * The vCPU must have registered its area with layout version >= 3 and a
 * size that covers the pvtimer section (-EXITLESS_ENOENT: not registered;
 * -EXITLESS_EINVAL: layout or size too small, bad vector, flags or
 * window).  The
 * host reads the section at once and acts on its deadline as new: one
 * already past is injected, even if it was delivered before (the guest
 * clears the deadline first if it does not want that).  Enabling an
 * enabled vCPU changes its vector and flags.  With
 * EXITLESS_PVTIMER_ENABLE_POLL (ABI version >= 2; a version-1 host
 * refuses it with -EXITLESS_EINVAL) the host's poller, if it runs one
 * (exitless_host's pvtimer_poll_us), reads the section while the vCPU
 * runs guest code.  Out: RAX = 0; RBX (ABI version >= 2; a version-1 host
 * leaves a0 there) = 0, or the period in the vCPU's TSC cycles within
 * which that poller reads the section: a deadline at least that far away
 * needs no PVTIMER_SYNC.
 */
#define EXITLESS_HC_PVTIMER_ENABLE	(EXITLESS_HC_PVTIMER_BASE + 0)
#define EXITLESS_PVTIMER_ENABLE_BACKSTOP	(1ULL << 0)
/*
 * ABI version 2: have the host's poller, if it runs one, read this vCPU's
 * section (RBX then returns its period).
 */
#define EXITLESS_PVTIMER_ENABLE_POLL		(1ULL << 1)
/*
 * PVTIMER_DISABLE: a0 = flags, must be 0.  Stops the vCPU's host timer;
 * no pvtimer vector is injected after RAX = 0 (one injected before may
 * still be pending in the local APIC).  Also implied by UNREGISTER, INIT,
 * VM destruction and host module unload.
 */
#define EXITLESS_HC_PVTIMER_DISABLE	(EXITLESS_HC_PVTIMER_BASE + 1)
/*
 * PVTIMER_SYNC: a0 = flags, must be 0.  The host reads the section now and
 * arms (or injects, if already due) for its deadline.  The guest needs it
 * only when the host would otherwise learn of a deadline too late (see
 * Documentation/pvtimer.rst).  Out: RAX = 0 (-EXITLESS_ENOENT: pvtimer is
 * not enabled on this vCPU, e.g. the host instance changed).
 */
#define EXITLESS_HC_PVTIMER_SYNC	(EXITLESS_HC_PVTIMER_BASE + 2)

#define EXITLESS_PVTIMER_VECTOR_MIN	32

/* PVIPI_SEND a2: vector in bits 0..7, delivery mode in bits 8..10 (ICR). */
#define EXITLESS_PVIPI_VECTOR_MASK	0xffULL
#define EXITLESS_PVIPI_MODE_MASK	0x700ULL
#define EXITLESS_PVIPI_MODE_FIXED	0x000ULL
#define EXITLESS_PVIPI_MODE_NMI		0x400ULL
#define EXITLESS_PVIPI_VECTOR_MIN	16
/* PVIPI_SEND a3 (ABI version 4): a0 holds the bitmap of vCPUs 0..63 */
#define EXITLESS_PVIPI_SEND_INLINE	(1ULL << 0)
#define EXITLESS_PVIPI_INLINE_BITS	64

/* Error codes, returned negated in RAX: our own, not KVM's nor errno. */
#define EXITLESS_EINVAL			2001	/* bad flags, size, version, alignment */
#define EXITLESS_EFAULT			2002	/* address not backed by writable RAM */
#define EXITLESS_EBUSY			2003	/* already registered */
#define EXITLESS_ENOENT			2004	/* not registered */
#define EXITLESS_ENOSYS			2005	/* unknown number in our range */
#define EXITLESS_ENOMEM			2006	/* host could not allocate state */
#define EXITLESS_EOPNOTSUPP		2007	/* feature not offered by the host */

/* Feature bits, in PROBE's mask and the guest's negotiated mask. */
#define EXITLESS_F_AREA			(1ULL << 0)	/* per-vCPU shared area */
#define EXITLESS_F_PVIPI		(1ULL << 1)
#define EXITLESS_F_PVTIMER		(1ULL << 2)
#define EXITLESS_F_DYNIDLE		(1ULL << 3)
#define EXITLESS_F_ALL			(EXITLESS_F_AREA | EXITLESS_F_PVIPI | \
					 EXITLESS_F_PVTIMER | EXITLESS_F_DYNIDLE)

/*
 * Shared-area layout.  Version 1 is the header alone; version 2 gives the
 * dynidle section (at EXITLESS_AREA_OFF_DYNIDLE) its meaning; version 3
 * adds the pvtimer section (EXITLESS_AREA_OFF_PVTIMER).  A host that offers
 * EXITLESS_F_DYNIDLE serves version 2, one that offers EXITLESS_F_PVTIMER
 * version 3; older hosts only version 1.
 */
#define EXITLESS_LAYOUT_VERSION		3
#define EXITLESS_AREA_ALIGN		64
#define EXITLESS_AREA_MIN_SIZE		64
#define EXITLESS_AREA_MAX_SIZE		4096
#define EXITLESS_AREA_MAGIC		0x4c584578U	/* "xEXL" little-endian */

/* host_flags bits */
#define EXITLESS_HOST_ATTACHED		(1U << 0)

/*
 * Header of every per-vCPU area, 64 bytes.  "guest" fields are written by
 * the guest before REGISTER and never by the host; "host" fields are
 * written by the host only while the area is registered.  The host does
 * not clear them on UNREGISTER or unload: whether a registration is live
 * is decided by PROBE's epoch, never by these fields.
 */
struct exitless_area_hdr {
	__u32 magic;		/* guest: EXITLESS_AREA_MAGIC */
	__u16 version;		/* guest: layout version, as in REGISTER a2 */
	__u16 size;		/* guest: bytes registered, as in REGISTER a1 */
	__u32 host_flags;	/* host: EXITLESS_HOST_* */
	__u32 vcpu_id;		/* host: KVM's vCPU index of this area */
	__u64 host_epoch;	/* host: epoch of this registration */
	__u64 reserved[5];	/* zero */
};

#define EXITLESS_AREA_HDR_SIZE		64

/*
 * Feature sections of the area, 64 bytes each at fixed offsets after the
 * header.  A feature may be used on a vCPU only if it was negotiated and
 * the size registered covers its section; the section's layout is defined
 * here by the feature that owns it.
 */
#define EXITLESS_AREA_OFF_PVTIMER	64
#define EXITLESS_AREA_OFF_DYNIDLE	128
#define EXITLESS_AREA_OFF_PVIPI		192
#define EXITLESS_AREA_SECTION_SIZE	64

/*
 * dynidle section (Documentation/dynidle.rst), layout version 2, 64 bytes
 * at EXITLESS_AREA_OFF_DYNIDLE.  The host writes it only if it offers
 * EXITLESS_F_DYNIDLE and the area was registered with layout version >= 2
 * and a size that covers the section; the guest zeroes it before REGISTER.
 * No hypercall: EXITLESS_HC_DYNIDLE_BASE's numbers are unused.
 *
 * host_flags is sampled at every VM entry of the vCPU and written when it
 * changes, so it describes the host CPU the vCPU last entered the guest
 * on, as of that entry.  It is a hint: stale by up to one guest run, and,
 * like every host field, left as it was on UNREGISTER or unload.
 */
#define EXITLESS_DYNIDLE_HOST_BUSY	(1U << 0)	/* other runnable task(s) */

struct exitless_dynidle_section {
	__u32 host_flags;	/* host: EXITLESS_DYNIDLE_* */
	__u32 reserved0;	/* zero */
	__u64 reserved[7];	/* zero */
};

/* Smallest area size (from offset 0) that covers the dynidle section. */
#define EXITLESS_AREA_SIZE_DYNIDLE	(EXITLESS_AREA_OFF_DYNIDLE + \
					 EXITLESS_AREA_SECTION_SIZE)

/*
 * pvtimer section (Documentation/pvtimer.rst), layout version 3, 64 bytes
 * at EXITLESS_AREA_OFF_PVTIMER.  The guest zeroes it before REGISTER.
 *
 * deadline and seq are the guest's: to arm, it writes deadline (the TSC
 * value of the vCPU at which the vector is due; 0 = nothing armed), then
 * increments seq.  host_seq and host_armed are the host's, written in the
 * vCPU's own thread at VM exits, VM entries and PVTIMER_SYNC, so the guest
 * never sees them change under it while it runs: host_seq is the seq the
 * host last read (host_seq == seq: the host knows the current deadline),
 * host_armed the time (vCPU TSC) by which the host looks at the section
 * again: the deadline its timer runs for, or a guard after an injected
 * expiry (0 = none; as of the vCPU's last entry: a timer that expired
 * since is still shown).  Like every host field, left as they were on DISABLE or unload.
 *
 * tick_hint (ABI version 3) is the guest's, written with deadline (before
 * seq): the TSC at which the guest expects to arm its next deadline once
 * this one has fired, its periodic tick's next jiffy; 0 = none.  A hint
 * only: the host may end the guard after injecting this deadline there
 * instead (Documentation/pvtimer.rst), so that the guest arms that tick
 * without PVTIMER_SYNC.  Any value is safe: the host uses it only if it
 * falls inside the guard.
 */
struct exitless_pvtimer_section {
	__u64 deadline;		/* guest: TSC deadline, 0 = none */
	__u64 seq;		/* guest: bumped after each deadline write */
	__u64 host_seq;		/* host: the seq it last read */
	__u64 host_armed;	/* host: deadline its timer runs for, 0 = none */
	__u64 tick_hint;	/* guest: its tick after deadline, 0 = none */
	__u64 reserved[3];	/* zero */
};

/* Smallest area size (from offset 0) that covers the pvtimer section. */
#define EXITLESS_AREA_SIZE_PVTIMER	(EXITLESS_AREA_OFF_PVTIMER + \
					 EXITLESS_AREA_SECTION_SIZE)

#endif /* _UAPI_EXITLESS_H */
