#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The nested QEMU suite, driven from the build machine (L0):
#   L0  qemu-system-x86_64 -accel tcg -cpu max  (software-emulated AMD SVM)
#   L1  Debian kernel, real KVM: host ABI selftests, then
#   L2  a Debian kernel guest with exitless_guest.ko
# usage: selftests/qemu/run.sh [6.1|6.12|<release>]...   (default: both)
# Prints TAP lines ("ok - <kernel>/<test>"); exits 1 if any failed.
# Env: EXITLESS_L1_TIMEOUT (s, default 1500; 3600 for the pvipi bench
#      boot), EXITLESS_CACHE,
#      EXITLESS_TCG_THREAD (single|multi: force one mode; see boot_l1 use),
#      EXITLESS_L1_SMP (L1 CPUs, for every boot), EXITLESS_BOOTS (names of
#      the L1 boots to run: host, guest, pvipi, pvtimer, migrate, dynidle;
#      e.g. "pvtimer": that stage alone; default all), EXITLESS_L1_STAGES
#      (the stages those boots run instead of their own, e.g.
#      EXITLESS_BOOTS=dynidle EXITLESS_L1_STAGES=dkms),
#      EXITLESS_DKMS_KERNELS (the kernels whose dynidle boot also runs
#      the dkms stage, default "6.12"; "6.1 6.12": both), EXITLESS_L1_QUIET
#      (s of L1 console silence before a hang report and kill, default 240:
#      an L2 is reported by L1 itself after 150 s, so a longer silence is L1's;
#      L1's monitor socket is .build/nested-<release>/<boot>/l1.mon),
#      EXITLESS_L1_MAIN (the L1 script, default selftests/qemu/l1-main.sh),
#      EXITLESS_L1_RETRIES (times to boot again an L1 that hung or whose
#      kernel crashed outside exitless code, default 3),
#      EXITLESS_BENCH_TRACE=1 (--bench: the dynidle idle load also traces
#      dynidle's idle periods; off by default, since switching a
#      tracepoint patches L2 text under multi-threaded TCG, see boot_l1),
#      EXITLESS_BENCH_ROUNDS (--bench: dynidle latency rounds, haltpoll
#      and dynidle each booted that many times in all, default 3; and
#      the pvtimer boot's rounds of its timer loads off and on, default
#      5 in all), EXITLESS_PVT_PAIRS (--bench: the pvtimer boot's
#      interleaved pairs of short blocks off and on per timer load,
#      default 40; 0: none),
#      EXITLESS_STRESS_IPIS (--bench: IPIs of the pvipi stress run,
#      default 1000000; 0: no stress run), EXITLESS_PVIPI_PARTS (--bench:
#      the pvipi parts to run, of "raw,l2,kernel,prof": the raw 256-vCPU
#      guest, the 3-vCPU membarrier() L2s, the 4-vCPU in-kernel IPI L2s,
#      a perf profile of L1 per send; default "raw,l2,kernel"),
#      EXITLESS_DYNIDLE_PARTS (--bench: the dynidle parts to run, of
#      "main,rounds,abab": the stock, hostpoll, haltpoll and dynidle
#      boots, the latency rounds, and one boot that loads the kernel's
#      own haltpoll driver as a module and dynidle in turn; default
#      "main,rounds"),
#      EXITLESS_BENCH_ABAB (--bench: passes of that boot, default 10),
#      EXITLESS_BENCH_ABAB_MODE (--bench: "reload", the default: each
#      dynidle turn loads exitless_guest and removes it; "switch": it
#      stays loaded and its dynidle parameter switches the driver, so
#      haltpoll's turns run with its pvipi and pvtimer too),
#      EXITLESS_L1_APPEND (more words for L1's kernel command line,
#      for experiments, e.g. "tsc=reliable", or "exitless.pvt_dynidle=0":
#      the pvtimer boots' guest without dynidle),
#      EXITLESS_QEMU_PATH (a directory whose qemu-system-x86_64 runs at L0
#      and in L1 instead of the system's, e.g. the bin/ that
#      scripts/qemu-backports.sh prints), EXITLESS_QEMU_MTTCG=system (the
#      system's QEMU for the dynidle boot too, see use_qemu_mttcg).
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"
top=$EXITLESS_TOP
main=${EXITLESS_L1_MAIN:-selftests/qemu/l1-main.sh}
if [ "${1:-}" = --demo ]; then
	# the demonstration: one kernel, its own L1 script
	shift
	main=selftests/qemu/l1-demo.sh
	set -- "${@:-6.1}"
