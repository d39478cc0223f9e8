"""Registrar failover (docs/resilience.md) with two Kamailio instances over TLS.

The phone (`exphone run`, user 1001) has registrar = primary and backup_registrars = [secondary];
a dispatcher (`exphone run`, user 1002, auto-answer for 1001) is registered with the secondary.
  1. The phone registers with the primary.
  2. The primary is stopped: the phone registers with the secondary within FAILOVER_BOUND_S,
     and an emergency call (`exphone ctl press emergency`, [emergency] targets = ["1002"])
     through the secondary is answered within CALL_BOUND_S.
  3. The primary starts again (same ports): the OPTIONS probe finds it, the phone registers there
     again (the primary's usrloc has the binding) and removes its binding from the secondary.
  4. Start-up spreading: N daemons started in the same instant with startup_jitter_ms = 3000
     against a UDP socket of this test; the arrival time of each one's first REGISTER is
     measured from its own spawn. What is asserted is only what the measurement can carry on a
     loaded machine: the arrivals spread over more than a second and are not all in one 250 ms
     slot (process start-up noise under the sanitizers is part of the numbers).
Every process is started here and stopped by PID; traffic stays on 127.0.0.1.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

from lib.kamailio import Kamailio
from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]
FAILOVER_BOUND_S = 10.0
CALL_BOUND_S = 15.0
FAILBACK_INTERVAL_S = 2


class Daemon:
    def __init__(self, tmp, name, body):
        self.ctl = os.path.join(tmp, name + ".sock")
        self.path = os.path.join(tmp, name + ".toml")
        body = body.replace("[phone]\n", f'[phone]\ncontrol_socket = "{self.ctl}"\n', 1)
        with open(self.path, "w") as f:
            f.write(body)
        self.out = self.err = ""

    def start(self):
        self.spawned = time.monotonic()
        self.proc = subprocess.Popen([EXPHONE, "run", "--config", self.path], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        return self

    def wait_socket(self, timeout=15):
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.ctl) and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        assert os.path.exists(self.ctl), "daemon did not start: " + self.stop_and_read()[1][-1500:]
        return self

    def __enter__(self):
        return self.start().wait_socket()

    def __exit__(self, *exc):
        self.stop_and_read()
        return False

    def stop_and_read(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.out, self.err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.out, self.err = self.proc.communicate()
        return self.out, self.err

    def ctl_(self, *words):
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl, "--json", *words], capture_output=True, text=True,
                           timeout=20)
        return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {})

    def wait(self, pred, timeout=20):
        deadline = time.monotonic() + timeout
        st = {}
        while time.monotonic() < deadline:
            _, st = self.ctl_("status")
            if st and pred(st):
                return st
            time.sleep(0.1)
        raise AssertionError(f"condition not reached within {timeout} s: {json.dumps(st)[:1500]}")


def account(user, registrar, backups=(), extra=""):
    b = ", ".join(f'"{u}"' for u in backups)
    return (f'[[account]]\nuser = "{user}"\npassword = "secret{user}"\ndomain = "localhost"\n'
            f'registrar = "{registrar}"\nbackup_registrars = [{b}]\n{extra}')


def on(index):
    def pred(st):
        a = st["accounts"][0]
        return a["registered"] and a["failover"]["registrar_index"] == index and a["state"] == "registered"
    return pred


def spreading(r, tmp):
    n = 8
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.settimeout(0.2)
    daemons = []
    firsts = {}
    try:
        for i in range(n):
            body = (account(f"20{i:02d}", f"sip:127.0.0.1:{port};transport=udp",
                            extra="startup_jitter_ms = 3000\n") +
                    f'[sip]\nudp_bind = "127.0.0.1"\n[phone]\nsrtp = "off"\n')
            daemons.append(Daemon(tmp, f"spread{i}", body))
        for d in daemons:  # spawned back to back: the same instant as far as a PBX can tell
            d.start()
        deadline = time.monotonic() + 30
        while len(firsts) < n and time.monotonic() < deadline:
            try:
                data, _ = sock.recvfrom(65535)
            except socket.timeout:
                continue
            now = time.monotonic()
            text = data.decode(errors="replace")
            if not text.startswith("REGISTER"):
                continue
            for line in text.split("\r\n"):
                if line.lower().startswith(("from:", "f:")) and "sip:20" in line:
                    user = line.split("sip:", 1)[1][:4]
                    idx = int(user[2:])
                    firsts.setdefault(idx, now - daemons[idx].spawned)
    finally:
        for d in daemons:
            d.stop_and_read()
        sock.close()

    def spread():
        assert len(firsts) == n, f"only {len(firsts)} of {n} daemons sent a REGISTER: {firsts}"
        t = sorted(firsts.values())
        print("  first REGISTER after spawn (s): " + ", ".join(f"{x:.2f}" for x in t))
        assert t[-1] - t[0] > 1.0, t
        slots = {}
        for x in t:
            slots[int(x / 0.25)] = slots.get(int(x / 0.25), 0) + 1
        assert max(slots.values()) < n, t
        assert t[-1] < 3.0 + 10.0, t  # the jitter is bounded (plus start-up time)
    r.check(f"start-up jitter: {n} daemons spawned together send their first REGISTER spread out", spread)


def main():
    r = Runner("registrar failover and failback (two Kamailio over TLS)")
    tmp = tempfile.mkdtemp(prefix="exphone-failover-")
    certs = os.path.join(tmp, "certs")
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "k1"), certs_dir=certs) as primary, \
                Kamailio(tmpdir=os.path.join(tmp, "k2"), certs_dir=certs) as secondary:
            p_uri = f"sips:127.0.0.1:{primary.tls_port}"
            s_uri = f"sips:127.0.0.1:{secondary.tls_port}"
            tls = f'[tls]\nca_files = ["{primary.ca_file}"]\n'
            phone_cfg = (account("1001", p_uri, [s_uri],
                                 f"failback_interval_s = {FAILBACK_INTERVAL_S}\nretry_base_s = 2\nretry_max_s = 8\n"
                                 "startup_jitter_ms = 500\n") + tls +
                         '[sip]\nudp_bind = "127.0.0.1"\nkeepalive_interval_s = 5\n[phone]\nsrtp = "optional"\n'
                         '[emergency]\ntargets = ["1002"]\nring_timeout_s = 10\n')
            dispatch_cfg = (account("1002", s_uri, [], "startup_jitter_ms = 0\n") + tls +
                            '[sip]\nudp_bind = "127.0.0.1"\n[phone]\nsrtp = "optional"\nauto_answer = true\nauto_answer_from = ["1001"]\n')
            with Daemon(tmp, "dispatch", dispatch_cfg) as dispatch, Daemon(tmp, "phone", phone_cfg) as phone:
                dispatch.wait(on(0))
                st0 = phone.wait(on(0))

                def primary_first():
                    a = st0["accounts"][0]
                    assert a["failover"]["registrar_uri"] == p_uri and not a["failover"]["on_backup"], a
                    assert primary.wait_registered("1001", timeout=5), "no binding at the primary"
                    assert not secondary.registered("1001"), "a binding at the secondary already"
                r.check("the phone registers with the primary", primary_first)

                primary.stop()
                t0 = time.monotonic()
                st1 = phone.wait(on(1), timeout=FAILOVER_BOUND_S + 20)
                failover_s = time.monotonic() - t0

                def failed_over():
                    a = st1["accounts"][0]
                    assert a["failover"]["on_backup"] and a["failover"]["registrar_uri"] == s_uri, a
                    assert a["failover"]["reason"].startswith(p_uri), a
                    assert a["failover"]["failovers"] >= 1, a
                    assert secondary.wait_registered("1001", timeout=5), "no binding at the secondary"
                    print(f"  registered with the secondary {failover_s:.2f} s after the primary stopped")
                    assert failover_s < FAILOVER_BOUND_S, failover_s
                r.check(f"primary stopped -> registered with the secondary within {FAILOVER_BOUND_S:.0f} s",
                        failed_over)

                t1 = time.monotonic()
                prc, pressed = phone.ctl_("press", "emergency")
                try:
                    st2 = phone.wait(lambda st: any(c["state"] == "confirmed" and c.get("emergency")
                                                    for c in st.get("calls", [])), timeout=CALL_BOUND_S + 10)
                except AssertionError as e:
                    st2 = {"error": str(e)}
                call_s = time.monotonic() - t1

                def emergency_call():
                    assert prc == 0 and pressed.get("ok"), pressed
                    assert "calls" in st2, st2
                    c = [c for c in st2["calls"] if c.get("emergency")][0]
                    assert c["signaling"]["transport"] == "tls", c
                    print(f"  emergency call answered {call_s:.2f} s after the press")
                    assert call_s < CALL_BOUND_S, call_s
                r.check(f"an emergency call through the secondary is answered within {CALL_BOUND_S:.0f} s",
                        emergency_call)
                phone.ctl_("hangup")
                phone.wait(lambda st: not st["calls"])

                primary.start()  # the same ports (kept from the first start)
                t2 = time.monotonic()
                back = primary.wait_registered("1001", timeout=FAILBACK_INTERVAL_S + 20)
                failback_s = time.monotonic() - t2
                st3 = phone.wait(on(0), timeout=10) if back else {}
                gone = secondary.wait_registered("1001", timeout=10, registered=False)

                def failed_back():
                    assert back, "the primary's usrloc never got the binding back"
                    a = st3["accounts"][0]
                    assert a["failover"]["failbacks"] == 1 and not a["failover"]["on_backup"], a
                    assert gone, "the binding at the secondary was not removed"
                    print(f"  back on the primary {failback_s:.2f} s after it restarted "
                          f"(probe every {FAILBACK_INTERVAL_S} s)")
                r.check("primary back -> the phone fails back and unregisters from the secondary", failed_back)

            def logged():
                assert "failing back" in phone.err and "failed (" in phone.err, phone.err[-2000:]
            r.check("failover and failback are logged", logged)

        spreading(r, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
