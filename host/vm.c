// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM and per-vCPU state of exitless_host.ko.
 *
 * State is created on the first call that needs it and lives exactly as
 * long as the VM: kvm_attach.c calls exitless_vm_destroy() when KVM
 * destroys the VM, and exitless_vm_exit() frees whatever is left when the
 * module unloads while VMs still run.
 *
 * Locking: the VM table is an RCU hash keyed by struct kvm *, written
 * under exitless_vms_lock.  Lookups run in the context of one of the VM's
 * own vCPUs, so the entry they find cannot be destroyed under them (KVM
 * destroys a VM only after its last vCPU fd is gone, and unload first
 * drains every vCPU inside our hypercall path).  A vCPU's state is only
 * touched by that vCPU's thread, by VM destroy and by unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>

#include "internal.h"
#include "compat/compat.h"
#include "exitless_trace.h"

static DEFINE_HASHTABLE(exitless_vms, 6);
static DEFINE_SPINLOCK(exitless_vms_lock);

struct exitless_vm *exitless_vm_find(struct kvm *kvm)
{
	struct exitless_vm *vm;

	rcu_read_lock();
	hash_for_each_possible_rcu(exitless_vms, vm, node, (unsigned long)kvm) {
		if (vm->kvm == kvm) {
			rcu_read_unlock();
			return vm;
		}
	}
	rcu_read_unlock();
	return NULL;
}

struct exitless_vm *exitless_vm_get_or_create(struct kvm *kvm)
{
	struct exitless_vm *vm, *old;

	vm = exitless_vm_find(kvm);
	if (vm)
		return vm;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return NULL;
	vm->kvm = kvm;
	xa_init(&vm->vcpus);
	/*
	 * Each VM gets its own epoch from this module instance, never 0: a
	 * VM migrated to a new QEMU process, even on the same host, is a
	 * new struct kvm here, so its guest sees a new epoch and registers
	 * again (the old VM's registrations died with it).
	 */
	vm->epoch = get_random_u64() | 1;

	spin_lock(&exitless_vms_lock);
	/* two vCPUs of one VM may race to create it */
	hash_for_each_possible(exitless_vms, old, node, (unsigned long)kvm) {
		if (old->kvm == kvm) {
			spin_unlock(&exitless_vms_lock);
			kfree(vm);
			return old;
		}
	}
	hash_add_rcu(exitless_vms, &vm->node, (unsigned long)kvm);
	atomic_inc(&exitless_stats.vms);
	spin_unlock(&exitless_vms_lock);
	return vm;
}

struct exitless_vcpu *exitless_vcpu_find(struct kvm_vcpu *vcpu)
{
	struct exitless_vm *vm = exitless_vm_find(vcpu->kvm);

	return vm ? xa_load(&vm->vcpus, vcpu->vcpu_idx) : NULL;
}

struct exitless_vcpu *exitless_vcpu_get_or_create(struct kvm_vcpu *vcpu)
{
	struct exitless_vm *vm;
	struct exitless_vcpu *xv;
	int r;

	vm = exitless_vm_get_or_create(vcpu->kvm);
	if (!vm)
		return NULL;
	xv = xa_load(&vm->vcpus, vcpu->vcpu_idx);
	if (xv)
		return xv;

	xv = kzalloc(sizeof(*xv), GFP_KERNEL_ACCOUNT);
	if (!xv)
		return NULL;
	exitless_pvtimer_vcpu_init(xv, vcpu);
	/* only this vCPU's thread inserts at its index */
	r = xa_insert(&vm->vcpus, vcpu->vcpu_idx, xv, GFP_KERNEL_ACCOUNT);
	if (r) {
		kfree(xv);
		return NULL;
	}
	return xv;
}

void exitless_vcpu_drop_registration(struct exitless_vcpu *xv)
{
	if (!xv->registered)
		return;
	/* the features that write the area first */
	exitless_pvtimer_vcpu_stop(xv);
	xv->registered = false;
	atomic_dec(&exitless_stats.vcpus_registered);
}

/* @vcpu was reset, however: the guest that registered @xv is gone. */
static void exitless_vcpu_reset_xv(struct kvm_vcpu *vcpu,
				   struct exitless_vcpu *xv)
{
	trace_exitless_vcpu_reset(vcpu->vcpu_id, xv->registered);
	if (xv->registered)
		exitless_count(EXITLESS_CNT_VCPU_RESETS);
	exitless_vcpu_drop_registration(xv);
}

