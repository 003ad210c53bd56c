// SPDX-License-Identifier: GPL-2.0
/*
 * The pvipi policy, compiled a second time for exitless_guest.ko: Kbuild
 * warns about one object linked into two modules, and both modules need
 * these pure functions (the host its argument checks, the guest the
 * packing and the polling protocol).
 */
#include "policy.c"
