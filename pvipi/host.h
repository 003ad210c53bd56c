/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvipi, host half: the calls of the EXITLESS_HC_PVIPI_BASE sub-range.
 */
#ifndef EXITLESS_PVIPI_HOST_H
#define EXITLESS_PVIPI_HOST_H

struct kvm_vcpu;
struct exitless_hc;

/* Serve a number of the pvipi sub-range; vCPU context, like dispatch. */
long exitless_pvipi_hypercall(struct kvm_vcpu *vcpu, struct exitless_hc *hc);

#endif
