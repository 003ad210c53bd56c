#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench, L1 side.  With EXITLESS_STAGES "pvipi" (run.sh's "bench"
# boot: 1 L1 CPU), the pvipi numbers of Documentation/pvipi.rst:
#  1. exitless_pvipi_test on 256 vCPUs with 64 sends per burst (sender
#     exits per send, PVIPI_SEND vs KVM_HC_SEND_IPI, from KVM's stats,
#     and the host's time per send, both ways in 16 interleaved pairs of
#     bursts);
#  2. an L2 Linux guest (3 vCPUs) running selftests/pvipi/bench.sh twice:
#     with upstream PV IPI (QEMU's default kvm-pv-ipi) and without
#     (-cpu host,kvm-pv-ipi=off: plain x2APIC), each phase counted here
#     from KVM's tracepoints, per vCPU (vCPU 0 sends);
#  3. a 4-vCPU L2 running selftests/pvipi/kbench.sh the same two ways:
#     the kernel's own IPI calls (exitless_ipibench.ko), then, with
#     upstream PV IPI, the stress run across a host module reload;
#  4. ("prof", only when asked for) a 4-vCPU x2APIC L2 running
#     selftests/pvipi/prof.sh: a perf record of L1's CPU time (cpu-clock,
#     system-wide) over each of its loads, printed as the top symbols.
# exitless.pvipi_parts=raw,l2,kernel,prof picks among 1-4 (default: 1-3).
# With "dynidle" (its own boot: 2 L1 CPUs, one per L2 vCPU), the dynidle
# comparison of Documentation/dynidle.rst: selftests/dynidle/bench.sh in
# three L2 boots (stock, hostpoll + dynidle, haltpoll), KVM's halt and
# exit counters and L1's CPU time taken here around each load; then
# latency rounds 2..N (exitless.bench_rounds=N on L1's command line,
# default 3): haltpoll and dynidle booted again, in alternating order,
# each for the pipe, TCP and idle loads only; then, when asked for, one
# "abab" boot (exitless.bench_abab=N passes, default 10; 0: none): the
# kernel's own haltpoll driver as a module (exitless_haltpoll.ko) and
# dynidle loaded in turn in one L2, for the pipe and TCP round trips
# (exitless.abab_mode=reload, the default, or switch: bench.sh).
# exitless.dynidle_parts=main,rounds,abab picks among the three (default
# main,rounds: on 6.1 the abab L2, or L1 with it, died in each of 4
# tries under multi-threaded TCG, and an L1 that dies takes the whole
# dynidle bench with it); without "main", the abab boot measures its
# own window cap.
# Results: BENCH lines on the console and in /tmp/out/bench.txt.
set -u
rel=${1:?kernel release}
top=${EXITLESS_TOP:?}
out=/tmp/out
ko=$top/.build/$rel/exitless_host.ko
. "$top/selftests/qemu/lib.sh"
bench=$out/bench.txt
: > "$bench"
save_kallsyms "$out/kallsyms"
cd /tmp || exit 1

say() { echo "BENCH: $*" | tee -a "$bench"; }

# (one_cpu: text patched with one L1 CPU online; the dynidle boot runs
# on two TCG threads, the pvipi boot has one CPU anyway)
one_cpu modprobe kvm_amd
one_cpu insmod "$ko" || say "insmod exitless_host failed"
say "L1 $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ), clocksource $(clocksource)"

stages=",${EXITLESS_STAGES:-pvipi},"

# karg <name> <sed character class> <default>: exitless.<name>=... from
# L1's command line (run.sh's EXITLESS_* settings), or the default
karg() {
	local v
	v=$(sed -n "s/.*exitless\.$1=\($2*\).*/\1/p" /proc/cmdline)
	echo "${v:-$3}"
}

# listed <,list,> <item>: whether the item is in the comma list
listed() { [ "${1#*,"$2",}" != "$1" ]; }

