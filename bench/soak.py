#!/usr/bin/env python3
"""Soak (issue 11, robustness): does the phone daemon leak memory or file descriptors over many
calls and registrations?

Kamailio on loopback (TLS, tests/interop/lib/kamailio.py); one `exphone run` daemon, the device
under test: user 1001, auto_answer from 1002, SRTP mandatory, registered over TLS with
`expires = 60` (it refreshes its registration at 85 % of the interval, every ~51 s, on top of the
30 s CRLF keepalives). `exphone call` (1002, SRTP mandatory) calls it again and again through
Kamailio, CALL_SECONDS per call, for MINUTES. The machinery is tests/interop/lib/soak.py (shared
with the ctest `interop_soak_short`); read it for the phases.

Every SAMPLE seconds: the daemon's VmRSS, VmHWM, VmSize (/proc/PID/status), open fds
(len(/proc/PID/fd)), threads, calls ok/failed, registration refreshes seen at Kamailio. Written
to OUT/soak.csv; OUT/soak.png with gnuplot when it is installed; OUT/soak.json (summary, fd tables).

Summary: RSS at the first sample after the warm-up (WARMUP minutes, default 10 % of the run) vs the
last sample, raw and per minute; the least-squares RSS slope over the second half of the call
phase (KiB per hour); fd count at the idle baseline (after one warm-up call, the daemon idle) vs
idle after the last call. A sample taken during a call reads ~1 MiB more than one taken between
two calls, and a 10 s sampler hits either at random: the slope of the raw samples is noisy
(hundreds of KiB/h over 15 minutes). The verdict's slope is therefore that of the highest sample of
each minute (the in-call level); the slope of the raw samples is printed beside it.
Verdicts:
  fds return to the idle baseline          exact equality, else "missed" and the fds that differ
  RSS slope (second half, per-minute max) < SLOPE KiB/h    default 1024 (1 MiB/hour)
  every call answered and secure, the daemon alive and exiting 0 on SIGTERM

usage: bench/soak.py [--exphone build/exphone] [--minutes 30] [--call-seconds 3] [--sample 10]
                     [--expires 60] [--warmup MIN] [--slope-max KIB_PER_HOUR] [--out bench/out/soak]
       bench/soak.py --resummarize [--out DIR] [--warmup MIN] [--slope-max ...]   (again from DIR's files)
Exit status 0 when every verdict is met, 1 otherwise. Use a Release build (an ASan build's RSS
is its allocator's quarantine, not the phone's memory).
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))

from lib.soak import Soak, summarize  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def plot(csv_path, png_path, title):
    if not shutil.which("gnuplot"):
        return False
    script = f"""set terminal pngcairo size 1100,800 noenhanced
set output '{png_path}'
set datafile separator ','
set key autotitle columnhead
set multiplot layout 2,1 title '{title}'
set xlabel 'minutes'
set ylabel 'MiB'
set y2label 'open fds'
set y2tics
set ytics nomirror
set grid
stats '{csv_path}' using 6 nooutput
set y2range [0:STATS_max * 1.6 + 1]
set key bottom right
plot '{csv_path}' using ($1/60):($3/1024) with linespoints title 'VmRSS', \\
     '' using ($1/60):($4/1024) with lines title 'VmHWM', \\
     '' using ($1/60):6 axes x1y2 with steps lw 2 title 'open fds'
set ylabel 'calls'
set key top left
unset y2label
unset y2tics
set ytics mirror
plot '{csv_path}' using ($1/60):8 with lines title 'calls ok', \\
     '' using ($1/60):9 with lines title 'calls failed', \\
     '' using ($1/60):12 with lines title 'registration refreshes'
