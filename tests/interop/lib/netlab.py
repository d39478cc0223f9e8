"""The three-host network-namespace lab with a user-space delay line (bench/lab/lab.sh,
bench/lab/tundelay.py; this kernel has no sch_netem), for the tests and benchmarks that need a slow
or lossy link:

  caller 10.200.1.2 ==[delay line: one-way delay, loss %, jitter]== pbx 10.200.0.1 (Kamailio)
  pbx 10.200.2.1 ----veth, no delay---- 10.200.2.2 callee

    lab = Lab(state_dir, prefix=f"xyz{os.getpid()}-"); lab.up(ONE_WAY_MS)
    lab.enter("pbx")                     # this process now lives on the PBX host
    kam = LabKamailio(tmp); kam.start()  # the project's Kamailio on 10.200.0.1
    subprocess.Popen(lab.cmd("caller", [...]))
    lab.set_link(50, loss=5, jitter=20); lab.down()

Only loopback, TUN and veth devices exist in the namespaces: no packet leaves them. Every
namespace is named with the prefix and deleted by down().
"""
import ctypes
import os
import subprocess

from .kamailio import Kamailio

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LAB = os.path.join(ROOT, "bench", "lab")
PBX, CALLER = "10.200.0.1", "10.200.1.2"
UDP_PORT, TLS_PORT, TLS12_PORT = 5060, 5061, 5063


class Lab:
    def __init__(self, state, prefix=None):
        self.prefix = prefix or f"ttr{os.getpid()}-"
        self.env = dict(os.environ, LAB_PREFIX=self.prefix, LAB_STATE=os.path.join(state, "lab"))
        self.up_done = False

    def ns(self, host):
        return self.prefix + host

    def _sh(self, *args):
        subprocess.run([os.path.join(LAB, "lab.sh"), *map(str, args)], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def up(self, one_way_ms):
        self.up_done = True
        self._sh("up", one_way_ms)

    def delay(self, one_way_ms):
        self._sh("delay", one_way_ms)

    def set_link(self, one_way_ms, loss=0, jitter=0):
        """Restart the delay line with these figures (loss in %, 100 = the link is cut)."""
        self._sh("delay", one_way_ms, loss, jitter)

    def down(self):
        if self.up_done:
            subprocess.run([os.path.join(LAB, "lab.sh"), "down"], env=self.env, check=False)

    def enter(self, host):
        """Move this (single-threaded) process into a lab namespace: Kamailio and its readiness
        probes then run on the PBX host."""
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        fd = os.open(f"/run/netns/{self.ns(host)}", os.O_RDONLY)
        try:
            if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)

    def cmd(self, host, args):
        return ["ip", "netns", "exec", self.ns(host), *args]


class LabKamailio(Kamailio):
    """The project's Kamailio on the lab's PBX address: branches may go to 10.200.0.0/16 (still
    only inside the lab), and an extra TLS 1.2-only listener on 5063."""

    def __init__(self, tmp):
        super().__init__(tmp, tcp_children=2)
        self.host = PBX
        (self.sip_port, self.tls_port, self.mtls_port, self.ws_port,
         self.wss_port) = UDP_PORT, TLS_PORT, 5062, 8080, 8443

    def _render(self):
        super()._render()
        cfg = self.cfg_file.read_text()
        old = 'if ($var(nh) != "127.0.0.1" &&'
        assert old in cfg, "LOOPBACK_ONLY route changed: adapt bench/time_to_ring.py"
        cfg = cfg.replace(old, 'if (!($var(nh) =~ "^10[.]200[.]") && $var(nh) != "127.0.0.1" &&')
        listen = f"listen=tls:{PBX}:{self.mtls_port}\n"
        assert listen in cfg
        cfg = cfg.replace(listen, listen + f"listen=tls:{PBX}:{TLS12_PORT}\n")
        self.cfg_file.write_text(cfg)
        with open(self.tls_cfg_file, "a") as f:
            f.write(f"\n# bench: TLS 1.2 only\n[server:{PBX}:{TLS12_PORT}]\nmethod = TLSv1.2\n"
                    f"verify_certificate = no\nrequire_certificate = no\n"
                    f"private_key = {self.certs_dir}/{self.server_cert}.key\n"
                    f"certificate = {self.certs_dir}/{self.server_cert}.crt\nca_list = {self.ca_file}\n")


class VethLab(Lab):
    """Two namespaces joined by one plain veth pair, no delay line: a device that survives
    `ip link set down` (the delay line's TUN devices do not).

      phone 10.200.1.2/16 (dev vph) ----veth---- (dev vpb) 10.200.0.1/16 pbx

    Both addresses sit in one /16, so the connected route comes back by itself when the link is
    brought up again (a route via a gateway would be flushed with the link and stay gone).
    LabKamailio runs on the pbx side as with Lab.
    """

    HOSTS = ("phone", "pbx")

    def _ip(self, host, *args):
        subprocess.run(["ip", "-n", self.ns(host), *map(str, args)], check=True, stdout=subprocess.DEVNULL)

    def up(self, one_way_ms=0):
        self.up_done = True
        for h in self.HOSTS:
            subprocess.run(["ip", "netns", "add", self.ns(h)], check=True)
            self._ip(h, "link", "set", "lo", "up")
        self._ip("pbx", "link", "add", "vpb", "type", "veth", "peer", "name", "vph", "netns", self.ns("phone"))
        self._ip("pbx", "addr", "add", f"{PBX}/16", "dev", "vpb")
        self._ip("phone", "addr", "add", "10.200.1.2/16", "dev", "vph")
        for h, dev in (("pbx", "vpb"), ("phone", "vph")):
            self._ip(h, "link", "set", dev, "up")

    def link(self, up):
        """`ip link set vph up|down` on the phone's side."""
        self._ip("phone", "link", "set", "vph", "up" if up else "down")

    def link_state(self, host="phone", dev="vph"):
        return subprocess.run(["ip", "-n", self.ns(host), "-br", "link", "show", dev], capture_output=True,
                              text=True).stdout.strip()

    def down(self):
        if self.up_done:
            for h in self.HOSTS:
                subprocess.run(["ip", "netns", "del", self.ns(h)], check=False, stderr=subprocess.DEVNULL)
