#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demonstration's guest side (busybox sh, in L2, 3 vCPUs): one IPI
# workload, run stock and then with exitless_guest.ko, each run bracketed
# by "EXITLESS-SYNC: trace-on <label>" / "trace-off <label>" so that L1
# counts the VM exits from KVM's tracepoints (selftests/qemu/l1-demo.sh).
#
# The workload (ipi_load): vCPU 0 calls membarrier(PRIVATE_EXPEDITED) in a
# loop while the other vCPUs spin in the same process, so every call makes
# the guest kernel send an IPI to them and wait for each (a lost IPI would
# hang it).  Two targets: the call-function IPI to a set; one target: the
# call-function-single IPI.
#
# usage: run.sh <label> [stock-only]
#	label: names the phases (<label>-multi, <label>-single), then, unless
#	stock-only, the module is loaded and the phases run again as
#	exitless-multi, exitless-single.
set -eu
label=${1:-stock}
only=${2:-}
ko=${EXITLESS_GUEST_KO:-/exitless_guest.ko}
load=/selftests/pvipi/ipi_load
sys=/sys/kernel/exitless
calls=${EXITLESS_DEMO_CALLS:-300}
cpus=$(grep -c ^processor /proc/cpuinfo)

phase() {	# phase <label> <targets>
	echo "DEMO: $1: $calls membarrier() calls from vCPU 0 to $2 vCPU(s)"
	sleep 1
	echo "EXITLESS-SYNC: trace-on $1"
	sleep 1
	out=$("$load" "$2" "$calls")
	echo "EXITLESS-SYNC: trace-off $1"
	sleep 1
	# "ipi_load: <calls> calls to <n> CPUs in <s> s, <ns> ns/call"
	echo "DEMO-RESULT: $1 $out"
}

echo "DEMO: guest $(uname -r), $cpus vCPUs"
dmesg | grep -E 'kvm-guest: (setup PV IPIs|PV spinlocks)' | sed 's/^\[[^]]*\] /DEMO:   boot log: /' || true
phase "$label-multi" $((cpus - 1))
phase "$label-single" 1
[ "$only" != stock-only ] || exit 0

echo "DEMO: insmod exitless_guest.ko"
insmod "$ko"
i=0
while ! grep -q '^in_use 1' $sys/pvipi 2>/dev/null && [ $i -lt 150 ]; do
	sleep 0.2
	i=$((i + 1))
done
echo "DEMO: guest sysfs ($sys):"
for f in state host_abi_version features_offered features_enabled registered_cpus; do
	printf 'DEMO:   %-18s %s\n' "$f" "$(cat $sys/$f 2>/dev/null || echo '?')"
done
echo "DEMO-FEATURES: $(cat $sys/features_enabled 2>/dev/null || echo '?')"
if ! grep -q '^in_use 1' $sys/pvipi 2>/dev/null; then
	echo "not ok - demo/pvipi in use"
	exit 1
fi
echo "ok - demo/pvipi in use"
phase exitless-multi $((cpus - 1))
phase exitless-single 1
sed 's/^/DEMO:   pvipi: /' $sys/pvipi
echo "DEMO: rmmod exitless_guest (gives the IPI path back, unregisters every vCPU)"
rmmod exitless_guest
if [ -e $sys ]; then
	echo "not ok - demo/guest unloaded # $sys still there"
	exit 1
fi
echo "ok - demo/guest unloaded"
