"""The emergency hotline: `exphone ctl press emergency` or a GPIO-style input file dials the
[emergency] targets in order until one answers, preempting any other call; the fallback policy
decides what happens when targets fail ("next-target", "none", "cleartext" — loud).

Peers are exphone daemons on loopback: a dispatcher (auto-answer) and an ordinary peer whose
call gets preempted. The first emergency target is a TCP port nobody listens on.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


class Daemon:
    def __init__(self, tmp, name, body):
        self.ctl = os.path.join(tmp, name + ".sock")
        self.path = os.path.join(tmp, name + ".toml")
        body = body.replace("[phone]\n", f'[phone]\ncontrol_socket = "{self.ctl}"\n', 1)
        with open(self.path, "w") as f:
            f.write(body)

    def __enter__(self):
        self.proc = subprocess.Popen([EXPHONE, "run", "--config", self.path], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.ctl) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists(self.ctl), "daemon did not start"
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.out, self.err = self.proc.communicate(timeout=15)
        return False

    def ctl_(self, *words):
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl, "--json", *words], capture_output=True, text=True,
                           timeout=20)
        return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {})

    def wait(self, pred, timeout=20):
        deadline = time.monotonic() + timeout
        st = {}
        while time.monotonic() < deadline:
            _, st = self.ctl_("status")
            if pred(st):
                return st
            time.sleep(0.1)
        raise AssertionError(f"condition not reached: {json.dumps(st)[:1500]}")

    def reports(self):
        return [json.loads(l.split(" ", 1)[1]) for l in self.out.splitlines() if l.startswith("call-report ")]


def peer(port):
    return (f'[sip]\nudp_bind = "127.0.0.1"\nudp_port = {port}\n[phone]\nsrtp = "off"\nauto_answer = true\n'
            'auto_answer_unauthenticated = true\n'
            'allow_peers = ["127.0.0.1"]\n')


def main():
    r = Runner("emergency hotline")
    tmp = tempfile.mkdtemp(prefix="exphone-emergency-")
    try:
        dispatch_port, other_port, dead_port = free_port(), free_port(), free_port()
        gpio = os.path.join(tmp, "gpio17")
        with open(gpio, "w") as f:
            f.write("0\n")
        phone_cfg = (f'[sip]\nudp_bind = "127.0.0.1"\n[phone]\nsrtp = "off"\nallow_peers = ["127.0.0.1"]\n'
                     f'[emergency]\ntargets = ["sip:nobody@127.0.0.1:{dead_port};transport=tcp", '
                     f'"sip:dispatch@127.0.0.1:{dispatch_port}"]\nring_timeout_s = 5\ninput_file = "{gpio}"\n'
                     'poll_ms = 50\n')
        with Daemon(tmp, "dispatch", peer(dispatch_port)) as dispatch, \
                Daemon(tmp, "other", peer(other_port)) as other, Daemon(tmp, "phone", phone_cfg) as phone:
            rc, d = phone.ctl_("dial", f"sip:x@127.0.0.1:{other_port}")
            ordinary = phone.wait(lambda st: any(c["state"] == "confirmed" for c in st.get("calls", [])))
            prc, pressed = phone.ctl_("press", "emergency")
            st = phone.wait(lambda st: any(c["state"] == "confirmed" and c["emergency"] for c in st.get("calls", [])))

            def preempt_and_walk():
                assert rc == 0 and prc == 0 and pressed["ok"], (d, pressed)
                calls = st["calls"]
                assert len(calls) == 1 and calls[0]["emergency"], calls  # the ordinary call is gone
                assert calls[0]["peer"] == f"sip:dispatch@127.0.0.1:{dispatch_port}", calls
                em = st["emergency"]
                assert em["active"] and len(em["attempts"]) == 2, em
                assert em["attempts"][0].startswith(f"sip:nobody@127.0.0.1:{dead_port};transport=tcp: "), em
                assert em["attempts"][1].endswith(": answered"), em
            r.check("press emergency: the ordinary call is dropped, the dead first target is skipped, "
                    "the dispatcher answers", preempt_and_walk)

            hrc, _ = phone.ctl_("hangup")
            phone.wait(lambda st: not st["calls"] and not st["emergency"]["active"])
            with open(gpio, "w") as f:
                f.write("1\n")
            st2 = phone.wait(lambda st: any(c["state"] == "confirmed" and c["emergency"] for c in st.get("calls", [])))

            def gpio_press():
                assert st2["emergency"]["active"], st2
            r.check("the input file going to 1 is a press: a second emergency call is placed", gpio_press)
            phone.ctl_("hangup")
            time.sleep(0.5)
        ordinary_ends = [x for x in other.reports()]

        def ordinary_ended():
            assert len(ordinary_ends) == 1 and ordinary_ends[0]["ended_by"] == "remote", ordinary_ends
            assert len(dispatch.reports()) == 2, dispatch.out
        r.check("the preempted call ended with our BYE; the dispatcher took both emergency calls", ordinary_ended)

        # fallback "none": only the first target is tried
        none_cfg = phone_cfg.replace('ring_timeout_s = 5', 'ring_timeout_s = 5\nfallback = "none"')
        with Daemon(tmp, "dispatch2", peer(dispatch_port)), Daemon(tmp, "none", none_cfg) as phone:
            phone.ctl_("press", "emergency")
            st = phone.wait(lambda st: "error" in st.get("emergency", {}))

            def none_policy():
                em = st["emergency"]
                assert em["error"]["code"] == "emergency-failed" and len(em["attempts"]) == 1, em
                assert not st["calls"], st
            r.check("fallback none: the first target fails, the error is clear, the dispatcher is not tried", none_policy)

        # fallback "cleartext": the sips: target fails (no TLS there), the UDP variant answers, loudly
        tls_dead = free_port()
        clear_cfg = (f'[sip]\nudp_bind = "127.0.0.1"\n[phone]\nsrtp = "optional"\nallow_peers = ["127.0.0.1"]\n'
                     f'[emergency]\ntargets = ["sips:dispatch@127.0.0.1:{tls_dead}"]\nfallback = "cleartext"\n'
                     'ring_timeout_s = 5\n')
        with Daemon(tmp, "dispatch3", peer(tls_dead)), Daemon(tmp, "clear", clear_cfg) as phone:
            phone.ctl_("press", "emergency")
            st = phone.wait(lambda st: any(c["state"] == "confirmed" and c["emergency"] for c in st.get("calls", [])))
            phone.ctl_("hangup")
            time.sleep(0.3)

        def cleartext_policy():
            em = st["emergency"]
            assert em["cleartext_used"], em
            assert st["calls"][0]["peer"] == f"sip:dispatch@127.0.0.1:{tls_dead};transport=udp", st["calls"]
            assert st["calls"][0]["signaling"]["transport"] == "udp", st["calls"]
            assert "emergency fallback to CLEARTEXT" in phone.err, phone.err
        r.check("fallback cleartext: TLS fails, the UDP variant is called and the fallback is logged", cleartext_policy)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
