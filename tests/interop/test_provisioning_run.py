"""A running phone provisioned by a real server, registering to a real registrar: nginx (HTTPS,
`ssl_verify_client on`) serves the bundles `exphone pki fleet` made for 200 devices, Kamailio takes
REGISTER over TLS. One `exphone run`, started on a factory config, in order:

1. provisions at start-up, restarts itself (same PID, exec) on its bundle and registers over TLS as
   1007; the new generation is confirmed once registered;
2. polls every interval_s: an unchanged bundle costs a 304;
3. a changed bundle (extension 2007) is picked up by the next poll: the phone registers as 2007;
4. `exphone ctl reprovision` fetches at once and the phone moves to the bundle it got;
5. a bundle whose credentials the registrar refuses is applied, cannot register, and is rolled back
   to the last config that registered after rollback_after_s; the rolled-back bundle is not applied
   again (prov-known-bad) and the phone is registered again;
6. a damaged bundle is refused before applying, with no restart.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from lib.kamailio import Kamailio
from lib.nginx import Nginx, make_tar
from lib.ports import free_port

EXPHONE = os.environ["EXPHONE"]
DEVICES = 200
MAC = "00:11:22:33:44:07"
BUNDLE_ID = "001122334407"
ROLLBACK_S = 8

TEMPLATE = """[[account]]
registrar = "sips:127.0.0.1:@TLS@"
user = "{{extension}}"
password = "{{password}}"
domain = "localhost"

[tls]
ca_files = ["@KAMCA@"]
client_cert = "{{cert_file}}"
client_key = "{{key_file}}"

[provisioning]
url = "https://127.0.0.1:@PORT@/{mac}.tar"
ca_file = "{{ca_file}}"
mac = "{{id}}"
interval_s = @INTERVAL@
rollback_after_s = @ROLLBACK@

