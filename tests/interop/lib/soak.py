"""Soak machinery (issue 11): one `exphone run` daemon (the device under test) registered to
Kamailio over TLS with a short registration interval, called again and again with SDES-SRTP
(mandatory) by `exphone call`, while its memory and open file descriptors are sampled from /proc.

Used by bench/soak.py (the 30-minute soak, CSV + graph + verdicts) and by
tests/interop/test_soak_short.py (ctest `interop_soak_short`, ~60 s of calls).

    from lib.soak import Soak, summarize
    res = Soak(exphone, workdir, call_seconds=3, expires=60, sample_s=10).run(minutes=30, csv_path=...)
    s = summarize(res, warmup_s=180)

Phases of a run:
  1. Kamailio (TLS) and the daemon start; the daemon registers (expires = `expires`, so it
     refreshes its registration at 85 % of it, every ~51 s with 60, for the whole run).
  2. `warmup_calls` calls (default 1): one-time initialisation on the first call (libsrtp2's
     srtp_init, which in Debian's build starts NSS) is not a per-call cost. Then the daemon is idle:
     its fd count and fd table (readlink of /proc/PID/fd/*) are the **idle baseline**.
  3. Calls back to back for `minutes`: each `exphone call` registers 1002 over a fresh TLS
     connection, calls 1001 through Kamailio (SRTP mandatory, AEAD/AES-CM by negotiation),
     holds the call `call_seconds`, hangs up. A call counts as ok when the caller exits 0 with
     an answered, secure report.
  4. Idle again: the daemon has no call left (ctl status); its fd count is polled for up to
     `settle_s` until it equals the baseline, then the **idle end** sample is taken.
Every `sample_s` seconds (phases 3-4) a row: elapsed s, phase, VmRSS, VmHWM, VmSize (KiB), open
fds, threads, calls ok/failed, the daemon's call reports (secure ones), registration refreshes seen
at Kamailio (changes of the binding's CSeq). Only processes started here are signalled.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import threading
import time
import uuid

from .kamailio import Kamailio

FIELDS = ("t_s", "phase", "rss_kib", "hwm_kib", "vmsize_kib", "fds", "threads", "calls_ok", "calls_failed",
          "daemon_reports", "daemon_secure", "reg_refreshes")


def proc_status(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "VmSize"):
                out[k] = int(v.split()[0])
            elif k == "Threads":
                out[k] = int(v)
    return out


def fd_table(pid: int) -> list:
    """The daemon's open fds as 'N -> target' (socket:[inode] for sockets), sorted by fd."""
    res = []
    d = f"/proc/{pid}/fd"
    for name in sorted(os.listdir(d), key=int):
        try:
            res.append(f"{name} -> {os.readlink(os.path.join(d, name))}")
        except OSError:
            pass
    return res


def fd_kinds(table: list) -> dict:
    """Counts by kind (socket, anon_inode:[eventfd], pipe, /dev/urandom, ...)."""
    kinds = {}
    for row in table:
        target = row.split(" -> ", 1)[1]
        kind = target.split("[", 1)[0] if target.startswith(("socket:", "pipe:")) else target
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