elif [ "${1:-}" = --bench ]; then
	# the benchmarks (make bench): their own L1 script
	shift
	main=selftests/qemu/l1-bench.sh
fi
kernels=${*:-${EXITLESS_KERNELS:-6.1 6.12}}
failed=0

if [ -n "${EXITLESS_QEMU_PATH:-}" ]; then
	[ -x "$EXITLESS_QEMU_PATH/qemu-system-x86_64" ] ||
		die "EXITLESS_QEMU_PATH: no qemu-system-x86_64 in $EXITLESS_QEMU_PATH"
	PATH=$EXITLESS_QEMU_PATH:$PATH
fi
for tool in qemu-system-x86_64 busybox cpio xz rsync; do
	command -v "$tool" >/dev/null || [ -x "/bin/$tool" ] ||
		die "$tool missing: run 'make deps' (scripts/install-deps.sh)"
done
log "$(qemu-system-x86_64 --version | head -n 1)${EXITLESS_QEMU_PATH:+ (EXITLESS_QEMU_PATH)}"

# use_qemu_mttcg: set l0_qemu to the L0 QEMU of the test suite's boot with
# multi-threaded TCG (dynidle's: 2 L1 CPUs, one TCG thread each): QEMU
# 10.0 from bookworm-backports (scripts/qemu-backports.sh, unpacked under
# the cache on first use), not the system's 7.2.  7.2's multi-threaded
# TCG runs stale translations of patched code (fixed in 8.1), and on
# 2026-12-06 alone, 7.2 lost that boot's L2 in CI of 62f6603 on both
# kernels (panics before init, a silent L2) and in 2 of 5 boots run
# alone here (a triple fault; a double fault at entry_SYSCALL_64 with GS
# and KernelGS both the kernel's); Documentation/dynidle.rst, "What the
# abab failures are", has the longer series (10.0: 1 failure in 11,
# 7.2: 9 in 25); 10.0 lost 1 L2 in 12 boots of this one, booted again.
# L1 keeps the system's QEMU for its L2s (KVM, no TCG).
# EXITLESS_QEMU_PATH (all boots) comes first; EXITLESS_QEMU_MTTCG=system
# keeps 7.2 for this boot too.  If the backports QEMU cannot be had, the
# boot runs 7.2, and says so.
use_qemu_mttcg() {
	local bin
	l0_qemu=qemu-system-x86_64
	[ -z "${EXITLESS_QEMU_PATH:-}" ] || return 0
	if [ "${EXITLESS_QEMU_MTTCG:-backports}" = system ]; then
		log "multi-threaded TCG: the system's QEMU (EXITLESS_QEMU_MTTCG=system)"
		return 0
	fi
	if bin=$("$top/scripts/qemu-backports.sh" 2>"$top/.build/qemu-backports.log"); then
		l0_qemu=$bin/qemu-system-x86_64
		log "multi-threaded TCG: $("$l0_qemu" --version | head -n 1) (scripts/qemu-backports.sh)"
	else
		sed 's/^/#   /' "$top/.build/qemu-backports.log"
		log "WARNING: no QEMU from bookworm-backports (above): multi-threaded TCG runs the system's $(qemu-system-x86_64 --version | head -n 1), whose races fail boots more often"
	fi
}

