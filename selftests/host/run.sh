#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host ABI selftests, run inside L1 as root (chrooted into the build
# machine's root), with /dev/kvm, kvm_amd loaded, debugfs mounted and
# exitless_host NOT loaded.  Leaves exitless_host loaded.
#
# Environment:
#   EXITLESS_HOST_KO        exitless_host.ko to insmod (unset: module tests skip)
#   EXITLESS_SELFTESTS      our binaries (default: <repo>/.build/selftests/host)
#   EXITLESS_KVM_SELFTESTS  upstream KVM selftests build, holding x86_64/
#                           (default: /var/cache/exitless/kvm-selftests-6.1)
#   EXITLESS_TEST_TIMEOUT   seconds per binary (default 300)
#   EXITLESS_RMMOD_PARK=1   park the vCPU threads (VM alive, areas registered)
#                           while exitless_rmmod_test runs rmmod/insmod,
#                           instead of keeping the hypercall loops running.
#                           Needed only with multi-threaded TCG as L0
#                           (-accel tcg,thread=multi): there, L1 kernel text
#                           patching (ftrace, as module load/unload does)
#                           while L2 vCPUs run corrupts L2 state, even with
#                           no exitless module.  Default 0 (under load).
#
# Output: at column 0 only one line per test, "ok N - host/<name>",
# "not ok N - host/<name>" or "ok N - host/<name> # SKIP <reason>"
# (exit 4 = skip); everything else is prefixed with "# ".  A test also
# fails if the kernel logs a WARNING, BUG, Oops or lockup while it runs.
# Exits 1 if any test failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
: "${EXITLESS_HOST_KO:=}"
: "${EXITLESS_SELFTESTS:=$top/.build/selftests/host}"
: "${EXITLESS_KVM_SELFTESTS:=${EXITLESS_CACHE:-/var/cache/exitless}/kvm-selftests-6.1}"
: "${EXITLESS_TEST_TIMEOUT:=300}"
: "${EXITLESS_RMMOD_PARK:=0}"
export EXITLESS_HOST_KO
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

module=exitless_host
kernel_bad='WARNING:|BUG:|Oops|general protection fault|soft lockup|hard LOCKUP|hung_task|Call Trace:|RIP: |refcount_t:|UBSAN:|KASAN:|suspected memory leak'

n=0
nr_pass=0
nr_fail=0
nr_skip=0
work=$(mktemp -d /tmp/exitless-host-selftests.XXXXXX)

cleanup()
{
	rm -rf "$work"
}
trap cleanup EXIT

say()
{
	echo "# $*"
}

# elapsed <start, from date +%s.%N>: seconds since, 2 decimals
elapsed()
{
	awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'
}

loaded()
{
	[ -d /sys/module/$module ]
}

klog_lines()
{
	dmesg 2>/dev/null | wc -l
}

# result <name> <pass|fail|skip> [reason]
result()
{
	n=$((n + 1))
	case $2 in
	pass)	nr_pass=$((nr_pass + 1)); echo "ok $n - host/$1" ;;
	skip)	nr_skip=$((nr_skip + 1)); echo "ok $n - host/$1 # SKIP ${3:-skipped}" ;;
	*)	nr_fail=$((nr_fail + 1)); echo "not ok $n - host/$1" ;;
	esac
}

# run_test <name> <binary> [args...]
run_test()
{
	local name=$1 bin=$2 log=$work/$1.log rc k0 t0 reason
	shift 2

	say "---- host/$name: $(basename "$bin") $*"
	if [ ! -x "$bin" ]; then
		say "missing binary $bin (build with: make -C selftests/host)"
		result "$name" fail
		return
	fi
	k0=$(klog_lines)
	t0=$(date +%s.%N)
	set +e
	timeout -k 10 "$EXITLESS_TEST_TIMEOUT" stdbuf -oL -eL "$bin" "$@" 2>&1 |
		tee "$log" | sed -u 's/^/#   /'
	rc=${PIPESTATUS[0]}
	set -e
	say "host/$name: exit $rc in $(elapsed "$t0") s"

	if dmesg 2>/dev/null | tail -n +$((k0 + 1)) >"$work/klog"; then
		if [ -s "$work/klog" ]; then
			sed 's/^/# kernel: /' "$work/klog"
		fi
		if grep -Eq "$kernel_bad" "$work/klog"; then
			say "host/$name: the kernel logged a problem"
			rc=1
		fi
	fi

	case $rc in
	0)	result "$name" pass ;;
	4)	reason=$(grep -Eo 'SKIP.*' "$log" | tail -1 | sed 's/^SKIP[ :-]*//')
		result "$name" skip "${reason:-exit 4}" ;;
	124|137)
		say "host/$name: timed out after $EXITLESS_TEST_TIMEOUT s"
		result "$name" fail ;;
	*)	result "$name" fail ;;
	esac
}

