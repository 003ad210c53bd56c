#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the L1 initramfs: mount the build machine's root (9p, read-only)
# and the results share, then run the L1 stage in a chroot of that root,
# which gives L1 the full Debian userland (QEMU, perf, kmod) of the build
# machine with no root filesystem to build.
/bin/busybox mkdir -p /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# bash process substitution needs /dev/fd, which devtmpfs lacks
ln -sf /proc/self/fd /dev/fd

for x in $(cat /proc/cmdline); do
	case "$x" in
	exitless.top=*) TOP=${x#*=} ;;
	exitless.rel=*) REL=${x#*=} ;;
	exitless.main=*) MAIN=${x#*=} ;;
	exitless.stages=*) STAGES=${x#*=} ;;
	exitless.cache=*) CACHE=${x#*=} ;;
	exitless.qemu_path=*) QEMU_PATH=${x#*=} ;;
	esac
done
MAIN=${MAIN:-selftests/qemu/l1-main.sh}

for m in $(cat /modules/order); do
	insmod "/modules/$m" || echo "# L1 init: insmod $m failed"
done
opts=trans=virtio,version=9p2000.L,msize=262144,cache=loose
mount -t 9p -o "$opts,ro" hostroot /host || { echo "# L1 init: no 9p root"; poweroff -f; }
mount -t tmpfs -o size=1G tmpfs /host/tmp
mount -t tmpfs tmpfs /host/run
mkdir -p /host/tmp/out
mount -t 9p -o "$opts" out /host/tmp/out || echo "# L1 init: no results share"
# the repository, at its own path (it may live under /tmp, hidden above)
mkdir -p "/host/tmp/.repo"
mount -t 9p -o "$opts,ro" repo /host/tmp/.repo || echo "# L1 init: no repo share"
[ -d "/host$TOP" ] || mkdir -p "/host$TOP" 2>/dev/null
mount --bind /host/tmp/.repo "/host$TOP" || echo "# L1 init: cannot bind the repo at $TOP"
mount --bind /dev /host/dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm
mount --bind /proc /host/proc
mount --bind /sys /host/sys
mount -t debugfs debugfs /host/sys/kernel/debug
mount -t tracefs tracefs /host/sys/kernel/tracing 2>/dev/null

echo "EXITLESS-L1: booted $(uname -r)"
# (run.sh's EXITLESS_QEMU_PATH: its QEMU first in L1 too)
path="${QEMU_PATH:+$QEMU_PATH:}/usr/sbin:/usr/bin:/sbin:/bin"
echo "# L1 init: L2s run $(chroot /host /usr/bin/env -i PATH="$path" qemu-system-x86_64 --version | head -n 1)"
chroot /host /usr/bin/env -i PATH="$path" HOME=/tmp \
	TERM=dumb LANG=C EXITLESS_TOP="$TOP" EXITLESS_IN_L1=1 \
	EXITLESS_STAGES="${STAGES:-host,guest}" \
	EXITLESS_CACHE="${CACHE:-/var/cache/exitless}" \
	/bin/bash "$TOP/$MAIN" "$REL"
rc=$?
echo "EXITLESS-L1: done rc=$rc"
sync
poweroff -f
