#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench, dynidle, L2 side (busybox sh, 2 vCPUs): the same four loads
# under each idle configuration of the issue, one configuration per L2
# boot (L1 sets KVM's halt_poll_ns before each boot, and the command line
# selects cpuidle-haltpoll):
#   stock      no guest polling, L1 halt_poll_ns=0
#   hostpoll   no guest polling, L1 halt_poll_ns at KVM's default
#   haltpoll   cpuidle_haltpoll.force=1 (upstream guest halt polling)
#   dynidle    exitless_guest.ko (same boot as hostpoll, after it)
# Loads: pipe ping-pong and TCP request-response over loopback between
# CPU 0 and CPU 1 (round trip: mean, p50, p99), an idle guest (sleep),
# the pipe ping-pong with every L1 CPU busy (hogs: contended host), and
# "ipi": CPU 0 calling smp_call_function_many() to every other CPU (the
# one other: CPU 1, idle), back to back, from exitless_ipibench.ko
# (selftests/pvipi/ipibench/): the IPIs a polling target is spared.  An
# IPI to one CPU is an x2APIC ICR write (upstream PV IPI takes only the
# mask senders) or, with exitless, a PVIPI_SEND: an exit either way, and
# KVM's exits and hypercalls per call are counted.
# Under dynidle, the idle load also prints dynidle's counters and, with
# exitless.bench_trace=1, the idle periods that polled (its tracepoint),
# as "#" lines.
# For each, L1 counts KVM's halt_exits, exits, host halt-poll time and
# its own CPU time between "bench-begin" and "bench-end" (l1-bench.sh),
# and this side prints the guest's time spent polling: dynidle's poll_ns
# plus the time of every cpuidle state named POLL.
# Latency rounds: round-trip times under TCG move more between L2 boots
# than between configurations, so L1 boots haltpoll and dynidle again,
# alternately, and each such boot runs the pipe, TCP and idle loads once
# more ("round <config> <window> <n>"); the report takes the median of
# the rounds' p50 ratios, and the idle polling time over all rounds.
# "multi" (L1 with 4+ CPUs, one per vCPU of a 4-vCPU L2): the ipi load
# alone, without exitless_guest and with it (phases multi-stock and
# multi-dynidle): a multicast to 3 CPUs, which the kernel sends without
# its TIF_POLLING_NRFLAG check, so only pvipi's polling word spares it.
# "abab": haltpoll and dynidle in one boot, in turn, <passes> times each
# after a warm-up pass 0 that is not counted (haltpoll first in odd
# passes, dynidle first in even ones): haltpoll is exitless_haltpoll.ko, the
# kernel's own cpuidle-haltpoll built as a module (selftests/dynidle/
# haltpoll/), loaded with force=1 and removed again; each turn runs the
# pipe and TCP loads without L1's marks (latency only) and prints
# "BENCH: dynidle-abab pass=<i> config=<c> work=<load> ..." (L1 sums
# them up: l1-bench.sh).  One boot: what moves between boots under TCG
# moves both alike.  Each dynidle turn loads exitless_guest whole, as the
# other dynidle boots do; its load and unload patch L2 text (tracepoint
# static keys), 2 * <passes> + 2 times per boot, which under multi-
# threaded TCG may kill the L2 (see selftests/dynidle/run.sh): the
# summary then counts the passes done.  With <mode> "switch" (default
# "reload"), exitless_guest is loaded once and stays: its "dynidle"
# parameter takes the driver away for each haltpoll turn and gives it
# back for each dynidle turn, so both run with exitless's pvipi and
# pvtimer (which syncs the idle task's arms under haltpoll, whose polls
# know no deadline: Documentation/pvtimer.rst), and no turn changes
# L2's text but haltpoll's load and removal.
# usage: bench.sh stock|hostpoll|haltpoll|multi [<poll window ns>]
#        bench.sh round haltpoll|dynidle <poll window ns> <round>
#        bench.sh abab <poll window ns> <passes> [reload|switch]
# Output: "BENCH: dynidle phase=<p> [round=<n>] work=<w> key=value ..."
# lines; the stock boot also prints "BENCH: dynidle window_ns=<ns>": 4
# stock pipe round trips (at least 200 us), the poll window cap that L1
# passes to the later boots for haltpoll and dynidle alike.
set -eu

