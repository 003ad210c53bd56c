#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The L1 stage: runs inside the first-level VM (real KVM, in a chroot of the
# build machine's root).  Loads kvm_amd, runs the host ABI selftests (they
# insmod exitless_host), then boots a Linux L2 guest with exitless_guest.ko
# and plays the host's part of its tests (module removal and reload on the
# guest's request).  Results: TAP lines in /tmp/out/results.tap.
set -u
rel=${1:?kernel release}
top=${EXITLESS_TOP:?}
out=/tmp/out
results=$out/results.tap
ko=$top/.build/$rel/exitless_host.ko
. "$top/selftests/qemu/lib.sh"
cd /tmp || exit 1

tap() { echo "$*" | tee -a "$results"; }

# Collect the result lines of a stage's output (stdin), pass the rest on.
collect() {
	local line
	while IFS= read -r line; do
		line=${line%$'\r'}
		case "$line" in
		"ok "* | "not ok "*) tap "$line" ;;
		*) printf '%s\n' "$line" ;;
		esac
	done
}

stage_start() { stage_t0=$(date +%s); log "stage $1 start"; }
stage_end() { log "stage $1 took $(($(date +%s) - stage_t0)) s"; }

log "L1 $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB, clocksource $(clocksource)"
# In the boots on two TCG threads (the dynidle stage, make bench's
# pvtimer poller), L1's text is patched with one CPU online (one_cpu).
guard=
case ",${EXITLESS_STAGES:-}," in
*,dynidle,*) guard=one_cpu ;;
esac
grep -qw exitless.pvt_bench=1 /proc/cmdline && guard=one_cpu
if $guard modprobe kvm_amd && [ -c /dev/kvm ]; then
	tap "ok - l1/kvm_amd for ${EXITLESS_STAGES:-all} nested=$(cat /sys/module/kvm_amd/parameters/nested) npt=$(cat /sys/module/kvm_amd/parameters/npt)"
else
	tap "not ok - l1/kvm_amd # no /dev/kvm in L1; nothing else can run"
	exit 1
fi

save_kallsyms "$out/kallsyms"

stages=",${EXITLESS_STAGES:-host,guest,pvipi},"

# --- host ABI selftests (raw guests) --------------------------------------
if [ "${stages#*,host,}" != "$stages" ]; then
stage_start host
if [ -x "$top/selftests/host/run.sh" ]; then
	EXITLESS_HOST_KO=$ko \
	EXITLESS_SELFTESTS=$top/.build/selftests/host \
	EXITLESS_KVM_SELFTESTS=$EXITLESS_CACHE/kvm-selftests-6.1 \
		"$top/selftests/host/run.sh" 2>&1 | collect
fi
stage_end host
fi

# the guest stage needs the host module, whatever the host stage left
if ! grep -q '^exitless_host ' /proc/modules; then
	if $guard insmod "$ko"; then
		tap "ok - l1/insmod exitless_host"
	else
		tap "not ok - l1/insmod exitless_host"
	fi
fi

# host_up <why>: load exitless_host unless it is loaded (through $guard,
# as every load here); "not ok - l1/insmod exitless_host <why>" if that
# fails
host_up() {
	grep -q '^exitless_host ' /proc/modules && return 0
	$guard insmod "$ko" && return 0
	tap "not ok - l1/insmod exitless_host $1"
	return 1
}

# --- L2 Linux guest --------------------------------------------------------
# The guest asks for host-side actions with "EXITLESS-SYNC: <action>" lines
# on its console; each is done here and answered in the L1 log.
l2_action() {
	case "$1" in
	rmmod-host) rmmod_host ;;
	insmod-host)
		# shellcheck disable=SC2086 # host_args: module parameters
		insmod "$ko" ${host_args:-} ;;
	dynidle-*) dynidle_action "$1" ;;
	pvtimer-*) pvtimer_action "$1" ;;
	*) echo "unknown action $1"; return 1 ;;
	esac
}

# L2_BOOTS: how many times L1 boots an L2 stage whose boot failed in one
# of the ways l2_boot_failed (below) names: it went silent, was
# reset with no kernel message, or panicked before its init ran.  Each
# boot after the first is announced by an "ok" line that says why.
# Three, not two: CI of b1513c7 (2026-12-06, 6.12) lost its dynidle L2
# twice in a row, silent and then reset with no kernel message after its
# checks had passed; that stage's L1 has 2 CPUs, so multi-threaded TCG,
# whose races (Documentation/dynidle.rst, "What the abab failures are")
# are the cause we know of.  A stage whose every boot fails this way
# still fails.
L2_BOOTS=3

# run_l2 <name> <vCPUs> <kernel command line>: one L2 boot, its TAP lines.
# An L2 whose console falls silent (no output for EXITLESS_L2_QUIET s) is
# reported (registers, APICs) and killed, then booted again: L2 guests
# with 2-3 vCPUs on one L1 CPU under TCG were seen to freeze, once before
# any exitless module was loaded.  A guest that loses an IPI does not go
# silent: the waiting CPU's soft-lockup report keeps the console going,
# and the kernel log check fails the stage.  An L2 whose kernel panicked
# before its init ran, or that was reset with no kernel message
# (l2_boot_failed), is booted again the same way, up to L2_BOOTS boots
# in all; the last such boot fails it.  Its QEMU keeps a guest that was
# reset or powered off paused (-action reboot=shutdown,shutdown=pause),
# so that the watchdog's report shows the registers a triple fault left;
# once the guest has said it is done, quit_when_off ends that QEMU.
run_l2() { l2_boots "$1" l2_undo run_l2_once "$@"; }

