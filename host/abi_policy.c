// SPDX-License-Identifier: GPL-2.0
/*
 * Pure checks of guest-supplied hypercall arguments; see abi_policy.h.
 */
#include <linux/limits.h>

#include "abi_policy.h"
#include "uapi/exitless.h"

#define EXITLESS_PAGE_SIZE	4096ULL

bool exitless_hc_in_range(u64 nr)
{
	return nr >= EXITLESS_HC_BASE && nr <= EXITLESS_HC_LAST;
}

long exitless_check_register_args(u64 gpa, u64 size, u64 version, u64 flags)
{
	if (flags)
		return -EXITLESS_EINVAL;
	if (version < 1 || version > EXITLESS_LAYOUT_VERSION)
		return -EXITLESS_EINVAL;
	if (size < EXITLESS_AREA_MIN_SIZE || size > EXITLESS_AREA_MAX_SIZE)
		return -EXITLESS_EINVAL;
	if (gpa & (EXITLESS_AREA_ALIGN - 1))
		return -EXITLESS_EINVAL;
	/* the area must not wrap around the end of the address space */
	if (gpa > U64_MAX - size)
		return -EXITLESS_EINVAL;
	if ((gpa / EXITLESS_PAGE_SIZE) != ((gpa + size - 1) / EXITLESS_PAGE_SIZE))
		return -EXITLESS_EINVAL;
	return 0;
}
