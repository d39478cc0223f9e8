"""Fleet monitoring (issue 12): a real Prometheus server (Debian's prometheus 2.42, /usr/bin/prometheus
or $PROMETHEUS) scrapes /metrics of three `exphone run` phones over HTTPS on loopback.

The phones (1001, 1002, 1003) register to Kamailio over TLS; each serves [web] on a free
127.0.0.1 port with the test server certificate and a 0600 metrics token file. Prometheus runs
with its own config, TSDB in a temp dir, a free port, and is stopped by its PID. Jobs:
- `exphone`: scheme https, tls_config (test CA, server_name localhost), Bearer credentials_file =
  the token file, scrape_interval 1s;
- `exphone-wrong-token`: the same targets with another token -> up 0, lastError 401;
- `exphone-wrong-ca`: the same targets, the right token, an unrelated CA -> up 0 (x509 error).
Checks through the query API: up 1 for all three, exphone_registration_up 1 with transport tls
for each phone's account; then 1002 dials 1001 (auto answer) through Kamailio, SRTP mandatory:
exphone_secure_calls_active 1 on both while the call is up and, after the hangup,
exphone_secure_calls_total (and exphone_calls_total) went from 0 to 1 on 1001 (the answering
phone) and on 1002, 1003 still 0; then at least 10 scrapes per phone with at most one miss.
Prometheus missing or not starting is a failure, not a skip.
"""
import ctypes
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from lib.kamailio import Kamailio
from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ.get("EXPHONE", "build/exphone")
PROMETHEUS = os.environ.get("PROMETHEUS", "/usr/bin/prometheus")
TOKEN = "prometheus-scrape-token-0123456789abcdef"
WRONG_TOKEN = "not-the-token-0123456789abcdef"
USERS = ("1001", "1002", "1003")
TIMEOUT = 60


