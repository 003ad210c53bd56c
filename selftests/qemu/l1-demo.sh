#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demonstration's L1 side: real KVM in L1 with exitless_host.ko, a
# 3-vCPU Linux L2 guest running one IPI workload (selftests/demo/run.sh)
# three ways, VM exits counted here from KVM's tracepoints:
#   x2APIC      stock guest, QEMU's kvm-pv-ipi off: an ICR write per target
#   KVM PV IPI  stock guest, QEMU's default: upstream KVM_HC_SEND_IPI
#   exitless    the same guest with exitless_guest.ko (pvipi)
# Prints a side-by-side table, the host's counters, perf's counts of the
# exitless:* tracepoints and perf kvm stat's exits by reason.
set -u
rel=${1:?kernel release}
top=${EXITLESS_TOP:?}
out=/tmp/out
ko=$top/.build/$rel/exitless_host.ko
counts=$out/demo-counts.txt
. "$top/selftests/qemu/lib.sh"
cd /tmp || exit 1
: > "$counts"
save_kallsyms "$out/kallsyms"

say() { echo "DEMO: $*"; }
tap() { echo "$*" >> $out/results.tap; }

say "L1 host: $(uname -r), real KVM (kvm_amd) under QEMU TCG"
modprobe kvm_amd || { tap "not ok - demo/kvm_amd"; exit 1; }
if ! insmod "$ko"; then
	tap "not ok - demo/insmod exitless_host"
	exit 1
fi
say "$(dmesg | grep 'exitless_host: ABI' | tail -1 | sed 's/^\[[^]]*\] //')"

# perf kvm stat record, system-wide, for each phase of an L2 boot (lib.sh's
# prec_*: enabled between the phase's trace-on and trace-off, the window
# that ktrace counts); its data in /tmp/kvm-<phase>.data, its messages in
# $out/perf-kvm-<phase>.log.
kvm_rec_start() {	# kvm_rec_start <phase>...
	local l
	for l; do
		rm -f "/tmp/kvm-$l.data"
		prec_start "kvm-$l" perf kvm -o "/tmp/kvm-$l.data" stat record -a
	done
}

# l2 <name> <-cpu model> <run.sh arguments>: one L2 boot; its console is
# relayed ("DEMO:" lines), trace-on/off requests served, results kept.
# A boot whose console falls silent for 150 s is reported and booted once
# more (see run_l2 in l1-main.sh).
l2() {
	l2_once "$@" && return 0
	say "the L2 guest went silent (report above): booting it once more"
	l2_once "$@" && return 0
	tap "not ok - demo/l2 $1 silent twice"
}

