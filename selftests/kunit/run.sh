#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the exitless KUnit suites in a UML kernel built from Debian's
# linux-source-6.1, with the kernel build cached across runs.
#
# usage: selftests/kunit/run.sh [GLOB]
#	GLOB	kunit.py filter, "suite" or "suite.case" glob; default exitless_*
#
# environment:
#	EXITLESS_CACHE		cache dir (default /var/cache/exitless); holds
#				linux-source-6.1/ and the build dir kunit-6.1-um/
#	KUNIT_JOBS		make jobs (default 2)
#	KUNIT_TIMEOUT		seconds for the test run itself (default 300)
#	KUNIT_BUILD_TIMEOUT	seconds for everything, build included
#				(default 5400: a cold build takes a while)
#
# Convention: every <dir>/<name>_kunit.c in the repo is a KUnit suite
# testing the pure <dir>/<name>.c next to it.  The pairs, <dir>/*.h and
# include/ are copied (rsync --delete) into <kernel source>/exitless_kunit/,
# which a generated Kbuild builds in and one idempotent line in the top-level
# Kbuild descends into.  The source tree is a cache copy, never the repo.
#
# Output: one "ok N - kunit/<suite>.<case>" or "not ok N - ..." line per test
# case, everything else starts with "# ".  Build failures, crashes and
# suites that did not run give "not ok" lines with the pseudo-suite
# exitless_kunit or the pseudo-case suite_not_run.  Exit 0 only if every
# case passed and at least one ran.

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${EXITLESS_CACHE:-/var/cache/exitless}
src=$cache/linux-source-6.1
bdir=$cache/kunit-6.1-um
kunitconfig=$top/selftests/kunit/kunitconfig
glob=${1:-exitless_*}
jobs=${KUNIT_JOBS:-2}
run_timeout=${KUNIT_TIMEOUT:-300}
total_timeout=${KUNIT_BUILD_TIMEOUT:-5400}
# what the top-level Kbuild of the cache tree gets, once
# shellcheck disable=SC2016 # make syntax, not shell
hook='obj-y += $(if $(wildcard $(srctree)/exitless_kunit/Kbuild),exitless_kunit/)'

start=$(date +%s)
n=0
failed=0
passed=0
tmp=

cleanup()
{
	local rc=$?

	[ -z "$tmp" ] || rm -rf "$tmp"
	echo "# kunit: stage took $(($(date +%s) - start))s (exit $rc)"
}
trap cleanup EXIT

