#!/usr/bin/env python3
"""CPU cost of a call, RTP vs SRTP, exphone and baresip side by side (issue "Performance",
measurement 2). Kamailio on loopback (TLS); one G.711 (PCMU) call of DURATION seconds per row,
the answering side measured: the CPU time its threads used from just before the INVITE to the end
of the call (sum of /proc/PID/task/*/schedstat, nanoseconds), as a share of one core. Each
answerer takes one unmeasured warm-up call first: a phone daemon runs for months, its one-time
costs (libsrtp2's first srtp_init starts NSS in Debian's build) are not a per-call cost.

  exphone -> exphone   srtp off (RTP)  vs  mandatory (SDES, AEAD_AES_256_GCM: exphone's choice)
  baresip -> exphone   mediaenc none   vs  srtp-mand (AES_CM_128_HMAC_SHA1_80: what baresip offers)
  baresip -> baresip   mediaenc none   vs  srtp-mand

Both answerers do comparable work besides the media: exphone measures the far end's tone
(Goertzel) for its call report, baresip records the call to WAV (its sndfile module).
This VM has no hardware counters (perf: instructions "not supported"), so CPU time is the measure.

usage: bench/call_cpu.py [--exphone build/exphone] [--duration 60] [--runs 3]
Prints a Markdown table (median [min-max] of the runs) and the verdicts for the targets:
SRTP/RTP ratio <= 1.02 (exphone); exphone's CPU per call <= half of baresip's.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))


def cpu_ns(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError):
            pass
    return total


class ExphoneCallee:
    def __init__(self, exphone, tmp, kam, srtp):
        self.ctl = os.path.join(tmp, f"callee-{srtp}.sock")
        cfg = os.path.join(tmp, f"callee-{srtp}.toml")
        with open(cfg, "w") as f:
            f.write(f'[[account]]\nuser = "1001"\npassword = "secret1001"\ndomain = "localhost"\n'
                    f'registrar = "sips:127.0.0.1:{kam.tls_port}"\nstartup_jitter_ms = 0\n'
                    f'[tls]\nca_files = ["{kam.ca_file}"]\n[phone]\nsrtp = "{srtp}"\nkey_exchange = "sdes"\n'
                    f'codecs = ["PCMU"]\nauto_answer = true\nauto_answer_from = ["1002"]\n'
                    f'control_socket = "{self.ctl}"\n')
        self.proc = subprocess.Popen([exphone, "run", "--config", cfg, "--send-tone", "440", "--expect-tone", "1000"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.pid = self.proc.pid

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=20)
        return [json.loads(l.split(" ", 1)[1]) for l in out.splitlines() if l.startswith("call-report ")]


def exphone_call(exphone, tmp, kam, srtp, duration):
    cfg = os.path.join(tmp, f"caller-{srtp}.toml")
    with open(cfg, "w") as f:
        f.write(f'[[account]]\nuser = "1002"\npassword = "secret1002"\ndomain = "localhost"\n'
                f'registrar = "sips:127.0.0.1:{kam.tls_port}"\n[tls]\nca_files = ["{kam.ca_file}"]\n'
                f'[phone]\nsrtp = "{srtp}"\nkey_exchange = "sdes"\ncodecs = ["PCMU"]\n')
    p = subprocess.run([exphone, "call", "--config", cfg, "1001", "--duration", str(duration), "--json"],
                       capture_output=True, text=True, timeout=duration + 60)
    rep = json.loads(p.stdout) if p.stdout.strip() else {}
    if p.returncode != 0 or not rep.get("answered"):
        raise RuntimeError(f"exphone call failed: {p.stderr[-800:]} {rep}")
    return rep


def baresip_call(tmp, kam, enc, duration, tag):
    from test_call_pbx import Baresip
    b = Baresip(os.path.join(tmp, f"caller-{tag}"), kam, "1002", enc, role="caller")
    b.start("-e", f"/dial sip:1001@127.0.0.1:{kam.tls_port}", "-t", str(duration + 2))
    b.proc.wait(timeout=duration + 60)
    b.stop()
    return b


def wait_registered(kam, user):
    if not kam.wait_registered(user, timeout=20):
        raise RuntimeError(f"{user} did not register")


def measure(pid, place_call):
    before = cpu_ns(pid)
    t0 = time.monotonic()
    place_call()
    wall = time.monotonic() - t0
    return (cpu_ns(pid) - before) / 1e9, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exphone", default=os.path.join(ROOT, "build", "exphone"))
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    exphone = os.path.abspath(a.exphone)
    os.environ["EXPHONE"] = exphone
    from lib.kamailio import Kamailio
    from test_call_pbx import Baresip
    tmp = tempfile.mkdtemp(prefix="exphone-callcpu-")
    results = {}  # (pair, mode) -> [(cpu s, wall s)]
    suites = {}
    try:
        with Kamailio(os.path.join(tmp, "kam")) as kam:
            for mode, srtp, enc in (("RTP", "off", "none"), ("SRTP", "mandatory", "srtp-mand")):
                # exphone -> exphone, then baresip -> exphone, against one exphone answerer
                callee = ExphoneCallee(exphone, tmp, kam, srtp)
                try:
                    wait_registered(kam, "1001")
                    # Warm-up call, not measured: one-time costs of a daemon that runs for months
                    # (libsrtp2's first srtp_init starts NSS in Debian's build, codec libraries load).
                    exphone_call(exphone, tmp, kam, srtp, 2)
                    for i in range(a.runs):
                        rep = {}
                        cpu, wall = measure(callee.pid, lambda: rep.update(exphone_call(exphone, tmp, kam, srtp,
                                                                                         a.duration)))
                        results.setdefault(("exphone -> exphone", mode), []).append((cpu, wall))
                        suites[("exphone -> exphone", mode)] = rep["media"]["suite"] or "none"
                        d = os.path.join(tmp, f"b{mode}{i}")
                        os.makedirs(d)
                        cpu, wall = measure(callee.pid, lambda: baresip_call(d, kam, enc, a.duration, "x"))
                        results.setdefault(("baresip -> exphone", mode), []).append((cpu, wall))
                finally:
                    reports = callee.stop()
                for r in reports[1:]:
                    if r["media"]["packets_received"] < 40 * a.duration:
                        raise RuntimeError(f"a measured call carried too little media: {r['media']}")
                suites[("baresip -> exphone", mode)] = (reports[-1]["media"]["suite"] or "none") if reports else "?"
                kam.unregister("1001")
                # baresip -> baresip
                callee_b = Baresip(os.path.join(tmp, f"bcallee-{mode}"), kam, "1001", enc).start()
                try:
                    wait_registered(kam, "1001")
                    d = os.path.join(tmp, f"bbwarm{mode}")
                    os.makedirs(d)
                    baresip_call(d, kam, enc, 2, "w")  # warm-up, not measured
                    for i in range(a.runs):
                        d = os.path.join(tmp, f"bb{mode}{i}")
                        os.makedirs(d)
                        cpu, wall = measure(callee_b.proc.pid, lambda: baresip_call(d, kam, enc, a.duration, "y"))
                        results.setdefault(("baresip -> baresip", mode), []).append((cpu, wall))
                finally:
                    callee_b.stop()
                kam.unregister("1001")
                suites[("baresip -> baresip", mode)] = "AES_CM_128_HMAC_SHA1_80" if mode == "SRTP" else "none"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def pct(pair, mode):
        xs = [c / w * 100 for c, w in results[(pair, mode)]]
        return statistics.median(xs), min(xs), max(xs)

    print(f"| answering side, {a.duration} s G.711 call ({a.runs} runs) | suite | CPU, % of one core: RTP | SRTP | SRTP / RTP |")
    print("|---|---|---|---|---|")
    med = {}
    for pair in ("exphone -> exphone", "baresip -> exphone", "baresip -> baresip"):
        r, s = pct(pair, "RTP"), pct(pair, "SRTP")
        med[pair] = (r[0], s[0])
        print(f"| {pair} | {suites.get((pair, 'SRTP'), '?')} | {r[0]:.3f} [{r[1]:.3f}-{r[2]:.3f}] | "
              f"{s[0]:.3f} [{s[1]:.3f}-{s[2]:.3f}] | {s[0] / r[0]:.3f} |")
    e_ratio = med["exphone -> exphone"][1] / med["exphone -> exphone"][0]
    cm_ratio = med["baresip -> exphone"][1] / med["baresip -> exphone"][0]
    half = med["baresip -> exphone"][1] <= 0.5 * med["baresip -> baresip"][1]
    print()
    print(f"target: exphone SRTP/RTP <= 1.02: GCM {e_ratio:.3f}, CM {cm_ratio:.3f}: "
          f"{'met' if max(e_ratio, cm_ratio) <= 1.02 else 'MISSED'}")
    print(f"target: exphone's CPU per secure call <= half of baresip's (same peer and suite): "
          f"{med['baresip -> exphone'][1]:.3f} % vs {med['baresip -> baresip'][1]:.3f} %: {'met' if half else 'MISSED'}")
    print(f"one secure call costs exphone {med['exphone -> exphone'][1]:.3f} % of one core (AEAD_AES_256_GCM).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