class Soak:
    def __init__(self, exphone, workdir, *, call_seconds=3, expires=60, sample_s=10, warmup_calls=1,
                 settle_s=30, log=print):
        self.exphone = os.path.abspath(exphone)
        self.dir = os.path.abspath(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.call_seconds = call_seconds
        self.expires = expires
        self.sample_s = sample_s
        self.warmup_calls = warmup_calls
        self.settle_s = settle_s
        self.log = log
        self.ok = self.failed = 0
        self.failures = []  # first few failed calls: (t_s, rc, stderr tail, report)
        self.daemon_reports = self.daemon_secure = 0
        self.daemon_lines = 0
        self.reg_refreshes = 0
        self._last_cseq = None
        self._lock = threading.Lock()

    # ---- the daemon ------------------------------------------------------------------------------

    def _write_configs(self, kam):
        self.ctl = os.path.join(self.dir, "dut.sock")
        self.dut_cfg = os.path.join(self.dir, "dut.toml")
        with open(self.dut_cfg, "w") as f:
            f.write(f'[[account]]\nuser = "1001"\npassword = "secret1001"\ndomain = "localhost"\n'
                    f'registrar = "sips:127.0.0.1:{kam.tls_port}"\nexpires = {self.expires}\n'
                    f'startup_jitter_ms = 0\n[tls]\nca_files = ["{kam.ca_file}"]\n'
                    f'[phone]\nsrtp = "mandatory"\nauto_answer = true\nauto_answer_from = ["1002"]\n'
                    f'instance_id = "urn:uuid:{uuid.uuid4()}"\ncontrol_socket = "{self.ctl}"\n')
        self.caller_cfg = os.path.join(self.dir, "caller.toml")
        with open(self.caller_cfg, "w") as f:
            f.write(f'[[account]]\nuser = "1002"\npassword = "secret1002"\ndomain = "localhost"\n'
                    f'registrar = "sips:127.0.0.1:{kam.tls_port}"\n[tls]\nca_files = ["{kam.ca_file}"]\n'
                    f'[phone]\nsrtp = "mandatory"\ninstance_id = "urn:uuid:{uuid.uuid4()}"\n')

    def _read_stdout(self):
        with open(os.path.join(self.dir, "dut.out"), "w") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                with self._lock:
                    self.daemon_lines += 1
                    if line.startswith("call-report "):
                        self.daemon_reports += 1
                        try:
                            if json.loads(line.split(" ", 1)[1]).get("secure"):
                                self.daemon_secure += 1
                        except ValueError:
                            pass

    def alive(self):
        return self.proc.poll() is None

    def ctl_status(self):
        p = subprocess.run([self.exphone, "ctl", "--socket", self.ctl, "--json", "status"], capture_output=True,
                           text=True, timeout=20)
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def _poll_registration(self, kam):
        """Counts changes of the 1001 binding's CSeq at Kamailio: one per refresh REGISTER."""
        rc, out = kam.kamcmd("ul.lookup", "location", "s:1001", check=False, timeout=5)
        cseqs = [ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.strip().startswith("CSeq:")]
        if rc == 0 and cseqs:
            cseq = cseqs[0]
            if self._last_cseq is not None and cseq != self._last_cseq:
                self.reg_refreshes += 1
            self._last_cseq = cseq

    def sample(self, t0, phase):
        st = proc_status(self.pid)
        with self._lock:
            row = {"t_s": round(time.monotonic() - t0, 1), "phase": phase, "rss_kib": st["VmRSS"],
                   "hwm_kib": st["VmHWM"], "vmsize_kib": st["VmSize"], "fds": len(os.listdir(f"/proc/{self.pid}/fd")),
                   "threads": st["Threads"], "calls_ok": self.ok, "calls_failed": self.failed,
                   "daemon_reports": self.daemon_reports, "daemon_secure": self.daemon_secure,
                   "reg_refreshes": self.reg_refreshes}
        return row

    # ---- calls -----------------------------------------------------------------------------------

    def call(self, t0):
        try:
            p = subprocess.run([self.exphone, "call", "--config", self.caller_cfg, "1001", "--duration",
                                str(self.call_seconds), "--json"], capture_output=True, text=True,
                               timeout=self.call_seconds + 60)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = 124, "", f"timeout: {e}"
        try:
            rep = json.loads(out) if out.strip() else {}
        except ValueError:
            rep = {}
        good = rc == 0 and rep.get("answered") and rep.get("secure")
        with self._lock:
            if good:
                self.ok += 1
            else:
                self.failed += 1
                if len(self.failures) < 5:
                    self.failures.append({"t_s": round(time.monotonic() - t0, 1), "rc": rc, "stderr": err[-1500:],
                                          "report": rep})
        return good

    # ---- the run ---------------------------------------------------------------------------------

    def run(self, minutes, csv_path=None):
        res = {"minutes": minutes, "call_seconds": self.call_seconds, "expires": self.expires,
               "sample_s": self.sample_s, "exphone": self.exphone, "samples": []}
        csv_f = open(csv_path, "w", newline="") if csv_path else None
        writer = csv.DictWriter(csv_f, fieldnames=FIELDS) if csv_f else None
        if writer:
            writer.writeheader()
            csv_f.flush()

        def record(row):
            res["samples"].append(row)
            if writer:
                writer.writerow(row)
                csv_f.flush()

        kam = Kamailio(tmpdir=os.path.join(self.dir, "kam"))
        kam.start()
        self.proc = None
        try:
            self._write_configs(kam)
            self.dut_err = open(os.path.join(self.dir, "dut.err"), "w")
            self.proc = subprocess.Popen([self.exphone, "run", "--config", self.dut_cfg, "--send-tone", "440",
                                          "--expect-tone", "1000"], stdout=subprocess.PIPE, stderr=self.dut_err,
                                         text=True)
            self.pid = self.proc.pid
            threading.Thread(target=self._read_stdout, daemon=True).start()
            if not kam.wait_registered("1001", timeout=30):
                raise RuntimeError("the daemon did not register")
            t0 = time.monotonic()
            time.sleep(1)
            res["fds_before_any_call"] = len(os.listdir(f"/proc/{self.pid}/fd"))
            res["fd_table_before_any_call"] = fd_table(self.pid)
            res["rss_before_any_call_kib"] = proc_status(self.pid)["VmRSS"]
            for _ in range(self.warmup_calls):
                self.call(t0)
            res["warmup_calls_ok"] = self.ok
            self._wait_idle()
            time.sleep(2)
            base = self.sample(t0, "idle-baseline")
            res["baseline"] = base
            res["fd_table_baseline"] = fd_table(self.pid)
            record(base)
            self.log(f"idle baseline: {base['fds']} fds, VmRSS {base['rss_kib']} KiB "
                     f"(before any call: {res['fds_before_any_call']} fds, {res['rss_before_any_call_kib']} KiB; "
                     f"{self.warmup_calls} warm-up call(s): {self.ok} ok, {self.failed} failed)")
            self.ok = self.failed = 0
            self.failures.clear()
            with self._lock:
                self.daemon_reports = self.daemon_secure = 0

            # calls, and a sampler thread beside them
            stop = threading.Event()
            t_calls = time.monotonic()
            deadline = t_calls + minutes * 60

            def sampler():
                nxt = time.monotonic() + self.sample_s
                while not stop.wait(max(0.0, nxt - time.monotonic())):
                    nxt += self.sample_s
                    if not self.alive():
                        return
                    try:
                        self._poll_registration(kam)
                        row = self.sample(t0, "calls")
                    except (OSError, KeyError, subprocess.TimeoutExpired):
                        return
                    record(row)
                    self.log(f"  {row['t_s']:7.1f} s  RSS {row['rss_kib']} KiB  HWM {row['hwm_kib']} KiB  "
                             f"fds {row['fds']}  calls {row['calls_ok']} ok / {row['calls_failed']} failed  "
                             f"refreshes {row['reg_refreshes']}")

            th = threading.Thread(target=sampler, daemon=True)
            th.start()
            while time.monotonic() < deadline and self.alive():
                self.call(t0)
            stop.set()
            th.join(timeout=30)
            res["call_phase_s"] = round(time.monotonic() - t_calls, 1)
            res["alive_after_calls"] = self.alive()
            if not self.alive():
                raise RuntimeError(f"the daemon died (exit {self.proc.returncode}) during the calls")
            self._wait_idle()
            self._poll_registration(kam)
            end_deadline = time.monotonic() + self.settle_s
            time.sleep(2)
            while len(os.listdir(f"/proc/{self.pid}/fd")) != base["fds"] and time.monotonic() < end_deadline:
                time.sleep(1)
            end = self.sample(t0, "idle-end")
            record(end)
            res["end"] = end
            res["fd_table_end"] = fd_table(self.pid)
            res["registered_at_end"] = kam.registered("1001")
            st = self.ctl_status()
            res["registered_status_at_end"] = bool(st.get("accounts")) and st["accounts"][0].get("registered")
        finally:
            if csv_f:
                csv_f.close()
            if self.proc is not None:
                if self.proc.poll() is None:
                    self.proc.send_signal(signal.SIGTERM)
                try:
                    res["exit_code"] = self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    res["exit_code"] = self.proc.wait()
                self.dut_err.close()
            kam.stop()
        with self._lock:
            res.update(calls_ok=self.ok, calls_failed=self.failed, failures=list(self.failures),
                       daemon_reports=self.daemon_reports, daemon_secure=self.daemon_secure,
                       reg_refreshes=self.reg_refreshes)
        return res

    def _wait_idle(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.ctl_status()
            if st and not st.get("calls"):
                return
            time.sleep(0.5)
        raise RuntimeError("the daemon still has a call %d s after the last one ended" % timeout)


def slope_kib_per_hour(rows):
    """Least-squares slope of VmRSS over time, KiB per hour (None with fewer than 3 rows)."""
    if len(rows) < 3:
        return None
    xs = [r["t_s"] / 3600 for r in rows]
    ys = [r["rss_kib"] for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else None


def envelope(rows, t_start, window_s=60):
    """Per window of `window_s` seconds: the highest and the lowest VmRSS sampled in it, at the
    window's mean sample time. RSS flips by ~1 MiB between samples taken during a call and between
    calls (media buffers, SRTP contexts); the maxima follow the in-call level without that flip (the
    minima only where a window happens to hold a sample between two calls)."""
    groups = {}
    for r in rows:
        groups.setdefault(int((r["t_s"] - t_start) // window_s), []).append(r)
    hi, lo = [], []
    for k in sorted(groups):
        g = groups[k]
        t = sum(r["t_s"] for r in g) / len(g)
        hi.append({"t_s": t, "rss_kib": max(r["rss_kib"] for r in g)})
        lo.append({"t_s": t, "rss_kib": min(r["rss_kib"] for r in g)})
    return hi, lo


def summarize(res, warmup_s=0, slope_max_kib_h=1024, window_s=60):
    """Figures and verdicts of a run (see bench/soak.py). The RSS verdict is on the slope of the
    per-minute maxima (the in-call level, `envelope`) over the second half of the call phase; the
    slope of the raw samples is given beside it."""
    calls = [r for r in res["samples"] if r["phase"] == "calls"]
    s = {"calls_ok": res.get("calls_ok"), "calls_failed": res.get("calls_failed"),
         "daemon_reports": res.get("daemon_reports"), "daemon_secure": res.get("daemon_secure"),
         "reg_refreshes": res.get("reg_refreshes"), "exit_code": res.get("exit_code"),
         "fds_before_any_call": res.get("fds_before_any_call")}
    base, end = res.get("baseline"), res.get("end")
    s["fds_idle_baseline"] = base["fds"] if base else None
    s["fds_idle_end"] = end["fds"] if end else None
    s["fds_max_in_calls"] = max((r["fds"] for r in calls), default=None)
    s["rss_idle_baseline_kib"] = base["rss_kib"] if base else None
    s["rss_idle_end_kib"] = end["rss_kib"] if end else None
    s["hwm_end_kib"] = end["hwm_kib"] if end else None
    t_start = calls[0]["t_s"] - res["sample_s"] if calls else 0
    after = [r for r in calls if r["t_s"] - t_start >= warmup_s] or calls
    s["rss_first_after_warmup_kib"] = after[0]["rss_kib"] if after else None
    s["rss_first_after_warmup_t_s"] = after[0]["t_s"] if after else None
    s["rss_last_kib"] = calls[-1]["rss_kib"] if calls else None
    s["rss_max_in_calls_kib"] = max((r["rss_kib"] for r in calls), default=None)
    hi, _ = envelope(after, t_start, window_s)
    s["rss_window_s"] = window_s
    s["rss_minute_max_first_kib"] = hi[0]["rss_kib"] if hi else None
    s["rss_minute_max_last_kib"] = hi[-1]["rss_kib"] if hi else None
    t_half = (t_start + calls[-1]["t_s"]) / 2 if calls else 0
    s["rss_slope_second_half_kib_h"] = slope_kib_per_hour([r for r in hi if r["t_s"] >= t_half])
    s["rss_slope_second_half_raw_kib_h"] = slope_kib_per_hour([r for r in calls if r["t_s"] >= t_half])
    s["rss_slope_after_warmup_kib_h"] = slope_kib_per_hour(hi)
    s["fd_diff"] = sorted(set(res.get("fd_table_end", [])) ^ set(res.get("fd_table_baseline", [])))
    s["verdict_fds"] = base is not None and end is not None and end["fds"] == base["fds"]
    sl = s["rss_slope_second_half_kib_h"]
    s["slope_max_kib_h"] = slope_max_kib_h
    s["verdict_rss"] = sl is not None and sl < slope_max_kib_h
    s["verdict_calls"] = bool(res.get("calls_ok")) and res.get("calls_failed") == 0
    s["verdict_alive"] = bool(res.get("alive_after_calls")) and res.get("exit_code") == 0
    return s
