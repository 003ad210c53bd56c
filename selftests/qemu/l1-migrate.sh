# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# shellcheck disable=SC2154 # rel, out, ko: set by l1-main.sh
#
# The L1 side of the "migrate" stage: QEMU live migration of a pvtimer L2
# guest inside L1, from one QEMU process to a second one started with
# -incoming (selftests/pvtimer/migrate.sh is the guest's side).  Sourced
# by l1-main.sh (uses its rel, out, ko, tap, collect, l2_action, log,
# quiet_watchdog, scan_klog); run_l2_migrate is the stage.
#
# The guest runs "exitless.stage=pvtimer exitless.script=migrate.sh", with
# two serial ports:
#  - ttyS0, its console: a file chardev with append=on, the same log for
#    the source and the destination QEMU, relayed here like run_l2_once's
#    (TAP lines, "EXITLESS-SYNC: <action>" requests, a silence watchdog);
#  - ttyS1, L1's answers: a socket chardev of each QEMU's own, written to
#    once the migration is over ("migrated total_ms=<t> downtime_ms=<d>"
#    or "failed <why>"), since the guest has no other way to know when
#    it ended.
# "EXITLESS-SYNC: migrate": start the destination (same arguments, its own
# monitor and ttyS1 socket, -incoming unix:$MIG_SOCK), "migrate -d" on the
# source's monitor, poll "info migrate" until completed (total time and
# downtime printed), "quit" the source, answer on the destination's
# ttyS1, and follow the destination's pid from then on (the next
# migration starts from it).  Other actions go
# to l2_action (rmmod-host, insmod-host, ...).
#
# Env (L1): EXITLESS_L2_QUIET (s of console silence, default 150),
# EXITLESS_MIG_TIMEOUT (s for one migration, default 120:
# less than the silence allowed), EXITLESS_MIG_MEM
# (the L2's RAM, default 384M).

MIG_SOCK=/tmp/mig.sock
MIG_DIR=/tmp/l2-migrate

# mig_hmp <monitor socket> <command>: one human monitor command, its output
mig_hmp() {
	"$top/selftests/qemu/hmp.py" "$1" "$2"
}

# mig_answer <ttyS1 socket> <line>: the line to the guest's ttyS1; the
# connection stays open a second, while QEMU feeds the UART's 16-byte FIFO
mig_answer() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b'\n')
time.sleep(1)
s.close()
EOF
}

# mig_run <monitor socket> <uri> <limit s>: "migrate -d <uri>", then
# "info migrate" every 0.5 s until it ends or <limit> s pass (then
# migrate_cancel), in one process (each one started costs L1, which runs
# the guest too); prints the last "info migrate"
mig_run() {
	python3 - "$top/selftests/qemu" "$1" "$2" "$3" <<'EOF'
import sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv.pop(1))
from hmp import Monitor
hmp = Monitor(sys.argv[1]).cmd
out = hmp('migrate -d ' + sys.argv[2]).strip()
if out:
    print(out)
end = time.monotonic() + float(sys.argv[3])
while True:
    info = hmp('info migrate')
    st = [l.split(':', 1)[1].strip() for l in info.split('\n')
          if l.startswith('Migration status:')]
    if st and st[0] in ('completed', 'failed', 'cancelled'):
        break
    if time.monotonic() > end:
        hmp('migrate_cancel')
        info = 'Migration status: timeout (last: %s)\n' % (st[0] if st else 'none') + info
        break
    time.sleep(0.5)
print(info)
EOF
}

# mig_qemu <n> [more QEMU arguments]: QEMU number <n> of the L2 (0: the
# first boot, n + 1: the destination of QEMU n), in the background; its
# pid in $MIG_DIR/<n>.pid, its monitor /tmp/l2-mig-<n>.mon, its ttyS1
# socket /tmp/l2-mig-<n>.s1
mig_qemu() {
	local n=$1
	shift
	rm -f "/tmp/l2-mig-$n.mon" "/tmp/l2-mig-$n.s1"
	timeout 900 qemu-system-x86_64 -enable-kvm -cpu host -smp 2 \
		-m "${EXITLESS_MIG_MEM:-384M}" \
		-kernel "/boot/vmlinuz-$rel" -initrd "$out/l2.cpio.gz" \
		-append "console=ttyS0 loglevel=4 panic=-1 nokaslr exitless.stage=pvtimer exitless.script=migrate.sh" \
		-nodefaults -display none \
		-chardev "file,id=s0,path=$MIG_LOG,append=on" -serial chardev:s0 \
		-chardev "socket,id=s1,path=/tmp/l2-mig-$n.s1,server=on,wait=off" \
		-serial chardev:s1 \
		-monitor "unix:/tmp/l2-mig-$n.mon,server,nowait" \
		-no-reboot "$@" </dev/null >"$MIG_DIR/$n.err" 2>&1 &
	echo $! > "$MIG_DIR/$n.pid"
}