KO=${EXITLESS_GUEST_KO:-/exitless_guest.ko}
PP=${EXITLESS_PINGPONG:-/selftests/dynidle/pingpong}
TL=${EXITLESS_TIMERLOOP:-/selftests/pvtimer/timerloop}
ABAB_SLEEPS=${EXITLESS_ABAB_SLEEPS:-1000}
SYS=/sys/kernel/exitless
PAR=/sys/module/exitless_guest/parameters
TRIPS=${EXITLESS_BENCH_TRIPS:-3000}
IPIB=/sys/kernel/debug/exitless_ipibench
IPI_CALLS=${EXITLESS_BENCH_IPI_CALLS:-1000}
IDLE_S=${EXITLESS_BENCH_IDLE_S:-10}
SYNC_WAIT=${EXITLESS_SYNC_WAIT:-3}
boot=${1:?stock, hostpoll, haltpoll or round}
window=${2:-200000} round='' loads="pipe tcp idle contended ipi"
if [ "$boot" = round ]; then
	boot=${2:?haltpoll or dynidle} window=${3:?poll window} round=${4:?round}
	loads="pipe tcp idle"
elif [ "$boot" = abab ]; then
	window=${2:?poll window} passes=${3:?passes} abab_mode=${4:-reload}
elif [ "$boot" = multi ]; then
	loads="ipi"	# 4+ vCPUs: a multicast to polling targets
fi

sync_l1() {
	echo "EXITLESS-SYNC: $*"
	sleep "$SYNC_WAIT"
}

# counters: sets gp, the time this guest has spent polling in idle, all
# CPUs (dynidle's poll_ns plus every cpuidle POLL state's time), and dc,
# dynidle's totals as "name value ..." (empty without dynidle), from one
# read of each file.  Shell builtins only: no process may start inside a
# measured load, or the idle load would measure the wake-ups of this
# script's own commands.
counters() {
	gp=0 dc=
	if [ -r "$SYS/dynidle" ]; then
		while read -r k v; do
			case "$k" in
			in_use | host_poll_control) ;;
			*) dc="$dc$k $v " ;;
			esac
			[ "$k" != poll_ns ] || gp=$v
		done < "$SYS/dynidle"
	fi
	for s in /sys/devices/system/cpu/cpu*/cpuidle/state*; do
		[ -r "$s/name" ] || continue
		read -r nm < "$s/name"
		[ "$nm" = POLL ] || continue
		read -r us < "$s/time"
		gp=$((gp + us * 1000))
	done
}

# pvipi_counts: the guest's pvipi counters as "name value ..." (empty
# without exitless_guest); builtins only, as counters
pvipi_counts() {
	[ -r "$SYS/pvipi" ] || return 0
	while read -r k v; do
		printf '%s %s ' "$k" "$v"
	done < "$SYS/pvipi"
}

# pp <args>: one ping-pong; sets the round-trip figures
pp() {
	out=$("$PP" "$@" 2>&1) || { echo "# pingpong failed: $out"; return 1; }
	echo "# $out"
	# shellcheck disable=SC2086 # split the line into fields
	set -- $out
	# pingpong: N round trips in S s, M ns/round trip, p50 A ns, p99 B ns
	rt_n=$2 rt_mean=$8 rt_p50=${12} rt_p99=${15}
}

# dyn_delta <before> <after>: "name=after-before ..." for two "name
# value ..." lists (dc, is), matched by name: a name in one list only
# (a driver that came or went in between) is left out
dyn_delta() {
	echo "$1 / $2" | awk '{ for (i = 1; i < NF && $i != "/"; i += 2) b[$i] = $(i + 1)
		for (i++; i < NF; i += 2) if ($i in b) printf "%s=%.0f ", $i, $(i + 1) - b[$i] }'
}

