#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared helpers of the nested QEMU harness (sourced, not run).

EXITLESS_TOP=${EXITLESS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
EXITLESS_CACHE=${EXITLESS_CACHE:-/var/cache/exitless}

log() { printf '# [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '# error: %s\n' "$*" >&2; exit 1; }
# the clocksource this kernel's timekeeping runs on (hpet, tsc, ...)
clocksource() { cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null; }

# AWK_HEX: awk's hex(s), the value of the hex digits s (no "0x"; exact
# up to 13 digits, awk's numbers being doubles), for the programs that
# parse addresses and flags: put it ahead of the program text
AWK_HEX='function hex(s,  i, v) { v = 0; s = tolower(s)
	for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v }'

# rmmod_host (in L1): remove exitless_host, then say how long that took
# ("rmmod exitless_host took <s> s"); rmmod's status
rmmod_host() {
	local t0=$EPOCHREALTIME r=0
	rmmod exitless_host || r=$?
	echo "rmmod exitless_host took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
	return $r
}

# "6.1" or "6.12" (or a full release) -> newest installed Debian release
kernel_release() {
	local want=$1 r
	if [ -e "/boot/vmlinuz-$want" ]; then
		echo "$want"
		return
	fi
	r=$(ls /boot/vmlinuz-"$want".*-amd64 2>/dev/null | sed 's|/boot/vmlinuz-||' |
		grep -E "^$want\.[0-9]" | sort -V | tail -n 1)
	[ -n "$r" ] || die "no Debian $want kernel in /boot (run: make deps)"
	echo "$r"
}

# Print the modules (paths relative to /lib/modules/$rel) needed to load
# each named module, dependencies first, once each.  Built-ins print nothing.
module_closure() {
	local rel=$1; shift
	local dir=/lib/modules/$rel
	declare -A seen=()
	_mc_add() {
		local name=${1//-/_} line path dep
		line=$(awk -F: -v n="$name" '{ b=$1; sub(/.*\//, "", b); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", b); gsub(/-/, "_", b); if (b == n) { print; exit } }' "$dir/modules.dep")
		if [ -z "$line" ]; then
			grep -qE "/${1}\.ko$|/${name}\.ko$" "$dir/modules.builtin" ||
				die "module $1 not found for $rel"
			return 0
		fi
		path=${line%%:*}
		[ -z "${seen[$path]:-}" ] || return 0
		seen[$path]=1
		for dep in ${line#*:}; do
			dep=${dep##*/}
			dep=${dep%%.ko*}
			_mc_add "$dep"
		done
		echo "$path"
	}
	local m
	for m in "$@"; do
		_mc_add "$m"
	done
}

# Copy a module into an initramfs tree, decompressed (busybox insmod
# cannot read .ko.xz, which 6.12 ships).
install_module() {
	local rel=$1 path=$2 dest=$3 base
	base=${path##*/}
	case "$base" in
	*.ko.xz) xz -dc "/lib/modules/$rel/$path" > "$dest/${base%.xz}" ;;
	*.ko.zst) zstd -qdc "/lib/modules/$rel/$path" > "$dest/${base%.zst}" ;;
	*.ko) cp "/lib/modules/$rel/$path" "$dest/$base" ;;
	esac
	echo "${base%.ko*}.ko"
}

# mkinitramfs <rel> <out.cpio.gz> <init script> <modules...> -- <src:dst>...
# Busybox initramfs: /init, /bin/busybox, /modules/* with /modules/order.
mkinitramfs() {
	local rel=$1 out=$2 init=$3; shift 3
	local tree mods=() extra=() p
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do mods+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	extra=("$@")
	tree=$(mktemp -d)
	mkdir -p "$tree"/{bin,sbin,proc,sys,dev,tmp,modules,host,out,etc}
	cp /bin/busybox "$tree/bin/busybox"
	cp "$init" "$tree/init"
	chmod +x "$tree/init"
	: > "$tree/modules/order"
	if [ ${#mods[@]} -gt 0 ]; then
		for p in $(module_closure "$rel" "${mods[@]}"); do
			install_module "$rel" "$p" "$tree/modules" >> "$tree/modules/order"
		done
	fi
	for p in "${extra[@]}"; do
		mkdir -p "$tree/$(dirname "${p#*:}")"
		cp -r "${p%%:*}" "$tree/${p#*:}" || { rm -rf "$tree"; return 1; }
	done
	(cd "$tree" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
	rm -rf "$tree"
}

# KLOG_BAD (kernel-log problems that fail a run, wherever they show up)
# and the end-of-boot checks L1 shares with the busybox L2
# shellcheck source=selftests/lib/kcheck.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/kcheck.sh"

# save_kallsyms <file>: L1's text symbols, for a hang report from L0,
# which reads them from the results share (L1 and L2 boot with nokaslr,
# so they name L2's core kernel addresses too), and the core kernel's
# data symbols, with which hang-report.sh names the registers that point
# into kernel data (a lock spun on, say)
save_kallsyms() {
	grep -E ' [tT] | [dDbB] [^[:space:]]+$' /proc/kallsyms > "$1" 2>/dev/null || true
}

# A kernel's RCU stall report (its headline, as an extended regex) and
# a soft lockup report: the stalls that l1_stall_outside_exitless,
# quiet_watchdog and l1-bench.sh's stall_report look for
RCU_STALL_RE='rcu: INFO: rcu_[a-z]* (self-)?detected stall'
LOCKUP_RE='soft lockup - CPU#'

# scan_klog <file> <label>: TAP line for a kernel log, problems quoted
scan_klog() {
	local f=$1 label=$2
	if [ ! -s "$f" ]; then
		echo "not ok - $label # no kernel log captured"
		return 1
	fi
	if grep -aEq "$KLOG_BAD" "$f"; then
		echo "not ok - $label"
		grep -aEn -m 20 -B2 -A8 "$KLOG_BAD" "$f" | sed 's/^/#   /'
		return 1
	fi
	echo "ok - $label"
}

# l1_crash_outside_exitless <L1 console>: true if L1's own kernel (its
# lines start with "[", L2's are relayed as "#   L2| ...") panicked and
# nothing from its first oops line to the end names exitless code (the
# "Modules linked in:" list aside).  Such a crash is the emulator's, as
# far as this harness can tell: CI of bec9b27 (2026-12-01) lost a 6.12
# L1 to "stack guard page was hit" in exc_page_fault, with `current` read
# as NULL through the per-CPU base (the qemu-system-x86 thread running
# its L2; exitless_host writes no MSR and never touches that base); an
# earlier multi-threaded-TCG L1 died the same way in a vCPU thread's
# error_entry (Documentation/pvipi.rst, test environment notes).
l1_crash_outside_exitless() {
	tr -d '\r' < "$1" | awk '
		/^\[/ && /BUG:|Oops|general protection fault|Kernel panic/ { oops = 1 }
		/^\[/ && /Kernel panic - not syncing/ { panic = 1 }
		oops && /^\[/ && /exitless/ && !/Modules linked in:/ { ours = 1 }
		END { exit !(panic && !ours) }'
}

# l1_stall_outside_exitless <L1 console> <L1 dmesg>: true if an L1 boot
# that ran to its end had, as its only kernel-log problem, a stall of
# L1's own CPUs (RCU stall, soft lockup) in whose reports, and in every
# stack the log holds from then on, no exitless code appears.  Such a
# stall is the emulator's, as far as this harness can tell: CI of
# 8c8107a (2026-12-04, 6.1, the host boot, single-threaded TCG) saw L1's
# idle CPU 1 stay in HLT for 22 s, its own timer interrupts not taken
# (the RCU kthread's timer, queued on that CPU, "didn't happen"), until
# the RCU stall report's backtrace request woke it: the soft lockup
# it then reported was in swapper/1, in do_idle(), and every test of
# the boot passed.  The console carries only the reports' headlines
# (loglevel=4); their stacks are in the dmesg L1 saved at its end.
l1_stall_outside_exitless() {
	local stall="$LOCKUP_RE|$RCU_STALL_RE"
	[ -s "$2" ] || return 1
	# any other KLOG_BAD line of L1's own (but the stall reports' own
	# words and their traces) is another problem
	tr -d '\r' < "$1" | awk -v stall="$stall" -v bad="$KLOG_BAD" '
		/^\[/ && $0 ~ stall { s = 1; next }
		/^\[/ && $0 ~ bad && !/soft lockup|RCU stall|rcu_sched detected stalls|Call Trace:/ { other = 1 }
		END { exit !(s && !other) }' || return 1
	awk -v stall="$stall" '
		$0 ~ stall { s = 1 }
		s && /exitless/ && /\+0x[0-9a-f]+\/0x[0-9a-f]+/ { ours = 1 }
		END { exit !(s && !ours) }' "$2"
}

# l1_flags_impossible <L1 dmesg>: true if L1's kernel log has problems
# (KLOG_BAD) and every one of them lies in a "cut here" ... "end trace"
# report that shows, in one of its register dumps, an EFLAGS value no x86
# CPU can hold (a reserved bit set: 3, 5, 15, 22 and up; or bit 1 clear)
# and names no exitless code (the modules list aside).  Such a report is
# the emulator's, as far as this harness can tell: CI of d247df0
# (2026-12-06, 6.12, the pvtimer boot, one-thread TCG) had L1 warn in
# exc_debug_kernel() (a single-step #DB in kernel mode) taken in bash's
# __kmalloc_node_noprof() with EFLAGS 0x15fc8b82: TF, reserved bits, and
# the low half of the pointer in RBX; every test of the boot passed.
l1_flags_impossible() {
	[ -s "$1" ] || return 1
	tr -d '\r' < "$1" | awk -v bad="$KLOG_BAD" "$AWK_HEX"'
		function flagsbad(h,  v) {
			sub(/^0+/, "", h)
			if (length(h) > 6)
				return 1
			v = hex(h)
			return v >= 4194304 || int(v / 2) % 2 == 0 ||
				int(v / 8) % 2 || int(v / 32) % 2 || int(v / 32768) % 2
		}
		function flush() {
			if (nbad && (!odd || ours))
				other = 1
			found += nbad && odd && !ours
			inblk = nbad = odd = ours = 0
		}
		/------------\[ cut here \]------------/ { if (inblk) flush(); inblk = 1; next }
		inblk {
			if ($0 ~ bad)
				nbad++
			if (match($0, /EFLAGS: [0-9a-fA-F]+/) &&
			    flagsbad(substr($0, RSTART + 8, RLENGTH - 8)))
				odd = 1
			if (/exitless/ && !/Modules linked in:/)
				ours = 1
			if (/---\[ end trace/)
				flush()
			next
		}
		$0 ~ bad { other = 1 }
		END { if (inblk) flush(); exit !(found && !other) }'
}

# qemu_paused_off <monitor socket>: is that QEMU's guest paused by a
# reset or power-off (-action reboot=shutdown,shutdown=pause)?
qemu_paused_off() {
	"$EXITLESS_TOP/selftests/qemu/hmp.py" "$1" "info status" 2>/dev/null |
		grep -q 'paused (shutdown)'
}

# vcpu_rips: from QEMU's "info registers -a" on stdin, one "CPU#<n> <RIP>"
# line per vCPU (hang-report.sh, nmi_probe)
vcpu_rips() {
	awk '/^CPU#/ { c = $1 } /^RIP=/ { r = $1; sub(/RIP=/, "", r); print c, r }'
}

# nmi_probe <monitor socket> <console log>: send the guest an NMI from
# its monitor (QEMU delivers it through LINT1, which Linux wires as NMI on
# CPU 0 only) and say, 3 s later, which CPUs took it: each that did
# prints "Uhhuh. NMI received for unknown reason ... on CPU <n>"
# (KERN_EMERG, shown at loglevel=4).  A CPU halted with interrupts on and
# vectors pending in its local APIC that takes the NMI runs, and was
# never told of those vectors (QEMU's lost interrupt request: see
# Documentation/dynidle.rst, "What the abab failures are"); one that does
# not take it has NMIs blocked as well (SVM's GIF clear, or an NMI still
# in progress), or never got it (LINT1 masked: hang-report.sh shows LVT1),
# or is not being run by its emulator at all.  Then each vCPU's RIP again
# (moved since the report above, or not) and how much the console grew.
# Lines start with "NMI probe:".
nmi_probe() {
	local sock=$1 log=$2 size cpus rips
	size=$(stat -c %s "$log" 2>/dev/null || echo 0)
	if ! "$EXITLESS_TOP/selftests/qemu/hmp.py" "$sock" nmi > /dev/null 2>&1; then
		echo "NMI probe: the monitor did not take the command"
		return 0
	fi
	sleep 3
	cpus=$(tail -c +"$((size + 1))" "$log" 2>/dev/null | tr -d '\r' |
		sed -n 's/^\[[ 0-9.]*\] Uhhuh\. NMI received for unknown reason.* on CPU \([0-9]*\).*/\1/p' |
		sort -un | tr '\n' ' ' | sed 's/ $//')
	echo "NMI probe: an NMI sent from the monitor was taken by CPU(s): ${cpus:-none}"
	rips=$("$EXITLESS_TOP/selftests/qemu/hmp.py" "$sock" "info registers -a" 2>/dev/null |
		vcpu_rips | paste -sd, | sed 's/,/, /g')
	echo "NMI probe: then RIP of ${rips:-(no registers)}; the console grew by $(($(stat -c %s "$log" 2>/dev/null || echo "$size") - size)) bytes"
}

# quiet_watchdog <qemu pid> <console log> <seconds> <monitor socket>
#                <kallsyms> <vCPUs>   (run in the background)
# When the console has not grown for <seconds>, print what the guest's
# vCPUs are doing (hang-report.sh), create <console log>.hung and kill its
# QEMU: a hung guest fails its stage in minutes, with a report, not at the
# stage's timeout.  With QW_LOCKUP=1 in its environment (L1 only), a
# console whose last soft-lockup report names a CPU stuck for <seconds>
# or more counts as hung too: that report keeps the console growing.
# A guest that QEMU keeps paused after a reset or power-off
# (-action reboot=shutdown,shutdown=pause) has a silent console too:
# <console log>.reset is created as well, and the report shows its
# registers as the reset left them.
# While <console log>.busy exists, L1 is serving one of the guest's
# EXITLESS-SYNC requests, which the guest waits for without a word: that
# silence may last 4 times <seconds>, and counts apart (make bench's
# pvtimer-check took 176 s of L1's time on 2026-12-06; the guest, done,
# then powered off, and its boot was counted as a reset).
# Also with QW_LOCKUP=1: the first RCU stall report of the guest's own
# kernel (not of an L2 it relays) gets the same report, once, and the
# guest is left running (such a stall has been seen to end by itself:
# l1_stall_outside_exitless); the report shows whether the stalled CPU
# halts with interrupts pending in its local APIC.  Both reports end
# with nmi_probe (but for a guest kept paused).
quiet_watchdog() {
	local qpid=$1 log=$2 quiet=$3 sock=$4 map=$5 ncpu=$6
	local size last=-1 still=0 busy=0 stuck rcu=0 paused=0
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 10
		size=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$size" != "$last" ]; then
			last=$size
			still=0
			busy=0
			[ "${QW_LOCKUP:-0}" = 1 ] || continue
			if [ "$rcu" = 0 ] &&
			   grep -aqE "^\\[ *[0-9.]+\\] $RCU_STALL_RE" "$log"; then
				rcu=1
				echo "# hang: $log: the guest's own kernel reports an RCU stall; its vCPUs now (the guest is left running):"
				"$EXITLESS_TOP/selftests/qemu/hang-report.sh" "$sock" "$map" "$ncpu"
				nmi_probe "$sock" "$log" | sed 's/^/# hang: /'
			fi
			stuck=$(tail -c 4096 "$log" |
				sed -nE "s/.*${LOCKUP_RE}[0-9]* stuck for ([0-9]*)s!.*/\\1/p" |
				tail -n 1)
			[ "${stuck:-0}" -ge "$quiet" ] || continue
			echo "# hang: $log: a CPU stuck for ${stuck}s (soft lockup); killing the guest after this report"
		elif [ -e "$log.busy" ]; then
			still=0
			busy=$((busy + 10))
			[ "$busy" -ge $((quiet * 4)) ] || continue
			echo "# hang: $log silent for ${busy}s while L1 served its request; killing the guest after this report"
		else
			busy=0
			still=$((still + 10))
			[ "$still" -ge "$quiet" ] || continue
			echo "# hang: $log silent for ${still}s; killing the guest after this report"
		fi
		: > "$log.hung"
		if qemu_paused_off "$sock"; then
			echo "# hang: $log: the guest was reset or powered off, and kept paused by its QEMU"
			: > "$log.reset"
			paused=1
		fi
		"$EXITLESS_TOP/selftests/qemu/hang-report.sh" "$sock" "$map" "$ncpu"
		[ "$paused" = 1 ] || nmi_probe "$sock" "$log" | sed 's/^/# hang: /'
		kill "$qpid" 2>/dev/null
		return 0
	done
}

# stall_report <qemu pid> <monitor socket> <vCPUs> <console log>
#              (in L1, as root)
# (<qemu pid> may be that of a timeout(1) running the QEMU)
# What L1 sees of an L2 whose console has just reported an RCU stall or
# a soft lockup (the stall of Documentation/dynidle.rst, "The hang"),
# while it is still stalled, before anything pokes it: the state and
# kernel stack of each QEMU thread (named "CPU <n>/KVM" with
# -name ...,debug-threads=on); L1's interrupt counts, exitless_host's
# stats and KVM's counters for the VM (debugfs), each twice, 1 s apart,
# as deltas; 0.2 s of every kvm and exitless event, counted per thread
# and event, and vCPU 0's thread's first 120 events.  Then the L2's
# registers and local APICs (hang-report.sh), which kick the vCPUs out
# to QEMU, and nmi_probe.  Lines start with "# stall: ".
stall_report() {
	local qpid=$1 sock=$2 ncpu=$3 log=$4 t vm ins=$KTRACE/instances/stall i c
	# the QEMU itself when <qemu pid> is the timeout(1) that runs it
	c=$(pgrep -P "$qpid" | head -n 1)
	[ -z "$c" ] || qpid=$c
	{
	echo "QEMU pid $qpid; L1 $(uname -r), uptime $(cut -d' ' -f1 /proc/uptime) s"
	for t in /proc/"$qpid"/task/*; do
		# (stat's fields after the name, which may hold spaces)
		echo "thread ${t##*/} '$(cat "$t/comm")' $(sed 's/.*) //' "$t/stat" | awk '{ print "state", $1, "on cpu", $37 }')"
		sed 's/^/    /' "$t/stack" 2>/dev/null
	done
	vm=$(find /sys/kernel/debug/kvm -maxdepth 1 -name "$qpid-*" 2>/dev/null | head -n 1)
	for i in 0 1; do
		{
		grep -E '^ *(LOC|RES|CAL|TLB|NMI):' /proc/interrupts |
			awk '{ n = $1; sub(/:$/, "", n)
			       for (c = 2; c <= NF && $c ~ /^[0-9]+$/; c++) print "irq_" n "_cpu" c - 2, $c }'
		sed 's/^/exitless_/; s/:*  */ /' /sys/kernel/debug/exitless/stats 2>/dev/null
		[ -z "$vm" ] || for f in "$vm"/*; do
			[ -f "$f" ] && printf 'kvm_%s %s\n' "${f##*/}" "$(cat "$f" 2>/dev/null)"
		done
		} > "/tmp/stall.$i"
		[ "$i" = 1 ] || sleep 1
	done
	awk 'NR == FNR { b[$1] = $2; next }
	     $2 ~ /^-?[0-9]+$/ && ($1 in b) && $2 != b[$1] { printf "in 1 s: %s +%.0f (now %s)\n", $1, $2 - b[$1], $2 }' \
		/tmp/stall.0 /tmp/stall.1
	rm -f /tmp/stall.0 /tmp/stall.1
	if mkdir -p "$ins" 2>/dev/null && [ -d "$ins/events/kvm" ]; then
		echo 8192 > "$ins/buffer_size_kb"
		echo 1 > "$ins/events/kvm/enable"
		[ ! -d "$ins/events/exitless" ] || echo 1 > "$ins/events/exitless/enable"
		sleep 0.2
		echo 0 > "$ins/tracing_on"
		echo 0 > "$ins/events/kvm/enable"
		[ ! -d "$ins/events/exitless" ] || echo 0 > "$ins/events/exitless/enable"
		echo "0.2 s of kvm and exitless events, by thread and event:"
		grep -v '^#' "$ins/trace" |
			sed -n 's/^ *\(.*\)-\([0-9]*\) *\[[0-9]*\].* \([a-z_]*\): .*/\1-\2 \3/p' |
			sort | uniq -c | sort -rn | head -n 40
		echo "vCPU 0's first 120 events:"
		grep -v '^#' "$ins/trace" | grep -F 'CPU 0/KVM' | head -n 120
		rmdir "$ins" 2>/dev/null
	else
		echo "no tracefs instance: no events"
	fi
	"$EXITLESS_TOP/selftests/qemu/hang-report.sh" "$sock" /proc/kallsyms "$ncpu"
	nmi_probe "$sock" "$log"
	} 2>&1 | sed 's/^/# stall: /'
}

# quit_when_off <qemu pid> <monitor socket>   (run in the background)
# For a guest started with -action reboot=shutdown,shutdown=pause that
# has said it is done: once its QEMU shows it paused by its power-off
# (at most 60 s), quit that QEMU.
quit_when_off() {
	local _
	for _ in $(seq 30); do
		kill -0 "$1" 2>/dev/null || return 0
		qemu_paused_off "$2" && break
		sleep 2
	done
	"$EXITLESS_TOP/selftests/qemu/hmp.py" "$2" quit >/dev/null 2>&1 || true
}

# hogs_start <pid file>: a busy loop pinned to each of L1's CPUs (a
# contended host), their pids in <pid file>; hogs_stop <pid file> ends
# them.  The hogs hold no caller's pipe open.
hogs_start() {
	local c
	for c in $(seq 0 $(($(nproc) - 1))); do
		taskset -c "$c" sh -c 'while :; do :; done' \
			</dev/null >/dev/null 2>&1 &
		echo $! >> "$1"
	done
	echo "hogs: $(tr '\n' ' ' < "$1")"
}

hogs_stop() {
	# shellcheck disable=SC2046 # a list of pids
	[ ! -s "$1" ] || kill $(cat "$1")
	rm -f "$1"
}

# one_cpu <command...> (in L1): run <command> in this shell with every
# CPU but CPU 0 offline, then bring them back online; its status.  For
# what patches L1's kernel text in an L1 on two TCG threads, where a CPU
# that runs while another patches may go on running the old code: twice
# on 2026-12-06 (6.1, the dynidle boot) an L1 CPU stayed in exc_int3()
# for the int3 that text_poke_bp() had put at __schedule+0x2ab, a static
# branch, once as an L2's VM was destroyed and once as kvm_anchor's was
# created (most likely preempt_notifier_key, which every first VM turns
# on and every last one off).  An offline CPU runs nothing, and comes
# back to the new text.  A command whose patching is deferred (KVM's
# static key decrements: 1 s) must wait for it itself.
one_cpu() {
	local f rc=0 off=()
	for f in /sys/devices/system/cpu/cpu[1-9]*/online; do
		[ -e "$f" ] && [ "$(cat "$f")" = 1 ] || continue
		if echo 0 > "$f"; then
			off+=("$f")
		else
			echo "# one_cpu: cannot take ${f%/online} offline"
		fi
	done
	"$@" || rc=$?
	for f in "${off[@]}"; do
		echo 1 > "$f" || { echo "# one_cpu: cannot bring ${f%/online} back"; rc=1; }
	done
	return $rc
}

# kvm_anchor_start (in L1): hold one idle VM open (.build/kvm_anchor)
# while L2 stages run on a multi-threaded TCG L1, so that KVM's static
# keys that follow VM and APIC life cycles stay on and no L2 boot,
# bring-up or shutdown patches L1's text (selftests/qemu/kvm_anchor.c
# says why).  The anchor's own creation and exit flip those keys, so
# kvm_anchor_start and kvm_anchor_stop run under one_cpu.  Fails, saying
# why, if the anchor did not come up within 60 s.
kvm_anchor_start() { one_cpu kvm_anchor_up; }

kvm_anchor_stop() {
	[ -n "${kvm_anchor_pid:-}" ] || return 0
	one_cpu kvm_anchor_down
}

kvm_anchor_up() {
	local i log=/tmp/kvm-anchor.log
	"$EXITLESS_TOP/.build/kvm_anchor" > "$log" 2>&1 &
	kvm_anchor_pid=$!
	for ((i = 0; i < 600; i++)); do
		if grep -q '^kvm_anchor: holding' "$log"; then
			sed 's/^/# /' "$log"
			return 0
		fi
		kill -0 "$kvm_anchor_pid" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/# /' "$log"
	kill "$kvm_anchor_pid" 2>/dev/null
	wait "$kvm_anchor_pid"
	kvm_anchor_pid=
	return 1
}

kvm_anchor_down() {
	kill "$kvm_anchor_pid"
	wait "$kvm_anchor_pid"
	kvm_anchor_pid=
	# KVM's deferred static key decrements (1 s), still on one CPU
	sleep 2
}

# --- perf in L1, one record per phase of an L2 boot -----------------------
# prec_start <label> <perf record command...>: start that command (it
# names its own -o file) with its events disabled ("-D -1" appended: perf
# takes seconds to start under TCG, so it starts before the L2 boots) and
# a control FIFO; its messages go to $out/perf-<label>.log.  prec_ctl
# <label> enable|disable switches it, waiting for perf's ack, around the
# phase; prec_stop ends every one started.
declare -A prec_pid
prec_start() {
	local l=$1
	shift
	rm -f "/tmp/prec-$l".*
	mkfifo "/tmp/prec-$l.ctl" "/tmp/prec-$l.ack"
	"$@" -D -1 --control "fifo:/tmp/prec-$l.ctl,/tmp/prec-$l.ack" \
		> "$out/perf-$l.log" 2>&1 &
	prec_pid[$l]=$!
}

prec_ctl() {
	local pid=${prec_pid[$1]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	# shellcheck disable=SC2016 # sh expands them
	timeout 20 sh -c 'echo "$1" > "$2.ctl"; head -n 1 "$2.ack" > /dev/null' \
		- "$2" "/tmp/prec-$1" || log "perf record for $1: no ack to $2"
}

prec_stop() {
	local l
	for l in "${!prec_pid[@]}"; do
		kill -INT "${prec_pid[$l]}" 2>/dev/null
		wait "${prec_pid[$l]}"
		unset "prec_pid[$l]"
	done
}

# --- VM exits counted from KVM's tracepoints (in L1, as root) -------------
KTRACE=/sys/kernel/tracing
KTRACE_EVENTS="kvm_exit kvm_msr kvm_hypercall"

ktrace_on() {
	local e
	echo 0 > $KTRACE/tracing_on
	echo > $KTRACE/trace
	echo 8192 > $KTRACE/buffer_size_kb
	for e in $KTRACE_EVENTS; do
		echo 1 > "$KTRACE/events/kvm/$e/enable"
	done
	echo 1 > $KTRACE/tracing_on
}

# ktrace_off: stop tracing and print the counts since ktrace_on as one line
# of key=value (ktrace_count's).
ktrace_off() {
	local e
	echo 0 > $KTRACE/tracing_on
	for e in $KTRACE_EVENTS; do
		echo 0 > "$KTRACE/events/kvm/$e/enable"
	done
	ktrace_count $KTRACE
}

# ktrace_count <tracefs dir>: the counts in that (stopped) trace buffer as
# one line of key=value: exits, icr (x2APIC ICR writes), hc (hypercalls),
# each also for vCPU 0 alone (exits_v0, icr_v0, hc_v0), r_<reason> (exits
# of all vCPUs by KVM's reason name), hc_v0_nr_<nr> (vCPU 0's hypercalls
# by number, as the tracepoint prints it: 0xa KVM_HC_SEND_IPI, 0xb
# KVM_HC_SCHED_YIELD, 0x45584c10 exitless PVIPI_SEND), tscd (TSC_DEADLINE
# writes, MSR 0x6e0), tscd_v<n> and exits_v<n> for every vCPU n seen
# (vCPU 0's exits_v0 always), and lost (events the buffer dropped: the
# counts are then lower bounds).
# ktrace_count <dir> <port>: only the events between the guest's writes
# of 0xb1 and of 0xe1 to I/O port <port> (kvm_pio must be traced), and
# also marked (1: both marks seen, else every event counted) and win_s
# (seconds between the first and last event counted).
ktrace_count() {
	local lost
	lost=$(cat "$1"/per_cpu/cpu*/stats 2>/dev/null |
		awk '/^overrun:/ { s += $2 } END { print s + 0 }')
	awk -v lost="$lost" -v port="${2:-}" '
		BEGIN { on = port == ""; marked = 0 }
		port != "" && index($0, " kvm_pio: pio_write at " port " ") {
			if ($0 ~ / val 0xb1( |$)/) { on = 1; marked = 1 }
			else if ($0 ~ / val 0xe1( |$)/ && marked == 1) { on = 0; marked = 2 }
		}
		!on { next }
		# the event time in s: "<comm>-<pid>  [cpu] <flags> <time>: "
		match($0, / [0-9]+\.[0-9]+: /) { ts = substr($0, RSTART + 1, RLENGTH - 3) + 0; if (t0 == "") t0 = ts; t1 = ts }
		# the task that logged the event: "<comm>-<pid>  [cpu]"
		{ pid = ""; if (match($0, /-[0-9]+ +\[[0-9]+\]/)) { pid = substr($0, RSTART + 1); sub(/ .*/, "", pid) } }
		/ kvm_exit: / {
			v = "?"; if (match($0, /vcpu [0-9]+/)) v = substr($0, RSTART + 5, RLENGTH - 5)
			vcpu[pid] = v; exits++; if (v == "0") exits0++; else ev[v]++
			r = $0; sub(/.* reason /, "", r); sub(/ .*/, "", r); gsub(/[^A-Za-z0-9_]/, "_", r); rs[r]++
		}
		/ kvm_msr: msr_write 830 / { icr++; if (vcpu[pid] == "0") icr0++ }
		/ kvm_msr: msr_write 6e0 / { tscd++; tv[vcpu[pid] == "" ? "?" : vcpu[pid]]++ }
		/ kvm_hypercall: / {
			hc++
			if (vcpu[pid] == "0") {
				hc0++
				n = $0; sub(/.* nr /, "", n); sub(/ .*/, "", n); hcn0[n]++
			}
		}
		END {
			printf "exits=%d exits_v0=%d icr=%d icr_v0=%d hc=%d hc_v0=%d tscd=%d lost=%d", exits, exits0, icr, icr0, hc, hc0, tscd, lost
			if (port != "") printf " marked=%d win_s=%.3f", marked == 2, t1 - t0
			for (v in ev) printf " exits_v%s=%d", v, ev[v]
			for (v in tv) printf " tscd_v%s=%d", v, tv[v]
			for (r in rs) printf " r_%s=%d", r, rs[r]
			for (n in hcn0) printf " hc_v0_nr_%s=%d", n, hcn0[n]
			printf "\n"
		}' "$1/trace"
}

# ktrace_inst_on <name> [<more kvm events>] / ktrace_inst_off <name>:
# the same events (and more) traced
# in a trace instance of their own (instances/<name>, 8 MB per CPU), so
# that a phase ends with one write (no reading of the buffer while the
# guest moves on) and several phases' buffers wait to be counted:
# ktrace_count $KTRACE/instances/<name>, then ktrace_inst_rm <name>.
ktrace_inst_on() {
	local i=$KTRACE/instances/$1 e
	[ ! -d "$i" ] || rmdir "$i"
	mkdir "$i"
	echo 8192 > "$i/buffer_size_kb"
	for e in $KTRACE_EVENTS ${2:-}; do
		echo 1 > "$i/events/kvm/$e/enable"
	done
	echo 1 > "$i/tracing_on"
}

ktrace_inst_off() {
	echo 0 > "$KTRACE/instances/$1/tracing_on"
}

ktrace_inst_rm() {
	rmdir "$KTRACE/instances/$1"
}