# mig_wait_file <seconds> <path>: wait for a socket a QEMU creates
mig_wait_file() {
	local t=0
	while [ ! -S "$2" ]; do
		[ "$t" -lt $(($1 * 2)) ] || return 1
		sleep 0.5
		t=$((t + 1))
	done
}

# mig_field <key> <info migrate output>: the number after "<key>: "
mig_field() {
	printf '%s\n' "$2" | sed -n "s/^$1: \([0-9]*\).*/\1/p" | head -n 1
}

# mig_migrate: the "migrate" action, from the current QEMU ($MIG_DIR/cur)
# to a new one.  Runs in the relay's shell (the destination QEMU must be
# its child), prints what it does; on success $MIG_DIR/cur is the
# destination and $MIG_DIR/migrations has a line more.
mig_migrate() {
	local cur next src dst info status t0 total down
	local limit=${EXITLESS_MIG_TIMEOUT:-120}
	cur=$(cat "$MIG_DIR/cur")
	next=$((cur + 1))
	src=$(cat "$MIG_DIR/$cur.pid")
	rm -f "$MIG_SOCK"
	t0=$(date +%s.%N)
	mig_qemu "$next" -incoming "unix:$MIG_SOCK"
	dst=$(cat "$MIG_DIR/$next.pid")
	if ! mig_wait_file 60 "$MIG_SOCK" || ! mig_wait_file 10 "/tmp/l2-mig-$next.mon"; then
		echo "destination QEMU $next not listening on $MIG_SOCK after 60 s:"
		kill "$dst" 2>/dev/null
		wait "$dst"
		sed "s/^/  qemu $next: /" "$MIG_DIR/$next.err"
		mig_answer "/tmp/l2-mig-$cur.s1" "failed no-destination"
		return 1
	fi
	echo "migration $next: QEMU $cur (pid $src) -> QEMU $next (pid $dst), listening after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
	info=$(mig_run "/tmp/l2-mig-$cur.mon" "unix:$MIG_SOCK" "$limit")
	status=$(printf '%s\n' "$info" | sed -n 's/^Migration status: *//p' | head -n 1)
	printf '%s\n' "$info" | grep -E '^(Migration status|migrate|total time|downtime|setup|transferred ram|remaining ram|total ram|duplicate|normal|dirty sync count|precopy ram)' |
		sed "s/^/  qemu $cur: /"
	if [ "$status" != completed ]; then
		echo "migration $next $status: QEMU $cur goes on; QEMU $next killed"
		kill "$dst" 2>/dev/null
		wait "$dst"
		sed "s/^/  qemu $next: /" "$MIG_DIR/$next.err"
		mig_answer "/tmp/l2-mig-$cur.s1" "failed ${status%% *}"
		return 1
	fi
	total=$(mig_field "total time" "$info")
	down=$(mig_field downtime "$info")
	echo "migration $next completed: total time ${total:-?} ms, downtime ${down:-?} ms"
	echo "migration $next: total_ms=${total:-?} downtime_ms=${down:-?}" >> "$MIG_DIR/migrations"
	# from now on the relay follows the destination
	echo "$next" > "$MIG_DIR/cur"
	echo "$dst" > "$MIG_DIR/pid.new"
	mv "$MIG_DIR/pid.new" "$MIG_DIR/pid"
	mig_answer "/tmp/l2-mig-$next.s1" "migrated total_ms=${total:-0} downtime_ms=${down:-0}"
	mig_hmp "/tmp/l2-mig-$cur.mon" quit >/dev/null 2>&1
	wait "$src"
	echo "QEMU $cur (pid $src) quit: status $?"
	mig_hmp "/tmp/l2-mig-$next.mon" "info status" | sed "s/^/  qemu $next: /"
}

