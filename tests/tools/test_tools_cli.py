#!/usr/bin/env python3
"""CLI-level test of the integrator tools (issue 5): runs the exphone binary ($EXPHONE).

- pki init/server/device: the chain verified by the openssl CLI (an independent checker),
  keys 0600, nothing overwritten without --force, list with expiry warnings;
- mutual TLS with the produced certificates: openssl s_server demanding a client certificate,
  openssl s_client presenting the device certificate (and refused without one);
- pki fleet with 500 rows: the time is printed (not asserted), every bundle present;
- advise --toml | audit for every network x PBX: no error findings;
- audit on crafted bad configs: each problem found with its id and line, exit 1.

Loopback only, a free port from the kernel, every process it starts is ended by its PID.
"""
import csv
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time

EXPHONE = os.environ.get("EXPHONE", "build/exphone")
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def run(*args, stdin=None, expect=0):
    p = subprocess.run([EXPHONE, *args], input=stdin, capture_output=True, text=True, timeout=600)
    if expect is not None and p.returncode != expect:
        print(f"  {' '.join(args)} -> {p.returncode}\n  stdout: {p.stdout[-2000:]}\n  stderr: {p.stderr[-2000:]}")
    return p


def run_json(*args, expect=0):
    p = run(*args, "--json", expect=expect)
    try:
        return p, json.loads(p.stdout)
    except json.JSONDecodeError:
        return p, None


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pki(d):
    site = os.path.join(d, "site")
    p, j = run_json("pki", "init", "--dir", site, "--name", "Plant Root CA", "--intermediate")
    check(p.returncode == 0 and j and j["root"]["ca"] and j["intermediate"]["ca"], "pki init --intermediate")
    check(j and j["root"]["key"] == "EC P-256", "root key is ECDSA P-256 by default")
    check(mode(f"{site}/ca/root.key") == 0o600 and mode(f"{site}/ca/intermediate.key") == 0o600, "CA keys are 0600")
    root_key = open(f"{site}/ca/root.key").read()
    p = run("pki", "init", "--dir", site, "--name", "Other", expect=1)
    check(p.returncode == 1 and "error: pki-exists:" in p.stderr, "init refuses to overwrite the CA")
    check(open(f"{site}/ca/root.key").read() == root_key, "the root key is unchanged")

    p, j = run_json("pki", "server", "--dir", site, "--host", "localhost", "--ip", "127.0.0.1")
    check(p.returncode == 0 and j["certificate"]["san"] == ["DNS:localhost", "IP:127.0.0.1"], "server SAN = host + ip")
    check(j and "CN=localhost" in j["certificate"]["subject"], "server CN = the primary host")
    p, j = run_json("pki", "device", "--dir", site, "--id", "00:1A:2B:3C:4D:5E")
    check(p.returncode == 0 and j["certificate"]["san"] == ["URI:urn:dev:mac:001a2b3c4d5e"], "device SAN URI (RFC 9039)")
    check(j and "clientAuth" in j["certificate"]["eku"], "device EKU clientAuth")
    p = run("pki", "device", "--dir", site, "--id", "00-1a-2b-3c-4d-5e", expect=1)
    check(p.returncode == 1 and "pki-exists" in p.stderr, "a second certificate for the same device is refused")
    p = run("pki", "device", "--dir", site, "--id", "../../x", "--pen", "1", expect=1)
    check(p.returncode == 1 and "pki-bad-id" in p.stderr, "bad device id refused")

    # independent check of the chains: the openssl CLI
    for leaf, purpose in (("servers/localhost.crt", "sslserver"), ("devices/001a2b3c4d5e.crt", "sslclient")):
        v = subprocess.run(["openssl", "verify", "-purpose", purpose, "-CAfile", f"{site}/ca/root.crt",
                            "-untrusted", f"{site}/ca/intermediate.crt", f"{site}/{leaf}"],
                           capture_output=True, text=True)
        check(v.returncode == 0 and ": OK" in v.stdout, f"openssl verify -purpose {purpose} {leaf}")
    v = subprocess.run(["openssl", "verify", "-CAfile", f"{site}/ca/root.crt", f"{site}/servers/localhost.crt"],
                       capture_output=True, text=True)
    check(v.returncode != 0, "without the intermediate the chain does not verify (openssl agrees)")
    v = subprocess.run(["openssl", "verify", "-CAfile", f"{site}/ca/chain.pem", f"{site}/servers/localhost.crt"],
                       capture_output=True, text=True)
    check(v.returncode == 0, "chain.pem (root + intermediate) verifies the server")

    p, j = run_json("pki", "device", "--dir", site, "--id", "00:00:00:00:00:10", "--days", "10")
    p, j = run_json("pki", "list", "--dir", site)
    statuses = {os.path.basename(c["path"]): c["status"] for c in j["certificates"]} if j else {}
    check(statuses.get("000000000010.crt") == "expiring" and statuses.get("root.crt") == "ok", "pki list flags < 30 days")
    check(j and j["expiring"] == 1 and len(j["certificates"]) == 5, "pki list counts every certificate")
    return site


