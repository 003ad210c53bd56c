# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# ipi_stress <IPIs> <label>: the pvipi stress run, shared by kbench.sh
# (make bench, 1,000,000 IPIs) and run.sh (make check, fewer), sourced by
# both (busybox sh, in L2).  exitless_ipibench.ko, loaded, makes
# smp_call_function_many() calls from CPU 0 to every other CPU until
# <IPIs> IPIs are sent; a third of the way through, the host module is
# removed ("EXITLESS-SYNC: rmmod-host", answered by L1), and at two thirds
# loaded again ("insmod-host"), each awaited in the guest's pvipi state.
# Prints "BENCH: ipibench <label> <result> hypercalls=.. fallbacks=..
# steps=.." and returns 0 only when both steps were done and every IPI
# sent was counted as received by its target.  Its variables are is_*.
IPIB=/sys/kernel/debug/exitless_ipibench

# pv <field>: a counter of /sys/kernel/exitless/pvipi (the sourcing
# scripts use it too)
pv() {
	awk -v k="$1" '$1 == k { print $2 }' /sys/kernel/exitless/pvipi 2>/dev/null || echo 0
}

# ipib_load <kind> <calls>: one load of exitless_ipibench.ko, its result
# line in $res ("failed", and fail=1, if the load failed): both are the
# sourcing script's variables
# shellcheck disable=SC2034
ipib_load() {
	if echo "$1 $2" > $IPIB/run; then
		res=$(cat $IPIB/result)
	else
		res="failed"
		fail=1
	fi
}

# ipis_wait <seconds> <0|1>: until pvipi's in_use is that
ipis_wait() {
	is_s=$1
	until [ "$(pv in_use)" = "$2" ]; do
		is_s=$((is_s - 1))
		[ "$is_s" -gt 0 ] || return 1
		sleep 1
	done
}

ipi_stress() {
	is_cpus=$(grep -c ^processor /proc/cpuinfo)
	is_calls=$((($1 + is_cpus - 2) / (is_cpus - 1)))
	is_f0=$(pv fallbacks)
	is_h0=$(pv hypercalls)
	is_step=0
	is_rc=0
	echo "# stress: $1 IPIs, $is_calls calls to $((is_cpus - 1)) CPUs"
	echo "stress $1" > $IPIB/run &
	is_spid=$!
	while kill -0 $is_spid 2>/dev/null; do
		sleep 2
		is_c=$(cat $IPIB/progress)
		echo "# stress: $is_c calls, pvipi in_use $(pv in_use) hypercalls $(pv hypercalls) fallbacks $(pv fallbacks)"
		if [ $is_step = 0 ] && [ "$is_c" -ge $((is_calls / 3)) ]; then
			echo "EXITLESS-SYNC: rmmod-host"
			ipis_wait 60 0 || { echo "# stress: pvipi still in use"; is_rc=1; }
			is_step=1
		elif [ $is_step = 1 ] && [ "$is_c" -ge $((2 * is_calls / 3)) ]; then
			echo "EXITLESS-SYNC: insmod-host"
			ipis_wait 60 1 || { echo "# stress: pvipi not back in use"; is_rc=1; }
			is_step=2
		fi
	done
	wait $is_spid || is_rc=1
	is_r=$(cat $IPIB/result)
	echo "BENCH: ipibench $2 $is_r hypercalls=$(($(pv hypercalls) - is_h0)) fallbacks=$(($(pv fallbacks) - is_f0)) steps=$is_step"
	is_sent=$(echo "$is_r" | sed -n 's/.* ipis=\([0-9]*\).*/\1/p')
	is_got=$(echo "$is_r" | sed -n 's/.* received=\([0-9]*\).*/\1/p')
	echo "# stress: $is_sent IPIs sent, $is_got received, host module steps $is_step of 2"
	[ $is_rc = 0 ] && [ $is_step = 2 ] && [ -n "$is_sent" ] && [ "$is_sent" -ge "$1" ] &&
		[ "$is_got" = "$is_sent" ]
}
