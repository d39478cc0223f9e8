"""The web admin in a real browser (issue 12): Debian's headless Chromium, driven by playwright-core
(webrtc/web-admin-driver.js; the npm packages of the WebRTC console), does what an integrator does
on phone 1001's HTTPS admin page, with the clicks and form submissions of the real pages:

- the web certificate is the test server certificate; Chromium does not know the test CA and is
  given only the SPKI pin of that certificate (--ignore-certificate-errors-spki-list): a Chromium
  without the pin refuses the page (ERR_CERT_AUTHORITY_INVALID), so TLS is still checked;
- logs in through the login form (a wrong password first: the page says so);
- uploads the site root CA through the Certificates page's file input (setInputFiles); the daemon
  restarts on the saved config (same PID, /api/status "started" changes); logs in again;
- switches account 1001 from UDP to TLS (sips: registrar, SRTP mandatory) on the SIP account page;
  after the restart the status page shows the account registered over TLS "(verified)";
- a call 1001 -> 1002 (a second exphone daemon, TLS, auto-answer; dialled through 1001's control
  socket) shows the padlock on the status page; after SRTP is set "off" on the account page, the
  next call shows the open padlock and the reason ("media is not SRTP");
- a full-page screenshot of every page goes to $EXPHONE_ARTIFACTS/web_browser/;
- no page logs a console error or a CSP violation in the browser.
"""
import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid

from lib.kamailio import Kamailio
from lib.ports import free_port
from lib.runner import Runner
from test_call_pbx import Daemon, account
from test_web import PASSWORD
from test_webrtc import node_dir

EXPHONE = os.environ.get("EXPHONE", "build/exphone")
HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "webrtc", "web-admin-driver.js")


def artifacts_dir():
    d = os.path.join(os.environ.get("EXPHONE_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts"), "web_browser")
    os.makedirs(d, exist_ok=True)
    return d


def spki_sha256_b64(cert_pem):
    """base64(SHA-256(SubjectPublicKeyInfo DER)): what --ignore-certificate-errors-spki-list takes."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_pem, "-pubkey", "-noout"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, capture_output=True, check=True).stdout
    import base64
    import hashlib
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class Browser:
    """The node driver: one JSON command per line in, one JSON reply per line out."""

    def __init__(self, tmp, nodes, base, spki):
        self.log = os.path.join(tmp, "browser.log")
        self.logf = open(self.log, "w")
        home = os.path.join(tmp, "browser-home")
        os.makedirs(home)
        env = dict(os.environ, NODE_PATH=os.path.join(nodes, "node_modules"))
        self.proc = subprocess.Popen(["node", DRIVER, "--base", base, "--spki", spki, "--home", home],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.logf, text=True, env=env)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.problems = []  # console errors / CSP violations seen by the page, over the whole run

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def __call__(self, op, timeout=40, **kw):
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"browser: no reply to {op} in {timeout} s; log: {self.text()[-2000:]}")
        if line is None:
            raise AssertionError(f"browser driver exited; log: {self.text()[-3000:]}")
        reply = json.loads(line)
        self.problems += reply.get("problems", [])
        return reply

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.logf.close()

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


def png_size(path):
    """(width, height) from a PNG's IHDR; raises if it is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path}: not a PNG"
    return struct.unpack(">II", head[16:24])