def _pdeathsig():
    """Child side of Popen: SIGTERM if the test process dies (ctest timeout), like lib/kamailio."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover - best effort
        pass


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


class Phone:
    def __init__(self, tmp, kam, user, token_file, extra=""):
        self.user = user
        self.ctl = os.path.join(tmp, f"p{user}.sock")
        self.path = os.path.join(tmp, f"p{user}.toml")
        self.web_port = free_port(udp=False)
        crt, key = kam.cert("server")
        with open(self.path, "w") as f:
            f.write(f'[[account]]\nuser = "{user}"\npassword = "secret{user}"\ndomain = "localhost"\n'
                    f'registrar = "sips:127.0.0.1:{kam.tls_port}"\n'
                    f'[tls]\nca_files = ["{kam.ca_file}"]\n'
                    f'[phone]\nsrtp = "mandatory"\ncontrol_socket = "{self.ctl}"\n{extra}'
                    f'[web]\nlisten = "127.0.0.1:{self.web_port}"\nmetrics_token_file = "{token_file}"\n'
                    f'cert = "{crt}"\nkey = "{key}"\n')
        self.target = f"127.0.0.1:{self.web_port}"
        self.proc = subprocess.Popen([EXPHONE, "run", "--config", self.path], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, preexec_fn=_pdeathsig)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def ctl_json(self, *words):
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl, "--json", *words], capture_output=True,
                           text=True, timeout=20)
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def wait(self, pred, timeout=30, what=""):
        deadline, st = time.time() + timeout, None
        while time.time() < deadline:
            assert self.proc.poll() is None, f"exphone {self.user} exited {self.proc.returncode}:\n" + "\n".join(self.lines[-40:])
            st = self.ctl_json("status")
            if st and pred(st):
                return st
            time.sleep(0.2)
        raise AssertionError(f"{what}: not reached in {timeout} s; last status {json.dumps(st)[:1500]}\n"
                             + "\n".join(self.lines[-30:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def confirmed_call(st):
    calls = [c for c in st.get("calls", []) if c["state"] == "confirmed"]
    return calls[0] if calls else None


class Prometheus:
    """Our own /usr/bin/prometheus: own config, own TSDB dir, own port; stopped by its PID."""

    def __init__(self, tmp, config_text):
        if not os.access(PROMETHEUS, os.X_OK):
            raise AssertionError(f"{PROMETHEUS} not found or not executable: install the Debian package "
                                 "`prometheus` (scripts/install-deps.sh)")
        self.dir = os.path.join(tmp, "prometheus")
        os.makedirs(os.path.join(self.dir, "data"))
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.port = free_port(udp=False)
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.config}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=info"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir, preexec_fn=_pdeathsig)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited {self.proc.returncode} at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.time() > deadline:
                raise AssertionError(f"prometheus not ready within 30 s:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def api(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=10) as r:
            j = json.loads(r.read())
        assert j.get("status") == "success", j
        return j["data"]

    def query(self, q):
        """Instant vector -> {instance: (labels, float value)}; one series per instance expected."""
        out = {}
        for s in self.api("/api/v1/query", query=q)["result"]:
            out.setdefault(s["metric"].get("instance", ""), []).append((s["metric"], float(s["value"][1])))
        return out

    def poll(self, what, fn, timeout=TIMEOUT):
        """Calls fn() until it returns a true value; fn may raise AssertionError meanwhile."""
        deadline, last = time.time() + timeout, None
        while time.time() < deadline:
            assert self.proc.poll() is None, f"prometheus exited {self.proc.returncode}:\n{self.log_tail()}"
            try:
                v = fn()
                if v:
                    return v
                last = v
            except AssertionError as e:
                last = e
            time.sleep(0.5)
        raise AssertionError(f"{what}: not reached in {timeout} s; last: {last}\n"
                             f"targets: {json.dumps(self.targets_summary())[:3000]}")

    def targets_summary(self):
        try:
            return [(t["labels"].get("job"), t["labels"].get("instance"), t["health"], t.get("lastError"))
                    for t in self.api("/api/v1/targets")["activeTargets"]]
        except Exception as e:  # noqa: BLE001 - diagnostics only
            return str(e)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def prometheus_yml(targets, ca_file, token_file, wrong_token_file, rogue_ca):
    tl = ", ".join(json.dumps(t) for t in targets)

    def job(name, ca, cred):
        return (f"  - job_name: {name}\n"
                f"    scheme: https\n"
                f"    metrics_path: /metrics\n"
                f"    tls_config:\n"
                f"      ca_file: {json.dumps(ca)}\n"
                f"      server_name: localhost\n"
                f"    authorization:\n"
                f"      type: Bearer\n"
                f"      credentials_file: {json.dumps(cred)}\n"
                f"    static_configs:\n"
                f"      - targets: [{tl}]\n")
    return ("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            + job("exphone", ca_file, token_file)
            + job("exphone-wrong-token", ca_file, wrong_token_file)
            + job("exphone-wrong-ca", rogue_ca, token_file))


def main():
    r = Runner("prometheus scrapes three phones")
    tmp = tempfile.mkdtemp(prefix="exphone-prom-")
    phones, prom = [], None
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            token_file = os.path.join(tmp, "metrics.token")
            write_private(token_file, TOKEN + "\n")
            wrong_token_file = os.path.join(tmp, "wrong.token")
            write_private(wrong_token_file, WRONG_TOKEN + "\n")
            for u in USERS:
                extra = 'auto_answer = true\nauto_answer_from = ["1002"]\n' if u == "1001" else ""
                phones.append(Phone(tmp, kam, u, token_file, extra))
            by_user = {p.user: p for p in phones}
            instance_user = {p.target: p.user for p in phones}

            def registered():
                for p in phones:
                    p.wait(lambda s: bool(s.get("accounts")) and s["accounts"][0]["registered"], what=f"{p.user} registered")
                    assert kam.wait_registered(p.user, timeout=10), f"Kamailio has no contact for {p.user}"
            r.check("three exphone daemons registered to Kamailio over TLS, [web] on loopback", registered)

            def start_prometheus():
                nonlocal prom
                prom = Prometheus(tmp, prometheus_yml([p.target for p in phones], kam.ca_file, token_file,
                                                      wrong_token_file, os.path.join(str(kam.certs_dir), "rogue-ca.crt")))
                print(f"  prometheus pid {prom.proc.pid} on 127.0.0.1:{prom.port}", flush=True)
            r.check(f"our own Prometheus ({PROMETHEUS}) starts and is ready", start_prometheus)
            if prom is None:
                r.finish()

            def all_up():
                def ok():
                    up = prom.query('up{job="exphone"}')
                    assert set(up) == set(instance_user), f"up series {up}"
                    assert all(v[0][1] == 1 for v in up.values()), f"up {up}"
                    return True
                prom.poll('up{job="exphone"} == 1 for the three phones', ok)
            r.check('HTTPS scrape with the bearer token: up{job="exphone"} 1 for all three phones', all_up)

            def registration_up():
                def ok():
                    reg = prom.query('exphone_registration_up{job="exphone"}')
                    assert set(reg) == set(instance_user), f"series {reg}"
                    for inst, series in reg.items():
                        assert len(series) == 1, series
                        labels, v = series[0]
                        assert labels["account"] == f"{instance_user[inst]}@localhost", (inst, labels)
                        assert labels["transport"] == "tls" and labels["tls_version"] in ("TLSv1.2", "TLSv1.3"), labels
                        assert v == 1, (inst, labels, v)
                    return True
                prom.poll("exphone_registration_up 1 (tls) for each phone's own account", ok)
            r.check("exphone_registration_up{transport=\"tls\"} 1 for 1001, 1002, 1003, each on its own target", registration_up)

            def counters_zero():
                for name in ("exphone_secure_calls_total", "exphone_calls_total", "exphone_secure_calls_active"):
                    v = prom.query(f'{name}{{job="exphone"}}')
                    assert set(v) == set(instance_user) and all(s[0][1] == 0 for s in v.values()), (name, v)
                web = prom.query('exphone_certificate_expiry_days{job="exphone",certificate="web"}')
                assert set(web) == set(instance_user) and all(s[0][1] > 0 for s in web.values()), web
            r.check("before any call: the call counters are 0 on every phone; web certificate expiry > 0", counters_zero)

            def wrong_token():
                def ok():
                    up = prom.query('up{job="exphone-wrong-token"}')
                    assert set(up) == set(instance_user) and all(v[0][1] == 0 for v in up.values()), f"up {up}"
                    tg = [t for t in prom.api("/api/v1/targets")["activeTargets"] if t["labels"]["job"] == "exphone-wrong-token"]
                    assert len(tg) == 3 and all("401" in t["lastError"] for t in tg), [t["lastError"] for t in tg]
                    return True
                prom.poll("the wrong-token job is refused", ok)
                samples = prom.query('scrape_samples_scraped{job="exphone-wrong-token"}')
                assert all(v[0][1] == 0 for v in samples.values()), samples
                leaked = prom.query('exphone_registration_up{job="exphone-wrong-token"}')
                assert not leaked, f"metrics scraped with the wrong token: {leaked}"
            r.check("a job with a wrong bearer token: up 0 for all three, lastError 401, no exphone_* series", wrong_token)

            def wrong_ca():
                def ok():
                    up = prom.query('up{job="exphone-wrong-ca"}')
                    assert set(up) == set(instance_user) and all(v[0][1] == 0 for v in up.values()), f"up {up}"
                    tg = [t for t in prom.api("/api/v1/targets")["activeTargets"] if t["labels"]["job"] == "exphone-wrong-ca"]
                    assert len(tg) == 3 and all("x509" in t["lastError"] or "certificate" in t["lastError"] for t in tg), \
                        [t["lastError"] for t in tg]
                    return True
                prom.poll("the wrong-CA job is refused", ok)
            r.check("a job trusting another CA: up 0 for all three (Prometheus verifies the phones' web certificate)", wrong_ca)

            t1001, t1002, t1003 = (by_user[u].target for u in USERS)

            def secure_call():
                a, b = by_user["1001"], by_user["1002"]
                d = b.ctl_json("dial", "1001")
                assert d.get("ok"), d
                st = b.wait(lambda s: confirmed_call(s) and confirmed_call(s)["secure"], what="1002's call up and secure")
                c = confirmed_call(st)
                a.wait(lambda s: confirmed_call(s) and confirmed_call(s)["secure"], what="1001 answered, secure")
                assert c["media"]["srtp"] and st["accounts"][0]["transport"] == "tls", c

                def active():
                    v = prom.query('exphone_secure_calls_active{job="exphone"}')
                    got = {instance_user[i]: s[0][1] for i, s in v.items()}
                    assert got == {"1001": 1, "1002": 1, "1003": 0}, got
                    return True
                prom.poll("exphone_secure_calls_active 1 on 1001 and 1002 during the call", active, timeout=20)
                h = b.ctl_json("hangup")
                assert h.get("ok"), h
                b.wait(lambda s: not s["calls"], timeout=15, what="1002 idle after hangup")
                a.wait(lambda s: not s["calls"], timeout=15, what="1001 idle after hangup")

                def total():
                    v = prom.query('exphone_secure_calls_total{job="exphone"}')
                    got = {instance_user[i]: s[0][1] for i, s in v.items()}
                    # exactly the one call: on the answering phone and on the caller, none on 1003
                    assert got == {"1001": 1, "1002": 1, "1003": 0}, got
                    v = prom.query('exphone_calls_total{job="exphone"}')
                    calls = {instance_user[i]: s[0][1] for i, s in v.items()}
                    assert calls == {"1001": 1, "1002": 1, "1003": 0}, f"exphone_calls_total {calls}"
                    inc = prom.query(f'increase(exphone_secure_calls_total{{job="exphone",instance="{t1001}"}}[5m])')
                    assert inc and inc[t1001][0][1] > 0, f"increase() {inc}"
                    s = prom.query('sum(exphone_secure_calls_total{job="exphone"})')
                    assert s and s[""][0][1] == 2, s
                    return got
                got = prom.poll("exphone_secure_calls_total grew on the answering phone", total, timeout=30)
                print(f"  exphone_secure_calls_total after the call: {got}", flush=True)
                act = prom.poll("secure_calls_active back to 0",
                                lambda: all(s[0][1] == 0 for s in prom.query('exphone_secure_calls_active{job="exphone"}').values()),
                                timeout=20)
                assert act
            r.check("a secure call 1002 -> 1001 (TLS + SRTP) shows in Prometheus: secure_calls_active 1 during, "
                    "exphone_secure_calls_total 0 -> 1 on 1001 (answering) and 1002, 0 on 1003", secure_call)

            def scrape_failures():
                # Every scrape of the right job since Prometheus started (kept-alive HTTPS connections)
                # should succeed; wait for at least 10 per phone. One miss per phone is tolerated as load
                # noise (scrape_timeout 1 s on a shared machine, the phones possibly under the sanitizers).
                def enough():
                    n = prom.query('count_over_time(up{job="exphone"}[2m])')
                    assert set(n) == set(instance_user) and all(s[0][1] >= 10 for s in n.values()), n
                    return n
                n = prom.poll("10 scrapes of each phone", enough, timeout=30)
                ok = prom.query('sum_over_time(up{job="exphone"}[2m])')
                failed = {instance_user[i]: n[i][0][1] - ok[i][0][1] for i in n}
                print(f"  scrapes per phone: {int(min(s[0][1] for s in n.values()))}+; failed: {failed}", flush=True)
                assert all(f <= 1 for f in failed.values()), failed
            r.check("scrapes of the right job keep succeeding (>= 10 per phone, at most one miss each)", scrape_failures)

            def stop_all():
                prom.stop()
                assert prom.proc.returncode == 0, f"prometheus exit status {prom.proc.returncode}:\n{prom.log_tail()}"
                rcs = {p.user: p.stop() for p in phones}
                assert all(rc == 0 for rc in rcs.values()), (rcs, {p.user: p.lines[-20:] for p in phones})
            r.check("Prometheus and the three phones stop cleanly (SIGTERM to their PIDs, exit 0)", stop_all)
    finally:
        if prom is not None:
            prom.stop()
        for p in phones:
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
