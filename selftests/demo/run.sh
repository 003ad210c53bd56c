#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The demonstration's guest side (busybox sh, in L2): load the guest
# module, wait for it to negotiate with the host, show what it got.
set -eu
ko=${EXITLESS_GUEST_KO:-/exitless_guest.ko}
sys=/sys/kernel/exitless

echo "DEMO: guest $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPUs: insmod exitless_guest.ko"
insmod "$ko"
i=0
while [ "$(cat $sys/state 2>/dev/null)" != active ] && [ $i -lt 100 ]; do
	sleep 0.2
	i=$((i + 1))
done
echo "DEMO: guest sysfs ($sys):"
for f in state host_abi_version host_epoch features_offered features_enabled registered_cpus; do
	printf 'DEMO:   %-18s %s\n' "$f" "$(cat $sys/$f 2>/dev/null || echo '?')"
done
echo "DEMO: guest kernel log:"
dmesg | grep exitless | sed 's/^/DEMO:   /'
echo "DEMO: rmmod exitless_guest (unregisters every vCPU's area)"
rmmod exitless_guest
if [ "$(grep -c . $sys/registered_cpus 2>/dev/null)" != 0 ] && [ -e $sys ]; then
	echo "not ok - demo/guest negotiated and unloaded # $sys still there"
	exit 1
fi
echo "ok - demo/guest negotiated and unloaded"
