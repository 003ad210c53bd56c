#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Debian's linux-source-<version>, extracted once into the cache for the
# builds that need a whole kernel tree (selftests/kunit/run.sh: UML for
# KUnit; selftests/debug/build-kernel.sh: the debug kernels).  Installs
# the package when its tarball is missing and we are root; extracts
# atomically (a .partial directory renamed at the end), so an interrupted
# run leaves nothing half-made behind.  Prints the tree's path; messages
# go to stderr.
# usage: scripts/linux-source.sh <6.1|6.12>
# Env: EXITLESS_CACHE (default /var/cache/exitless)
set -eu -o pipefail
ver=${1:-}
case "$ver" in 6.1 | 6.12) ;; *) echo "usage: $0 <6.1|6.12>" >&2; exit 2 ;; esac
cache=${EXITLESS_CACHE:-/var/cache/exitless}
src=$cache/linux-source-$ver
tarball=/usr/src/linux-source-$ver.tar.xz
part=$cache/.linux-source-$ver.partial

die() { echo "error: linux-source-$ver: $*" >&2; exit 1; }

if [ ! -f "$src/Makefile" ]; then
	if [ ! -f "$tarball" ]; then
		[ "$(id -u)" = 0 ] ||
			die "no $tarball: run 'apt-get install linux-source-$ver' as root"
		echo "# installing linux-source-$ver" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "linux-source-$ver" >&2 ||
			die "cannot install it (apt-get update first?)"
	fi
	echo "# extracting $tarball into $cache (once)" >&2
	mkdir -p "$cache"
	rm -rf "$part" "$src"
	mkdir -p "$part"
	tar -xJf "$tarball" -C "$part" || die "could not extract $tarball"
	mv "$part/linux-source-$ver" "$src"
	rm -rf "$part"
fi
echo "$src"
