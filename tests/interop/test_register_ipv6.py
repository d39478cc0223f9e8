"""exphone register over IPv6 (TCP, TLS, mutual TLS) to a real Kamailio listening on ::1 only, and
the RFC 5626 outbound parameters of its REGISTER as Kamailio stored them.

Kamailio 5.6 from Debian has no `outbound` module (registrar outbound_mode 0), so it registers the
contact without applying outbound: the report must say "outbound": false, and Kamailio's location
table must still hold the instance id and reg-id exphone sent (usrloc keeps them)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid

from lib.kamailio import Kamailio
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


def write_config(path, registrar, tls=None, sip=None, phone=None):
    lines = ["[[account]]", 'user = "1001"', 'password = "secret1001"', 'domain = "localhost"',
             f'registrar = "{registrar}"']
    for name, table in (("tls", tls), ("sip", sip), ("phone", phone)):
        if table:
            lines.append(f"[{name}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def register_keep(config):
    p = subprocess.run([EXPHONE, "register", "--config", config, "--json", "--keep", "--timeout", "20"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr} {p.stdout}"
    acc = json.loads(p.stdout)["accounts"][0]
    assert acc["registered"] is True, acc
    return acc


def binding(kam, user="1001"):
    """Kamailio's location entry for `user` (kamcmd ul.lookup), as text; exactly one contact."""
    assert kam.wait_registered(user, timeout=5), "Kamailio has no binding"
    contacts = kam.contacts(user)
    assert len(contacts) == 1, contacts
    return kam.kamcmd("ul.lookup", "location", f"s:{user}")[1]


def field(text, name):
    m = re.search(rf"^\s*{name}:\s*(.*?)\s*$", text, re.M)
    return m.group(1) if m else None


def main():
    r = Runner("register over IPv6 + RFC 5626 outbound")
    tmp = tempfile.mkdtemp(prefix="exphone-reg6-")
    try:
        with Kamailio(tmp, ipv6=True) as kam:
            assert kam.host == "::1"
            h = kam.uri_host
            instance = f"urn:uuid:{uuid.uuid4()}"
            phone = {"instance_id": instance.upper().replace("URN:UUID:", "urn:uuid:")}
            c = lambda name, *a, **k: write_config(os.path.join(tmp, name + ".toml"), *a, **k)

            def check_outbound_binding(acc, transport, scheme):
                try:
                    assert acc["outbound"] is False, acc  # Kamailio 5.6: no outbound module
                    assert acc["instance_id"] == instance, acc
                    b = binding(kam)
                    assert field(b, "Instance") == f"<{instance}>", b
                    assert field(b, "Reg-Id") == "1", b
                    address = field(b, "Address")
                    assert address.startswith(f"{scheme}:1001@[::1]:") and ";ob" in address, address
                    assert f"transport={transport}" in address, address
                finally:
                    kam.unregister("1001")

            def tcp():
                acc = register_keep(c("tcp", f"sip:{h}:{kam.tcp_port};transport=tcp", phone=phone))
                assert acc["transport"] == "tcp" and acc["registrar"] == f"[::1]:{kam.tcp_port}", acc
                check_outbound_binding(acc, "tcp", "sip")
            r.check("TCP over ::1, Contact with ;ob, +sip.instance and reg-id=1 stored by Kamailio", tcp)

            def tls():
                acc = register_keep(c("tls", f"sips:{h}:{kam.tls_port}", tls={"ca_files": [kam.ca_file]}, phone=phone))
                assert acc["transport"] == "tls" and acc["registrar"] == f"[::1]:{kam.tls_port}", acc
                t = acc["tls"]
                assert t["verified"] is True and "::1" in t["peer_names"], t
                check_outbound_binding(acc, "tls", "sips")
            r.check("TLS over ::1: certificate verified against the IP SAN ::1", tls)

            def mtls():
                crt, key = kam.cert("client1001")
                acc = register_keep(c("mtls", f"sips:{h}:{kam.mtls_port}",
                                      tls={"ca_files": [kam.ca_file], "client_cert": crt, "client_key": key},
                                      phone=phone))
                assert acc["tls"]["verified"] is True, acc
                check_outbound_binding(acc, "tls", "sips")
            r.check("mutual TLS over ::1", mtls)

            def no_outbound():
                acc = register_keep(c("plain", f"sip:{h}:{kam.tcp_port};transport=tcp", sip={"outbound": False},
                                      phone=phone))
                try:
                    assert acc["outbound"] is False and "instance_id" not in acc, acc
                    b = binding(kam)
                    assert field(b, "Instance") in (None, "", "<>", "[not set]"), b
                    assert ";ob" not in field(b, "Address"), b
                finally:
                    kam.unregister("1001")
            r.check("[sip] outbound = false: a plain RFC 3261 REGISTER", no_outbound)

            def wrong_name():
                # a certificate without ::1 must not verify for [::1]: the SAN check is real
                p = subprocess.run([EXPHONE, "register", "--json", "--timeout", "20", "--config",
                                    c("wrongsan", f"sips:{h}:{kam.tls_port}", tls={"ca_files": [kam.ca_file]})],
                                   capture_output=True, text=True, timeout=60)
                assert p.returncode != 0 and "error: tls-name-mismatch:" in p.stderr, p.stderr
            kam.restart(server_cert="server-wrongsan")
            r.check("TLS over ::1 with a certificate lacking the IP SAN -> tls-name-mismatch", wrong_name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
