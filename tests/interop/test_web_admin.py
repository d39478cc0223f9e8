"""The admin pages change the phone (issue 12): an integrator logs in, switches account 1001 from
UDP to TLS, uploads the site root CA (as DER, through the page's multipart file form) and watches
the account register over TLS against Kamailio; the daemon restarts on each saved config (same PID).
Also: a change that does not load is refused and the file stays as it was; a server certificate is
refused as a trusted CA; every change needs the CSRF token; key export shows a loud warning and
writes 0600 files; no reply carries the SIP password; the config is written 0600 with FILE.prev.
"""
import datetime
import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import tomllib
import urllib.parse
import uuid

from lib.kamailio import Kamailio
from lib.ports import free_port
from lib.runner import Runner
from test_web import Web, PASSWORD

EXPHONE = os.environ.get("EXPHONE", "build/exphone")


def multipart(fields, files):
    """RFC 7578 body as a browser builds it: (content type, bytes)."""
    b = "----exphone" + uuid.uuid4().hex
    out = b""
    for k, v in fields.items():
        out += f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    for k, (name, data) in files.items():
        out += (f'--{b}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                f'Content-Type: application/octet-stream\r\n\r\n').encode() + data + b"\r\n"
    out += f"--{b}--\r\n".encode()
    return "multipart/form-data; boundary=" + b, out


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    r = Runner("web admin: account, trusted CA, key export")
    tmp = tempfile.mkdtemp(prefix="exphone-webadmin-")
    proc = None
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            h = subprocess.run([EXPHONE, "web", "hash-password", "--ln", "14"], input=PASSWORD + "\n",
                               capture_output=True, text=True, timeout=60, check=True)
            port = free_port()
            crt, key = kam.cert("server")
            ccrt, ckey = kam.cert("client1001")
            conf = os.path.join(tmp, "phone.toml")
            with open(conf, "w") as f:  # UDP, and no CA: what a phone out of the box has
                f.write(f'# hand-written\n[[account]]\nuser = "1001"\npassword = "secret1001"\ndomain = "localhost"\n'
                        f'registrar = "sip:127.0.0.1:{kam.udp_port}"\ntransport = "udp"\nstartup_jitter_ms = 0\n'
                        f'[tls]\nclient_cert = "{ccrt}"\nclient_key = "{ckey}"\n'
                        f'[phone]\ncontrol_socket = "{tmp}/ctl.sock"\nsrtp = "optional"\ninstance_id = "urn:uuid:{uuid.uuid4()}"\n'
                        f'[web]\nlisten = "127.0.0.1:{port}"\n{h.stdout}cert = "{crt}"\nkey = "{key}"\n')
            os.chmod(conf, 0o600)
            proc = subprocess.Popen([EXPHONE, "run", "--config", conf], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            ctx = kam.tls_client_context()

            clients = []  # every client, for the leak check

            def connect():
                web = Web(port, ctx)
                clients.append(web)
                deadline = time.time() + 30
                while True:
                    try:
                        web.request("GET", "/login")
                        break
                    except OSError:
                        if time.time() > deadline or proc.poll() is not None:
                            raise AssertionError("web admin not reachable")
                        time.sleep(0.2)
                st = web.login(PASSWORD)[0]
                assert st == 303, st
                return web

            def csrf_of(web, page):
                st, _, body, _ = web.request("GET", page)
                assert st == 200, (st, body[:300])
                return re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1), body

            def account(web):
                st, _, body, _ = web.request("GET", "/api/status")
                return json.loads(body)["accounts"][0]

            def started(web):
                return json.loads(web.request("GET", "/api/status")[2])["started"]

            def wait_account(pred, what, timeout=30, restarted_after=None):
                """Log in again (a fresh client) until account 0 satisfies pred; with
                restarted_after: only once the daemon restarted after that start."""
                deadline = time.time() + timeout
                last = None
                while time.time() < deadline:
                    try:
                        w = connect()
                        st = json.loads(w.request("GET", "/api/status")[2])
                        last = st["accounts"][0]
                        if restarted_after is not None and st["started"] == restarted_after:
                            raise AssertionError("not restarted yet")
                        if pred(last):
                            return w, last
                    except (OSError, AssertionError, KeyError, ValueError):
                        pass
                    time.sleep(0.5)
                raise AssertionError(f"{what}: {last}")

            web, acc = wait_account(lambda a: a.get("registered") and a.get("transport") == "udp", "no UDP registration")
            pid = proc.pid

            def account_page():
                tok, body = csrf_of(web, "/account")
                assert 'name="registrar" value="sip:127.0.0.1:' in body, body
                assert "secret1001" not in body and "(set; leave empty to keep it)" in body, body
                st, _, body, _ = web.request("GET", "/api/accounts")
                j = json.loads(body)
                assert j["accounts"][0]["transport"] == "udp" and j["accounts"][0]["password_set"] is True, j
                assert "secret1001" not in body and "password\"" not in body.replace("password_set", ""), body
            r.check("account page and /api/accounts show the account, never its password", account_page)

            def change_without_csrf():
                before = sha(conf)
                st, _, _, _ = web.request("POST", "/account", urllib.parse.urlencode({"index": "0", "transport": "tls"}))
                assert st == 403, st
                st, _, _, _ = web.request("POST", "/api/accounts", json.dumps({"index": 0, "transport": "tls"}),
                                          headers={"Content-Type": "application/json"})
                assert st == 403, st
                ctype, body = multipart({}, {"ca": ("ca.pem", open(kam.ca_file, "rb").read())})
                st, _, _, _ = web.request("POST", "/certificates/ca", body, headers={"Content-Type": ctype})
                assert st == 403, st
                assert sha(conf) == before, "the config changed"
            r.check("changes without the CSRF token -> 403, the config untouched", change_without_csrf)

            def invalid_change():
                before = sha(conf)
                tok, _ = csrf_of(web, "/account")
                st, _, body, _ = web.request("POST", "/account", urllib.parse.urlencode(
                    {"csrf": tok, "index": "0", "registrar": "sips:127.0.0.1:" + str(kam.tls_port), "domain": "localhost",
                     "user": "1001", "auth_user": "", "transport": "carrier-pigeon", "srtp": "optional", "key_exchange": "auto"}))
                assert st == 422 and "config" in body and "transport" in body, (st, body[-800:])
                assert sha(conf) == before, "an invalid change was written"
                assert proc.poll() is None and proc.pid == pid
            r.check("a change that does not load (transport carrier-pigeon) -> 422 naming the key; file unchanged", invalid_change)

            tls_form = {"index": "0", "registrar": f"sips:127.0.0.1:{kam.tls_port}", "domain": "localhost",
                        "user": "1001", "auth_user": "", "password": "", "transport": "tls", "srtp": "mandatory",
                        "key_exchange": "sdes"}

            def tls_before_ca():
                before = sha(conf)
                tok, _ = csrf_of(web, "/account")
                st, _, body, _ = web.request("POST", "/account", urllib.parse.urlencode({"csrf": tok, **tls_form}))
                assert st == 422 and "tls-config" in body and "no trust anchors" in body, (st, body[-800:])
                assert sha(conf) == before and proc.poll() is None and proc.pid == pid
            r.check("UDP -> TLS before any CA is trusted: refused (422 tls-config: no trust anchors), as the daemon "
                    "could not start on it; file unchanged", tls_before_ca)

            def check_untrusted():
                tok, _ = csrf_of(web, "/certificates")
                st, _, body, _ = web.request("POST", "/certificates/check", urllib.parse.urlencode(
                    {"csrf": tok, "uri": f"sips:127.0.0.1:{kam.tls_port}"}))
                assert st == 200 and 'data-verified="false"' in body and "NOT accepted: tls-" in body, (st, body[-1500:])
                assert 'id="chain"' in body and "exphone Test Root CA" in body, body[-1500:]
            r.check("check-server from the page before the CA is trusted: NOT accepted, with the reason and the chain "
                    "as sent", check_untrusted)

            web = connect()

            def not_a_ca():
                tok, _ = csrf_of(web, "/certificates")
                before = sha(conf)
                ctype, body = multipart({"csrf": tok}, {"ca": ("server.pem", open(crt, "rb").read())})
                st, _, page, _ = web.request("POST", "/certificates/ca", body, headers={"Content-Type": ctype})
                assert st == 422 and "web-not-ca" in page, (st, page[-600:])
                ctype, body = multipart({"csrf": tok}, {"ca": ("junk.der", b"\x30\x03\x02\x01\x00")})
                st, _, page, _ = web.request("POST", "/certificates/ca", body, headers={"Content-Type": ctype})
                assert st == 422 and "web-not-certificate" in page, (st, page[-600:])
                assert sha(conf) == before
            r.check("a server certificate or junk uploaded as a trusted CA is refused (422), config untouched", not_a_ca)

            before_ca_upload = started(web)

            def upload_ca_der():
                tok, _ = csrf_of(web, "/certificates")
                der = ssl.PEM_cert_to_DER_cert(open(kam.ca_file).read())
                ctype, body = multipart({"csrf": tok}, {"ca": ("site-root.der", der)})
                st, _, page, _ = web.request("POST", "/certificates/ca", body, headers={"Content-Type": ctype})
                assert st == 200 and "Saved" in page, (st, page[-600:])
                with open(conf, "rb") as f:
                    cas = tomllib.load(f)["tls"]["ca_files"]
                assert len(cas) == 1 and re.fullmatch(r"trusted-ca-[0-9a-f]{16}\.pem", cas[0]), cas
            r.check("the site root CA uploaded as DER through the page's file form is added to [tls] ca_files", upload_ca_der)

            def switch_to_tls():
                w, _ = wait_account(lambda a: a.get("registered") and a.get("transport") == "udp", "not back after the CA upload",
                                    restarted_after=before_ca_upload)
                assert proc.pid == pid and proc.poll() is None, "not the same process"
                switch["web"], switch["started"] = w, started(w)
                tok, _ = csrf_of(w, "/account")
                switch["csrf"] = tok
                st, _, body, _ = w.request("POST", "/account", urllib.parse.urlencode({"csrf": tok, **tls_form}))
                assert st == 200 and "Saved" in body, (st, body[-800:])
                assert oct(os.stat(conf).st_mode & 0o777) == "0o600" and os.path.exists(conf + ".prev")
                with open(conf, "rb") as f:
                    t = tomllib.load(f)
                a = t["account"][0]
                assert a["transport"] == "tls" and a["password"] == "secret1001" and a["srtp"] == "mandatory", t
                assert open(conf).read().startswith("# hand-written\n"), "the change lost the file's comments"
            switch = {}
            r.check("then UDP -> TLS (SRTP mandatory) from the account page: saved 0600 with FILE.prev, the stored "
                    "password kept, the file's comments kept", switch_to_tls)

            before_tls = switch.get("started")

            def session_kept():
                # the same browser session (cookie) across the restart the change caused: no new login
                w, deadline = switch["web"], time.time() + 30
                while time.time() < deadline:
                    try:
                        st, _, body, _ = w.request("GET", "/api/status")
                    except OSError:
                        time.sleep(0.2)  # restarting
                        continue
                    assert st == 200, f"the session did not survive the restart: {st}"
                    if json.loads(body)["started"] != before_tls:
                        # and the CSRF token the page gave before the restart still works for a change
                        st, _, page, _ = w.request("POST", "/account",
                                                   urllib.parse.urlencode({"csrf": switch["csrf"], "index": "x"}))
                        assert st == 422 and "index must be a number" in page, (st, page[-400:])
                        return
                    time.sleep(0.2)
                raise AssertionError("the daemon did not restart after the change")
            r.check("the session that made the change is still logged in after the restart (same cookie and CSRF "
                    "token; handed to the new process image)", session_kept)

            def registered_tls():
                w, a = wait_account(lambda a: a.get("registered") and a.get("transport") == "tls", "no TLS registration",
                                    restarted_after=before_tls)
                assert a["tls"]["verified"], a
                assert a["srtp"] == "mandatory" and a["key_exchange"] == "sdes", a  # the account's own policy
                # the registrar certificate's expiry, as Kamailio's certificate file says
                end = subprocess.run(["openssl", "x509", "-enddate", "-noout", "-in", kam.cert("server")[0]],
                                     capture_output=True, text=True, check=True).stdout.strip().split("=", 1)[1]
                not_after = datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)
                assert a["tls"]["peer_not_after"] == not_after.strftime("%Y-%m-%d %H:%M:%S UTC"), (a["tls"], end)
                days = (not_after - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 86400
                assert abs(a["tls"]["peer_days_left"] - days) < 1.01, (a["tls"], days)
                st, _, body, _ = w.request("GET", "/")
                assert st == 200 and f'{a["tls"]["peer_days_left"]} days' in body, body[-1500:]
                assert kam.wait_registered("1001", timeout=5)
                assert proc.pid == pid
                st, _, body, _ = w.request("GET", "/certificates")
                assert st == 200 and 'class="subject"' in body and "trusted-ca-" in body, body[-1500:]
                st, _, body, _ = w.request("GET", "/api/certificates")
                j = json.loads(body)
                assert j["trusted_cas"][0]["certificates"][0]["is_ca"] is True, j
                assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", j["trusted_cas"][0]["certificates"][0]["sha256_fingerprint"]), j
                return w
            r.check("account 1001 registers over TLS (verified) against Kamailio, with its own SRTP policy and the registrar certificate's expiry (status JSON and page); the CA is listed with subject, "
                    "validity and SHA-256 fingerprint", registered_tls)

            web = connect()

            def check_trusted():
                tok, _ = csrf_of(web, "/certificates")
                st, _, body, _ = web.request("POST", "/api/check-server", "{}",
                                             headers={"Content-Type": "application/json", "X-CSRF-Token": tok})
                j = json.loads(body)
                assert st == 200 and j["verified"] is True and j["options"]["answered"], j
                assert j["uri"] == f"sips:127.0.0.1:{kam.tls_port}", j  # the account's registrar by default
            r.check("check-server through the API with the phone's trust list (the uploaded CA): verified, OPTIONS "
                    "answered", check_trusted)

            web = connect()

            def key_export():
                tok, body = csrf_of(web, "/diagnostics")
                assert 'id="key-export-off"' in body and 'id="audit"' in body, body[-1500:]
                before = started(web)
                st, _, page, _ = web.request("POST", "/diagnostics/key-export", urllib.parse.urlencode({"csrf": tok, "enable": "1"}))
                assert st == 200, (st, page[-500:])
                w, a = wait_account(lambda a: a.get("registered") and a.get("transport") == "tls", "not registered after key export",
                                    restarted_after=before)
                st, _, body, _ = w.request("GET", "/diagnostics")
                assert 'id="key-export-on"' in body and "Key export is ON" in body, body[-1500:]
                st, _, body, _ = w.request("GET", "/api/status")
                warnings = json.loads(body)["warnings"]
                assert any("TLS key logging is on" in w for w in warnings) and any("SRTP key logging is on" in w for w in warnings), warnings
                keylog = os.path.join(tmp, "tls-keys.log")
                assert os.path.exists(keylog) and oct(os.stat(keylog).st_mode & 0o777) == "0o600", keylog
                tok, _ = csrf_of(w, "/diagnostics")
                before = started(w)
                st, _, _, _ = w.request("POST", "/api/key-export", json.dumps({"enable": False}),
                                        headers={"Content-Type": "application/json", "X-CSRF-Token": tok})
                assert st == 200
                w, a = wait_account(lambda a: a.get("registered"), "not back after key export off", restarted_after=before)
                assert json.loads(w.request("GET", "/api/status")[2])["warnings"] == []
                with open(conf, "rb") as f:
                    assert "diagnostics" not in tomllib.load(f)
                return w
            r.check("key export on from the diagnostics page: a loud warning, status says so, 0600 key log; "
                    "off again through the JSON API", key_export)

            def log_download():
                w = connect()  # the key export changes restarted the daemon
                st, hd, body, _ = w.request("GET", "/diagnostics/log")
                assert st == 200 and "attachment" in hd.get("Content-Disposition", ""), (st, dict(hd))
                assert "exphone web: login from 127.0.0.1" in body and "web admin on https://" in body, body[-1500:]
                assert "registered via tls" in body, body[-1500:]
            r.check("the diagnostics page's log download has this run's log (start, registration, logins)",
                    log_download)

            def device_cert_mtls():
                # a key and CSR made on the phone, signed by the site CA (Kamailio's test root), installed
                # without a key; then the account moves to Kamailio's mutual-TLS port, which refuses
                # clients without a certificate of that CA whose CN is the From user
                w = connect()
                tok, _ = csrf_of(w, "/certificates")
                api = {"Content-Type": "application/json", "X-CSRF-Token": tok}
                st, _, body, _ = w.request("POST", "/api/csr", json.dumps({"common_name": "1001"}), headers=api)
                assert st == 200, (st, body[-500:])
                csr = json.loads(body)["csr"]
                assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----"), csr[:80]
                work = os.path.join(tmp, "site-ca")
                os.makedirs(work, exist_ok=True)
                with open(os.path.join(work, "phone.csr"), "w") as f:
                    f.write(csr)
                with open(os.path.join(work, "ext"), "w") as f:
                    f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:sip:1001@localhost\n")
                subprocess.run(["openssl", "x509", "-req", "-in", "phone.csr", "-CA", kam.ca_file,
                                "-CAkey", os.path.join(os.path.dirname(kam.ca_file), "ca.key"), "-CAcreateserial",
                                "-days", "30", "-sha256", "-extfile", "ext", "-out", "phone.crt"],
                               cwd=work, check=True, capture_output=True)
                before = started(w)
                st, _, body, _ = w.request("POST", "/api/device-certificate",
                                           json.dumps({"cert": open(os.path.join(work, "phone.crt")).read()}), headers=api)
                assert st == 200, (st, body[-500:])
                w, _ = wait_account(lambda a: a.get("registered"), "not back after the device certificate", restarted_after=before)
                j = json.loads(w.request("GET", "/api/certificates")[2])
                dev = j["device_certificate"]["certificates"][0]
                assert "CN=1001" in dev["subject"] and dev["is_ca"] is False, dev
                with open(conf, "rb") as f:
                    t = tomllib.load(f)["tls"]
                assert t["client_key"].startswith("device-") and oct(os.stat(os.path.join(tmp, t["client_key"])).st_mode & 0o777) == "0o600", t
                assert not os.path.exists(os.path.join(tmp, "device-csr.key"))
                tok, _ = csrf_of(w, "/account")
                before = started(w)
                form = dict(tls_form, registrar=f"sips:127.0.0.1:{kam.mtls_port}")
                st, _, body, _ = w.request("POST", "/account", urllib.parse.urlencode({"csrf": tok, **form}))
                assert st == 200 and "Saved" in body, (st, body[-800:])
                w, a = wait_account(lambda a: a.get("registered") and f":{kam.mtls_port}" in a.get("registrar", ""),
                                    "not registered on the mTLS port", restarted_after=before)
                assert a["transport"] == "tls" and a["tls"]["verified"], a
                assert kam.wait_registered("1001", timeout=5)
            r.check("device certificate from the page: key + CSR made on the phone, signed by the site CA, installed "
                    "without a key (0600 key file); the account then registers on Kamailio's mutual-TLS port",
                    device_cert_mtls)

            def no_leaks():
                for body in (b for c in clients for b in c.bodies):
                    assert "secret1001" not in body and "PRIVATE KEY" not in body and PASSWORD not in body, body[:500]
            r.check("no page or API reply contains the SIP password or a private key", no_leaks)

            proc.terminate()
            out, err = proc.communicate(timeout=20)
            rc, proc = proc.returncode, None
            r.check("changes are logged; the daemon exits cleanly",
                    lambda: ("exphone web: account 0 saved" in err and "restarting (web admin" in out and rc == 0)
                    or (_ for _ in ()).throw(AssertionError((rc, out[-2000:], err[-3000:]))))
    finally:
        if proc is not None:
            proc.kill()
            proc.communicate()
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
