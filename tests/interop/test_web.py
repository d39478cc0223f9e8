"""The phone's HTTPS admin page and /metrics (issue 12): `exphone run` with [web] on a free
loopback port, registered to Kamailio over TLS. Python's http.client verifies the web server's
certificate against the test CA. Checks: no session -> 401 (API) / redirect (pages); wrong
passwords are throttled per client; login sets a Secure, HttpOnly, SameSite=Strict cookie; a POST
without the CSRF token -> 403; the status page shows the account registered over TLS; /metrics
needs its bearer token and shows exphone_registration_up 1; no page leaks the SIP password or a
private key.
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse

from lib.kamailio import Kamailio
from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ.get("EXPHONE", "build/exphone")
PASSWORD = "correct horse battery"
METRICS_TOKEN = "metrics-token-0123456789abcdef"


class Web:
    """One HTTPS client with a cookie jar (the browser)."""

    def __init__(self, port, ctx):
        self.port, self.ctx, self.cookies = port, ctx, {}
        self.bodies = []  # every body served, for the leak check

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=30)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read().decode(errors="replace")
            set_cookies = r.headers.get_all("Set-Cookie") or []
        finally:
            c.close()
        for sc in set_cookies:
            name, _, rest = sc.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in sc:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        self.bodies.append(data)
        return r.status, r.headers, data, set_cookies

    def form_token(self):
        st, _, body, _ = self.request("GET", "/login")
        assert st == 200, (st, body)
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', body)
        assert m, body
        return m.group(1)

    def login(self, password):
        tok = self.form_token()
        return self.request("POST", "/login", urllib.parse.urlencode({"csrf": tok, "password": password}))


def main():
    r = Runner("web admin page and metrics")
    tmp = tempfile.mkdtemp(prefix="exphone-web-")
    proc = None
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            h = subprocess.run([EXPHONE, "web", "hash-password", "--ln", "14"], input=PASSWORD + "\n",
                               capture_output=True, text=True, timeout=60)
            r.check("exphone web hash-password prints an scrypt hash line",
                    lambda: (h.returncode == 0 and re.fullmatch(r'password_hash = "\$scrypt\$ln=14,r=8,p=1\$[^"]+"\n', h.stdout)
                             and PASSWORD not in h.stdout) or (_ for _ in ()).throw(AssertionError((h.returncode, h.stdout, h.stderr))))
            short = subprocess.run([EXPHONE, "web", "hash-password"], input="short\n", capture_output=True, text=True, timeout=60)
            r.check("a too short password is refused", lambda: (short.returncode != 0 and "web-password" in short.stderr)
                    or (_ for _ in ()).throw(AssertionError((short.returncode, short.stderr))))
            token_file = os.path.join(tmp, "metrics.token")
            with open(token_file, "w") as f:
                f.write(METRICS_TOKEN + "\n")
            os.chmod(token_file, 0o600)
            port = free_port()
            crt, key = kam.cert("server")
            ccrt, ckey = kam.cert("client1001")
            conf = os.path.join(tmp, "phone.toml")
            with open(conf, "w") as f:
                f.write(f'[[account]]\nuser = "1001"\npassword = "secret1001"\ndomain = "localhost"\n'
                        f'registrar = "sips:127.0.0.1:{kam.tls_port}"\n'
                        f'[tls]\nca_files = ["{kam.ca_file}"]\nclient_cert = "{ccrt}"\nclient_key = "{ckey}"\n'
                        f'[phone]\ncontrol_socket = "{tmp}/ctl.sock"\n'
                        f'[web]\nlisten = "127.0.0.1:{port}"\n{h.stdout}metrics_token_file = "{token_file}"\n'
                        f'cert = "{crt}"\nkey = "{key}"\n')
            proc = subprocess.Popen([EXPHONE, "run", "--config", conf], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            assert kam.wait_registered("1001", timeout=20), "exphone did not register"
            ctx = kam.tls_client_context()
            web = Web(port, ctx)
            deadline = time.time() + 20
            while True:
                try:
                    web.request("GET", "/login")
                    break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.2)

            def no_session():
                anon = Web(port, ctx)
                st, hd, body, _ = anon.request("GET", "/api/status")
                assert st == 401, (st, body)
                assert "accounts" not in body
                st, hd, body, _ = anon.request("GET", "/")
                assert st == 303 and hd["Location"] == "/login", (st, dict(hd))
                st, hd, body, _ = anon.request("POST", "/logout", "csrf=x")
                assert st == 303 and hd["Location"] == "/login", (st, dict(hd))
                anon.cookies["exphone_session"] = "0" * 32  # a guessed session
                st, _, _, _ = anon.request("GET", "/api/status")
                assert st == 401, st
            r.check("without a session: /api 401, pages redirect to /login", no_session)

            def tls12_min():
                import ssl
                old = kam.tls_client_context()
                old.maximum_version = ssl.TLSVersion.TLSv1_1
                old.minimum_version = ssl.TLSVersion.TLSv1
                try:
                    Web(port, old).request("GET", "/login")
                except (ssl.SSLError, OSError):
                    return
                raise AssertionError("TLS 1.1 accepted")
            r.check("TLS < 1.2 refused; the certificate verifies against the test CA", tls12_min)

            def login_csrf():
                other = Web(port, ctx)
                other.form_token()
                other.cookies["exphone_login"] = "f" * 32
                st, _, body, _ = other.request("POST", "/login", urllib.parse.urlencode({"csrf": "0" * 32, "password": PASSWORD}))
                assert st == 403, (st, body)
                assert "exphone_session" not in other.cookies
            r.check("a login POST without the form's token -> 403", login_csrf)

            def login():
                st, hd, body, cookies = web.login(PASSWORD)
                assert st == 303 and hd["Location"] == "/", (st, body)
                sc = [c for c in cookies if c.startswith("exphone_session=")]
                assert sc, cookies
                for attr in ("Secure", "HttpOnly", "SameSite=Strict"):
                    assert attr in sc[0], sc[0]
                assert re.fullmatch(r"[0-9a-f]{32}", web.cookies["exphone_session"]), web.cookies
            r.check("login sets a Secure; HttpOnly; SameSite=Strict 128-bit session cookie", login)

            def status_page():
                st, hd, body, _ = web.request("GET", "/")
                assert st == 200, (st, body)
                assert "Content-Security-Policy" in hd and "no-store" in hd.get("Cache-Control", ""), dict(hd)
                row = re.search(r'<tr class="account" data-registered="true"><td>1001@localhost</td>.*?</tr>', body)
                assert row, body
                assert ">tls<" in row.group(0) and "TLSv1." in row.group(0) and "(verified)" in row.group(0), row.group(0)
                assert "No active calls" in body, body
                st, _, body, _ = web.request("GET", "/api/status")
                j = json.loads(body)
                acc = j["accounts"][0]
                assert st == 200 and acc["registered"] and acc["transport"] == "tls" and acc["tls"]["verified"], j
            r.check("status page and /api/status: account 1001 registered over TLS (verified)", status_page)

            def csrf_required():
                st, _, body, _ = web.request("POST", "/logout", "csrf=" + "0" * 32)
                assert st == 403, (st, body)
                st, _, body, _ = web.request("POST", "/api/logout", "")
                assert st == 403, (st, body)
                st, _, _, _ = web.request("GET", "/api/status")
                assert st == 200, "the session survived the refused POSTs"
            r.check("POST without (or with a wrong) CSRF token -> 403", csrf_required)

            def metrics():
                anon = Web(port, ctx)
                st, hd, body, _ = anon.request("GET", "/metrics")
                assert st == 401 and "Bearer" in hd.get("WWW-Authenticate", ""), (st, body)
                st, _, body, _ = anon.request("GET", "/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"})
                assert st == 401, st
                st, _, body, _ = web.request("GET", "/metrics")  # a session is not the metrics token
                assert st == 401, st
                st, hd, body, _ = anon.request("GET", "/metrics", headers={"Authorization": "Bearer " + METRICS_TOKEN})
                assert st == 200 and hd["Content-Type"].startswith("text/plain; version=0.0.4"), (st, dict(hd))
                assert re.search(r'^exphone_registration_up\{account="1001@localhost",transport="tls",tls_version="TLSv1\.[23]"\} 1$', body, re.M), body
                assert re.search(r"^exphone_calls_active 0$", body, re.M), body
                assert re.search(r'^exphone_certificate_expiry_days\{certificate="device"\} \d+$', body, re.M), body
            r.check("/metrics: 401 without its bearer token; with it exphone_registration_up 1", metrics)

            def logout():
                tok = re.search(r'name="csrf" value="([0-9a-f]+)"', web.request("GET", "/")[2]).group(1)
                old = web.cookies["exphone_session"]
                st, hd, _, _ = web.request("POST", "/logout", "csrf=" + tok)
                assert st == 303 and hd["Location"] == "/login", st
                web.cookies["exphone_session"] = old
                st, _, _, _ = web.request("GET", "/api/status")
                assert st == 401, "the session lives on after logout"
            r.check("logout with the CSRF token ends the session server-side", logout)

            def throttled():
                bad = Web(port, ctx)
                codes = [bad.login("wrong password %d" % i)[0] for i in range(5)]
                assert codes == [401] * 5, codes
                st, hd, body, _ = bad.login(PASSWORD)  # the right one, too late
                assert st == 429 and int(hd["Retry-After"]) > 0, (st, body)
                assert "exphone_session" not in bad.cookies
            r.check("5 wrong passwords -> throttled (429, even with the right password)", throttled)

            def no_leaks():
                for body in web.bodies:
                    assert "secret1001" not in body and "PRIVATE KEY" not in body and PASSWORD not in body, body[:500]
            r.check("no page or API reply contains the SIP password, the admin password or a private key", no_leaks)

            def bad_requests():
                import ssl
                s = ctx.wrap_socket(__import__("socket").create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
                try:
                    s.recv(100)
                except (ssl.SSLError, OSError):
                    pass
                s.close()
                try:  # 413, or a reset when the server closes with the body unread
                    st = Web(port, ctx).request("POST", "/login", "a" * 40000)[0]
                    assert st == 413, st
                except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                    pass
                assert proc.poll() is None, "exphone died"
                assert Web(port, ctx).request("GET", "/login")[0] == 200
            r.check("oversized headers and bodies are refused; the server keeps serving", bad_requests)

            proc.terminate()
            out, err = proc.communicate(timeout=20)
            rc, proc = proc.returncode, None
            r.check("login attempts are logged with the client address",
                    lambda: ("login failed from 127.0.0.1" in err and "refused: throttled" in err)
                    or (_ for _ in ()).throw(AssertionError(err[-2000:])))
            r.check("the daemon announced the web admin and exited cleanly",
                    lambda: (f"web admin on https://127.0.0.1:{port}" in out and rc == 0)
                    or (_ for _ in ()).throw(AssertionError((rc, out[-2000:], err[-3000:]))))
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