unset multiplot
"""
    p = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if p.returncode != 0:
        # pngcairo is in gnuplot-nox too, but fall back to the plain png terminal
        p = subprocess.run(["gnuplot"], input=script.replace("pngcairo", "png"), text=True, capture_output=True)
    if p.returncode != 0:
        log("gnuplot failed:", p.stderr[-500:])
    return p.returncode == 0


def verdict(ok):
    return "met" if ok else "MISSED"


def report(res, s, a):
    kbh = lambda v: "-" if v is None else f"{v:+.0f} KiB/h"  # noqa: E731
    kib = lambda v: "-" if v is None else f"{v} KiB ({v / 1024:.1f} MiB)"  # noqa: E731
    lines = [
        f"# exphone soak, {time.strftime('%Y-%m-%d %H:%M')}, {res['exphone']}",
        f"{a.minutes:g} min of calls ({res.get('call_phase_s', 0) / 60:.1f} min measured), {res['call_seconds']} s "
        f"per call, SRTP mandatory over TLS via Kamailio, registration expires {res['expires']} s, "
        f"a sample every {res['sample_s']} s",
        f"calls: {s['calls_ok']} ok, {s['calls_failed']} failed; the daemon's call reports: {s['daemon_reports']} "
        f"({s['daemon_secure']} secure); registration refreshes seen at Kamailio: {s['reg_refreshes']}",
        f"RSS idle baseline {kib(s['rss_idle_baseline_kib'])}; first sample after the {a.warmup:g} min warm-up "
        f"(t = {s['rss_first_after_warmup_t_s']} s) {kib(s['rss_first_after_warmup_kib'])}; last in calls "
        f"{kib(s['rss_last_kib'])}; max in calls {kib(s['rss_max_in_calls_kib'])}; idle at the end "
        f"{kib(s['rss_idle_end_kib'])}; VmHWM at the end {kib(s['hwm_end_kib'])}",
        f"RSS per {s['rss_window_s']} s window after the warm-up: max (in-call level) "
        f"{kib(s['rss_minute_max_first_kib'])} first -> {kib(s['rss_minute_max_last_kib'])} last",
        f"RSS slope, least squares over the second half of the calls: per-window max {kbh(s['rss_slope_second_half_kib_h'])}"
        f" (the verdict's); raw samples "
        f"{kbh(s['rss_slope_second_half_raw_kib_h'])}; per-window max over the whole run after the warm-up "
        f"{kbh(s['rss_slope_after_warmup_kib_h'])}",
        f"fds: before any call {s['fds_before_any_call']}, idle baseline {s['fds_idle_baseline']}, max during calls "
        f"{s['fds_max_in_calls']}, idle after the calls {s['fds_idle_end']}",
    ]
    if s["fd_diff"]:
        lines.append("fds that differ (baseline xor end): " + "; ".join(s["fd_diff"]))
    for f in res.get("failures", []):
        lines.append(f"failed call at {f['t_s']} s: exit {f['rc']}: {f['stderr'][-400:]!r}")
    lines += [
        f"verdict: fds return to the idle baseline ({s['fds_idle_baseline']} -> {s['fds_idle_end']}): "
        f"{verdict(s['verdict_fds'])}",
        "verdict: RSS slope (per-window max) over the second half < "
        f"{s['slope_max_kib_h']:g} KiB/h: " + (verdict(s['verdict_rss']) if s["rss_slope_second_half_kib_h"] is not None
                                               else "MISSED (not measured: fewer than 3 minutes in the second half)"),
        f"verdict: every call answered and secure ({s['calls_ok']} ok, {s['calls_failed']} failed): "
        f"{verdict(s['verdict_calls'])}",
        f"verdict: daemon alive throughout, exit {s['exit_code']} on SIGTERM: {verdict(s['verdict_alive'])}",
    ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exphone", default=os.path.join(ROOT, "build", "exphone"))
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--call-seconds", type=int, default=3)
    ap.add_argument("--sample", type=float, default=10, help="seconds between samples")
    ap.add_argument("--expires", type=int, default=60, help="the daemon's registration interval (s)")
    ap.add_argument("--warmup", type=float, default=None, help="minutes (default 10 %% of --minutes)")
    ap.add_argument("--slope-max", type=float, default=1024, help="RSS slope threshold, KiB per hour")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "soak"))
    ap.add_argument("--resummarize", action="store_true",
                    help="no new run: summary and verdicts again from OUT/soak.csv and OUT/soak.json")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    csv_path = os.path.join(a.out, "soak.csv")
    if a.resummarize:
        return resummarize(a, csv_path)
    if a.warmup is None:
        a.warmup = a.minutes / 10
    work = tempfile.mkdtemp(prefix="exphone-soak-")
    log(f"soak: {a.minutes:g} min, work dir {work} (daemon output: dut.out, dut.err), CSV {csv_path}")
    try:
        res = Soak(a.exphone, work, call_seconds=a.call_seconds, expires=a.expires, sample_s=a.sample,
                   log=log).run(a.minutes, csv_path=csv_path)
    except Exception:
        log(f"soak aborted; daemon output kept in {work}")
        raise
    s = finish(a, res, csv_path)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if all_met(s) else 1


def all_met(s):
    return s["verdict_fds"] and s["verdict_rss"] and s["verdict_calls"] and s["verdict_alive"]


def resummarize(a, csv_path):
    with open(os.path.join(a.out, "soak.json")) as f:
        res = json.load(f)["result"]
    with open(csv_path, newline="") as f:
        res["samples"] = [{k: (v if k == "phase" else float(v) if k == "t_s" else int(v)) for k, v in r.items()}
                          for r in csv.DictReader(f)]
    a.minutes = res["minutes"]
    if a.warmup is None:
        a.warmup = a.minutes / 10
    return 0 if all_met(finish(a, res, csv_path)) else 1


def finish(a, res, csv_path):
    s = summarize(res, warmup_s=a.warmup * 60, slope_max_kib_h=a.slope_max)
    text = report(res, s, a)
    print(text, flush=True)
    with open(os.path.join(a.out, "soak.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(a.out, "soak.json"), "w") as f:
        json.dump({"summary": s, "result": {k: v for k, v in res.items() if k != "samples"}}, f, indent=1)
    png = os.path.join(a.out, "soak.png")
    if plot(csv_path, png, f"exphone soak: {a.minutes:g} min, {s['calls_ok']} calls, expires {res['expires']} s"):
        print(f"graph: {png}")
    return s


if __name__ == "__main__":
    sys.exit(main())