def main():
    r = Runner("web admin in Chromium: login, CA upload, UDP -> TLS, padlock on and off")
    tmp = tempfile.mkdtemp(prefix="exphone-webbrowser-")
    art = artifacts_dir()
    shots = {}
    proc = browser = peer = None
    try:
        nodes = node_dir()
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            h = subprocess.run([EXPHONE, "web", "hash-password", "--ln", "14"], input=PASSWORD + "\n",
                               capture_output=True, text=True, timeout=60, check=True)
            port = free_port()
            crt, key = kam.cert("server")
            ccrt, ckey = kam.cert("client1001")
            ctl = os.path.join(tmp, "ctl1001.sock")
            conf = os.path.join(tmp, "phone.toml")
            with open(conf, "w") as f:  # UDP, and no CA: what a phone out of the box has
                f.write(f'[[account]]\nuser = "1001"\npassword = "secret1001"\ndomain = "localhost"\n'
                        f'registrar = "sip:127.0.0.1:{kam.udp_port}"\ntransport = "udp"\nstartup_jitter_ms = 0\n'
                        f'[tls]\nclient_cert = "{ccrt}"\nclient_key = "{ckey}"\n'
                        f'[phone]\ncontrol_socket = "{ctl}"\nsrtp = "optional"\ninstance_id = "urn:uuid:{uuid.uuid4()}"\n'
                        f'[web]\nlisten = "127.0.0.1:{port}"\n{h.stdout}cert = "{crt}"\nkey = "{key}"\n')
            os.chmod(conf, 0o600)
            proc = subprocess.Popen([EXPHONE, "run", "--config", conf], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            pid = proc.pid
            # the peer: exphone 1002 over TLS, SRTP optional (takes SRTP and plain RTP), auto-answers 1001
            peer = Daemon(tmp, "d1002", account(kam, "1002", "optional"))
            with open(peer.path) as f:
                body = f.read().replace('auto_answer_from = ["1002"]', 'auto_answer_from = ["1001"]')
            with open(peer.path, "w") as f:
                f.write(body)
            peer.__enter__()
            assert kam.wait_registered("1002", timeout=20), "peer 1002 did not register"
            assert kam.wait_registered("1001", timeout=20), "phone 1001 did not register over UDP"

            def ctl_cmd(*words):
                p = subprocess.run([EXPHONE, "ctl", "--socket", ctl, "--json", *words], capture_output=True,
                                   text=True, timeout=20)
                return json.loads(p.stdout) if p.stdout.strip() else {"ok": False, "stderr": p.stderr}

            def wait_for(pred, what, timeout=20):
                deadline = time.time() + timeout
                while time.time() < deadline:
                    v = pred()
                    if v:
                        return v
                    time.sleep(0.3)
                raise AssertionError(what)

            base = f"https://127.0.0.1:{port}"
            browser = Browser(tmp, nodes, base, spki_sha256_b64(crt))
            b = browser

            def shot(name):
                path = os.path.join(art, name + ".png")
                if os.path.exists(path):
                    os.unlink(path)  # a file from an earlier run proves nothing
                rep = b("screenshot", path=path)
                assert rep["ok"], rep
                shots[name] = path

            def login_page():
                rep = wait_for(lambda: (lambda x: x if x["ok"] and x["status"] == 200 else None)(b("goto", path="/login")),
                               "the login page does not load in Chromium", timeout=30)
                assert rep["title"] == "Log in - exphone", rep
                shot("01-login")
                rep = b("login", password="not the password")
                assert rep["ok"] and rep["status"] == 401 and rep["url"] == base + "/login" and rep["message"], rep
                rep = b("login", password=PASSWORD)
                assert rep["ok"] and rep["url"] == base + "/" and rep["title"] == "Status - exphone", rep
            r.check("Chromium (SPKI pin of the web certificate) loads the login page; a wrong password is refused "
                    "with a message, the right one through the form opens the status page", login_page)

            def unpinned():
                rep = b("probe_unpinned", path="/login")
                assert rep["ok"] and rep["loaded"] is False and "ERR_CERT_AUTHORITY_INVALID" in rep["error"], rep
            r.check("the same Chromium without the pin refuses the page (ERR_CERT_AUTHORITY_INVALID): TLS is checked",
                    unpinned)

            def status_rows():
                rep = b("goto", path="/")
                assert rep["ok"] and rep["status"] == 200 and rep["title"] == "Status - exphone", rep
                rep = b("status")
                assert rep["ok"], rep
                return rep

            def status_udp():
                rep = wait_for(lambda: (lambda s: s if s["accounts"] and s["accounts"][0]["registered"] == "true" else None)(status_rows()),
                               "account not registered on the status page")
                cells = rep["accounts"][0]["cells"]
                assert cells[2] == "udp" and cells[4] == "-", rep
                assert rep["noCalls"], rep
                shot("02-status-udp")
            r.check("status page: account 1001 registered over UDP (no TLS), no calls", status_udp)

            def started():
                rep = b("api", path="/api/status")
                assert rep["ok"] and rep["status"] == 200, rep
                return rep["json"]["started"]

            def wait_restart(before, timeout=40):
                """Until the daemon answers with another "started" (in the same session: the restart
                hands it to the new process image); returns its /api/status."""
                deadline = time.time() + timeout
                last = None
                while time.time() < deadline:
                    last = b("api", path="/api/status")
                    if last["ok"] and last["status"] == 200 and last["json"]["started"] != before:
                        assert last["json"]["pid"] == pid and proc.poll() is None, ("not the same process", last)
                        return last["json"]
                    if last["ok"] and last["status"] == 401:
                        raise AssertionError("the restart ended the browser's session (401)")
                    time.sleep(0.5)
                raise AssertionError(f"no restart: {last}")

            def certificates():
                rep = b("goto", path="/certificates")
                assert rep["ok"] and rep["title"] == "Certificates - exphone", rep
                c = b("certificates")
                assert c["upload"] and c["trusted"] == [], c
                shot("03-certificates-empty")
                t0 = started()
                rep = b("upload_ca", file=kam.ca_file)
                assert rep["ok"] and rep["status"] == 200 and rep["title"] == "Saved - exphone", rep
                with open(conf, "rb") as f:
                    cas = tomllib.load(f)["tls"]["ca_files"]
                assert len(cas) == 1, cas
                wait_restart(t0)
                rep = b("goto", path="/certificates")
                assert rep["ok"] and rep["title"] == "Certificates - exphone", rep
                c = b("certificates")
                assert len(c["trusted"]) == 1 and "trusted-ca-" in c["trusted"][0][0], c
                assert "exphone Test Root CA" in c["trusted"][0][1], c  # the subject of the lab root CA
                shot("04-certificates-ca")
            r.check("Certificates page: the site root CA uploaded through the file input (setInputFiles) is saved, "
                    "the daemon restarts (same PID, same browser session), the CA is listed", certificates)

            def switch_to_tls():
                rep = b("goto", path="/account")
                assert rep["ok"] and rep["title"] == "SIP account - exphone", rep
                shot("05-account-udp")
                t0 = started()
                rep = b("account", fields={"registrar": f"sips:127.0.0.1:{kam.tls_port}", "transport": "tls",
                                           "srtp": "mandatory", "key_exchange": "sdes"})
                assert rep["ok"] and rep["status"] == 200 and rep["title"] == "Saved - exphone", rep
                with open(conf, "rb") as f:
                    t = tomllib.load(f)
                assert t["account"][0]["transport"] == "tls" and t["account"][0]["srtp"] == "mandatory", t
                assert t["phone"]["srtp"] == "optional", "the device default changed with the account's policy"
                assert t["account"][0]["password"] == "secret1001", "the empty password field changed the password"
                wait_restart(t0)
            r.check("SIP account page: UDP -> TLS (sips: registrar, SRTP mandatory) submitted through the form; "
                    "saved with the password kept; the daemon restarts", switch_to_tls)

            def status_tls():
                def tls_row():
                    s = status_rows()
                    a = s["accounts"][0] if s["accounts"] else None
                    return s if a and a["registered"] == "true" and a["cells"][2] == "tls" else None
                rep = wait_for(tls_row, "no TLS registration on the status page", timeout=30)
                assert "(verified)" in rep["accounts"][0]["cells"][4], rep
                assert "NOT verified" not in rep["accounts"][0]["cells"][4], rep
                assert kam.wait_registered("1001", timeout=5)
                shot("06-status-tls")
            r.check('status page after the restart (same session): account 1001 registered over TLS "(verified)"', status_tls)

            def call_and_status(name):
                d = ctl_cmd("dial", "1002")
                assert d.get("ok"), d
                call = wait_for(lambda: next((c for c in ctl_cmd("status").get("calls", []) if c.get("answered")), None),
                                "the call to 1002 was not answered")
                time.sleep(1.5)  # media flowing both ways before the page is read
                rep = b("goto", path="/")  # the integrator reloads the status page
                assert rep["ok"] and rep["status"] == 200, rep
                s = b("status")
                shot(name)
                st = ctl_cmd("status")
                h = ctl_cmd("hangup")
                assert h.get("ok"), h
                wait_for(lambda: not ctl_cmd("status").get("calls"), "1001 not idle after hang-up")
                assert len(s["calls"]) == 1, s
                return s["calls"][0], st["calls"][0] if st.get("calls") else call

            def secure_call():
                row, c = call_and_status("07-status-call-secure")
                assert c["secure"] is True and c["media"]["srtp"], c
                assert row["secure"] == "true" and row["padlock"] and row["padlockVisible"], row
                assert not row["noPadlock"] and row["reason"] is None, row
                assert "SRTP" in row["cells"][4] and row["cells"][3] == "tls", row
            r.check("a call 1001 -> 1002 over TLS with SDES-SRTP: the reloaded status page shows the call row "
                    "with the padlock (tr.call[data-secure=true] .padlock)", secure_call)

            def srtp_off():
                t0 = started()
                rep = b("account", fields={"srtp": "off"})
                assert rep["ok"] and rep["status"] == 200 and rep["title"] == "Saved - exphone", rep
                with open(conf, "rb") as f:
                    t = tomllib.load(f)
                assert t["account"][0]["srtp"] == "off" and t["account"][0]["transport"] == "tls", t
                wait_restart(t0)
                a = ctl_cmd("status")["accounts"][0]
                assert a["srtp"] == "off" and a["key_exchange"] == "sdes", a  # the account's effective policy
                wait_for(lambda: (lambda s: s if s["accounts"] and s["accounts"][0]["registered"] == "true"
                                  and s["accounts"][0]["cells"][2] == "tls" else None)(status_rows()),
                         "not registered over TLS after SRTP off", timeout=30)
            r.check('SIP account page: the account\'s SRTP set "off" and saved ([phone]\'s default untouched); back registered over TLS after the restart', srtp_off)

            def insecure_call():
                row, c = call_and_status("08-status-call-insecure")
                assert c["secure"] is False and not c["media"]["srtp"], c
                assert row["secure"] == "false" and not row["padlock"] and row["noPadlock"], row
                assert row["reason"] and "media is not SRTP" in row["reason"], row
                assert "TLS" not in row["reason"], row  # the signalling was TLS to a verified peer: not a reason
                assert row["cells"][4].endswith("RTP") and "SRTP" not in row["cells"][4], row
            r.check("the next call (plain RTP over TLS signalling): no padlock, the open padlock and the reason "
                    '"media is not SRTP" on the status page', insecure_call)

            def diagnostics():
                rep = b("goto", path="/diagnostics")
                assert rep["ok"] and rep["status"] == 200 and rep["title"] == "Diagnostics - exphone", rep
                d = b("diagnostics")
                assert d["keyExportOff"] and not d["keyExportOn"] and d["audit"], d
                shot("09-diagnostics")
            r.check("Diagnostics page: key export off, the security audit table", diagnostics)

            def screenshots():
                assert len(shots) == 9, sorted(shots)
                for name, path in sorted(shots.items()):
                    w, hgt = png_size(path)
                    size = os.path.getsize(path)
                    assert w >= 1100 and hgt >= 300 and size > 5000, (name, w, hgt, size)  # wide tables widen the page
                print(f"  screenshots in {art}: {', '.join(sorted(shots))}")
            r.check("a full-page PNG of each page in the artifacts (login, status UDP/TLS/secure call/insecure "
                    "call, account, certificates before/after, diagnostics)", screenshots)

            def no_problems():
                # Chromium logs every 401 as a failed resource load (the message may come a reply
                # later): the only one expected is the page answering the wrong password (which
                # also shows the console is captured); the restarts keep the session
                wrong = [p for p in browser.problems if "status of 401" in p and p.endswith(f"{base}/login]")]
                assert len(wrong) == 1, browser.problems  # the wrong password's 401 page
                problems = [p for p in browser.problems if p not in wrong]
                assert problems == [], problems
            r.check("no console error, page error or CSP violation in the browser on any page", no_problems)

            browser.close()
            proc.terminate()
            out, _ = proc.communicate(timeout=20)
            rc, proc = proc.returncode, None
            r.check("phone 1001 logged the web changes and exits cleanly",
                    lambda: (rc == 0 and out.count("restarting (web admin") >= 3)
                    or (_ for _ in ()).throw(AssertionError((rc, out[-3000:]))))
    finally:
        if browser is not None:
            browser.close()
            if r.failed:
                print("---- browser log\n" + browser.text()[-4000:], file=sys.stderr)
        if proc is not None:
            proc.terminate()
            try:
                out, _ = proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            if r.failed:
                print("---- exphone 1001\n" + out[-4000:], file=sys.stderr)
        if peer is not None and getattr(peer, "proc", None) is not None:
            peer.__exit__(None, None, None)
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