/* A vCPU got INIT or was reset: the guest that registered is gone. */
void exitless_vcpu_reset(struct kvm_vcpu *vcpu)
{
	struct exitless_vcpu *xv = exitless_vcpu_find(vcpu);

	if (xv)
		exitless_vcpu_reset_xv(vcpu, xv);
}

/*
 * kvm_entry, interrupts off: a registered vCPU about to run outside long
 * mode, neither in SMM nor in a nested guest of its own, was reset by
 * user space.  QEMU's system reset (a guest's reboot through ACPI, the
 * keyboard controller or port 0xcf9, a panic's emergency restart, the
 * monitor's system_reset) sets the registers with KVM_SET_SREGS and the
 * like; only the other vCPUs then get an INIT from the firmware
 * (exitless_vcpu_reset()).  The ABI serves 64-bit callers only, so the
 * guest that registered is gone: drop its registration before this entry
 * writes the area, which is now the next boot's memory.  One flag test
 * per entry while the vCPU is in long mode.
 */
void exitless_vcpu_entry_check(struct kvm_vcpu *vcpu)
{
	struct exitless_vcpu *xv;

	if (likely(vcpu->arch.efer & EFER_LMA) ||
	    (vcpu->arch.hflags & (HF_GUEST_MASK | EXITLESS_HF_SMM)) ||
	    !atomic_read(&exitless_stats.vcpus_registered))
		return;
	xv = exitless_vcpu_find(vcpu);
	if (xv && xv->registered)
		exitless_vcpu_reset_xv(vcpu, xv);
}

/*
 * @vm unhashed.  Destroy frees with exitless_vms_lock dropped; unload
 * holds it, so that the destroy of a VM that unload is freeing waits
 * until its timers are cancelled (exitless_vm_exit()).
 */
static void exitless_vm_free(struct exitless_vm *vm, bool unload)
{
	struct exitless_vcpu *xv;
	unsigned long idx;
	unsigned int nr = 0;

	xa_for_each(&vm->vcpus, idx, xv) {
		nr += xv->registered;
		exitless_vcpu_drop_registration(xv);
		exitless_pvtimer_vcpu_stop(xv);	/* its timer, even if unregistered */
		kfree(xv);
	}
	xa_destroy(&vm->vcpus);
	trace_exitless_vm_release(nr, unload);
	atomic_dec(&exitless_stats.vms);
	/* other VMs' vCPUs may be walking the hash chain through @vm */
	kfree_rcu(vm, rcu);
}

void exitless_vm_destroy(struct kvm *kvm)
{
	struct exitless_vm *vm;

	spin_lock(&exitless_vms_lock);
	hash_for_each_possible(exitless_vms, vm, node, (unsigned long)kvm) {
		if (vm->kvm == kvm) {
			hash_del_rcu(&vm->node);
			spin_unlock(&exitless_vms_lock);
			exitless_vm_free(vm, false);
			return;
		}
	}
	spin_unlock(&exitless_vms_lock);
}

int exitless_vm_init(void)
{
	return 0;
}

/* Called with exitless_vms_lock held. */
static struct exitless_vm *exitless_vm_pop_any(void)
{
	struct exitless_vm *vm;
	int bkt;

	hash_for_each(exitless_vms, bkt, vm, node) {
		hash_del_rcu(&vm->node);
		return vm;
	}
	return NULL;
}

/*
 * Module unload: no vCPU is inside our code any more (see kvm_attach.c),
 * but the destroy hook is still attached.  A VM that KVM destroys now
 * either is still hashed, and its destroy frees it, or is being freed
 * here under the lock, and its destroy waits for the lock: either way its
 * timers are cancelled before KVM frees its vCPUs.
 */
void exitless_vm_exit(void)
{
	struct exitless_vm *vm;

	for (;;) {
		spin_lock(&exitless_vms_lock);
		vm = exitless_vm_pop_any();
		if (vm)
			exitless_vm_free(vm, true);
		spin_unlock(&exitless_vms_lock);
		if (!vm)
			break;
		cond_resched();
	}
	rcu_barrier();	/* every kfree_rcu() above has run */
}