# 1. raw guest, 256 vCPUs
# which pvipi parts (exitless.pvipi_parts=raw,l2,kernel on the command
# line, run.sh's EXITLESS_PVIPI_PARTS; default all three)
parts=",$(karg pvipi_parts '[a-z0-9,]' raw,l2,kernel),"
part() { listed "$stages" pvipi && listed "$parts" "$1"; }

if part raw && [ -x "$top/.build/selftests/host/exitless_pvipi_test" ]; then
	"$top/.build/selftests/host/exitless_pvipi_test" -n 256 -r 64 -p 16 2>&1 |
		grep -E '^# \||^# timing|^not ok|Totals' |
		sed 's/^/BENCH: raw256 /' | tee -a "$bench"
fi

# 2. L2 Linux guest: exits counted from KVM's tracepoints per phase
# (lib.sh's ktrace_on/ktrace_off: per vCPU 0 and in all, hypercalls of
# vCPU 0 by number)

# --- dynidle: counters around each load --------------------------------
# kvm_stats: KVM's halt and exit counters (every VM: only the bench's L2
# runs) and L1's CPU ticks (busy: user, nice, system, irq, softirq; a
# vCPU thread's host halt polling is system time), one "name value" each
kvm_stats() {
	local d=/sys/kernel/debug/kvm f
	for f in halt_exits exits hypercalls halt_wakeup halt_successful_poll \
		 halt_attempted_poll halt_poll_success_ns halt_poll_fail_ns; do
		[ ! -r "$d/$f" ] || echo "$f $(cat "$d/$f")"
	done
	awk '$1 == "cpu" { print "l1_busy_ticks", $2 + $3 + $4 + $7 + $8;
			   print "l1_all_ticks", $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat
}

# dynidle_bench_action <action> [<phase> <load> [<round>]]: bench.sh's
# requests
dynidle_bench_action() {
	case "$1" in
	bench-begin) kvm_stats > /tmp/bench-begin ;;
	bench-end)
		kvm_stats > /tmp/bench-end
		awk -v p="$2" -v w="$3" -v r="${4:+round=$4 }" '
			NR == FNR { b[$1] = $2; next }
			{ d[$1] = $2 - b[$1]; k[++n] = $1 }
			END {
				printf "dynidle-l1 phase=%s %swork=%s", p, r, w
				for (i = 1; i <= n; i++)
					if (k[i] !~ /ticks$/) printf " %s=%d", k[i], d[k[i]]
				if (d["l1_all_ticks"] > 0)
					printf " l1_busy_pct=%.1f", 100 * d["l1_busy_ticks"] / d["l1_all_ticks"]
				printf "\n"
			}' /tmp/bench-begin /tmp/bench-end | while IFS= read -r l; do say "$l"; done ;;
	bench-hog-start) hogs_start /tmp/bench-hogs ;;
	bench-hog-stop) hogs_stop /tmp/bench-hogs ;;
	*) log "unknown bench action: $*" ;;
	esac
}

# run_bench_l2 <name> <-cpu> <vCPUs> <stage> <kernel arguments>: one L2
# boot of a benchmark.  Under multi-threaded TCG an L2 now and then dies
# booting (an "Oops: int3" from text patching, see run.sh's boot_l1):
# one that died before its load began (no result and no EXITLESS-SYNC
# line: L1 has counted or recorded nothing of it) is booted again, twice
# at most, its console kept as l2-<name>.log.failed<n>; one that died
# later is not (its results so far stay), and says so.
run_bench_l2() {
	local name=$1 l2log=$out/l2-$1.log try
	for try in 1 2 3; do
		run_bench_l2_once "$@"
		# hogs of a contended load the L2 did not live to stop
		hogs_stop /tmp/bench-hogs
		grep -aq '^EXITLESS-L2: done' "$l2log" && return 0
		if grep -aqE '^(BENCH|EXITLESS-SYNC): ' "$l2log"; then
			say "l2 $name error=ended-early (results so far kept)"
			return 1
		fi
		mv "$l2log" "$l2log.failed$try"
		say "l2 $name error=died-before-results try=$try (console: l2-$name.log.failed$try)"
	done
	return 1
}

