# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Helpers shared by the pvtimer stage scripts (run.sh, migrate.sh,
# nohpet.sh; busybox sh in the L2 guest), sourced after
# selftests/lib/tap.sh and after the script has set TIMEOUT and
# SYNC_WAIT; parked also reads cpus, the CPU count, which the script sets
# before calling it.  The paths and names below are the scripts' too.

# shellcheck disable=SC2034 # KO and PAR: read by the sourcing scripts
KO=${EXITLESS_GUEST_KO:-/exitless_guest.ko}
TL=${EXITLESS_TIMERLOOP:-/selftests/pvtimer/timerloop}
# the sysfs paths are overridable only to dry-run a script against a mock
SYS=${EXITLESS_SYSFS:-/sys/kernel/exitless}
# shellcheck disable=SC2034
PAR=${EXITLESS_MODSYS:-/sys/module/exitless_guest}/parameters
CED=${EXITLESS_CEDSYS:-/sys/devices/system/clockevents}
PVT=exitless-pvtimer

# not_ok_why <name> <reason>: a failed check with its reason on the line
not_ok_why() {
	n=$((n + 1))
	echo "not ok $n - $TAP_NAME/$1 # $2"
	# shellcheck disable=SC2034 # read by the sourcing script
	failed=1
}

# sync_l1 <action...>: ask L1 for a host-side action, give it time
sync_l1() {
	echo "EXITLESS-SYNC: $*"
	sleep "$SYNC_WAIT"
}

# rd <file>: its contents, "?" if unreadable
rd() {
	cat "$1" 2>/dev/null || echo "?"
}

# every CPU's clock event device, "0:<dev> 1:<dev> ..."
devices() {
	for c in "$CED"/clockevent[0-9]*; do
		printf '%s:%s ' "${c##*/clockevent}" "$(rd "$c/current_device")"
	done
}

# all_on <device>: every CPU's clock event device is <device>
all_on() {
	for c in "$CED"/clockevent[0-9]*; do
		[ "$(rd "$c/current_device")" = "$1" ] || return 1
	done
	return 0
}

# pv <key>: a line "key value" of /sys/kernel/exitless/pvtimer, "?" if none
pv() {
	v=$(awk -v k="$1" '$1 == k { print $2; exit }' "$SYS/pvtimer" 2>/dev/null)
	echo "${v:-?}"
}

# served: every CPU on exitless-pvtimer, none parked (the host arms them)
served() {
	all_on "$PVT" && [ "$(pv cpus_direct)" = 0 ]
}

# parked: every CPU still on exitless-pvtimer, each arming its local APIC
# itself (the host gone)
parked() {
	# shellcheck disable=SC2154 # cpus: set by the sourcing script
	all_on "$PVT" && [ "$(pv cpus_direct)" = "$cpus" ]
}

# tl <timerloop arguments>: a short loop, its result as a comment
tl() {
	out=$("$TL" "$@" 2>&1) || { echo "# $out"; return 1; }
	echo "# $out"
}

uptime_s() {
	cut -d' ' -f1 /proc/uptime
}

# since <uptime>: seconds since then, one decimal
since() {
	awk -v t0="$1" -v t1="$(uptime_s)" 'BEGIN { printf "%.1f", t1 - t0 }'
}

# wait_within <seconds> <command...>: wait_until with its own bound
wait_within() {
	saved=$TIMEOUT
	TIMEOUT=$1
	shift
	rc=0
	wait_until "$@" || rc=$?
	TIMEOUT=$saved
	return "$rc"
}

# field <key> <timerloop line>: a key=value of it
field() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}
