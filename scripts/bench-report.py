#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench's report: from the raw BENCH lines of each kernel's run
(<results>/bench-<release>.txt, written by selftests/qemu/run.sh --bench),
write <results>/dynidle.csv, <results>/pvipi.csv, <results>/pvtimer.csv
(from the pvtimer stage's tables, <results>/pvtimer-<kernel>.txt), the plots
(<results>/*.svg, with gnuplot) and Documentation/benchmarks.rst.

usage: scripts/bench-report.py <results dir> <benchmarks.rst>
"""
import csv
import glob
import os
import re
import statistics
import subprocess
import sys
import time

CONFIGS = ["stock", "hostpoll", "haltpoll", "dynidle"]
CONFIG_TEXT = {
    "stock": "stock (no guest polling, host halt_poll_ns=0)",
    "hostpoll": "host halt_poll_ns only (KVM default)",
    "haltpoll": "cpuidle_haltpoll.force=1",
    "dynidle": "exitless dynidle",
}
LOADS = ["pipe", "tcp", "idle", "contended"]


def kv(text):
    """key=value pairs of a BENCH line, numbers as floats."""
    out = {}
    for m in re.finditer(r"(\w+)=(\S+)", text):
        try:
            out[m.group(1)] = float(m.group(2))
        except ValueError:
            out[m.group(1)] = m.group(2)
    return out


def parse(path):
    """One kernel's raw file: header, dynidle rows, pvipi lines."""
    rel = re.sub(r"^bench-|\.txt$", "", os.path.basename(path))
    run = {"rel": rel, "when": [], "dyn": {}, "rounds": {}, "raw256": [],
           "pvipi": [], "kbench": {}, "abab": {}}
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if not line.startswith("BENCH: "):
            continue
        body = line[len("BENCH: "):]
        m = re.match(r"L1 (\S+), ([^,\s]+)", body)
        if m:
            run["when"].append([m.group(2), "pvipi"])
            continue
        if body.startswith("dynidle: L1 CPUs") and run["when"]:
            run["when"][-1][1] = "dynidle"
        m = re.match(r"dynidle-abab summary (work=.*)", body)
        if m:
            d = kv(m.group(1))
            run["abab"][d.get("work")] = d
            continue
        m = re.match(r"dynidle(-l1)? (phase=.*)", body)
        if m:
            d = kv(m.group(2))
            key = (d.get("phase"), d.get("work"))
            if "round" in d:
                # a latency round (2..N): its own boot, pipe, TCP, idle
                key += (int(d["round"]),)
                run["rounds"].setdefault(key, {}).update(d)
            else:
                run["dyn"].setdefault(key, {}).update(d)
            continue
        m = re.match(r"raw256 # \|(.*)\|\s*$", body)
        if m:
            cells = [c.strip() for c in m.group(1).split("|")]
            if cells and cells[0] != "set":
                run["raw256"].append(cells)
            continue
        m = re.match(r"ipibench (\S+) (kind=.*)", body)
        if m:
            run["kbench"][m.group(1)] = kv(m.group(2))
            continue
        if body.startswith(("kvmpvipi", "x2apic", "pvipi ")):
            run["pvipi"].append(body)
    return run


# vCPU 0's hypercalls by number, as kvm:kvm_hypercall prints it
HC_SEND_IPI, HC_SCHED_YIELD, HC_PVIPI_SEND = "0xa", "0xb", "0x45584c10"


def native_sender(cpu):
    """The kernel's own sender in an L2 with this CPU label."""
    return "KVM PV IPI" if cpu == "kvmpvipi" else "x2APIC ICR"


def pvipi_rows(lines):
    """The L2 IPI load's phases as table rows."""
    ph = {}
    for body in lines:
        m = re.match(r"pvipi (\S+) (exits=.*)", body)
        if m:
            ph.setdefault(m.group(1), {}).update(kv(m.group(2)))
            continue
        m = re.match(r"(\S+) ipi_load: (\d+) calls to (\d+) CPUs in \S+ s, (\d+) ns/call(?: ipis=(\d+))?", body)
        if m:
            ph.setdefault(m.group(1), {}).update(
                calls=int(m.group(2)), targets=int(m.group(3)), ns=int(m.group(4)))
            if m.group(5) is not None:
                ph[m.group(1)]["ipis"] = int(m.group(5))
    rows = []
    for label, d in sorted(ph.items()):
        parts = label.split("-")
        if len(parts) != 3 or not d.get("calls") or "exits_v0" not in d:
            continue
        cpu, mode, _ = parts
        c = d["calls"]

        def nr(n):
            return d.get("hc_v0_nr_" + n, 0)
        sends = d.get("icr_v0", 0) + nr(HC_SEND_IPI) + nr(HC_PVIPI_SEND)
        rows.append([cpu, "exitless pvipi" if mode == "exitless" else
                     native_sender(cpu),
                     d["targets"], c, num(sends / c),
                     num((sends + nr(HC_SCHED_YIELD)) / c),
                     num(d.get("icr_v0", 0) / c), num(nr(HC_SEND_IPI) / c),
                     num(nr(HC_PVIPI_SEND) / c), num(nr(HC_SCHED_YIELD) / c),
                     num(d["exits_v0"] / c), num(d["ns"] / 1000, 0),
                     num(d["ipis"] / c) if "ipis" in d else "n/a",
                     int(d.get("lost", 0))])
    return rows


def kbench_rows(run):
    """kbench.sh's phases (exitless_ipibench.ko in a 4-vCPU L2) as table
    rows, one per L2 CPU, sender and kind over its rounds, and its stress
    runs."""
    trace = {}
    for body in run["pvipi"]:
        m = re.match(r"pvipi (k-\S+) (exits=.*)", body)
        if m:
            trace[m.group(1)] = kv(m.group(2))
    groups, stress, ab = {}, [], {}
    for label, d in sorted(run["kbench"].items()):
        parts = label.split("-")
        if parts[0] == "kab":
            if len(parts) == 5 and d.get("p50_cycles"):
                _, cpu, mode, kind, pair = parts
                ab.setdefault((cpu, kind), {}).setdefault(pair, {})[mode] = d
            continue
        if len(parts) == 3 and parts[2] == "stress":
            stress.append([parts[1], int(d.get("ipis", 0)),
                           int(d.get("received", 0)),
                           int(d.get("hypercalls", 0)),
                           int(d.get("fallbacks", 0)),
                           num(d.get("ns", 0) / 1e9, 0),
                           int(d.get("steps", 0))])
            continue
        if len(parts) == 4:
            parts.append("r1")  # runs before rounds: one round
        if len(parts) != 5 or not d.get("calls"):
            continue
        _, cpu, mode, kind, rnd = parts
        groups.setdefault((cpu, mode, kind), {})[rnd] = (d, trace.get(label, {}))
    rows = []
    for (cpu, mode, kind), rounds_ in sorted(groups.items()):
        calls = sends = yields = exits = got = ipis = lost = 0
        traced = True
        p50, p99, ratio = [], [], []
        for rnd, (d, t) in sorted(rounds_.items()):
            c = d["calls"]
            calls += c
            traced = traced and "exits_v0" in t
            sends += (t.get("icr_v0", 0) + t.get("hc_v0_nr_" + HC_SEND_IPI, 0) +
                      t.get("hc_v0_nr_" + HC_PVIPI_SEND, 0))
            yields += t.get("hc_v0_nr_" + HC_SCHED_YIELD, 0)
            exits += t.get("exits_v0", 0)
            lost += t.get("lost", 0)
            got += d.get("received", 0)
            ipis += d.get("ipis", 0)
            p50.append(d.get("p50_cycles", 0))
            p99.append(d.get("p99_cycles", 0))
            base = groups.get((cpu, "native", kind), {}).get(rnd)
            if base and base[0].get("p50_cycles"):
                ratio.append(d.get("p50_cycles", 0) / base[0]["p50_cycles"])
        rows.append([cpu, "exitless pvipi" if mode == "exitless" else
                     native_sender(cpu),
                     kind, int(rounds_[min(rounds_)][0].get("targets", 0)),
                     len(rounds_), int(calls),
                     num(sends / calls) if traced else "n/a",
                     num(yields / calls) if traced else "n/a",
                     num(exits / calls) if traced else "n/a",
                     int(statistics.median(p50)), int(statistics.median(p99)),
                     num(statistics.median(ratio)) if ratio else "n/a",
                     "n/a" if kind == "resched" else f"{int(got)}/{int(ipis)}",
                     int(lost)])
    return rows, stress, ab_rows(ab)


def ab_rows(ab):
    """kbench.sh's interleaved latency blocks: per L2 CPU and kind, the
    pairs' p50 ratios exitless / native."""
    rows = []
    for (cpu, kind), pairs in sorted(ab.items()):
        full = [p for p in pairs.values() if "exitless" in p and "native" in p]
        if not full:
            continue
        ratio = [p["exitless"]["p50_cycles"] / p["native"]["p50_cycles"]
                 for p in full]
        ex = [p["exitless"]["p50_cycles"] for p in full]
        na = [p["native"]["p50_cycles"] for p in full]
        hc_ex = sum(p["exitless"].get("hypercalls", 0) for p in full)
        hc_na = sum(p["native"].get("hypercalls", 0) for p in full)
        calls = sum(p["exitless"].get("calls", 0) for p in full)
        rows.append([cpu, native_sender(cpu),
                     kind, len(full), int(calls),
                     int(statistics.median(na)), int(statistics.median(ex)),
                     num(statistics.median(ratio)),
                     num(min(ratio)), num(max(ratio)),
                     sum(1 for x in ratio if x <= 1),
                     num(hc_ex / calls) if calls else "n/a", int(hc_na)])
    return rows


def derived(d, load):
    """The figures of one (config, load): a dict of name -> value."""
    secs = d.get("secs") or 0
    trips = d.get("trips") or 0
    wake = 2 * trips  # each round trip wakes each side once
    out = {}
    if load != "idle" and wake:
        out["hlt_per_wakeup"] = d.get("halt_exits", 0) / wake
        out["exits_per_trip"] = d.get("exits", 0) / trips
        out["rt_us"] = d.get("rt_ns", 0) / 1000
        out["p50_us"] = d.get("p50_ns", 0) / 1000
        out["p99_us"] = d.get("p99_ns", 0) / 1000
    if secs:
        out["hlt_per_s"] = d.get("halt_exits", 0) / secs
        out["guest_poll_ms_per_s"] = d.get("guest_poll_ns", 0) / 1e6 / secs
        host = d.get("halt_poll_success_ns", 0) + d.get("halt_poll_fail_ns", 0)
        out["host_poll_ms_per_s"] = host / 1e6 / secs
    if "l1_busy_pct" in d:
        out["l1_busy_pct"] = d["l1_busy_pct"]
    return out


ROUND_METRIC = {"pipe": "p50_us", "tcp": "p50_us", "idle": "guest_poll_ms_per_s"}


def rounds(run, fig):
    """(load, round, (haltpoll, dynidle), dynidle / haltpoll) of the
    rounds' metric (ROUND_METRIC): round 1 from the main boots, then each
    latency round; the ratio is None where a side is missing or 0."""
    out = []
    for load, metric in ROUND_METRIC.items():
        n = {1: tuple(fig.get((c, load), {}).get(metric)
                      for c in ("haltpoll", "dynidle"))}
        for (cfg, wl, rnd), d in run["rounds"].items():
            if wl != load or cfg not in ("haltpoll", "dynidle"):
                continue
            x = derived(d, load).get(metric)
            h, dy = n.get(rnd, (None, None))
            n[rnd] = (x, dy) if cfg == "haltpoll" else (h, x)
        for rnd in sorted(n):
            h, dy = n[rnd]
            out.append((load, rnd, (h, dy),
                        dy / h if h and dy is not None else None))
    return out


def table(rows, header):
    """An RST grid table."""
    cols = list(zip(*([header] + rows)))
    width = [max(len(str(c)) for c in col) for col in cols]
    sep = "+" + "+".join("-" * (w + 2) for w in width) + "+"
    hsep = sep.replace("-", "=")

    def fmt(r):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, width)) + " |"
    out = [sep, fmt(header), hsep]
    for r in rows:
        out += [fmt(r), sep]
    return "\n".join(out)


def num(v, nd=2):
    if v is None:
        return "n/a"
    return f"{v:.{nd}f}"


def plot(results, name, title, ylabel, series, data):
    """A clustered bar chart (gnuplot, SVG): data[(group, serie)] -> y."""
    groups = sorted({g for g, _ in data})
    dat = os.path.join(results, name + ".dat")
    with open(dat, "w") as f:
        f.write("group " + " ".join(series) + "\n")
        for g in groups:
            f.write(g + " " + " ".join(
                str(data.get((g, s), 0)) for s in series) + "\n")
    svg = os.path.join(results, name + ".svg")
    script = f"""
set terminal svg size 720,360 dynamic font 'sans,11'
set output '{svg}'
set title '{title}'
set ylabel '{ylabel}'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key outside right top
set yrange [0:*]
set grid ytics
plot for [i=2:{len(series) + 1}] '{dat}' using i:xtic(1) title columnheader(i)
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.unlink(dat)
    return os.path.basename(svg)


def main():
    results, rst = sys.argv[1], sys.argv[2]
    runs = [parse(p) for p in sorted(glob.glob(os.path.join(results, "bench-*.txt")))]
    if not runs:
        sys.exit(f"no {results}/bench-*.txt: run 'make bench' first")

    # CSV, long form
    with open(os.path.join(results, "dynidle.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kernel", "config", "load", "metric", "value"])
        for r in runs:
            for (cfg, load), d in sorted(r["dyn"].items()):
                for k, v in sorted(d.items()):
                    if k not in ("phase", "work"):
                        w.writerow([r["rel"], cfg, load, k, v])
                for k, v in sorted(derived(d, load).items()):
                    w.writerow([r["rel"], cfg, load, k, round(v, 4)])
            # latency rounds 2..N: config "<config>-round<n>"
            for (cfg, load, rnd), d in sorted(r["rounds"].items()):
                for k, v in sorted(derived(d, load).items()):
                    w.writerow([r["rel"], f"{cfg}-round{rnd}", load, k,
                                round(v, 4)])
    with open(os.path.join(results, "pvipi.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kernel", "set", "targets", "apic_ids", "ceil_span_128",
                    "exitless_exits_per_send", "kvm_hc_exits_per_send",
                    "time_kvm_over_exitless"])
        for r in runs:
            for cells in r["raw256"]:
                w.writerow([r["rel"]] + cells)

    doc = []
    doc.append(".. SPDX-License-Identifier: GPL-2.0\n")
    doc.append(".. Generated by scripts/bench-report.py from make bench's results in\n"
               "   Documentation/bench/; do not edit by hand: run ``make bench``.\n")
    doc.append("==========\nBenchmarks\n==========\n")
    doc.append(
        "Every figure here comes from ``make bench`` on the build\n"
        "machine (2 cores, everything under QEMU TCG: L1 is a Debian kernel in\n"
        "``qemu-system-x86_64 -accel tcg -cpu max``, running real KVM on\n"
        "emulated SVM; L2 is the same Debian kernel under that KVM).  Absolute\n"
        "times are therefore those of an emulated machine, hundreds of times\n"
        "slower than hardware; exit counts and the ratios between\n"
        "configurations of the same run are what carry over.  Raw lines:\n"
        "``Documentation/bench/bench-<kernel>.txt``; tables:\n"
        "``Documentation/bench/dynidle.csv``, ``pvipi.csv`` and ``pvtimer.csv``.\n")
    doc.append("Runs (``make bench``, or one of its L1 boots alone with\n"
               "``EXITLESS_BOOTS``; each L1 boot's start, UTC):\n")
    for r in runs:
        boots = ", ".join(f"{what} {when}" for when, what in r["when"])
        doc.append(f"- ``{r['rel']}``: {boots or 'date not recorded'}")
    doc.append("")

    # dynidle
    doc.append("dynidle\n=======\n")
    doc.append(
        "``selftests/dynidle/bench.sh`` in a 2-vCPU L2, L1 with 2 CPUs (one per\n"
        "vCPU), each configuration in its own L2 boot (dynidle after\n"
        "``hostpoll`` in the same boot).  Loads: a pipe ping-pong and a TCP\n"
        "request-response over loopback between CPU 0 and CPU 1 (3000 round\n"
        "trips), an idle guest (10 s), and the pipe ping-pong with a busy loop\n"
        "on every L1 CPU (contended host, 300 round trips).  HLT exits and\n"
        "host halt-poll time are KVM's own counters in L1 (debugfs), taken\n"
        "around each load; a wake-up is one side of a round trip being woken\n"
        "(2 per round trip).  Guest polling time is dynidle's ``poll_ns`` plus\n"
        "the time of the cpuidle ``POLL`` state (haltpoll).  The poll window\n"
        "cap of haltpoll (``guest_halt_poll_ns``, where the kernel has the\n"
        "haltpoll governor) and of dynidle (``dynidle_poll_max_ns``) is the\n"
        "same: 4 stock pipe round trips of the run.  Round-trip times under\n"
        "TCG move more between L2 boots than between configurations, so the\n"
        "run boots haltpoll and dynidle again (latency rounds, alternating\n"
        "which goes first; ``EXITLESS_BENCH_ROUNDS``, default 3 rounds in\n"
        "all) for the pipe, TCP and idle loads: the p50 target is judged on\n"
        "the median of the rounds' ratios, the idle one on the polling time\n"
        "of all rounds together.\n")
    for cfg in CONFIGS:
        doc.append(f"- ``{cfg}``: {CONFIG_TEXT[cfg]}")
    doc.append("")
    for r in runs:
        if not (r["dyn"] or r["rounds"] or r["abab"]):
            continue
        doc.append(f"{r['rel']}\n" + "-" * len(r["rel"]) + "\n")
        fig = {}
        for load in LOADS:
            rows = []
            for cfg in CONFIGS:
                d = r["dyn"].get((cfg, load))
                if not d:
                    continue
                x = derived(d, load)
                fig[(cfg, load)] = x
                if load == "idle":
                    rows.append([cfg, num(x.get("hlt_per_s"), 1),
                                 num(x.get("guest_poll_ms_per_s")),
                                 num(x.get("host_poll_ms_per_s")),
                                 num(x.get("l1_busy_pct"), 1)])
                else:
                    rows.append([cfg, num(x.get("hlt_per_wakeup"), 3),
                                 num(x.get("exits_per_trip"), 1),
                                 num(x.get("rt_us"), 0), num(x.get("p50_us"), 0),
                                 num(x.get("p99_us"), 0),
                                 num(x.get("guest_poll_ms_per_s")),
                                 num(x.get("host_poll_ms_per_s")),
                                 num(x.get("l1_busy_pct"), 1)])
            if not rows:
                continue
            doc.append(f"**{load}**\n")
            if load == "idle":
                doc.append(table(rows, ["config", "HLT exits/s",
                                        "guest poll ms/s", "host poll ms/s",
                                        "L1 busy %"]))
            else:
                doc.append(table(rows, ["config", "HLT exits/wake-up",
                                        "exits/round trip", "round trip us",
                                        "p50 us", "p99 us", "guest poll ms/s",
                                        "host poll ms/s", "L1 busy %"]))
            doc.append("")
        rows = []
        # multi-*: the 4-vCPU L2 (bench.sh multi), a multicast to 3 CPUs
        for cfg in CONFIGS + ["multi-stock", "multi-dynidle"]:
            d = r["dyn"].get((cfg, "ipi"))
            if not d or not d.get("calls"):
                continue
            c = d["calls"]
            rows.append([cfg, int(d.get("targets", 1)), int(c),
                         num(d.get("hypercalls", 0) / c)
                         if "hypercalls" in d else "n/a",
                         num(d.get("exits", 0) / c),
                         num(d.get("halt_exits", 0) / c),
                         int(d.get("p50_cycles", 0)),
                         f"{int(d.get('received', 0))}/{int(d.get('ipis', 0))}"])
        if rows:
            doc.append(
                "**ipi** (``smp_call_function_many()`` from CPU 0 to every other\n"
                "CPU, here the one other, idle, back to back,\n"
                "``exitless_ipibench.ko``; KVM's counters per call, both vCPUs.\n"
                "An IPI to one CPU is an x2APIC ICR write, an exit that KVM's\n"
                "stats do not tell apart (upstream PV IPI takes only the mask\n"
                "senders), or with dynidle exitless's ``PVIPI_SEND`` hypercall;\n"
                "a target polling in idle is woken without either; *multi-*:\n"
                "a 4-vCPU L2 under an L1 with 4 CPUs, ``bench.sh multi``, where\n"
                "the call is a multicast to all 3 other CPUs: one shorthand ICR\n"
                "write natively, or one ``PVIPI_SEND`` for those not polling)\n")
            doc.append(table(rows, ["config", "targets", "calls", "hypercalls/call",
                                    "exits/call", "HLT exits/call",
                                    "p50 cycles", "received"]))
            doc.append("")
        # the targets, from this run
        doc.append("Against the targets (same run):\n")

        def g(cfg, load, k):
            return fig.get((cfg, load), {}).get(k)

        def line(text, val, ok):
            state = "n/a" if val is None else ("met" if ok else "not met")
            doc.append(f"- {text}: {val if val is not None else 'n/a'} ({state})")
        rnds = rounds(r, fig)
        for load in ("pipe", "tcp"):
            s, dy = g("stock", load, "hlt_per_wakeup"), g("dynidle", load, "hlt_per_wakeup")
            red = None if not s or dy is None else round(100 * (1 - dy / s), 1)
            line(f"{load}: HLT exits per wake-up, dynidle vs stock, % fewer "
                 "(target >= 90)", red, red is not None and red >= 90)
            ratios = [x[3] for x in rnds if x[0] == load and x[3] is not None]
            ratio = round(statistics.median(ratios), 2) if ratios else None
            what = (f"median of {len(ratios)} rounds" if len(ratios) > 1
                    else "one round")
            line(f"{load}: round trip p50, dynidle / haltpoll, {what} "
                 "(target <= 1)", ratio, ratio is not None and ratio <= 1)
            ab = r["abab"].get(load)
            if ab and int(ab.get("passes", 0)):
                q = round(float(ab["ratio_p50_median"]), 3)
                how = ("switching each in turn, both with exitless pvipi and "
                       "pvtimer" if ab.get("mode") == "switch"
                       else "loading each in turn")
                line(f"{load}: round trip p50, dynidle / haltpoll, one boot "
                     f"{how}, median of {int(ab['passes'])} passes "
                     "(target <= 1)", q, q <= 1)
        def poll_line(load, text, limit, digits):
            """dynidle's polling against limit * haltpoll's; when haltpoll
            did not poll at all, only no polling meets it."""
            h = g("haltpoll", load, "guest_poll_ms_per_s")
            dy = g("dynidle", load, "guest_poll_ms_per_s")
            if h is None or dy is None:
                line(text, None, False)
            elif h:
                ratio = round(dy / h, digits)
                line(text, ratio, ratio <= limit)
            else:
                line(text, f"{num(dy, 4)} against {num(h, 4)} ms/s", dy == 0)
        # idle: the rounds' polling time together (their loads are equally
        # long), against haltpoll's
        idle = [x[2] for x in rnds if x[0] == "idle" and None not in x[2]]
        if len(idle) > 1:
            h = sum(x[0] for x in idle) / len(idle)
            dy = sum(x[1] for x in idle) / len(idle)
            text = (f"idle: guest polling time, dynidle / haltpoll, mean of "
                    f"{len(idle)} rounds (target <= 1)")
            if h:
                line(text, round(dy / h, 2), dy <= h)
            else:
                line(text, f"{num(dy, 4)} against {num(h, 4)} ms/s", dy == 0)
        else:
            poll_line("idle", "idle: guest polling time, dynidle / haltpoll "
                      "(target <= 1)", 1, 2)
        poll_line("contended", "contended: guest polling time, dynidle / "
                  "haltpoll (target <= 0.10)", 0.10, 3)
        lat = g("dynidle", "contended", "p50_us"), g("haltpoll", "contended", "p50_us")
        doc.append(f"- contended: round trip p50 dynidle {num(lat[0], 0)} us, "
                   f"haltpoll {num(lat[1], 0)} us")
        doc.append("")
        if len({x[1] for x in rnds}) > 1:
            doc.append(
                "Per round (round 1: the boots above; each later round boots\n"
                "haltpoll and dynidle once more, in alternating order, for the\n"
                "pipe, TCP and idle loads): round trip p50 in us, idle guest\n"
                "polling in ms/s:\n")
            doc.append(table([[l, n, ROUND_METRIC[l], num(h), num(dy), num(q)]
                              for l, n, (h, dy), q in rnds],
                             ["load", "round", "metric", "haltpoll",
                              "dynidle", "dynidle / haltpoll"]))
            doc.append("")
        if any(int(ab.get("passes", 0)) for ab in r["abab"].values()):
            doc.append(
                "One boot, each in turn (``bench.sh abab``): the kernel's own\n"
                "cpuidle-haltpoll built as a module (``exitless_haltpoll.ko``,\n"
                "``force=1``) and dynidle loaded and removed in turn, haltpoll\n"
                "first in odd passes, after a warm-up pass not counted; per\n"
                "pass the p50 ratio dynidle / haltpoll; round trips in us as\n"
                "medians over the passes.  Mode *switch*: ``exitless_guest``\n"
                "stays loaded and its ``dynidle`` parameter gives way to\n"
                "haltpoll, so both run with exitless's pvipi and pvtimer;\n"
                "mode *reload*: haltpoll runs without ``exitless_guest``:\n")
            rows = []
            for load in ("pipe", "tcp"):
                ab = r["abab"].get(load)
                if not ab or not int(ab.get("passes", 0)):
                    continue
                us = {k: num(float(ab[k]) / 1000, 1)
                      for k in ("haltpoll_p50_ns", "dynidle_p50_ns",
                                "haltpoll_p99_ns", "dynidle_p99_ns")}
                rows.append([load, ab.get("mode", "reload"), int(ab["passes"]),
                             num(float(ab["ratio_p50_median"]), 3),
                             f"{num(float(ab['ratio_min']), 3)}-"
                             f"{num(float(ab['ratio_max']), 3)}",
                             f"{us['haltpoll_p50_ns']} / {us['dynidle_p50_ns']}",
                             f"{us['haltpoll_p99_ns']} / {us['dynidle_p99_ns']}"])
            doc.append(table(rows, ["load", "mode", "passes",
                                    "p50 ratio, median",
                                    "p50 ratio, range",
                                    "p50 haltpoll / dynidle",
                                    "p99 haltpoll / dynidle"]))
            doc.append("")
        if fig:  # no main boots: nothing to plot
            try:
                data = {(c, l): fig[(c, l)].get("hlt_per_wakeup", 0)
                        for (c, l) in fig if l in ("pipe", "tcp", "contended")}
                svg = plot(os.path.dirname(rst) + "/bench", f"dynidle-hlt-{r['rel']}",
                           f"HLT exits per wake-up, {r['rel']}", "HLT exits / wake-up",
                           [c for c in CONFIGS if any((c, l) in data for l in LOADS)],
                           {(l, c): v for (c, l), v in data.items()})
                data = {(l, c): fig[(c, l)].get("p50_us", 0)
                        for (c, l) in fig if l in ("pipe", "tcp", "contended")}
                svg2 = plot(os.path.dirname(rst) + "/bench", f"dynidle-p50-{r['rel']}",
                            f"Round trip p50 (us, TCG), {r['rel']}", "us",
                            [c for c in CONFIGS if any((l, c) in data for l in LOADS)],
                            data)
                doc.append(f".. image:: bench/{svg}\n")
                doc.append(f".. image:: bench/{svg2}\n")
            except (OSError, subprocess.CalledProcessError) as e:
                doc.append(f"(plots not drawn: {e})\n")

    # pvipi
    doc.append("pvipi\n=====\n")
    for r in runs:
        if not r["raw256"] and not r["pvipi"] and not r["kbench"]:
            continue
        doc.append(f"{r['rel']}\n" + "-" * len(r["rel"]) + "\n")
        if r["raw256"]:
            doc.append(
                "``exitless_pvipi_test -n 256 -r 64 -p 16`` in L1 (a raw 256-vCPU\n"
                "guest with sparse APIC IDs): sender exits per send, from KVM's\n"
                "stats; time: the host's time per send, upstream / exitless, median\n"
                "of 16 interleaved pairs of 64-send bursts (runs before the bursts\n"
                "were paired: the ratio of one burst each).\n")
            doc.append(table(r["raw256"], ["set", "targets", "APIC IDs",
                                           "ceil(span/128)", "exitless",
                                           "KVM_HC_SEND_IPI",
                                           "time KVM / exitless"]))
            doc.append("")
        rows = pvipi_rows(r["pvipi"])
        if rows:
            doc.append(
                "L2 Linux guest, 3 vCPUs, 1 L1 CPU: ``ipi_load`` (CPU 0 calls\n"
                "``membarrier()``, an IPI to each other CPU that runs the load's\n"
                "spinner: 2 targets, *multi*, or 1, *single*) in\n"
                "``selftests/pvipi/bench.sh``; exits counted in L1 from KVM's\n"
                "tracepoints between the phase marks, per call, for vCPU 0 (the\n"
                "sender): IPI-sending exits (ICR writes, ``KVM_HC_SEND_IPI`` and\n"
                "``PVIPI_SEND`` hypercalls) and each of them, the\n"
                "``KVM_HC_SCHED_YIELD`` hypercalls Linux makes to a preempted\n"
                "target after a call (with 3 vCPUs on 1 L1 CPU the targets are\n"
                "always preempted), and all its exits (timer MSR writes, HLTs,\n"
                "interrupts included); *CAL* the function-call interrupts the\n"
                "other CPUs took in the phase per call, the load's and any\n"
                "other (``/proc/interrupts``; n/a in runs before it was\n"
                "counted); *lost* counts trace events the buffer\n"
                "dropped.  *x2apic* L2s run with ``-cpu host,kvm-pv-ipi=off``,\n"
                "*kvmpvipi* with upstream PV IPI; the times are TCG's.\n")
            doc.append(table(rows, ["L2 CPU", "sender", "targets", "calls",
                                    "IPI exits", "+ yields", "ICR", "SEND_IPI",
                                    "PVIPI_SEND", "SCHED_YIELD",
                                    "all exits", "us/call", "CAL", "lost"]))
            doc.append("")
        rows, stress, ab = kbench_rows(r)
        if rows:
            doc.append(
                "L2 Linux guest, 4 vCPUs, 1 L1 CPU: the kernel's own IPI calls\n"
                "from ``exitless_ipibench.ko`` on CPU 0 (``selftests/pvipi/kbench.sh``),\n"
                "all other CPUs idle: *multi* ``smp_call_function_many()`` to the\n"
                "3 others, *single* ``smp_call_function_single()`` to CPU 1, each\n"
                "waiting for its targets, and *resched* a reschedule IPI to CPU 1\n"
                "(its cycles: the send alone).  Per call, for vCPU 0 (the sender),\n"
                "from KVM's tracepoints in L1: IPI sends (ICR writes,\n"
                "``KVM_HC_SEND_IPI``, ``PVIPI_SEND``: every IPI vCPU 0 sent in the\n"
                "phase, the load's and the kernel's own), ``KVM_HC_SCHED_YIELD``\n"
                "hypercalls, and all its exits, over all rounds.  Each L2 boot\n"
                "runs rounds of the native and exitless phases, alternating\n"
                "which goes first.  Cycles: TSC around each call, in the guest\n"
                "(TCG's), median of the rounds' p50 and p99; *p50 / native*:\n"
                "median of the rounds' ratios to the same boot's native sender\n"
                "(for *kvmpvipi*: upstream PV IPI).  *received*: calls' function\n"
                "runs counted on the targets / IPIs sent.  exitless runs with\n"
                "``features=3`` (pvipi alone: no target polls).\n")
            doc.append(table(rows, ["L2 CPU", "sender", "kind", "targets",
                                    "rounds", "calls", "IPI sends", "yields",
                                    "all exits", "p50 cycles", "p99 cycles",
                                    "p50 / native", "received", "lost"]))
            doc.append("")
        if ab:
            doc.append(
                "Latency alone, interleaved (``kbench.sh``, after its rounds):\n"
                "``exitless_guest features=3`` stays loaded and its ``pvipi``\n"
                "switch is flipped between blocks of calls, one block of each\n"
                "sender per pair, each sender first in half the pairs, so that\n"
                "both meet the same drift of TCG's speed.  *native*: the\n"
                "kernel's own sender (upstream PV IPI for *kvmpvipi*); p50\n"
                "cycles: median of the blocks' p50; *ratio*: median, lowest\n"
                "and highest of the pairs' exitless / native p50, and the pairs\n"
                "where exitless was not slower; *PVIPI_SEND*: the guest's\n"
                "hypercalls per call in exitless blocks, and in all native\n"
                "blocks together (0: the switch gave the IPIs back).\n")
            doc.append(table(ab, ["L2 CPU", "native", "kind", "pairs",
                                  "calls per sender", "native p50",
                                  "exitless p50", "ratio", "lowest",
                                  "highest", "pairs <= 1",
                                  "PVIPI_SEND/call", "native PVIPI_SEND"]))
            doc.append("")
        if stress:
            doc.append(
                "Stress (``kbench.sh kvmpvipi stress``): *multi* calls through\n"
                "exitless, ``exitless_host`` removed in L1 a third of the way\n"
                "through and inserted again at two thirds (*steps* 2: both done);\n"
                "*hypercalls* and *fallbacks* (IPIs sent by the saved native\n"
                "senders) are the guest's own pvipi counters.\n")
            doc.append(table(stress, ["L2 CPU", "IPIs sent", "received",
                                      "hypercalls", "fallbacks", "seconds",
                                      "steps"]))
            doc.append("")
    # pvtimer: the nested stage's own table, kept as the stage printed it
    pvt = sorted(glob.glob(os.path.join(results, "pvtimer-*.txt")))
    if pvt:
        doc += ["pvtimer", "=======", "",
                "The nested ``pvtimer`` stage (``selftests/pvtimer/run.sh``; run\n"
                "alone with ``EXITLESS_BOOTS=pvtimer selftests/qemu/run.sh\n"
                "<kernel>``, which ``make bench`` does for both kernels): each\n"
                "timer load on an L2 vCPU with ``lapic-deadline`` (*off*),\n"
                "``exitless-pvtimer`` (*on*) and ``exitless-pvtimer`` with the\n"
                "host's poller (*poll*, where the table has it), exits counted in\n"
                "L1 from KVM's tracepoints, lateness in the guest, host CPU time\n"
                "of the L2's QEMU and of the poller.  ``<kernel>-poller-cpu``:\n"
                "the same loads from ``make bench``'s ``bench-pvtimer`` boot,\n"
                "with the poller on an L1 CPU of its own.  Targets and their\n"
                "reading: ``Documentation/pvtimer.rst``.", ""]
        csv_rows = []
        for p in pvt:
            rel = os.path.basename(p)[len("pvtimer-"):-len(".txt")]
            lines = [l.rstrip("\n") for l in open(p, errors="replace")]
            # the date l1-main.sh's pvtimer-check ends the table with;
            # the file's mtime for older files
            stamp = [m.group(1) for m in (re.match(
                r"pvtimer table: \S+, (\d{4}-\d\d-\d\d)", l) for l in lines) if m]
            when = stamp[-1] if stamp else time.strftime(
                "%Y-%m-%d", time.gmtime(os.path.getmtime(p)))
            # the table: its header, and rows "<load> <off|on|poll> ..."
            # (not the stage's "pvtimer poll <load> ..." verdict lines),
            # then make bench's rounds and their medians, and its
            # interleaved blocks' summaries, if it ran them
            rows = [l for l in lines[1:] if l.split()[:1] and
                    (l.startswith("load ") or
                     (l.split()[0] != "pvtimer" and
                      l.split()[1:2] in (["off"], ["on"], ["poll"])))]
            rows += [l for l in lines if l.startswith("pvtimer rounds ") or
                     l.startswith("pvtimer interleaved ")]
            doc += [f"{rel}, {when}::", ""] + ["    " + l for l in rows] + [""]
            head = next((l.split() for l in rows if l.startswith("load ")), None)
            writes, exits = {}, {}
            for l in rows:
                cells = l.split()
                if not head or len(cells) != len(head) or \
                        cells[1] not in ("off", "on", "poll"):
                    continue
                csv_rows.append([rel] + cells)
                serie = {"off": "lapic-deadline", "on": "exitless-pvtimer",
                         "poll": "pvtimer+poller"}[cells[1]]
                d = dict(zip(head, cells))
                try:
                    writes[(d["load"], serie)] = int(d["6e0_wr"])
                    if not d["ex/wake"].endswith("/s"):
                        exits[(d["load"], serie)] = float(d["ex/wake"])
                except ValueError:
                    pass
            series = [x for x in ("lapic-deadline", "exitless-pvtimer",
                                  "pvtimer+poller")
                      if any(k[1] == x for k in writes)]
            if writes:
                doc.append(".. image:: bench/" + plot(
                    results, f"pvtimer-tscd-{rel}",
                    f"pvtimer: TSC_DEADLINE write exits per load ({rel})",
                    "MSR 0x6e0 write exits", series, writes) + "\n")
            if exits:
                doc.append(".. image:: bench/" + plot(
                    results, f"pvtimer-exits-{rel}",
                    f"pvtimer: exits per wake-up, all vCPUs ({rel})",
                    "exits / wake-up", series, exits) + "\n")
        if csv_rows:
            with open(os.path.join(results, "pvtimer.csv"), "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["kernel"] + head)
                w.writerows(csv_rows)
            doc.append("Tables: ``Documentation/bench/pvtimer.csv``.\n")
    open(rst, "w").write("\n".join(doc) + "\n")


if __name__ == "__main__":
    main()
