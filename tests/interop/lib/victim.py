"""The phone under attack for the robustness tests (docs/robustness.md), stdlib only.

`Victim` runs `exphone run` as user 1001, registered to a real Kamailio over verified TLS, with
every inbound door open on loopback: its UDP socket (fixed port), a TCP listener and a TLS
listener (device certificate client1001). `allow_peers` is empty, so only the registrar's flow
(and verified mutual-TLS clients) may call it; auto-answer is on for 1002 and 1003 arriving over
the registrar's TLS flow. `call_from(user)` places a secure call to it from another exphone
registered through the same Kamailio. The harness only signals processes it started, by PID.
"""
from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time

from .ports import free_port, wait_port

EXPHONE = os.environ.get("EXPHONE", "exphone")


def vm_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def account(kam, user):
    # retry_base_s = 1: after losing its registrar the phone retries within seconds (test time)
    return (f'[[account]]\nuser = "{user}"\npassword = "secret{user}"\ndomain = "localhost"\n'
            f'registrar = "sips:127.0.0.1:{kam.tls_port}"\nretry_base_s = 1\n')


class Victim:
    def __init__(self, tmp, kam, *, idle_timeout_s=300, half_message_timeout_s=10, max_connections=32):
        self.tmp, self.kam = tmp, kam
        self.udp_port, self.tcp_port, self.tls_port = free_port(), free_port(), free_port()
        self.ctl = os.path.join(tmp, "victim.sock")
        crt, key = kam.cert("client1001")
        self.cfg = os.path.join(tmp, "victim.toml")
        with open(self.cfg, "w") as f:
            f.write(account(kam, "1001") +
                    f'[tls]\nca_files = ["{kam.ca_file}"]\nclient_cert = "{crt}"\nclient_key = "{key}"\n'
                    f'[sip]\nudp_bind = "127.0.0.1"\nudp_port = {self.udp_port}\n'
                    f'tcp_listen = "127.0.0.1:{self.tcp_port}"\ntls_listen = "127.0.0.1:{self.tls_port}"\n'
                    f'idle_timeout_s = {idle_timeout_s}\nhalf_message_timeout_s = {half_message_timeout_s}\n'
                    f'max_connections = {max_connections}\n'
                    f'[phone]\nsrtp = "mandatory"\nauto_answer = true\nauto_answer_from = ["1002", "1003"]\n'
                    f'control_socket = "{self.ctl}"\n')
        self.proc = None
        self.out = self.err = ""

    def __enter__(self):
        # files, not pipes: a pipe nobody reads while the test runs fills up (64 KiB of call-report
        # lines) and blocks the phone's event loop on its next write
        self.errf = open(os.path.join(self.tmp, "victim.err"), "w+")
        self.outf = open(os.path.join(self.tmp, "victim.out"), "w+")
        # Under ASan, freed memory waits in a quarantine (256 MiB by default) before reuse, which
        # would look like growth in VmRSS; a small one keeps RSS meaningful (no effect otherwise).
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16").lstrip(":")
        self.proc = subprocess.Popen([EXPHONE, "run", "--config", self.cfg, "--send-tone", "440",
                                      "--expect-tone", "1000"], stdout=self.outf, stderr=self.errf, text=True,
                                     env=env)
        wait_port(self.tcp_port)
        wait_port(self.tls_port)
        assert self.kam.wait_registered("1001", timeout=20), "the victim did not register"
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and not self.errf.closed:
            for f in (self.outf, self.errf):
                f.seek(0)
            self.out, self.err = self.outf.read(), self.errf.read()
            self.outf.close()
            self.errf.close()
        return self.proc.returncode if self.proc else None

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def status(self, timeout=10):
        """`exphone ctl status --json`; raises when the phone does not answer in time."""
        t0 = time.monotonic()
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl, "--json", "status"], capture_output=True,
                           text=True, timeout=timeout)
        assert p.returncode == 0 and p.stdout.strip(), (p.returncode, p.stderr)
        st = json.loads(p.stdout)
        st["_answered_in_ms"] = int((time.monotonic() - t0) * 1000)
        return st

    def registered(self, st=None):
        st = st or self.status()
        return bool(st.get("accounts")) and all(a.get("registered") for a in st["accounts"])

    def confirmed_calls(self, st=None):
        st = st or self.status()
        return [c for c in st.get("calls", []) if c.get("state") == "confirmed"]

    def reports(self):
        return [json.loads(l.split(" ", 1)[1]) for l in self.out.splitlines() if l.startswith("call-report ")]

    def rss_kib(self):
        return vm_rss_kib(self.pid)

    def fds(self):
        return fd_count(self.pid)


def call_from(tmp, kam, user, duration, target="1001"):
    """Starts `exphone call` as `user` through Kamailio (TLS, SRTP mandatory) to `target`;
    returns the Popen (stdout: the JSON report)."""
    path = os.path.join(tmp, f"caller-{user}.toml")
    with open(path, "w") as f:
        f.write(account(kam, user) + f'[tls]\nca_files = ["{kam.ca_file}"]\n[phone]\nsrtp = "mandatory"\n'
                f'control_socket = "{tmp}/caller-{user}.sock"\n')
    return subprocess.Popen([EXPHONE, "call", "--config", path, target, "--duration", str(duration), "--json",
                             "--expect-tone", "440"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_confirmed(victim, n=1, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(victim.confirmed_calls()) >= n:
            return True
        time.sleep(0.2)
    return False


def finish_call(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    return (json.loads(out) if out.strip() else {}), err


def secure_answered(rep):
    assert rep.get("answered"), rep
    assert rep.get("secure"), rep
    assert rep["media"]["srtp"], rep["media"]


# ---- SIP messages an attacker sends --------------------------------------------------------

def sip_request(method, user, host, port, transport="UDP", *, call_id=None, branch=None, from_user="scanner",
                body="", extra=""):
    call_id = call_id or os.urandom(8).hex()
    branch = branch or "z9hG4bK" + os.urandom(6).hex()
    return (f"{method} sip:{user}@{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} 127.0.0.1:9;branch={branch};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:{from_user}@127.0.0.1>;tag={os.urandom(4).hex()}\r\n"
            f"To: <sip:{user}@{host}>\r\nCall-ID: {call_id}\r\nCSeq: 1 {method}\r\n"
            f"Contact: <sip:{from_user}@127.0.0.1:9>\r\n{extra}"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}")


def udp_ask(port, message, timeout=2.0):
    """Sends one request over UDP; returns the first response (str) or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    try:
        s.sendto(message.encode(), ("127.0.0.1", port))
        data, _ = s.recvfrom(65535)
        return data.decode(errors="replace")
    except socket.timeout:
        return None
    finally:
        s.close()


def insecure_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
