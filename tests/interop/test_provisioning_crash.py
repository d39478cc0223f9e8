"""Power-loss test of provisioning: `exphone provision` is killed with SIGKILL at every file-system
step of a round, deterministically: `strace -f -e inject=SYSCALL:signal=KILL:when=N` delivers the
kill at the Nth mkdir / write / fsync / rename / symlink / link / unlink, for N = 1, 2, ... until a
round completes without reaching it. Every round fetches a changed bundle from nginx (mTLS), so
every kill lands in a real apply. After each kill the config path must name the old or the new
config, whole (it loads with the phone's own loader, and its user is one of the two), and so must
C.lkg. At the switch points (rename, symlink) and at the end, `exphone run` on what was left
comes up and registers to Kamailio over TLS. A finished round leaves no temp files and at most two generations.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from lib.kamailio import Kamailio
from lib.nginx import Nginx, make_tar
from lib.ports import free_port

EXPHONE = os.environ["EXPHONE"]
MAC = "00:11:22:33:44:01"
BUNDLE_ID = "001122334401"
SYSCALLS = ("mkdir", "write", "fsync", "rename", "symlink", "link", "unlink")
SWITCH_POINTS = ("rename", "symlink")

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
interval_s = 0

[phone]
control_socket = "@CTL@"
"""

# strace's own ptrace and LeakSanitizer's cannot both attach; leaks are checked by the other tests.
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1")


