#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package that building, testing and demonstrating
# exitless needs, from Debian 12's archive (bookworm + bookworm-security,
# which serves the 6.12 LTS kernel).  Quick when all are present.
set -eu

pkgs=(
	# the two target kernels: images boot L1/L2, headers build the modules
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	# KUnit (UML) and the upstream KVM selftests library come from here
	linux-source-6.1
	# toolchain
	build-essential gcc make libc6-dev flex bison bc perl python3 libelf-dev
	libssl-dev dwarves sparse
	# nested harness
	qemu-system-x86 busybox-static cpio xz-utils zstd rsync kmod util-linux
	procps coreutils
	# DKMS packaging (make deb, make dkms-install, the dkms stage)
	dkms
	# measurements, and make bench's plots
	linux-perf gnuplot-nox
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "# deps: all ${#pkgs[@]} packages present"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "error: need root to install: ${missing[*]}" >&2; exit 1; }
echo "# deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
