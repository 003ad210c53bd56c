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
cd /tmp

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

log "L1 $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB"
if modprobe kvm_amd && [ -c /dev/kvm ]; then
	tap "ok - l1/kvm_amd for ${EXITLESS_STAGES:-all} nested=$(cat /sys/module/kvm_amd/parameters/nested) npt=$(cat /sys/module/kvm_amd/parameters/npt)"
else
	tap "not ok - l1/kvm_amd # no /dev/kvm in L1; nothing else can run"
	exit 1
fi

# L1's text symbols, for a hang report from L0 (both boot with nokaslr, so
# they name L2's core kernel addresses too)
grep -i ' t ' /proc/kallsyms > "$out/kallsyms" 2>/dev/null || true

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
	if insmod "$ko"; then
		tap "ok - l1/insmod exitless_host"
	else
		tap "not ok - l1/insmod exitless_host"
	fi
fi

# --- L2 Linux guest --------------------------------------------------------
# The guest asks for host-side actions with "EXITLESS-SYNC: <action>" lines
# on its console; each is done here and answered in the L1 log.
l2_action() {
	case "$1" in
	rmmod-host) rmmod exitless_host ;;
	insmod-host) insmod "$ko" ;;
	dynidle-*) dynidle_action "$1" ;;
	*) echo "unknown action $1"; return 1 ;;
	esac
}

# run_l2 <name> <vCPUs> <kernel command line>: one L2 boot, its TAP lines.
# An L2 whose console falls silent (no output for EXITLESS_L2_QUIET s) is
# reported (registers, APICs) and killed, then booted once more: L2 guests
# with 2-3 vCPUs on one L1 CPU under TCG were seen to freeze, once before
# any exitless module was loaded.  A guest that loses an IPI does not go
# silent: the waiting CPU's soft-lockup report keeps the console going,
# and the kernel log check fails the stage.  A second silence fails it.
run_l2() {
	local name=$1
	run_l2_once "$@" && return 0
	echo "# L2 $name went silent (report above): booting it once more"
	tap "ok - l2/$name went silent once, booted again # see the hang report"
	# undo what the guest may have left half-done on this side
	if ! grep -q '^exitless_host ' /proc/modules; then
		insmod "$ko" || tap "not ok - l1/insmod exitless_host for the retry"
	fi
	[ ! -s /tmp/dynidle-hogs ] || l2_action dynidle-hog-stop
	run_l2_once "$@" && return 0
	tap "not ok - l2/$name silent twice"
}

run_l2_once() {
	local name=$1 smp=$2 append=$3 l2log=$out/l2-$1.log qpid wpid rc line
	: > "$l2log"
	rm -f "$l2log.hung"
	log "booting L2 ($name, $smp vCPUs)"
	rm -f "/tmp/l2-$name.mon"
	timeout 900 qemu-system-x86_64 -enable-kvm -cpu host -smp "$smp" -m 768M \
		-kernel "/boot/vmlinuz-$rel" -initrd "$out/l2.cpio.gz" \
		-append "console=ttyS0 loglevel=4 panic=-1 nokaslr $append" \
		-nodefaults -display none -serial "file:$l2log" \
		-monitor "unix:/tmp/l2-$name.mon,server,nowait" \
		-no-reboot </dev/null &
	qpid=$!
	quiet_watchdog $qpid "$l2log" "${EXITLESS_L2_QUIET:-150}" \
		"/tmp/l2-$name.mon" /proc/kallsyms "$smp" kvm &
	wpid=$!
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '#   L2| %s\n' "$line"
		case "$line" in
		"EXITLESS-SYNC: "*)
			if l2_action "${line#EXITLESS-SYNC: }" 2>&1 | sed 's/^/#   L1> /'; then
				log "done: ${line#EXITLESS-SYNC: }"
			fi ;;
		esac
	done < <(tail -n +1 -F --pid=$qpid "$l2log" 2>/dev/null)
	wait $qpid
	rc=$?
	kill $wpid 2>/dev/null
	wait $wpid
	if [ -e "$l2log.hung" ]; then
		cp "$l2log" "$l2log.silent"
		return 1
	fi
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
	stage_end guest
fi

# pvipi: its own L2 boot in the guest stage's L1 (one L1 CPU), 3 vCPUs
# (CPU 0 sends, a multicast needs 2 targets)
if [ "${stages#*,pvipi,}" != "$stages" ]; then
	stage_start pvipi
	if ! grep -q '^exitless_host ' /proc/modules; then
		insmod "$ko" || tap "not ok - l1/insmod exitless_host for pvipi"
	fi
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
	if ! grep -q '^exitless_host ' /proc/modules; then
		insmod "$ko" || tap "not ok - l1/insmod exitless_host for dynidle"
	fi
	run_l2 dynidle 2 "exitless.stage=dynidle exitless.arg=no-host-reload"
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

# --- L1's own kernel log ---------------------------------------------------
dmesg > "$out/l1-dmesg.txt"
scan_klog "$out/l1-dmesg.txt" "l1/kernel log clean" | collect
exit 0