# l2_boots <name> <undo> <command...>: run <command> (one boot of the L2
# stage <name>; l2_boot_failed says why it failed, in l2_why) until it
# passes or has run L2_BOOTS times; <undo> runs before each boot again.
l2_boots() {
	local name=$1 undo=$2 boot=1
	shift 2
	until "$@"; do
		if [ "$boot" -ge "$L2_BOOTS" ]; then
			tap "not ok - l2/$name $l2_why again, on boot $boot of $L2_BOOTS"
			return 0
		fi
		boot=$((boot + 1))
		echo "# L2 $name $l2_why (report above): booting it again, boot $boot of $L2_BOOTS"
		tap "ok - l2/$name $l2_why, booted again ($boot of $L2_BOOTS) # see the report above"
		"$undo"
	done
}

# l2_undo: what a failed L2 boot may have left half-done on this side
l2_undo() {
	host_up "for the retry"
	[ ! -s /tmp/dynidle-hogs ] || l2_action dynidle-hog-stop
}

# l2_boot_failed <L2 log>: did that boot go silent (the watchdog left
# <log>.hung), its kernel panic before its init ran, so before any
# exitless code ran in L2 (seen once, 2026-12-02, 6.12: an oops in
# text_poke_early 3 s into the boot of the migrate stage's L2), or the
# guest get reset without a word from its kernel (<log>.reset: a triple
# fault; seen once, CI of 2026-12-02, 6.1, in the 2-CPU dynidle boot,
# the multi-threaded-TCG L1 of run.sh's text-patching note, in the
# native ping-pong after exitless_guest was removed; its QEMU, then
# with -no-reboot, just exited)?  If so, the log is kept as
# <log>.silent, <log>.died or <log>.reset-log and l2_why says which.
# A kernel panic after init is the stage's failure, never retried.
l2_boot_failed() {
	local panic=0 booted=0
	grep -aq 'Kernel panic' "$1" && panic=1
	grep -aq '^EXITLESS-L2: booted' "$1" && booted=1
	if [ $panic = 1 ] && [ $booted = 1 ]; then
		return 1
	elif [ $panic = 1 ]; then
		cp "$1" "$1.died"
		l2_why="panicked before its init ran"
	elif [ -e "$1.reset" ]; then
		cp "$1" "$1.reset-log"
		l2_why="was reset with no kernel message"
	elif [ -e "$1.hung" ]; then
		cp "$1" "$1.silent"
		l2_why="went silent"
	else
		return 1
	fi
}

run_l2_once() {
	local name=$1 smp=$2 append=$3 l2log=$out/l2-$1.log qpid wpid rc line
	: > "$l2log"
	rm -f "$l2log.hung" "$l2log.reset" "$l2log.busy"
	log "booting L2 ($name, $smp vCPUs)"
	rm -f "/tmp/l2-$name.mon"
	# shellcheck disable=SC2086 # L2_PIN: a command and its arguments;
	# L2_QEMU_ARGS: more QEMU options, e.g. "-machine hpet=off"
	timeout 900 ${L2_PIN:-} qemu-system-x86_64 -enable-kvm -cpu host -smp "$smp" -m 768M ${L2_QEMU_ARGS:-} \
		-kernel "/boot/vmlinuz-$rel" -initrd "$out/l2.cpio.gz" \
		-append "console=ttyS0 loglevel=4 panic=-1 nokaslr $append" \
		-nodefaults -display none -serial "file:$l2log" \
		-monitor "unix:/tmp/l2-$name.mon,server,nowait" \
		-action reboot=shutdown,shutdown=pause </dev/null &
	qpid=$!
	quiet_watchdog $qpid "$l2log" "${EXITLESS_L2_QUIET:-150}" \
		"/tmp/l2-$name.mon" /proc/kallsyms "$smp" &
	wpid=$!
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '#   L2| %s\n' "$line"
		case "$line" in
		"EXITLESS-SYNC: "*)
			# the guest waits in silence: the watchdog waits too
			: > "$l2log.busy"
			if l2_action "${line#EXITLESS-SYNC: }" 2>&1 | sed 's/^/#   L1> /'; then
				log "done: ${line#EXITLESS-SYNC: }"
			fi
			rm -f "$l2log.busy" ;;
		"EXITLESS-L2: done"*)
			quit_when_off $qpid "/tmp/l2-$name.mon" & ;;
		esac
	done < <(tail -n +1 -F --pid=$qpid "$l2log" 2>/dev/null)
	wait $qpid
	rc=$?
	kill $wpid 2>/dev/null
	wait $wpid
	l2_boot_failed "$l2log" && return 1
	tr -d '\r' < "$l2log" | grep -aE '^(not )?ok ' | while IFS= read -r line; do
		tap "$line"
	done
	if grep -aq '^EXITLESS-L2: done' "$l2log"; then
		tap "ok - l2/$name completed"
	else
		tap "not ok - l2/$name completed # qemu rc=$rc (124 = timeout)"
	fi
	scan_klog "$l2log" "l2/$name kernel log clean" | collect
}

