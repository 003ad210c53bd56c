#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pvtimer across QEMU live migration, in an L2 Linux guest (busybox sh,
# 2 vCPUs), migrated inside L1 from one QEMU process to another one
# started with -incoming (selftests/qemu/l1-migrate.sh):
#   0. the baseline, before the guest module is loaded (lapic-deadline):
#      the same loop through a migration, its lateness printed, not
#      asserted (what a stock guest sees under the same migration);
#      C (last) the same after the guest module's unload;
#   A. host module loaded on both sides: a 1 ms nanosleep loop runs
#      through the migration; it finishes, its worst lateness is bounded,
#      and pvtimer is in use again soon after (the destination VM has an
#      epoch of its own: the guest registers again);
#   B. host module removed first (the guest parks: its devices arm the
#      APIC timer themselves), then the same loop through a migration:
#      it finishes, its worst lateness is bounded, every CPU is still
#      parked; the host module loaded again: pvtimer comes back.
# The worst lateness includes the migration's downtime.
#
# Talks to L1 through the console ("EXITLESS-SYNC: migrate", rmmod-host,
# insmod-host); L1 answers a migration on the second serial port, ttyS1:
# "migrated total_ms=<t> downtime_ms=<d>" or "failed <why>".
# Output: "ok N - pvtimer-migrate/<name>" / "not ok N - ..."; exit 1 on
# any failure.
#
# Arguments (exitless.arg=a=1,b=2) or env, defaults in brackets:
#   max_late_ms / EXITLESS_MIG_MAX_LATE_MS [5000]: each loop's worst
#     lateness allowed: a sanity bound (TCG, and the downtime counts);
#     the figures are printed: stock 0.15-0.59 s, pvtimer served
#     1.15-1.63 s, parked 0.72-2.23 s in the runs of 2026-12-01;
#   loop_s / EXITLESS_MIG_LOOP_S [45]: each migrated loop's length; it
#     should outlast the migration (a loop that does not is said in a
#     "# <phase>: warning: ..." line, not failed: the migration's length
#     depends on the machine's load), asked for loop_pre_s into it (in the
#     nested TCG setup a migration takes about 25 s from the request);
#   loop_pre_s / EXITLESS_MIG_LOOP_PRE_S [3];
#   control_s / EXITLESS_MIG_CONTROL_S [10]: a loop while parked, before
#     B's migration: the lateness of the parked device alone;
#   baseline / EXITLESS_MIG_BASELINE [1]: run phases 0 and C;
#   back_s / EXITLESS_MIG_BACK_S [5]: pvtimer in use again this long
#     after L1's answer (phase A);
#   return_s / EXITLESS_MIG_RETURN_S [8]: ... after insmod-host (phase B);
#   answer_s / EXITLESS_MIG_ANSWER_S [200]: the longest wait for L1's answer.
# shellcheck disable=SC2317 # predicates are called through check and wait_until
set -eu

ANSWER_TTY=/dev/ttyS1
TIMEOUT=20
SYNC_WAIT=3
MAX_LATE_MS=${EXITLESS_MIG_MAX_LATE_MS:-5000}
LOOP_S=${EXITLESS_MIG_LOOP_S:-45}
LOOP_PRE_S=${EXITLESS_MIG_LOOP_PRE_S:-3}
CONTROL_S=${EXITLESS_MIG_CONTROL_S:-10}
BASELINE=${EXITLESS_MIG_BASELINE:-1}
BACK_S=${EXITLESS_MIG_BACK_S:-5}
RETURN_S=${EXITLESS_MIG_RETURN_S:-8}
ANSWER_S=${EXITLESS_MIG_ANSWER_S:-200}
for a in "$@"; do
	case "$a" in
	max_late_ms=*) MAX_LATE_MS=${a#*=} ;;
	loop_s=*) LOOP_S=${a#*=} ;;
	loop_pre_s=*) LOOP_PRE_S=${a#*=} ;;
	control_s=*) CONTROL_S=${a#*=} ;;
	baseline=*) BASELINE=${a#*=} ;;
	back_s=*) BACK_S=${a#*=} ;;
	return_s=*) RETURN_S=${a#*=} ;;
	answer_s=*) ANSWER_S=${a#*=} ;;
	*) echo "# unknown argument $a" ;;
	esac
