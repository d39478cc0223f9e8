#!/usr/bin/env python3
"""Time-to-ring through Kamailio over a slow link (issue "Performance"), exphone and baresip side
by side in the same run.

The lab (bench/lab/lab.sh): three network namespaces made for this run (prefix "ttr<PID>-"),
  caller 10.200.1.2 ==[user-space delay line, RTT = 2 x one-way]== pbx (Kamailio on 10.200.0.1)
  pbx 10.200.2.1 ----veth, no delay---- 10.200.2.2 callee (exphone run, auto-answer, over TLS)
Kamailio is the project's own test launcher (tests/interop/lib/kamailio.py) with the rendered
config adapted for the lab: it listens on 10.200.0.1 (UDP/TCP 5060, TLS 5061 = TLS 1.2+, i.e.
1.3 with both UAs, and an extra TLS 1.2-only port 5063), lets branches go to 10.200.0.0/16, and
challenges REGISTER and every INVITE from its own domain (407), as in the issue.

How it is measured: dumpcap on the caller's TUN device, inside the caller namespace, for both
UAs alike; TLS is decrypted with the caller's key log (exphone `keylog_file`, baresip through the
LD_PRELOAD shim bench/lab/sslkeylog.c). From the capture of each call:
  ring     first INVITE sent -> first 180 received (the INVITE that gets the 407, then the
           authenticated one: two round trips at best)
  answer   first INVITE sent -> 200 OK (INVITE) received (the callee answers at once)
  register first REGISTER sent -> 200 OK (REGISTER) received (incl. the 401)
  cold     first TCP SYN -> 180 received
  retrans  INVITE/REGISTER retransmissions before the first response to that request (UDP):
           with RTT > T1 each one is spurious.
Cases per RTT: UDP; TLS warm (INVITE over the connection REGISTER opened, TLS 1.3); TLS cold with
TLS 1.3 and with TLS 1.2 (5063). baresip's cold cases use an account without registration, so the
INVITE opens the connection. exphone never sends an INVITE through the PBX without its
registration flow (RFC 5626/5923 reuse): its cold run is a fresh `exphone call`, whose connection
carries REGISTER (401, 200) first; the table gives that measured SYN -> 180 and, for comparison
with baresip, "connect + ring" = (SYN -> first REGISTER sent) + (INVITE -> 180), the time a cold
INVITE would take on that connection.

usage: bench/time_to_ring.py [--exphone build/exphone] [--rtt 0,50,150,300,600] [--reps 5]
                             [--json FILE] [--plot FILE.png] [--quick]
Must run as root (network namespaces). Every process started here is stopped by its PID and the
namespaces are deleted at the end, also on failure.
"""
import argparse
import ctypes
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))

import lib.certs as certs_mod  # noqa: E402
from lib.kamailio import Kamailio  # noqa: E402,F401
from lib.netlab import LAB, PBX, CALLER, UDP_PORT, TLS_PORT, TLS12_PORT, Lab, LabKamailio  # noqa: E402,F401

CASES = ("udp", "tls-warm", "tls13-cold", "tls12-cold")
UAS = ("exphone", "baresip")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- callers -----------------------------------------------------------------------------------

def exphone_config(path, user, registrar, ca, keylog, extra_phone=""):
    with open(path, "w") as f:
        f.write(f"""[[account]]
user = "{user}"
password = "secret{user}"
domain = "localhost"
registrar = "{registrar}"
startup_jitter_ms = 0
[tls]
ca_files = ["{ca}"]
keylog_file = "{keylog}"
[phone]
srtp = "optional"
instance_id = "urn:uuid:{uuid.uuid4()}"
{extra_phone}""")
    return path


