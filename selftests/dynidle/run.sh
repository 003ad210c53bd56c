#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dynidle in an L2 Linux guest (busybox sh, 2 vCPUs), L1 running
# exitless_host: the cpuidle driver registers when dynidle is negotiated;
# under a pipe ping-pong between CPU 0 and CPU 1, polls end in wake-ups
# and the HLT exits KVM counts in L1 drop against the same driver with
# polling off (dynidle_poll_max_ns=0: every idle period halts at once);
# with L1's CPUs busy (a hog on each) the host's hint stops the polling;
# the "dynidle" parameter takes the driver away and gives it back;
# the driver goes when the host module goes and comes back with it; the
# guest module unloads cleanly under the load.  With the argument
# "no-text-changes" nothing makes L1 or L2 change kernel text: no host
# module reload, and the guest module without pvtimer (see KO_ARGS).
# With "tracepoint-only": load, then only the exitless_dynidle_idle
# tracepoint (it records idle periods), unload.
# usage: run.sh [no-text-changes | tracepoint-only]
#
# Talks to L1 through the console: "EXITLESS-SYNC: <action>" lines (see
# selftests/qemu/l1-main.sh): rmmod-host, insmod-host, and dynidle-mark-<name>
# (L1 saves KVM's halt_exits and exits), dynidle-check (L1 compares the
# marks and prints its own TAP line), dynidle-hog-start/-stop.
# Output: "ok N - dynidle/<name>" / "not ok N - dynidle/<name>"
# ("dynidle-trace/<name>" with tracepoint-only); exit 1 on any failure.
# shellcheck disable=SC2317 # predicates are called through check and wait_until
set -eu

KO=${EXITLESS_GUEST_KO:-/exitless_guest.ko}
PP=${EXITLESS_PINGPONG:-/selftests/dynidle/pingpong}
SYS=/sys/kernel/exitless
PAR=/sys/module/exitless_guest/parameters
IDLE=/sys/devices/system/cpu/cpuidle/current_driver
TIMEOUT=${EXITLESS_TIMEOUT:-30}
TRIPS=${EXITLESS_DYNIDLE_TRIPS:-3000}
# L1 runs each action after reading our console: give it time
SYNC_WAIT=${EXITLESS_SYNC_WAIT:-3}
# Under multi-threaded TCG (the dynidle boot, selftests/qemu/run.sh) a
# text change may reach other CPUs stale.  pvtimer registers tracepoint
# probes (sched_switch, x86_platform_ipi_entry) when it starts and
# unregisters them when it stops, and each flips a static key, which
# patches L2 text: CI lost two 6.1 L2s of that boot (2026-12-02) right
# after "rmmod exitless_guest" under the ping-pong, one reset with no
# kernel message, one silent with a vCPU at asm_exc_int3 while the other
# waited in exitless_dynidle_drain().  So with "no-text-changes" the
# module is loaded without pvtimer: FEATURES (area, pvipi, dynidle).
MODE=${1:-}
FEATURES=
[ "$MODE" != no-text-changes ] || FEATURES=0xb
KO_ARGS=${FEATURES:+features=$FEATURES}

TAP_NAME=dynidle
[ "$MODE" != tracepoint-only ] || TAP_NAME=dynidle-trace
# shellcheck source=selftests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

sync_l1() {
	echo "EXITLESS-SYNC: $1"
	sleep "$SYNC_WAIT"
}

rd() {
	cat "$1" 2>/dev/null || echo "?"
}

# dy <field>: a counter of /sys/kernel/exitless/dynidle
dy() {
	awk -v k="$1" '$1 == k { print $2 }' "$SYS/dynidle" 2>/dev/null || echo 0
}

dump() {
	echo "# state=$(rd "$SYS/state") features_enabled=$(rd "$SYS/features_enabled") idle driver=$(rd "$IDLE")"
	sed 's/^/# dynidle: /' "$SYS/dynidle" "$SYS/dynidle_cpus" 2>/dev/null || true
}