done

TAP_NAME=pvtimer-migrate
# shellcheck source=selftests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=selftests/pvtimer/lib.sh
. "$(dirname "$0")/lib.sh"

# served and parked replace lib.sh's for this stage: served also wants
# pvtimer on after a host change, parked only that every CPU arms its
# APIC timer itself.
# served: every CPU's device is exitless-pvtimer and none is parked
served() {
	all_on "$PVT" && [ "$(pv on)" = 1 ] && [ "$(pv cpus_direct)" = 0 ]
}

# served_new_epoch <epoch>: served, under another epoch than <epoch>
served_new_epoch() {
	e=$(rd "$SYS/host_epoch")
	[ "$e" != "$1" ] && [ "$e" != 0 ] && [ "$e" != "?" ] && served
}

# parked: every CPU's device is parked (arms the APIC timer itself)
parked() {
	[ "$(pv cpus_direct)" = "$cpus" ]
}

state() {
	echo "devices $(devices)| state=$(rd "$SYS/state") epoch=$(rd "$SYS/host_epoch") features_enabled=$(rd "$SYS/features_enabled") pvtimer=$(rd "$PAR/pvtimer") on=$(pv on) cpus_bound=$(pv cpus_bound) cpus_direct=$(pv cpus_direct) fallbacks=$(pv fallbacks) host_changes=$(rd "$SYS/host_changes")"
}

dump() {
	echo "# $(state)"
	if [ -r "$SYS/pvtimer" ]; then
		tr '\n' ' ' < "$SYS/pvtimer" | sed 's/^/# pvtimer: /'
		echo
	fi
}

# What a phase has to say while its loop runs is held back in HELD and
# printed by loop_end: each byte of L2's serial output is an exit to L2's
# QEMU in L1, and L1 CPU time, which the loop would take as lateness.
HELD=/tmp/held.out

# loop_start <seconds>: the 1 ms nanosleep loop in the background
loop_start() {
	loop_s=$1
	: > "$HELD"
	"$TL" -m nanosleep -i 1000 -n 100000000 -t "$loop_s" -S > /tmp/loop.out 2>&1 &
	lpid=$!
	loop_t0=$(uptime_s)
}

# migrate <phase>: ask L1 to migrate this guest, wait for its answer
# (sets mig: the answer's numbers, or empty when it failed)
migrate() {
	mig=
	echo "EXITLESS-SYNC: migrate"
	answer=
	# shellcheck disable=SC3045 # busybox ash's read has -t
	if ! read -r -t "$ANSWER_S" answer <&3; then
		not_ok_why "$1_migrated" "no answer from L1 on $ANSWER_TTY in $ANSWER_S s"
		return 1
	fi
	answer=$(echo "$answer" | tr -d '\r')
	case "$answer" in
	"migrated "*)
		mig=${answer#migrated }
		ok "$1_migrated" "$mig" ;;
	*)
		not_ok_why "$1_migrated" "L1: $answer"
		return 1 ;;
	esac
}

