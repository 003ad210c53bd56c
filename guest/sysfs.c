// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/exitless/: read-only view of the guest module's state
 * (Documentation/guest.rst describes each file).
 */
#include <linux/cpumask.h>
#include <linux/kobject.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>

#include "guest.h"
#include "pvipi/guest.h"
#include "dynidle/guest.h"
#include "pvtimer/guest.h"

static struct kobject *exitless_kobj;

/* Read one u64 field under the lock. */
static u64 exitless_read(const u64 *field)
{
	u64 val;

	mutex_lock(&exitless_guest.lock);
	val = *field;
	mutex_unlock(&exitless_guest.lock);
	return val;
}

static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	bool active;

	mutex_lock(&exitless_guest.lock);
	active = exitless_guest.state == EXITLESS_GUEST_ACTIVE;
	mutex_unlock(&exitless_guest.lock);
	return sysfs_emit(buf, "%s\n", active ? "active" : "dormant");
}

static ssize_t host_abi_version_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  exitless_read(&exitless_guest.host_version));
}

static ssize_t host_epoch_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%llx\n",
			  exitless_read(&exitless_guest.host_epoch));
}

static ssize_t features_offered_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%llx\n",
			  exitless_read(&exitless_guest.features_offered));
}

static ssize_t features_enabled_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%llx\n",
			  exitless_read(&exitless_guest.features_enabled));
}

static ssize_t registered_cpus_show(struct kobject *kobj,
				    struct kobj_attribute *attr, char *buf)
{
	ssize_t len;

	mutex_lock(&exitless_guest.lock);
	len = sysfs_emit(buf, "%*pbl\n",
			 cpumask_pr_args(&exitless_guest.registered));
	mutex_unlock(&exitless_guest.lock);
	return len;
}

static ssize_t host_changes_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  exitless_read(&exitless_guest.host_changes));
}

static ssize_t probe_count_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  exitless_read(&exitless_guest.probe_count));
}

static ssize_t pvipi_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return exitless_pvipi_show(buf);
}

static ssize_t dynidle_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return exitless_dynidle_show(buf);
}

static ssize_t dynidle_cpus_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return exitless_dynidle_cpus_show(buf);
}

static struct kobj_attribute state_attr = __ATTR_RO(state);
static struct kobj_attribute host_abi_version_attr = __ATTR_RO(host_abi_version);
static struct kobj_attribute host_epoch_attr = __ATTR_RO(host_epoch);
static struct kobj_attribute features_offered_attr = __ATTR_RO(features_offered);
static struct kobj_attribute features_enabled_attr = __ATTR_RO(features_enabled);
static struct kobj_attribute registered_cpus_attr = __ATTR_RO(registered_cpus);
static struct kobj_attribute host_changes_attr = __ATTR_RO(host_changes);
static struct kobj_attribute probe_count_attr = __ATTR_RO(probe_count);
static struct kobj_attribute pvipi_attr = __ATTR_RO(pvipi);
static ssize_t pvtimer_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return exitless_pvtimer_show(buf);
}

static struct kobj_attribute dynidle_attr = __ATTR_RO(dynidle);
static struct kobj_attribute pvtimer_attr = __ATTR_RO(pvtimer);
static struct kobj_attribute dynidle_cpus_attr = __ATTR_RO(dynidle_cpus);

static struct attribute *exitless_attrs[] = {
	&state_attr.attr,
	&host_abi_version_attr.attr,
	&host_epoch_attr.attr,
	&features_offered_attr.attr,
	&features_enabled_attr.attr,
	&registered_cpus_attr.attr,
	&host_changes_attr.attr,
	&probe_count_attr.attr,
	&pvipi_attr.attr,
	&dynidle_attr.attr,
	&dynidle_cpus_attr.attr,
	&pvtimer_attr.attr,
	NULL,
};

static const struct attribute_group exitless_attr_group = {
	.attrs = exitless_attrs,
};

int exitless_guest_sysfs_init(void)
{
	int ret;

	exitless_kobj = kobject_create_and_add("exitless", kernel_kobj);
	if (!exitless_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(exitless_kobj, &exitless_attr_group);
	if (ret) {
		kobject_put(exitless_kobj);
		exitless_kobj = NULL;
	}
	return ret;
}

/* Safe to call when init failed or never ran. */
void exitless_guest_sysfs_exit(void)
{
	if (!exitless_kobj)
		return;
	sysfs_remove_group(exitless_kobj, &exitless_attr_group);
	kobject_put(exitless_kobj);
	exitless_kobj = NULL;
}