driver_in_use() {
	[ "$(rd "$SYS/state")" = active ] && [ "$(dy in_use)" = 1 ] &&
		[ "$(rd "$IDLE")" = exitless_dynidle ]
}

driver_gone() {
	[ "$(dy in_use)" != 1 ] && [ "$(rd "$IDLE")" != exitless_dynidle ]
}

# snap <prefix>: the counters into shell variables <prefix>_<field>
snap() {
	for f in entries polls_woken polls_halted polls_deadline halts_direct contended poll_ns; do
		eval "${1}_$f=$(dy $f)"
	done
}

# delta <field> <before prefix> <after prefix>
delta() {
	eval "echo \$((\${3}_$1 - \${2}_$1))"
}

# pingpong <trips>: the load, its output as a comment; sets rt_ns
pingpong() {
	out=$("$PP" "$1" 2>&1) || { echo "# $out"; return 1; }
	echo "# $out"
	rt_ns=$(echo "$out" | awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "ns/round") print $i }')
}

# trace_events: the exitless_dynidle_idle tracepoint records idle periods,
# one event each, with every field
EV=/sys/kernel/debug/tracing/events/exitless_guest/exitless_dynidle_idle
trace_events() {
	[ -w "$EV/enable" ] || { echo "# $EV not writable"; return 1; }
	echo 1 > "$EV/enable"
	pingpong 200 >/dev/null || true
	echo 0 > "$EV/enable"
	nev=$(grep -cE 'exitless_dynidle_idle: cpu [0-9]+ budget [0-9]+ polled [0-9]+ idle [0-9]+ window [0-9]+ outcome (skipped|woken|halted|deadline)' /sys/kernel/debug/tracing/trace || true)
	echo "# tracepoint: $nev idle periods traced over 200 round trips"
	: > /sys/kernel/debug/tracing/trace
	[ "$nev" -gt 0 ]
}

cpus=$(grep -c ^processor /proc/cpuinfo)
echo "# dynidle stage: $cpus CPUs, $TRIPS round trips per load"
if [ "$cpus" -lt 2 ] || [ ! -x "$PP" ]; then
	echo "# SKIP: needs 2+ CPUs and $PP"
	ok all "SKIP needs 2+ CPUs and pingpong"
	exit 0
fi
echo "# idle driver before: $(rd "$IDLE"), governor $(rd /sys/devices/system/cpu/cpuidle/current_governor_ro)"

# --- negotiated, driver registered ---------------------------------------
if insmod "$KO" ${KO_ARGS:+"$KO_ARGS"}; then ok load; else not_ok load; exit 1; fi
check driver_registered wait_until driver_in_use
[ -z "$FEATURES" ] ||
	check negotiated_without_pvtimer [ "$(rd "$SYS/features_enabled")" = "$FEATURES" ]
dump

# --- the tracepoint, alone ------------------------------------------------
# Enabling an event patches L2 text (the event's static key; the sched
# tracepoints' for the comm cache).  L1 under multi-threaded TCG, the
# dynidle boot's, is known to show patched code stale to other CPUs
# (selftests/qemu/run.sh).  With the check in that boot, CI lost a 6.12
# L2 to an oops with RIP one byte into the tracepoint's 2-byte NOP in
# exitless_dynidle_enter() (as after an int3 already patched away), and
# a 6.1 L2 ended with no word after its last check.  So the tracepoint
# is checked in an L2 of its own, in an L1 with one TCG thread
# (l1-main.sh's guest boot).
if [ "$MODE" = tracepoint-only ]; then
	check tracepoint_events trace_events
	if rmmod exitless_guest; then ok unload; else not_ok unload; fi
	tap_done
fi

# --- ping-pong: polling off, then on, HLT exits counted in L1 -------------
max0=$(rd "$PAR/dynidle_poll_max_ns")
echo 0 > "$PAR/dynidle_poll_max_ns"
pingpong 200 >/dev/null || true		# warm up
sync_l1 dynidle-mark-off-begin
snap a
check pingpong_polling_off pingpong "$TRIPS"
rt_off=${rt_ns:-0}
snap b
sync_l1 dynidle-mark-off-end
echo "# polling off: entries $(delta entries a b), halts $(delta halts_direct a b), polls $(($(delta polls_woken a b) + $(delta polls_halted a b)))"

