#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build exitless_haltpoll.ko (haltpoll.c: the kernel's own cpuidle-haltpoll
# as a module) for one kernel release, from Debian's linux-source of its
# series (scripts/linux-source.sh: installed and extracted once).
# usage: build.sh <release> <kernel build dir> <output dir>
# Prints the source it used; the module is <output dir>/exitless_haltpoll.ko.
set -eu -o pipefail
rel=$1 kdir=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
case "$rel" in
6.1.*) ver=6.1 ;;
6.12.*) ver=6.12 ;;
*) echo "error: no Debian linux-source series for $rel" >&2; exit 1 ;;
esac
src=$("$top/scripts/linux-source.sh" "$ver")
rm -rf "$out"
mkdir -p "$out"
cp "$here/Kbuild" "$here/haltpoll.c" "$out/"
cp "$src/drivers/cpuidle/cpuidle-haltpoll.c" "$out/"
make -s -C "$kdir" M="$out" W=1 modules 2>&1 | tee "$out/build.log"
if grep -qiE 'warning:|error:' "$out/build.log"; then
	echo "error: exitless_haltpoll for $rel has warnings or errors" >&2
	exit 1
fi
echo "# exitless_haltpoll.ko for $rel from $src/drivers/cpuidle/cpuidle-haltpoll.c ($(sed -n 's/^VERSION = //p;s/^PATCHLEVEL = //p;s/^SUBLEVEL = //p' "$src/Makefile" | paste -sd.))"
