"""The phone killed with SIGKILL in the middle of its own file writes (issue 11, faults):

1. the DTLS-SRTP certificate ([phone] dtls_certificate, key + certificate, 0600) that `exphone run`
   creates at its first start;
2. a change saved from the web admin page (phone/config_edit: the config written to a temp file,
   fsync, FILE.prev, rename).

`strace -e inject=SYSCALL:signal=KILL:when=N` delivers the kill at the Nth fsync / rename / unlink
of the daemon, for N = 1, 2, ... until the work completes without reaching it (deterministic, like
test_provisioning_crash.py). After each kill the files must be whole: the certificate absent or a
matching key + certificate, the config the old one or the new one (it loads, with the password
kept), FILE.prev absent or loadable; and `exphone run` started again on what was left must come up
(control socket answers) with a whole certificate.
"""
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import tomllib
import urllib.parse

from lib.ports import free_port
from lib.runner import Runner
from test_web import Web, PASSWORD

EXPHONE = os.environ["EXPHONE"]
SYSCALLS = ("fsync", "rename", "unlink")
# strace's ptrace and LeakSanitizer's cannot both attach; leaks are checked by the other tests.
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1")


def ctl(sock, cmd, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall((cmd + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data)
    finally:
        s.close()


def wait_ctl(sock, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return None
        try:
            return ctl(sock, "status")
        except (OSError, ValueError):
            time.sleep(0.1)
    return None


def whole_dtls_certificate(path):
    """None when absent; else True only for a key and a certificate that belong together."""
    if not os.path.exists(path):
        return None
    if oct(os.stat(path).st_mode & 0o777) != "0o600":
        return False
    key = subprocess.run(["openssl", "pkey", "-in", path, "-pubout"], capture_output=True, text=True)
    crt = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-pubkey"], capture_output=True, text=True)
    return key.returncode == 0 and crt.returncode == 0 and key.stdout == crt.stdout


def config_loads(path):
    p = subprocess.run([EXPHONE, "config", "check", "--config", path], capture_output=True, text=True, timeout=30)
    return p.returncode == 0, p.stdout + p.stderr


def main():
    r = Runner("SIGKILL during the phone's own file writes")
    tmp = tempfile.mkdtemp(prefix="exphone-crashw-")
    logs = tempfile.mkdtemp(prefix="exphone-crashw-logs-")
    procs = []
    try:
        h = subprocess.run([EXPHONE, "web", "hash-password", "--ln", "14"], input=PASSWORD + "\n",
                           capture_output=True, text=True, timeout=60, check=True)
        web_port, sip_port = free_port(), free_port()
        sock = os.path.join(tmp, "ctl.sock")
        conf = os.path.join(tmp, "phone.toml")
        dtls = os.path.join(tmp, "dtls.pem")
        original = (f'[[account]]\nuser = "1001"\npassword = "secret1001"\ndomain = "localhost"\n'
                    f'registrar = "sip:127.0.0.1:{sip_port}"\ntransport = "udp"\nstartup_jitter_ms = 0\n'
                    f'[phone]\ncontrol_socket = "{sock}"\ndtls_certificate = "dtls.pem"\n'
                    f'[web]\nlisten = "127.0.0.1:{web_port}"\n{h.stdout}')

        def reset():
            for f in os.listdir(tmp):
                if f != "ctl.sock":
                    os.unlink(os.path.join(tmp, f))
            with open(conf, "w") as f:
                f.write(original)
            os.chmod(conf, 0o600)

        def start(strace_args=None):
            cmd = [EXPHONE, "run", "--config", conf]
            if strace_args:
                cmd = ["strace", "-f", "-qq", "-o", "/dev/null", *strace_args, "--"] + cmd
            # stderr to a file: a pipe nobody reads could fill and stall the daemon
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(os.path.join(logs, "stderr"), "w"), env=ENV)
            procs.append(p)
            return p

        def stderr_tail():
            with open(os.path.join(logs, "stderr")) as f:
                return f.read()[-1500:]

        def stop(p, daemon_pid=None):
            if daemon_pid is not None:
                try:
                    os.kill(daemon_pid, 15)
                except ProcessLookupError:
                    pass
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

        def comes_up_whole(what):
            # what was left must start, and the certificate must then be whole
            p = start()
            st = wait_ctl(sock, p)
            ok = st is not None and st.get("ok")
            cert = whole_dtls_certificate(dtls)
            stop(p)
            assert ok, f"{what}: exphone run did not come up on what the kill left: {stderr_tail()}"
            assert cert is True, f"{what}: after the restart the DTLS certificate is {cert}"

        def dtls_certificate_kills():
            killed = []
            for sc in SYSCALLS:
                for n in range(1, 20):
                    reset()
                    p = start(["-e", f"trace={sc}", "-e", f"inject={sc}:signal=KILL:when={n}"])
                    st = wait_ctl(sock, p, timeout=20)
                    if st is not None:  # came up without reaching the Nth call: this syscall is done
                        stop(p, st["pid"])  # the daemon itself: SIGTERM to strace would only detach it
                        assert whole_dtls_certificate(dtls) is True
                        break
                    p.wait(timeout=20)
                    cert = whole_dtls_certificate(dtls)
                    assert cert is not False, f"{sc} #{n}: a partial DTLS certificate was left"
                    killed.append(f"{sc}#{n}:{'whole' if cert else 'absent'}")
                    comes_up_whole(f"{sc} #{n}")
            assert killed, "no kill point was reached: the certificate is not written?"
            print(f"  start-up kill points: {', '.join(killed)}")
        r.check("SIGKILL at every fsync/rename/unlink of the start that creates the DTLS certificate: it is absent "
                "or whole (0600, key matches certificate), and the next start comes up with a whole one",
                dtls_certificate_kills)

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the phone's generated web certificate; nothing secret is sent but the test password

        def web_login():
            w = Web(web_port, ctx)
            deadline = time.time() + 20
            while True:
                try:
                    w.request("GET", "/login")
                    break
                except OSError:
                    if time.time() > deadline:
                        raise AssertionError("web admin not reachable")
                    time.sleep(0.1)
            assert w.login(PASSWORD)[0] == 303
            st, _, body, _ = w.request("GET", "/account")
            return w, re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)

        change = {"index": "0", "registrar": f"sip:127.0.0.1:{sip_port}", "domain": "localhost", "user": "1001",
                  "auth_user": "", "password": "", "transport": "tcp", "srtp": "mandatory", "key_exchange": ""}

        def web_change_kills():
            killed = []
            for sc in SYSCALLS:
                for n in range(1, 20):
                    reset()
                    p = start()
                    assert wait_ctl(sock, p), stderr_tail()
                    w, tok = web_login()
                    tids = [a for t in os.listdir(f"/proc/{p.pid}/task") for a in ("-p", t)]  # every thread
                    tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={sc}",
                                               "-e", f"inject={sc}:signal=KILL:when={n}", *tids],
                                              stderr=subprocess.DEVNULL)
                    procs.append(tracer)
                    time.sleep(0.5)  # attached to every thread
                    try:
                        st, _, body, _ = w.request("POST", "/account", urllib.parse.urlencode({"csrf": tok, **change}))
                    except OSError:
                        st = None
                    try:
                        p.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        pass
                    if p.poll() is None:  # saved without reaching the Nth call: this syscall is done
                        assert st == 200 and "Saved" in body, (st, body[-600:])
                        stop(p)
                        tracer.wait(timeout=10)
                        break
                    tracer.wait(timeout=10)
                    ok, why = config_loads(conf)
                    assert ok, f"{sc} #{n}: the config left does not load: {why}"
                    with open(conf, "rb") as f:
                        t = tomllib.load(f)
                    a = t["account"][0]
                    assert a["password"] == "secret1001", f"{sc} #{n}: {a}"
                    state = "new" if a.get("transport") == "tcp" and a.get("srtp") == "mandatory" else "old"
                    if state == "old":
                        assert a.get("transport") == "udp" and "srtp" not in a, f"{sc} #{n}: half a change: {a}"
                    if os.path.exists(conf + ".prev"):
                        ok, why = config_loads(conf + ".prev")
                        assert ok, f"{sc} #{n}: FILE.prev does not load: {why}"
                    killed.append(f"{sc}#{n}:{state}")
                    comes_up_whole(f"web change, {sc} #{n}")
            assert killed, "no kill point was reached during the save"
            print(f"  web change kill points: {', '.join(killed)}")
        r.check("SIGKILL at every fsync/rename/unlink of a change saved from the web page: the config is the old "
                "or the new one, whole (password kept), FILE.prev loads, and the phone comes up on it", web_change_kills)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
