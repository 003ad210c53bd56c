/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dynidle, host half: the contention hint in each vCPU's dynidle section.
 */
#ifndef EXITLESS_DYNIDLE_HOST_H
#define EXITLESS_DYNIDLE_HOST_H

struct kvm_vcpu;

/*
 * Called by kvm_attach.c at every VM entry of every vCPU (the kvm_entry
 * tracepoint): vCPU thread, interrupts off, kvm->srcu not held.
 */
void exitless_dynidle_vcpu_entry(struct kvm_vcpu *vcpu);

#endif
