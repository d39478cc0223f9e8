"""The trusted clock (RFC 4330 SNTP) against a real NTP server: chrony on loopback. A phone whose
clock says 1970 (libfaketime) syncs from chrony and registers to Kamailio over TLS, the server
certificate checked at the NTP time; with the NTP port closed it reports clock-unsynchronized and
the registration fails with tls-not-yet-valid showing both the certificate's and the device's
time. `exphone ctl status --json` carries the "clock" object. Provisioning waits for the clock too: a
1970 phone with NTP fetches its bundle from nginx (the server certificate checked at the NTP time),
restarts on it and registers; without NTP the fetch fails with prov-tls (not yet valid) and the
phone keeps its factory config."""
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from lib.kamailio import Kamailio
from lib.nginx import Nginx, make_tar
from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]
FAKE_1970 = "1970-01-02 00:00:00"


def plain_exphone():
    """libfaketime deadlocks inside AddressSanitizer's clock_gettime interposition, so the 1970
    checks run an unsanitized build (scripts/test.sh exports EXPHONE_PLAIN)."""
    if not shutil.which("faketime"):
        raise AssertionError("faketime (libfaketime) is not installed")
    if os.environ.get("EXPHONE_SANITIZED") == "1":
        binary = os.environ.get("EXPHONE_PLAIN", "")
        if not binary or not os.path.exists(binary):
            raise AssertionError("sanitized build: set EXPHONE_PLAIN to an unsanitized exphone")
        return binary
    return EXPHONE


def faketime_lib():
    for d in ("/usr/lib/x86_64-linux-gnu/faketime", "/usr/lib/aarch64-linux-gnu/faketime", "/usr/lib/faketime"):
        lib = os.path.join(d, "libfaketimeMT.so.1")
        if os.path.exists(lib):
            return lib
    raise AssertionError("libfaketimeMT.so.1 not found")


def faketime_env():
    """libfaketime preloaded into exphone itself (not the faketime(1) wrapper, which would sit
    between the test and the phone and not pass SIGTERM on): the clock starts at FAKE_1970 and
    runs; CLOCK_MONOTONIC (timers) stays real."""
    return dict(os.environ, LD_PRELOAD=faketime_lib(), FAKETIME="@" + FAKE_1970, FAKETIME_DONT_FAKE_MONOTONIC="1",
                FAKETIME_NO_CACHE="1")


