#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pvipi benchmark with the kernel's own IPI calls, L2 side (busybox sh,
# 4+ vCPUs, all idle but CPU 0): exitless_ipibench.ko (ipibench/ipibench.c)
# on CPU 0 calls smp_call_function_many() to every other CPU ("multi"),
# smp_call_function_single() to CPU 1 ("single") and sends reschedule
# IPIs to CPU 1 ("resched"), first with the kernel's own senders (x2APIC
# ICR writes, or upstream PV IPI when the L2 CPU has kvm-pv-ipi), then
# with exitless_guest loaded for pvipi alone (features=3: no dynidle, so
# no target polls; no pvtimer, so vCPU 0's timer exits are the same).
# Each phase is bracketed by "EXITLESS-SYNC: trace-on <label>" /
# "trace-off <label>": L1 counts the exits from KVM's tracepoints per vCPU
# (selftests/qemu/l1-bench.sh).  Prints "BENCH: ipibench <label> <result>".
#
# kbench.sh <cpu label> [stress [<IPIs>]]: with "stress", then <IPIs>
# (default 1000000) IPIs through exitless as "multi" calls, the host
# module removed ("EXITLESS-SYNC: rmmod-host") a third of the way through
# and loaded again ("insmod-host") at two thirds: every IPI sent must be
# counted as received by its target.
# Run by selftests/qemu/l1-bench.sh (make bench); not part of make check.
set -eu
KO=${EXITLESS_GUEST_KO:-/exitless_guest.ko}
BKO=/exitless_ipibench.ko
D=/sys/kernel/debug/exitless_ipibench
CALLS=${EXITLESS_BENCH_CALLS:-500}
STRESS=${3:-1000000}
cpus=$(grep -c ^processor /proc/cpuinfo)
label=${1:-run}
fail=0

pv() {
	awk -v k="$1" '$1 == k { print $2 }' /sys/kernel/exitless/pvipi 2>/dev/null || echo 0
}

# wait_for <seconds> <command...>: until the command succeeds
wait_for() {
	n=$1
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 1
	done
}

pvipi_in_use() { [ "$(pv in_use)" = 1 ]; }
pvipi_off() { [ "$(pv in_use)" = 0 ]; }

# phase <label> <kind> <calls>
phase() {
	sleep 1
	echo "EXITLESS-SYNC: trace-on $1"
	sleep 1
	if echo "$2 $3" > $D/run; then
		r=$(cat $D/result)
	else
		r="failed"
		fail=1
	fi
	echo "EXITLESS-SYNC: trace-off $1"
	sleep 1
	echo "BENCH: ipibench $1 $r"
}

echo "# kbench: $cpus CPUs, $CALLS calls per phase"
[ "$cpus" -ge 2 ] || { echo "not ok - kbench/$label needs 2+ CPUs"; exit 1; }
insmod $BKO
for k in multi single resched; do
	phase "k-$label-native-$k" $k "$CALLS"
done
insmod "$KO" features=3
wait_for 30 pvipi_in_use || { echo "not ok - kbench/$label pvipi not in use"; exit 1; }
for k in multi single resched; do
	phase "k-$label-exitless-$k" $k "$CALLS"
done
sed 's/^/# pvipi: /' /sys/kernel/exitless/pvipi

if [ "${2:-}" = stress ]; then
	# calls, not IPIs: each "multi" call is one IPI to each other CPU
	calls=$(((STRESS + cpus - 2) / (cpus - 1)))
	f0=$(pv fallbacks)
	h0=$(pv hypercalls)
	echo "# stress: $STRESS IPIs, $calls calls to $((cpus - 1)) CPUs"
	echo "stress $STRESS" > $D/run &
	spid=$!
	step=0
	while kill -0 $spid 2>/dev/null; do
		sleep 2
		done_calls=$(cat $D/progress)
		echo "# stress: $done_calls calls, pvipi in_use $(pv in_use) hypercalls $(pv hypercalls) fallbacks $(pv fallbacks)"
		if [ $step = 0 ] && [ "$done_calls" -ge $((calls / 3)) ]; then
			echo "EXITLESS-SYNC: rmmod-host"
			wait_for 60 pvipi_off || { echo "# stress: pvipi still in use"; fail=1; }
			step=1
		elif [ $step = 1 ] && [ "$done_calls" -ge $((2 * calls / 3)) ]; then
			echo "EXITLESS-SYNC: insmod-host"
			wait_for 60 pvipi_in_use || { echo "# stress: pvipi not back"; fail=1; }
			step=2
		fi
	done
	wait $spid || fail=1
	r=$(cat $D/result)
	echo "BENCH: ipibench k-$label-stress $r hypercalls=$(($(pv hypercalls) - h0)) fallbacks=$(($(pv fallbacks) - f0)) steps=$step"
	ipis=$(echo "$r" | sed -n 's/.* ipis=\([0-9]*\).*/\1/p')
	got=$(echo "$r" | sed -n 's/.* received=\([0-9]*\).*/\1/p')
	if [ $step = 2 ] && [ -n "$ipis" ] && [ "$ipis" -ge "$STRESS" ] && [ "$got" = "$ipis" ]; then
		echo "ok - kbench/stress $ipis IPIs sent, $got received, host module removed and loaded again"
	else
		echo "not ok - kbench/stress ipis=$ipis received=$got steps=$step"
		fail=1
	fi
fi
rmmod exitless_ipibench
[ $fail = 0 ] || { echo "not ok - kbench/$label"; exit 1; }
echo "ok - kbench/$label done"