run_bench_l2_once() {
	local name=$1 cpu=$2 smp=$3 stage=$4 append=$5 l2log=$out/l2-$1.log qpid line act trace='' stalled=0 rc
	# EXITLESS_BENCH_TRACE (run.sh) reaches bench.sh by the command lines
	! grep -qw exitless.bench_trace=1 /proc/cmdline || trace=" exitless.bench_trace=1"
	: > "$l2log"
	log "booting L2 ($name, -cpu $cpu, $smp vCPUs)"
	# nokaslr, as L1: a hang sampled from L0 (L1 running the L2) names
	# the L2's core kernel addresses with L1's symbols
	timeout "${l2_timeout:-1500}" qemu-system-x86_64 -enable-kvm -cpu "$cpu" -smp "$smp" -m 768M \
		-kernel "/boot/vmlinuz-$rel" -initrd "$out/l2.cpio.gz" \
		-append "console=ttyS0 loglevel=4 panic=-1 nokaslr exitless.stage=$stage $append$trace" \
		-nodefaults -display none -serial "file:$l2log" \
		-name "l2-$name,debug-threads=on" -monitor "unix:/tmp/l2-$name.mon,server,nowait" \
		-no-reboot </dev/null &
	qpid=$!
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '#   L2| %s\n' "$line"
		case "$line" in
		"EXITLESS-SYNC: trace-on "*) ktrace_on ;;
		"EXITLESS-SYNC: trace-off "*)
			act=${line#EXITLESS-SYNC: trace-off }
			say "pvipi $act $(ktrace_off)" ;;
		"EXITLESS-SYNC: prof-on "*)
			prec_ctl "prof-${line#EXITLESS-SYNC: prof-on }" enable ;;
		"EXITLESS-SYNC: prof-off "*)
			prec_ctl "prof-${line#EXITLESS-SYNC: prof-off }" disable ;;
		"EXITLESS-SYNC: bench-"*)
			# shellcheck disable=SC2086 # action and its arguments
			dynidle_bench_action ${line#EXITLESS-SYNC: } ;;
		# kbench.sh's stress: the host module removed and loaded again
		"EXITLESS-SYNC: rmmod-host")
			rmmod_host || say "rmmod exitless_host failed" ;;
		"EXITLESS-SYNC: insmod-host")
			insmod "$ko" || say "insmod exitless_host failed" ;;
		"BENCH: "*) echo "$line" >> "$bench" ;;
		# a stalled L2 (see stall_report): what L1 sees of it, once;
		# then it is ended a minute later (it had never come back)
		*)
			[[ $line =~ $RCU_STALL_RE || $line == *"$LOCKUP_RE"* ]] || continue
			[ "$stalled" = 0 ] || continue
			stalled=1
			say "l2 $name error=stalled (report: '# stall:' lines; ending it in 60 s)"
			{ stall_report "$qpid" "/tmp/l2-$name.mon" "$smp" "$l2log"
			  sleep 60
			  # (the same L2's, not a later process with its pid)
			  ! grep -aq "l2-$name," "/proc/$qpid/cmdline" 2>/dev/null ||
				kill "$qpid"; } & ;;
		esac
	done < <(tail -n +1 -F --pid=$qpid "$l2log" 2>/dev/null)
	wait $qpid
	rc=$?
	# an L2 that ended without its done line: how its QEMU ended (an L2
	# that triple-faults ends its QEMU with rc 0 under -no-reboot)
	grep -aq '^EXITLESS-L2: done' "$l2log" ||
		say "l2 $name qemu ended rc=$rc without the L2's done line (last line: $(tail -n 1 "$l2log" | tr -d '\r' | cut -c1-120))"
}

if part l2; then
	run_bench_l2 kvmpvipi host 3 pvipi "exitless.script=bench.sh exitless.arg=kvmpvipi"
	run_bench_l2 x2apic host,kvm-pv-ipi=off 3 pvipi "exitless.script=bench.sh exitless.arg=x2apic"
