"""exphone register against SIPp acting as a MISBEHAVING registrar on loopback (UDP and TCP).

SIPp (Debian sip-tester) runs one UAS scenario from tests/interop/sipp/reg_*.xml per case; the
scenarios fail the SIPp call (exit code != 0) when exphone sends something unexpected (ereg
check_it on every REGISTER, and a trailing "no further REGISTER within 1 s" step). Besides SIPp's
verdict the test parses SIPp's -message_file (every message SIPp received or sent, with a
microsecond timestamp) to count REGISTERs per transaction and to time the retransmissions.

Cases: lost responses (Timer E doubling, capped at T2), 423 Interval Too Brief, 401 stale=true,
wrong password (exactly one authenticated attempt), no answer at all (Timer F timeout), and the
stale case over TCP (no retransmissions on a reliable transport).
"""
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lib.kamailio import _set_pdeathsig
from lib.ports import free_port, port_is_free
from lib.runner import Runner

EXPHONE = os.environ.get("EXPHONE", str(Path(__file__).resolve().parents[2] / "build-dev" / "exphone"))
HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "sipp"
HOST = "127.0.0.1"
USER, PASSWORD = "1001", "secret1001"


# ----------------------------------------------------------------------------------------------
# SIPp as a registrar
# ----------------------------------------------------------------------------------------------

class Message:
    """One entry of SIPp's -message_file."""

    def __init__(self, ts, direction, transport, text):
        self.ts = ts                # seconds (wall clock of the SIPp host, microsecond resolution)
        self.direction = direction  # "received" | "sent"
        self.transport = transport  # "UDP" | "TCP"
        self.text = text
        self.first_line = text.split("\n", 1)[0].strip()

    @property
    def is_register(self):
        return self.first_line.startswith("REGISTER ")

    def header(self, name):
        """Value of the first header `name` (case-insensitive, no compact forms), or None."""
        for line in self.text.split("\n")[1:]:
            line = line.rstrip("\r")
            if not line:
                break
            k, sep, v = line.partition(":")
            if sep and k.strip().lower() == name.lower():
                return v.strip()
        return None

    @property
    def branch(self):
        m = re.search(r";branch=([^;,\s]+)", self.header("Via") or "")
        return m.group(1) if m else None

    @property
    def cseq(self):
        return int((self.header("CSeq") or "0").split()[0])

    def __repr__(self):
        return f"<{self.direction} {self.transport} {self.first_line!r} CSeq={self.header('CSeq')!r}>"


_ENTRY = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$", re.M)
_KIND = re.compile(r"^(UDP|TCP|TLS|SCTP) message (received|sent)")


