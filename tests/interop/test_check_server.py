"""exphone check-server against real TLS servers on loopback.

Kamailio (lib/kamailio.py) serves each certificate of lib/certs.py in turn on its TLS port, and
its mutual-TLS port requires a client certificate from the test CA. `openssl s_server` plays the
servers Kamailio cannot be: TLS 1.0/1.1 only, TLS 1.0-1.3 with a good certificate, an RSA-1024
leaf and a SHA-1 signed leaf (both generated here with the openssl CLI). s_server speaks no SIP, so
OPTIONS gets no answer there: those checks assert the TLS findings and a non-zero exit.

Asserted, from `check-server --json` (one object on stdout) and the exit status / stderr line:
- good chain: exit 0, verified, verdict ok, TLS 1.3, both certificates as sent (leaf then the
  intermediate) with subject, issuer, SAN, RSA 2048, sha256WithRSAEncryption, validity; OPTIONS
  answered 200 with a time; TLS 1.0/1.1 refused; no client certificate requested; no warnings;
  the same over sip:...;transport=tls and by the name "localhost"; human output names the verdict.
- each broken certificate: exit 1, `error: <code>: ` on stderr, the phone's code in the verdict
  and the fix in the message (intermediate to install, renew / NTP with the local clock, the names
  the certificate has vs the address used, the self-signed fingerprint, the missing root), the
  chain still shown, OPTIONS answered over an unverified second connection (marked so).
- mTLS port: with client1001 -> exit 0, requested/sent/accepted; without -> tls-client-cert-required,
  requested, not accepted; with a certificate from a rogue CA -> tls-client-cert-required, sent,
  not accepted (Kamailio speaks TLS 1.3: the refusal arrives after the handshake); s_server with
  TLS 1.2 requiring a certificate -> the same code from inside the handshake, server verified.
- s_server: TLS 1.0/1.1 only -> tls-version and both legacy versions accepted (legacy-tls warnings);
  good certificate with TLS 1.0..1.3 -> verified but legacy-tls warnings; RSA-1024 leaf ->
  tls-weak-certificate + weak-key; SHA-1 leaf -> tls-weak-certificate + weak-signature.
- bad input: a plain sip: URI and an unreadable CA file are clear errors (usage, tls-config).
"""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lib.certs import ensure_pki
from lib.kamailio import Kamailio
from lib.ports import free_port, wait_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