# idle loads under dynidle: what its idle periods were (tracepoint)
TRACE=/sys/kernel/debug/tracing
# Only with exitless.bench_trace=1 on the command line (EXITLESS_BENCH_TRACE
# of selftests/qemu/run.sh): switching a tracepoint patches text, and this
# L2 runs in an L1 under multi-threaded TCG, where other CPUs may run the
# patched code stale (an L2 was lost so).
dyn_trace() {
	grep -qw exitless.bench_trace=1 /proc/cmdline || return 0
	[ -r "$SYS/dynidle" ] && [ -w "$TRACE/events/exitless_guest/exitless_dynidle_idle/enable" ] || return 0
	case "$1" in
	on)
		: > "$TRACE/trace"
		echo 1 > "$TRACE/events/exitless_guest/exitless_dynidle_idle/enable" ;;
	off)
		echo 0 > "$TRACE/events/exitless_guest/exitless_dynidle_idle/enable" ;;
	report)
		# per second, from the wait before L1's begin mark to the
		# one after its end mark: idle periods, those that polled, the
		# time polled and the largest window; then the first 10 polls
		grep -v '^#' "$TRACE/trace" | awk '
			{ for (i = 1; i < NF; i++) v[$i] = $(i + 1)
			  for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) t = $i + 0
			  if (!all++) t0 = t
			  s = int(t - t0); if (s > last) last = s
			  per[s]++; tot_ns += v["polled"]
			  if (v["polled"] > 0) { np[s]++; ns[s] += v["polled"]; n++
				if (n <= 10) first = first "# poll: " $0 "\n" }
			  if (v["window"] + 0 > win[s] + 0) win[s] = v["window"] }
			END { for (s = 0; s <= last; s++) if (per[s])
				printf "# dynidle trace: s+%d periods %d polled %d ns %d window max %d\n", s, per[s], np[s], ns[s], win[s]
			      printf "# dynidle trace: %d idle periods, %d polled, %d ns\n%s", all, n, tot_ns, first }' ;;
	esac
}

# work <phase> <load>: one load between L1's marks, one BENCH line
work() {
	phase=$1 load=$2 extra=
	[ "$load" != contended ] || sync_l1 bench-hog-start
	# switching the tracepoint patches text, with IPIs to every CPU: a
	# burst of wake-ups a poll window learns from; do it outside the
	# load, before the wait at L1's mark
	[ "$load" != idle ] || dyn_trace on
	sync_l1 bench-begin "$phase" "$load" "$round"
	counters
	c0=$dc p0=$gp
	read -r t0 _ < /proc/uptime
	rt_n=0 rt_mean=0 rt_p50=0 rt_p99=0
	case "$load" in
	pipe) pp "$TRIPS" || true ;;
	tcp) pp -t "$TRIPS" || true ;;
	idle)
		# shellcheck disable=SC3045 # busybox ash has read -t
		read -r -t "$IDLE_S" _ <&3 || true ;;	# sleep is a process
	contended) pp $((TRIPS / 10)) || true ;;
	ipi)
		ipi_r="error=ipibench"
		pv0=$(pvipi_counts)
		if echo "multi $IPI_CALLS" > "$IPIB/run"; then
			read -r ipi_r < "$IPIB/result"
		fi
		pv1=$(pvipi_counts) ;;
	esac
	read -r t1 _ < /proc/uptime
	counters
	p1=$gp
	sync_l1 bench-end "$phase" "$load" "$round"
	[ "$load" != idle ] || dyn_trace off
	[ "$load" != contended ] || sync_l1 bench-hog-stop
	# what is printed now is outside the load and L1's marks
	[ -z "$c0" ] || echo "# dynidle during $load: $(dyn_delta "$c0" "$dc")"
	[ "$load" != idle ] || dyn_trace report
	[ "$load" != ipi ] || [ -z "$pv0" ] ||
		echo "# pvipi during ipi (the guest's own counters): $(dyn_delta "$pv0" "$pv1")"
	case "$load" in
	idle) ;;
	# ipibench's "kind=multi calls=..." line, less what repeats
	ipi) extra=$(echo "$ipi_r" | sed 's/^kind=multi //; s/ gap_us=.*//') ;;
	*) extra="trips=$rt_n rt_ns=$rt_mean p50_ns=$rt_p50 p99_ns=$rt_p99" ;;
	esac
	echo "BENCH: dynidle phase=$phase ${round:+round=$round }work=$load secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') guest_poll_ns=$((p1 - p0)) $extra"
}

phase() {
	echo "# phase $1: idle driver $(idle_driver), governor $(cat /sys/devices/system/cpu/cpuidle/current_governor_ro 2>/dev/null || echo none)"
	"$PP" 200 >/dev/null || true	# warm up (and let windows grow)
	for load in $loads; do
		work "$1" "$load"
	done
}

# idle_driver: the cpuidle driver in use, or "none"
idle_driver() {
	cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo none
}

