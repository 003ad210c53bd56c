#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every test of the project, in order: KUnit (UML), then the nested QEMU
# suite on Debian 6.1 and 6.12.  Each stage prints TAP result lines
# ("ok - name" / "not ok - name"); this script shows them as they come,
# times each stage, and ends with one summary line.  Exit 1 if any test
# failed or none ran.  Logs: .build/logs/<stage>.log
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
t_all=$(date +%s)

run_stage() {
	local name=$1 t0 rc line
	shift
	t0=$(date +%s)
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

echo "# ==== stage times"
for t in "${timing[@]}"; do
	echo "#   $t"
done
echo "#   total        $(($(date +%s) - t_all)) s"
echo "exitless: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