# Under TCG a round trip takes far longer than on hardware: a window of
# 4 round trips (at least the default) lets the poll see the wake-up.
win=$((rt_off * 4))
[ "$win" -ge "$max0" ] || win=$max0
[ "$win" -le 20000000 ] || win=20000000
echo "$win" > "$PAR/dynidle_poll_max_ns"
echo "# poll window max ${win} ns (round trip with polling off: ${rt_off} ns)"
pingpong 200 >/dev/null || true		# let the window grow
sync_l1 dynidle-mark-on-begin
snap c
check pingpong_polling_on pingpong "$TRIPS"
rt_on=${rt_ns:-0}
snap d
sync_l1 dynidle-mark-on-end
sync_l1 dynidle-check
woken=$(delta polls_woken c d)
halted=$(($(delta polls_halted c d) + $(delta halts_direct c d)))
echo "# polling on: entries $(delta entries c d), polls woken $woken, back at the timer $(delta polls_deadline c d), halts $halted, polled $(delta poll_ns c d) ns; round trip $rt_off -> $rt_on ns"
check polls_end_in_wakeups [ "$woken" -gt 0 ]
check fewer_halts_than_polling_off [ "$halted" -lt "$(delta halts_direct a b)" ]
dump

# --- contended host: L1 hogs its CPUs, the host's hint stops polling -----
sync_l1 dynidle-hog-start
snap e
check pingpong_contended pingpong $((TRIPS / 10))
snap f
sync_l1 dynidle-hog-stop
echo "# contended: entries $(delta entries e f), contended $(delta contended e f), polls woken $(delta polls_woken e f), polled $(delta poll_ns e f) ns"
check contended_seen [ "$(delta contended e f)" -gt 0 ]
echo "$max0" > "$PAR/dynidle_poll_max_ns"

# --- the operator's switch: dynidle=0 gives idle back, 1 takes it again --
echo 0 > "$PAR/dynidle"
check switch_off_driver_gone wait_until driver_gone
check switch_off_still_active [ "$(rd "$SYS/state")" = active ]
snap g
check switch_off_native_idle pingpong 200
snap h
check switch_off_driver_unused [ "$(delta entries g h)" -eq 0 ]
echo 1 > "$PAR/dynidle"
check switch_on_driver_in_use wait_until driver_in_use

# --- host module removed and loaded again --------------------------------
# (not with "no-text-changes": L1 then must not patch text while we run)
if [ "$MODE" != no-text-changes ]; then
	echo "EXITLESS-SYNC: rmmod-host"
	check host_removed_driver_gone wait_until driver_gone
	check native_idle_while_dormant pingpong 200
	echo "EXITLESS-SYNC: insmod-host"
	check host_back_driver_in_use wait_until driver_in_use
fi

# --- guest module unloaded under load ------------------------------------
"$PP" 100000 > /tmp/pp.out 2>&1 &
ppid=$!
sleep 2
if rmmod exitless_guest; then ok unload_under_load; else not_ok unload_under_load; fi
kill "$ppid" 2>/dev/null || true
wait "$ppid" 2>/dev/null || true
check driver_gone_after_unload driver_gone
echo "# idle driver after unload: $(rd "$IDLE")"
check native_after_unload pingpong 200
if insmod "$KO" ${KO_ARGS:+"$KO_ARGS"}; then
	check reload_in_use wait_until driver_in_use
else
	not_ok reload_in_use
fi

no_errors() {
	! dmesg | grep -v taint | grep -E 'exitless_guest: .*(failed|never freed|not freed|not registered)'
}
check no_errors_logged no_errors
dmesg | grep 'exitless' | sed 's/^/#   /' || true

tap_done