def check(*args, timeout=60):
    """Runs check-server; returns (exit status, parsed JSON or None, stderr)."""
    p = subprocess.run([EXPHONE, "check-server", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    # a sanitizer report also exits 1: never let it pass for an expected failure
    expect("Sanitizer" not in p.stderr and "runtime error:" not in p.stderr, "sanitizer report:\n" + p.stderr)
    out = None
    if "--json" in args and p.stdout.strip():
        out = json.loads(p.stdout)
    return p.returncode, out, p.stderr


def expect(cond, what, report=None):
    if not cond:
        raise AssertionError(what + ("\n" + json.dumps(report, indent=1) if report is not None else ""))


def expect_failure(rc, j, err, code, *needles):
    expect(rc == 1, f"exit status {rc}, want 1", j)
    expect(err.startswith(f"error: {code}: "), f"stderr {err!r} does not start with 'error: {code}: '")
    expect(j["ok"] is False and j["error"]["code"] == code, f"report error is not {code}", j)
    for n in needles:
        expect(n in j["error"]["message"], f"{n!r} not in the message", j)


def expect_cert_verdict(j, code, *needles):
    """A certificate the phone refuses: verdict = code, chain shown, OPTIONS over an unverified look."""
    expect(j["verified"] is False and j["verdict"]["code"] == code, f"verdict is not {code}", j)
    for n in needles:
        expect(n in j["verdict"]["message"], f"{n!r} not in the verdict", j)
    expect(len(j["chain"]) >= 1, "chain missing", j)
    expect(j["options"]["unverified"] is True, "OPTIONS not marked unverified", j)


class SServer:
    """openssl s_server on a free loopback port; stdin kept open (EOF would end each session)."""

    def __init__(self, workdir, cert, key, chain=None, args=()):
        self.port = free_port(udp=False)
        cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", "-cert", cert, "-key", key,
               "-quiet", "-cipher", "DEFAULT:@SECLEVEL=0", *args]
        if chain:
            cmd += ["-cert_chain", chain]
        self.log = open(Path(workdir) / f"s_server-{self.port}.log", "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port, timeout=10)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdin:
            self.proc.stdin.close()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def openssl(args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_weak_leaf(certs, name, bits, digest):
    """A leaf for 127.0.0.1 signed by the test intermediate: RSA `bits`, signature `digest`."""
    openssl(["req", "-new", "-newkey", f"rsa:{bits}", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN=localhost/O=check-server {name}"], certs)
    Path(certs, f"{name}.ext").write_text("basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
                                          "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(["x509", "-req", "-in", f"{name}.csr", "-CA", "inter.crt", "-CAkey", "inter.key",
             "-CAcreateserial", "-CAserial", f"{name}.srl", "-days", "200", f"-{digest}",
             "-extfile", f"{name}.ext", "-out", f"{name}.crt"], certs)
    return str(Path(certs, f"{name}.crt")), str(Path(certs, f"{name}.key"))


def main():
    r = Runner("interop_check_server")
    tmp = tempfile.mkdtemp(prefix="exphone-checksrv-")
    try:
        pki = ensure_pki(os.path.join(tmp, "certs"))
        ca = pki.ca_file
        with Kamailio(tmp, server_cert="server", certs_dir=pki.dir, require_client_cert_port=True) as kam:
            good_uri = f"sips:127.0.0.1:{kam.tls_port}"

            def good():
                rc, j, err = check(good_uri, "--ca", ca, "--json", "--timeout", "5")
                expect(rc == 0, f"exit {rc}: {err}", j)
                expect(j["ok"] and j["verified"] and j["verdict"]["code"] == "ok", "not verified", j)
                expect(j["server_name"] == "127.0.0.1" and j["address"] == f"127.0.0.1:{kam.tls_port}", "address", j)
                expect(j["tls"]["version"] == "TLSv1.3" and j["tls"]["cipher"].startswith("TLS_"), "tls", j)
                ch = j["chain"]
                expect(len(ch) == 2, "want leaf + intermediate as sent", j)
                expect(ch[0]["subject"].startswith("CN=localhost") and
                       ch[0]["issuer"].startswith("CN=exphone Test Intermediate CA"), "leaf names", j)
                expect(set(ch[0]["san"]) == {"DNS:localhost", "IP:127.0.0.1", "IP:::1"}, "SAN", j)
                expect(ch[0]["key"] == {"type": "RSA", "bits": 2048}, "key", j)
                expect(ch[0]["signature_algorithm"] == "sha256WithRSAEncryption"
                       and ch[0]["signature_digest"] == "SHA256", "signature", j)
                expect(ch[0]["ca"] is False and ch[1]["ca"] is True and ch[1]["self_signed"] is False, "ca", j)
                expect(ch[1]["subject"].startswith("CN=exphone Test Intermediate CA"), "intermediate", j)
                expect(ch[0]["not_before"].endswith("UTC") and ch[0]["not_after"] > ch[0]["not_before"], "validity", j)
                expect(len(ch[0]["sha256"]) == 95, "fingerprint", j)
                o = j["options"]
                expect(o["answered"] and o["status"] == 200 and o["time_ms"] >= 0 and not o["unverified"], "OPTIONS", j)
                expect(j["legacy_versions"] == {"TLSv1": False, "TLSv1.1": False}, "legacy", j)
                expect(j["client_cert"]["requested"] is False, "client cert", j)
                expect(j["warnings"] == [], "warnings", j)
            r.check("good chain: verified, chain as sent, OPTIONS 200, no legacy TLS", good)

            def variants():
                rc, j, err = check(f"sip:127.0.0.1:{kam.tls_port};transport=tls", "--ca", ca, "--json")
                expect(rc == 0 and j["options"]["status"] == 200, f"transport=tls: {err}", j)
                rc, j, err = check(f"sips:localhost:{kam.tls_port}", "--ca", ca, "--json", "--no-legacy-probe")
                expect(rc == 0 and j["server_name"] == "localhost" and j["legacy_versions"] == {}, f"by name: {err}", j)
                p = subprocess.run([EXPHONE, "check-server", good_uri, "--ca", ca], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=60)
                expect(p.returncode == 0 and "verdict      OK" in p.stdout and "options      200" in p.stdout,
                       "human output:\n" + p.stdout + p.stderr)
            r.check("sip:;transport=tls, DNS name, human output", variants)

            def wss():
                # RFC 7118: the same TLS checks on Kamailio's WSS port, then OPTIONS over the WebSocket
                rc, j, err = check(f"sip:127.0.0.1:{kam.wss_port};transport=wss", "--ca", ca, "--json",
                                   "--timeout", "5")
                expect(rc == 0 and j["ok"] and j["verified"], f"exit {rc}: {err}", j)
                expect(j["address"] == f"127.0.0.1:{kam.wss_port}", "address", j)
                expect(len(j["chain"]) == 2 and j["chain"][0]["subject"].startswith("CN=localhost"), "chain", j)
                expect(j["options"]["answered"] and j["options"]["status"] == 200, "OPTIONS over WSS", j)
                expect(j["client_cert"]["requested"] is True, "the WSS port asks for a client certificate", j)
                rc, j, err = check(f"sip:127.0.0.1:{kam.wss_port};transport=wss", "--ca", pki.crt("rogue-ca"),
                                   "--json", "--no-legacy-probe")
                expect_failure(rc, j, err, "tls-unknown-ca")
            r.check("sip:;transport=wss: the WSS port's chain verified, OPTIONS 200 over the WebSocket; "
                    "wrong trust -> tls-unknown-ca", wss)

            def rogue_trust():
                rc, j, err = check(good_uri, "--ca", pki.crt("rogue-ca"), "--json", "--no-legacy-probe")
                expect_failure(rc, j, err, "tls-unknown-ca")
                expect_cert_verdict(j, "tls-unknown-ca", "exphone Test Root CA", "Fix:")
                expect(j["options"]["status"] == 200, "Kamailio still answers (unverified)", j)
            r.check("trust store without our root -> tls-unknown-ca naming the root", rogue_trust)

            def bad(cert, code, *needles):
                def run():
                    kam.restart(server_cert=cert)
                    rc, j, err = check(good_uri, "--ca", ca, "--json", "--no-legacy-probe", "--timeout", "5")
                    expect_failure(rc, j, err, code)
                    expect_cert_verdict(j, code, *needles)
                    expect(j["options"]["answered"] and j["options"]["status"] == 200, "unverified OPTIONS", j)
                    return j
                return run

            r.check("missing intermediate -> tls-unknown-ca, install the intermediate",
                    bad("server-leafonly", "tls-unknown-ca", "missing intermediate",
                        "'CN=exphone Test Intermediate CA", "install it on the server"))
            r.check("expired -> tls-expired, renew, NTP",
                    bad("server-expired", "tls-expired", "expired on", "renew", "NTP"))

            def not_yet_valid():
                j = bad("server-notyetvalid", "tls-not-yet-valid", "not valid before", "device clock is", "NTP")()
                # the local clock in the message is the one in the report (to the minute)
                expect(j["local_clock"][:16] in j["verdict"]["message"], "local clock not in the message", j)
            r.check("not yet valid -> tls-not-yet-valid with the local clock and NTP", not_yet_valid)

            def wrong_san():
                j = bad("server-wrongsan", "tls-name-mismatch", "'127.0.0.1'", "DNS:other.example",
                        "subjectAltName IP:127.0.0.1")()
                expect(j["chain"][0]["san"] == ["DNS:other.example"], "chain SAN", j)
            r.check("wrong SAN -> tls-name-mismatch: names it has vs the address used", wrong_san)

            def self_signed():
                j = bad("server-selfsigned", "tls-self-signed", "self-signed")()
                expect(j["chain"][0]["sha256"] in j["verdict"]["message"], "fingerprint not in the message", j)
                expect(j["chain"][0]["self_signed"] is True, "self_signed flag", j)
            r.check("self-signed -> tls-self-signed with the fingerprint", self_signed)

            kam.restart(server_cert="server")
            mtls_uri = f"sips:127.0.0.1:{kam.mtls_port}"

            def mtls_ok():
                rc, j, err = check(mtls_uri, "--ca", ca, "--client-cert", pki.crt("client1001"),
                                   "--client-key", pki.key("client1001"), "--json", "--no-legacy-probe")
                expect(rc == 0, f"exit {rc}: {err}", j)
                expect(j["client_cert"] == {"configured": True, "requested": True, "sent": True, "accepted": True},
                       "client cert", j)
                expect(j["options"]["status"] == 200, "OPTIONS", j)
            r.check("mTLS with client1001: requested, sent, accepted, OPTIONS 200", mtls_ok)

            def mtls_none():
                rc, j, err = check(mtls_uri, "--ca", ca, "--json", "--no-legacy-probe")
                expect_failure(rc, j, err, "tls-client-cert-required", "none is configured")
                expect(j["verified"] is True, "server certificate itself is fine", j)
                expect(j["client_cert"]["requested"] is True and j["client_cert"]["sent"] is False
                       and j["client_cert"]["accepted"] is False, "client cert", j)
            r.check("mTLS without a certificate -> tls-client-cert-required", mtls_none)

            def mtls_rogue():
                rc, j, err = check(mtls_uri, "--ca", ca, "--client-cert", pki.pem("client1001-rogue"),
                                   "--json", "--no-legacy-probe")
                expect_failure(rc, j, err, "tls-client-cert-required", "rejected our client certificate")
                expect(j["client_cert"]["sent"] is True and j["client_cert"]["accepted"] is False, "client cert", j)
            r.check("mTLS with a rogue-CA certificate -> refused", mtls_rogue)

        certs = pki.dir

        def legacy_only():
            with SServer(tmp, pki.crt("server"), pki.key("server"), args=["-no_tls1_2", "-no_tls1_3"]) as s:
                rc, j, err = check(f"sips:127.0.0.1:{s.port}", "--ca", ca, "--json", "--timeout", "3")
                expect_failure(rc, j, err, "tls-version", "RFC 8996")
                expect(j["legacy_versions"] == {"TLSv1": True, "TLSv1.1": True}, "legacy", j)
                codes = [w["code"] for w in j["warnings"]]
                expect(codes.count("legacy-tls") == 2, "legacy-tls warnings", j)
        r.check("s_server TLS 1.0/1.1 only -> tls-version, both legacy versions accepted", legacy_only)

        def legacy_too():
            with SServer(tmp, pki.crt("server"), pki.key("server"), chain=pki.crt("inter")) as s:
                rc, j, err = check(f"sips:127.0.0.1:{s.port}", "--ca", ca, "--json", "--timeout", "2")
                expect(j["verified"] is True and j["verdict"]["code"] == "ok", "verified", j)
                expect(j["legacy_versions"] == {"TLSv1": True, "TLSv1.1": True}, "legacy", j)
                expect(any(w["code"] == "legacy-tls" and "TLS 1.0" in w["message"] for w in j["warnings"]),
                       "legacy-tls warning", j)
                # s_server speaks no SIP: no OPTIONS response -> non-zero exit with timeout
                expect_failure(rc, j, err, "timeout")
        r.check("s_server TLS 1.0..1.3, good chain -> verified, legacy-tls warning", legacy_too)

        def mtls_tls12():
            # TLS 1.2: the refusal comes inside the handshake, after our side verified the server.
            with SServer(tmp, pki.crt("server"), pki.key("server"), chain=pki.crt("inter"),
                         args=["-tls1_2", "-Verify", "1", "-CAfile", ca]) as s:
                rc, j, err = check(f"sips:127.0.0.1:{s.port}", "--ca", ca, "--json", "--timeout", "3",
                                   "--no-legacy-probe")
                expect_failure(rc, j, err, "tls-client-cert-required", "none is configured")
                expect(j["verified"] is True and j["tls"]["version"] == "TLSv1.2", "server verified", j)
                expect(j["client_cert"]["requested"] is True and j["client_cert"]["accepted"] is False, "mTLS", j)
        r.check("s_server TLS 1.2 requiring a client certificate -> tls-client-cert-required", mtls_tls12)

        def weak(name, bits, digest, warning):
            def run():
                crt, key = make_weak_leaf(certs, name, bits, digest)
                with SServer(tmp, crt, key, chain=pki.crt("inter")) as s:
                    rc, j, err = check(f"sips:127.0.0.1:{s.port}", "--ca", ca, "--json", "--timeout", "2",
                                       "--no-legacy-probe")
                    expect_failure(rc, j, err, "tls-weak-certificate", "Fix:")
                    expect(any(w["code"] == warning for w in j["warnings"]), f"no {warning} warning", j)
                    expect(name in j["chain"][0]["subject"], "chain", j)
            return run

        r.check("s_server RSA-1024 leaf -> tls-weak-certificate + weak-key",
                weak("rsa1024", 1024, "sha256", "weak-key"))
        r.check("s_server SHA-1 signed leaf -> tls-weak-certificate + weak-signature",
                weak("sha1", 2048, "sha1", "weak-signature"))

        def bad_input():
            rc, _, err = check("sip:127.0.0.1:5060", "--ca", ca)
            expect(rc == 1 and err.startswith("error: usage: ") and "transport=tls" in err, err)
            rc, _, err = check("sips:127.0.0.1:5061", "--ca", os.path.join(tmp, "missing.pem"))
            expect(rc == 1 and err.startswith("error: tls-config: ") and "missing.pem" in err, err)
        r.check("plain sip: URI and a missing CA file are clear errors", bad_input)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
