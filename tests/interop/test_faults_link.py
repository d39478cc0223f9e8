"""Network faults on a secure call (issue 11), in network namespaces with the user-space delay line
of bench/lab (this kernel has no netem): the caller (10.200.1.2) sits behind the delay line, the
PBX (Kamailio, 10.200.0.1) and the callee (10.200.2.2) behind it. Both phones register over TLS
and call each other with SDES-SRTP; the media goes caller <-> callee through the line.

1. Loss and jitter (5 % loss each way, 50 ms one-way, +-20 ms jitter) for 8 s: the call goes on,
   most packets arrive, the loss shows in the counters, nothing fails authentication.
2. The link cut (100 % loss) for 25 s: no media crosses (checked), the caller's TLS flow is found
   dead by its keepalive and the account reported unregistered; when the link is back the caller
   registers again by itself, the call (never torn down: media_timeout_s is 60 here) carries media
   again, and it can be hung up. Both phones exit 0 on SIGTERM with no sanitizer report.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import lib.certs as certs_mod
from lib.netlab import PBX, TLS_PORT, Lab, LabKamailio
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


def config(tmp, user, ca, ctl, extra=""):
    path = os.path.join(tmp, f"{user}.toml")
    with open(path, "w") as f:
        f.write(f'[[account]]\nuser = "{user}"\npassword = "secret{user}"\ndomain = "localhost"\n'
                f'registrar = "sips:{PBX}:{TLS_PORT}"\nstartup_jitter_ms = 0\nretry_base_s = 1\nretry_max_s = 2\n'
                f'[tls]\nca_files = ["{ca}"]\n[sip]\nkeepalive_interval_s = 5\n'
                f'[phone]\nsrtp = "mandatory"\nkey_exchange = "sdes"\nmedia_timeout_s = 60\n'
                f'control_socket = "{ctl}"\n{extra}')
    return path


class Phone:
    def __init__(self, lab, host, cfg, ctl, tone):
        self.ctl = ctl
        self.proc = subprocess.Popen(lab.cmd(host, [EXPHONE, "run", "--config", cfg, "--send-tone", tone,
                                                    "--expect-tone", "1000" if tone == "440" else "440"]),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        threading.Thread(target=lambda: [self.lines.append(l.rstrip()) for l in self.proc.stdout], daemon=True).start()

    def status(self):
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl, "--json", "status"], capture_output=True, text=True,
                           timeout=20)
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def call(self):
        calls = [c for c in self.status().get("calls", []) if c["state"] == "confirmed"]
        return calls[0] if calls else None

    def registered(self):
        a = self.status().get("accounts") or [{}]
        return bool(a[0].get("registered"))

    def wait(self, pred, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.proc.poll() is None, f"exphone exited {self.proc.returncode}:\n" + "\n".join(self.lines[-30:])
            if pred():
                return True
            time.sleep(0.25)
        raise AssertionError(f"{what}: not within {timeout} s\n" + "\n".join(self.lines[-30:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def main():
    if os.geteuid() != 0:
        raise AssertionError("needs root (network namespaces)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # ctest timeout: still clean up below
    r = Runner("network faults: loss, jitter and a cut link during a secure call")
    tmp = tempfile.mkdtemp(prefix="exphone-linkfault-")
    os.chmod(tmp, 0o755)
    certs_mod.SERVER_SAN = certs_mod.SERVER_SAN + f",IP:{PBX}"  # the lab PBX's address in its cert
    lab = Lab(tmp, prefix=f"lf{os.getpid()}-")
    kam = caller = callee = None
    try:
        lab.up(10)
        lab.enter("pbx")
        kam = LabKamailio(os.path.join(tmp, "kam"))
        kam.start()
        callee = Phone(lab, "callee", config(tmp, "1002", kam.ca_file, f"{tmp}/callee.sock",
                                              'auto_answer = true\nauto_answer_from = ["1001"]\n'),
                       f"{tmp}/callee.sock", "440")
        caller = Phone(lab, "caller", config(tmp, "1001", kam.ca_file, f"{tmp}/caller.sock"),
                       f"{tmp}/caller.sock", "1000")
        assert kam.wait_registered("1002", 30) and kam.wait_registered("1001", 30), "phones did not register"
        d = subprocess.run([EXPHONE, "ctl", "--socket", caller.ctl, "--json", "dial", "1002"], capture_output=True,
                           text=True, timeout=20)
        assert json.loads(d.stdout).get("ok"), d.stdout + d.stderr
        caller.wait(lambda: (caller.call() or {}).get("secure"), 20, "secure call up")
        call_id = caller.call()["call_id"]

        def loss_and_jitter():
            before = callee.call()["media"]
            lab.set_link(50, loss=5, jitter=20)
            time.sleep(8)
            after = callee.call()["media"]
            lab.set_link(10)
            got = after["packets_received"] - before["packets_received"]
            lost = after["packets_lost"] - before["packets_lost"]
            jb = after.get("jitter_buffer", {})
            print(f"  8 s at 5 % loss, 50+-20 ms: {got} packets received, {lost} lost, jitter {after['jitter_ms']} ms, "
                  f"concealed {jb.get('concealed_frames')}")
            assert got >= 300, after  # 400 sent; 5 % lost
            assert lost > 0 or jb.get("concealed_frames", 0) > 0, f"the loss does not show: {after}"
            assert after["srtp_auth_failures"] == 0, after
        r.check("5 % loss and 20 ms jitter for 8 s: the call goes on, the loss is counted, nothing fails SRTP",
                loss_and_jitter)

        def cut_link():
            lab.set_link(10, loss=100)  # the link is cut: every packet dropped
            t_cut = time.time()
            time.sleep(2)
            m0 = caller.call()["media"]["packets_received"]
            time.sleep(3)
            m1 = caller.call()["media"]["packets_received"]
            assert m1 == m0, f"media crossed a cut link: {m0} -> {m1}"
            caller.wait(lambda: not caller.registered(), 30, "the dead TLS flow is noticed (keepalive)")
            print(f"  caller unregistered {time.time() - t_cut:.1f} s after the cut")
            while time.time() - t_cut < 25:
                time.sleep(0.5)
            lab.set_link(10)  # the link is back
            t_back = time.time()
            caller.wait(caller.registered, 40, "re-registered after the link came back")
            print(f"  caller registered again {time.time() - t_back:.1f} s after the link came back")
            c = caller.call()
            assert c and c["call_id"] == call_id, f"the call did not survive the cut: {c}"
            m2 = c["media"]["packets_received"]
            time.sleep(3)
            m3 = caller.call()["media"]["packets_received"]
            assert m3 - m2 >= 100, f"media did not resume: {m2} -> {m3}"
            h = subprocess.run([EXPHONE, "ctl", "--socket", caller.ctl, "--json", "hangup"], capture_output=True,
                               text=True, timeout=20)
            assert json.loads(h.stdout).get("ok"), h.stdout
            caller.wait(lambda: not caller.status().get("calls"), 20, "caller idle")
            callee.wait(lambda: not callee.status().get("calls"), 20, "callee idle (the BYE got through)")
        r.check("the link cut for 25 s: no media crosses, the flow is found dead, the caller re-registers when "
                "the link is back, the call carries media again and hangs up cleanly", cut_link)

        def clean_exit():
            for p in (caller, callee):
                rc = p.stop()
                assert rc == 0, f"exit {rc}:\n" + "\n".join(p.lines[-30:])
                assert not any("Sanitizer" in l or "runtime error" in l for l in p.lines), "\n".join(p.lines[-40:])
        r.check("both phones exit 0 on SIGTERM, no sanitizer report", clean_exit)
    finally:
        for p in (caller, callee):
            if p and p.proc.poll() is None:
                p.proc.kill()
        if kam is not None:
            kam.close()
        lab.down()
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