# wait_dynidle <1|0>: wait until exitless_dynidle is (1) or is not (0)
# the idle driver, for 30 s at most; false if it never came to be
wait_dynidle() {
	i=0
	while :; do
		now=0
		[ "$(idle_driver)" != exitless_dynidle ] || now=1
		[ "$now" != "$1" ] || return 0
		i=$((i + 1))
		[ "$i" -lt 30 ] || return 1
		sleep 1
	done
}

# dynidle_on: load exitless_guest.ko and wait for its idle driver
dynidle_on() {
	if ! insmod "$KO"; then
		echo "BENCH: dynidle phase=dynidle error=insmod"
		exit 1
	fi
	wait_dynidle 1 || { echo "BENCH: dynidle phase=dynidle error=driver"; exit 1; }
	echo "$window" > "$PAR/dynidle_poll_max_ns"
}

# dynidle_switch <0|1>: exitless_guest's dynidle parameter, then wait
# for the idle driver to follow (switch mode of abab)
dynidle_switch() {
	echo "$1" > "$PAR/dynidle" ||
		{ echo "BENCH: dynidle-abab error=dynidle-switch-$1"; exit 1; }
	wait_dynidle "$1" ||
		{ echo "BENCH: dynidle-abab error=dynidle-switch-$1-driver"; exit 1; }
}

# haltpoll_cap: the governor's cap where it has one (6.12; 6.1's Debian
# kernel has the driver but not the haltpoll governor: menu picks POLL)
haltpoll_cap() {
	g=/sys/module/haltpoll/parameters/guest_halt_poll_ns
	[ ! -w "$g" ] || echo "$window" > "$g"
	echo "# haltpoll: guest_halt_poll_ns $(cat "$g" 2>/dev/null || echo none)"
}

# window_cap: sets window, the poll window cap for haltpoll and dynidle
# alike: 4 pipe round trips without guest polling, 200 us to 20 ms
window_cap() {
	"$PP" 200 >/dev/null || true
	pp "$TRIPS" || true
	window=$((rt_mean * 4))
	[ "$window" -ge 200000 ] || window=200000
	[ "$window" -le 20000000 ] || window=20000000
}

# idle_snap: sets is, "name value ..." of what the idle path did so far:
# each cpuidle state's usage and time (us) summed over the CPUs, by the
# first word of its name (haltpoll: POLL and haltpoll; dynidle: DYNIDLE),
# the guest's steal time (/proc/stat, USER_HZ ticks), dynidle's totals
# and pvtimer's arms, lazy arms, syncs and settles (pvt_*)
idle_snap() {
	is='' names=''
	for s in /sys/devices/system/cpu/cpu*/cpuidle/state*; do
		[ -r "$s/name" ] || continue
		read -r nm _ < "$s/name"	# "haltpoll idle": haltpoll
		case "$nm" in '' | *[!A-Za-z0-9_]*) continue ;; esac
		read -r u < "$s/usage"
		read -r t < "$s/time"
		case " $names " in *" $nm "*) ;; *) names="$names $nm" ;; esac
		eval "su_$nm=\$((\${su_$nm:-0} + $u)) st_$nm=\$((\${st_$nm:-0} + $t))"
	done
	for nm in $names; do
		eval "is=\"\${is}${nm}_usage \$su_$nm ${nm}_us \$st_$nm \"; unset su_$nm st_$nm"
	done
	read -r _ _ _ _ _ _ _ _ steal _ < /proc/stat
	counters
	is="${is}steal_ticks $steal $dc"
	if [ -r "$SYS/pvtimer" ]; then
		while read -r k v; do
			case "$k" in
			arms | lazy_arms | syncs | settles | poll_syncs) is="${is}pvt_$k $v " ;;
			esac
		done < "$SYS/pvtimer"
	fi
}

# abab_turn <pass> <config>: one turn: pipe and TCP round trips, then
# the timer lateness of a 1 ms nanosleep loop on CPU 1 (only "#" lines:
# the summary is about round trips); after each load a "#" line of what
# its idle periods did (idle_snap's deltas)
abab_turn() {
	"$PP" 200 >/dev/null || true	# warm up (and let windows grow)
	for load in pipe tcp sleep; do
		[ "$load" != sleep ] || [ -x "$TL" ] || continue
		rt_n=0 rt_mean=0 rt_p50=0 rt_p99=0
		idle_snap
		i0=$is
		case "$load" in
		pipe) pp "$TRIPS" || true ;;
		tcp) pp -t "$TRIPS" || true ;;
		sleep) tl=$("$TL" -m nanosleep -i 1000 -n "$ABAB_SLEEPS" -c 1 2>&1) ||
			tl="failed: $tl" ;;
		esac
		idle_snap
		if [ "$load" = sleep ]; then
			echo "# abab pass=$1 config=$2 work=sleep $tl"
		else
			echo "BENCH: dynidle-abab pass=$1 config=$2 work=$load trips=$rt_n rt_ns=$rt_mean p50_ns=$rt_p50 p99_ns=$rt_p99"
		fi
		echo "# abab pass=$1 config=$2 work=$load idle: $(dyn_delta "$i0" "$is")"
	done
}

