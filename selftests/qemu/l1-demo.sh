#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demonstration's L1 side: real KVM in L1, exitless_host.ko loaded,
# a Linux L2 guest negotiates with it; perf counts the calls through the
# exitless:* tracepoints and KVM's own kvm:kvm_hypercall.
set -u
rel=${1:?kernel release}
top=${EXITLESS_TOP:?}
out=/tmp/out
ko=$top/.build/$rel/exitless_host.ko
. "$top/selftests/qemu/lib.sh"
cd /tmp

say() { echo "DEMO: $*"; }
say "L1 host: $(uname -r), real KVM (kvm_amd) under QEMU TCG"
modprobe kvm_amd || { echo "not ok - demo/kvm_amd"; exit 1; }
insmod "$ko" || { echo "not ok - demo/insmod exitless_host" | tee -a $out/results.tap; exit 1; }
say "$(dmesg | grep 'exitless_host: ABI' | tail -1 | sed 's/^\[[^]]*\] //')"
say "booting the L2 guest under perf stat (about a minute)..."
perf stat -a -x, -o $out/perf.csv -e 'exitless:*' -e kvm:kvm_hypercall -e kvm:kvm_exit -- \
	timeout 600 qemu-system-x86_64 -enable-kvm -cpu host -smp 2 -m 512M \
	-kernel "/boot/vmlinuz-$rel" -initrd "$out/l2.cpio.gz" \
	-append "console=ttyS0 loglevel=4 panic=-1 exitless.stage=demo" \
	-nodefaults -display none -serial "file:$out/l2-demo.log" -monitor none \
	-no-reboot </dev/null
tr -d '\r' < $out/l2-demo.log | grep -a '^DEMO:' 
tr -d '\r' < $out/l2-demo.log | grep -aE '^(not )?ok ' >> $out/results.tap
say "host counters (/sys/kernel/debug/exitless/stats):"
sed 's/^/DEMO:   /' /sys/kernel/debug/exitless/stats
say "events counted by perf (system-wide) over the guest's whole life:"
grep -v '^#' $out/perf.csv | grep -v '^$' |
	awk -F, '{ printf "DEMO:   %-32s %s\n", $3, $1 }'
rmmod exitless_host && say "rmmod exitless_host: done"
dmesg > $out/l1-dmesg.txt
scan_klog $out/l1-dmesg.txt "demo/l1 kernel log clean" >> $out/results.tap