class Chrony:
    """chronyd as an NTP server on 127.0.0.1:port, serving its local clock (stratum 8). -x: it
    never touches the system clock; no command port; pid and drift files in its own dir."""

    def __init__(self, tmp):
        self.dir = tempfile.mkdtemp(prefix="chrony-", dir=tmp)
        self.port = free_port(tcp=False)
        self.conf = os.path.join(self.dir, "chrony.conf")
        with open(self.conf, "w") as f:
            f.write(f"port {self.port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\ncmdport 0\n"
                    f"pidfile {self.dir}/chronyd.pid\ndriftfile {self.dir}/drift\n")
        self.proc = None

    def __enter__(self):
        if not shutil.which("chronyd"):
            raise AssertionError("chronyd (Debian package chrony) is not installed")
        self.log = open(os.path.join(self.dir, "chronyd.log"), "w")
        self.proc = subprocess.Popen(["chronyd", "-f", self.conf, "-d", "-x", "-u", getpass.getuser()],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise AssertionError("chronyd did not start serving: " + open(self.log.name).read())
            time.sleep(0.1)
        return self

    def answers(self):
        """One SNTP request from Python: a synchronized (LI != 3, stratum 1-15) reply echoing ours."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            tx = os.urandom(8)
            try:
                s.sendto(bytes([0x23]) + bytes(39) + tx, ("127.0.0.1", self.port))
                d, _ = s.recvfrom(512)
            except OSError:
                return False
            return len(d) >= 48 and d[24:32] == tx and d[0] >> 6 != 3 and 1 <= d[1] <= 15

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # by PID: only the chronyd this test started
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        return False


def write_config(path, kam, ca, ntp_port, control_socket=None, sync_timeout=4):
    lines = ["[[account]]", 'user = "1001"', 'password = "secret1001"', 'domain = "localhost"',
             f'registrar = "sip:127.0.0.1:{kam.tls_port};transport=tls"',
             "[tls]", f"ca_files = [{json.dumps(ca)}]",
             "[clock]", f'ntp_servers = ["127.0.0.1:{ntp_port}"]', f"sync_timeout_s = {sync_timeout}",
             "resync_interval_s = 0"]
    if control_socket:
        lines += ["[phone]", f"control_socket = {json.dumps(control_socket)}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def register(binary, cfg, *extra, fake=True):
    cmd = [binary, "register", "--config", cfg, "--json", "--timeout", "20", *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=faketime_env() if fake else None)
    rep = json.loads(p.stdout) if p.stdout.strip() else {}
    return p.returncode, rep, p.stderr


class Daemon:
    """`exphone run` (under faketime when fake) with its control socket."""

    def __init__(self, binary, cfg, ctl, fake=True):
        self.cmd = [binary, "run", "--config", cfg]
        self.ctl, self.fake = ctl, fake

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=faketime_env() if self.fake else None)
        return self

    def status(self):
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl, "--json", "status"], capture_output=True, text=True,
                           timeout=10)
        return json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else None

    def wait(self, pred, timeout=20):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exphone run exited {self.proc.returncode}: {self.proc.communicate()}")
            last = self.status()
            if last and pred(last):
                return last
            time.sleep(0.2)
        raise AssertionError(f"condition not reached; last status: {json.dumps(last)}")

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.out, self.err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.out, self.err = self.proc.communicate(timeout=10)
        return False


def account(st):
    return st["accounts"][0] if st.get("accounts") else {}


def main():
    r = Runner("clock interop")
    tmp = tempfile.mkdtemp(prefix="exphone-clock-")
    try:
        with Kamailio(tmp) as kam, Chrony(tmp) as ntp:
            ca = kam.ca_file
            closed = free_port(tcp=False)  # nobody listens: ICMP port unreachable

            def synced_1970_register():
                binary = plain_exphone()
                cfg = write_config(os.path.join(tmp, "sync.toml"), kam, ca, ntp.port)
                rc, rep, err = register(binary, cfg, "--keep")
                assert rc == 0, f"exit {rc}: {err} {rep}"
                assert f"clock: synchronized by ntp 127.0.0.1:{ntp.port}" in err, err
                acc = rep["accounts"][0]
                assert acc["registered"] is True and acc["tls"]["verified"] is True, acc
                assert kam.wait_registered("1001", timeout=5), "Kamailio has no binding"
                kam.unregister("1001")
            r.check("device clock in 1970, chrony on loopback -> synced, registered over verified TLS",
                    synced_1970_register)

            def unsynced_1970_register():
                binary = plain_exphone()
                cfg = write_config(os.path.join(tmp, "nosync.toml"), kam, ca, closed, sync_timeout=2)
                t0 = time.monotonic()
                rc, rep, err = register(binary, cfg)
                assert rc != 0, f"registered with a 1970 clock and no NTP: {rep}"
                assert "clock: clock-unsynchronized" in err, err
                assert "error: tls-not-yet-valid:" in err, err
                msg = rep.get("error", {}).get("message", "")
                assert rep.get("error", {}).get("code") == "tls-not-yet-valid", rep
                # both times: the certificate's notBefore (this century) and the device clock (1970)
                assert "notBefore" in msg and "20" in msg.split("notBefore")[0], msg
                assert "device clock is 1970-01-0" in msg, msg
                assert "clock-unsynchronized" in msg, msg
                assert time.monotonic() - t0 < 30, "the NTP wait is not bounded"
                print("  " + msg)
            r.check("device clock in 1970, NTP port closed -> clock-unsynchronized, tls-not-yet-valid with both times",
                    unsynced_1970_register)

            def daemon_status_synced():
                binary = plain_exphone()
                ctl = os.path.join(tmp, "run-sync.sock")
                cfg = write_config(os.path.join(tmp, "run-sync.toml"), kam, ca, ntp.port, control_socket=ctl)
                with Daemon(binary, cfg, ctl) as d:
                    st = d.wait(lambda s: account(s).get("registered") is True)
                    c = st["clock"]
                    assert c["synchronized"] is True and c["plausible"] is True, c
                    assert c["source"] == f"ntp 127.0.0.1:{ntp.port}", c
                    assert c["state"] == "synchronized", c
                    # the device says 1970-01-02: the offset is decades
                    assert c["offset_ms"] > 50 * 365 * 86400 * 1000, c
                    assert c["last_sync"] and not c["last_sync"].startswith("1970"), c
                    assert account(st)["tls"]["verified"] is True, st
                    human = subprocess.run([EXPHONE, "ctl", "--socket", ctl, "status"], capture_output=True, text=True,
                                           timeout=10).stdout
                    assert f"clock synchronized (ntp 127.0.0.1:{ntp.port}, offset " in human, human
                kam.unregister("1001")
            r.check("exphone run in 1970: registration after NTP sync; ctl status clock synchronized",
                    daemon_status_synced)

            def daemon_status_unsynced():
                binary = plain_exphone()
                ctl = os.path.join(tmp, "run-nosync.sock")
                cfg = write_config(os.path.join(tmp, "run-nosync.toml"), kam, ca, closed, control_socket=ctl,
                                   sync_timeout=2)
                with Daemon(binary, cfg, ctl) as d:
                    st = d.wait(lambda s: account(s).get("error", {}).get("code") == "tls-not-yet-valid", timeout=30)
                    c = st["clock"]
                    assert c["synchronized"] is False and c["plausible"] is False, c
                    assert c["state"] == "clock-unsynchronized" and c["source"] == "system", c
                    assert c["offset_ms"] is None and c["last_sync"] is None, c
                    assert "clock-unsynchronized" in account(st)["error"]["message"], st
            r.check("exphone run in 1970 without NTP: ctl status clock-unsynchronized, tls-not-yet-valid",
                    daemon_status_unsynced)

            def provisioning_after_ntp():
                binary = plain_exphone()
                site = os.path.join(tmp, "site")
                run = lambda *a: subprocess.run([EXPHONE, *a], capture_output=True, text=True, timeout=60, check=True)
                run("pki", "init", "--dir", site, "--name", "Clock Test Root CA")
                run("pki", "server", "--dir", site, "--host", "127.0.0.1")
                run("pki", "device", "--dir", site, "--id", "02:00:00:00:00:09")
                chain = os.path.join(site, "ca", "chain.pem")
                port = free_port()
                ctl = os.path.join(tmp, "prov.sock")
                tmpl = os.path.join(tmp, "prov-template.toml")
                with open(tmpl, "w") as f:
                    f.write(f'[[account]]\nuser = "{{{{extension}}}}"\npassword = "{{{{password}}}}"\ndomain = "localhost"\n'
                            f'registrar = "sips:127.0.0.1:{kam.tls_port}"\n[tls]\nca_files = [{json.dumps(ca)}]\n'
                            f'[clock]\nntp_servers = ["127.0.0.1:{ntp.port}"]\nsync_timeout_s = 4\nresync_interval_s = 0\n'
                            f'[provisioning]\nurl = "https://127.0.0.1:{port}/{{mac}}.tar"\nca_file = "{{{{ca_file}}}}"\n'
                            f'mac = "{{{{id}}}}"\ninterval_s = 0\n[phone]\ncontrol_socket = {json.dumps(ctl)}\n')
                csv = os.path.join(tmp, "prov.csv")
                with open(csv, "w") as f:
                    f.write("id,extension,password\n00:11:22:33:44:09,1001,secret1001\n")
                out = os.path.join(tmp, "fleet")
                run("pki", "fleet", "--dir", site, "--devices", csv, "--config-template", tmpl, "--out", out)
                www = os.path.join(tmp, "www")
                os.makedirs(www)
                make_tar(os.path.join(www, "001122334409.tar"),
                         {n: open(os.path.join(out, "001122334409", n), "rb").read()
                          for n in ("exphone.toml", "device.crt", "device.key", "ca.pem")})
                for d_ in (tmp, www):
                    os.chmod(d_, 0o755)
                os.chmod(os.path.join(www, "001122334409.tar"), 0o644)
                nginx = Nginx(tmp, port, os.path.join(site, "servers", "127.0.0.1.fullchain.pem"),
                              os.path.join(site, "servers", "127.0.0.1.key"), chain, www)
                try:
                    def factory(name, ntp_port):
                        d_ = os.path.join(tmp, name)
                        os.makedirs(d_)
                        c = os.path.join(d_, "exphone.toml")
                        with open(c, "w") as f:
                            f.write(f'[provisioning]\nurl = "https://127.0.0.1:{port}/{{mac}}.tar"\n'
                                    f'ca_file = {json.dumps(chain)}\nmac = "00:11:22:33:44:09"\n'
                                    f'client_cert = {json.dumps(os.path.join(site, "devices", "020000000009.crt"))}\n'
                                    f'client_key = {json.dumps(os.path.join(site, "devices", "020000000009.key"))}\n'
                                    f'[clock]\nntp_servers = ["127.0.0.1:{ntp_port}"]\nsync_timeout_s = 2\n'
                                    f'resync_interval_s = 0\n[phone]\ncontrol_socket = {json.dumps(ctl)}\n')
                        return c
                    # without NTP: the fetch is refused at the device's 1970 time, the factory config stays
                    cfg = factory("prov-nosync", closed)
                    with Daemon(binary, cfg, ctl) as d:
                        st = d.wait(lambda s: (s.get("provisioning") or {}).get("state") == "failed", timeout=30)
                        e = st["provisioning"]["error"]
                        assert e["code"] == "prov-tls" and "not yet valid" in e["message"], e
                        assert "device clock is 1970-01-0" in e["message"] and "clock-unsynchronized" in e["message"], e
                        assert not os.path.islink(cfg) and st["accounts"] == [], st
                        print("  no NTP: " + e["message"])
                    # with NTP: synced first, then provisioned at the NTP time, restarted, registered
                    cfg = factory("prov-sync", ntp.port)
                    with Daemon(binary, cfg, ctl) as d:
                        st = d.wait(lambda s: account(s).get("registered") is True
                                    and not (s.get("provisioning") or {}).get("pending"), timeout=40)
                        assert os.path.islink(cfg) and st["clock"]["synchronized"] is True, st
                        assert st["provisioning"]["generation"].startswith("provisioned/"), st["provisioning"]
                        assert account(st)["tls"]["verified"] is True, st
                    assert d.out.index("clock: synchronized") < d.out.index("provisioning: applied"), d.out
                    kam.unregister("1001")
                finally:
                    nginx.stop()
            r.check("exphone run in 1970 with [provisioning]: NTP first, the bundle fetched at the NTP time, "
                    "registered; without NTP prov-tls (not yet valid), factory config kept", provisioning_after_ntp)

            def real_clock_sanitized_build():
                # the binary under test (sanitized in scripts/test.sh) with the real clock: a
                # small offset, registration as usual
                ctl = os.path.join(tmp, "run-real.sock")
                cfg = write_config(os.path.join(tmp, "run-real.toml"), kam, ca, ntp.port, control_socket=ctl)
                with Daemon(EXPHONE, cfg, ctl, fake=False) as d:
                    st = d.wait(lambda s: account(s).get("registered") is True)
                    c = st["clock"]
                    assert c["synchronized"] is True and abs(c["offset_ms"]) < 5000, c
                kam.unregister("1001")
            r.check("real clock: synced from chrony with a small offset, registered", real_clock_sanitized_build)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