fi
if part kernel; then
	# the kernel's own IPI calls from exitless_ipibench.ko, 4 vCPUs; the
	# stress run (exitless.stress_ipis on L1's command line, default
	# 1000000; 0: none) with upstream PV IPI as the fallback sender
	n=$(karg stress_ipis '[0-9]' 1000000)
	st=
	[ "$n" = 0 ] || st=",stress,$n"
	l2_timeout=3600 run_bench_l2 k4-kvmpvipi host 4 pvipi "exitless.script=kbench.sh exitless.arg=kvmpvipi$st"
	run_bench_l2 k4-x2apic host,kvm-pv-ipi=off 4 pvipi "exitless.script=kbench.sh exitless.arg=x2apic"
fi

if part prof; then
	# per load: L1's samples (2000 a second of L1 CPU time), those in the
	# idle loop (L2's sleeps around the load included), those of KVM's
	# instruction emulator (QEMU's SVM has no NRIPS, so L1's KVM decodes
	# the instruction to skip after every MSR write, hypercall and HLT),
	# those of exitless_host and ftrace's trampolines, then the top
	# symbols as shares of the samples out of the idle loop
	profs="native-resched native-multi exitless-resched exitless-multi"
	for l in $profs; do
		rm -f "/tmp/prof-$l.data"
		prec_start "prof-$l" perf record -a -e cpu-clock -F 2000 -o "/tmp/prof-$l.data"
	done
	run_bench_l2 prof-x2apic host,kvm-pv-ipi=off 4 pvipi "exitless.script=prof.sh"
	prec_stop
	for l in $profs; do
		perf report -i "/tmp/prof-$l.data" --stdio -n --sort sym 2>/dev/null |
			awk -v l="$l" -v top=25 '
				/^ *[0-9.]+%/ {
					n = $2; sym = $4; all += n
					if (sym ~ /safe_halt|default_idle|cpuidle/) { idle += n; next }
					if (sym ~ /^(x86_decode_insn|x86_emulate_instruction|x86_decode_emulated_instruction|init_emulate_ctxt|init_decode_cache|__do_insn_fetch_bytes|decode_operand|decode_register_operand|paging64_|kvm_fetch_guest_virt|__svm_skip_emulated_instruction|kvm_emulate_instruction|em_|emulator_)/)
						emul += n
					if (sym ~ /exitless|ftrace/)
						xl += n
					if (++k <= top) { tn[k] = n; ts[k] = sym }
				}
				END {
					busy = all - idle
					printf "pvipi-prof %s samples=%d idle=%d busy=%d emulator=%d exitless=%d\n", l, all, idle, busy, emul, xl
					for (i = 1; i <= k && i <= top; i++)
						printf "pvipi-prof %s %5.2f%% %s\n", l, busy ? 100 * tn[i] / busy : 0, ts[i]
				}' | while IFS= read -r line; do say "$line"; done
	done
fi

