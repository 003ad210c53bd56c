#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pvipi benchmark with the kernel's own IPI calls, L2 side (busybox sh,
# 4+ vCPUs, all idle but CPU 0): exitless_ipibench.ko (ipibench/ipibench.c)
# on CPU 0 calls smp_call_function_many() to every other CPU ("multi"),
# smp_call_function_single() to CPU 1 ("single") and sends reschedule
# IPIs to CPU 1 ("resched"), first with the kernel's own senders (x2APIC
# ICR writes, or upstream PV IPI when the L2 CPU has kvm-pv-ipi) and
# with exitless_guest loaded for pvipi alone (features=3: no dynidle, so
# no target polls; no pvtimer, so vCPU 0's timer exits are the same), in
# 3 rounds (labels ...-r<n>).  Then the latency alone, interleaved:
# exitless_guest loaded once and its "pvipi" switch flipped between
# blocks of calls (labels kab-...-p<n>), so that both senders meet the
# same drift of TCG's speed; no exit counts there.
# Each phase is bracketed by "EXITLESS-SYNC: trace-on <label>" /
# "trace-off <label>": L1 counts the exits from KVM's tracepoints per vCPU
# (selftests/qemu/l1-bench.sh).  Prints "BENCH: ipibench <label> <result>".
#
# kbench.sh <cpu label> [stress [<IPIs>]]: with "stress", then <IPIs>
# (default 1000000) IPIs through exitless across a host module reload
# (ipi_stress.sh): every IPI sent must be counted as received.
# Run by selftests/qemu/l1-bench.sh (make bench); not part of make check.
set -eu
KO=${EXITLESS_GUEST_KO:-/exitless_guest.ko}
BKO=/exitless_ipibench.ko
# shellcheck source=selftests/pvipi/ipi_stress.sh
. "$(dirname "$0")/ipi_stress.sh"
CALLS=${EXITLESS_BENCH_CALLS:-500}
AB_PAIRS=${EXITLESS_KBENCH_AB_PAIRS:-16}
AB_CALLS=${EXITLESS_KBENCH_AB_CALLS:-200}
PARAM=/sys/module/exitless_guest/parameters/pvipi
ROUNDS=${EXITLESS_KBENCH_ROUNDS:-3}
STRESS=${3:-1000000}
ncpu=$(grep -c ^processor /proc/cpuinfo)
label=${1:-run}
fail=0

# phase <label> <kind> <calls>
phase() {
	sleep 1
	echo "EXITLESS-SYNC: trace-on $1"
	sleep 1
	ipib_load "$2" "$3"
	echo "EXITLESS-SYNC: trace-off $1"
	sleep 1
	echo "BENCH: ipibench $1 $res"
}

# native_phases <round> / exitless_phases <round>: the three kinds, the
# kernel's own senders / with exitless_guest loaded for them and unloaded
# after
native_phases() {
	for k in multi single resched; do
		phase "k-$label-native-$k-r$1" $k "$CALLS"
	done
}

exitless_phases() {
	insmod "$KO" features=3
	ipis_wait 30 1 || { echo "not ok - kbench/$label pvipi not in use"; exit 1; }
	for k in multi single resched; do
		phase "k-$label-exitless-$k-r$1" $k "$CALLS"
	done
	sed 's/^/# pvipi: /' /sys/kernel/exitless/pvipi
	rmmod exitless_guest
}

echo "# kbench: $ncpu CPUs, $ROUNDS rounds of $CALLS calls per phase"
[ "$ncpu" -ge 2 ] || { echo "not ok - kbench/$label needs 2+ CPUs"; exit 1; }
insmod $BKO
# TCG's times drift over a boot: rounds, alternating which sender goes
# first; the report takes the median of the rounds
rnd=1
while [ $rnd -le "$ROUNDS" ]; do
	if [ $((rnd % 2)) = 1 ]; then
		native_phases $rnd
		exitless_phases $rnd
	else
		exitless_phases $rnd
		native_phases $rnd
	fi
	rnd=$((rnd + 1))
done

# ab_block <sender> <kind> <pair>: one block of the interleaved latency
# run, exitless_guest loaded; "hypercalls" (PVIPI_SEND made in the block,
# by any CPU) is 0 for native blocks
ab_block() {
	if [ "$1" = exitless ]; then ab_on=1; else ab_on=0; fi
	echo $ab_on > $PARAM
	ipis_wait 30 $ab_on || { echo "# kbench: pvipi in_use not $ab_on"; fail=1; return; }
	ab_h=$(pv hypercalls)
	ipib_load "$2" "$AB_CALLS"
	echo "BENCH: ipibench kab-$label-$1-$2-p$3 $res hypercalls=$(($(pv hypercalls) - ab_h))"
}

if [ "$AB_PAIRS" -gt 0 ]; then
	echo "# kbench: interleaved latency, $AB_PAIRS pairs of $AB_CALLS calls"
	insmod "$KO" features=3
	for k in multi single; do
		p=1
		while [ $p -le "$AB_PAIRS" ]; do
			# ABBA: each sender goes first in half the pairs
			if [ $((p % 2)) = 1 ]; then
				ab_block exitless $k $p
				ab_block native $k $p
			else
				ab_block native $k $p
				ab_block exitless $k $p
			fi
			p=$((p + 1))
		done
	done
	rmmod exitless_guest
fi

if [ "${2:-}" = stress ]; then
	insmod "$KO" features=3
	ipis_wait 30 1 || { echo "not ok - kbench/$label pvipi not in use"; exit 1; }
	if ipi_stress "$STRESS" "k-$label-stress"; then
		echo "ok - kbench/stress"
	else
		echo "not ok - kbench/stress"
		fail=1
	fi
fi
rmmod exitless_ipibench
# warnings the console's loglevel kept back (a kernel tainted W)
dmesg | grep -A14 'cut here' | head -60 | sed 's/^/# dmesg: /' || true
[ $fail = 0 ] || { echo "not ok - kbench/$label"; exit 1; }
echo "ok - kbench/$label done"
