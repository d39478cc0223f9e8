"""SIP over WebSocket (RFC 7118) against a real Kamailio (websocket + xhttp modules) on loopback:
exphone registers over WS and WSS (subprotocol "sip"); WSS verifies the server exactly like
SIP-TLS (test CA, SAN check, the same tls-* error codes); WebSocket pings keep the flow and a
dead flow (registrar restart) is noticed and the phone registers again; a call between an
exphone registered over WSS and one registered over TLS, both directions of the WSS flow."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from lib.kamailio import Kamailio
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


def write(path, body):
    with open(path, "w") as f:
        f.write(body)
    return path


def config(kam, user="1001", registrar=None, transport=None, tls=None, sip=None, extra=""):
    lines = ["[[account]]", f'user = "{user}"', f'password = "secret{user}"', 'domain = "localhost"',
             f'registrar = "{registrar}"', "retry_base_s = 1"]  # docs/resilience.md backoff, short
    if transport:
        lines.append(f'transport = "{transport}"')
    if tls:
        lines.append("[tls]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in tls.items()]
    if sip:
        lines.append("[sip]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in sip.items()]
    return "\n".join(lines) + "\n" + extra


def register(path, *extra):
    p = subprocess.run([EXPHONE, "register", "--config", path, "--json", "--timeout", "20", *extra],
                       capture_output=True, text=True, timeout=60)
    try:
        rep = json.loads(p.stdout) if p.stdout.strip() else {}
    except json.JSONDecodeError:
        raise AssertionError(f"stdout is not JSON: {p.stdout!r} stderr={p.stderr!r}")
    return p.returncode, rep, p.stderr


def tcpconn_id(kam, user):
    """Kamailio's id of the connection a binding arrived on (changes when the flow is re-opened)."""
    out = kam.kamcmd("ul.lookup", "location", "s:%s" % user, check=False)[1]
    ids = [l.split(":", 1)[1].strip() for l in out.splitlines() if l.strip().startswith("Tcpconn-Id:")]
    assert ids, out
    return ids


