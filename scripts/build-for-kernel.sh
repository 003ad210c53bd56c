#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build both modules, and the pvipi bench's test module, for one kernel
# release, in .build/<release>/, so that builds for different kernels
# never share objects.
# usage: scripts/build-for-kernel.sh <kernel release, e.g. 6.1.0-56-amd64>
set -eu -o pipefail
rel=${1:?usage: $0 <kernel release>}
top=$(cd "$(dirname "$0")/.." && pwd)
kdir=/usr/src/linux-headers-$rel
[ -d "$kdir" ] || kdir=/lib/modules/$rel/build
[ -d "$kdir" ] || { echo "error: no build tree for $rel (install linux-headers-$rel)" >&2; exit 1; }
out=$top/.build/$rel
mkdir -p "$out"
# ipibench/ and haltpoll/ are the test modules' own build directories
# (below, and selftests/dynidle/haltpoll/build.sh), not copies of $top
rsync -a --delete --exclude=.git --exclude=.build --exclude='*.o' --exclude='*.ko' \
	--exclude='*.mod*' --exclude='.*.cmd' --exclude=Module.symvers \
	--exclude=modules.order --exclude=selftests --exclude=Documentation \
	--exclude=/ipibench --exclude=/haltpoll \
	"$top/" "$out/"
rm -f "$out"/*.ko
make -s -C "$kdir" M="$out" W=1 modules 2>&1 | tee "$out/build.log"
# the pvipi bench's test module (selftests/pvipi/ipibench/), not shipped:
# its own directory, where it is a module of its own
mkdir -p "$out/ipibench"
cp "$top"/selftests/pvipi/ipibench/* "$out/ipibench/"
make -s -C "$kdir" M="$out/ipibench" W=1 modules 2>&1 | tee -a "$out/build.log"
if grep -qiE 'warning:|error:' "$out/build.log"; then
	echo "error: build for $rel has warnings or errors (W=1 must be clean)" >&2
	exit 1
fi
ls "$out"/exitless_host.ko "$out"/exitless_guest.ko "$out"/ipibench/exitless_ipibench.ko
