"""Provisioning over HTTPS against a real server: nginx on loopback with `ssl_verify_client on`
serves ustar bundles made from `exphone pki fleet` output for 20 devices. A phone fetches its own
bundle with its factory certificate, validates and applies it (symlink switch, last-known-good
kept); an unchanged bundle costs one 304 (nginx's access log); a changed one is applied; a half
download and a bundle with another device's key are rejected before applying; a phone with a
certificate from another CA (or none) is refused by nginx and keeps its config; a server that the
provisioning CA did not sign is not trusted; a missing bundle is a 404."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from lib.nginx import Nginx, make_tar
from lib.ports import free_port

EXPHONE = os.environ["EXPHONE"]
DEVICES = 20
BUNDLE_FILES = ("exphone.toml", "device.crt", "device.key", "ca.pem")

TEMPLATE = """[[account]]
registrar = "sip:127.0.0.1:@SIPPORT@;transport=tls"
user = "{{extension}}"
password = "{{password}}"
domain = "plant.local"

[tls]
ca_files = ["{{ca_file}}"]
client_cert = "{{cert_file}}"
client_key = "{{key_file}}"

[provisioning]
url = "https://127.0.0.1:@PORT@/{mac}.tar"
ca_file = "{{ca_file}}"
mac = "{{id}}"