def test_mtls(site, d):
    port = free_port()
    out = os.path.join(d, "s_server.out")

    def handshake(client_args):
        # s_server prints ACCEPT once it listens: poll its log for that, no connection probe
        # (-naccept 1 would count it)
        with open(out, "w") as f:
            srv = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
                                    "-cert", f"{site}/servers/localhost.crt", "-key", f"{site}/servers/localhost.key",
                                    "-cert_chain", f"{site}/ca/intermediate.crt", "-CAfile", f"{site}/ca/chain.pem",
                                    "-Verify", "3", "-verify_return_error", "-naccept", "1"],
                                   stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)  # EOF on stdin stops it
        try:
            end = time.monotonic() + 10
            while time.monotonic() < end and srv.poll() is None and "ACCEPT" not in open(out).read():
                time.sleep(0.05)
            cli = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", f"{site}/ca/root.crt",
                                  "-verify_return_error", "-verify_hostname", "localhost", "-brief", *client_args],
                                 input="ping\n", capture_output=True, text=True, timeout=20)
            try:
                srv.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            return cli, open(out).read()
        finally:
            if srv.poll() is None:
                srv.kill()
                srv.wait()
            srv.stdin.close()

    cli, log = handshake(["-cert", f"{site}/devices/001a2b3c4d5e.crt", "-key", f"{site}/devices/001a2b3c4d5e.key",
                          "-cert_chain", f"{site}/ca/intermediate.crt"])
    check(cli is not None and "Verification: OK" in cli.stderr + cli.stdout, "mTLS: s_client verified the server (name localhost)")
    check("CN = 00:1a:2b:3c:4d:5e" in log and "verify error" not in log, "mTLS: s_server verified the device certificate")
    cli, log = handshake([])
    check("CN = 00:1a:2b:3c:4d:5e" not in log and ("did not return a certificate" in log or "error" in log.lower()),
          "mTLS: without a client certificate the server refuses")


TEMPLATE = """[[account]]
user = "{{extension}}"
password = "{{password}}"
domain = "pbx.plant.local"
registrar = "sips:pbx.plant.local"

[tls]
ca_files = ["{{ca_file}}"]
client_cert = "{{cert_file}}"
client_key = "{{key_file}}"

[phone]
srtp = "mandatory"
"""