def parse_message_log(text):
    out = []
    heads = list(_ENTRY.finditer(text))
    for i, h in enumerate(heads):
        body = text[h.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)].lstrip("\n")
        kind_line, _, msg = body.partition("\n")
        k = _KIND.match(kind_line)
        if not k:
            continue
        ts = datetime.datetime.strptime(h.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        out.append(Message(ts, k.group(2), k.group(1), msg.lstrip("\r\n")))
    return out


class Sipp:
    """One SIPp UAS process (one call, -m 1) in its own temp dir; stopped by PID."""

    def __init__(self, workdir, scenario, transport="u1", pause_ms=0, global_timeout_s=40, host=HOST):
        self.dir = Path(tempfile.mkdtemp(prefix="sipp-", dir=workdir))
        self.scenario = SCENARIOS / scenario
        self.transport = transport
        self.host = host
        self.port = free_port(host)
        self.message_file = self.dir / "messages.log"
        self.error_file = self.dir / "errors.log"
        self.screen_file = self.dir / "sipp.out"
        self.args = ["sipp", "-sf", str(self.scenario), "-i", host, "-p", str(self.port), "-t", transport,
                     "-m", "1", "-d", str(pause_ms), "-nostdin", "-trace_msg", "-message_file",
                     str(self.message_file), "-trace_err", "-error_file", str(self.error_file),
                     "-timeout", f"{global_timeout_s}s", "-timeout_error"]
        if not transport.startswith("u"):
            # exphone closes its TCP connection when it exits (right after the final response);
            # by default SIPp then fails the call (E_FAILED_TCP_CLOSED) before the scenario's
            # "no further REGISTER" step is over
            self.args += ["-reconnect_close", "false"]
        self.proc = None
        self.rc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=10.0, attempts=3):
        for attempt in range(attempts):
            if attempt:  # the port was taken between free_port() and SIPp's bind: try another
                self.port = free_port(self.host)
                self.args[self.args.index("-p") + 1] = str(self.port)
            self._out = open(self.screen_file, "w")
            self.proc = subprocess.Popen(self.args, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=self._out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_set_pdeathsig)
            # poll until SIPp holds its port (UDP socket bound / TCP listening)
            udp = self.transport.startswith("u")
            deadline = time.monotonic() + timeout
            while port_is_free(self.port, self.host, udp=udp, tcp=not udp):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            else:
                return
            self.stop()
            if attempt == attempts - 1:
                raise AssertionError(f"sipp did not start on {self.host}:{self.port} (exit {self.proc.returncode}): "
                                     f"{self.screen()[-2000:]}")

    def wait(self, timeout):
        """Wait for SIPp to finish its scenario; its exit code (0 = the call succeeded)."""
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"sipp still running after {timeout} s: {self.diagnostics()}")
        return self.rc

    def stop(self):
        p = self.proc
        if p is not None and p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
            except ProcessLookupError:
                pass
        if getattr(self, "_out", None):
            self._out.close()
            self._out = None

    def screen(self):
        try:
            return self.screen_file.read_text(errors="replace")
        except OSError:
            return ""

    def errors(self):
        try:
            return self.error_file.read_text(errors="replace")
        except OSError:
            return ""

    def messages(self):
        try:
            return parse_message_log(self.message_file.read_text(errors="replace"))
        except OSError:
            return []

    def diagnostics(self):
        stats = re.findall(r"Messages  Retrans.*?(?=\n-{5,})", self.screen(), re.S)
        return (f"\n--- sipp rc={self.rc} errors:\n{self.errors().strip()[-1500:]}"
                f"\n--- sipp scenario stats:\n{stats[-1] if stats else self.screen()[-1500:]}"
                f"\n--- messages: {self.messages()}")

    def expect_success(self, timeout=20):
        rc = self.wait(timeout)
        assert rc == 0, f"the SIPp scenario failed (exit {rc}): {self.diagnostics()}"


# ----------------------------------------------------------------------------------------------
# exphone
# ----------------------------------------------------------------------------------------------

def write_config(workdir, name, port, transport, password=PASSWORD, sip=None, account=None, host=HOST):
    uri_host = f"[{host}]" if ":" in host else host
    lines = ["[[account]]", f'user = "{USER}"', f'password = "{password}"', 'domain = "localhost"',
             f'registrar = "sip:{uri_host}:{port};transport={transport}"']
    for k, v in (account or {}).items():
        lines.append(f"{k} = {json.dumps(v)}")
    if sip:
        lines.append("[sip]")
        for k, v in sip.items():
            lines.append(f"{k} = {json.dumps(v)}")
    path = Path(workdir) / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def register(config, *extra, timeout_s=20):
    """exphone register --keep --json; (exit code, report, stderr, wall seconds)."""
    cmd = [EXPHONE, "register", "--config", config, "--json", "--keep", "--timeout", str(timeout_s), *extra]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s + 20)
    wall = time.monotonic() - t0
    try:
        report = json.loads(p.stdout) if p.stdout.strip() else {}
    except json.JSONDecodeError:
        raise AssertionError(f"stdout is not JSON: {p.stdout!r} stderr={p.stderr!r}")
    return p.returncode, report, p.stderr, wall