# abab_summary: the "abab" boot's pass lines summed up, per load: the
# per-pass p50 ratios dynidle / haltpoll of the passes that have both
# (pass 0, the warm-up, not counted), their median, smallest and
# largest; and the medians of each config's p50s and p99s over them
abab_summary() {
	local load
	for load in pipe tcp; do
		grep '^BENCH: dynidle-abab pass=' "$bench" | awk -v w="$load" -v mode="$amode" '
			function med(a, n,  i, j, t) {
				for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
				return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
			{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
			v["work"] != w || v["p50_ns"] <= 0 { next }
			{ p50[v["config"], v["pass"]] = v["p50_ns"]; p99[v["config"], v["pass"]] = v["p99_ns"]
			  if (v["pass"] + 0 > np) np = v["pass"] + 0 }
			END {
				for (i = 1; i <= np; i++) {
					if (!((("haltpoll", i) in p50) && (("dynidle", i) in p50))) continue
					r[++n] = p50["dynidle", i] / p50["haltpoll", i]
					list = list (n > 1 ? "," : "") sprintf("%.3f", r[n])
					h[n] = p50["haltpoll", i]; d[n] = p50["dynidle", i]
					h99[n] = p99["haltpoll", i]; d99[n] = p99["dynidle", i]
					if (n == 1 || r[n] < lo) lo = r[n]
					if (n == 1 || r[n] > hi) hi = r[n] }
				if (!n) { printf "dynidle-abab summary work=%s mode=%s passes=0\n", w, mode; exit }
				printf "dynidle-abab summary work=%s mode=%s passes=%d ratio_p50_median=%.3f ratio_min=%.3f ratio_max=%.3f ratios=%s haltpoll_p50_ns=%d dynidle_p50_ns=%d haltpoll_p99_ns=%d dynidle_p99_ns=%d\n",
					w, mode, n, med(r, n), lo, hi, list, med(h, n), med(d, n), med(h99, n), med(d99, n) }' |
			while IFS= read -r line; do say "$line"; done
	done
}

if listed "$stages" dynidle; then
	hpns=/sys/module/kvm/parameters/halt_poll_ns
	hpns0=$(cat $hpns)
	say "dynidle: L1 CPUs $(nproc), KVM halt_poll_ns default $hpns0"
	# multi-threaded TCG: no L1 text patched by KVM's own static keys
	# as the L2s come and go (selftests/qemu/kvm_anchor.c)
	kvm_anchor_start ||
		say "dynidle: no kvm_anchor: KVM's static keys may patch L1 text"
	dparts=",$(karg dynidle_parts '[a-z0-9,]' main,rounds),"
	w=
	if listed "$dparts" main; then
		echo 0 > $hpns
		run_bench_l2 dyn-stock host 2 dynidle "exitless.script=bench.sh exitless.arg=stock"
		echo "$hpns0" > $hpns
		w=$(sed -n 's/^BENCH: dynidle window_ns=//p' "$bench" | tail -n 1)
		w=${w:-200000}
		run_bench_l2 dyn-hostpoll host 2 dynidle "exitless.script=bench.sh exitless.arg=hostpoll,$w"
		run_bench_l2 dyn-haltpoll host 2 dynidle "cpuidle_haltpoll.force=1 exitless.script=bench.sh exitless.arg=haltpoll,$w"
		# a multicast to polling targets: 4 vCPUs, which dynidle polls on
		# only with an L1 CPU each (EXITLESS_L1_SMP=4).  A call there takes
		# about 0.5 ms under TCG, longer than the pipe's round trip: a 2 ms
		# window cap, so that the targets poll from one call to the next
		if [ "$(nproc)" -ge 4 ]; then
			run_bench_l2 dyn-multi host 4 dynidle "exitless.script=bench.sh exitless.arg=multi,2000000"
		fi
	fi
	rounds=$(karg bench_rounds '[0-9]' 3)
	listed "$dparts" rounds || rounds=1
	say "dynidle: latency rounds $rounds"
	for ((r = 2; r <= rounds; r++)); do
		# haltpoll first in even rounds: neither order is favoured
		order="dynidle haltpoll"
		[ $((r % 2)) -eq 1 ] || order="haltpoll dynidle"
		for c in $order; do
			hp=
			[ "$c" != haltpoll ] || hp="cpuidle_haltpoll.force=1 "
			run_bench_l2 "dyn-$c-r$r" host 2 dynidle "${hp}exitless.script=bench.sh exitless.arg=round,$c,${w:-200000},$r"
		done
	done
	passes=$(karg bench_abab '[0-9]' 10)
	amode=$(karg abab_mode '[a-z]' reload)
	case "$amode" in
	reload | switch) ;;
	*) say "dynidle: abab_mode must be reload or switch: reload"; amode=reload ;;
	esac
	if listed "$dparts" abab && [ "$passes" -gt 0 ]; then
		# 0: bench.sh measures the window cap itself
		# (an L2 that ended early: the summary counts the passes done)
		run_bench_l2 dyn-abab host 2 dynidle "exitless.script=bench.sh exitless.arg=abab,${w:-0},$passes,$amode" || true
		abab_summary
	fi
	kvm_anchor_stop
fi
say "done"
