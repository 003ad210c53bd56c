#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A second QEMU for experiments: the one in Debian 12's bookworm-backports
# (10.0 on 2026-12-06), unpacked under $EXITLESS_CACHE/qemu-bpo, not
# installed: the system's QEMU 7.2 stays what make check runs.  The
# nested harness runs this one at L0 and in L1 when EXITLESS_QEMU_PATH
# names its bin/ (selftests/qemu/run.sh).  Why: QEMU 7.2's TCG has bugs
# that fail a bench run now and then (Documentation/dynidle.rst, "What
# the abab failures are").  The mirror is the one apt already uses for
# bookworm.  Prints the bin/ directory.
#
# usage: scripts/qemu-backports.sh      (as root; quick when unpacked)
set -eu -o pipefail
cache=${EXITLESS_CACHE:-/var/cache/exitless}
dir=$cache/qemu-bpo
bin=$dir/bin
die() { echo "error: $*" >&2; exit 1; }

if [ -x "$bin/qemu-system-x86_64" ] && "$bin/qemu-system-x86_64" --version > /dev/null 2>&1; then
	echo "$bin"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "need root (apt-get)"
uri=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
	awk '$2 == "bookworm" && !u { u = $1 } END { print u }')
[ -n "$uri" ] || die "no bookworm source in apt's configuration to take the mirror from"

rm -rf "$dir"
mkdir -p "$dir/apt/lists/partial" "$dir/debs" "$dir/root" "$bin"
echo "deb $uri bookworm-backports main" > "$dir/apt/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$dir/apt/sources.list"
	-o Dir::Etc::sourceparts=/nonexistent
	-o "Dir::State::Lists=$dir/apt/lists"
	-o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" -q update >&2
ver=$(apt-cache "${apt_opts[@]}" madison qemu-system-x86 |
	awk -F' *[|] *' '/bookworm-backports/ && !v { v = $2 } END { print v }')
[ -n "$ver" ] || die "bookworm-backports has no qemu-system-x86"
(cd "$dir/debs" &&
	apt-get "${apt_opts[@]}" -q download "qemu-system-x86=$ver" \
		"qemu-system-common=$ver" "qemu-system-data=$ver" >&2)
for d in "$dir"/debs/*.deb; do
	dpkg -x "$d" "$dir/root"
done
missing=$(ldd "$dir/root/usr/bin/qemu-system-x86_64" | awk '/not found/ { print $1 }')
[ -z "$missing" ] || die "QEMU $ver needs libraries not installed: $missing"
# its firmware and option ROMs first, then the system's (SeaBIOS, iPXE)
cat > "$bin/qemu-system-x86_64" << EOF
#!/bin/sh
# QEMU $ver from bookworm-backports (scripts/qemu-backports.sh)
exec "$dir/root/usr/bin/qemu-system-x86_64" -L "$dir/root/usr/share/qemu" "\$@"
EOF
chmod +x "$bin/qemu-system-x86_64"
"$bin/qemu-system-x86_64" --version | head -n 1 >&2
echo "$bin"
