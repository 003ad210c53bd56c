#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every test of the project, in order: KUnit (UML), then the nested QEMU
# suite on Debian 6.1 and 6.12.  Each stage prints TAP result lines
# ("ok - name" / "not ok - name"); this script shows them as they come,
# times each stage, and ends with a digest of what failed or was booted
# again (if anything), the stage times and one summary line.  Exit 1 if
# any test failed or none ran.  Logs: .build/logs/<stage>.log
# Env: EXITLESS_KERNELS (default "6.1 6.12"), EXITLESS_STAGES (default
# "kunit nested").
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
logs=$top/.build/logs
mkdir -p "$logs"
kernels=${EXITLESS_KERNELS:-6.1 6.12}
stages=${EXITLESS_STAGES:-kunit nested}
pass=0 fail=0 skip=0
timing=()
ran=()
t_all=$(date +%s)

run_stage() {
	local name=$1 t0 rc line
	shift
	t0=$(date +%s)
	ran+=("$logs/$name.log")
	echo "# ==== stage $name: $*"
	"$@" > "$logs/$name.log" 2>&1 &
	local pid=$!
	# stream the log while the stage runs
	while IFS= read -r line; do
		printf '%s\n' "$line"
	done < <(tail -n +1 -F --pid=$pid "$logs/$name.log" 2>/dev/null)
	wait $pid
	rc=$?
	local p f s r
	p=$(grep -cE '^ok ' "$logs/$name.log" | tr -d ' ')
	s=$(grep -E '^ok ' "$logs/$name.log" | grep -c '# SKIP' | tr -d ' ')
	f=$(grep -cE '^not ok ' "$logs/$name.log" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name # stage exited $rc without a failing test"
		f=1
	fi
	if [ $((p + f + s)) = 0 ]; then
		echo "not ok - $name # stage ran no test"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	r=$(grep -c '^# RETRY' "$logs/$name.log" | tr -d ' ')
	timing+=("$(printf '%-12s %5d s  %3d passed, %d failed, %d skipped%s' \
		"$name" $(($(date +%s) - t0)) "$p" "$f" "$s" \
		"$([ "$r" = 0 ] || echo ", $r L1 boots retried")")")
}

for st in $stages; do
	case "$st" in
	kunit) run_stage kunit "$top/selftests/kunit/run.sh" ;;
	nested)
		for k in $kernels; do
			run_stage "nested-$k" "$top/selftests/qemu/run.sh" "$k"
		done ;;
	*) echo "# unknown stage $st"; fail=$((fail + 1)) ;;
	esac
done

# What went wrong, where CI shows it (the last lines of a run): every
# failed test, every boot that was booted again, and the headlines of
# the hang reports (why the guest was stopped, each vCPU's RIP, the NMI
# probe), in log order, at most DIGEST_LINES lines; the logs hold the rest.
digest() {
	local lines=${DIGEST_LINES:-14} n
	[ "${#ran[@]}" -gt 0 ] || return 0	# (grep would read stdin)
	grep -ahE '^not ok |^ok - .*booted again|^# RETRY|# hang: (VM status|.*(silent for|reset or powered off|stuck for|RCU stall))|# hang: +CPU#[0-9]+ RIP|# hang: NMI probe' \
		"${ran[@]}" 2>/dev/null | cut -c1-160 > "$logs/digest.txt"
	n=$(wc -l < "$logs/digest.txt")
	[ "$n" -gt 0 ] || return 0
	echo "# ==== failures, boots booted again, hang reports ($n lines in .build/logs/digest.txt)"
	head -n "$lines" "$logs/digest.txt" | sed 's/^/#   /'
	[ "$n" -le "$lines" ] || echo "#   ... $((n - lines)) more"
}
digest

echo "# ==== stage times"
for t in "${timing[@]}"; do
	echo "#   $t"
done
echo "#   total        $(($(date +%s) - t_all)) s"
echo "exitless: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
