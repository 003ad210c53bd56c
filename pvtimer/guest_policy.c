// SPDX-License-Identifier: GPL-2.0
/*
 * The guest module's copy of the pvtimer policy: Kbuild links an object
 * into one module only, and both halves use policy.c.
 */
#include "policy.c"