# l1_once <out> <release> <thread> <L1 CPUs> <stages>: one L1 boot, its
# console shown as it runs; sets rc to QEMU's exit status (124: timeout).
l1_once() {
	local out=$1 rel=$2 thread=$3 smp=$4 stages=$5 dir=$1/.. qpid wpid
	: > "$out/results.tap"
	rm -f "$out/l1.mon" "$out/l1-console.log.hung"
	log "booting L1 for '$stages' (TCG thread=$thread, $smp CPUs, slow); console: $out/l1-console.log"
	timeout "${EXITLESS_L1_TIMEOUT:-1500}" "${l0_qemu:-qemu-system-x86_64}" \
		-accel "tcg,thread=$thread" -cpu max -smp "$smp" -m 4G \
		-kernel "/boot/vmlinuz-$rel" -initrd "$dir/l1.cpio.gz" \
		-append "console=ttyS0 loglevel=4 panic=-1 nokaslr exitless.top=$top exitless.rel=$rel exitless.main=$main exitless.stages=$stages exitless.cache=$EXITLESS_CACHE${EXITLESS_PVT_BENCH:+ exitless.pvt_bench=1}${EXITLESS_BENCH_TRACE:+ exitless.bench_trace=1}${EXITLESS_BENCH_ROUNDS:+ exitless.bench_rounds=$EXITLESS_BENCH_ROUNDS}${EXITLESS_PVT_PAIRS:+ exitless.pvt_pairs=$EXITLESS_PVT_PAIRS}${EXITLESS_STRESS_IPIS:+ exitless.stress_ipis=$EXITLESS_STRESS_IPIS}${EXITLESS_PVIPI_PARTS:+ exitless.pvipi_parts=$EXITLESS_PVIPI_PARTS}${EXITLESS_DYNIDLE_PARTS:+ exitless.dynidle_parts=$EXITLESS_DYNIDLE_PARTS}${EXITLESS_BENCH_ABAB:+ exitless.bench_abab=$EXITLESS_BENCH_ABAB}${EXITLESS_BENCH_ABAB_MODE:+ exitless.abab_mode=$EXITLESS_BENCH_ABAB_MODE}${EXITLESS_QEMU_PATH:+ exitless.qemu_path=$EXITLESS_QEMU_PATH}${EXITLESS_L1_APPEND:+ $EXITLESS_L1_APPEND}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$top,mount_tag=repo,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$out,mount_tag=out,security_model=none" \
		-nodefaults -display none -serial "file:$out/l1-console.log" \
		-monitor "unix:$out/l1.mon,server,nowait" \
		-no-reboot </dev/null &
	qpid=$!
	QW_LOCKUP=1 quiet_watchdog $qpid "$out/l1-console.log" "${EXITLESS_L1_QUIET:-240}" \
		"$out/l1.mon" "$out/kallsyms" "$smp" &
	wpid=$!
	# show progress as it happens (indented: not result lines)
	if [ "$main" = selftests/qemu/l1-demo.sh ]; then
		tail -n +1 -F --pid=$qpid "$out/l1-console.log" 2>/dev/null |
			stdbuf -oL tr -d '\r' | grep -a --line-buffered '^DEMO:' |
			sed -u 's/^DEMO: \{0,1\}/  /' || true
	else
		tail -n +1 -F --pid=$qpid "$out/l1-console.log" 2>/dev/null |
			stdbuf -oL tr -d '\r' | grep -av --line-buffered '^\(not \)\?ok ' |
			sed -u 's/^/#   L1| /' || true
	fi
	rc=0
	wait $qpid || rc=$?
	kill $wpid 2>/dev/null
	wait $wpid
}

