"""Calls with a WebRTC dispatch console: JsSIP 3.13 in Debian's headless Chromium (driven by
playwright-core, webrtc/webrtc-driver.js), registered to Kamailio over WSS; exphone registered to
the same Kamailio over TLS. Kamailio only relays signalling; media flows browser <-> exphone on
127.0.0.1 with ICE (the browser full, exphone lite), DTLS-SRTP and rtcp-mux.

- browser 1003 calls exphone 1001 (auto-answer, key_exchange "auto"): the call is confirmed; the
  browser's getStats() shows DTLS connected, a succeeded loopback candidate pair, > 100 inbound
  packets decrypted with audio level > 0, and its WebAudio FFT hears exphone's 440 Hz; exphone's
  report shows DTLS-SRTP with the fingerprint verified and received over TLS, the padlock, and the
  browser's 1000 Hz tone in what it received;
- exphone 1001 (key_exchange "dtls") calls browser 1003, which answers: the same checks the other
  way round (the browser hears exphone's 1000 Hz, exphone hears the browser's 600 Hz).
"""
import json
import math
import os
import shutil
import struct
import sys
import subprocess
import tempfile
import time
import wave

from lib.kamailio import Kamailio
from lib.runner import Runner
from test_call_pbx import Daemon, account, exphone_call

HERE = os.path.dirname(os.path.abspath(__file__))
WEBRTC = os.path.join(HERE, "webrtc")


def node_dir():
    d = os.environ.get("EXPHONE_WEBRTC_NODE_DIR")
    if d and os.path.exists(os.path.join(d, "jssip.js")):
        return d
    return subprocess.run([os.path.join(WEBRTC, "setup.sh")], capture_output=True, text=True, check=True,
                          timeout=600).stdout.strip()