# haltpoll_mod <on|off>: the kernel's own haltpoll driver as a module
haltpoll_mod() {
	if [ "$1" = off ]; then
		rmmod exitless_haltpoll || { echo "BENCH: dynidle-abab error=rmmod-haltpoll"; exit 1; }
		return 0
	fi
	if ! insmod /exitless_haltpoll.ko force=1; then
		echo "BENCH: dynidle-abab error=insmod-haltpoll"
		exit 1
	fi
	[ "$(idle_driver)" = haltpoll ] ||
		{ echo "BENCH: dynidle-abab error=haltpoll-driver"; exit 1; }
	haltpoll_cap
}

ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
insmod /exitless_ipibench.ko || echo "# exitless_ipibench.ko not loaded: no ipi load"
# the idle load waits on this FIFO, which nothing writes (a read with a
# timeout is a builtin; sleep would start a process inside the load)
mkfifo /tmp/bench-idle.fifo
exec 3<> /tmp/bench-idle.fifo
echo "# dynidle bench, boot $boot${round:+ (round $round)}: $(grep -c ^processor /proc/cpuinfo) CPUs, $TRIPS round trips, idle ${IDLE_S} s, window cap $window ns"
case "$boot" in
stock)
	window_cap
	echo "BENCH: dynidle window_ns=$window"
	phase stock
	;;
hostpoll)
	phase hostpoll
	dynidle_on
	phase dynidle
	sed 's/^/# /' "$SYS/dynidle"
	rmmod exitless_guest
	;;
multi)	# the ipi load alone, 4+ vCPUs: stock, then dynidle
	phase multi-stock
	dynidle_on
	phase multi-dynidle
	sed 's/^/# /' "$SYS/pvipi"
	rmmod exitless_guest
	;;
dynidle)	# latency rounds only ("round dynidle ...")
	dynidle_on
	phase dynidle
	rmmod exitless_guest
	;;
haltpoll)
	haltpoll_cap
	phase haltpoll
	;;
abab)
	[ -r /exitless_haltpoll.ko ] ||
		{ echo "BENCH: dynidle-abab error=no-exitless_haltpoll.ko"; exit 1; }
	if [ "$window" = 0 ]; then
		# no stock boot before this one: the cap from this boot, before
		# any idle driver is loaded (but with L1's halt polling on, unlike
		# the stock boot: a smaller cap; the same for both configs)
		window_cap
	fi
	case "$abab_mode" in
	reload | switch) ;;
	*) echo "BENCH: dynidle-abab error=mode-$abab_mode"; exit 1 ;;
	esac
	echo "BENCH: dynidle-abab window_ns=$window passes=$passes mode=$abab_mode"
	[ "$abab_mode" != switch ] || dynidle_on
	# pass 0 warms up (TCG translates both drivers' and the loads' code
	# paths; the first turns of a boot are slower): printed, not counted
	pass=0	# (wait_dynidle's counter is i)
	while [ "$pass" -le "$passes" ]; do
		order="haltpoll dynidle"
		[ $((pass % 2)) -eq 1 ] || order="dynidle haltpoll"
		for c in $order; do
			echo "# abab pass $pass: $c"
			if [ "$c" = haltpoll ]; then
				[ "$abab_mode" != switch ] || dynidle_switch 0
				haltpoll_mod on
				abab_turn "$pass" haltpoll
				haltpoll_mod off
			elif [ "$abab_mode" = switch ]; then
				dynidle_switch 1
				abab_turn "$pass" dynidle
			else
				dynidle_on
				abab_turn "$pass" dynidle
				rmmod exitless_guest
			fi
		done
		pass=$((pass + 1))
	done
	[ "$abab_mode" != switch ] || rmmod exitless_guest
	;;
*)
	echo "BENCH: dynidle error=unknown-boot-$boot"
	exit 1
	;;
esac