# boot_l1 <kernel label> <release> <dir> <boot name> <tcg thread> <L1 CPUs> <stages>
boot_l1() {
	local k=$1 rel=$2 dir=$3 name=$4 thread=${EXITLESS_TCG_THREAD:-$5}
	local smp=${EXITLESS_L1_SMP:-$6} stages=${EXITLESS_L1_STAGES:-$7}
	local out=$dir/$name rc t0 tries=0 retries=${EXITLESS_L1_RETRIES:-3} why
	case " ${EXITLESS_BOOTS:-$name} " in
	*" $name "*) ;;
	*) log "L1 boot '$name' skipped (EXITLESS_BOOTS=$EXITLESS_BOOTS)"; return 0 ;;
	esac
	t0=$(date +%s)
	mkdir -p "$out"
	ln -f "$dir/l2.cpio.gz" "$out/l2.cpio.gz"
	# An L1 whose console went silent was killed by the watchdog, after
	# its report. The one hang seen here (about 1 boot in 5 of a 3-vCPU
	# L2 on 1 L1 CPU) is TCG's: L1's only CPU stays inside an L2 vCPU
	# that spins in AP bring-up (6.12: cpuhp_ap_sync_alive) and never
	# takes a VM exit; not even an NMI sent to L1 from its QEMU monitor
	# gets it out (tried 2026-12-01, 14 NMIs over 11 minutes), so L1
	# cannot recover and is killed.  It came in 1 of 6 L2 boots with
	# exitless_host loaded, 1 of 8 with only KVM's kvm_entry/kvm_exit
	# tracepoints on (no exitless module), none in 15 of a plain L1.
	# Another, in CI of 819b54f (2026-12-02, 6.12, the migrate boot, one
	# L1 CPU): right after a completed L2 migration, L1's only CPU spun
	# in __timer_delete_sync() for 240 s (exitless deletes no timer_list
	# timer); its second boot passed.
	# So is an L1 one of whose CPUs reports a soft lockup of that long:
	# seen once (CI, 2026-12-02, 6.1, the 2-CPU dynidle boot), in L2's
	# QEMU after the L2 had powered off; the reports kept the console
	# going until the 1500 s timeout.
	# The same emulator once crashed L1's kernel outright, in code that
	# is not ours (see l1_crash_outside_exitless in lib.sh), once
	# left an idle L1 CPU halted for 22 s in a boot that otherwise
	# passed (see l1_stall_outside_exitless), and once made L1's kernel
	# warn over a flags register no x86 CPU can hold, in a boot whose
	# only failure was that warning (see l1_flags_impossible).
	# Such a boot runs again (at most EXITLESS_L1_RETRIES times), from
	# scratch and loudly, each failed console kept.  A crash that names
	# exitless code, one failure more than that, or any other failure
	# fails the stage.
	l1_once "$out" "$rel" "$thread" "$smp" "$stages"
	while [ "$tries" -lt "$retries" ]; do
		if grep -aq '^EXITLESS-L1: done' "$out/l1-console.log"; then
			if l1_stall_outside_exitless "$out/l1-console.log" \
				"$out/l1-dmesg.txt"; then
				why="ran to its end, but L1 stalled outside exitless code"
			elif l1_flags_impossible "$out/l1-dmesg.txt" &&
			     ! grep -a '^not ok' "$out/results.tap" |
				grep -avq 'kernel log clean'; then
				why="ran to its end, but L1's kernel reported an EFLAGS no CPU can hold"
			else
				break
			fi
		elif [ -e "$out/l1-console.log.hung" ]; then
			why=hung
		elif l1_crash_outside_exitless "$out/l1-console.log"; then
			why="crashed outside exitless code"
		else
			break
		fi
		tries=$((tries + 1))
		[ ! -e "$out/l1-dmesg.txt" ] ||
			mv "$out/l1-dmesg.txt" "$out/l1-dmesg.txt.failed$tries"
		mv "$out/l1-console.log" "$out/l1-console.log.failed$tries"
		cp "$out/results.tap" "$out/results.tap.failed$tries"
		echo "# RETRY: L1 boot '$name' $why (console above, kept as $out/l1-console.log.failed$tries): booting it again, $tries of $retries"
		l1_once "$out" "$rel" "$thread" "$smp" "$stages"
	done
	# result lines, named by kernel
	sed -E "s@^(not ok|ok)( [0-9]+)? - @\\1 - $k/@" "$out/results.tap"
	if grep -aq '^EXITLESS-L1: done' "$out/l1-console.log"; then
		echo "ok - $k/l1 $name boot completed"
	else
		echo "not ok - $k/l1 $name boot completed # qemu rc=$rc (124 = timeout)"
	fi
	# L1's own lines: the L2 consoles it relays ("#   L2| ") are scanned
	# by L1 per boot, and a boot that died before its init ran is
	# booted again there (l1-main.sh, run_l2)
	grep -av '^#   L2| ' "$out/l1-console.log" > "$out/l1-console.own.log" || true
	scan_klog "$out/l1-console.own.log" "$k/l1 $name console clean" || true
	log "L1 boot '$name' took $(($(date +%s) - t0)) s"
}

# dkms_here <release>: does that kernel's dynidle boot end with the dkms
# stage?  Only the kernels in EXITLESS_DKMS_KERNELS do (default 6.12: its
# DKMS path is the longer one, compressing the modules with xz; the stage
# takes 5-7 minutes per kernel under TCG, mostly compiling and depmod,
# and every kernel's build of the same Kbuild files is checked at L0).
dkms_here() {
	local k
	for k in ${EXITLESS_DKMS_KERNELS-6.12}; do
		[ "$(kernel_release "$k" 2>/dev/null)" = "$1" ] && return 0
	done
	return 1
}