def test_fleet(site, d):
    devices = os.path.join(d, "devices.csv")
    with open(devices, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "extension", "password"])
        for i in range(500):
            w.writerow([f"02:00:00:00:{i >> 8:02x}:{i & 0xff:02x}", str(2000 + i), f"pw,{i}\"x"])
    tpl = os.path.join(d, "device.toml.tpl")
    open(tpl, "w").write(TEMPLATE)
    out = os.path.join(d, "bundles")
    t0 = time.monotonic()
    p, j = run_json("pki", "fleet", "--dir", site, "--devices", devices, "--config-template", tpl, "--out", out)
    elapsed = time.monotonic() - t0
    print(f"     pki fleet: 500 devices in {elapsed:.2f} s wall ({j['elapsed_ms'] if j else '?'} ms inside exphone; "
          f"sanitized={os.environ.get('EXPHONE_SANITIZED', '?')})", flush=True)
    check(p.returncode == 0 and j and j["devices"] == 500 and len(os.listdir(out)) == 500, "fleet: 500 bundles")
    b = os.path.join(out, "02000000012c")  # row 300
    check(sorted(os.listdir(b)) == ["ca.pem", "device.crt", "device.key", "exphone.toml"], "fleet: bundle files")
    check(mode(f"{b}/device.key") == 0o600 and mode(f"{b}/exphone.toml") == 0o600, "fleet: key and config 0600")
    c = run("config", "check", "--config", f"{b}/exphone.toml", "--json")
    check(c.returncode == 0 and '"valid": true' in c.stdout, "fleet: the rendered config loads (exphone config check)")
    a = run("audit", f"{b}/exphone.toml", "--network", "shared-lan", "--assume-ntp", "--json", expect=0)
    check(a.returncode == 0 and json.loads(a.stdout)["errors"] == 0, "fleet: the rendered config passes audit")
    v = subprocess.run(["openssl", "verify", "-purpose", "sslclient", "-CAfile", f"{b}/ca.pem", f"{b}/device.crt"],
                       capture_output=True, text=True)
    check(v.returncode == 0, "fleet: bundle certificate verifies against the bundle's ca.pem")
    p = run("pki", "fleet", "--dir", site, "--devices", devices, "--config-template", tpl, "--out", out, expect=1)
    check(p.returncode == 1 and "pki-exists" in p.stderr, "fleet: a second run does not re-issue without --force")


def test_advise_audit(site, d):
    p, j = run_json("advise", "--network", "cloud", "--pbx", "avaya-aura", "--rtt-ms", "100")
    check(p.returncode == 0 and j["tls_srtp"] == "mandatory" and j["key_exchange"] == "SDES", "advise --json cloud/avaya")
    check(j and j["time_to_ring"]["extra_cold_tls12_ms"] == 300 and j["time_to_ring"]["extra_cold_tls13_ms"] == 200,
          "advise: cold TLS 1.2 +3 RTT, TLS 1.3 +2 RTT")
    p = run("advise", "--network", "moon", "--pbx", "3cx", expect=1)
    check(p.returncode == 1 and p.stderr.startswith("error: advise-usage:"), "advise: unknown network is an error")
    nets = ["cloud", "vpn", "shared-lan", "airgapped-vlan"]
    pbxs = ["asterisk-chan-sip", "asterisk-pjsip", "3cx", "avaya-aura", "kamailio", "webrtc", "generic"]
    bad = []
    for n in nets:
        for x in pbxs:
            t = run("advise", "--network", n, "--pbx", x, "--emergency", "--toml", "--ca", f"{site}/ca/chain.pem",
                    "--client-cert", f"{site}/devices/001a2b3c4d5e.crt", "--client-key", f"{site}/devices/001a2b3c4d5e.key")
            path = os.path.join(d, f"advised-{n}-{x}.toml")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, t.stdout.encode())
            os.close(fd)
            a = run("audit", path, "--network", n, "--assume-ntp", "--json", expect=0)
            if t.returncode != 0 or a.returncode != 0 or json.loads(a.stdout)["errors"] != 0:
                bad.append(f"{n}/{x}")
    check(not bad, f"advise --toml | audit: no errors for all {len(nets) * len(pbxs)} network x PBX pairs {bad}")