def tone_wav(path, hz, secs=30, rate=48000):
    """The browser's fake microphone (--use-file-for-fake-audio-capture): 16-bit mono sine."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(16000 * math.sin(2 * math.pi * hz * i / rate)))
                               for i in range(secs * rate)))


class Browser:
    def __init__(self, tmp, kam, nodes, mode, name, tone, expect_hz, *extra):
        self.out_json = os.path.join(tmp, name + ".json")
        self.log = os.path.join(tmp, name + ".out")
        env = dict(os.environ, NODE_PATH=os.path.join(nodes, "node_modules"))
        self.args = ["timeout", "120", "node", os.path.join(WEBRTC, "webrtc-driver.js"), "--mode", mode,
                     "--ws", f"wss://127.0.0.1:{kam.wss_port}", "--jssip", os.path.join(nodes, "jssip.js"),
                     "--ca", kam.ca_file, "--trust", "nss", "--profile", os.path.join(tmp, "chromium"),
                     "--user", "1003", "--tone", tone, "--expect-rx-hz", str(expect_hz), "--out", self.out_json,
                     *extra]
        self.env = env

    def start(self):
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT, env=self.env)
        return self

    def wait_registered(self, timeout=40):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "REGISTERED" in self.text() or self.proc.poll() is not None:
                return "REGISTERED" in self.text()
            time.sleep(0.2)
        return False

    def wait(self, timeout=150):
        rc = self.proc.wait(timeout=timeout)
        self.logf.close()
        return rc

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def result(self):
        with open(self.out_json) as f:
            return json.load(f)


def exphone_dtls_report(rep, tone_ratio=0.5):
    assert rep.get("answered"), rep
    assert rep["signaling"]["transport"] == "tls" and rep["signaling"]["tls"]["verified"], rep
    m = rep["media"]
    assert m["srtp"] and m["key_exchange"] == "dtls" and m["srtp_auth_failures"] == 0, m
    assert m["dtls"]["peer_fingerprint_verified"] and m["dtls"]["fingerprint_over_tls"], m
    assert m["ice_selected"].startswith("127.0.0.1:"), m  # the pair the browser nominated
    assert m["codec"] == "opus", m  # the browser's first choice
    assert rep["secure"], rep
    assert m["heard_tone_ratio"] > tone_ratio, f"the browser's tone not heard: {m}"


def enter_private_netns():
    """Re-runs this test in a fresh network namespace that has only `lo` (root: unshare -n), like
    the interop kit does: the browser then has no other interface to pick ICE candidates from, so
    every packet of the call stays on 127.0.0.1. The npm packages are installed before (registry)."""
    if os.environ.get("EXPHONE_IN_NETNS") == "1":
        return
    os.environ["EXPHONE_WEBRTC_NODE_DIR"] = node_dir()
    os.environ["EXPHONE_IN_NETNS"] = "1"
    os.execvp("unshare", ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                          sys.executable, os.path.abspath(__file__)])


def main():
    enter_private_netns()
    r = Runner("WebRTC console (JsSIP in Chromium, WSS) <-> exphone (TLS) through Kamailio")
    tmp = tempfile.mkdtemp(prefix="exphone-webrtc-")
    try:
        nodes = node_dir()
        tone1000, tone600 = os.path.join(tmp, "tone1000.wav"), os.path.join(tmp, "tone600.wav")
        tone_wav(tone1000, 1000)
        tone_wav(tone600, 600)
        with Kamailio(tmpdir=os.path.join(tmp, "kam"), wss_client_cert=False) as kam:
            # ---- browser 1003 calls exphone 1001
            d = Daemon(tmp, "d1001-webrtc", account(kam, "1001", "mandatory"), send_tone="440", expect_tone="1000")
            with open(d.path) as f:  # Daemon allowlists 1002 for auto-answer; the console is 1003
                conf = f.read().replace('auto_answer_from = ["1002"]', 'auto_answer_from = ["1003"]')
            with open(d.path, "w") as f:
                f.write(conf)
            with d:
                assert kam.wait_registered("1001", timeout=15), "exphone did not register"
                b = Browser(tmp, kam, nodes, "call", "browser-calls", tone1000, 440, "--target", "1001",
                            "--secs", "6").start()
                rc = b.wait()
                time.sleep(0.5)
            reps = d.reports()

            def browser_side():
                assert rc == 0, b.text()[-4000:]
                res = b.result()
                assert res["pass"], res["reasons"]
                assert res["stats"]["transport"]["dtlsState"] == "connected", res["stats"]
            r.check("browser -> exphone: confirmed, DTLS connected, loopback pair, >100 packets decrypted, "
                    "audio level > 0, the browser hears 440 Hz", browser_side)

            def exphone_side():
                assert len(reps) == 1, (d.out, d.err[-3000:])
                assert reps[0]["direction"] == "incoming", reps[0]
                exphone_dtls_report(reps[0])
            r.check("browser -> exphone: DTLS-SRTP (auto), fingerprint verified over TLS, padlock, "
                    "the browser's 1000 Hz heard", exphone_side)
            kam.kamcmd("ul.rm", "location", "s:1003", check=False)

            # ---- exphone 1001 calls browser 1003
            b = Browser(tmp, kam, nodes, "answer", "browser-answers", tone600, 1000, "--wait-call", "40",
                        "--secs", "12").start()
            registered = b.wait_registered()
            rc_call, rep, err = (1, {}, "browser did not register: " + b.text()[-2000:])
            if registered:
                body = account(kam, "1001", "mandatory").replace("[phone]\n", '[phone]\nkey_exchange = "dtls"\n', 1)
                path = os.path.join(tmp, "c1001-webrtc.toml")
                with open(path, "w") as f:
                    f.write(body)
                # JsSIP answers a sips: Request-URI with 416: WebRTC consoles are dialled as sip:
                p = subprocess.run([os.environ["EXPHONE"], "call", "--config", path, "sip:1003@localhost", "--duration", "6",
                                    "--expect-tone", "600", "--json"], capture_output=True, text=True, timeout=120)
                rc_call, err = p.returncode, p.stderr
                rep = json.loads(p.stdout) if p.stdout.strip() else {}
            rc = b.wait()

            def out_exphone():
                assert rc_call == 0, (rep, err[-3000:])
                exphone_dtls_report(rep)
            r.check("exphone (dtls) -> browser: DTLS-SRTP, fingerprint verified over TLS, padlock, "
                    "the browser's 600 Hz heard", out_exphone)

            def out_browser():
                res = b.result()
                assert rc == 0 and res["pass"], (res.get("reasons"), b.text()[-3000:])
            r.check("exphone -> browser: confirmed, DTLS connected, loopback pair, >100 packets decrypted, "
                    "the browser hears 1000 Hz", out_browser)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
