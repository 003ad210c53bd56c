/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure ABI validation: no kernel objects, no locks, so KUnit covers it
 * (host/abi_policy_kunit.c).  The host module calls these before touching
 * any guest-supplied value.
 */
#ifndef EXITLESS_HOST_ABI_POLICY_H
#define EXITLESS_HOST_ABI_POLICY_H

#include <linux/types.h>

/* True if @nr (as read from guest RAX) is one of ours. */
bool exitless_hc_in_range(u64 nr);

/*
 * Check REGISTER's arguments for shape only (alignment, size, page
 * crossing, version, flags).  Whether @gpa is backed by RAM is for the
 * caller to find out.  Returns 0 or -EXITLESS_EINVAL.
 */
long exitless_check_register_args(u64 gpa, u64 size, u64 version, u64 flags);

#endif