# loop_end <phase> [noassert]: wait for the loop (its length + 30 s at
# most from its start: longer is a lost timer), its TAP lines (with
# noassert, the lateness is printed but not held to the bound); sets worst
loop_end() {
	worst='?'
	while kill -0 "$lpid" 2>/dev/null &&
	      awk -v a="$(since "$loop_t0")" -v b=$((loop_s + 30)) 'BEGIN { exit !(a < b) }'; do
		sleep 1
	done
	cat "$HELD"
	if kill -0 "$lpid" 2>/dev/null; then
		not_ok_why "$1_loop_finished" "still running $(since "$loop_t0") s after it started, $loop_s s asked: a lost timer"
		dump
		kill "$lpid" 2>/dev/null || true
		wait "$lpid" 2>/dev/null || true
		not_ok_why "$1_lateness" "no result"
		return 0
	fi
	rc=0
	wait "$lpid" || rc=$?
	res=$(tail -n 1 /tmp/loop.out)
	echo "# $1 loop: $(cat /tmp/loop.out)"
	if [ "$rc" != 0 ]; then
		not_ok_why "$1_loop_finished" "timerloop exit $rc"
		not_ok_why "$1_lateness" "no result"
		return 0
	fi
	ok "$1_loop_finished" "n=$(field n "$res") in $(field elapsed_s "$res") s"
	worst=$(field max "$res")
	# the steal during that worst wait, and the worst lateness less the
	# steal of its own wait (timerloop -S): reported, not asserted
	lat="max ${worst} us ($(field worst_steal_us "$res") us of it stolen, unstolen max $(field unstolen_max_us "$res") us; p50 $(field p50 "$res"), p99 $(field p99 "$res"))"
	if [ "${2:-}" = noassert ]; then
		ok "$1_lateness" "$lat, not asserted; migration ${mig:-failed}"
	elif awk -v m="${worst:-x}" -v b="$MAX_LATE_MS" 'BEGIN { exit !(m + 0 == m && m < b * 1000) }'; then
		ok "$1_lateness" "$lat, bound ${MAX_LATE_MS} ms; migration ${mig:-failed}"
	else
		not_ok_why "$1_lateness" "$lat, bound ${MAX_LATE_MS} ms; migration ${mig:-failed}"
	fi
}

cpus=$(grep -c ^processor /proc/cpuinfo)
echo "# pvtimer migrate stage: $cpus CPUs; loops ${LOOP_S} s (migration asked ${LOOP_PRE_S} s in), lateness bound ${MAX_LATE_MS} ms"
if [ ! -x "$TL" ]; then
	not_ok_why timerloop_present "no $TL in the L2 initramfs"
	exit 1
fi
# L1's answers: ttyS1 open from now on (a UART's FIFO is cleared when the
# port is opened: an answer must find it open), raw, no echo
if [ -c "$ANSWER_TTY" ] && exec 3< "$ANSWER_TTY" && stty raw -echo <&3; then
	ok answer_port "$ANSWER_TTY"
else
	not_ok_why answer_port "cannot open $ANSWER_TTY (L1 answers there)"
	exit 1
fi

# --- 0: the stock baseline: lapic-deadline, no guest module -------------------
worst_s=-
if [ "$BASELINE" = 1 ]; then
	echo "# stock: clock event devices $(devices)"
	mig=
	loop_start "$LOOP_S"
	sleep "$LOOP_PRE_S"
	if migrate stock; then
		if kill -0 "$lpid" 2>/dev/null; then
			echo "# stock: the migration was answered $(since "$loop_t0") s into the loop"
		else
			echo "# stock: warning: the loop ($LOOP_S s) ended before the migration answer came (a slow migration on a busy machine): its lateness misses the switch-over; raise loop_s"
		fi >> "$HELD"
	fi
	loop_end stock noassert
	worst_s=$worst
fi

if insmod "$KO"; then ok load; else not_ok load; exit 1; fi
if wait_within 10 served; then
	ok served_every_cpu "$(devices)"
else
	not_ok_why served_every_cpu "$(state)"
fi
dump

