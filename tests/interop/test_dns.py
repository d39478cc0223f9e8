"""RFC 3263 server location against a real DNS server (dnsmasq) and a real registrar
(Kamailio): NAPTR -> SRV -> A, SRV priority failover past a dead target, SRV for an explicit
transport, backup registrars, and an unknown name."""
import json
import os
import shutil
import subprocess
import tempfile

from lib.dnsmasq import Dnsmasq
from lib.kamailio import Kamailio
from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


def register(path, registrar, dns_port, backups=None, extra_account=""):
    lines = ["[[account]]", 'user = "1001"', 'password = "secret1001"', 'domain = "localhost"',
             f'registrar = "{registrar}"']
    if backups:
        lines.append("backup_registrars = " + json.dumps(backups))
    lines += [extra_account, "[sip]", f'dns_servers = ["127.0.0.1:{dns_port}"]', "t1_ms = 100"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.run([EXPHONE, "register", "--config", path, "--json", "--timeout", "20"],
                       capture_output=True, text=True, timeout=40)
    rep = json.loads(p.stdout) if p.stdout.strip() else {}
    return p.returncode, rep, p.stderr


def main():
    r = Runner("dns interop")
    tmp = tempfile.mkdtemp(prefix="exphone-dns-")
    try:
        with Kamailio(tmp) as kam:
            dead = free_port()  # nothing listens here: connection refused
            records = dict(
                hosts={"kam.pbx.test": "127.0.0.1", "kam.udp.test": "127.0.0.1"},
                naptr=[("pbx.test", 10, 50, "s", "SIP+D2T", "_sip._tcp.pbx.test")],
                srv=[("_sip._tcp.pbx.test", "kam.pbx.test", dead, 10, 10),
                     ("_sip._tcp.pbx.test", "kam.pbx.test", kam.tcp_port, 20, 10),
                     ("_sip._udp.udp.test", "kam.udp.test", kam.udp_port, 10, 10)])
            with Dnsmasq(**records) as dns:
                cfg = lambda n: os.path.join(tmp, n + ".toml")

                def naptr_srv_failover():
                    rc, rep, err = register(cfg("naptr"), "sip:pbx.test", dns.port)
                    assert rc == 0, err
                    acc = rep["accounts"][0]
                    assert acc["transport"] == "tcp", acc
                    assert acc["registrar"] == f"127.0.0.1:{kam.tcp_port}", acc
                r.check("NAPTR -> SRV -> A, dead priority-10 target skipped for priority 20", naptr_srv_failover)

                def srv_for_transport():
                    rc, rep, err = register(cfg("srv"), "sip:udp.test;transport=udp", dns.port)
                    assert rc == 0, err
                    acc = rep["accounts"][0]
                    assert acc["transport"] == "udp" and acc["registrar"] == f"127.0.0.1:{kam.udp_port}", acc
                r.check("explicit transport -> _sip._udp SRV", srv_for_transport)

                def srv_without_naptr():
                    rc, rep, err = register(cfg("nonaptr"), "sip:udp.test", dns.port)
                    assert rc == 0, err
                    assert rep["accounts"][0]["transport"] == "udp", rep
                r.check("no NAPTR: SRV tried for tls, tcp, udp; udp found", srv_without_naptr)

                def backups():
                    rc, rep, err = register(cfg("backup"), f"sip:127.0.0.1:{dead};transport=tcp", dns.port,
                                            backups=[f"sip:127.0.0.1:{kam.tcp_port};transport=tcp"])
                    assert rc == 0, err
                    assert rep["accounts"][0]["registrar"] == f"127.0.0.1:{kam.tcp_port}", rep
                r.check("primary registrar down -> backup registrar", backups)

                def all_down():
                    rc, rep, err = register(cfg("down"), f"sip:127.0.0.1:{dead};transport=tcp", dns.port,
                                            backups=[f"sip:127.0.0.1:{free_port()};transport=tcp"])
                    assert rc != 0 and "error: transport-failed:" in err, (rc, err)
                r.check("every registrar down -> transport-failed naming the primary", all_down)

                def unknown():
                    rc, rep, err = register(cfg("unknown"), "sip:nothing.test;transport=tcp", dns.port)
                    assert rc != 0 and "error: dns-failed:" in err, (rc, err)
                r.check("unknown name -> dns-failed", unknown)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
