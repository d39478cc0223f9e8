#!/usr/bin/env python3
"""Instruction counts of a call, RTP vs SRTP (issue "Performance", measurement 2, "as instruction
counts"): the answering exphone of bench/call_cpu.py runs under valgrind --tool=callgrind for its
whole life (start, TLS registration, a 2 s warm-up call, an 8 s G.711 call from another exphone),
once with srtp = "off", once with "mandatory" (SDES). Prints where each profile is and writes the
inclusive per-function annotation to /tmp/cg-{off,mandatory}.txt; compare PROGRAM TOTALS minus
srtp_init (a one-time cost), and SrtpSession::protect/unprotect against RtpStream::send_frame.
usage: bench/call_callgrind.py   (root; the Release build/exphone; takes ~3 minutes)
"""
import os, sys, subprocess, tempfile, time, signal, json
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))
import importlib.util
spec = importlib.util.spec_from_file_location("call_cpu", os.path.join(ROOT, "bench", "call_cpu.py"))
cc = importlib.util.module_from_spec(spec); spec.loader.exec_module(cc)
exphone = os.path.join(ROOT, "build", "exphone")
os.environ["EXPHONE"] = exphone
from lib.kamailio import Kamailio
tmp = tempfile.mkdtemp(prefix="cg-")
dur = 8
with Kamailio(os.path.join(tmp, "kam")) as kam:
    for srtp in ("off", "mandatory"):
        callee = cc.ExphoneCallee(exphone, tmp, kam, srtp)
        # replace the process with one under callgrind
        callee.proc.send_signal(signal.SIGTERM); callee.proc.communicate(timeout=20)
        cfg = os.path.join(tmp, f"callee-{srtp}.toml")
        out = os.path.join(tmp, f"cg-{srtp}.out")
        p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                              exphone, "run", "--config", cfg, "--send-tone", "440", "--expect-tone", "1000"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cc.wait_registered(kam, "1001")
        cc.exphone_call(exphone, tmp, kam, srtp, 2)
        rep = cc.exphone_call(exphone, tmp, kam, srtp, dur)
        p.send_signal(signal.SIGTERM); p.communicate(timeout=60)
        print(srtp, rep["media"].get("suite"), rep["media"].get("packets_received"), out, flush=True)
        os.system(f"callgrind_annotate --inclusive=yes {out} 2>/dev/null > /tmp/cg-{srtp}.txt")
