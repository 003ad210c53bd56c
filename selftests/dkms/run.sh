#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The dkms stage, run as root in L1 by selftests/qemu/l1-main.sh: the
# exitless-dkms package (make deb) installed with dpkg from scratch, DKMS
# building both modules for the running kernel, exitless_host loaded with
# modprobe and its counters read, then unloaded and the package purged
# leaving nothing behind.  L1's root is the build machine's, read-only
# over 9p: /etc, /usr and /var get a tmpfs overlay for the stage's
# writes, /boot a tmpfs with the running kernel's config alone (DKMS
# builds for that kernel only), all removed at the end.  A missing tool
# fails the stage.
# usage: selftests/dkms/run.sh <exitless-dkms_<version>_all.deb>
# TAP lines "ok - l1/dkms/<check>" on stdout.
set -eu -o pipefail
deb=${1:?usage: $0 <exitless-dkms .deb>}
pkg=exitless-dkms
rel=$(uname -r)
ovl=/tmp/dkms-overlay
ovl_dirs="/etc /usr /var"
mounted=()

ok() { echo "ok - l1/dkms/$*"; }
nok() { echo "not ok - l1/dkms/$*"; }
# (line-buffered: the console shows progress as it comes)
note() { sed -u 's/^/#   /'; }
# bail <check> <why>: a failure later checks depend on
bail() { nok "$1 # $2"; exit 0; }

