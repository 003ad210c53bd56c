#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest integration test of exitless_guest.ko, run inside an L2 Linux guest
# (busybox sh) while L1 has exitless_host.ko loaded: load, attach, host
# module removed and loaded again underneath (hot upgrade), CPU hotplug,
# unload, load again.
#
# It talks to the L1 harness only through stdout (the serial console):
# a line "EXITLESS-SYNC: <token>" asks L1 to act, "rmmod-host" to rmmod
# exitless_host, "insmod-host" to insmod it again.
#
# Output: one "ok N - guest/<name>" or "not ok N - guest/<name>" line per
# check, at column 0; everything else starts with "# ".  Exit 1 on any
# failure.
# shellcheck disable=SC2317 # predicates are called through check and wait_until
set -eu

KO=${EXITLESS_GUEST_KO:-/exitless_guest.ko}
# the paths are overridable only to dry-run this script against a mock
SYS=${EXITLESS_SYSFS:-/sys/kernel/exitless}
CPUSYS=${EXITLESS_CPUSYS:-/sys/devices/system/cpu}
MODSYS=${EXITLESS_MODSYS:-/sys/module/exitless_guest}
TIMEOUT=${EXITLESS_TIMEOUT:-20}		# seconds per wait (software emulation)
FILES="state host_abi_version host_epoch features_offered features_enabled registered_cpus host_changes probe_count"

TAP_NAME=guest
# shellcheck source=selftests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

# rd <file>: a sysfs file of the module, "?" if unreadable
rd() {
	cat "$SYS/$1" 2>/dev/null || echo "?"
}

dump() {
	for f in $FILES; do
		echo "# $f=$(rd "$f")"
	done
	echo "# online=$(cat "$CPUSYS/online")"
}

all_registered() {
	[ "$(rd registered_cpus)" = "$(cat "$CPUSYS/online")" ]
}

is_active() {
	[ "$(rd state)" = active ] || return 1
	ef=$(rd features_enabled)
	case "$ef" in
	0x*) ;;
	*) return 1 ;;
	esac
	[ $((ef & 1)) -eq 1 ] || return 1
	all_registered
}

is_dormant() {
	[ "$(rd state)" = dormant ] && [ -z "$(rd registered_cpus)" ] &&
		[ "$(rd features_enabled)" = 0x0 ]
}

# active again, attached to another host instance than $1
is_active_other_epoch() {
	is_active && [ "$(rd host_epoch)" != "$1" ]
}

# in_cpulist <cpu> <list>: is the CPU in a cpulist such as "0-3,5"?
in_cpulist() {
	old_ifs=$IFS
	IFS=,
	for r in $2; do
		if [ "$1" -ge "${r%-*}" ] && [ "$1" -le "${r#*-}" ]; then
			IFS=$old_ifs
			return 0
		fi
	done
	IFS=$old_ifs
	return 1
}

# registered_cpus follows the online CPUs, with CPU $1 in it or not ($2)
registered_with() {
	all_registered || return 1
	if in_cpulist "$1" "$(rd registered_cpus)"; then
		[ "$2" = yes ]
	else
		[ "$2" = no ]
	fi
}

guest_loaded() {
	[ -d "$MODSYS" ]
}

sysfs_complete() {
	for f in $FILES; do
		[ -r "$SYS/$f" ] || { echo "# missing $SYS/$f"; return 1; }
	done
	return 0
}

# the module's own log lines (the loader's taint notices share the prefix)
klog() {
	dmesg 2>/dev/null | grep 'exitless_guest: ' | grep -v taint || true
}

# --- load --------------------------------------------------------------

if [ ! -f "$KO" ]; then
	not_ok load
	echo "# no module at $KO"
	exit 1
fi

log0=$(klog | wc -l)
if insmod "$KO"; then
	ok load
else
	not_ok load
	echo "# insmod $KO failed"
	exit 1
fi

check sysfs sysfs_complete
check active wait_until is_active
dump
# one line when the module attaches at load, nothing else
klog | tail -n +$((log0 + 1)) | sed 's/^/# log: /'
check load_logs_one_line [ $(($(klog | wc -l) - log0)) -eq 1 ]
epoch1=$(rd host_epoch)
changes1=$(rd host_changes)

