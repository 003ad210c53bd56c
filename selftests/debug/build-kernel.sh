#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build and install the debug kernel of `make debug`: Debian's
# linux-source-6.1 or -6.12, x86_64_defconfig +
# kvm_guest.config + selftests/debug/debug.config (lockdep, atomic-sleep
# checks, debug objects for timers and work, kmemleak), release
# <version>-exitless-debug.  L1 and L2 boot it, as they boot Debian's
# kernels: /boot/vmlinuz-<release> and /lib/modules/<release> (with its
# build link) on this machine, the root L1 mounts.  Nothing else is
# touched (no bootloader entry, no initramfs-tools run).
# Everything but the release goes to stderr.  Cached: a second run with
# the same config and source only checks.
# usage: selftests/debug/build-kernel.sh [6.1|6.12]  (prints the release)
# Env: EXITLESS_CACHE (default /var/cache/exitless), JOBS (default nproc)
set -eu -o pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${EXITLESS_CACHE:-/var/cache/exitless}
ver=${1:-6.1}
case "$ver" in 6.1 | 6.12) ;; *) echo "usage: $0 [6.1|6.12]" >&2; exit 2 ;; esac
obj=$cache/debug-$ver
frag=$top/selftests/debug/debug.config
jobs=${JOBS:-$(nproc)}

say() { echo "# debug kernel: $*" >&2; }
die() { echo "error: debug kernel: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "need root (installs into /boot and /lib/modules)"
src=$("$top/scripts/linux-source.sh" "$ver") || die "no linux-source-$ver"
mkdir -p "$obj"
# the config: rebuilt whenever the fragment changes
stamp=$(sha256sum "$frag" | cut -c1-16)
if [ "$(cat "$obj/.exitless-frag" 2>/dev/null)" != "$stamp" ]; then
	say "configuring in $obj"
	make -s -C "$src" O="$obj" x86_64_defconfig >&2
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"$src/kernel/configs/kvm_guest.config" "$frag" >/dev/null
	make -s -C "$src" O="$obj" olddefconfig >&2
	# every option of the fragment must have stuck (a dependency that is
	# not met drops one silently)
	bad=0
	while IFS= read -r l; do
		case "$l" in
		CONFIG_*=n) grep -qx "# ${l%=n} is not set" "$obj/.config" ||
			! grep -q "^${l%=n}=" "$obj/.config" || { say "not applied: $l"; bad=1; } ;;
		CONFIG_*) grep -qxF "$l" "$obj/.config" || { say "not applied: $l"; bad=1; } ;;
		esac
	done < "$frag"
	[ "$bad" = 0 ] || die "the config fragment did not apply (above)"
	echo "$stamp" > "$obj/.exitless-frag"
fi
if [ ! -f "$obj/.exitless-built" ] || [ "$obj/.config" -nt "$obj/.exitless-built" ]; then
	say "building with -j$jobs (about 10 minutes on 2 cores)"
	make -s -C "$src" O="$obj" -j"$jobs" bzImage modules >&2
	touch "$obj/.exitless-built"
fi
# (LOCALVERSION is in the release only once the build has synced the config)
rel=$(make -s -C "$src" O="$obj" kernelrelease)
case "$rel" in *-exitless-debug) ;; *) die "unexpected release '$rel'" ;; esac
# installed again after every build (a module may be all that changed)
if [ ! -f "/boot/vmlinuz-$rel" ] || [ ! -f "/boot/config-$rel" ] ||
   [ ! -d "/lib/modules/$rel/kernel" ] ||
   [ "$obj/.exitless-built" -nt "$obj/.exitless-installed" ]; then
	say "installing $rel into /boot and /lib/modules"
	make -s -C "$src" O="$obj" modules_install INSTALL_MOD_STRIP=1 >/dev/null
	cp "$obj/arch/x86/boot/bzImage" "/boot/vmlinuz-$rel"
	cp "$obj/System.map" "/boot/System.map-$rel"
	cp "$obj/.config" "/boot/config-$rel"
	touch "$obj/.exitless-installed"
fi
ln -sfn "$obj" "/lib/modules/$rel/build"
echo "$rel"