GOOD = """[[account]]
user = "1001"
password = "secret"
domain = "pbx.plant.local"
registrar = "sips:pbx.plant.local"

[tls]
ca_files = ["CA"]
client_cert = "CERT"
client_key = "KEY"
verify_server = true

[phone]
srtp = "mandatory"
"""


def test_audit_bad(site, d):
    base = GOOD.replace("CA", f"{site}/ca/chain.pem").replace("CERT", f"{site}/devices/001a2b3c4d5e.crt") \
               .replace("KEY", f"{site}/devices/001a2b3c4d5e.key")
    cases = [
        ("good", base, None, None),
        ("sdes-without-tls", base.replace("sips:pbx.plant.local", "sip:pbx.plant.local"), "sdes-without-tls", 5),
        ("verify-off", base.replace("verify_server = true", "verify_server = false"), "tls-verify-off", 11),
        ("old-tls", base.replace("verify_server = true", 'min_version = "1.1"'), "tls-min-version-old", 11),
        ("weak-ciphers", base.replace("verify_server = true", 'ciphers = "aNULL:ECDHE-RSA-AES128-GCM-SHA256"'),
         "tls-weak-ciphers", 11),
        ("srtp-optional", base.replace('srtp = "mandatory"', 'srtp = "optional"'), "srtp-optional", 14),
        ("ca-missing", base.replace(f"{site}/ca/chain.pem", f"{d}/nope.pem"), "ca-file-missing", 8),
        ("ca-not-ca", base.replace(f"{site}/ca/chain.pem", f"{site}/servers/localhost.crt"), "ca-not-ca", 8),
        ("key-mismatch", base.replace(f"{site}/devices/001a2b3c4d5e.key", f"{site}/servers/localhost.key"),
         "client-key-mismatch", 10),
        ("cert-expiring", base.replace("001a2b3c4d5e.crt", "000000000010.crt").replace("001a2b3c4d5e.key", "000000000010.key"),
         "client-cert-expiring", 9),
        ("keylog", base.replace("verify_server = true", 'keylog_file = "/tmp/k.log"'), "tls-keylog-enabled", 11),
        ("any-peer", base + 'allow_peers = ["0.0.0.0"]\n', "p2p-any-address", 15),
        ("auto-answer", base + "auto_answer = true\n", "auto-answer-no-allowlist", 15),
    ]
    for name, text, fid, line in cases:
        path = os.path.join(d, f"audit-{name}.toml")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, text.encode())
        os.close(fd)
        a = run("audit", path, "--network", "cloud", "--assume-ntp", "--json", expect=None)
        j = json.loads(a.stdout) if a.stdout.strip() else {"findings": []}
        if fid is None:
            check(a.returncode == 0 and j["errors"] == 0 and j["warnings"] == 0, "audit: the good config is clean")
            continue
        hits = [f for f in j["findings"] if f["id"] == fid]
        expect_rc = 0 if hits and hits[0]["severity"] != "error" else 1
        check(bool(hits) and hits[0]["line"] == line and hits[0]["risk"] and hits[0]["fix"],
              f"audit finds {fid} at line {line}")
        check(a.returncode == expect_rc and (expect_rc == 0 or "error: audit-failed:" in a.stderr),
              f"audit {name}: exit {expect_rc}")
    # passwords in a world-readable file
    path = os.path.join(d, "audit-good.toml")
    os.chmod(path, 0o644)
    a = run("audit", path, "--assume-ntp", "--json", expect=1)
    check(a.returncode == 1 and "password-file-readable" in a.stdout, "audit: passwords readable by others")
    a = run("audit", os.path.join(d, "missing.toml"), expect=1)
    check(a.returncode == 1 and a.stderr.startswith("error: audit-io:"), "audit: a missing file is a clear error")


def main():
    with tempfile.TemporaryDirectory(prefix="exphone-tools-") as d:
        site = test_pki(d)
        test_mtls(site, d)
        test_fleet(site, d)
        test_advise_audit(site, d)
        test_audit_bad(site, d)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
