#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Quality gates: checkpatch --strict on every C source and header of the
# modules, and a sparse (C=2) build for each target kernel.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${EXITLESS_CACHE:-/var/cache/exitless}
cp=$cache/linux-source-6.1/scripts/checkpatch.pl
[ -x "$cp" ] || { echo "error: $cp missing (make deps; selftests/kunit/run.sh extracts it)" >&2; exit 1; }
command -v sparse >/dev/null || { echo "error: sparse missing (make deps)" >&2; exit 1; }
cd "$top"
rc=0
files=$(git ls-files 'include/*.h' 'host/*.[ch]' 'guest/*.[ch]' 'compat/*.h' \
	'pvipi/*.[ch]' 'pvtimer/*.[ch]' 'dynidle/*.[ch]' 'selftests/host/*.[ch]' \
	'selftests/pvtimer/*.c' 'selftests/pvipi/ipibench/*.c' 'selftests/dynidle/haltpoll/*.c' \
	'selftests/qemu/*.c')
echo "# checkpatch --strict on $(echo "$files" | wc -w) files"
for f in $files; do
	ignore=FILE_PATH_CHANGES
	case "$f" in
	# TRACE_EVENT() macro layout: the kernel's own trace headers get the
	# same two CHECKs
	*_trace.h) ignore=$ignore,OPEN_ENDED_LINE,PARENTHESIS_ALIGNMENT ;;
	# compat/ is the one place allowed to test kernel versions
	compat/*) ignore=$ignore,LINUX_VERSION_CODE,CONSTANT_COMPARISON ;;
	esac
	out=$("$cp" --strict --no-tree --quiet --no-summary --show-types \
		--ignore "$ignore" -f "$f" 2>&1) || true
	if [ -n "$out" ]; then
		echo "$out"
		rc=1
	fi
done
for hdr in /usr/src/linux-headers-6.1.*-amd64 /usr/src/linux-headers-6.12.*-amd64; do
	[ -d "$hdr" ] || continue
	rel=${hdr#/usr/src/linux-headers-}
	echo "# sparse (C=2) for $rel"
	"$top/scripts/build-for-kernel.sh" "$rel" >/dev/null
	out=$(make -s -C "$hdr" M="$top/.build/$rel" C=2 modules 2>&1 | grep -vE 'Skipping BTF|^\s*$' || true)
	# the pvipi bench's test module, in its own directory there
	out=$out$(make -s -C "$hdr" M="$top/.build/$rel/ipibench" C=2 modules 2>&1 |
		grep -vE 'Skipping BTF|^\s*$' || true)
	if [ -n "$out" ]; then
		echo "$out"
		rc=1
	fi
done
[ $rc = 0 ] && echo "# style: clean"
exit $rc
