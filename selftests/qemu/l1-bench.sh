#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench, L1 side: the pvipi numbers of Documentation/pvipi.rst.
#  1. exitless_pvipi_test on 256 vCPUs with 64 sends per burst (sender
#     exits per send, PVIPI_SEND vs KVM_HC_SEND_IPI, from KVM's stats);
#  2. an L2 Linux guest (3 vCPUs) running selftests/pvipi/bench.sh twice:
#     with upstream PV IPI (QEMU's default kvm-pv-ipi) and without
#     (-cpu host,kvm-pv-ipi=off: plain x2APIC), each phase counted here
#     from KVM's tracepoints, per vCPU (vCPU 0 sends).
# Results: BENCH lines on the console and in /tmp/out/bench.txt.
set -u
rel=${1:?kernel release}
top=${EXITLESS_TOP:?}
out=/tmp/out
ko=$top/.build/$rel/exitless_host.ko
. "$top/selftests/qemu/lib.sh"
T=/sys/kernel/tracing
bench=$out/bench.txt
: > "$bench"
cd /tmp || exit 1

say() { echo "BENCH: $*" | tee -a "$bench"; }

modprobe kvm_amd
insmod "$ko" || say "insmod exitless_host failed"
say "L1 $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"

# 1. raw guest, 256 vCPUs
if [ -x "$top/.build/selftests/host/exitless_pvipi_test" ]; then
	"$top/.build/selftests/host/exitless_pvipi_test" -n 256 -r 64 2>&1 |
		grep -E '^# \||^not ok|Totals' | sed 's/^/BENCH: raw256 /' | tee -a "$bench"
fi

# 2. L2 Linux guest
trace_on() {
	echo 0 > $T/tracing_on
	echo > $T/trace
	echo 16384 > $T/buffer_size_kb
	for e in kvm_exit kvm_msr kvm_hypercall; do
		echo 1 > "$T/events/kvm/$e/enable"
	done
	echo 1 > $T/tracing_on
}

# per-vCPU exit counts of the phase, by reason
trace_off() {
	local label=$1
	echo 0 > $T/tracing_on
	awk -v l="$label" '
		/ kvm_exit: / { if (match($0, /vcpu [0-9]+/)) v = substr($0, RSTART + 5, RLENGTH - 5); else v = "?";
				r = $0; sub(/.*reason /, "", r); sub(/ .*/, "", r);
				ex[v]++; rs[v " " r]++ }
		/ kvm_msr: msr_write 830 / { icr++ }
		/ kvm_hypercall: / { hc++ }
		END {
			printf "%s: exits vCPU0 %d, other vCPUs", l, ex["0"];
			for (v in ex) if (v != "0") printf " %s:%d", v, ex[v];
			printf "; ICR writes %d, hypercalls %d; vCPU0 by reason:", icr, hc;
			for (k in rs) if (k ~ /^0 /) { r = k; sub(/^0 /, "", r); printf " %s=%d", r, rs[k] }
			printf "\n"
		}' $T/trace | sed 's/^/BENCH: /' | tee -a "$bench"
	for e in kvm_exit kvm_msr kvm_hypercall; do
		echo 0 > "$T/events/kvm/$e/enable"
	done
}

run_bench_l2() {
	local name=$1 cpu=$2 l2log=$out/l2-$1.log qpid line act
	: > "$l2log"
	log "booting L2 ($name, -cpu $cpu)"
	timeout 1500 qemu-system-x86_64 -enable-kvm -cpu "$cpu" -smp 3 -m 768M \
		-kernel "/boot/vmlinuz-$rel" -initrd "$out/l2.cpio.gz" \
		-append "console=ttyS0 loglevel=4 panic=-1 exitless.stage=pvipi exitless.script=bench.sh exitless.arg=$name" \
		-nodefaults -display none -serial "file:$l2log" -monitor none \
		-no-reboot </dev/null &
	qpid=$!
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '#   L2| %s\n' "$line"
		case "$line" in
		"EXITLESS-SYNC: trace-on "*) trace_on ;;
		"EXITLESS-SYNC: trace-off "*) act=${line#EXITLESS-SYNC: trace-off }; trace_off "$act" ;;
		"BENCH: "*) echo "$line" >> "$bench" ;;
		esac
	done < <(tail -n +1 -F --pid=$qpid "$l2log" 2>/dev/null)
	wait $qpid
}

run_bench_l2 kvmpvipi host
run_bench_l2 x2apic host,kvm-pv-ipi=off
say "done"