[phone]
control_socket = "{{ctl}}"
"""


def run(*args, check=True):
    p = subprocess.run([EXPHONE, *args], capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"exphone {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)
    print("ok:", msg)


def read_bundle(d):
    out = {}
    for n in BUNDLE_FILES:
        with open(os.path.join(d, n), "rb") as f:
            out[n] = f.read()
    return out


def phone_dir(work, name, port, ca_file, cert, key, mac):
    d = os.path.join(work, name)
    os.makedirs(d)
    c = os.path.join(d, "exphone.toml")
    cert_lines = f'client_cert = "{cert}"\nclient_key = "{key}"\n' if cert else ""
    with open(c, "w") as f:
        f.write(f'# factory config of {name}\n[provisioning]\nurl = "https://127.0.0.1:{port}/{{mac}}.tar"\n'
                f'ca_file = "{ca_file}"\n{cert_lines}mac = "{mac}"\ninterval_s = 60\n')
    return c


def provision(config):
    p = run("provision", "--config", config, "--json", check=False)
    try:
        j = json.loads(p.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"no JSON: rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.returncode, j, p.stderr


def config_user(config):
    j = json.loads(run("config", "check", "--config", config, "--json").stdout)
    return j


def main():
    work = tempfile.mkdtemp(prefix="exphone-prov-")
    nginx = None
    try:
        port = free_port("127.0.0.1")
        site = os.path.join(work, "site")
        run("pki", "init", "--dir", site, "--name", "Plant Root CA", "--intermediate")
        run("pki", "server", "--dir", site, "--host", "127.0.0.1")
        chain = os.path.join(site, "ca", "chain.pem")
        # the factory identity the phone is born with (same site CA, another id)
        run("pki", "device", "--dir", site, "--id", "02:00:00:00:00:07")
        factory_crt = os.path.join(site, "devices", "020000000007.crt")
        factory_key = os.path.join(site, "devices", "020000000007.key")
        if not os.path.exists(factory_crt):
            files = os.listdir(os.path.join(site, "devices"))
            factory_crt = os.path.join(site, "devices", [f for f in files if f.endswith(".crt")][0])
            factory_key = factory_crt[:-4] + ".key"
        # another CA's device: nginx must refuse it
        other = os.path.join(work, "other")
        run("pki", "init", "--dir", other, "--name", "Rogue CA")
        run("pki", "device", "--dir", other, "--id", "00:11:22:33:44:05")
        rogue = sorted(f for f in os.listdir(os.path.join(other, "devices")) if f.endswith(".crt"))[0]
        rogue_crt = os.path.join(other, "devices", rogue)
        rogue_key = rogue_crt[:-4] + ".key"

        csv = "id,extension,password,ctl\n" + "".join(
            f"00:11:22:33:44:{i:02x},{1000 + i},pw{i},{work}/ctl-{i}.sock\n" for i in range(1, DEVICES + 1))
        with open(os.path.join(work, "devices.csv"), "w") as f:
            f.write(csv)
        with open(os.path.join(work, "template.toml"), "w") as f:
            # nobody listens on the registrar port: the daemon check only needs the phone running
            f.write(TEMPLATE.replace("@PORT@", str(port)).replace("@SIPPORT@", str(free_port("127.0.0.1"))))
        out = os.path.join(work, "fleet")
        fleet = json.loads(run("pki", "fleet", "--dir", site, "--devices", os.path.join(work, "devices.csv"),
                               "--config-template", os.path.join(work, "template.toml"), "--out", out,
                               "--json").stdout)
        expect(len(fleet["bundles"]) == DEVICES, f"pki fleet wrote {DEVICES} bundles")
        www = os.path.join(work, "www")
        os.makedirs(www)
        for b in fleet["bundles"]:
            make_tar(os.path.join(www, os.path.basename(b["dir"]) + ".tar"), read_bundle(b["dir"]))
        os.chmod(work, 0o755)
        for root_, dirs, files_ in os.walk(www):
            os.chmod(root_, 0o755)
            for n in files_:
                os.chmod(os.path.join(root_, n), 0o644)
        nginx = Nginx(work, port, os.path.join(site, "servers", "127.0.0.1.fullchain.pem"),
                      os.path.join(site, "servers", "127.0.0.1.key"), chain, www)

        mac = "00:11:22:33:44:07"
        url_path = "/001122334407.tar"
        phone = phone_dir(work, "phone", port, chain, factory_crt, factory_key, mac)
        factory_text = open(phone).read()

        # 1. first fetch: applied
        rc, j, err = provision(phone)
        expect(rc == 0 and j["state"] == "applied", f"first provisioning applied ({j}, {err.strip()})")
        expect(os.path.islink(phone), "the config is now a symlink to its generation")
        cfg = config_user(phone)
        expect(cfg["accounts"][0]["aor"] == "sip:1007@plant.local", "the phone runs its own bundle (user 1007)")
        expect(open(phone + ".lkg").read() == factory_text, "the factory config is kept as last known good")
        lines = nginx.wait_log(1)
        expect(lines[-1][:2] == [url_path, "200"], f"nginx served the bundle ({lines[-1]})")

        # 2. unchanged: one 304, nothing applied
        target = os.readlink(phone)
        rc, j, err = provision(phone)
        expect(rc == 0 and j["state"] == "unchanged" and j["http_status"] == 304, f"unchanged bundle ({j})")
        lines = nginx.wait_log(2)
        expect(lines[-1][:2] == [url_path, "304"], f"nginx answered 304 ({lines[-1]})")
        expect(os.readlink(phone) == target, "nothing re-applied")

        # 3. changed bundle: picked up
        bdir = os.path.join(out, "001122334407")
        files = read_bundle(bdir)
        files["exphone.toml"] = files["exphone.toml"].replace(b'user = "1007"', b'user = "2007"')
        tar = os.path.join(www, "001122334407.tar")
        make_tar(tar, files)
        st = os.stat(tar)
        os.utime(tar, (st.st_atime, st.st_mtime + 5))
        rc, j, err = provision(phone)
        expect(rc == 0 and j["state"] == "applied", f"changed bundle applied ({j}, {err.strip()})")
        expect(config_user(phone)["accounts"][0]["aor"] == "sip:2007@plant.local", "the phone runs the changed bundle")
        expect(open(phone + ".lkg").read() == factory_text,
               "1007 never registered (no daemon ran it): the factory config stays last known good")
        good_target = os.readlink(phone)

        # 4. half a bundle: rejected before applying
        data = open(tar, "rb").read()
        with open(tar, "wb") as f:
            f.write(data[: len(data) // 2])
        os.utime(tar, (st.st_atime, st.st_mtime + 10))
        rc, j, err = provision(phone)
        expect(rc != 0 and j["state"] == "failed" and j["error"]["code"] == "bundle-truncated",
               f"half bundle rejected ({j})")
        expect(os.readlink(phone) == good_target, "the running config is untouched")
        # another device's key with this device's certificate
        files2 = read_bundle(bdir)
        files2["device.key"] = read_bundle(os.path.join(out, "001122334408"))["device.key"]
        make_tar(tar, files2)
        os.utime(tar, (st.st_atime, st.st_mtime + 15))
        rc, j, err = provision(phone)
        expect(rc != 0 and j["error"]["code"] == "bundle-key-mismatch", f"mismatched key rejected ({j})")
        # a config the phone cannot load
        files3 = read_bundle(bdir)
        files3["exphone.toml"] += b"\n[nonsense]\nx = 1\n"
        make_tar(tar, files3)
        os.utime(tar, (st.st_atime, st.st_mtime + 20))
        rc, j, err = provision(phone)
        expect(rc != 0 and j["error"]["code"] == "bundle-config" and "nonsense" in j["error"]["message"],
               f"invalid config rejected ({j})")
        expect(os.readlink(phone) == good_target, "still the last good config")
        expect(config_user(phone)["accounts"][0]["aor"] == "sip:2007@plant.local", "and it still loads")
        state = json.load(open(phone + ".provisioning.json"))
        expect(state["state"] == "failed" and state["last_success"] and state["error"]["code"] == "bundle-config",
               "the state file names the failure and keeps the last success")

        # 5. a phone with another CA's certificate (and one without any): refused by nginx
        n_before = len(nginx.log_lines())
        rogue_phone = phone_dir(work, "rogue", port, chain, rogue_crt, rogue_key, "00:11:22:33:44:05")
        rogue_text = open(rogue_phone).read()
        rc, j, err = provision(rogue_phone)
        expect(rc != 0 and j["error"]["code"] == "prov-http",
               f"foreign device certificate refused ({j})")
        lines = nginx.wait_log(n_before + 1)
        expect(lines[-1][1] == "400", f"nginx refused it: {lines[-1]}")
        expect(not os.path.islink(rogue_phone) and open(rogue_phone).read() == rogue_text,
               "the refused phone keeps its config")
        bare = phone_dir(work, "bare", port, chain, None, None, "00:11:22:33:44:06")
        rc, j, err = provision(bare)
        expect(rc != 0 and j["error"]["code"] == "prov-http", f"no device certificate refused ({j})")

        # 6. the server must be signed by the provisioning CA
        wrong_ca = phone_dir(work, "wrongca", port, os.path.join(other, "ca", "chain.pem"), factory_crt,
                             factory_key, "00:11:22:33:44:09")
        rc, j, err = provision(wrong_ca)
        expect(rc != 0 and j["error"]["code"] == "prov-tls", f"untrusted server refused ({j})")

        # 7. exphone run provisions at start-up and ctl status shows it
        daemon_cfg = phone_dir(work, "daemon", port, chain, factory_crt, factory_key, "00:11:22:33:44:0a")
        ctl = os.path.join(work, "ctl-10.sock")
        proc = subprocess.Popen([EXPHONE, "run", "--config", daemon_cfg], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            st, deadline = None, time.time() + 30
            while time.time() < deadline and proc.poll() is None:
                p = subprocess.run([EXPHONE, "ctl", "--socket", ctl, "--json", "status"], capture_output=True,
                                   text=True, timeout=10)
                if p.returncode == 0 and p.stdout.strip():
                    st = json.loads(p.stdout)
                    break
                time.sleep(0.2)
            expect(st is not None, f"exphone run came up on the provisioned control socket (rc={proc.poll()})")
            prov = st.get("provisioning") or {}
            expect(prov.get("state") == "applied" and prov.get("last_success") and prov.get("error") is None,
                   f"ctl status --json: provisioning {prov}")
            expect(len(st["accounts"]) == 1 and os.path.islink(daemon_cfg),
                   "the daemon runs the provisioned config (the factory one has no account)")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()

        # 8. no bundle for this device, and nobody listening
        missing = phone_dir(work, "missing", port, chain, factory_crt, factory_key, "00:11:22:33:44:99")
        rc, j, err = provision(missing)
        expect(rc != 0 and j["error"]["code"] == "prov-http" and "404" in j["error"]["message"], f"404 ({j})")
        nginx.stop()
        rc, j, err = provision(phone)
        expect(rc != 0 and j["error"]["code"] == "prov-unreachable", f"server down ({j})")
        expect(config_user(phone)["accounts"][0]["aor"] == "sip:2007@plant.local", "the phone keeps running its config")
        print("PASS")
    finally:
        if nginx:
            nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