# The upstream binaries live in x86_64/ of the build (or at its top).
kvm_bin()
{
	if [ -x "$EXITLESS_KVM_SELFTESTS/x86_64/$1" ]; then
		echo "$EXITLESS_KVM_SELFTESTS/x86_64/$1"
	else
		echo "$EXITLESS_KVM_SELFTESTS/$1"
	fi
}

insmod_module()
{
	local t0 rc

	if [ -z "$EXITLESS_HOST_KO" ]; then
		result insmod_exitless_host skip "EXITLESS_HOST_KO is not set"
		return
	fi
	t0=$(date +%s.%N)
	set +e
	timeout 60 insmod "$EXITLESS_HOST_KO" 2>&1 | sed 's/^/#   /'
	rc=${PIPESTATUS[0]}
	set -e
	say "insmod $EXITLESS_HOST_KO: exit $rc in $(elapsed "$t0") s"
	if [ "$rc" = 0 ] && loaded; then
		result insmod_exitless_host pass
	else
		result insmod_exitless_host fail
	fi
}

say "host ABI selftests on $(uname -r), $(nproc) CPUs"
say "module: ${EXITLESS_HOST_KO:-<none>}"
say "ours: $EXITLESS_SELFTESTS, upstream: $EXITLESS_KVM_SELFTESTS"
start=$(date +%s)

if loaded; then
	say "$module is loaded at start: removing it for the absent checks"
	rmmod $module || say "rmmod $module failed"
fi

# 1. Without the module: KVM answers -KVM_ENOSYS.
run_test exitless_probe_test-absent "$EXITLESS_SELFTESTS/exitless_probe_test" --expect-absent

# 2. Load it.
insmod_module

# 3. Upstream KVM selftests, with the module loaded: nothing else changes.
run_test upstream-kvm_pv_test "$(kvm_bin kvm_pv_test)"
# (not xapic_ipi_test: its sender/receiver progress check, timed in wall
# clock, fails now and then under TCG in CI, so it tells us nothing)
run_test upstream-set_sregs_test "$(kvm_bin set_sregs_test)"
run_test upstream-fix_hypercall_test "$(kvm_bin fix_hypercall_test)"
run_test upstream-sync_regs_test "$(kvm_bin sync_regs_test)"
run_test upstream-userspace_msr_exit_test "$(kvm_bin userspace_msr_exit_test)"

# 4. Ours.  rmmod last: it reloads the module.
run_test exitless_probe_test "$EXITLESS_SELFTESTS/exitless_probe_test"
run_test exitless_cpl3_test "$EXITLESS_SELFTESTS/exitless_cpl3_test"
run_test exitless_hostile_test "$EXITLESS_SELFTESTS/exitless_hostile_test"
run_test exitless_vm_destroy_test "$EXITLESS_SELFTESTS/exitless_vm_destroy_test"
# 256 vCPUs with sparse APIC IDs: about 11 s in L1 under TCG
run_test exitless_pvipi_test "$EXITLESS_SELFTESTS/exitless_pvipi_test" -n 256 -r 4
# pvtimer: hostile calls, delivery at the HLT exit, teardown by kill, and
# (-R, not with EXITLESS_RMMOD_PARK=1) a rmmod/insmod while vCPUs arm
pvtimer_args="-r 50 -k 4"
[ "$EXITLESS_RMMOD_PARK" = 1 ] || pvtimer_args="$pvtimer_args -R"
# shellcheck disable=SC2086
run_test exitless_pvtimer_test "$EXITLESS_SELFTESTS/exitless_pvtimer_test" $pvtimer_args
# again with the host's poller (pvtimer_poll_us): ENABLE's period, delivery
# to a busy guest that makes no call, teardown by kill with pinned pages
if [ -z "$EXITLESS_HOST_KO" ]; then
	result exitless_pvtimer_test-poller skip "EXITLESS_HOST_KO is not set"
else
	! loaded || rmmod $module || say "rmmod $module failed"
	if timeout 60 insmod "$EXITLESS_HOST_KO" pvtimer_poll_us=200; then
		run_test exitless_pvtimer_test-poller "$EXITLESS_SELFTESTS/exitless_pvtimer_test" -r 20 -k 2
		rmmod $module || say "rmmod $module failed"
	else
		say "insmod $EXITLESS_HOST_KO pvtimer_poll_us=200 failed"
		result exitless_pvtimer_test-poller fail
	fi
	loaded || insmod "$EXITLESS_HOST_KO" || say "insmod failed"
fi
rmmod_args="-n 2 -c 2"
[ "$EXITLESS_RMMOD_PARK" != 1 ] || rmmod_args="$rmmod_args -P"
# shellcheck disable=SC2086
run_test exitless_rmmod_test "$EXITLESS_SELFTESTS/exitless_rmmod_test" $rmmod_args

if ! loaded && [ -n "$EXITLESS_HOST_KO" ]; then
	say "$module not loaded at the end: loading it again"
	insmod "$EXITLESS_HOST_KO" || say "insmod failed"
fi

say "host: $nr_pass passed, $nr_fail failed, $nr_skip skipped in $(($(date +%s) - start)) s"
[ "$nr_fail" -eq 0 ] || exit 1