def run(*args):
    p = subprocess.run([EXPHONE, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"exphone {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def expect(cond, msg, quiet=False):
    if not cond:
        raise AssertionError(msg)
    if not quiet:
        print("ok:", msg, flush=True)


def config_user(path):
    """The account user of the config at path, or None when it does not load."""
    p = subprocess.run([EXPHONE, "config", "check", "--config", path, "--json"], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        return None
    accts = json.loads(p.stdout).get("accounts") or []
    return accts[0]["aor"].split(":")[1].split("@")[0] if accts else "factory"


def registers(config, kam, users):
    """exphone run on config registers as one of users (its start-up round may move it to the other
    bundle the server now serves). Returns the user or None."""
    proc = subprocess.Popen([EXPHONE, "run", "--config", config], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    who = None
    try:
        deadline = time.time() + 40
        while time.time() < deadline and who is None and proc.poll() is None:
            who = next((u for u in users if kam.registered(u)), None)
            time.sleep(0.1)
        return who
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out = proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0]
        for u in users:
            if not kam.wait_registered(u, timeout=5, registered=False):
                kam.unregister(u)
        if proc.returncode != 0 or who is None:
            print(out[-3000:])
        if proc.returncode != 0:
            raise AssertionError(f"exphone run exited {proc.returncode}")


def main():
    if not shutil.which("strace"):
        raise AssertionError("strace is not installed (scripts/install-deps.sh installs it)")
    work = tempfile.mkdtemp(prefix="exphone-provcrash-")
    nginx = None
    try:
        with Kamailio(os.path.join(work, "kam"), users={"1001": "pw1", "2001": "pw1"}) as kam:
            port = free_port("127.0.0.1")
            site = os.path.join(work, "site")
            run("pki", "init", "--dir", site, "--name", "Plant Root CA")
            run("pki", "server", "--dir", site, "--host", "127.0.0.1")
            chain = os.path.join(site, "ca", "chain.pem")
            run("pki", "device", "--dir", site, "--id", "02:00:00:00:00:01")
            factory_crt = os.path.join(site, "devices", "020000000001.crt")
            factory_key = os.path.join(site, "devices", "020000000001.key")
            ctl = os.path.join(work, "ctl.sock")
            bundles = {}
            for base in (1000, 2000):
                out = os.path.join(work, f"fleet{base}")
                with open(out + ".csv", "w") as f:
                    f.write(f"id,extension,password\n{MAC},{base + 1},pw1\n00:11:22:33:44:02,{base + 2},pw2\n")
                with open(out + ".toml", "w") as f:
                    f.write(TEMPLATE.replace("@TLS@", str(kam.tls_port)).replace("@KAMCA@", kam.ca_file)
                            .replace("@PORT@", str(port)).replace("@CTL@", ctl))
                run("pki", "fleet", "--dir", site, "--devices", out + ".csv", "--config-template", out + ".toml",
                    "--out", out, "--force")
                bundles[str(base + 1)] = {n: open(os.path.join(out, BUNDLE_ID, n), "rb").read()
                                          for n in ("exphone.toml", "device.crt", "device.key", "ca.pem")}
            www = os.path.join(work, "www")
            os.makedirs(www)
            tar = os.path.join(www, BUNDLE_ID + ".tar")
            serial = [0]

            def serve(user):
                make_tar(tar, bundles[user])
                serial[0] += 1
                t = time.time() + serial[0] * 10
                os.utime(tar, (t, t))
                os.chmod(tar, 0o644)

            serve("1001")
            os.chmod(work, 0o755)
            os.chmod(www, 0o755)
            nginx = Nginx(work, port, os.path.join(site, "servers", "127.0.0.1.fullchain.pem"),
                          os.path.join(site, "servers", "127.0.0.1.key"), chain, www)

            phone_dir = os.path.join(work, "phone")
            os.makedirs(phone_dir)
            phone = os.path.join(phone_dir, "exphone.toml")
            with open(phone, "w") as f:
                f.write(f'# factory config\n[provisioning]\nurl = "https://127.0.0.1:{port}/{{mac}}.tar"\n'
                        f'ca_file = "{chain}"\nclient_cert = "{factory_crt}"\nclient_key = "{factory_key}"\n'
                        f'mac = "{MAC}"\n[phone]\ncontrol_socket = "{ctl}"\n')

            kills, completed, daemon_checks = 0, 0, 0
            per_syscall = {}
            for sc in SYSCALLS:
                n = 1
                while True:
                    before = config_user(phone)
                    expect(before is not None, f"the config loads before the attempt ({sc} #{n})", quiet=True)
                    target = "2001" if before == "1001" else "1001"
                    serve(target)
                    p = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={sc}",
                                        "-e", f"inject={sc}:signal=KILL:when={n}",
                                        EXPHONE, "provision", "--config", phone, "--json"],
                                       capture_output=True, text=True, timeout=120, env=ENV)
                    killed = p.returncode in (-9, 137)
                    after = config_user(phone)
                    expect(after in (before, target),
                           f"after a kill at {sc} #{n} the config is the old ({before}) or the new ({target}) one, "
                           f"whole: {after} (rc {p.returncode}, {p.stderr.strip()[-300:]})", quiet=True)
                    if os.path.lexists(phone + ".lkg"):
                        expect(config_user(phone + ".lkg") is not None, f"C.lkg loads after {sc} #{n}", quiet=True)
                    if not killed:
                        expect(p.returncode == 0 and after == target,
                               f"{sc}: the round completes once no kill lands ({n - 1} kill points; rc {p.returncode}: "
                               f"{p.stdout.strip()[-300:]} {p.stderr.strip()[-300:]})")
                        completed += 1
                        break
                    kills += 1
                    if sc in SWITCH_POINTS and after in ("1001", "2001"):
                        who = registers(phone, kam, ("1001", "2001"))
                        expect(who is not None, f"killed at {sc} #{n}: exphone run on what is left ({after}) registers ({who})")
                        daemon_checks += 1
                    n += 1
                    if n > 400:
                        raise AssertionError(f"{sc}: more than 400 calls; the loop would not end")
                per_syscall[sc] = n - 1
            print("kill points per syscall:", per_syscall, flush=True)
            expect(kills >= 20 and per_syscall["rename"] >= 3 and per_syscall["fsync"] >= 4,
                   f"{kills} kills across the apply (renames {per_syscall['rename']}, fsyncs {per_syscall['fsync']})")
            leftovers = [n for n in os.listdir(phone_dir) if ".tmp-" in n]
            gens = os.listdir(os.path.join(phone_dir, "provisioned"))
            expect(not leftovers and len(gens) <= 2, f"a finished round leaves no temp files ({leftovers}) and "
                                                     f"at most two generations ({gens})")
            serve(config_user(phone))  # what the phone has: its start-up round finds nothing new
            who = registers(phone, kam, ("1001", "2001"))
            expect(who == config_user(phone), f"at the end exphone run registers as {who}")
            print(f"{kills} kills, {completed} completed rounds, {daemon_checks} daemon checks")
            print("PASS")
    finally:
        if nginx:
            nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