if [ "${stages#*,guest,}" != "$stages" ]; then
	stage_start guest
	run_l2 guest 2 "exitless.stage=guest"
	# dynidle's tracepoint: enabling it patches L2 text, which only an
	# L1 with one TCG thread (this one) shows at once to every CPU
	host_up "for dynidle-trace"
	run_l2 dynidle-trace 2 "exitless.stage=dynidle exitless.arg=tracepoint-only"
	stage_end guest
fi

# pvipi: its own L2 boot in the guest stage's L1 (one L1 CPU), 3 vCPUs
# (CPU 0 sends, a multicast needs 2 targets)
if [ "${stages#*,pvipi,}" != "$stages" ]; then
	stage_start pvipi
	host_up "for pvipi"
	run_l2 pvipi 3 "exitless.stage=pvipi"
	stage_end pvipi
fi

# dynidle: its own L1 boot and L2 (2 vCPUs: a ping-pong between CPU 0
# and 1; see run.sh for why a boot of its own).
# Its actions: dynidle-mark-<name> saves KVM's halt_exits and exits
# counters (debugfs, every VM: only this one runs); dynidle-check
# compares the polling-off and polling-on marks (HLT exits from KVM, not
# from the guest's counters); dynidle-hog-start/-stop busy-loop on every
# L1 CPU (the contended host).  Runs in a subshell (l2_action's pipe):
# state goes through files, and the hogs must not hold the pipe open.
dynidle_action() {
	local d=/sys/kernel/debug/kvm c h_off h_on e_off e_on
	case "$1" in
	dynidle-mark-*)
		c=${1#dynidle-mark-}
		cat "$d/halt_exits" > "/tmp/dynidle-$c.halt"
		cat "$d/exits" > "/tmp/dynidle-$c.exits"
		echo "mark $c: halt_exits $(cat "$d/halt_exits") exits $(cat "$d/exits")" ;;
	dynidle-check)
		h_off=$(($(cat /tmp/dynidle-off-end.halt) - $(cat /tmp/dynidle-off-begin.halt)))
		h_on=$(($(cat /tmp/dynidle-on-end.halt) - $(cat /tmp/dynidle-on-begin.halt)))
		e_off=$(($(cat /tmp/dynidle-off-end.exits) - $(cat /tmp/dynidle-off-begin.exits)))
		e_on=$(($(cat /tmp/dynidle-on-end.exits) - $(cat /tmp/dynidle-on-begin.exits)))
		if [ "$h_on" -lt "$h_off" ]; then
			tap "ok - l2/dynidle hlt exits drop # halt_exits polling off $h_off, on $h_on; all exits $e_off, $e_on"
		else
			tap "not ok - l2/dynidle hlt exits drop # halt_exits polling off $h_off, on $h_on; all exits $e_off, $e_on"
		fi ;;
	dynidle-hog-start) hogs_start /tmp/dynidle-hogs ;;
	dynidle-hog-stop) hogs_stop /tmp/dynidle-hogs ;;
	*) echo "unknown action $1"; return 1 ;;
	esac
}

if [ "${stages#*,dynidle,}" != "$stages" ]; then
	stage_start dynidle
	host_up "for dynidle"
	# Two L1 CPUs, multi-threaded TCG: KVM's own static keys must not
	# patch L1's text while the L2 runs (selftests/qemu/kvm_anchor.c).
	# The anchor's own flips come now, before the L2, and at its stop,
	# each with one L1 CPU online (one_cpu, inside them).
	if kvm_anchor_start; then
		tap "ok - l1/kvm_anchor held for dynidle"
	else
		tap "not ok - l1/kvm_anchor held for dynidle"
	fi
	run_l2 dynidle 2 "exitless.stage=dynidle exitless.arg=no-text-changes"
	kvm_anchor_stop
	sed 's/^/#   /' /sys/kernel/debug/exitless/stats
	stage_end dynidle
fi

# dkms: the exitless-dkms package (run.sh builds it on L0) installed,
# built for this kernel, loaded, unloaded and purged (selftests/dkms/);
# in the dynidle boot, once its L2 is gone (2 L1 CPUs: dkms builds with
# -j2).  The packaged exitless_host replaces the one insmod-ed from .build.
if [ "${stages#*,dkms,}" != "$stages" ]; then
	stage_start dkms
	if pgrep -f qemu-system >/dev/null; then
		tap "not ok - l1/dkms/no L2 running # $(pgrep -af qemu-system | head -n 1)"
	fi
	if grep -q '^exitless_host ' /proc/modules; then
		if rmmod exitless_host; then
			tap "ok - l1/dkms/rmmod the .build exitless_host first"
		else
			tap "not ok - l1/dkms/rmmod the .build exitless_host first"
		fi
	fi
	"$top/selftests/dkms/run.sh" \
		"$top/.build/exitless-dkms_$("$top/scripts/dkms.sh" version)_all.deb" 2>&1 | collect
	if grep -q '^exitless_host ' /proc/modules; then
		tap "not ok - l1/dkms/exitless_host unloaded at the end"
	fi
	stage_end dkms
fi