class Capture:
    def __init__(self, lab, path):
        self.path = path
        self.proc = subprocess.Popen(lab.cmd("caller", ["dumpcap", "-q", "-i", "tunC", "-P", "-w", path]),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # dumpcap is capturing once the file has its header
        deadline = time.monotonic() + 15
        while not (os.path.exists(path) and os.path.getsize(path) >= 24):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dumpcap did not start: " + self.proc.stderr.read())
            time.sleep(0.05)
        time.sleep(0.2)

    def stop(self):
        time.sleep(0.3)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_exphone(ctx, case, workdir, rep):
    port = {"udp": UDP_PORT, "udp-t1k": UDP_PORT, "tls13": TLS_PORT, "tls12": TLS12_PORT}[case]
    registrar = f"sip:{PBX}:{port}" if case.startswith("udp") else f"sips:{PBX}:{port}"
    t1 = 1000 if case == "udp-t1k" else ctx.t1_ms
    cfg = exphone_config(os.path.join(workdir, f"caller-{rep}.toml"), "1001", registrar, ctx.ca,
                         ctx.keylog, extra_phone=f"[sip]\nt1_ms = {t1}\n" if t1 else "")
    t0 = time.time()
    p = subprocess.run(ctx.lab.cmd("caller", [ctx.exphone, "call", "--config", cfg, "1002", "--duration", "1",
                                              "--json"]), capture_output=True, text=True, timeout=120)
    t1 = time.time()
    ok = p.returncode == 0
    if not ok:
        log(f"  exphone {case} rep {rep}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    return t0, t1, ok


class BaresipCaller:
    def __init__(self, ctx, workdir, case, rep):
        self.ctx = ctx
        self.dir = os.path.join(workdir, f"baresip-{rep}")
        os.makedirs(self.dir, exist_ok=True)
        transport, port = {"udp": ("udp", UDP_PORT), "tls-warm": ("tls", TLS_PORT),
                           "tls13-cold": ("tls", TLS_PORT), "tls12-cold": ("tls", TLS12_PORT)}[case]
        self.cold = case.endswith("-cold")
        self.target = f"sip:1002@{PBX}:{port}"  # baresip adds the account's ;transport=
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(f"""poll_method epoll
sip_listen {CALLER}:15060
sip_cafile {ctx.ca}
call_local_timeout 120
audio_player alsa,null
audio_source ausine,440
audio_alert alsa,null
ausrc_srate 48000
ausrc_channels 2
audio_level no
rtp_ports 20000-20100
net_interface {CALLER}
dns_server 127.0.0.1:53
cons_listen 127.0.0.1:5555
module_path /usr/lib/baresip/modules
module g711.so
module alsa.so
module ausine.so
module srtp.so
module cons.so
module_tmp uuid.so
module_tmp account.so
module_app menu.so
""")
        regint = 0 if self.cold else 600
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(f"<sip:1001@{PBX}:{port};transport={transport}>;auth_pass=secret1001;regint={regint};"
                    f"audio_codecs=pcmu;mediaenc={'srtp' if transport == 'tls' else ''}\n"
                    .replace(";mediaenc=\n", "\n"))
        self.log = os.path.join(self.dir, "baresip.log")

    def run(self):
        ctx = self.ctx
        env = dict(os.environ, LD_PRELOAD=ctx.keylog_so, SSLKEYLOGFILE=ctx.keylog)
        args = ["baresip", "-f", self.dir, "-4"]
        if self.cold:
            args += ["-e", f"/dial {self.target}"]
        t0 = time.time()
        logf = open(self.log, "w")
        proc = subprocess.Popen(ctx.lab.cmd("caller", args), stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT, env=env)
        ok = False
        try:
            if not self.cold:
                if not ctx.kam.wait_registered("1001", timeout=30):
                    raise RuntimeError("baresip did not register")
                time.sleep(0.3)
                subprocess.run(ctx.lab.cmd("caller", [sys.executable, "-c", (
                    "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                    "s.sendto(sys.argv[1].encode(), ('127.0.0.1', 5555))"), f"/dial {self.target}\n"]),
                    check=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                with open(self.log, errors="replace") as f:
                    if "Call established" in f.read():
                        ok = True
                        break
                time.sleep(0.05)
            time.sleep(1.0)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # hangs up, unregisters, quits
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            logf.close()
            ctx.kam.unregister("1001")
        if not ok:
            with open(self.log, errors="replace") as f:
                log(f"  baresip {self.target}: no call established; log tail:\n{f.read()[-800:]}")
        return t0, time.time(), ok


# ---- capture analysis --------------------------------------------------------------------------

FIELDS = ["frame.time_epoch", "tcp.flags.syn", "tcp.flags.ack", "sip.Method", "sip.Status-Code",
          "sip.CSeq.method", "sip.Via.branch", "tls.handshake.type",
          "tls.handshake.extensions.supported_version", "ip.src", "sip.Call-ID"]


def read_capture(pcap, keylog):
    out = subprocess.run(["tshark", "-r", pcap, "-o", f"tls.keylog_file:{keylog}",
                          "-d", f"tcp.port=={TLS12_PORT},tls", "-d", f"tls.port=={TLS12_PORT},sip",
                          "-Y", "sip || tcp.flags.syn == 1 || tls.handshake.type == 2",
                          "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|",
                          *sum((["-e", f] for f in FIELDS), [])],
                         capture_output=True, text=True, check=True)
    frames = []
    for line in out.stdout.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) - len(cols))
        d = {k: (v.split("|") if v else []) for k, v in zip(FIELDS, cols)}
        d["t"] = float(d["frame.time_epoch"][0])
        frames.append(d)
    return frames


def analyse(frames, t0, t1):
    """Figures (ms) of one call from the frames captured between t0 and t1 (wall clock)."""
    fr = [f for f in frames if t0 - 0.05 <= f["t"] <= t1 + 0.05]
    first = lambda pred: next((f["t"] for f in fr if pred(f)), None)  # noqa: E731
    syn = first(lambda f: f["tcp.flags.syn"][:1] in (["1"], ["True"]) and f["tcp.flags.ack"][:1] in (["0"], ["False"])
                and f["ip.src"][:1] == [CALLER])
    # the first REGISTER and INVITE of this call, and the responses in their dialogs (Call-ID): a late
    # response to the previous run's un-REGISTER does not count
    reg = next((f for f in fr if "REGISTER" in f["sip.Method"]), None)
    inv = next((f for f in fr if "INVITE" in f["sip.Method"]), None)
    reg0, inv0 = (reg or {}).get("t"), (inv or {}).get("t")
    same = lambda f, req: req is not None and bool(set(f["sip.Call-ID"]) & set(req["sip.Call-ID"]))  # noqa: E731
    r180 = first(lambda f: "180" in f["sip.Status-Code"] and same(f, inv))
    a200 = first(lambda f: "200" in f["sip.Status-Code"] and "INVITE" in f["sip.CSeq.method"] and same(f, inv))
    reg200 = first(lambda f: "200" in f["sip.Status-Code"] and "REGISTER" in f["sip.CSeq.method"] and same(f, reg))
    # the caller's own processing: the 407 to the INVITE received -> the authenticated INVITE sent
    c407 = first(lambda f: set(f["sip.Status-Code"]) & {"401", "407"} and "INVITE" in f["sip.CSeq.method"]
                 and same(f, inv))
    inv2 = first(lambda f: "INVITE" in f["sip.Method"] and c407 is not None and f["t"] > c407 and same(f, inv))
    ver = None
    for f in fr:
        if "2" in f["tls.handshake.type"]:
            ver = "1.3" if "0x0304" in f["tls.handshake.extensions.supported_version"] else "1.2"
            break
    # retransmissions: a request with the same branch sent again before any response to it
    retrans = {"INVITE": 0, "REGISTER": 0}
    answered_branches, sent = set(), {}
    for f in fr:
        if f["sip.Status-Code"]:
            answered_branches.update(f["sip.Via.branch"])
        for m in f["sip.Method"]:
            if m in retrans and f["sip.Via.branch"]:
                b = f["sip.Via.branch"][0]
                if b in sent and b not in answered_branches:
                    retrans[m] += 1
                sent[b] = True
    ms = lambda a, b: None if a is None or b is None else (b - a) * 1000.0  # noqa: E731
    res = {"ring": ms(inv0, r180), "answer": ms(inv0, a200), "register": ms(reg0, reg200),
           "cold": ms(syn, r180) if syn is not None else None, "tls": ver, "turnaround": ms(c407, inv2),
           "retrans_invite": retrans["INVITE"], "retrans_register": retrans["REGISTER"]}
    if syn is not None and reg0 is not None and inv0 is not None and r180 is not None and reg0 < inv0:
        res["connect_ring"] = ms(syn, reg0) + ms(inv0, r180)  # exphone: the connection without REGISTER
    return res


# ---- the run -----------------------------------------------------------------------------------

class Ctx:
    pass


def runs_for(ua):
    """(case label, how to run) per UA; exphone's TLS 1.3 run gives warm and cold figures."""
    if ua == "exphone":
        runs = [("udp", "udp"), ("tls13", "tls13"), ("tls12", "tls12")]
        # the same UDP call with T1 = 1000 ms configured (RFC 3261 section 17.1.1.1 allows a larger T1)
        return runs + [("udp-t1k", "udp-t1k")]
    return [(c, c) for c in CASES]


def figures(ua, label, r):
    """Map one run's analysis to the cases of the table."""
    out = {}
    if ua == "exphone":
        if label == "udp":
            out["udp"] = r["ring"]
        elif label == "udp-t1k":
            out["udp-t1k"] = r["ring"]
            out["udp-t1k-retrans"] = r["retrans_invite"] + r["retrans_register"]
        elif label == "tls13":
            out["tls-warm"] = r["ring"]
            out["tls13-cold"] = r.get("connect_ring")
            out["tls13-cold-with-register"] = r["cold"]
        else:
            out["tls12-cold"] = r.get("connect_ring")
            out["tls12-cold-with-register"] = r["cold"]
    else:
        out[label] = r["cold"] if label.endswith("-cold") else r["ring"]
    if label == "udp":
        out["udp-answer"], out["udp-register"] = r["answer"], r["register"]
        out["udp-retrans"] = r["retrans_invite"] + r["retrans_register"]
        out["udp-turnaround"] = r["turnaround"]
    if label in ("tls13", "tls-warm"):
        out["tls-answer"], out["tls-register"] = r["answer"], r["register"]
    return out


def measure(ctx, rtts, reps):
    results = {}  # rtt -> ua -> key -> [values]
    raw = []
    for rtt in rtts:
        ctx.lab.delay(rtt / 2)
        for ua in UAS:
            for label, how in runs_for(ua):
                workdir = os.path.join(ctx.state, f"{ua}-{label}-{rtt}")
                os.makedirs(workdir, exist_ok=True)
                pcap = os.path.join(workdir, "caller.pcap")
                cap = Capture(ctx.lab, pcap)
                windows = []
                try:
                    for rep in range(reps):
                        if ua == "exphone":
                            t0, t1, ok = run_exphone(ctx, how, workdir, rep)
                        else:
                            t0, t1, ok = BaresipCaller(ctx, workdir, how, rep).run()
                        windows.append((t0, t1, ok))
                        time.sleep(0.3)
                finally:
                    cap.stop()
                frames = read_capture(pcap, ctx.keylog)
                for rep, (t0, t1, ok) in enumerate(windows):
                    r = analyse(frames, t0, t1)
                    r.update(rtt=rtt, ua=ua, run=label, rep=rep, ok=ok)
                    raw.append(r)
                    if not ok or r["ring"] is None:
                        continue
                    for k, v in figures(ua, label, r).items():
                        if v is not None:
                            results.setdefault(rtt, {}).setdefault(ua, {}).setdefault(k, []).append(v)
                log(f"rtt {rtt:>3} ms  {ua:<8} {label:<10} " + "  ".join(
                    f"{r['ring']:.0f}" if r.get("ring") is not None else "-" for r in raw[-reps:])
                    + f"  (tls {raw[-1]['tls']})")
                if label in ("tls13-cold", "tls12-cold", "tls13", "tls12"):
                    want = "1.2" if "12" in label else "1.3"
                    got = {r["tls"] for r in raw[-reps:]} - {None}
                    if got and got != {want}:
                        raise RuntimeError(f"{ua} {label}: negotiated TLS {got}, wanted {want}")
    return results, raw


def stat(vals):
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


ROWS = [("udp", "UDP: INVITE -> 180"), ("tls-warm", "TLS warm (1.3): INVITE -> 180"),
        ("tls13-cold", "TLS 1.3 cold: SYN -> 180 (*)"), ("tls12-cold", "TLS 1.2 cold: SYN -> 180 (*)"),
        ("tls13-cold-with-register", "TLS 1.3 cold incl. REGISTER: SYN -> 180"),
        ("tls12-cold-with-register", "TLS 1.2 cold incl. REGISTER: SYN -> 180"),
        ("udp-answer", "UDP: INVITE -> 200 (answered)"), ("tls-answer", "TLS warm: INVITE -> 200 (answered)"),
        ("udp-turnaround", "UDP: 407 in -> authenticated INVITE out (caller)"),
        ("udp-register", "UDP: REGISTER -> 200 (incl. 401)"), ("tls-register", "TLS: REGISTER -> 200 (incl. 401)"),
        ("udp-retrans", "UDP: INVITE+REGISTER retransmissions per call"),
        ("udp-t1k", "UDP, t1_ms = 1000: INVITE -> 180"),
        ("udp-t1k-retrans", "UDP, t1_ms = 1000: retransmissions per call")]


def fmt(s, count=False):
    if s is None:
        return "-"
    if count:
        return f"{s['median']:.0f} [{s['min']:.0f}-{s['max']:.0f}]"
    return f"{s['median']:.0f} [{s['min']:.0f}-{s['max']:.0f}]"


def summary(results):
    return {str(rtt): {ua: {k: stat(v) for k, v in keys.items()} for ua, keys in uas.items()}
            for rtt, uas in results.items()}


def table(results, rtts, t1_ms):
    lines = ["| RTT | figure (ms, median [min-max]) | exphone | baresip | exphone / baresip |",
             "|---|---|---|---|---|"]
    for rtt in rtts:
        for key, name in ROWS:
            e = stat(results.get(rtt, {}).get("exphone", {}).get(key, []))
            b = stat(results.get(rtt, {}).get("baresip", {}).get(key, []))
            if e is None and b is None:
                continue
            ratio = f"{e['median'] / b['median']:.2f}" if e and b and b["median"] > 0 and "retrans" not in key else ""
            lines.append(f"| {rtt} | {name} | {fmt(e)} | {fmt(b)} | {ratio} |")
    lines.append("(*) baresip: a cold INVITE opens the connection. exphone: connect + ring = (SYN -> first "
                 "REGISTER) + (INVITE -> 180) of a fresh `exphone call`, whose INVITE rides its registration flow.")
    checks = targets(results, rtts, t1_ms)
    if checks:
        lines.append("")
        lines.append(f"Targets at RTT {max(rtts)} ms (exphone, T1 = {t1_ms or 500} ms):")
        for text, ok in checks:
            lines.append(f"- {'MET   ' if ok else 'MISSED'} {text}")
    return "\n".join(lines)


def targets(results, rtts, t1_ms):
    """[(text, met)] for the issue's targets, at the largest RTT measured."""
    rtt = max(rtts)
    g = lambda ua, k: (stat(results.get(rtt, {}).get(ua, {}).get(k, [])) or {}).get("median")  # noqa: E731
    checks = []
    udp, warm, c13 = g("exphone", "udp"), g("exphone", "tls-warm"), g("exphone", "tls13-cold")
    if udp and warm:
        checks.append((f"warm TLS / UDP = {warm / udp:.3f} <= 1.05", warm / udp <= 1.05))
    if udp and c13:
        lim = udp + 2 * rtt + 50
        checks.append((f"cold TLS 1.3 {c13:.0f} <= UDP + 2 RTT + 50 = {lim:.0f} ms", c13 <= lim))
    for key, name in ROWS[:4]:
        e, b = g("exphone", key), g("baresip", key)
        if e and b:
            tie = f" (a tie: +{e - b:.0f} ms, {100 * (e - b) / b:.1f} %)" if b < e <= b * 1.01 else ""
            checks.append((f"exphone <= baresip, {name}: {e:.0f} vs {b:.0f} ms{tie}", e <= b))
    rt = results.get(rtt, {}).get("exphone", {}).get("udp-retrans", [])
    if rt and rtt > (t1_ms or 500):
        checks.append((f"no spurious UDP retransmissions at RTT {rtt} ms > T1 {t1_ms or 500} ms: "
                       f"{max(rt):.0f} per call at most", max(rt) == 0))
    rt = results.get(rtt, {}).get("exphone", {}).get("udp-t1k-retrans", [])
    if rt and rtt > (t1_ms or 500):
        checks.append((f"  the same with [sip] t1_ms = 1000 configured: {max(rt):.0f} per call at most",
                       max(rt) == 0))
    return checks


def plot(results, rtts, png, state):
    if not shutil.which("gnuplot"):
        log("gnuplot not installed (scripts/install-deps.sh installs gnuplot-nox): no plot")
        return
    series = [("exphone", "udp", "exphone UDP"), ("exphone", "tls-warm", "exphone TLS warm"),
              ("exphone", "tls13-cold", "exphone TLS 1.3 cold (connect+ring)"),
              ("exphone", "tls12-cold", "exphone TLS 1.2 cold (connect+ring)"),
              ("baresip", "udp", "baresip UDP"), ("baresip", "tls-warm", "baresip TLS warm"),
              ("baresip", "tls13-cold", "baresip TLS 1.3 cold"), ("baresip", "tls12-cold", "baresip TLS 1.2 cold")]
    cmds = []
    for i, (ua, key, title) in enumerate(series):
        dat = os.path.join(state, f"plot-{i}.dat")
        with open(dat, "w") as f:
            for rtt in rtts:
                s = stat(results.get(rtt, {}).get(ua, {}).get(key, []))
                if s:
                    f.write(f"{rtt} {s['median']:.1f} {s['min']:.1f} {s['max']:.1f}\n")
        dt = 1 if ua == "exphone" else 2
        cmds.append(f"'{dat}' using 1:2:3:4 with yerrorlines lc {i % 4 + 1} dt {dt} pt {i % 4 + 5} title '{title}'")
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    script = (f"set terminal pngcairo size 1000,650 noenhanced\nset output '{png}'\n"
              "set title 'Time to ring through Kamailio (INVITE challenged), median with min/max'\n"
              "set xlabel 'RTT caller <-> PBX (ms)'\nset ylabel 'ms'\nset key top left\nset grid\n"
              f"set xtics ({', '.join(str(r) for r in rtts)})\n"
              "plot " + ", \\\n  ".join(cmds) + "\n")
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        # gnuplot-nox may lack cairo: fall back to the plain png terminal
        script = script.replace("pngcairo", "png")
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    log(f"plot: {png}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exphone", default=os.path.join(ROOT, "build", "exphone"))
    ap.add_argument("--rtt", default="0,50,150,300,600", help="RTTs in ms, comma-separated")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="RTT 0 and 600, 2 repetitions")
    ap.add_argument("--t1-ms", type=int, default=0, help="exphone caller's [sip] t1_ms (0 = its default)")
    ap.add_argument("--json", help="write every run's figures here")
    ap.add_argument("--plot", default=os.path.join(ROOT, "bench", "out", "time_to_ring.png"))
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the state folder (captures, logs)")
    a = ap.parse_args()
    if a.quick:
        a.rtt, a.reps = "0,600", 2
    rtts = [int(x) for x in a.rtt.split(",")]
    if os.geteuid() != 0:
        sys.exit("error: root needed (network namespaces)")
    # a SIGTERM (ctest timeout, kill PID) still stops what we started and deletes the namespaces
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for tool in ("kamailio", "baresip", "dumpcap", "tshark", "gcc"):
        if not shutil.which(tool):
            sys.exit(f"error: {tool} not found (scripts/install-deps.sh)")
    if not os.access(a.exphone, os.X_OK):
        sys.exit(f"error: no exphone binary at {a.exphone} (release build: see docs/performance.md)")

    ctx = Ctx()
    ctx.exphone = os.path.abspath(a.exphone)
    ctx.t1_ms = a.t1_ms
    ctx.state = tempfile.mkdtemp(prefix="exphone-ttr-")
    ctx.keylog = os.path.join(ctx.state, "tls-keys.txt")
    ctx.keylog_so = os.path.join(ctx.state, "sslkeylog.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", ctx.keylog_so, os.path.join(LAB, "sslkeylog.c"),
                    "-ldl", "-lssl"], check=True)
    # the lab PBX's certificate also names its lab address
    certs_mod.SERVER_SAN = certs_mod.SERVER_SAN + f",IP:{PBX}"
    lab = ctx.lab = Lab(ctx.state)
    callee = None
    kam = None
    try:
        lab.up(rtts[0] / 2)
        lab.enter("pbx")
        kam = ctx.kam = LabKamailio(os.path.join(ctx.state, "kam"))
        kam.start()
        ctx.ca = kam.ca_file
        ccfg = exphone_config(os.path.join(ctx.state, "callee.toml"), "1002", f"sips:{PBX}:{TLS_PORT}", ctx.ca,
                              os.path.join(ctx.state, "callee-keys.txt"),
                              f'auto_answer = true\nauto_answer_from = ["1001"]\n'
                              f'control_socket = "{ctx.state}/callee.sock"\n')
        ccfg_text = open(ccfg).read().replace('keylog_file = "' + os.path.join(ctx.state, "callee-keys.txt") + '"\n', "")
        open(ccfg, "w").write(ccfg_text)
        calleelog = open(os.path.join(ctx.state, "callee.log"), "w")
        callee = subprocess.Popen(lab.cmd("callee", [ctx.exphone, "run", "--config", ccfg]),
                                  stdout=calleelog, stderr=subprocess.STDOUT)
        if not kam.wait_registered("1002", timeout=30):
            raise RuntimeError("the callee did not register")
        results, raw = measure(ctx, rtts, a.reps)
    finally:
        if callee is not None and callee.poll() is None:
            callee.terminate()
            try:
                callee.wait(timeout=15)
            except subprocess.TimeoutExpired:
                callee.kill()
        if kam is not None:
            kam.close()
        lab.down()
        if not a.keep:
            shutil.rmtree(ctx.state, ignore_errors=True)
        else:
            log(f"state kept in {ctx.state}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rtts": rtts, "reps": a.reps, "summary": summary(results),
                       "targets": [{"text": t, "met": ok} for t, ok in targets(results, rtts, a.t1_ms)],
                       "runs": raw}, f, indent=1)
    if not a.no_plot:
        pdir = tempfile.mkdtemp(prefix="exphone-ttr-plot-")
        try:
            plot(results, rtts, a.plot, pdir)
        finally:
            shutil.rmtree(pdir, ignore_errors=True)
    print(table(results, rtts, a.t1_ms))


if __name__ == "__main__":
    main()
