#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# pvtimer in an L2 Linux guest whose HLT does not exit (QEMU -overcommit
# cpu-pm=on: KVM_CAP_X86_DISABLE_EXITS), L1 running exitless_host.  The
# guest arms lazily before a halt, counting on the halt's VM exit, so
# the host answers PVTIMER_ENABLE with EOPNOTSUPP for such a VM and the
# guest keeps lapic-deadline (Documentation/pvtimer.rst).  It says so
# once, and the re-probe (every probe_interval_ms) does not ask again.
#
# Checks: the guest attaches to the host; pvtimer refused, no CPU on
# exitless-pvtimer, every CPU on lapic-deadline; said once; 3 s later
# (3 re-probes) still once, and no PVTIMER_ENABLE warning; a 1 ms
# nanosleep loop runs; rmmod.
# Output: "ok N - pvtimer-cpupm/<name>"; exit 1 on any failure.
# shellcheck disable=SC2317 # predicates are called through check and wait_until
set -eu

TIMEOUT=${EXITLESS_TIMEOUT:-20}
# shellcheck disable=SC2034 # read by lib.sh's sync_l1, unused here
SYNC_WAIT=1

TAP_NAME=pvtimer-cpupm
# shellcheck source=selftests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=selftests/pvtimer/lib.sh
. "$(dirname "$0")/lib.sh"

SAID="pvtimer: the host does not serve it to this VM"

active() {
	[ "$(rd "$SYS/state")" = active ]
}

refused() {
	[ "$(pv refused)" = 1 ]
}

# kept: no CPU on exitless-pvtimer, every one on lapic-deadline
kept() {
	[ "$(pv cpus_bound)" = 0 ] && all_on lapic-deadline
}

said() {
	dmesg | grep -c "$SAID" || true
}

warned() {
	dmesg | grep -c "PVTIMER_ENABLE failed" || true
}

echo "# before insmod: $(devices)"
check insmod insmod "$KO"
check active wait_until active
check refused wait_until refused
check lapic_deadline_kept kept
echo "# $(devices); state $(rd "$SYS/state"), features_enabled $(rd "$SYS/features_enabled")"
if [ "$(said)" = 1 ]; then
	ok said_once
else
	not_ok_why said_once "\"$SAID\" logged $(said) times"
fi
sleep 3
if [ "$(said)" = 1 ] && [ "$(warned)" = 0 ]; then
	ok not_asked_again "3 s of re-probes every $(rd "$PAR/probe_interval_ms") ms"
else
	not_ok_why not_asked_again "said $(said) times, PVTIMER_ENABLE warnings $(warned)"
fi
check still_kept kept
check ns1000 tl -m nanosleep -i 1000 -n 200
check rmmod rmmod exitless_guest

tap_done
