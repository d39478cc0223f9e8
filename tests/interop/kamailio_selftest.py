#!/usr/bin/env python3
"""Self-test of the Kamailio interop harness (tests/interop/lib/kamailio.py) with third-party
clients only: SIPp and sipsak REGISTER over UDP with digest, `openssl s_client` TLS handshakes,
mutual TLS accept/refuse, the negative server certificates, restart on the same ports, and
SHA-256 digest. Exit 0 = all checks passed; otherwise 1 and a FAIL line per failed check.

Everything runs on 127.0.0.1 with kernel-chosen ports in a fresh temp dir (removed on success;
kept and printed on failure, or always with KEEP_STATE=1). Stops everything it started.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lib.kamailio import Kamailio  # noqa: E402
from lib.ports import free_port  # noqa: E402
from lib.sipreg import register  # noqa: E402

REQUIRED_TOOLS = ("kamailio", "kamcmd", "openssl", "sipp", "sipsak")
USERS = {"1001": "secret1001", "1002": "secret1002", "1003": "secret1003"}


class Checks:
    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, ok, desc, detail=""):
        if ok:
            self.passed += 1
            print("PASS: %s" % desc, flush=True)
        else:
            self.failed.append(desc)
            print("FAIL: %s%s" % (desc, ("\n      " + detail.strip().replace("\n", "\n      "))
                                   if detail else ""), flush=True)
        return ok


def run(args, timeout=30, stdin_data="", cwd=None):
    try:
        r = subprocess.run(args, input=stdin_data, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout, cwd=cwd)
        return r.returncode, r.stdout
    except subprocess.TimeoutExpired as e:
        return 124, "TIMEOUT after %ss: %s\n%s" % (timeout, " ".join(args), e.stdout or "")


def s_client(kam, port, *extra, tls12=False):
    args = ["openssl", "s_client", "-connect", "%s:%d" % (kam.host, port), "-CAfile",
            kam.ca_file, "-verify_return_error", "-no_ign_eof", *extra]
    if tls12:
        args.append("-tls1_2")
    return run(args, timeout=15)


def sipp_register(kam, tmp, users, transport="u1"):
    csv = Path(tmp) / ("sipp-users-%s.csv" % "-".join(users))
    csv.write_text("SEQUENTIAL\n" + "".join(
        "%s;[authentication username=%s password=%s]\n" % (u, u, p) for u, p in users.items()))
    lp = free_port(kam.host)
    return run(["sipp", "%s:%d" % (kam.host, kam.udp_port), "-t", transport, "-i", kam.host,
                "-p", str(lp), "-sf", str(HERE / "sipp" / "reg_auth.xml"), "-inf", str(csv),
                "-auth_uri", "localhost", "-nd", "-m", str(len(users)), "-l", "1", "-nostdin",
                "-timeout", "20s", "-timeout_error", "-trace_err", "-error_file",
                str(Path(tmp) / "sipp_errors.log")], timeout=40, cwd=tmp)


def sipsak_register(kam, user, password):
    lp = free_port(kam.host)
    # From/To sip:USER@localhost (a Kamailio alias), sent to 127.0.0.1:udp_port
    return run(["sipsak", "-U", "-i", "-C", "sip:%s@127.0.0.1:%d" % (user, lp),
                "-s", "sip:%s@localhost" % user, "-r", str(kam.udp_port),
                "--outbound-proxy=%s" % kam.host, "-a", password, "-l", str(lp),
                "-x", "300"], timeout=30)


def main() -> int:
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        print("FAIL: missing tools %s (run scripts/install-deps.sh as root)" % " ".join(missing))
        return 1
    tmp = tempfile.mkdtemp(prefix="exphone-kam-selftest-")
    c = Checks()
    t0 = time.monotonic()
    try:
        with Kamailio(tmp, server_cert="server", users=USERS,
                      require_client_cert_port=True) as kam:
            print("kamailio pid %d: udp/tcp %d, tls %d, mtls %d, state %s" % (
                kam.pid, kam.udp_port, kam.tls_port, kam.mtls_port, kam.state_dir), flush=True)
            pid1 = kam.pid

            # --- REGISTER over UDP with digest, third-party clients --------------------------
            c.check(not kam.registered("1001"), "1001 not registered before any REGISTER")
            rc, out = sipp_register(kam, tmp, {"1001": USERS["1001"]})
            c.check(rc == 0, "SIPp UDP REGISTER 1001 (401 -> digest qop=auth -> 200)", out[-1500:])
            c.check(kam.registered("1001"), "kam.registered('1001') after SIPp",
                    kam.ul_dump())
            rc, out = sipsak_register(kam, "1002", USERS["1002"])
            c.check(rc == 0 and kam.registered("1002"),
                    "sipsak UDP REGISTER 1002 with digest -> registered", out[-1000:])
            rc, out = sipsak_register(kam, "1003", "not-the-password")
            c.check(rc != 0 and "401" in out and not kam.registered("1003"),
                    "sipsak UDP REGISTER 1003 with a wrong password -> 401, not registered",
                    out[-800:])
            kam.unregister("1002")
            c.check(kam.wait_registered("1002", timeout=5, registered=False),
                    "kam.unregister('1002') drops the binding")

            # --- TLS port: server cert verification ---------------------------------------------
            rc, out = s_client(kam, kam.tls_port, "-verify_ip", "127.0.0.1")
            c.check(rc == 0 and "Verify return code: 0 (ok)" in out,
                    "openssl s_client -verify_ip 127.0.0.1 on TLS port (chain via intermediate)",
                    out[-1500:])
            rc, out = s_client(kam, kam.tls_port, "-servername", "localhost",
                               "-verify_hostname", "localhost")
            c.check(rc == 0 and "Verify return code: 0 (ok)" in out,
                    "openssl s_client -servername localhost -verify_hostname localhost",
                    out[-1500:])
            rc, out = s_client(kam, kam.tls_port, "-verify_hostname", "other.example")
            c.check(rc != 0, "s_client -verify_hostname other.example is refused", out[-600:])
            r = register(kam.host, kam.tls_port, "1003", USERS["1003"], transport="tls",
                         ssl_context=kam.tls_client_context())
            c.check(r.status == 200 and kam.registered("1003"),
                    "REGISTER 1003 over TLS (stdlib client, verified) -> 200", repr(r))

            # --- mTLS port ------------------------------------------------------------------
            rc, out = s_client(kam, kam.mtls_port, "-verify_ip", "127.0.0.1", tls12=True)
            c.check(rc != 0, "mTLS port: TLS 1.2 handshake without client cert is refused",
                    out[-800:])
            try:
                r = register(kam.host, kam.mtls_port, "1001", USERS["1001"], transport="tls",
                             ssl_context=kam.tls_client_context())
                ok, detail = False, repr(r)
            except Exception as e:  # TLS 1.3: the refusal arrives after the handshake
                ok, detail = "certificate required" in str(e), repr(e)
            c.check(ok, "mTLS port: TLS 1.3 client without cert gets 'certificate required'",
                    detail)
            crt, key = kam.cert("client1001")
            rc, out = s_client(kam, kam.mtls_port, "-verify_ip", "127.0.0.1", "-cert", crt,
                               "-key", key, tls12=True)
            c.check(rc == 0 and "Verify return code: 0 (ok)" in out,
                    "mTLS port: s_client with device cert client1001 (TLS 1.2) succeeds",
                    out[-1500:])
            r = register(kam.host, kam.mtls_port, "1001", USERS["1001"], transport="tls",
                         ssl_context=kam.tls_client_context("client1001"))
            c.check(r.status == 200, "mTLS port: REGISTER 1001 with device cert -> 200", repr(r))
            r = register(kam.host, kam.mtls_port, "1002", USERS["1002"], transport="tls",
                         ssl_context=kam.tls_client_context("client1001"))
            c.check(r.status == 403, "mTLS port: cert CN=1001 but From 1002 -> 403", repr(r))
            crt, key = kam.cert("client1001-rogue")
            rc, out = s_client(kam, kam.mtls_port, "-cert", crt, "-key", key, tls12=True)
            c.check(rc != 0, "mTLS port: cert from an unrelated CA is refused", out[-800:])

            # --- restart on the same ports, negative server certificates ------------------------
            ports = (kam.udp_port, kam.tls_port, kam.mtls_port)
            negatives = {
                "server-expired": ("-verify_ip", "127.0.0.1"),
                "server-notyetvalid": ("-verify_ip", "127.0.0.1"),
                "server-wrongsan": ("-verify_ip", "127.0.0.1"),
                "server-selfsigned": ("-verify_ip", "127.0.0.1"),
                "server-leafonly": ("-verify_ip", "127.0.0.1"),
            }
            expect = {"server-expired": "certificate has expired",
                      "server-notyetvalid": "certificate is not yet valid",
                      "server-wrongsan": "IP address mismatch",
                      "server-selfsigned": "self-signed certificate",
                      "server-leafonly": "unable to get local issuer certificate"}
            for name, extra in negatives.items():
                kam.restart(server_cert=name)
                rc, out = s_client(kam, kam.tls_port, *extra)
                c.check(rc != 0 and expect[name] in out,
                        "TLS port serving %s: client verification fails with '%s'"
                        % (name, expect[name]), out[-800:])
            kam.restart(server_cert="server")
            c.check((kam.udp_port, kam.tls_port, kam.mtls_port) == ports and kam.pid != pid1,
                    "restart() keeps the ports (%d/%d/%d) with a new PID" % ports)
            c.check(not kam.registered("1001"), "registrations are gone after restart (in memory)")
            rc, out = s_client(kam, kam.tls_port, "-verify_ip", "127.0.0.1")
            c.check(rc == 0, "TLS port verifies again after restart with 'server'", out[-800:])
            rc, out = sipp_register(kam, tmp, {"1001": USERS["1001"], "1002": USERS["1002"]})
            c.check(rc == 0 and kam.registered("1001") and kam.registered("1002"),
                    "SIPp UDP REGISTER 1001+1002 after restart", out[-1000:])

            # --- optional client cert on the mTLS port ------------------------------------------
            kam.restart(require_client_cert_port=False)
            rc, out = s_client(kam, kam.mtls_port, "-verify_ip", "127.0.0.1", tls12=True)
            c.check(rc == 0, "require_client_cert_port=False: handshake without cert accepted",
                    out[-800:])
            r = register(kam.host, kam.mtls_port, "1002", USERS["1002"], transport="tls",
                         ssl_context=kam.tls_client_context())
            c.check(r.status == 200, "require_client_cert_port=False: REGISTER without cert -> 200",
                    repr(r))
            last_pid = kam.pid
            log = kam.log_text()
            c.check("REQ REGISTER" in log, "kam.log_text() holds the Kamailio log")
        c.check(not _pid_alive(last_pid), "Kamailio PID %d is gone after the with-block" % last_pid)

        # --- SHA-256 digest (RFC 8760) ---------------------------------------------------------
        with Kamailio(tmp, users=USERS, digest_algorithm="SHA-256") as kam2:
            r = register(kam2.host, kam2.udp_port, "1001", USERS["1001"])
            c.check(r.status == 200 and "algorithm=SHA-256" in (r.challenges or [""])[0]
                    and kam2.registered("1001"),
                    "digest_algorithm='SHA-256': challenge has algorithm=SHA-256, REGISTER -> 200",
                    repr(r))
            r = register(kam2.host, kam2.udp_port, "1002", "wrong")
            c.check(r.status == 401, "SHA-256: wrong password -> 401", repr(r))
    except Exception as e:  # harness failure: report clearly, cleanup already ran (with-blocks)
        import traceback
        c.check(False, "harness error: %s" % e, traceback.format_exc())
    finally:
        dt = time.monotonic() - t0
        if c.failed or os.environ.get("KEEP_STATE") == "1":
            print("state kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed (%.1f s)" % (c.passed, len(c.failed), dt))
    if c.failed:
        print("KAMAILIO SELFTEST FAIL: " + "; ".join(c.failed))
        return 1
    print("KAMAILIO SELFTEST PASS")
    return 0


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie would still answer; Popen.wait() reaped ours, so this means a live process
    return True


if __name__ == "__main__":
    # make SIGTERM/SIGINT unwind the with-blocks so Kamailio is stopped
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