# --- A: migrated with the host module on both sides --------------------------
e0=$(rd "$SYS/host_epoch")
mig=
loop_start "$LOOP_S"
sleep "$LOOP_PRE_S"
if migrate a; then
	t0=$(uptime_s)
	{
		if kill -0 "$lpid" 2>/dev/null; then
			echo "# a: the migration was answered $(since "$loop_t0") s into the loop"
		else
			echo "# a: warning: the loop ($LOOP_S s) ended before the migration answer came (a slow migration on a busy machine): its lateness misses the switch-over; raise loop_s"
		fi
		if wait_within "$BACK_S" served_new_epoch "$e0"; then
			ok a_served_again "after $(since "$t0") s; epoch $e0 -> $(rd "$SYS/host_epoch")"
		else
			not_ok_why a_served_again "not back $BACK_S s after the migration: $(state)"
		fi
		dump
	} >> "$HELD"
fi
loop_end a
worst_a=$worst
dump

# --- B: host module removed, then migrated -----------------------------------
t0=$(uptime_s)
echo "EXITLESS-SYNC: rmmod-host"
if wait_within 5 parked; then
	ok b_host_gone_parked "after $(since "$t0") s"
else
	not_ok_why b_host_gone_parked "not every CPU parked 5 s after rmmod-host: $(state)"
fi
dump
# control: the parked device alone, no migration
mig="none (control)"
loop_start "$CONTROL_S"
loop_end b_parked_control
worst_c=$worst
mig=
loop_start "$LOOP_S"
sleep "$LOOP_PRE_S"
if migrate b; then
	if kill -0 "$lpid" 2>/dev/null; then
		echo "# b: the migration was answered $(since "$loop_t0") s into the loop"
	else
		echo "# b: warning: the loop ($LOOP_S s) ended before the migration answer came (a slow migration on a busy machine): its lateness misses the switch-over; raise loop_s"
	fi >> "$HELD"
fi
dump >> "$HELD"
loop_end b
worst_b=$worst
if parked; then
	ok b_parked_after "$(state)"
else
	not_ok_why b_parked_after "$(state)"
fi
dump

t0=$(uptime_s)
echo "EXITLESS-SYNC: insmod-host"
if wait_within "$RETURN_S" served_new_epoch 0; then
	ok b_host_back_served "after $(since "$t0") s; epoch $(rd "$SYS/host_epoch")"
else
	not_ok_why b_host_back_served "not back $RETURN_S s after insmod-host: $(state)"
fi
dump
if out=$("$TL" -m nanosleep -i 1000 -n 200 2>&1); then
	ok after_back_ns1000 "$out"
else
	not_ok_why after_back_ns1000 "$out"
fi

# --- C: the guest module unloaded, migrated once more ------------------------
# CPU 1 (the loop's) has lapic-deadline again (CPU 0 may stay on the HPET:
# pvtimer.rst): the stock baseline once more, late in the boot, so that
# the phases' order does not explain a difference from phase 0
worst_u=-
if [ "$BASELINE" = 1 ]; then
	if rmmod exitless_guest; then
		ok c_unload "$(devices)"
	else
		not_ok_why c_unload "rmmod exitless_guest failed: $(devices)"
	fi
	mig=
	loop_start "$LOOP_S"
	sleep "$LOOP_PRE_S"
	if migrate c; then
		if kill -0 "$lpid" 2>/dev/null; then
			echo "# c: the migration was answered $(since "$loop_t0") s into the loop"
		else
			echo "# c: warning: the loop ($LOOP_S s) ended before the migration answer came (a slow migration on a busy machine): its lateness misses the switch-over; raise loop_s"
		fi >> "$HELD"
	fi
	loop_end c noassert
	worst_u=$worst
fi

no_errors() {
	! dmesg | grep -v taint | grep -E 'exitless_guest: .*(failed|never freed|not freed|not registered|lost)'
}
check no_errors_logged no_errors
dmesg | grep -E 'exitless|clockevent|pvtimer' | sed 's/^/#   /' || true

echo "# worst lateness: stock (lapic-deadline, migrated) ${worst_s} us, again after the module's unload ${worst_u} us; A (host module, migrated) ${worst_a} us; B (no host module, parked) not migrated ${worst_c} us, migrated ${worst_b} us"
tap_done