# --- hot upgrade: host module removed, then loaded again ----------------

echo "EXITLESS-SYNC: rmmod-host"
check host_removed wait_until is_dormant
dump

echo "EXITLESS-SYNC: insmod-host"
check host_reloaded wait_until is_active_other_epoch "$epoch1"
dump
check host_changes_counted [ "$(rd host_changes)" -gt "$changes1" ]

# --- CPU hotplug ---------------------------------------------------------

victim=
for d in "$CPUSYS"/cpu[0-9]*; do
	c=${d##*/cpu}
	[ "$c" != 0 ] || continue
	[ -w "$d/online" ] || continue
	[ "$(cat "$d/online")" = 1 ] || continue
	victim=$c
done

if [ -z "$victim" ]; then
	ok cpu_offline "SKIP no hotpluggable CPU besides CPU0"
	ok cpu_online "SKIP no hotpluggable CPU besides CPU0"
else
	echo "# taking CPU$victim offline"
	if echo 0 > "$CPUSYS/cpu$victim/online"; then
		check cpu_offline wait_until registered_with "$victim" no
	else
		not_ok cpu_offline
	fi
	dump
	echo "# bringing CPU$victim online"
	if echo 1 > "$CPUSYS/cpu$victim/online"; then
		check cpu_online wait_until registered_with "$victim" yes
	else
		not_ok cpu_online
	fi
	dump
fi

# --- unload and load again ----------------------------------------------

if rmmod exitless_guest && ! guest_loaded && [ ! -d "$SYS" ]; then
	ok unload
else
	not_ok unload
fi

if insmod "$KO"; then
	check reload wait_until is_active
else
	not_ok reload
fi
dump

# --- suspend and resume ---------------------------------------------------
# pm_test=core runs the real path (freezer, devices, CPU hotplug of the
# non-boot CPUs, syscore suspend and resume) without sleeping: the areas
# must all be registered again afterwards.

suspend_cycle() {
	echo core > /sys/power/pm_test || return 1
	src=0
	echo mem > /sys/power/state || src=1
	echo none > /sys/power/pm_test
	return "$src"
}

if [ -w /sys/power/pm_test ] && grep -qw mem /sys/power/state &&
	grep -qw deep /sys/power/mem_sleep 2>/dev/null; then
	echo deep > /sys/power/mem_sleep
	check suspend_cycle suspend_cycle
	dmesg 2>/dev/null | grep -E 'PM: |non-boot CPUs|suspend debug' |
		tail -n 12 | sed 's/^/# pm: /' || true
	check suspend_registered wait_until is_active
	dump
else
	ok suspend_cycle "SKIP no S3 in this guest"
	ok suspend_registered "SKIP no S3 in this guest"
fi

# --- parameters ------------------------------------------------------------

interval_param() {
	pf=$MODSYS/parameters/probe_interval_ms
	if echo 5 2>/dev/null > "$pf"; then
		echo "# probe_interval_ms=5 was accepted"
		return 1
	fi
	[ "$(cat "$pf")" = 1000 ] || return 1
	echo 0 > "$pf" && echo 250 > "$pf" || return 1
	[ "$(cat "$pf")" = 250 ] || return 1
	echo 1000 > "$pf"
}
check probe_interval_param interval_param

# features=0: attached to the host, nothing in use, no area registered
nothing_in_use() {
	[ "$(rd state)" = active ] && [ "$(rd features_enabled)" = 0x0 ] &&
		[ -z "$(rd registered_cpus)" ]
}
if rmmod exitless_guest && insmod "$KO" features=0; then
	check features_param wait_until nothing_in_use
else
	not_ok features_param
fi
dump

# load it again with defaults and leave it loaded: the L2's power-off then
# runs the reboot notifier
if rmmod exitless_guest && insmod "$KO"; then
	check reload_defaults wait_until is_active
else
	not_ok reload_defaults
fi

no_module_errors() {
	if klog | grep -E 'failed|never freed|not freed'; then
		return 1
	fi
	return 0
}
check no_errors_logged no_module_errors

echo "# kernel log of the module:"
dmesg 2>/dev/null | grep -E 'exitless' | sed 's/^/#   /' || true

tap_done
