#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Where L1's time goes per IPI send, L2 side (busybox sh, 4 vCPUs, all
# idle but CPU 0): exitless_ipibench.ko's "resched" (reschedule IPIs to
# CPU 1) and "multi" (smp_call_function_many() to every other CPU) loads,
# first with the kernel's own senders, then with exitless_guest loaded for
# pvipi alone (features=3).  Each load is bracketed by "EXITLESS-SYNC:
# prof-on <label>" / "prof-off <label>", between which L1 keeps a perf
# record of its own CPU time (selftests/qemu/l1-bench.sh, make bench's
# pvipi part "prof").  Prints "BENCH: ipibench prof-<label> <result>".
set -eu
KO=${EXITLESS_GUEST_KO:-/exitless_guest.ko}
# shellcheck source=selftests/pvipi/ipi_stress.sh
. "$(dirname "$0")/ipi_stress.sh"
RESCHED=${EXITLESS_PROF_RESCHED:-40000}
MULTI=${EXITLESS_PROF_MULTI:-8000}
fail=0

# prof <label> <kind> <calls>
prof() {
	echo "EXITLESS-SYNC: prof-on $1"
	# L1 enables its perf when it reads the line above
	sleep 2
	ipib_load "$2" "$3"
	if [ "$res" = failed ]; then
		echo "not ok - prof/$1 load failed"
	else
		echo "BENCH: ipibench prof-$1 $res"
	fi
	echo "EXITLESS-SYNC: prof-off $1"
	sleep 2
}

[ "$(grep -c ^processor /proc/cpuinfo)" -ge 2 ] ||
	{ echo "not ok - prof needs 2+ CPUs"; exit 1; }
insmod /exitless_ipibench.ko
prof native-resched resched "$RESCHED"
prof native-multi multi "$MULTI"
insmod "$KO" features=3
ipis_wait 30 1 || { echo "not ok - prof: pvipi not in use"; exit 1; }
prof exitless-resched resched "$RESCHED"
prof exitless-multi multi "$MULTI"
sed 's/^/# pvipi: /' /sys/kernel/exitless/pvipi
rmmod exitless_guest
rmmod exitless_ipibench
[ $fail = 0 ] || { echo "not ok - prof"; exit 1; }
echo "ok - prof done"
