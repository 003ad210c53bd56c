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
# lockdep (the debug kernel of make debug): still validating at the end
if [ -r /proc/lockdep_stats ]; then
	dl=$(awk '/debug_locks:/ { print $2 }' /proc/lockdep_stats)
	if [ "$dl" = 1 ]; then
		echo "ok - $stage/lockdep validating to the end (debug_locks 1)"
	else
		echo "not ok - $stage/lockdep turned itself off during the run (debug_locks $dl)"
		rc=1
	fi
fi
# kmemleak (the debug kernel of make debug): what exitless_guest
# allocated and lost, once it is gone (see l1-main.sh's check)
if [ -w /sys/kernel/debug/kmemleak ]; then
	grep -q '^exitless_guest ' /proc/modules && rmmod exitless_guest
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > /tmp/kmemleak.txt
	total=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
	ours=$(awk '/^unreferenced object/ { o = 0 } /^ *\[<.*(exitless|\] 0xffffffffc)/ { if (!o) n++; o = 1 } END { print n + 0 }' /tmp/kmemleak.txt)
	if [ "$ours" = 0 ]; then
		echo "ok - $stage/kmemleak: nothing of exitless_guest unreferenced ($total other reports)"
	else
		sed 's/^/# /' /tmp/kmemleak.txt | head -60
		echo "not ok - $stage/kmemleak: $ours unreferenced objects from exitless_guest"
		rc=1
	fi
fi
echo "EXITLESS-L2: done rc=$rc"
poweroff -f