# pvtimer: its own L2 boot (2 vCPUs; the timer loads run on CPU 1) in an
# L1 like the guest stage's: one L1 CPU and one TCG thread, since it removes
# and loads exitless_host while the L2 runs (see run.sh on text patching).
# exitless_host runs its poller (pvtimer_poll_us=PVT_POLL_US); the guest
# asks for it in its third phase only (poll), so off and on are as without
# it.  With exitless.pvt_bench=1 on L1's command line (make bench's
# bench-pvtimer boot: 2 L1 CPUs) the poller is moved to L1 CPU 1 and the
# L2 to CPU 0, and the guest runs the loads only, then rounds 2..N of
# the timer loads off (the device parked: a TSC_DEADLINE write per arm,
# as with lapic-deadline) and on (lazy) alternately (N:
# exitless.bench_rounds on L1's command line, PVT_ROUNDS by default);
# then, for each timer load, exitless.pvt_pairs (PVT_PAIRS) pairs of
# short blocks off and on, lateness alone (pvtimer-interleaved <load>
# <summary>: kept for the report); pvtimer-check <N> then prints each
# round's ratios and their medians (pvt_rounds_report) and the
# interleaved blocks' summaries.
# Its actions (selftests/pvtimer/run.sh): pvtimer-mark-<off|on>-<load>-begin
# saves KVM's exits counter (debugfs, every VM: only this one runs) and
# starts tracing kvm_exit/kvm_msr/kvm_pio in a trace instance of the
# phase's own (the guest's load frames itself with writes to port 0x80,
# PVT_PORT: only the exits between them are counted, when both are seen);
# pvtimer-mark-<...>-end [the guest's timerloop line] stops that trace at
# once (the guest moves on after a fixed wait: no counting here);
# pvtimer-check (the guest's last request: counting takes L1 a while)
# counts every phase and prints the table (also in
# $out/pvtimer.txt) and its TAP lines: TSC_DEADLINE (MSR 0x6e0) write
# exits at most PVT_TSCD_PCT % of pvtimer=0's (idle: fewer; measured
# 85-98 % fewer on the timer loads; none at all since the host keeps the
# backstop), exits per wake-up (all vCPUs) of the three timer loads
# together at most PVT_EXITS_PCT % of pvtimer=0's (with pvtimer absent,
# the same load's exits per wake-up differed by up to 14 % between the
# two phases of one run on a shared build machine; with pvtimer, one
# load alone went from 52-65 % to 101 % on 6.12 in make bench of
# 2026-12-01 13:06 UTC, when its timerfd loop fell behind under TCG and
# ran busy: a single load is printed, not asserted; the three together
# were 55 % in that run);
# the issue's targets (95 % fewer writes, 50 % of the exits) are printed
# with "met"/"not met", not asserted; the lateness ratios on/off are printed, not
# asserted (TCG's timing; with pvtimer absent the later "on" phases
# still showed p50 ratios of 0.6-0.8 and p99 of 0.2-1.4).
PVT_DIR=/tmp/pvtimer
# pvt_ratio <off wake-ups> <on wake-ups> <off exits> <on exits>: on's
# exits per wake-up in % of off's, rounded; "-" when not measurable
pvt_ratio() {
	awk -v ow="$1" -v nw="$2" -v oe="$3" -v ne="$4" \
		'BEGIN { if (ow > 0 && nw > 0 && oe > 0) printf "%d", 100 * (ne / nw) / (oe / ow) + 0.5; else print "-" }'
}
PVT_LOADS="ns100 ns1000 tfd1000 idle"
PVT_MODES="off on poll"
PVT_ROUNDS=$(sed -n 's/.*exitless\.bench_rounds=\([0-9]*\).*/\1/p' /proc/cmdline)
PVT_ROUNDS=${PVT_ROUNDS:-5}
# make bench's interleaved blocks (selftests/pvtimer/run.sh interleave):
# pairs per timer load, exitless.pvt_pairs on L1's command line
PVT_PAIRS=$(sed -n 's/.*exitless\.pvt_pairs=\([0-9]*\).*/\1/p' /proc/cmdline)
PVT_PAIRS=${PVT_PAIRS:-40}
PVT_POLL_US=${EXITLESS_PVT_POLL_US:-250}
PVT_PORT=0x80