result()	# result ok|not_ok name [directive]
{
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n - kunit/$2${3:+ # $3}"
	else
		echo "not ok $n - kunit/$2"
		failed=$((failed + 1))
	fi
}

comment()
{
	sed 's/^/# /'
}

# Stop before any test could run: one "not ok" line, the reason, exit 1.
die()	# die stage message...
{
	local stage=$1

	shift
	echo "error: $*" | comment
	result not_ok "exitless_kunit.$stage"
	exit 1
}

check_tools()
{
	local missing='' cmd

	# command:Debian package
	for cmd in gcc:gcc make:make flex:flex bison:bison bc:bc perl:perl \
		   python3:python3 rsync:rsync flock:util-linux; do
		command -v "${cmd%%:*}" >/dev/null || missing="$missing ${cmd#*:}"
	done
	# UML links against the C library
	[ -e /usr/include/stdio.h ] || missing="$missing libc6-dev"
	# to extract the source (scripts/linux-source.sh installs the
	# tarball itself when it is missing)
	if [ ! -f "$src/Makefile" ]; then
		command -v xz >/dev/null || missing="$missing xz-utils"
	fi
	[ -z "$missing" ] ||
		die setup "missing tools; run: apt-get install$missing" \
			"(or scripts/install-deps.sh; the list is in selftests/kunit/DEPS)"
	python3 -c 'import sys; sys.exit(sys.version_info < (3, 7))' ||
		die setup "kunit.py needs python3 >= 3.7"
}

# Extract linux-source-6.1 into the cache once (scripts/linux-source.sh,
# whose messages go to stderr).
ensure_source()
{
	"$top/scripts/linux-source.sh" 6.1 >/dev/null ||
		die setup "no kernel source in $src (scripts/linux-source.sh 6.1 failed)"
}

# Print the suite names a _kunit.c file defines (".name" inside a struct
# kunit_suite initialiser).
suite_names()
{
	awk '/struct kunit_suite[^;]*=/ { in_suite = 1 }
	     in_suite && match($0, /\.name[ \t]*=[ \t]*"[^"]*"/) {
		s = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", s);
		sub(/"$/, "", s); print s; in_suite = 0 }
	     /^};/ { in_suite = 0 }' "$1"
}

# Stage the pairs and headers with the repo's layout, plus a Kbuild, and
# mirror the stage into the source tree.  rsync --checksum without -t:
# unchanged files keep their mtime (no rebuild), changed ones get a new one.
stage_sources()
{
	local stage=$tmp/exitless_kunit t dir name objs='' flags='' d

	mkdir -p "$stage"
	cd "$top"
	tests=$(find . \( -name .git -o -name .build \) -prune -o \
		-type f -name '*_kunit.c' -print | sed 's|^\./||' | LC_ALL=C sort)
	[ -n "$tests" ] || die setup "no *_kunit.c file under $top"

	find include -name '*.h' -exec cp --parents {} "$stage/" \; 2>/dev/null || true
	for t in $tests; do
		dir=$(dirname "$t")
		name=$(basename "$t" _kunit.c)
		cp --parents "$t" "$stage/"
		objs="$objs ${t%.c}.o"
		if [ -f "$dir/$name.c" ]; then
			cp --parents "$dir/$name.c" "$stage/"
			objs="$objs ${dir#./}/$name.o"
		else
			echo "# note: $t has no $dir/$name.c next to it; building it alone"
		fi
		for d in "$dir"/*.h; do
			[ ! -f "$d" ] || cp --parents "$d" "$stage/"
		done
	done
	for t in $objs; do
		flags="${flags}CFLAGS_${t#./} += -I\$(srctree)/\$(src)/$(dirname "$t")
"
	done
	cat >"$stage/Kbuild" <<EOF
# SPDX-License-Identifier: GPL-2.0
# Generated by exitless selftests/kunit/run.sh on every run; do not edit.
ccflags-y += -I\$(srctree)/\$(src)/include -Werror
obj-\$(CONFIG_KUNIT) +=${objs//.\//}
$flags
EOF
	rsync -r --checksum --delete "$stage/" "$src/exitless_kunit/"

	if ! grep -qxF "$hook" "$src/Kbuild"; then
		printf '%s\n%s\n' '# exitless KUnit suites (exitless selftests/kunit/run.sh)' \
			"$hook" >>"$src/Kbuild"
	fi
}

# Turn kunit.py's JSON into our result lines.  Prints "STATUS<TAB>suite.case".
parse_json()
{
	python3 - "$1" <<'EOF'
import json, sys

def cases(group, prefix):
    for i, c in enumerate(group.get("test_cases", []), 1):
        # a case the kernel died in has no result line, hence no name
        yield c["status"], prefix + (c["name"] or f"crashed_case_{i}")
    for sub in group.get("sub_groups", []):
        # a parameterised case: one result, failed if any parameter failed
        st = [c["status"] for c in sub.get("test_cases", [])]
        bad = [s for s in st if s not in ("PASS", "SKIP")]
        if bad:
            status = bad[0]
        elif st and all(s == "SKIP" for s in st):
            status = "SKIP"
        else:
            status = "PASS" if st else "ERROR"
        yield status, prefix + sub["name"]

with open(sys.argv[1]) as f:
    top = json.load(f)
for suite in top.get("sub_groups", []):
    for status, name in cases(suite, suite["name"] + "."):
        print(f"{status}\t{name}")
EOF
}

check_tools
mkdir -p "$cache"
exec 9>"$cache/.kunit-6.1-um.lock"
if ! flock -n 9; then
	echo "# waiting for another run.sh using $cache to finish"
	flock 9
fi
ensure_source
[ -f "$kunitconfig" ] || die setup "missing $kunitconfig"
tmp=$(mktemp -d)
stage_sources
mkdir -p "$bdir"
log=$bdir/exitless-kunit.log
json=$bdir/exitless-kunit.json
rm -f "$json"

echo "# kunit: $(echo "$tests" | wc -w) suite file(s), kernel $src, build dir $bdir"
set +e
(cd "$src" && timeout --kill-after=30 "$total_timeout" \
	python3 tools/testing/kunit/kunit.py run --arch um \
		--build_dir "$bdir" --kunitconfig "$kunitconfig" \
		--jobs "$jobs" --timeout "$run_timeout" --json="$json" \
		"$glob" </dev/null) 2>&1 | tee "$log" |
	sed -u -e "/^stty: 'standard input': Inappropriate ioctl/d" -e 's/^/# /'
rc=${PIPESTATUS[0]}
set -e

if [ ! -s "$json" ]; then
	# no results at all: configuration or build failed, or timed out
	echo "# kunit.py exited $rc without results; see $log" \
	     "and $bdir/test.log"
	stage=config
	! grep -q 'Building KUnit Kernel' "$log" || stage=build
	! grep -q 'Starting KUnit Kernel' "$log" || stage=run
	[ "$rc" != 124 ] || echo "# timed out after ${total_timeout}s"
	result not_ok "exitless_kunit.$stage"
	exit 1
fi

ran_suites=' '
while IFS=$'\t' read -r status name; do
	[ -n "$name" ] || continue
	ran_suites="$ran_suites${name%%.*} "
	case $status in
	PASS)	result ok "$name"; passed=$((passed + 1)) ;;
	SKIP)	result ok "$name" SKIP ;;
	*)	result not_ok "$name" ;;
	esac
done < <(parse_json "$json")

# Every suite defined in a _kunit.c file and selected by the glob must
# have run; a suite not named exitless_* would never be selected.
for t in $tests; do
	for s in $(suite_names "$top/$t"); do
		case $s in
		exitless_*) ;;
		*)	echo "# $t: suite '$s' is not named exitless_*"
			result not_ok "$s.suite_not_run"
			continue ;;
		esac
		# shellcheck disable=SC2053 # glob match on purpose
		[[ $s == ${glob%%.*} ]] || continue
		case $ran_suites in
		*" $s "*) ;;
		*)	echo "# $t: suite '$s' produced no results"
			result not_ok "$s.suite_not_run" ;;
		esac
	done
done

if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
	# e.g. the kernel crashed after the last parsed case
	echo "# kunit.py exited $rc although every parsed case passed"
	result not_ok exitless_kunit.run
fi
if [ "$failed" = 0 ] && [ "$passed" = 0 ]; then
	echo "# no test case passed (filter '$glob')"
	result not_ok exitless_kunit.run
fi
if [ "$failed" != 0 ]; then
	echo "# $failed of $n failed; kernel output: $bdir/test.log"
	exit 1
fi
echo "# all $passed case(s) passed"
