#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pvipi benchmark, L2 side (busybox sh, 4+ vCPUs): the same membarrier()
# IPI load (ipi_load: CPU 0 sends, CPUs 1..N spin) three ways, each phase
# bracketed by "EXITLESS-SYNC: trace-on <label>" / "trace-off <label>"
# so that L1 counts the exits from KVM's tracepoints (kvm:kvm_exit,
# kvm:kvm_msr, kvm:kvm_hypercall), per vCPU:
#   native   no exitless_guest: the kernel's own senders (x2APIC ICR writes,
#            or upstream PV IPI when the L2 CPU has kvm-pv-ipi)
#   exitless exitless_guest loaded, pvipi in use
# Run by selftests/qemu/l1-bench.sh (make bench); not part of make check.
set -eu
KO=${EXITLESS_GUEST_KO:-/exitless_guest.ko}
LOAD=/selftests/pvipi/ipi_load
CALLS=${EXITLESS_BENCH_CALLS:-500}
cpus=$(grep -c ^processor /proc/cpuinfo)
spinners=$((cpus - 1))
label=${1:-run}

# cal: function-call interrupts (CAL in /proc/interrupts) taken by every
# CPU but CPU 0, the sender: what the targets received
cal() {
	awk '$1 == "CAL:" { s = 0
		for (i = 3; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i
		print s }' /proc/interrupts
}

phase() {	# phase <label> <spinners> <calls>
	sleep 1
	c0=$(cal)
	echo "EXITLESS-SYNC: trace-on $1"
	sleep 2
	out=$("$LOAD" "$2" "$3")
	echo "EXITLESS-SYNC: trace-off $1"
	sleep 2
	# ipis: CAL interrupts the targets took over the phase (those woken
	# through memory while polling in idle take none)
	echo "BENCH: $1 $out ipis=$(($(cal) - c0))"
}

echo "# bench: $cpus CPUs, $CALLS calls"
phase "$label-native-multi" "$spinners" "$CALLS"
phase "$label-native-single" 1 "$CALLS"
insmod "$KO"
t=0
while ! grep -q '^in_use 1' /sys/kernel/exitless/pvipi 2>/dev/null; do
	sleep 1
	t=$((t + 1))
	[ $t -lt 30 ] || { echo "not ok - bench/pvipi not in use"; exit 1; }
done
phase "$label-exitless-multi" "$spinners" "$CALLS"
phase "$label-exitless-single" 1 "$CALLS"
sed 's/^/# pvipi: /' /sys/kernel/exitless/pvipi
echo "ok - bench/$label done"