run_one() {
	local k=$1 rel out t0 b
	rel=$(kernel_release "$k")
	out=$top/.build/nested-$rel
	t0=$(date +%s)
	log "== kernel $rel"
	# (errexit does not apply here: the caller tests our status)
	"$top/scripts/build-for-kernel.sh" "$rel" 2>&1 | sed 's/^/#   /' ||
		{ echo "not ok - $k/build"; return 1; }
	echo "ok - $k/build W=1 clean"
	if [ -f "$top/selftests/host/Makefile" ]; then
		log "building host selftests"
		make -s -C "$top/selftests/host" O="$top/.build/selftests/host" 2>&1 |
			sed 's/^/#   /' ||
			{ echo "not ok - $k/host selftests build"; return 1; }
	fi
	if [ "$main" = selftests/qemu/l1-main.sh ]; then
		# the dkms stage's package, installed in L1 by dpkg
		"$top/scripts/dkms.sh" deb "$top/.build" | sed 's/^/#   /' ||
			{ echo "not ok - $k/make deb"; return 1; }
		echo "ok - $k/make deb"
	fi
	rm -rf "$out"
	mkdir -p "$out"
	log "building initramfs for L1 and L2"
	mkinitramfs "$rel" "$out/l1.cpio.gz" "$top/selftests/qemu/l1-init.sh" \
		virtio_pci 9pnet_virtio 9p || return 1
	# the pvipi stage's IPI load: a static binary for the busybox L2
	gcc -O2 -Wall -static -pthread -o "$top/.build/ipi_load" \
		"$top/selftests/pvipi/ipi_load.c" ||
		{ echo "not ok - $k/ipi_load build"; return 1; }
	# L1's holder of KVM's static keys (kvm_anchor.c), same way
	gcc -O2 -Wall -static -o "$top/.build/kvm_anchor" \
		"$top/selftests/qemu/kvm_anchor.c" ||
		{ echo "not ok - $k/kvm_anchor build"; return 1; }
	# the dynidle stage's ping-pong load, same way
	gcc -O2 -Wall -static -o "$top/.build/pingpong" \
		"$top/selftests/dynidle/pingpong.c" ||
		{ echo "not ok - $k/pingpong build"; return 1; }
	# the pvtimer stage's timer loop, same way
	gcc -O2 -Wall -static -o "$top/.build/timerloop" \
		"$top/selftests/pvtimer/timerloop.c" ||
		{ echo "not ok - $k/timerloop build"; return 1; }
	# make bench's dynidle "abab" boot: the kernel's own haltpoll driver
	# as a module (from Debian's linux-source of the series).  Without
	# it, the rest of the bench still runs: bench.sh reports the abab
	# boot as "error=no-exitless_haltpoll.ko".
	local hp=()
	if [ "$main" = selftests/qemu/l1-bench.sh ]; then
		if "$top/selftests/dynidle/haltpoll/build.sh" "$rel" "/lib/modules/$rel/build" \
			"$top/.build/$rel/haltpoll" 2>&1 | sed 's/^/#   /'; then
			hp=("$top/.build/$rel/haltpoll/exitless_haltpoll.ko:/exitless_haltpoll.ko")
		else
			log "exitless_haltpoll.ko not built: make bench's abab boot will report it missing"
		fi
	fi
	mkinitramfs "$rel" "$out/l2.cpio.gz" "$top/selftests/qemu/l2-init.sh" -- \
		"$top/.build/$rel/exitless_guest.ko:/exitless_guest.ko" \
		"${hp[@]}" \
		"$top/.build/$rel/ipibench/exitless_ipibench.ko:/exitless_ipibench.ko" \
		"$top/selftests/lib:/selftests/lib" \
		"$top/selftests/guest:/selftests/guest" \
		"$top/selftests/pvipi:/selftests/pvipi" \
		"$top/.build/ipi_load:/selftests/pvipi/ipi_load" \
		"$top/selftests/dynidle:/selftests/dynidle" \
		"$top/.build/pingpong:/selftests/dynidle/pingpong" \
		"$top/selftests/pvtimer:/selftests/pvtimer" \
		"$top/.build/timerloop:/selftests/pvtimer/timerloop" \
		"$top/selftests/demo:/selftests/demo" || return 1
	# The L1 boots, each with the TCG mode and CPU count its stage needs.
	# Under multi-threaded TCG with 2 L1 CPUs, L1 text patching (ftrace,
	# as exitless_host.ko is inserted and removed) while guests run
	# corrupted L2 state or L1: an "Oops: int3" from a completed
	# text_poke_bp(), a triple fault in L2, L1 addresses in an L2 RIP,
	# "corrupted stack end detected inside scheduler" in an L1 task, even
	# with an unrelated ftrace toggle and no exitless module.  With one
	# TCG thread, code written by one vCPU is seen by the others at once.
	#  - host: raw guests loop on hypercalls while the module comes and
	#    goes: one TCG thread, 2 L1 CPUs (the unload races need them).
	#  - pvtimer: removes and loads exitless_host under a running L2 (its
	#    liveness checks), so it belongs with the guest stage.
	#  - guest, demo, bench: Linux L2s with 2-3 vCPUs, whose handshakes
	#    advance only once per TCG round-robin slice with 2 L1 CPUs on one
	#    thread (they never finished booting), so L1 gets one CPU: its
	#    scheduler runs the L2 vCPU threads, and no CPU sees stale code.
	if [ "$main" = selftests/qemu/l1-demo.sh ]; then
		boot_l1 "$k" "$rel" "$out" demo single 1 demo || return 1
	elif [ "$main" = selftests/qemu/l1-bench.sh ]; then
		# pvipi: raw guests without module reloads, then L2 guests
		# (the 1,000,000-IPI stress alone takes 5-10 minutes: an hour);
		# dynidle: 2 L1 CPUs (one per L2 vCPU), no module reloads
		EXITLESS_L1_TIMEOUT=${EXITLESS_L1_TIMEOUT:-3600} \
			boot_l1 "$k" "$rel" "$out" bench single 1 pvipi || return 1
		boot_l1 "$k" "$rel" "$out" bench-dynidle multi 2 dynidle || return 1
		# pvtimer with the host's poller on an L1 CPU of its own (the
		# pvtimer stage's loads, l1-main.sh; 2 L1 CPUs, no host reload)
		EXITLESS_PVT_BENCH=1 main=selftests/qemu/l1-main.sh \
			boot_l1 "$k" "$rel" "$out" bench-pvtimer multi 2 pvtimer || return 1
		mkdir -p "$top/.build/bench"
		cat "$out"/bench*/bench.txt > "$top/.build/bench/bench-$rel.txt"
		# the table (it ends with when it was made)
		[ ! -s "$out/bench-pvtimer/pvtimer.txt" ] ||
			cp "$out/bench-pvtimer/pvtimer.txt" "$top/.build/bench/pvtimer-$rel-poller-cpu.txt"
		log "bench results: .build/bench/bench-$rel.txt"
	else
		boot_l1 "$k" "$rel" "$out" host single 2 host || return 1
		# One L1 boot per L2 stage: an L1 that hangs (see boot_l1) is
		# booted again, and each boot again redoes only its own stage.
		for b in guest pvipi pvtimer migrate; do
			boot_l1 "$k" "$rel" "$out" "$b" single 1 "$b" || return 1
		done
	fi
	# dynidle: polling only pays off, and is only allowed by the host's
	# hint, when each L2 vCPU thread has an L1 CPU of its own: 2 L1 CPUs,
	# so multi-threaded TCG; the stage therefore never makes L1 or L2
	# patch text while the L2 runs (KVM's own static keys held on by
	# kvm_anchor.c; no host module reload: the guest boot
	# covers that with dynidle negotiated; the guest module without
	# pvtimer, whose tracepoint probes flip static keys: see
	# selftests/dynidle/run.sh).  Then, with its L2 gone and on the
	# kernels dkms_here names, the dkms stage: the package installed
	# with dpkg, DKMS building with -j2.
	if [ "$main" = selftests/qemu/l1-main.sh ]; then
		b=dynidle
		if dkms_here "$rel"; then
			b=dynidle,dkms
		elif [ -z "${EXITLESS_L1_STAGES:-}" ]; then
			log "no dkms stage for $rel (EXITLESS_DKMS_KERNELS=${EXITLESS_DKMS_KERNELS-6.12})"
		fi
		local l0_qemu
		use_qemu_mttcg
		boot_l1 "$k" "$rel" "$out" dynidle multi 2 "$b" || return 1
	fi
	log "kernel $rel took $(($(date +%s) - t0)) s"
}

mkdir -p "$top/.build"
for k in $kernels; do
	st=0
	run_one "$k" | tee "$top/.build/nested-$k.tap" || st=$?
	if [ "$st" != 0 ]; then
		echo "not ok - $k/harness # a stage failed to run (exit $st)" |
			tee -a "$top/.build/nested-$k.tap"
	fi
	grep -q '^not ok' "$top/.build/nested-$k.tap" && failed=1
done
exit $failed
