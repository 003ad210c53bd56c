# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# TAP helpers shared by the L2 stage scripts (busybox sh), sourced after
# setting TAP_NAME (the stage, prefix of every test name) and TIMEOUT
# (seconds per wait_until).  A script may define its own dump() after
# sourcing this: what it prints after a failed check.

n=0
# shellcheck disable=SC2034 # read by the sourcing script
failed=0

dump() {
	:
}

# ok <name> [comment]
ok() {
	n=$((n + 1))
	echo "ok $n - $TAP_NAME/$1${2:+ # $2}"
}

not_ok() {
	n=$((n + 1))
	echo "not ok $n - $TAP_NAME/$1"
	# shellcheck disable=SC2034 # read by the sourcing script
	failed=1
}

# check <name> <command...>: one TAP line for the command's status
check() {
	name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		not_ok "$name"
		dump
	fi
}

# wait_until <command...>: poll until it succeeds, at most $TIMEOUT s
wait_until() {
	t=0
	while ! "$@"; do
		if [ "$t" -ge "$TIMEOUT" ]; then
			echo "# timed out after ${TIMEOUT}s waiting for: $*"
			return 1
		fi
		sleep 1
		t=$((t + 1))
	done
	echo "# after ${t}s: $*"
	return 0
}

# tap_done: the closing comment line, then exit with the result
tap_done() {
	echo "# $n checks, $([ "$failed" -eq 0 ] && echo "all passed" || echo "some failed")"
	exit "$failed"
}
