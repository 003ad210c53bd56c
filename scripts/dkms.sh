#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DKMS packaging of both modules (Documentation/dkms.rst).
#   scripts/dkms.sh version             print the version (the VERSION file)
#   scripts/dkms.sh stage <dir>         copy what DKMS builds from into <dir>
#   scripts/dkms.sh deb [<out dir>]     build exitless-dkms_<ver>_all.deb
#                                       (default .build/); prints its path
#   scripts/dkms.sh install [<release>] as root: /usr/src/exitless-<ver>,
#                                       dkms add, build, install (default:
#                                       the running kernel)
#   scripts/dkms.sh remove              as root: undo install, every kernel
set -eu -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
name=exitless
pkg=exitless-dkms

die() { echo "error: $*" >&2; exit 1; }

version() {
	local v
	v=$(tr -d ' \n' < "$top/VERSION")
	[[ "$v" =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "bad version '$v' in $top/VERSION"
	echo "$v"
}

# stage <dir>: the module sources and nothing else: Kbuild, the top
# Makefile, dkms.conf (version filled in), VERSION, and the C sources and
# headers of every top-level folder but the tests, docs and packaging
# (so a new feature folder is picked up), without KUnit suites or build
# products.
stage() {
	local dst=$1 ver d f
	ver=$(version)
	mkdir -p "$dst"
	cp "$top/Kbuild" "$top/Makefile" "$top/VERSION" "$dst/"
	sed "s/@VERSION@/$ver/g" "$top/dkms.conf" > "$dst/dkms.conf"
	for d in "$top"/*/; do
		d=$(basename "$d")
		case "$d" in
		selftests | Documentation | scripts | debian) continue ;;
		esac
		(cd "$top" && find "$d" -type f \( -name '*.c' -o -name '*.h' -o \
			-name Kbuild -o -name Makefile \) ! -name '*_kunit.c') |
		while IFS= read -r f; do
			mkdir -p "$dst/$(dirname "$f")"
			cp "$top/$f" "$dst/$f"
		done
	done
	chmod -R u=rwX,go=rX "$dst"
}

deb() {
	local out=${1:-$top/.build} ver deb f
	ver=$(version)
	command -v dpkg-deb >/dev/null || die "dpkg-deb missing (apt-get install dpkg)"
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	root=$(mktemp -d)
	chmod 755 "$root"
	trap 'rm -rf "$root"' EXIT
	stage "$root/usr/src/$name-$ver"
	install -d -m 755 "$root/usr/share/doc/$pkg" "$root/DEBIAN"
	install -m 644 "$top/debian/copyright" "$root/usr/share/doc/$pkg/copyright"
	for f in postinst prerm; do
		sed "s/@VERSION@/$ver/g" "$top/debian/$f" > "$root/DEBIAN/$f"
		chmod 755 "$root/DEBIAN/$f"
	done
	sed -e "s/@VERSION@/$ver/g" \
	    -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$root" | cut -f1)/" \
		"$top/debian/control.in" > "$root/DEBIAN/control"
	deb=$out/${pkg}_${ver}_all.deb
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
	echo "$deb"
}

need_root() {
	[ "$(id -u)" = 0 ] || die "need root"
	command -v dkms >/dev/null || die "dkms missing (make deps, or apt-get install dkms)"
}

install_dkms() {
	local rel=${1:-$(uname -r)} ver src
	ver=$(version)
	src=/usr/src/$name-$ver
	need_root
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q ' installed$'; then
		die "package $pkg is installed: 'dpkg --purge $pkg' first, or upgrade with 'dpkg -i'"
	fi
	[ -d "/lib/modules/$rel/build" ] ||
		die "no headers for $rel (/lib/modules/$rel/build): apt-get install linux-headers-$rel"
	# a tree from an earlier install of this version goes first
	if [ -n "$(dkms status -m "$name" -v "$ver")" ]; then
		dkms remove -m "$name" -v "$ver" --all
	fi
	rm -rf "$src"
	stage "$src"
	dkms add -m "$name" -v "$ver"
	dkms build -m "$name" -v "$ver" -k "$rel"
	dkms install -m "$name" -v "$ver" -k "$rel"
	dkms status -m "$name" -v "$ver"
}

remove_dkms() {
	local ver
	ver=$(version)
	need_root
	if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q ' installed$'; then
		die "package $pkg is installed: remove it with 'dpkg --purge $pkg'"
	fi
	if [ -n "$(dkms status -m "$name" -v "$ver")" ]; then
		dkms remove -m "$name" -v "$ver" --all
	fi
	rm -rf "/usr/src/$name-$ver"
}

case "${1:-}" in
version) version ;;
stage) stage "${2:?usage: $0 stage <dir>}" ;;
deb) deb "${2:-}" ;;
install) install_dkms "${2:-}" ;;
remove) remove_dkms ;;
*) sed -n '3,11p' "$0" >&2; exit 2 ;;
esac