# mig_follow: lives as long as the L2's current QEMU ($MIG_DIR/pid)
mig_follow() {
	while kill -0 "$(cat "$MIG_DIR/pid")" 2>/dev/null; do
		sleep 1
	done
}

# mig_watch <n>: the silence watchdog of QEMU <n>, in the background
mig_watch() {
	quiet_watchdog "$(cat "$MIG_DIR/$1.pid")" "$MIG_LOG" \
		"${EXITLESS_L2_QUIET:-150}" "/tmp/l2-mig-$1.mon" /proc/kallsyms 2 &
	echo $! >> "$MIG_DIR/watchdogs"
}

# run_l2_migrate_once: one boot of the guest, migrated on its request;
# returns 1 when its console fell silent (the watchdog's report printed)
# or its kernel panicked before init ran (l2_why says which)
run_l2_migrate_once() {
	local line fpid w n rc=0
	rm -rf "$MIG_DIR"
	mkdir -p "$MIG_DIR"
	MIG_LOG=$out/l2-migrate.log
	: > "$MIG_LOG"
	rm -f "$MIG_LOG.hung"
	log "booting L2 (migrate, 2 vCPUs, ${EXITLESS_MIG_MEM:-384M})"
	echo 0 > "$MIG_DIR/cur"
	mig_qemu 0
	cp "$MIG_DIR/0.pid" "$MIG_DIR/pid"
	mig_watch 0
	mig_follow &
	fpid=$!
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '#   L2| %s\n' "$line"
		case "$line" in
		"EXITLESS-SYNC: migrate")
			# not in a pipeline: the destination QEMU must be
			# this shell's child
			n=$(cat "$MIG_DIR/cur")
			mig_migrate > "$MIG_DIR/action.out" 2>&1
			sed 's/^/#   L1> /' "$MIG_DIR/action.out"
			if [ "$(cat "$MIG_DIR/cur")" != "$n" ]; then
				log "done: migrate"
				mig_watch "$(cat "$MIG_DIR/cur")"
			fi ;;
		"EXITLESS-SYNC: "*)
			if l2_action "${line#EXITLESS-SYNC: }" 2>&1 | sed 's/^/#   L1> /'; then
				log "done: ${line#EXITLESS-SYNC: }"
			fi ;;
		esac
	done < <(tail -n +1 -F --pid=$fpid "$MIG_LOG" 2>/dev/null)
	wait "$fpid"
	wait "$(cat "$MIG_DIR/pid")" || rc=$?
	while read -r w; do
		kill "$w" 2>/dev/null
		wait "$w"
	done < "$MIG_DIR/watchdogs"
	echo "# QEMU's own messages:"
	for n in $(seq 0 "$(cat "$MIG_DIR/cur")"); do
		sed "s/^/#   qemu $n: /" "$MIG_DIR/$n.err"
	done
	l2_boot_failed "$MIG_LOG" && return 1
	tr -d '\r' < "$MIG_LOG" | grep -aE '^(not )?ok ' | while IFS= read -r line; do
		tap "$line"
	done
	if [ -s "$MIG_DIR/migrations" ]; then
		tap "ok - l2/migrate migrated # $(tr '\n' ';' < "$MIG_DIR/migrations")"
	else
		tap "not ok - l2/migrate migrated # no migration completed (see the L1> lines)"
	fi
	if grep -aq '^EXITLESS-L2: done' "$MIG_LOG"; then
		tap "ok - l2/migrate completed"
	else
		tap "not ok - l2/migrate completed # qemu rc=$rc (124 = timeout)"
	fi
	scan_klog "$MIG_LOG" "l2/migrate kernel log clean" | collect
}

# run_l2_migrate: the stage; an L2 that went silent or died booting is
# booted again (as run_l2 does), up to L2_BOOTS boots in all (l1-main.sh)
run_l2_migrate() {
	host_up "for migrate"
	l2_boots migrate mig_undo run_l2_migrate_once
}

# mig_undo: a failed boot's QEMUs ended, then l2_undo (l1-main.sh)
mig_undo() {
	mig_kill_leftovers
	l2_undo
}

# mig_kill_leftovers: end the QEMUs of a silent boot (by their pids)
mig_kill_leftovers() {
	local p
	for p in "$MIG_DIR"/[0-9]*.pid; do
		[ -s "$p" ] || continue
		kill "$(cat "$p")" 2>/dev/null && wait "$(cat "$p")" 2>/dev/null
	done
	return 0
}
