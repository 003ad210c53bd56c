#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the L2 guest's initramfs: run the guest-side stage and power
# off.  Everything it says goes to the serial console, which L1 reads.
/bin/busybox mkdir -p /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp

stage=guest
script=run.sh
arg=
for x in $(cat /proc/cmdline); do
	case "$x" in
	exitless.stage=*) stage=${x#*=} ;;
	exitless.script=*) script=${x#*=} ;;
	exitless.arg=*) arg=$(echo "${x#*=}" | tr , ' ') ;;	# a,b: two arguments
	esac
done

echo "EXITLESS-L2: booted $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"
if [ -f "/selftests/$stage/$script" ]; then
	# shellcheck disable=SC2086 # no argument when $arg is empty, split on spaces
	EXITLESS_GUEST_KO=/exitless_guest.ko sh "/selftests/$stage/$script" $arg
	rc=$?
else
	echo "not ok - $stage/$script missing from the L2 initramfs"
	rc=1
fi
# The end-of-boot checks (selftests/lib/kcheck.sh).  The whole kernel
# log: the console (loglevel=4, which L1 scans) shows no KERN_WARNING
# line, so no WARN() splat either.  Then, on the debug kernels of make
# debug: lockdep still validating, and nothing of exitless_guest left
# unreferenced once it is gone.
. /selftests/lib/kcheck.sh
dmesg > /tmp/dmesg.txt
kcheck_klog "$stage" /tmp/dmesg.txt || rc=1
kcheck_lockdep "$stage" || rc=1
# (a stage whose module cannot be removed by design leaves a note:
# kmemleak can only judge a module that is gone)
if [ -e /tmp/exitless-stays-loaded ]; then
	echo "# kmemleak not checked: $(cat /tmp/exitless-stays-loaded)"
else
	kcheck_kmemleak "$stage" exitless_guest /tmp/kmemleak.txt || rc=1
fi
echo "EXITLESS-L2: done rc=$rc"
poweroff -f