l2_once() {
	local name=$1 cpu=$2 args=$3 l2log=$out/l2-demo-$1.log qpid wpid line
	local mine=$out/demo-counts-$1.txt phases
	: > "$l2log"
	: > "$mine"
	rm -f "$l2log.hung" "/tmp/l2-$name.mon"
	# the phases selftests/demo/run.sh will run, as it names them
	phases="${args%%,*}-multi ${args%%,*}-single"
	case ",$args," in
	*,stock-only,*) ;;
	*) phases="$phases exitless-multi exitless-single" ;;
	esac
	# shellcheck disable=SC2086 # one label a word
	kvm_rec_start $phases
	say "booting a 3-vCPU L2 guest (-cpu $cpu), about a minute..."
	perf stat -a -x, -o "$out/perf-$name.csv" -e 'exitless:*' -e kvm:kvm_hypercall -- \
		timeout 900 qemu-system-x86_64 -enable-kvm -cpu "$cpu" -smp 3 -m 512M \
		-kernel "/boot/vmlinuz-$rel" -initrd "$out/l2.cpio.gz" \
		-append "console=ttyS0 loglevel=4 panic=-1 nokaslr exitless.stage=demo exitless.arg=$args" \
		-nodefaults -display none -serial "file:$l2log" \
		-monitor "unix:/tmp/l2-$name.mon,server,nowait" \
		-no-reboot </dev/null &
	qpid=$!
	quiet_watchdog $qpid "$l2log" 150 "/tmp/l2-$name.mon" /proc/kallsyms 3 |
		sed 's/^/DEMO: /' &
	wpid=$!
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		"EXITLESS-SYNC: trace-on "*)
			ktrace_on
			prec_ctl "kvm-${line#EXITLESS-SYNC: trace-on }" enable ;;
		"EXITLESS-SYNC: trace-off "*)
			prec_ctl "kvm-${line#EXITLESS-SYNC: trace-off }" disable
			echo "${line#EXITLESS-SYNC: trace-off } $(ktrace_off)" >> "$mine" ;;
		"DEMO-RESULT: "*) echo "${line#DEMO-RESULT: }" >> "$mine" ;;
		"DEMO-FEATURES: "*) echo "features ${line#DEMO-FEATURES: }" >> "$mine" ;;
		"DEMO: "*) echo "$line" ;;
		"ok "* | "not ok "*) echo "$line" >> "$mine.tap" ;;
		esac
	done < <(tail -n +1 -F --pid=$qpid "$l2log" 2>/dev/null)
	wait $qpid
	prec_stop
	kill $wpid 2>/dev/null
	wait $wpid
	if [ -e "$l2log.hung" ]; then
		rm -f "$mine.tap"
		return 1
	fi
	cat "$mine" >> "$counts"
	[ ! -e "$mine.tap" ] || cat "$mine.tap" >> $out/results.tap
	if grep -aq '^EXITLESS-L2: done rc=0' "$l2log"; then
		tap "ok - demo/l2 $name completed"
	else
		tap "not ok - demo/l2 $name completed"
		tr -d '\r' < "$l2log" | tail -n 20 | sed 's/^/DEMO:   L2| /'
	fi
	scan_klog "$l2log" "demo/l2 $name kernel log clean" >> $out/results.tap
}

l2 x2apic host,kvm-pv-ipi=off x2apic,stock-only
l2 pvipi host kvmpvipi

# The table: one column per way, one block per destination set.
say ""
say "VM exits counted by L1 from KVM's tracepoints (kvm:kvm_exit, kvm:kvm_msr,"
say "kvm:kvm_hypercall) during each run; vCPU 0 sends:"
# the features the exitless guest negotiated, by name (include/uapi/exitless.h)
feat=$(awk '$1 == "features" { f = $2 } END { print f }' "$counts")
names=
i=0
for n in area pvipi pvtimer dynidle; do
	case "$feat" in
	0x*) [ $((feat & (1 << i))) = 0 ] || names=${names:+$names+}$n ;;
	esac
	i=$((i + 1))