# pvt_cpu_ns: "<qemu> <poller>": CPU time (ns, schedstat) so far of every
# thread of the L2's QEMU (vCPUs, I/O; the host module's work at exits and
# on its timers runs in them or in interrupts they take) and of the host
# module's poller kthread (0 when there is none)
pvt_cpu_ns() {
	# shell builtins only: a fork per file takes L1 (TCG) seconds in all,
	# and the guest's load starts a fixed time after its mark
	local p q=0 k=0 c t v
	for p in /proc/[0-9]*; do
		read -r c < "$p/comm" 2>/dev/null || continue
		case "$c" in
		qemu-system-x86)
			for t in "$p"/task/*/schedstat; do
				read -r v _ < "$t" 2>/dev/null && q=$((q + v))
			done ;;
		exitless-pvtpoll)
			read -r k _ < "$p/schedstat" 2>/dev/null || k=0 ;;
		esac
	done
	echo "$q $k"
}
PVT_EXITS_PCT=95
PVT_TSCD_PCT=25

# pvt_kv <key> <file>: the value of key=<value> in a file of such words
pvt_kv() {
	tr ' ' '\n' < "$2" 2>/dev/null | sed -n "s/^$1=//p" | head -n 1
}

pvtimer_action() {
	local act=${1%% *} data='' name d=/sys/kernel/debug/kvm
	[ "$act" = "$1" ] || data=${1#* }
	mkdir -p $PVT_DIR
	case "$act" in
	pvtimer-mark-*-begin)
		name=${act#pvtimer-mark-}
		name=${name%-begin}
		cat "$d/exits" > "$PVT_DIR/$name.exits0"
		ktrace_inst_on "pvt-$name" kvm_pio
		pvt_cpu_ns > "$PVT_DIR/$name.cpu0"
		echo "mark $name begin: exits $(cat "$PVT_DIR/$name.exits0")" ;;
	pvtimer-mark-*-end)
		name=${act#pvtimer-mark-}
		name=${name%-end}
		ktrace_inst_off "pvt-$name"
		echo "dbg_exits=$(($(cat "$d/exits") - $(cat "$PVT_DIR/$name.exits0"))) $(pvt_cpu_ns | awk -v f="$PVT_DIR/$name.cpu0" '
			BEGIN { getline l < f; split(l, a) }
			{ printf "qemu_ms=%.1f poller_ms=%.1f", ($1 - a[1]) / 1e6, ($2 - a[2]) / 1e6 }')" > "$PVT_DIR/$name.exits"
		echo "$data" > "$PVT_DIR/$name.guest"
		cat /sys/kernel/debug/exitless/stats > "$PVT_DIR/$name.stats" 2>/dev/null || true
		echo "mark $name end: $(cat "$PVT_DIR/$name.exits"); guest: $data" ;;
	pvtimer-interleaved)
		echo "pvtimer interleaved $data" | tee -a "$PVT_DIR/interleaved" ;;
	# the table ends with when it was made (scripts/bench-report.py)
	pvtimer-check)
		{
			pvtimer_check "${data:-1}" 2>&1
			echo "pvtimer table: $rel, $(date -u +%FT%H:%MZ)"
		} | tee "$out/pvtimer.txt" ;;
	*) echo "unknown action $1"; return 1 ;;
	esac
}

# pvt_median <values...>: their median ("-" values left out; "-" if none)
pvt_median() {
	printf '%s\n' "$@" | grep -v '^-*$' | sort -n | awk '
		{ a[NR] = $1 }
		END {
			if (!NR) print "-"
			else if (NR % 2) print a[(NR + 1) / 2]
			else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2
		}'
}

# pvt_lat_ratio <key> <off .guest> <on .guest>: on's lateness key (p50,
# p99) over off's, 2 decimals, "-" when not measurable
pvt_lat_ratio() {
	awk -v a="$(pvt_kv "$1" "$2")" -v b="$(pvt_kv "$1" "$3")" \
		'BEGIN { if (a + 0 > 0 && b != "") printf "%.2f", b / a; else print "-" }'
}

# pvt_rounds_report <rounds>: per timer load, each round's on/off ratios
# (round 1: the on and off phases; round r: on<r> and off<r>, the latter
# with the device parked) and their
# medians, against the issue's targets: exits per wake-up at most 50 %
# (all vCPUs, and vCPU 1, which runs the load), lateness p50 and p99 at
# most 1.  Printed, not asserted (make bench).
pvt_rounds_report() {
	local l r off on ex ex1 l50 l99 e e1 a b
	echo "pvtimer rounds: $1 rounds of off (round 1: lapic-deadline; rounds 2..$1: the device parked, a TSC_DEADLINE write per arm as with lapic-deadline) and on (lazy pvtimer), alternating which goes first; per round on/off: exits per wake-up in %, of all vCPUs and of vCPU 1; lateness p50 and p99 ratios; the median of the rounds against the issue's targets"
	for l in $PVT_LOADS; do
		[ "$l" != idle ] || continue
		ex="" ex1="" l50="" l99=""
		r=1
		while [ "$r" -le "$1" ]; do
			off=$PVT_DIR/off-$l on=$PVT_DIR/on-$l
			[ "$r" = 1 ] || off=$PVT_DIR/off$r-$l on=$PVT_DIR/on$r-$l
			a=$(pvt_kv n "$off.guest") b=$(pvt_kv n "$on.guest")
			e=$(pvt_ratio "${a:-0}" "${b:-0}" "$(pvt_kv exits "$off.trace")" "$(pvt_kv exits "$on.trace")")
			e1=$(pvt_ratio "${a:-0}" "${b:-0}" "$(pvt_kv exits_v1 "$off.trace")" "$(pvt_kv exits_v1 "$on.trace")")
			ex="$ex ${e:--}" ex1="$ex1 ${e1:--}"
			l50="$l50 $(pvt_lat_ratio p50 "$off.guest" "$on.guest")"
			l99="$l99 $(pvt_lat_ratio p99 "$off.guest" "$on.guest")"
			r=$((r + 1))
		done
		# shellcheck disable=SC2086 # the lists: one value per round
		awk -v l="$l" -v ex="$ex" -v ex1="$ex1" -v l50="$l50" -v l99="$l99" \
			-v mex="$(pvt_median $ex)" -v mex1="$(pvt_median $ex1)" \
			-v m50="$(pvt_median $l50)" -v m99="$(pvt_median $l99)" '
			function met(v, t) { return v == "-" ? "-" : (v + 0 <= t ? "met" : "not met") }
			BEGIN {
				printf "pvtimer rounds %s exits per wake-up on/off %%:%s, median %s%% (target 50%%: %s); vCPU 1:%s, median %s%%\n", l, ex, mex, met(mex, 50), ex1, mex1
				printf "pvtimer rounds %s lateness on/off p50:%s, median %s (target 1: %s); p99:%s, median %s (target 1: %s)\n", l, l50, m50, met(m50, 1), l99, m99, met(m99, 1)
			}'
	done
}

# pvtimer_check [rounds]: count each traced phase, print the table, the
# TAP lines, and with rounds > 1 (make bench) the rounds' report
pvtimer_check() {
	local l m f w tscd ex ex1 lost p50 p99 mx off_w on_w off_t on_t off_e on_e r g h
	local sum_ow sum_nw sum_oe sum_ne mode lbl modes=$PVT_MODES
	r=2
	while [ "$r" -le "${1:-1}" ]; do
		modes="$modes off$r on$r"
		r=$((r + 1))
	done
	for m in $modes; do
		for l in $PVT_LOADS; do
			f=$PVT_DIR/$m-$l
			if [ -d "$KTRACE/instances/pvt-$m-$l" ]; then
				ktrace_count "$KTRACE/instances/pvt-$m-$l" $PVT_PORT > "$f.trace"
				# no port marks: all between L1's marks
				[ "$(pvt_kv marked "$f.trace")" = 1 ] ||
					ktrace_count "$KTRACE/instances/pvt-$m-$l" > "$f.trace"
				ktrace_inst_rm "pvt-$m-$l"
			fi
		done
	done
	echo "pvtimer: exits in L1 during each load (kvm_exit, kvm_msr msr_write 6e0; all vCPUs, and vCPU 1 which runs the load), between the load's port marks (win_s: their distance in L1; '-': none, all between the marks of the L1 actions); dbg_ex: KVM's exits counter between the L1 actions; lateness in the guest, us; modes: off = lapic-deadline, on = pvtimer, poll = pvtimer with the host's poller every $PVT_POLL_US us; host CPU between the L1 actions, ms: qemu = every thread of the L2's QEMU, poller = the poller kthread"
	printf '%-8s %-4s %7s %7s %7s %8s %8s %6s %8s %7s %7s %7s %9s %9s %9s %5s %8s %7s\n' \
		load mode wakeups 6e0_wr 6e0_v1 exits exits_v1 hcalls dbg_ex win_s ex/wake v1/wake lat_p50 lat_p99 lat_max lost qemu_ms poll_ms
	for l in $PVT_LOADS; do
		for m in $modes; do
			f=$PVT_DIR/$m-$l
			# the rounds run no idle load
			[ -s "$f.trace" ] || [ -e "$f.exits" ] || [ "${m%[0-9]}" = "$m" ] || continue
			if [ ! -s "$f.trace" ]; then
				printf '%-8s %-4s (no trace: marks missing)\n' "$l" "$m"
				continue
			fi
			w=$(pvt_kv n "$f.guest")
			tscd=$(pvt_kv tscd "$f.trace")
			ex=$(pvt_kv exits "$f.trace")
			ex1=$(pvt_kv exits_v1 "$f.trace")
			lost=$(pvt_kv lost "$f.trace")
			p50=$(pvt_kv p50 "$f.guest")
			p99=$(pvt_kv p99 "$f.guest")
			mx=$(pvt_kv max "$f.guest")
			awk -v l="$l" -v m="$m" -v w="${w:--}" -v t="${tscd:-0}" \
				-v t1="$(pvt_kv tscd_v1 "$f.trace")" -v e="${ex:-0}" \
				-v e1="${ex1:-0}" -v dx="$(pvt_kv dbg_exits "$f.exits")" \
				-v hc="$(pvt_kv hc "$f.trace")" \
				-v p50="${p50:--}" -v p99="${p99:--}" -v mx="${mx:--}" \
				-v lost="${lost:-?}" -v s="$(pvt_kv win_s "$f.trace")" \
				-v qm="$(pvt_kv qemu_ms "$f.exits")" -v pm="$(pvt_kv poller_ms "$f.exits")" 'BEGIN {
				# idle: exits per second instead of per wake-up
				if (l == "idle") {
					epw = s + 0 > 0 ? sprintf("%.1f/s", e / s) : "-"
					e1pw = s + 0 > 0 ? sprintf("%.1f/s", e1 / s) : "-"
				} else {
					epw = w + 0 > 0 ? sprintf("%.2f", e / w) : "-"
					e1pw = w + 0 > 0 ? sprintf("%.2f", e1 / w) : "-"
				}
				printf "%-8s %-4s %7s %7d %7d %8d %8d %6d %8s %7s %7s %7s %9s %9s %9s %5s %8s %7s\n",
					l, m, w, t, t1, e, e1, hc, dx, s == "" ? "-" : s, epw, e1pw, p50, p99, mx, lost, qm == "" ? "-" : qm, pm == "" ? "-" : pm
			}'
		done
	done
	# on (pvtimer) against off; then poll (the host's poller) against off,
	# under TAP names of their own ("l2/pvtimer poll ...")
	for mode in on poll; do
		lbl=""
		[ "$mode" = on ] || lbl="$mode "
		sum_ow=0 sum_nw=0 sum_oe=0 sum_ne=0
		for l in $PVT_LOADS; do
			f=$PVT_DIR/off-$l
			if [ ! -s "$f.trace" ] || [ ! -s "$PVT_DIR/$mode-$l.trace" ]; then
				tap "not ok - l2/pvtimer $lbl$l measured # a phase's marks are missing (see the L2 log)"
				continue
			fi
			off_t=$(pvt_kv tscd "$f.trace")
			on_t=$(pvt_kv tscd "$PVT_DIR/$mode-$l.trace")
			# asserted: a drop no noise explains (PVT_TSCD_PCT of pvtimer=0's
			# at most, idle: fewer); the issue's target (95 % fewer) printed
			lim=$((off_t * PVT_TSCD_PCT / 100))
			[ "$l" != idle ] || lim=$((off_t - 1))
			tgt=$(awk -v o="$off_t" -v n="$on_t" 'BEGIN { if (o > 0) printf "%d%% fewer, target 95%%: %s", 100 - 100 * n / o + 0.5, (n * 20 <= o) ? "met" : "not met"; else print "-" }')
			if [ "$off_t" -gt 0 ] && [ "$on_t" -le "$lim" ]; then
				tap "ok - l2/pvtimer $lbl$l TSC_DEADLINE writes drop # off $off_t, $mode $on_t: $tgt"
			else
				tap "not ok - l2/pvtimer $lbl$l TSC_DEADLINE writes drop # off $off_t, $mode $on_t (at most $lim wanted): $tgt"
			fi
			[ "$l" != idle ] || continue
			off_w=$(pvt_kv n "$f.guest")
			on_w=$(pvt_kv n "$PVT_DIR/$mode-$l.guest")
			off_e=$(pvt_kv exits "$f.trace")
			on_e=$(pvt_kv exits "$PVT_DIR/$mode-$l.trace")
			sum_ow=$((sum_ow + ${off_w:-0})) sum_nw=$((sum_nw + ${on_w:-0}))
			sum_oe=$((sum_oe + ${off_e:-0})) sum_ne=$((sum_ne + ${on_e:-0}))
			r=$(pvt_ratio "${off_w:-0}" "${on_w:-0}" "${off_e:-0}" "${on_e:-0}")
			tgt="target 50%: $([ "$r" != - ] && [ "$r" -le 50 ] && echo met || echo not met)"
			echo "pvtimer $lbl$l exits per wake-up (not asserted, see below): off $off_e/${off_w:-?}, $mode $on_e/${on_w:-?}: $r%, $tgt"
			awk -v a="$(pvt_kv p50 "$f.guest")" -v b="$(pvt_kv p50 "$PVT_DIR/$mode-$l.guest")" \
				-v c="$(pvt_kv p99 "$f.guest")" -v d="$(pvt_kv p99 "$PVT_DIR/$mode-$l.guest")" \
				-v l="$l" -v lb="$lbl" -v md="$mode" 'BEGIN {
				r50 = a + 0 > 0 ? sprintf("%.2f", b / a) : "-"
				r99 = c + 0 > 0 ? sprintf("%.2f", d / c) : "-"
				printf "pvtimer %s%s lateness %s/off (not asserted): p50 %s, p99 %s\n", lb, l, md, r50, r99
			}'
		done
		r=$(pvt_ratio "$sum_ow" "$sum_nw" "$sum_oe" "$sum_ne")
		if [ "$mode" = poll ]; then
			echo "pvtimer poll: timer loads' exits per wake-up (not asserted): off $sum_oe/$sum_ow, poll $sum_ne/$sum_nw: $r%"
		elif [ "$r" != - ] && [ "$r" -le $PVT_EXITS_PCT ]; then
			tap "ok - l2/pvtimer timer loads' exits per wake-up at most $PVT_EXITS_PCT% # off $sum_oe/$sum_ow, on $sum_ne/$sum_nw: $r%"
		else
			tap "not ok - l2/pvtimer timer loads' exits per wake-up at most $PVT_EXITS_PCT% # off $sum_oe/$sum_ow, on $sum_ne/$sum_nw: $r%"
		fi
	done
	for l in $PVT_LOADS; do
		for m in $modes; do
			[ -e "$PVT_DIR/$m-$l.exits" ] || [ "${m%[0-9]}" = "$m" ] || continue
			echo "pvtimer $m-$l trace: $(cat "$PVT_DIR/$m-$l.trace" 2>/dev/null)"
		done
	done
	# the host used the guest's tick hints (pvtimer.rst, The guard)
	f=$PVT_DIR/on-tfd1000.stats
	g=$(awk '$1 == "pvtimer_guards" { print $2 }' "$f" 2>/dev/null)
	h=$(awk '$1 == "pvtimer_guards_hinted" { print $2 }' "$f" 2>/dev/null)
	if [ "${h:-0}" -gt 0 ]; then
		tap "ok - l2/pvtimer guards ended at the guest's tick hint # $h of $g guards by the end of on tfd1000"
	else
		tap "not ok - l2/pvtimer guards ended at the guest's tick hint # ${h:-no count} of ${g:-?} guards by the end of on tfd1000"
	fi
	[ "${1:-1}" -le 1 ] || pvt_rounds_report "$1"
	if [ -s "$PVT_DIR/interleaved" ]; then
		echo "pvtimer interleaved: lateness alone (us), $PVT_PAIRS pairs per load of one block off (the device parked) and one on (lazy), each first in every other pair (ns1000, tfd1000: 250 wake-ups a block, ns100: 500); every wake-up of a mode pooled: n, p50, p99, their ratios on/off against the target; the pairs' own p99 ratios: median, and pairs where on was not worse"
		cat "$PVT_DIR/interleaved"
	fi
	echo "pvtimer: host module counters, with the poller (after poll-idle)"
	sed 's/^/pvtimer:   /' "$PVT_DIR/poll-idle.stats" 2>/dev/null || true
	echo "pvtimer: host module counters"
	sed 's/^/pvtimer:   /' /sys/kernel/debug/exitless/stats 2>/dev/null || true
}

if [ "${stages#*,pvtimer,}" != "$stages" ]; then
	stage_start pvtimer
	# with its poller: the guest's poll phase asks for it (pvtimer_poll)
	if grep -q '^exitless_host ' /proc/modules; then
		$guard rmmod exitless_host || tap "not ok - l1/rmmod exitless_host for pvtimer"
	fi
	# the guest's own insmod-host requests load it the same way
	host_args="pvtimer_poll_us=$PVT_POLL_US"
	# shellcheck disable=SC2086 # host_args: module parameters
	$guard insmod "$ko" $host_args ||
		tap "not ok - l1/insmod exitless_host $host_args for pvtimer"
	rm -rf "$PVT_DIR"
	# the guest without dynidle (selftests/pvtimer/run.sh)
	pvt_dyn=
	! grep -qw exitless.pvt_dynidle=0 /proc/cmdline || pvt_dyn=" exitless.pvt_dynidle=0"
	if grep -qw exitless.pvt_bench=1 /proc/cmdline; then
		# (2 L1 CPUs, multi-threaded TCG: see the dynidle stage).  First,
		# since its one_cpu takes CPU 1 offline, which unpins a task
		# pinned there.
		kvm_anchor_start ||
			echo "# no kvm_anchor: KVM's static keys may patch L1 text"
		# make bench: the poller on an L1 CPU of its own (CPU 1), the
		# L2's vCPUs on CPU 0; the loads only (no host reload)
		for p in /proc/[0-9]*; do
			read -r c < "$p/comm" 2>/dev/null || continue
			[ "$c" != exitless-pvtpoll ] || taskset -p -c 1 "${p#/proc/}"
		done
		L2_PIN="taskset -c 0" run_l2 pvtimer 2 "exitless.stage=pvtimer exitless.pvt_bench=1 exitless.pvt_rounds=$PVT_ROUNDS exitless.pvt_pairs=$PVT_PAIRS$pvt_dyn"
		kvm_anchor_stop
	else
		run_l2 pvtimer 2 "exitless.stage=pvtimer$pvt_dyn"
		# a guest without an HPET keeps exitless_guest loaded
		# (selftests/pvtimer/nohpet.sh)
		host_up "for pvtimer-nohpet"
		L2_QEMU_ARGS="-machine hpet=off" run_l2 pvtimer-nohpet 2 \
			"exitless.stage=pvtimer exitless.script=nohpet.sh"
		# a guest whose HLT does not exit gets no pvtimer, and says
		# so once (selftests/pvtimer/cpupm.sh); one vCPU: with two,
		# 6.1's KVM here stopped the L2 in SeaBIOS's AP hlt loop
		# ("KVM internal error", emulation failure, 2026-12-07)
		host_up "for pvtimer-cpupm"
		L2_QEMU_ARGS="-overcommit cpu-pm=on" run_l2 pvtimer-cpupm 1 \
			"exitless.stage=pvtimer exitless.script=cpupm.sh"
	fi
	host_args=""
	[ -s "$out/pvtimer.txt" ] || tap "not ok - l2/pvtimer table # the guest never asked for pvtimer-check"
	stage_end pvtimer
fi

# migrate: QEMU live migration of a pvtimer L2, with and without the host
# module (selftests/qemu/l1-migrate.sh, selftests/pvtimer/migrate.sh)
if [ "${stages#*,migrate,}" != "$stages" ]; then
	stage_start migrate
	# shellcheck source=selftests/qemu/l1-migrate.sh
	. "$top/selftests/qemu/l1-migrate.sh"
	run_l2_migrate
	stage_end migrate
fi

# --- lockdep and kmemleak (the debug kernel of make debug) -----------------
# (selftests/lib/kcheck.sh) lockdep still validating at the end, and
# which of exitless_host's lock classes it knows; then, with the module
# removed, nothing it allocated unreferenced
kcheck_lockdep l1 ': (exitless_[a-z_]*lock|&pt->lock)$' | collect
kcheck_kmemleak l1 exitless_host "$out/l1-kmemleak.txt" | collect

# --- L1's own kernel log ---------------------------------------------------
dmesg > "$out/l1-dmesg.txt"
scan_klog "$out/l1-dmesg.txt" "l1/kernel log clean" | collect
exit 0
