# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Checks of a kernel's own state at the end of a boot, shared by L1
# (bash: selftests/qemu/lib.sh, l1-main.sh) and L2 (busybox sh:
# selftests/qemu/l2-init.sh).  Each check prints its TAP line(s),
# "ok - <label>/..." or "not ok - <label>/...", and returns 1 when it
# failed.  The lockdep and kmemleak checks run only on a kernel that has
# them (the debug kernels of make debug), and print nothing elsewhere.

# Kernel-log problems that fail a run, wherever they show up.
KLOG_BAD='WARNING:|BUG:|Oops|Kernel panic|general protection fault|possible circular locking|possible recursive locking|inconsistent lock state|KASAN|UBSAN|suspected memory leak|soft lockup|hard LOCKUP|hung_task|blocked for more than|RCU stall|rcu_sched detected stalls|Call Trace:'

# klog_problems <kernel log>: its lines that match KLOG_BAD, but for the
# one known warning that is not ours: every L2 kernel warns "XSAVE
# consistency problem" in fpu__init_system_xstate(), at boot, before any
# module, because the XSAVE CPUID leaves that TCG's -cpu max gives L1,
# and that L1's KVM passes on, disagree with each other.  Its whole
# "cut here" ... "end trace" block is skipped, and only that block.
klog_problems() {
	awk -v bad="$KLOG_BAD" '
		function flush(i) {
			if (!known)
				for (i = 0; i < nb; i++)
					if (blk[i] ~ bad)
						print blk[i]
			inblk = 0
			nb = 0
		}
		/------------\[ cut here \]------------/ {
			if (inblk)
				flush()
			inblk = 1
			known = 0
			next
		}
		inblk {
			if ($0 ~ /XSAVE consistency problem/)
				known = 1
			blk[nb++] = $0
			if ($0 ~ /---\[ end trace/)
				flush()
			next
		}
		$0 ~ bad { print }
		END { if (inblk) flush() }' "$1"
}

# kcheck_klog <label> <kernel log>: one TAP line, the problems quoted
kcheck_klog() {
	_kc_bad=$(klog_problems "$2")
	if [ -z "$_kc_bad" ]; then
		echo "ok - $1/kernel log clean (dmesg, all levels)"
		return 0
	fi
	echo "$_kc_bad" | head -n 20 | sed 's/^/# /'
	echo "not ok - $1/kernel log clean (dmesg, all levels)"
	return 1
}

# kcheck_lockdep <label> [<lock class ERE>]: lockdep still validating at
# the end (it turns itself off for good after its first report, or when
# it runs out of room, and a report fails the log check anyway); names
# the lock classes matching the ERE that lockdep knows at this point
# (those of a loaded module)
kcheck_lockdep() {
	[ -r /proc/lockdep_stats ] || return 0
	_kc_dl=$(awk '/debug_locks:/ { print $2 }' /proc/lockdep_stats)
	_kc_ours=
	if [ -n "${2:-}" ]; then
		_kc_ours=$(grep -oE "$2" /proc/lockdep | cut -c3- | sort -u | xargs)
		_kc_ours=" (classes of ours now: ${_kc_ours:-none, module not loaded})"
	fi
	if [ "$_kc_dl" = 1 ]; then
		echo "ok - $1/lockdep validating to the end (debug_locks 1)$_kc_ours"
		return 0
	fi
	echo "not ok - $1/lockdep turned itself off during the run (debug_locks ${_kc_dl:-?})"
	return 1
}

# kcheck_kmemleak <label> <module> <report file>: with the module removed,
# whatever it allocated and lost is unreferenced.  Two scans (kmemleak
# reports an object once it is older than its minimum age and was
# unreferenced in two scans).  A report whose backtrace names exitless
# code, or a bare module address (the module is gone, and its symbols
# with it), fails; others are only counted.
kcheck_kmemleak() {
	[ -w /sys/kernel/debug/kmemleak ] || return 0
	_kc_rc=0
	if grep -q "^$2 " /proc/modules && ! rmmod "$2"; then
		echo "not ok - $1/rmmod $2 for kmemleak"
		_kc_rc=1
	fi
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > "$3"
	_kc_n=$(grep -c '^unreferenced object' "$3")
	_kc_ours=$(awk '
		/^unreferenced object/ { o = 0 }
		/^ *\[<.*(exitless|\] 0xffffffffc)/ { if (!o) n++; o = 1 }
		END { print n + 0 }' "$3")
	if [ "$_kc_ours" = 0 ]; then
		echo "ok - $1/kmemleak: nothing of $2 unreferenced ($_kc_n reports of others, $3)"
		return $_kc_rc
	fi
	sed 's/^/# /' "$3" | head -n 60
	echo "not ok - $1/kmemleak: $_kc_ours unreferenced objects from $2"
	return 1
}