def main():
    r = Runner("SIP over WebSocket (RFC 7118) with Kamailio")
    tmp = tempfile.mkdtemp(prefix="exphone-ws-")
    try:
        with Kamailio(os.path.join(tmp, "kam")) as kam:
            ca = kam.ca_file
            cfg = lambda name, **kw: write(os.path.join(tmp, name + ".toml"), config(kam, **kw))

            def ok(path, user="1001", transport="ws"):
                rc, rep, err = register(path, "--keep")
                assert rc == 0, f"exit {rc}: {err} {rep}"
                acc = rep["accounts"][0]
                assert acc["registered"] is True and acc["expires"] > 0, acc
                assert kam.wait_registered(user, timeout=5), "Kamailio has no binding"
                c = " ".join(kam.contacts(user))
                assert f"transport={transport}" in c, c  # RFC 7118 section 5.2 Contact
                kam.unregister(user)
                return acc

            def ws():
                acc = ok(cfg("ws", registrar=f"sip:127.0.0.1:{kam.ws_port};transport=ws"))
                assert not acc.get("tls"), acc
            r.check("register over WS (registrar ;transport=ws)", ws)

            def wss():
                acc = ok(cfg("wss", registrar=f"sip:127.0.0.1:{kam.wss_port};transport=wss", tls={"ca_files": [ca]}),
                         transport="wss")
                t = acc["tls"]
                assert t["verified"] is True, t
                assert t["version"] in ("TLSv1.2", "TLSv1.3"), t
                assert "127.0.0.1" in t["peer_names"], t
            r.check("register over WSS, server verified with the test CA", wss)

            r.check("register over WSS from [account] transport = \"wss\" with a sips: registrar",
                    lambda: ok(cfg("wss-key", registrar=f"sips:127.0.0.1:{kam.wss_port}", transport="wss",
                                   tls={"ca_files": [ca]}), transport="wss"))

            def expect_error(path, code, text=None, report=True):
                rc, rep, err = register(path)
                assert rc != 0, f"expected {code}, got success {rep}"
                assert f"error: {code}:" in err, f"expected {code}, stderr={err!r}"
                if report:  # a config error stops before any report
                    assert rep.get("error", {}).get("code") == code, rep
                if text:
                    assert text in err, f"{text!r} not in {err!r}"

            rogue_ca = os.path.join(str(kam.certs_dir), "rogue-ca.crt")
            r.check("WSS with an unknown CA -> tls-unknown-ca (as SIP-TLS)",
                    lambda: expect_error(cfg("wss-rogue", registrar=f"sip:127.0.0.1:{kam.wss_port};transport=wss",
                                             tls={"ca_files": [rogue_ca]}), "tls-unknown-ca"))
            r.check("WSS without any trust anchor is refused before connecting (verification cannot be skipped)",
                    lambda: expect_error(cfg("wss-noca", registrar=f"sip:127.0.0.1:{kam.wss_port};transport=wss"),
                                         "tls-config", "no trust anchors", report=False))
            r.check("WS to Kamailio's plain SIP/TCP port (no WebSocket there) -> ws-handshake",
                    lambda: expect_error(cfg("ws-wrongport", registrar=f"sip:127.0.0.1:{kam.sip_port};transport=ws"),
                                         "ws-handshake"))

            crt, key = kam.cert("client1001")

            def wss_client_cert():
                ok(cfg("wss-mtls", registrar=f"sip:127.0.0.1:{kam.wss_port};transport=wss",
                       tls={"ca_files": [ca], "client_cert": crt, "client_key": key}), transport="wss")
                with open(kam.log_file, errors="replace") as f:
                    log = f.read()
                assert "WSS client certificate CN=1001" in log, "Kamailio did not see a verified client certificate"
            r.check("mutual TLS over WSS: Kamailio verifies the device certificate (CN=1001)", wss_client_cert)
            rcrt, rkey = kam.cert("client1001-rogue")
            r.check("WSS with a device certificate from another CA is refused -> tls-client-cert-required",
                    lambda: expect_error(cfg("wss-mtls-rogue", registrar=f"sip:127.0.0.1:{kam.wss_port};transport=wss",
                                             tls={"ca_files": [ca], "client_cert": rcrt, "client_key": rkey}),
                                         "tls-client-cert-required"))

            def keepalive_and_recovery():
                path = cfg("wss-hold", registrar=f"sip:127.0.0.1:{kam.wss_port};transport=wss",
                           tls={"ca_files": [ca]}, sip={"keepalive_interval_s": 1})
                p = subprocess.Popen([EXPHONE, "register", "--config", path, "--hold", "30", "--json"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    assert kam.wait_registered("1001", timeout=10), "never registered"
                    conn = tcpconn_id(kam, "1001")
                    # pings every second for longer than the 10 s pong timeout: Kamailio's pongs
                    # keep the very same WebSocket connection up
                    time.sleep(12)
                    assert p.poll() is None, p.communicate()
                    assert kam.registered("1001")
                    assert tcpconn_id(kam, "1001") == conn, "the WSS connection was replaced"
                    kam.restart()  # the WSS connection and every binding are gone
                    assert not kam.registered("1001")
                    t0 = time.monotonic()
                    assert kam.wait_registered("1001", timeout=15), "did not re-register after the restart"
                    print(f"  re-registered over WSS {time.monotonic() - t0:.1f} s after the restart")
                finally:
                    p.terminate()
                    out, err = p.communicate(timeout=15)
                kam.unregister("1001")
            r.check("WSS flow: pings keep it, registrar restart -> dead flow noticed, registered again",
                    keepalive_and_recovery)

            def wrong_cert(cert, code, text=None):
                def run():
                    kam.restart(server_cert=cert)
                    try:
                        expect_error(cfg("wss-" + cert, registrar=f"sip:127.0.0.1:{kam.wss_port};transport=wss",
                                         tls={"ca_files": [ca]}), code, text)
                    finally:
                        kam.restart(server_cert="server")
                return run
            r.check("WSS, SAN mismatch -> tls-name-mismatch",
                    wrong_cert("server-wrongsan", "tls-name-mismatch", "other.example"))
            r.check("WSS, expired certificate -> tls-expired", wrong_cert("server-expired", "tls-expired"))

            # Calls through Kamailio between an exphone registered over WSS and one over TLS. The
            # callee (1001, auto-answer daemon) is reached over its registration flow (Kamailio's
            # received/alias handling); the caller's INVITE carries Via SIP/2.0/WSS when it is on WSS.
            regs = {"wss": f"sip:127.0.0.1:{kam.wss_port};transport=wss", "tls": f"sips:127.0.0.1:{kam.tls_port}"}

            def call_body(user, transport):
                return (config(kam, user=user, registrar=regs[transport], tls={"ca_files": [ca]}) +
                        '[phone]\nsrtp = "mandatory"\n')

            def run_call(callee_transport, caller_transport):
                ctl = os.path.join(tmp, f"d1001-{callee_transport}.sock")
                dpath = write(os.path.join(tmp, f"d1001-{callee_transport}.toml"),
                              call_body("1001", callee_transport).replace(
                                  "[phone]\n", f'[phone]\nauto_answer = true\nauto_answer_from = ["1002"]\n'
                                               f'control_socket = "{ctl}"\n', 1))
                kam.unregister("1001")
                d = subprocess.Popen([EXPHONE, "run", "--config", dpath, "--send-tone", "440", "--expect-tone", "1000"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    assert kam.wait_registered("1001", timeout=15), f"exphone over {callee_transport} did not register"
                    cpath = write(os.path.join(tmp, f"c1002-{caller_transport}.toml"), call_body("1002", caller_transport))
                    p = subprocess.run([EXPHONE, "call", "--config", cpath, "1001", "--duration", "2", "--json"],
                                       capture_output=True, text=True, timeout=120)
                    time.sleep(0.5)
                finally:
                    d.terminate()
                    dout, derr = d.communicate(timeout=15)
                reps = [json.loads(l.split(" ", 1)[1]) for l in dout.splitlines() if l.startswith("call-report ")]
                assert p.returncode == 0, (p.stdout, p.stderr[-3000:], derr[-3000:])
                for rep, transport in ((json.loads(p.stdout), caller_transport), (reps[0] if reps else None, callee_transport)):
                    assert rep is not None, (dout, derr[-3000:])
                    assert rep["answered"] and rep["signaling"]["transport"] == transport, rep
                    assert rep["signaling"]["tls"]["verified"], rep["signaling"]
                    m = rep["media"]
                    assert m["srtp"] and m["srtp_auth_failures"] == 0 and m["heard_tone_ratio"] > 0.8, m
                    assert rep["secure"], rep
                assert reps[0]["direction"] == "incoming", reps[0]

            r.check("exphone/TLS -> Kamailio -> exphone/WSS: INVITE over the WSS flow, SRTP both ways, padlock",
                    lambda: run_call("wss", "tls"))
            r.check("exphone/WSS -> Kamailio -> exphone/TLS: call placed over WSS, SRTP both ways, padlock",
                    lambda: run_call("tls", "wss"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
