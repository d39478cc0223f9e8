"""dnsmasq on a random loopback port serving the NAPTR/SRV/A records a test needs (RFC 3263
tests). Started and stopped by the test; answers nothing it was not told (no upstream)."""
import random
import socket
import struct
import subprocess
import time

from lib.ports import free_port


def _query_a(port, name, timeout=0.2):
    qid = random.randint(0, 0xFFFF)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, ("127.0.0.1", port))
        data, _ = s.recvfrom(512)
        return data[:2] == q[:2]
    except OSError:
        return False
    finally:
        s.close()


class Dnsmasq:
    """with Dnsmasq(hosts={"kam.pbx.test": "127.0.0.1"},
                    srv=[("_sip._tcp.pbx.test", "kam.pbx.test", 5060, 10, 10)],
                    naptr=[("pbx.test", 10, 50, "s", "SIP+D2T", "_sip._tcp.pbx.test")]) as dns:
           dns.port"""

    def __init__(self, hosts=None, srv=None, naptr=None):
        self.hosts = hosts or {}
        self.srv = srv or []
        self.naptr = naptr or []
        self.port = None
        self.proc = None

    def __enter__(self):
        self.port = free_port()
        args = ["dnsmasq", "--no-daemon", "--keep-in-foreground", f"--port={self.port}",
                "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                "--pid-file=", "--user=root", "--log-queries", "--log-facility=-"]
        for name, addr in self.hosts.items():
            args.append(f"--host-record={name},{addr}")
        for name, target, port, prio, weight in self.srv:
            args.append(f"--srv-host={name},{target},{port},{prio},{weight}")
        for name, order, pref, flags, service, replacement in self.naptr:
            args.append(f"--naptr-record={name},{order},{pref},{flags},{service},,{replacement}")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        probe = next(iter(self.hosts), "probe.invalid")
        deadline = time.monotonic() + 10
        while not _query_a(self.port, probe):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("dnsmasq did not start")
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False