installed() { [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == *" installed" ]]; }
loaded() { grep -q '^exitless_host ' /proc/modules; }
# every file DKMS or the package may have left for exitless
leftovers() {
	{
		ls -d /usr/src/exitless-* /var/lib/dkms/exitless 2>/dev/null
		find /lib/modules/*/updates -name 'exitless_*.ko*' 2>/dev/null
	} || true
}

cleanup() {
	local rc=$? i
	set +e
	[ "$rc" = 0 ] || nok "stage # exited $rc before its last check"
	if loaded; then
		modprobe -r exitless_host 2>&1 | note
	fi
	if dpkg-query -W "$pkg" >/dev/null 2>&1; then
		dpkg --purge "$pkg" 2>&1 | note
	fi
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" ||
			echo "# cannot unmount the overlay on ${mounted[i]}"
	done
	rm -rf "$ovl"
}
trap cleanup EXIT

# --- tools: each missing one fails the stage ------------------------------
missing=
for t in dpkg dpkg-deb dpkg-query dkms modprobe modinfo depmod make gcc; do
	command -v "$t" >/dev/null || missing="$missing $t"
done
[ -d "/lib/modules/$rel/build/include" ] || missing="$missing linux-headers-$rel"
[ -r "$deb" ] || missing="$missing $deb"
[ -z "$missing" ] || bail tools "missing:$missing (make deps; make deb)"
ver=$(dpkg-deb -f "$deb" Version)
ok "tools (dpkg, dkms, kmod, gcc, headers of $rel) and $(basename "$deb")"

# --- a writable root -----------------------------------------------------
if ! grep -qw overlay /proc/filesystems; then
	modprobe overlay 2>&1 | note || bail overlay "cannot load the overlay module"
fi
for d in $ovl_dirs; do
	mkdir -p "$ovl$d/upper" "$ovl$d/work"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$ovl$d/upper,workdir=$ovl$d/work" "$d" 2>&1 | note ||
		bail overlay "cannot mount an overlay on $d"
	mounted+=("$d")
done
ok "overlay on $ovl_dirs (tmpfs upper)"
# L1 sees every kernel of L0: the postinst would build for the newest
# too (6.12 in the 6.1 boot), minutes more under TCG, covered by that
# kernel's own boot.  Its /boot here holds the running kernel alone.
if ! { cp "/boot/config-$rel" "$ovl/config-$rel" &&
	mount -t tmpfs -o size=16m tmpfs /boot && mounted+=(/boot) &&
	cp "$ovl/config-$rel" /boot/; }; then
	bail "/boot" "cannot give /boot the running kernel alone"
fi

# --- from scratch ----------------------------------------------------------
why=
installed && why="$why $pkg installed;"
loaded && why="$why exitless_host loaded;"
[ -z "$(leftovers)" ] || why="$why files: $(leftovers | tr '\n' ' ')"
[ -z "$why" ] || bail "clean start" "$why"
ok "clean start (no package, no module loaded, no exitless files)"

# --- install ----------------------------------------------------------------
# DKMS prints nothing while it compiles, for minutes under TCG: a line
# a minute keeps L0's silent-console watchdog from taking it for a hang.
heartbeat() {
	local t0=$1
	while sleep 60; do
		echo "# dkms: still at it after $(($(date +%s) - t0)) s;" \
			"$(find /var/lib/dkms/exitless -name '*.o' 2>/dev/null | wc -l) objects"
	done
}
t0=$(date +%s)
heartbeat "$t0" &
hb=$!
st=0
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" 2>&1 | note || st=$?
kill "$hb"
wait "$hb" 2>/dev/null || true
if [ "$st" != 0 ]; then
	tail -n 40 /var/lib/dkms/exitless/"$ver"/build/make.log 2>/dev/null | note
	bail "dpkg -i" "postinst or dkms failed"
fi
ok "dpkg -i $(basename "$deb") # $(($(date +%s) - t0)) s, DKMS build included"

st=$(dkms status -m exitless -v "$ver" 2>&1) || true
note <<< "$st"
if grep -q "^exitless/$ver, $rel, x86_64: installed" <<< "$st"; then
	ok "dkms status: exitless/$ver installed for $rel"
else
	nok "dkms status: exitless/$ver installed for $rel"
fi

bad=
for m in exitless_host exitless_guest; do
	f=$(modinfo -k "$rel" -n "$m" 2>/dev/null) || f=
	echo "$m: ${f:-not found}" | note
	case "$f" in
	"/lib/modules/$rel/updates/dkms/$m.ko"*) ;;
	*) bad="$bad $m" ;;
	esac
	[[ "$(modinfo -F vermagic "$f" 2>/dev/null)" == "$rel "* ]] || bad="$bad $m(vermagic)"
done
if [ -z "$bad" ]; then
	ok "both modules in /lib/modules/$rel/updates/dkms, vermagic $rel"
else
	nok "both modules in /lib/modules/$rel/updates/dkms, vermagic $rel # wrong:$bad"
fi

# --- load, counters, unload ----------------------------------------------
grep -q '^kvm_amd ' /proc/modules || modprobe kvm_amd 2>&1 | note || true
grep -q '^kvm_amd ' /proc/modules || bail "modprobe exitless_host" "kvm_amd not loaded"
modprobe --show-depends exitless_host 2>&1 | note
if modprobe exitless_host 2>&1 | note && loaded; then
	ok "modprobe exitless_host (after kvm_amd)"
else
	bail "modprobe exitless_host (after kvm_amd)" "not loaded"
fi

stats=/sys/kernel/debug/exitless/stats
feat=/sys/module/exitless_host/parameters/features
if [ -r "$stats" ] && grep -q '^vms [0-9]' "$stats" && [ -r "$feat" ]; then
	ok "host counters: $stats ($(wc -l < "$stats") lines), features=$(cat "$feat")"
	note < "$stats"
else
	nok "host counters: $stats and $feat"
fi

if modprobe -r exitless_host 2>&1 | note && ! loaded && [ ! -e "$stats" ]; then
	ok "modprobe -r exitless_host"
else
	nok "modprobe -r exitless_host"
fi

# --- purge -------------------------------------------------------------------
t0=$(date +%s)
if dpkg --purge "$pkg" 2>&1 | note && ! dpkg-query -W "$pkg" >/dev/null 2>&1; then
	ok "dpkg --purge $pkg # $(($(date +%s) - t0)) s"
else
	nok "dpkg --purge $pkg"
fi
left=$(leftovers)
if [ -z "$left" ] && ! modinfo -k "$rel" exitless_host >/dev/null 2>&1 &&
   [ -z "$(dkms status -m exitless 2>&1)" ]; then
	ok "purge left nothing (/usr/src, /var/lib/dkms, /lib/modules, dkms status)"
else
	nok "purge left nothing # $(echo "$left" | tr '\n' ' ')"
fi
