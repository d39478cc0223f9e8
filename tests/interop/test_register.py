"""exphone register against a real Kamailio on loopback: UDP, TCP, TLS, mutual TLS, digest MD5
and SHA-256, wrong password, every TLS verification failure with its error code, and flow
recovery after the registrar restarts."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from lib.kamailio import Kamailio
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


def write_config(path, port, transport, password="secret1001", user="1001", tls=None, sip=None, scheme="sip"):
    lines = ["[[account]]", f'user = "{user}"', f'password = "{password}"', 'domain = "localhost"',
             f'registrar = "{scheme}:127.0.0.1:{port};transport={transport}"',
             "retry_base_s = 1"]  # recovery after a registrar restart: RFC 5626 backoff from 0.5..1 s
    if tls:
        lines.append("[tls]")
        for k, v in tls.items():
            lines.append(f"{k} = {json.dumps(v)}")
    if sip:
        lines.append("[sip]")
        for k, v in sip.items():
            lines.append(f"{k} = {json.dumps(v)}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def register(config, *extra, timeout=30):
    cmd = [EXPHONE, "register", "--config", config, "--json", "--timeout", "20", *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    try:
        report = json.loads(p.stdout) if p.stdout.strip() else {}
    except json.JSONDecodeError:
        raise AssertionError(f"stdout is not JSON: {p.stdout!r} stderr={p.stderr!r}")
    return p.returncode, report, p.stderr


def expect_ok(config, kam=None, user="1001", **kw):
    rc, rep, err = register(config, "--keep", **kw)
    assert rc == 0, f"exit {rc}: {err} {rep}"
    acc = rep["accounts"][0]
    assert acc["registered"] is True and acc["expires"] > 0, acc
    if kam is not None:
        assert kam.wait_registered(user, timeout=5), "Kamailio has no binding"
        kam.unregister(user)
    return acc


def expect_error(config, code, **kw):
    rc, rep, err = register(config, **kw)
    assert rc != 0, f"expected failure {code}, got success {rep}"
    assert f"error: {code}:" in err, f"expected {code}, stderr={err!r}"
    assert rep.get("error", {}).get("code") == code, rep
    return rep, err


def main():
    r = Runner("register interop")
    tmp = tempfile.mkdtemp(prefix="exphone-reg-")
    try:
        with Kamailio(tmp) as kam:
            ca = kam.ca_file
            c = lambda name, *a, **k: write_config(os.path.join(tmp, name + ".toml"), *a, **k)

            r.check("udp register with MD5 digest",
                    lambda: expect_ok(c("udp", kam.udp_port, "udp"), kam))
            r.check("tcp register", lambda: expect_ok(c("tcp", kam.tcp_port, "tcp"), kam))

            def tls_ok():
                acc = expect_ok(c("tls", kam.tls_port, "tls", tls={"ca_files": [ca]}), kam)
                t = acc["tls"]
                assert t["verified"] is True, t
                assert t["version"] in ("TLSv1.2", "TLSv1.3"), t
                assert "127.0.0.1" in t["peer_names"], t
                assert "CN=localhost" in t["peer_subject"], t
            r.check("tls register, server verified", tls_ok)

            def outbound_proxy():
                path = os.path.join(tmp, "proxy.toml")
                with open(path, "w") as f:
                    f.write('[[account]]\nuser = "1001"\npassword = "secret1001"\ndomain = "localhost"\n'
                            'registrar = "sip:localhost"\n'
                            f'outbound_proxy = "sip:127.0.0.1:{kam.udp_port};transport=udp"\n')
                expect_ok(path, kam)
            r.check("outbound proxy: REGISTER sip:localhost routed via the proxy", outbound_proxy)

            def two_accounts():
                path = os.path.join(tmp, "two.toml")
                with open(path, "w") as f:
                    for user, transport, port in (("1001", "udp", kam.udp_port), ("1002", "tls", kam.tls_port)):
                        f.write(f'[[account]]\nuser = "{user}"\npassword = "secret{user}"\ndomain = "localhost"\n'
                                f'registrar = "sip:127.0.0.1:{port};transport={transport}"\n')
                    f.write(f'[tls]\nca_files = ["{ca}"]\n')
                rc, rep, err = register(path, "--keep")
                assert rc == 0, err
                assert [a["registered"] for a in rep["accounts"]] == [True, True], rep
                assert kam.wait_registered("1001", timeout=5) and kam.wait_registered("1002", timeout=5)
                kam.unregister("1001")
                kam.unregister("1002")
            r.check("two accounts (UDP and TLS) in one config", two_accounts)

            def unregister_on_exit():
                rc, rep, err = register(c("unreg", kam.udp_port, "udp"))
                assert rc == 0, err
                assert not kam.registered("1001"), "binding left behind after a clean exit"
            r.check("clean exit removes the binding", unregister_on_exit)

            r.check("wrong password -> auth-failed",
                    lambda: expect_error(c("badpw", kam.udp_port, "udp", password="wrong"), "auth-failed"))

            crt, key = kam.cert("client1001")
            r.check("mutual TLS with the device certificate",
                    lambda: expect_ok(c("mtls", kam.mtls_port, "tls",
                                        tls={"ca_files": [ca], "client_cert": crt, "client_key": key}), kam))
            r.check("mutual TLS without a device certificate -> tls-client-cert-required",
                    lambda: expect_error(c("mtls-none", kam.mtls_port, "tls", tls={"ca_files": [ca]}),
                                         "tls-client-cert-required"))
            rcrt, rkey = kam.cert("client1001-rogue")
            r.check("mutual TLS with a certificate from another CA is refused",
                    lambda: expect_error(c("mtls-rogue", kam.mtls_port, "tls",
                                           tls={"ca_files": [ca], "client_cert": rcrt, "client_key": rkey}),
                                         "tls-client-cert-required"))

            rogue_ca = os.path.join(str(kam.certs_dir), "rogue-ca.crt")
            r.check("unknown CA -> tls-unknown-ca",
                    lambda: expect_error(c("unknownca", kam.tls_port, "tls", tls={"ca_files": [rogue_ca]}),
                                         "tls-unknown-ca"))

            def case(cert, code, check_msg=None):
                def run():
                    kam.restart(server_cert=cert)
                    rep, err = expect_error(c("neg-" + cert, kam.tls_port, "tls", tls={"ca_files": [ca]}), code)
                    if check_msg:
                        assert check_msg in err, f"{check_msg!r} not in {err!r}"
                return run
            r.check("missing intermediate -> tls-unknown-ca naming the intermediate",
                    case("server-leafonly", "tls-unknown-ca", "Intermediate"))
            r.check("expired -> tls-expired", case("server-expired", "tls-expired"))
            r.check("not yet valid -> tls-not-yet-valid", case("server-notyetvalid", "tls-not-yet-valid", "NTP"))
            r.check("SAN mismatch -> tls-name-mismatch", case("server-wrongsan", "tls-name-mismatch", "other.example"))
            r.check("self-signed -> tls-self-signed", case("server-selfsigned", "tls-self-signed"))

            def old_tls_server():
                # Kamailio cannot be limited to TLS 1.0/1.1; openssl s_server can (security
                # level 0 is needed for OpenSSL 3 to speak TLS 1.1 at all).
                from lib.ports import free_port
                port = free_port()
                crt, key = kam.cert("server")
                srv = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-tls1_1",
                                        "-cipher", "DEFAULT:@SECLEVEL=0", "-cert", crt, "-key", key, "-quiet"],
                                       stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    deadline = time.monotonic() + 10
                    import socket
                    while True:
                        try:
                            socket.create_connection(("127.0.0.1", port), timeout=1).close()
                            break
                        except OSError:
                            if time.monotonic() > deadline:
                                raise AssertionError("openssl s_server did not start")
                            time.sleep(0.05)
                    rep, err = expect_error(c("tls11", port, "tls", tls={"ca_files": [ca]}), "tls-version")
                finally:
                    srv.kill()
                    srv.wait(timeout=10)
            r.check("server offering only TLS 1.1 -> tls-version", old_tls_server)

            def device_clock_1970():
                if not shutil.which("faketime"):
                    raise AssertionError("faketime (libfaketime) is not installed")
                # libfaketime deadlocks inside AddressSanitizer's clock_gettime interposition, so
                # this one check runs an unsanitized build (scripts/test.sh builds it).
                binary = EXPHONE
                if os.environ.get("EXPHONE_SANITIZED") == "1":
                    binary = os.environ.get("EXPHONE_PLAIN", "")
                    if not binary or not os.path.exists(binary):
                        raise AssertionError("sanitized build: set EXPHONE_PLAIN to an unsanitized exphone")
                kam.restart(server_cert="server")
                env = dict(os.environ, FAKETIME_DONT_FAKE_MONOTONIC="1")
                cfg = c("clock", kam.tls_port, "tls", tls={"ca_files": [ca]})
                p = subprocess.run(["faketime", "1970-01-02 00:00:00", binary, "register", "--config", cfg, "--json",
                                    "--timeout", "20"], capture_output=True, text=True, timeout=60, env=env)
                assert p.returncode != 0, p.stdout
                assert "error: tls-not-yet-valid:" in p.stderr, p.stderr
                assert "1970" in p.stderr, p.stderr
            r.check("device clock in 1970 -> tls-not-yet-valid showing the clock", device_clock_1970)

            def flow_recovery():
                kam.restart(server_cert="server")
                cfg = c("recover", kam.tls_port, "tls", tls={"ca_files": [ca]}, sip={"keepalive_interval_s": 2})
                p = subprocess.Popen([EXPHONE, "register", "--config", cfg, "--hold", "25", "--json"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    assert kam.wait_registered("1001", timeout=10), "never registered"
                    kam.restart()  # drops the TLS connection and every binding
                    assert not kam.registered("1001")
                    t0 = time.monotonic()
                    assert kam.wait_registered("1001", timeout=10), "did not re-register after the registrar restart"
                    print(f"  re-registered {time.monotonic() - t0:.1f} s after the restart")
                finally:
                    p.terminate()
                    p.wait(timeout=10)
            r.check("TLS flow dies with the registrar -> re-registered", flow_recovery)

        with Kamailio(tempfile.mkdtemp(dir=tmp), digest_algorithm="SHA-256") as kam256:
            r.check("SHA-256 digest (RFC 8760)",
                    lambda: expect_ok(write_config(os.path.join(tmp, "sha.toml"), kam256.udp_port, "udp"), kam256))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