def expect_registered(rc, rep, err, transport, expires):
    assert rc == 0, f"exit {rc}: {err} {rep}"
    assert rep.get("registered") is True, rep
    acc = rep["accounts"][0]
    assert acc["registered"] is True and acc["state"] == "registered", acc
    assert acc["transport"] == transport, acc
    assert acc["expires"] == expires, f"expected expires {expires} (granted in the 200 OK), got {acc}"
    assert acc["last_status"] == 200 and acc["registrations"] == 1, acc
    assert "error" not in acc and "error" not in rep, rep
    return acc


def expect_error(rc, rep, err, code):
    assert rc != 0, f"expected failure {code}, got exit 0: {rep}"
    assert f"error: {code}:" in err, f"expected {code}, stderr={err!r}"
    assert rep.get("registered") is False, rep
    assert rep.get("error", {}).get("code") == code, rep
    acc = rep["accounts"][0]
    assert acc["registered"] is False, acc
    assert acc.get("error", {}).get("code") == code, acc
    return acc


# ----------------------------------------------------------------------------------------------
# helpers on the SIPp message log
# ----------------------------------------------------------------------------------------------

def registers(msgs):
    return [m for m in msgs if m.direction == "received" and m.is_register]


def by_cseq(regs):
    out = {}
    for m in regs:
        out.setdefault(m.cseq, []).append(m)
    return out


def one_per_cseq(regs, expected_cseqs, what):
    groups = by_cseq(regs)
    counts = {c: len(v) for c, v in groups.items()}
    assert sorted(counts) == list(expected_cseqs), f"{what}: REGISTER CSeqs {counts}, expected {list(expected_cseqs)}"
    assert all(n == 1 for n in counts.values()), f"{what}: retransmitted REGISTERs (copies per CSeq) {counts}"
    call_ids = {m.header("Call-ID") for m in regs}
    assert len(call_ids) == 1, f"{what}: Call-ID changed between REGISTERs {call_ids}"
    branches = [m.branch for m in regs]
    assert len(set(branches)) == len(branches), f"{what}: a new transaction reused a branch {branches}"
    return [groups[c][0] for c in expected_cseqs]


def same_transaction(copies):
    first = copies[0]
    for m in copies[1:]:
        assert m.branch == first.branch, f"retransmission with another branch: {first.branch} vs {m.branch}"
        assert m.header("CSeq") == first.header("CSeq"), f"CSeq changed: {first.header('CSeq')} vs {m.header('CSeq')}"
        assert m.header("Call-ID") == first.header("Call-ID"), "Call-ID changed in a retransmission"
        assert m.text == first.text, "a retransmission differs from the original request"


def expected_timer_e(t1_ms, t2_ms, n):
    """The first n Timer E intervals of a non-INVITE client transaction in Trying (17.1.2.2)."""
    out, v = [], t1_ms
    for _ in range(n):
        out.append(v)
        v = min(2 * v, t2_ms)
    return out


def tolerance(expected_ms):
    # +-30 % or +-100 ms, whichever is larger (loaded 2-core CI boxes, sanitizer builds)
    return max(0.30 * expected_ms, 100.0)


def check_intervals(copies, t1_ms, t2_ms):
    got = [round((b.ts - a.ts) * 1000.0, 1) for a, b in zip(copies, copies[1:])]
    want = expected_timer_e(t1_ms, t2_ms, len(got))
    print(f"  retransmission intervals (ms): measured {got}, expected {want} (T1={t1_ms}, T2={t2_ms})", flush=True)
    for i, (g, w) in enumerate(zip(got, want)):
        assert abs(g - w) <= tolerance(w), f"interval {i + 1}: {g} ms, expected {w} +- {tolerance(w):.0f} ms (all: {got})"
    return got


def digest_response(auth_value, password, method="REGISTER"):
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', auth_value))
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
    ha1 = md5(f"{p['username']}:{p['realm']}:{password}")
    ha2 = md5(f"{method}:{p['uri']}")
    return p, md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}")


# ----------------------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------------------

