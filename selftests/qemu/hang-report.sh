#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What a silent guest is doing, from its QEMU monitor: every vCPU's
# registers (RIP named from a symbol file in /proc/kallsyms format: the
# guest's own, saved at boot, or its host's when both run the same kernel
# with nokaslr; from the host's, only core kernel text is named, since
# the guest's modules lie elsewhere than the host's; from a saved file,
# also the registers that point into core kernel data) and every local
# APIC (pending and in-service vectors, and LVT1, through which the NMI
# probe's NMI comes; QEMU shows them under TCG too).
# Used by the harness when a guest's console stays quiet for too long,
# at L0 for L1 and in L1 for L2, before it kills the guest.
# First the VM's status: "paused (shutdown)" for an L2 that was reset
# (run_l2_once keeps such a guest paused, with its registers).
#
# usage: hang-report.sh <monitor unix socket> <kallsyms> <vCPUs>
# Output: lines starting with "# hang: ".
set -u
sock=$1 map=$2 ncpu=$3
# shellcheck source=selftests/qemu/lib.sh
. "$(dirname "$0")/lib.sh"
# the host's own symbols (an L2 hang reported in L1): core text only
own=1
[ "$map" != /proc/kallsyms ] || own=0

# hmp <command>: one human monitor command, its output
hmp() {
	"$(dirname "$0")/hmp.py" "$sock" "$1"
}

# sym <hex address>: symbol+offset from the symbol file, or the address
sym() {
	[ -r "$map" ] || { echo "0x$1"; return; }
	# kernel text is at ffffffff8xxxxxxx: compare the low 32 bits (exact
	# in awk's doubles); modules are at ffffffffc0000000 and above
	awk -v a="$1" -v own="$own" "$AWK_HEX"'
		function low(s) { return substr(s, 1, 8) == "ffffffff" ? hex(substr(s, 9)) : -1 }
		BEGIN { t = low(a); best = -1; mods = hex("c0000000")
			if (!own && t >= mods) { printf "0x%s (module area: not named from the host'"'"'s symbols)\n", a; exit } }
		t >= 0 && $2 ~ /^[tTwW]$/ && (own || NF < 4) { v = low($1); if (v >= 0 && v <= t && v > best) { best = v; name = $3 } }
		END { if (!own && t >= mods) exit
		      if (best < 0 || t - best > 1048576) printf "0x%s\n", a; else printf "%s+0x%x\n", name, t - best }' "$map"
}

# data_regs <registers file>: each vCPU's general registers that point
# into the core kernel's data, named from the symbol file's data symbols
# (only a file saved at boot has them: save_kallsyms, and only then, as
# /proc/kallsyms in L1 is slow to read under TCG); one pass over it
data_regs() {
	[ "$own" = 1 ] && [ -r "$map" ] || return 0
	awk "$AWK_HEX"'
		FNR == NR && /^CPU#/ { c = $1; next }
		FNR == NR {
			gsub(/R8 =/, "R8="); gsub(/R9 =/, "R9=")
			for (i = 1; i <= NF; i++)
				if (match($i, /^R[0-9A-Z]+=ffffffff8[0-9a-f]+$/) && $i !~ /^R(IP|SP)=/) {
					split($i, kv, "=")
					n++; who[n] = c " " kv[1]; val[n] = kv[2]
					low[n] = hex(substr(kv[2], 9)); best[n] = -1
				}
			next }
		$2 ~ /^[dDbB]$/ && NF < 4 && substr($1, 1, 8) == "ffffffff" {
			v = hex(substr($1, 9))
			for (i = 1; i <= n; i++)
				if (v <= low[i] && v > best[i]) { best[i] = v; name[i] = $3 }
		}
		END { for (i = 1; i <= n; i++)
			if (best[i] >= 0 && low[i] - best[i] < 65536)
				printf "%s 0x%s = %s+0x%x\n", who[i], val[i], name[i], low[i] - best[i] }' "$1" "$map"
}

echo "# hang: $(hmp "info status")"
echo "# hang: vCPU registers"
hmp "info registers -a" > /tmp/hang-regs.$$ 2>&1 || true
awk '/^CPU#/ || /^(RAX|RSI|RIP|EAX|ESI|EIP|CS |CR0)=?/ { print }' /tmp/hang-regs.$$ |
	sed 's/^/# hang:   /'
vcpu_rips < /tmp/hang-regs.$$ |
	while read -r cpu rip; do
		echo "# hang:   $cpu RIP $rip = $(sym "$rip")"
	done
data_regs /tmp/hang-regs.$$ | sed 's/^/# hang:   /'
rm -f /tmp/hang-regs.$$
for c in $(seq 0 $((ncpu - 1))); do
	echo "# hang: local APIC of vCPU $c"
	hmp "info lapic $c" 2>&1 | grep -E '^(LVT1|ICR|ISR|IRR|APR|ESR|Timer)' |
		sed 's/^/# hang:   /'
done
echo "# hang: end of report"