done
awk -v names="${names:-none}" '
	function get(l, key,  v) { v = val[l, key]; return v == "" ? 0 : v }
	# "<label> ipi_load: <calls> calls to <n> CPUs in <s> s, <ns> ns/call"
	$2 == "ipi_load:" { calls[$1] = $3; secs[$1] = $(NF - 3); ns[$1] = $(NF - 1); next }
	$1 == "features" { feat = $2; next }
	# "<label> key=value..."
	{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); val[$1, kv[1]] = kv[2]; if (kv[1] ~ /^r_/) reasons[kv[1]] = 1 }
		# vCPU 0 hypercalls by kind: IPI sends (0xa KVM_HC_SEND_IPI,
		# 0x45584c10 exitless PVIPI_SEND), 0xb KVM_HC_SCHED_YIELD (Linux
		# yields to a preempted target after a call-function IPI), other
		l = $1
		val[l, "ipi_hc"] = get(l, "hc_v0_nr_0xa") + get(l, "hc_v0_nr_0x45584c10")
		val[l, "yield_hc"] = get(l, "hc_v0_nr_0xb")
		val[l, "other_hc"] = get(l, "hc_v0") - get(l, "ipi_hc") - get(l, "yield_hc")
		val[l, "ipi_exits"] = get(l, "icr_v0") + get(l, "ipi_hc") + get(l, "yield_hc")
	}
	# row <title> <key> <per: call|s|raw|ns|calls> <printf format>
	function row(title, key, per, fmt,  i, l, c, v) {
		printf "DEMO: %-30s", title
		for (i = 1; i <= 3; i++) {
			l = col[i] "-" set
			c = calls[l]
			if (per == "ns") v = ns[l] / 1000
			else if (per == "calls") v = c
			else if (per == "call") v = c ? get(l, key) / c : 0
			else if (per == "s") v = secs[l] > 0 ? get(l, key) / secs[l] : 0
			else v = get(l, key)
			printf fmt, v
		}
		printf "\n"
	}
	END {
		col[1] = "x2apic"; col[2] = "kvmpvipi"; col[3] = "exitless"
		split("multi single", sets, " ")
		for (s = 1; s <= 2; s++) {
			set = sets[s]
			printf "DEMO:\nDEMO: %s\n", set == "multi" ? "membarrier() IPI to 2 vCPUs (call-function IPI)" : "membarrier() IPI to 1 vCPU (call-function-single IPI)"
			printf "DEMO: %-30s%14s%14s%14s\n", "", "x2APIC", "KVM PV IPI", "exitless"
			row("calls", "", "calls", "%14d")
			row("sender (vCPU 0) exits/call", "exits_v0", "call", "%14.2f")
			row("  IPI exits/call", "ipi_exits", "call", "%14.2f")
			row("    ICR MSR writes/call", "icr_v0", "call", "%14.2f")
			row("    IPI hypercalls/call", "ipi_hc", "call", "%14.2f")
			row("    sched-yield hcalls/call", "yield_hc", "call", "%14.2f")
			row("  other hypercalls/call", "other_hc", "call", "%14.2f")
			row("all vCPUs: exits/call", "exits", "call", "%14.2f")
			row("all vCPUs: exits/s", "exits", "s", "%14.0f")
			for (r in reasons)
				row("  " substr(r, 3) " exits/s", r, "s", "%14.0f")
			row("latency/call (us, TCG)", "", "ns", "%14.1f")
			row("trace events lost", "lost", "raw", "%14d")
		}
		printf "DEMO:\nDEMO: %-30s%14s%14s%14s\n", "exitless features negotiated", "none", "none", feat
		printf "DEMO:   (%s: %s; the stock guests load no exitless_guest.ko)\n", feat, names
	}' "$counts" | tee "$out/demo-table.txt"

say ""
say "IPI exits: the sender's exits that send the IPI (an x2APIC ICR write,"
say "KVM_HC_SEND_IPI or exitless PVIPI_SEND) and the KVM_HC_SCHED_YIELD"
say "hypercalls Linux makes to a preempted target after a call-function IPI"
say "(not with pvipi).  The other exits (timers, interrupts, idle) are the"
say "guest's under TCG and vary from run to run, and so does the latency."
say ""
say "host counters (/sys/kernel/debug/exitless/stats):"
sed 's/^/DEMO:   /' /sys/kernel/debug/exitless/stats
say "perf stat -a -e 'exitless:*' -e kvm:kvm_hypercall over the exitless guest's life:"
grep -v '^#' "$out/perf-pvipi.csv" | grep -v '^$' |
	awk -F, '{ printf "DEMO:   %-32s %s\n", $3, $1 }'
for f in /tmp/kvm-*.data; do
	[ -e "$f" ] || continue
	l=${f#/tmp/kvm-}
	perf kvm -i "$f" stat report --event=vmexit > "$out/perf-kvm-${l%.data}.txt" 2>&1
done
for l in x2apic-multi exitless-multi; do
	say "perf kvm stat record -a, then perf kvm stat report --event=vmexit, over"
	say "the $l phase (all vCPUs; times are TCG's):"
	if grep -q '^Total Samples:[1-9]' "$out/perf-kvm-$l.txt" 2>/dev/null; then
		grep -v '^ *$' "$out/perf-kvm-$l.txt" | sed 's/^/DEMO:   /'
		tap "ok - demo/perf kvm stat report $l"
	else
		say "  (no perf kvm stat report: see perf-kvm-$l.log and .txt)"
		tap "not ok - demo/perf kvm stat report $l"
	fi
done
rmmod exitless_host && say "rmmod exitless_host: done"
dmesg > $out/l1-dmesg.txt
scan_klog $out/l1-dmesg.txt "demo/l1 kernel log clean" >> $out/results.tap