def case_lost_responses(tmp, t1_ms, t2_ms, pause_ms, copies_expected):
    """SIPp swallows the REGISTER and its retransmissions for pause_ms, then answers 200 OK."""
    def run():
        with Sipp(tmp, "reg_lost_responses.xml", pause_ms=pause_ms) as sipp:
            cfg = write_config(tmp, f"lost-{t2_ms}", sipp.port, "udp", sip={"t1_ms": t1_ms, "t2_ms": t2_ms})
            rc, rep, err, _ = register(cfg)
            sipp.expect_success()
            acc = expect_registered(rc, rep, err, "udp", 300)
            msgs = sipp.messages()
            regs = registers(msgs)
            ok = [m for m in msgs if m.direction == "sent" and m.first_line.startswith("SIP/2.0 200")]
            assert len(ok) == 1, f"SIPp sent {len(ok)} 200 OKs (a retransmission after the 200 makes SIPp resend it): {msgs}"
            before = [m for m in regs if m.ts <= ok[0].ts]
            after = [m for m in regs if m.ts > ok[0].ts]
            assert not after, f"REGISTER after the 200 OK: {after}"
            same_transaction(before)
            assert before[0].cseq == 1, before
            assert len(before) == copies_expected, \
                f"{len(before)} copies before the answer at {pause_ms} ms, expected {copies_expected}: " \
                f"{[round((m.ts - before[0].ts) * 1000) for m in before]}"
            check_intervals(before, t1_ms, t2_ms)
            assert acc["elapsed_ms"] >= pause_ms, acc
    return run


def case_423(tmp):
    def run():
        with Sipp(tmp, "reg_423.xml") as sipp:
            cfg = write_config(tmp, "423", sipp.port, "udp", account={"expires": 600})
            rc, rep, err, _ = register(cfg)
            sipp.expect_success()  # the ereg checks: retry has Expires: 1800 and ;expires=1800
            expect_registered(rc, rep, err, "udp", 1800)
            first, retry = one_per_cseq(registers(sipp.messages()), [1, 2], "423")
            assert first.header("Expires") == "600" and retry.header("Expires") == "1800", (first, retry)
            assert retry.header("Contact").endswith(";expires=1800"), retry.header("Contact")
    return run


def case_ipv6(tmp):
    def run():
        with Sipp(tmp, "reg_423.xml", host="::1") as sipp:
            cfg = write_config(tmp, "v6", sipp.port, "udp", account={"expires": 600}, host="::1")
            rc, rep, err, _ = register(cfg)
            sipp.expect_success()
            expect_registered(rc, rep, err, "udp", 1800)
            assert rep["accounts"][0]["registrar"] == f"[::1]:{sipp.port}", rep
    return run


def case_stale(tmp, transport):
    def run():
        sipp_t = "u1" if transport == "udp" else "t1"
        # over TCP every answer is delayed 1 s (5 x T1): an unreliable-transport client would retransmit
        pause = 0 if transport == "udp" else 1000
        t1 = 200
        with Sipp(tmp, "reg_stale_nonce.xml", transport=sipp_t, pause_ms=pause) as sipp:
            cfg = write_config(tmp, f"stale-{transport}", sipp.port, transport, sip={"t1_ms": t1})
            rc, rep, err, _ = register(cfg)
            sipp.expect_success()  # ereg checks: nonce A on CSeq 2, nonce B on CSeq 3, nc=00000001
            expect_registered(rc, rep, err, transport, 3600)
            msgs = sipp.messages()
            assert all(m.transport == transport.upper() for m in msgs), {m.transport for m in msgs}
            r1, r2, r3 = one_per_cseq(registers(msgs), [1, 2, 3], f"stale over {transport}")
            assert r1.header("Authorization") is None, r1.header("Authorization")
            for r, nonce in ((r2, "a1b2c3d4e5f6-first-nonce-A"), (r3, "f6e5d4c3b2a1-second-nonce-B")):
                assert r.header("Via").startswith(f"SIP/2.0/{transport.upper()} "), r.header("Via")
                p, want = digest_response(r.header("Authorization"), PASSWORD)
                assert p["nonce"] == nonce, p
                assert p["response"] == want, f"wrong digest response for nonce {nonce}: {p}"
                assert p.get("algorithm", "MD5").upper() == "MD5" and p["qop"] == "auth", p
            p2, _ = digest_response(r2.header("Authorization"), PASSWORD)
            p3, _ = digest_response(r3.header("Authorization"), PASSWORD)
            assert p3["cnonce"] != p2["cnonce"], "cnonce reused for the new nonce"
            if transport == "tcp":
                assert ";transport=tcp" in r1.header("Contact"), r1.header("Contact")
                gaps = [round(b.ts - a.ts, 2) for a, b in zip((r1, r2), (r2, r3))]
                assert all(g >= pause / 1000.0 for g in gaps), gaps
    return run


