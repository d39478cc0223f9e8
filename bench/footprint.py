#!/usr/bin/env python3
"""Footprint side by side (issue "Performance", measurement 4): resident memory of `exphone run`
registered to Kamailio over TLS and idle, and during one SDES-SRTP call; the same for baresip
(Debian baresip-core) in the same states, in the same run; and the stripped binary sizes.

usage: bench/footprint.py [EXPHONE_BINARY] [--breakdown]   (default build/exphone, a Release build)
Prints a Markdown table; VmRSS is read from /proc/PID/status (median of 5 samples, 1 s apart).
--breakdown adds exphone's resident memory per mapped file (/proc/PID/smaps, after the last
sample of each state), and the codec each call negotiated is printed from the caller's report.
Kamailio and baresip are started on loopback with free ports and stopped by PID afterwards.
"""
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
BREAKDOWN = "--breakdown" in sys.argv[1:]
EXPHONE = os.path.abspath(ARGS[0] if ARGS else os.path.join(ROOT, "build", "exphone"))
os.environ["EXPHONE"] = EXPHONE
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))

from lib.kamailio import Kamailio  # noqa: E402
from test_call_pbx import Baresip, Daemon, account  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def sample(pid, n=5):
    values = []
    for _ in range(n):
        values.append(rss_kib(pid))
        time.sleep(1)
    return statistics.median(values)


def rss_by_file(pid):
    """KiB resident per mapped file (anonymous mappings as [heap], [stack], [anon])."""
    per = collections.Counter()
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and "-" in parts[0] and ":" in parts[3]:
                name = os.path.basename(parts[5]) if len(parts) > 5 else "[anon]"
            elif parts[0] == "Rss:":
                per[name] += int(parts[1])
    return per


def stripped_size(path):
    out = tempfile.mktemp()
    subprocess.run(["strip", "-o", out, path], check=True)
    size = os.path.getsize(out)
    os.unlink(out)
    return size


def call(tmp, kam, target, secs):
    """An exphone caller (user 1003) placing an SRTP call of `secs` seconds, in the background."""
    path = os.path.join(tmp, f"caller-{target}.toml")
    with open(path, "w") as f:
        f.write(account(kam, "1003", "mandatory"))
    return subprocess.Popen([EXPHONE, "call", "--config", path, target, "--duration", str(secs), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def codec_of(caller):
    out, _ = caller.communicate(timeout=60)
    try:
        return json.loads(out)["media"]["codec"]
    except (ValueError, KeyError, TypeError):
        return "?"


def measure_exphone(tmp, kam, extra):
    """`exphone run` as 1001, registered and idle, then in a call from 1003: (idle, in call) VmRSS,
    the call's codec, and the resident memory per file in both states."""
    d = Daemon(tmp, "exphone-1001", account(kam, "1001", "mandatory"))
    with open(d.path) as f:  # Daemon auto-answers 1002; our caller is 1003
        conf = f.read().replace('auto_answer_from = ["1002"]', 'auto_answer_from = ["1003"]')
    conf = conf.replace("[phone]\n", "[phone]\n" + extra, 1)
    with open(d.path, "w") as f:
        f.write(conf)
    with d:
        if not kam.wait_registered("1001", timeout=15):
            sys.exit("exphone did not register")
        time.sleep(1)
        idle = sample(d.proc.pid)
        idle_files = rss_by_file(d.proc.pid)
        c = call(tmp, kam, "1001", 12)
        time.sleep(3)
        in_call = sample(d.proc.pid)
        call_files = rss_by_file(d.proc.pid)
        codec = codec_of(c)
    return (idle, in_call), codec, (idle_files, call_files)


def main():
    if not os.path.exists(EXPHONE):
        sys.exit(f"no exphone binary at {EXPHONE} (build the Release tree: cmake -B build ...; ninja -C build exphone)")
    tmp = tempfile.mkdtemp(prefix="exphone-footprint-")
    rows = {}
    codecs = {}
    breakdown = {}
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            # exphone 1001: idle, then in a call from 1003; once with its default codec preference
            # (G.722 first), once answering G.711 like baresip does
            for name, extra in (("exphone", ""), ("exphone, G.711 preferred", 'codecs = ["PCMU", "PCMA"]\n')):
                kam.kamcmd("ul.rm", "location", "s:1001", check=False)
                rows[name], codecs[name], files = measure_exphone(tmp, kam, extra)
                breakdown.setdefault("exphone", files)
            kam.kamcmd("ul.rm", "location", "s:1001", check=False)
            # baresip 1002 (srtp-mand), same states
            b = Baresip(tmp, kam, "1002", "srtp-mand").start()
            try:
                if not kam.wait_registered("1002", timeout=15):
                    sys.exit("baresip did not register")
                time.sleep(1)
                idle = sample(b.proc.pid)
                c = call(tmp, kam, "1002", 12)
                time.sleep(3)
                in_call = sample(b.proc.pid)
                codecs["baresip"] = codec_of(c)
            finally:
                b.stop()
            rows["baresip"] = (idle, in_call)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sizes = {"exphone": stripped_size(EXPHONE), "baresip": stripped_size(shutil.which("baresip"))}
    mib = lambda kib: kib / 1024.0  # noqa: E731
    print("| program | RSS idle, registered over TLS | RSS in one SRTP call (codec) | stripped binary |")
    print("|---|---|---|---|")
    for name, (idle, in_call) in rows.items():
        print(f"| {name} | {mib(idle):.1f} MiB | {mib(in_call):.1f} MiB ({codecs.get(name, '?')}) | "
              f"{sizes[name.split(',')[0]] / 1e6:.2f} MB |")
    e, b = rows["exphone"], rows["baresip"]
    print()
    print(f"targets: idle <= 8 MiB: {'met' if mib(e[0]) <= 8 else 'MISSED'}; in a call <= 9 MiB: "
          f"{'met' if mib(e[1]) <= 9 else 'MISSED'}; below baresip in both states: "
          f"{'met' if e[0] < b[0] and e[1] < b[1] else 'MISSED'}")
    if BREAKDOWN:
        idle_files, call_files = breakdown["exphone"]
        print()
        print("| exphone, resident per file | idle KiB | in the call KiB |")
        print("|---|---|---|")
        for f in sorted(set(idle_files) | set(call_files), key=lambda f: -call_files[f]):
            if max(idle_files[f], call_files[f]) >= 64:
                print(f"| {f} | {idle_files[f]} | {call_files[f]} |")
    print("(baresip's binary is small because its codecs, SRTP and TLS live in shared modules and libre;"
          " RSS counts what both actually map and touch.)")


if __name__ == "__main__":
    main()
