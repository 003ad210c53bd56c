#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pvtimer in an L2 Linux guest without an HPET (QEMU -machine hpet=off),
# L1 running exitless_host.  When exitless-pvtimer replaces
# lapic-deadline on the first CPU, the kernel makes that CPU's local APIC
# timer its tick broadcast device; with no HPET nothing could take that
# CPU's tick back, so exitless_guest must refuse to unload rather than
# free a device the CPU still ticks on (Documentation/pvtimer.rst).
#
# Checks: the guest has no HPET clock event; every CPU is served on
# exitless-pvtimer; the module said why it stays; rmmod is refused, and
# the module and every CPU's device are still there; a 1 ms nanosleep
# loop still runs; pvtimer=0 parks every device and the loop runs again.
# Output: "ok N - pvtimer-nohpet/<name>"; exit 1 on any failure.
# shellcheck disable=SC2317 # predicates are called through check and wait_until
set -eu

TIMEOUT=${EXITLESS_TIMEOUT:-20}
# shellcheck disable=SC2034 # read by lib.sh's sync_l1, unused here
SYNC_WAIT=1

TAP_NAME=pvtimer-nohpet
# shellcheck source=selftests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=selftests/pvtimer/lib.sh
. "$(dirname "$0")/lib.sh"

cpus=$(grep -c ^processor /proc/cpuinfo)

dump() {
	echo "# devices: $(devices)"
	echo "# broadcast: $(rd "$CED/broadcast/current_device")"
	sed 's/^/# pvtimer: /' "$SYS/pvtimer" 2>/dev/null || true
	dmesg | grep -i -E 'exitless|hpet|clockevent' | tail -n 20 | sed 's/^/# dmesg: /'
}

no_hpet() {
	! grep -q 'Clock Event Device: hpet' /proc/timer_list
}

check no_hpet_clock_event no_hpet
echo "# before insmod: $(devices) broadcast $(rd "$CED/broadcast/current_device")"
check insmod insmod "$KO"
check served_on_every_cpu wait_until served
echo "# served: $(devices) broadcast $(rd "$CED/broadcast/current_device")"
check says_why_it_stays sh -c 'dmesg | grep -q "exitless_guest: no HPET clock event"'
check pinned sh -c "[ \"\$(cat /sys/module/exitless_guest/refcnt)\" -ge 1 ]"

if rmmod exitless_guest 2>/tmp/rmmod.err; then
	not_ok_why rmmod_refused "rmmod succeeded: the CPU's tick device is gone"
	dump
	tap_done
fi
ok rmmod_refused "$(cat /tmp/rmmod.err)"
echo "exitless_guest stays loaded without an HPET (pvtimer-nohpet)" > /tmp/exitless-stays-loaded
check still_loaded test -d /sys/module/exitless_guest
check still_served_on_every_cpu served
check after_rmmod_ns1000 tl -m nanosleep -i 1000 -n 200

echo 0 > "$PAR/pvtimer"
check pvtimer_0_parks wait_until parked
check parked_ns1000 tl -m nanosleep -i 1000 -n 200

tap_done
