"""Faults around a secure call (issue 11), two `exphone run` phones registered to Kamailio over
TLS with SRTP mandatory:

1. The PBX killed mid-call (SIGKILL to Kamailio's process group): the established call goes on
   (media is peer to peer, SRTP keeps flowing and is heard); both phones see their TLS flow die and
   register again once Kamailio is back on the same ports; the call is then hung up (when the BYE
   cannot reach the callee through the restarted PBX, the callee ends the dead call itself after
   [phone] media_timeout_s) and both phones place a new secure call through the restarted PBX.
2. The PBX dies mid-TLS-handshake: a listener on the registrar's port accepts the phone's
   connection, reads its ClientHello and closes (what a crashing PBX does); the phone reports a
   TLS handshake failure, keeps retrying, and registers once Kamailio is back.
Neither phone crashes, both exit 0 on SIGTERM, and no sanitizer reports anything.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from lib.kamailio import Kamailio
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


def account(kam, user, ctl, extra=""):
    return (f'[[account]]\nuser = "{user}"\npassword = "secret{user}"\ndomain = "localhost"\n'
            f'registrar = "sips:127.0.0.1:{kam.tls_port}"\nretry_base_s = 1\nretry_max_s = 2\n'
            f'[tls]\nca_files = ["{kam.ca_file}"]\n[sip]\nkeepalive_interval_s = 2\n'
            f'[phone]\nsrtp = "mandatory"\nmedia_timeout_s = 5\ncontrol_socket = "{ctl}"\n{extra}')


class Phone:
    def __init__(self, tmp, name, body, send_tone):
        self.ctl = os.path.join(tmp, name + ".sock")
        self.path = os.path.join(tmp, name + ".toml")
        with open(self.path, "w") as f:
            f.write(body(self.ctl))
        self.proc = subprocess.Popen([EXPHONE, "run", "--config", self.path, "--send-tone", send_tone,
                                      "--expect-tone", "1000" if send_tone == "440" else "440"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def ctl_json(self, *words):
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl, "--json", *words], capture_output=True, text=True,
                           timeout=20)
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def wait(self, pred, timeout=30, what=""):
        deadline, st = time.time() + timeout, None
        while time.time() < deadline:
            assert self.proc.poll() is None, f"exphone exited {self.proc.returncode}:\n" + "\n".join(self.lines[-40:])
            st = self.ctl_json("status")
            if st and pred(st):
                return st
            time.sleep(0.2)
        raise AssertionError(f"{what}: not reached in {timeout} s; last status {json.dumps(st)[:1500]}\n"
                             + "\n".join(self.lines[-30:]))

    def registered(self, st):
        return bool(st.get("accounts")) and st["accounts"][0]["registered"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def reports(self):
        return [json.loads(l.split(" ", 1)[1]) for l in self.lines if l.startswith("call-report ")]


def confirmed_call(st):
    calls = [c for c in st.get("calls", []) if c["state"] == "confirmed"]
    return calls[0] if calls else None


def main():
    r = Runner("faults: PBX killed mid-call and mid-handshake")
    tmp = tempfile.mkdtemp(prefix="exphone-faults-")
    a = b = None
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            a = Phone(tmp, "p1001", lambda ctl: account(kam, "1001", ctl,
                                                        'auto_answer = true\nauto_answer_from = ["1002"]\n'), "440")
            b = Phone(tmp, "p1002", lambda ctl: account(kam, "1002", ctl), "1000")

            def killed_mid_call():
                a.wait(a.registered, what="1001 registered")
                b.wait(b.registered, what="1002 registered")
                d = b.ctl_json("dial", "1001")
                assert d.get("ok"), d
                call = confirmed_call(b.wait(lambda s: confirmed_call(s) and confirmed_call(s)["secure"], what="call up"))
                a.wait(confirmed_call, what="callee confirmed")
                os.killpg(kam.pid, signal.SIGKILL)  # the PBX dies, every TLS flow with it
                kam.proc.wait(timeout=10)
                t_kill = time.time()
                before = confirmed_call(b.ctl_json("status"))["media"]["packets_received"]
                time.sleep(3)
                st = b.ctl_json("status")
                c = confirmed_call(st)
                assert c and c["call_id"] == call["call_id"], f"the call did not survive the PBX: {st}"
                after = c["media"]["packets_received"]
                assert after - before >= 100, f"media stopped without the PBX: {before} -> {after}"
                assert c["media"]["srtp"] and c["media"]["srtp_auth_failures"] == 0, c["media"]
                print(f"  3 s without a PBX: {after - before} SRTP packets received, call confirmed")
                b.wait(lambda s: not b.registered(s), timeout=15, what="1002 notices the dead flow")
                kam.stop()
                kam.start()  # same ports, empty location table
                for p in (a, b):
                    p.wait(p.registered, timeout=30, what="re-registered after the PBX came back")
                print(f"  both re-registered {time.time() - t_kill:.1f} s after the kill")
                assert kam.wait_registered("1001", 5) and kam.wait_registered("1002", 5)
                h = b.ctl_json("hangup")
                assert h.get("ok"), h
                b.wait(lambda s: not s["calls"], timeout=15, what="caller idle after hangup")
                t_bye = time.time()
                # The caller's BYE dies at the restarted PBX (the callee's old TLS flow is gone);
                # the callee hears nothing more and hangs up by media_timeout_s.
                a.wait(lambda s: not s["calls"], timeout=30, what="callee idle after the caller hung up")
                print(f"  callee idle {time.time() - t_bye:.1f} s after the caller hung up")
                rep = [x for x in b.reports() if x["call_id"] == call["call_id"]][0]
                assert rep["secure"] and rep["media"]["heard_tone_ratio"] > 0.6, rep
                crep = [x for x in a.reports() if x["call_id"] == call["call_id"]][0]
                assert crep["ended_by"] in ("remote", "media-timeout"), crep
                if crep["ended_by"] == "media-timeout":
                    assert crep["error"]["code"] == "media-timeout", crep
                print("  callee's call ended by", crep["ended_by"])
                d = b.ctl_json("dial", "1001")
                assert d.get("ok"), d
                st = b.wait(lambda s: confirmed_call(s) and confirmed_call(s)["secure"], what="a new call after restart")
                time.sleep(1.5)
                b.ctl_json("hangup")
                b.wait(lambda s: not s["calls"], timeout=15, what="idle")
            r.check("PBX SIGKILLed mid-call: the call and its SRTP go on, both phones re-register when it is back, "
                    "hang up works and a new secure call goes through", killed_mid_call)

            def killed_mid_handshake():
                kam.stop()
                lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                lst.bind(("127.0.0.1", kam.tls_port))
                lst.listen(8)
                lst.settimeout(30)
                hellos = 0
                deadline = time.time() + 30
                try:
                    while hellos < 2 and time.time() < deadline:  # both phones, at least once
                        conn, _ = lst.accept()
                        conn.settimeout(5)
                        try:
                            data = conn.recv(4096)
                            if data[:1] == b"\x16":  # a TLS handshake record: the ClientHello
                                hellos += 1
                        except socket.timeout:
                            pass
                        conn.close()  # the PBX dies mid-handshake
                finally:
                    lst.close()
                assert hellos >= 2, f"{hellos} ClientHellos seen"
                st = b.wait(lambda s: not b.registered(s) and (s["accounts"][0].get("error") or {}).get("code", "")
                            .startswith(("tls-", "transport-")), timeout=20, what="handshake failure reported")
                print("  reported:", st["accounts"][0]["error"])
                kam.start()
                for p in (a, b):
                    p.wait(p.registered, timeout=30, what="registered once the PBX is back")
            r.check("PBX dies mid-TLS-handshake: the failure is reported, the phones retry and register when it is back",
                    killed_mid_handshake)

            def clean_exit():
                for p in (a, b):
                    rc = p.stop()
                    assert rc == 0, f"exit {rc}:\n" + "\n".join(p.lines[-30:])
                    assert not any("Sanitizer" in l or "runtime error" in l for l in p.lines), "\n".join(p.lines[-40:])
            r.check("both phones exit 0 on SIGTERM, no sanitizer report", clean_exit)
    finally:
        for p in (a, b):
            if p and p.proc.poll() is None:
                p.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