def case_wrong_password(tmp):
    def run():
        with Sipp(tmp, "reg_wrong_password.xml") as sipp:
            cfg = write_config(tmp, "wrongpw", sipp.port, "udp", password="wrong")
            rc, rep, err, _ = register(cfg)
            sipp.expect_success()  # fails if a third REGISTER arrives within 1 s
            acc = expect_error(rc, rep, err, "auth-failed")
            assert acc["last_status"] == 401, acc
            regs = registers(sipp.messages())
            assert len(regs) == 2, f"expected 2 REGISTERs (one authenticated attempt), SIPp got {len(regs)}: {regs}"
            r1, r2 = one_per_cseq(regs, [1, 2], "wrong password")
            assert r1.header("Authorization") is None and r2.header("Authorization") is not None
    return run


def case_timeout(tmp):
    def run():
        t1, t2 = 100, 4000
        timer_f = 64 * t1 / 1000.0
        with Sipp(tmp, "reg_no_answer.xml", pause_ms=int(timer_f * 1000) + 1000) as sipp:
            cfg = write_config(tmp, "timeout", sipp.port, "udp", sip={"t1_ms": t1, "t2_ms": t2})
            rc, rep, err, wall = register(cfg, timeout_s=30)
            print(f"  exphone gave up after {wall:.2f} s (Timer F = {timer_f} s)", flush=True)
            acc = expect_error(rc, rep, err, "timeout")
            assert "no final response" in acc["error"]["message"], acc  # Timer F, not the --timeout guard
            assert wall <= 8.0, f"took {wall:.2f} s, expected about {timer_f} s"
            assert timer_f * 1000 - 50 <= acc["elapsed_ms"] <= 8000, acc
            sipp.expect_success()
            regs = registers(sipp.messages())
            same_transaction(regs)
            # copies at 0, .1, .3, .7, 1.5, 3.1, 6.3 s; the last races Timer F (6.4 s)
            assert 6 <= len(regs) <= 7, f"{len(regs)} copies: {[round((m.ts - regs[0].ts) * 1000) for m in regs]}"
            check_intervals(regs, t1, t2)
    return run


def main():
    if not shutil.which("sipp"):
        print("FAIL: sipp (Debian package sip-tester) is not installed")
        sys.exit(1)
    r = Runner("register vs misbehaving SIPp registrar")
    tmp = tempfile.mkdtemp(prefix="exphone-sipp-")
    try:
        r.check("UDP lost responses: Timer E retransmits at T1, 2T1, 4T1 in one transaction, then registered",
                case_lost_responses(tmp, t1_ms=200, t2_ms=4000, pause_ms=2000, copies_expected=4))
        r.check("UDP lost responses: Timer E interval capped at T2",
                case_lost_responses(tmp, t1_ms=200, t2_ms=400, pause_ms=1600, copies_expected=5))
        r.check("423 Interval Too Brief: retry asks for Min-Expires 1800, registered for 1800 s", case_423(tmp))
        r.check("401 stale=true: answers the new nonce B, registered (UDP)", case_stale(tmp, "udp"))
        r.check("wrong password: auth-failed after exactly one authenticated REGISTER", case_wrong_password(tmp))
        r.check("no answer: timeout after Timer F = 64*T1 (T1 = 100 ms)", case_timeout(tmp))
        r.check("401 stale=true over TCP: no retransmissions on a reliable transport", case_stale(tmp, "tcp"))
        r.check("REGISTER over UDP/IPv6 (::1) to SIPp, 423 handled", case_ipv6(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
