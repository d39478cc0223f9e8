#!/usr/bin/env python3
"""Start-up time (issue "Performance", measurement 5): from exec of `exphone run` to its account
registered over TLS with Kamailio on loopback (the REGISTER challenged with 401 and sent again with
credentials: two round trips, one TLS 1.3 handshake with certificate verification). The end is the
moment the daemon prints `account ...: registered via tls` on stdout (line-buffered, written right
after the 200 OK was processed). Each run is a fresh process and a fresh TLS connection; the binding
is removed in between. Also the same for the one-shot `exphone register` (exec to exit 0).

usage: bench/startup.py [EXPHONE_BINARY] [RUNS]   (default build/exphone, a Release build; 11 runs)
Prints a Markdown table (median [min-max] ms) and the verdict for the target (median <= 50 ms).
"""
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPHONE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "exphone"))
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 11
os.environ["EXPHONE"] = EXPHONE
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))

from lib.kamailio import Kamailio  # noqa: E402


def config(tmp, kam, jitter_ms):
    """startup_jitter_ms: exphone run waits a random 0..N ms (default 2000) before its first REGISTER
    so that a fleet powered on together does not register in one instant; measured with 0 (the
    phone's own speed) and with the default (what a fleet phone does)."""
    path = os.path.join(tmp, f"startup-{jitter_ms}.toml")
    with open(path, "w") as f:
        f.write(f'[[account]]\nuser = "1001"\npassword = "secret1001"\ndomain = "localhost"\n'
                f'registrar = "sips:127.0.0.1:{kam.tls_port}"\nstartup_jitter_ms = {jitter_ms}\n'
                f'[tls]\nca_files = ["{kam.ca_file}"]\n[phone]\ncontrol_socket = "{tmp}/ctl.sock"\n')
    return path


def run_daemon(cfg):
    t0 = time.monotonic()
    p = subprocess.Popen([EXPHONE, "run", "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, bufsize=1)
    took = None
    try:
        for line in p.stdout:
            if ": registered via tls" in line:
                took = (time.monotonic() - t0) * 1000
                break
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=15)
    return took


def run_register(cfg):
    t0 = time.monotonic()
    p = subprocess.run([EXPHONE, "register", "--config", cfg, "--keep"], capture_output=True, timeout=30)
    return (time.monotonic() - t0) * 1000 if p.returncode == 0 else None


def fmt(xs):
    return f"{statistics.median(xs):.1f} [{min(xs):.1f}-{max(xs):.1f}]"


def main():
    with tempfile.TemporaryDirectory(prefix="exphone-startup-") as tmp, Kamailio(os.path.join(tmp, "kam")) as kam:
        rows = []
        for name, fn, cfg in (("exphone run: exec -> registered over TLS (startup_jitter_ms = 0)", run_daemon,
                               config(tmp, kam, 0)),
                              ("exphone register: exec -> registered, exit", run_register, config(tmp, kam, 0)),
                              ("exphone run, default startup_jitter_ms = 2000 (random 0-2 s wait, by design)",
                               run_daemon, config(tmp, kam, 2000))):
            run_daemon(cfg) if fn is run_daemon else None  # warm the page cache once
            kam.unregister("1001")
            xs = []
            for _ in range(RUNS):
                t = fn(cfg)
                if t is None:
                    print(f"{name}: a run failed", file=sys.stderr)
                    return 1
                xs.append(t)
                kam.unregister("1001")
            rows.append((name, xs))
        print(f"| start-up ({RUNS} runs, loopback, Kamailio challenges with 401) | median [min-max] ms |")
        print("|---|---|")
        for name, xs in rows:
            print(f"| {name} | {fmt(xs)} |")
        med = statistics.median(rows[0][1])
        print(f"\ntarget: median exec -> registered over TLS <= 50 ms: {'met' if med <= 50 else 'MISSED'} ({med:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