[phone]
control_socket = "@CTL@"
"""


def run(*args):
    p = subprocess.run([EXPHONE, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"exphone {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)
    print("ok:", msg, flush=True)


class Daemon:
    """exphone run with its output collected by a thread (it restarts itself: same PID)."""

    def __init__(self, config, ctl):
        self.ctl = ctl
        self.proc = subprocess.Popen([EXPHONE, "run", "--config", config], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def output(self):
        with self.lock:
            return list(self.lines)

    def count(self, needle):
        return sum(1 for l in self.output() if needle in l)

    def wait_output(self, needle, count=1, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.count(needle) >= count:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def ctl_json(self, *words, timeout=60):
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl, "--json", *words], capture_output=True, text=True,
                           timeout=timeout)
        if not p.stdout.strip():
            return None
        return json.loads(p.stdout)

    def status(self):
        return self.ctl_json("status")

    def wait_status(self, pred, timeout=30):
        deadline, st = time.time() + timeout, None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                st = self.status()
            except (subprocess.TimeoutExpired, json.JSONDecodeError):
                st = None
            if st and pred(st):
                return st
            time.sleep(0.2)
        return st

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def registered_as(st, user):
    accts = (st or {}).get("accounts") or []
    return len(accts) == 1 and accts[0].get("registered") and accts[0].get("name", "").startswith(f"{user}@")


def main():
    work = tempfile.mkdtemp(prefix="exphone-provrun-")
    nginx = daemon = None
    try:
        users = {"1007": "pw7", "2007": "pw7"}
        with Kamailio(os.path.join(work, "kam"), users=users) as kam:
            port = free_port("127.0.0.1")
            site = os.path.join(work, "site")
            run("pki", "init", "--dir", site, "--name", "Plant Root CA", "--intermediate")
            run("pki", "server", "--dir", site, "--host", "127.0.0.1")
            chain = os.path.join(site, "ca", "chain.pem")
            run("pki", "device", "--dir", site, "--id", "02:00:00:00:00:07")  # the factory identity
            factory_crt = os.path.join(site, "devices", "020000000007.crt")
            factory_key = os.path.join(site, "devices", "020000000007.key")
            ctl = os.path.join(work, "ctl.sock")

            def fleet(interval, password_of=lambda i: f"pw{i}", ext_base=1000):
                """A fleet run: 200 devices' bundles; returns {bundle id: {file: bytes}}."""
                out = os.path.join(work, f"fleet-{time.monotonic_ns()}")
                csv = os.path.join(out + ".csv")
                with open(csv, "w") as f:
                    f.write("id,extension,password\n" + "".join(
                        f"00:11:22:33:44:{i:02x},{ext_base + i},{password_of(i)}\n" for i in range(1, DEVICES + 1)))
                tmpl = out + ".toml"
                with open(tmpl, "w") as f:
                    f.write(TEMPLATE.replace("@TLS@", str(kam.tls_port)).replace("@KAMCA@", kam.ca_file)
                            .replace("@PORT@", str(port)).replace("@INTERVAL@", str(interval))
                            .replace("@ROLLBACK@", str(ROLLBACK_S)).replace("@CTL@", ctl))
                res = json.loads(run("pki", "fleet", "--dir", site, "--devices", csv, "--config-template", tmpl,
                                     "--out", out, "--force", "--json").stdout)
                expect(len(res["bundles"]) == DEVICES, f"pki fleet wrote {DEVICES} bundles")
                bundles = {}
                for b in res["bundles"]:
                    bundles[os.path.basename(b["dir"])] = {
                        n: open(os.path.join(b["dir"], n), "rb").read()
                        for n in ("exphone.toml", "device.crt", "device.key", "ca.pem")}
                return bundles

            www = os.path.join(work, "www")
            os.makedirs(www)
            tar = os.path.join(www, BUNDLE_ID + ".tar")
            serial = [0]

            def serve(files):
                make_tar(tar, files)
                serial[0] += 1
                t = time.time() + serial[0] * 10  # a new Last-Modified/ETag every time
                os.utime(tar, (t, t))

            first = fleet(interval=3)
            for bid, files in first.items():
                make_tar(os.path.join(www, bid + ".tar"), files)
            os.chmod(work, 0o755)
            for root_, _, files_ in os.walk(www):
                os.chmod(root_, 0o755)
                for n in files_:
                    os.chmod(os.path.join(root_, n), 0o644)
            nginx = Nginx(work, port, os.path.join(site, "servers", "127.0.0.1.fullchain.pem"),
                          os.path.join(site, "servers", "127.0.0.1.key"), chain, www)
            url_path = f"/{BUNDLE_ID}.tar"

            phone = os.path.join(work, "phone", "exphone.toml")
            os.makedirs(os.path.dirname(phone))
            with open(phone, "w") as f:
                f.write(f'# factory config\n[provisioning]\nurl = "https://127.0.0.1:{port}/{{mac}}.tar"\n'
                        f'ca_file = "{chain}"\nclient_cert = "{factory_crt}"\nclient_key = "{factory_key}"\n'
                        f'mac = "{MAC}"\n[phone]\ncontrol_socket = "{ctl}"\n')

            # 1. start-up: provisioned, restarted on the bundle, registered over TLS, confirmed
            daemon = Daemon(phone, ctl)
            pid = daemon.proc.pid
            st = daemon.wait_status(lambda s: registered_as(s, "1007") and not s["provisioning"]["pending"], 60)
            expect(registered_as(st, "1007"), f"provisioned at start-up and registered as 1007 ({st and st['accounts']})")
            expect(st["accounts"][0]["transport"].lower() == "tls", "over TLS")
            expect(kam.wait_registered("1007", timeout=10), "Kamailio has 1007's binding")
            expect(daemon.proc.pid == pid and daemon.count("exphone: restarting (provisioned") == 1,
                   "the daemon restarted itself once, same PID")
            prov = st["provisioning"]
            expect(prov["pending"] is None and prov["generation"].startswith("provisioned/g")
                   and os.path.realpath(phone).startswith(os.path.join(work, "phone", "provisioned")),
                   f"the generation is confirmed ({prov})")

            # 2. polls: unchanged costs a 304
            n304 = sum(1 for l in nginx.log_lines() if l[:2] == [url_path, "304"])
            deadline = time.time() + 15
            while time.time() < deadline and sum(1 for l in nginx.log_lines() if l[:2] == [url_path, "304"]) < n304 + 2:
                time.sleep(0.2)
            n304b = sum(1 for l in nginx.log_lines() if l[:2] == [url_path, "304"])
            expect(n304b >= n304 + 2, f"two polls within 15 s (interval 3 s), each a 304 ({n304} -> {n304b})")
            expect(daemon.count("exphone: restarting") == 1, "an unchanged bundle restarts nothing")

            # 3. a changed bundle: the next poll applies it (extension 2007; polling slowed to 1 h)
            second = fleet(interval=3600, ext_base=2000)
            serve(second[BUNDLE_ID])
            st = daemon.wait_status(lambda s: registered_as(s, "2007") and not s["provisioning"]["pending"], 40)
            expect(registered_as(st, "2007"), f"the next poll applied the changed bundle: registered as 2007 ({st and st['accounts']})")
            expect(kam.wait_registered("2007", timeout=10) and kam.wait_registered("1007", timeout=10, registered=False),
                   "Kamailio: 2007 bound, 1007 unregistered by the restart")
            expect(daemon.proc.pid == pid, "same PID")

            # 4. ctl reprovision: at once, without waiting for the poll
            serve(first[BUNDLE_ID] | {"exphone.toml": first[BUNDLE_ID]["exphone.toml"].replace(b"interval_s = 3\n", b"interval_s = 3600\n")})
            r = daemon.ctl_json("reprovision")
            expect(r and r["ok"] and r["provisioning"]["state"] == "applied", f"ctl reprovision applied the new bundle ({r})")
            st = daemon.wait_status(lambda s: registered_as(s, "1007") and not s["provisioning"]["pending"], 40)
            expect(registered_as(st, "1007"), "and the phone runs it (1007)")
            good_target = os.readlink(phone)

            # 5. credentials the registrar refuses: applied, on trial, rolled back
            bad = fleet(interval=3600, password_of=lambda i: "wrong")
            bad_toml = bad[BUNDLE_ID]["exphone.toml"]
            serve(bad[BUNDLE_ID])
            t0 = time.time()
            trials = daemon.count("is on trial")
            r = daemon.ctl_json("reprovision")
            expect(r and r["ok"] and r["provisioning"]["state"] == "applied", "the bad bundle validates and is applied")
            expect(daemon.wait_output("is on trial", count=trials + 1, timeout=30), "the new generation is on trial")
            expect(daemon.wait_output("provisioning: rolled-back", timeout=ROLLBACK_S + 30),
                   "not registered within rollback_after_s: rolled back")
            took = time.time() - t0
            expect(ROLLBACK_S <= took <= ROLLBACK_S + 25, f"rolled back after {took:.1f} s (rollback_after_s = {ROLLBACK_S})")
            st = daemon.wait_status(lambda s: registered_as(s, "1007"), 40)
            expect(registered_as(st, "1007") and os.readlink(phone) == good_target,
                   "the phone runs the last config that registered, and is registered again")
            prov = st["provisioning"]
            reason = (prov.get("rollback") or {}).get("reason", "")
            expect("did not register" in reason and "auth" in reason, f"the reason is given: {reason}")
            expect(prov["error"] and prov["error"]["code"] == "prov-known-bad",
                   f"the server still serves the rolled-back bundle: not applied again ({prov['error']})")
            restarts = daemon.count("exphone: restarting")
            r = daemon.ctl_json("reprovision")
            expect(r and not r["ok"] and r["error"]["code"] == "prov-known-bad", f"and not on request either ({r and r.get('error')})")
            expect(open(os.path.realpath(phone), "rb").read() != bad_toml, "the bad config is not in place")

            # 6. a damaged bundle: refused before applying, no restart
            data = open(tar, "rb").read()
            with open(tar, "wb") as f:
                f.write(first[BUNDLE_ID]["exphone.toml"] + data[: len(data) // 3])
            t = time.time() + 1000
            os.utime(tar, (t, t))
            r = daemon.ctl_json("reprovision")
            expect(r and not r["ok"] and r["error"]["code"].startswith("bundle-"), f"damaged bundle refused ({r and r['error']})")
            time.sleep(1)
            expect(daemon.count("exphone: restarting") == restarts and registered_as(daemon.status(), "1007"),
                   "no restart, still registered")

            rc = daemon.stop()
            expect(rc == 0, f"SIGTERM: exit 0 ({rc})")
            print("PASS")
    finally:
        if daemon and daemon.proc.poll() is None:
            daemon.stop()
        if daemon:
            print("--- exphone run output (tail) ---")
            print("\n".join(daemon.output()[-60:]))
        if nginx:
            nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
