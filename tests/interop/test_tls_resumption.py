"""TLS session resumption of exphone's registration flow against a real Kamailio (TLS 1.3).

exphone register --hold keeps one TLS flow to Kamailio through a TCP relay owned by this test.
What is asserted, from the register report printed when --hold ends:

1. Cut the relay's connection (both ends get a FIN, no TLS close_notify: a network failure),
   Kamailio keeps running: exphone re-opens the flow (exactly a second TCP connection through the
   relay), re-registers, and the new handshake resumed the first session with a TLS 1.3 ticket
   (report tls.version == TLSv1.3, tls.resumed == true, tls.verified == true, registrations >= 2). Kamailio runs with
   tcp_children=1: 5.6 keeps one SSL_CTX, and so one ticket key, per worker process, and with
   several workers a resumption only works when the new connection lands on the same worker.
2. Restart Kamailio instead: exphone re-registers over a full handshake (tls.resumed == false).
   A restarted Kamailio has new ticket keys and no session cache, so nothing can be resumed; the
   report must not claim otherwise.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from lib.kamailio import Kamailio
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


class Relay:
    """127.0.0.1:port -> 127.0.0.1:upstream, byte for byte; cut() closes every open pair."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.pairs = []
        self.cut_pairs = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
            except OSError:
                down.close()
                continue
            up.settimeout(None)  # the pumps block; an idle flow must not time out here
            with self.lock:
                self.accepted += 1
                self.pairs.append((down, up))
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Both ends see the connection close (FIN). The sockets are closed later, in close():
        closing them here, under the pumps' blocked recv(), could hand their descriptors to the
        next accepted connection while an old pump still uses the number."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
            self.cut_pairs.extend(pairs)
        for down, up in pairs:
            for s in (down, up):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def wait_accepted(self, n, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.accepted >= n:
                return True
            time.sleep(0.05)
        return False

    def close(self):
        self.listener.close()
        self.cut()
        for pair in self.cut_pairs:
            for s in pair:
                s.close()


def hold_register(config, hold_s):
    return subprocess.Popen([EXPHONE, "register", "--config", config, "--json", "--hold", str(hold_s)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def report(p):
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, f"exit {p.returncode}: {err}"
    return json.loads(out)["accounts"][0]


def main():
    r = Runner("TLS session resumption")
    tmp = tempfile.mkdtemp(prefix="exphone-resume-")
    try:
        with Kamailio(tmp, tcp_children=1) as kam:
            def config(name, relay, version):
                path = os.path.join(tmp, name + ".toml")
                with open(path, "w") as f:
                    f.write("\n".join([
                        "[[account]]", 'user = "1001"', 'password = "secret1001"', 'domain = "localhost"',
                        f'registrar = "sips:127.0.0.1:{relay.port}"', "retry_base_s = 1",
                        "[tls]", f"ca_files = [{json.dumps(kam.ca_file)}]", f'min_version = "{version}"',
                        "[sip]", "keepalive_interval_s = 2"]) + "\n")
                return path

            def resumed_after_cut(version):
                relay = Relay(kam.tls_port)
                p = hold_register(config("cut" + version, relay, version), 8)
                try:
                    assert kam.wait_registered("1001", timeout=10), "never registered"
                    assert relay.accepted == 1, relay.accepted
                    kam.unregister("1001")
                    relay.cut()
                    assert relay.wait_accepted(2), "exphone did not reconnect"
                    assert kam.wait_registered("1001", timeout=10), "no re-registration on the new flow"
                    acc = report(p)
                finally:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                    relay.close()
                assert relay.accepted == 2, relay.accepted
                assert acc["registrations"] >= 2, acc
                t = acc["tls"]
                assert t["verified"] is True, t
                assert t["version"] == "TLSv1.3", t
                assert t["resumed"] is True, t

            r.check("flow cut (no close_notify), Kamailio running -> the new flow resumed the TLS 1.3 session",
                    lambda: resumed_after_cut("1.3"))

            def full_handshake_after_restart():
                relay = Relay(kam.tls_port)
                p = hold_register(config("restart", relay, "1.2"), 12)
                try:
                    assert kam.wait_registered("1001", timeout=10), "never registered"
                    kam.restart()
                    assert kam.wait_registered("1001", timeout=15), "no re-registration after the restart"
                    acc = report(p)
                finally:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                    relay.close()
                assert acc["registrations"] >= 2, acc
                assert acc["tls"]["verified"] is True, acc
                assert acc["tls"]["resumed"] is False, acc
            r.check("Kamailio restarted -> re-registered over a full handshake (resumed: false)",
                    full_handshake_after_restart)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
