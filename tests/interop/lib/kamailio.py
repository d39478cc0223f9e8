"""A real Kamailio 5.6 (Debian 12: kamailio + kamailio-tls-modules) on loopback for interop tests.

Python 3 stdlib only. Adapted from the shared interop kit; nothing here refers to it at run time.

    from lib.kamailio import Kamailio
    with Kamailio(tmpdir, server_cert="server", users={"1001": "secret1001"},
                  require_client_cert_port=True) as kam:
        ... kam.udp_port, kam.tcp_port, kam.tls_port, kam.mtls_port, kam.host, kam.ca_file ...
        ... kam.ws_port, kam.wss_port (SIP over WebSocket, RFC 7118; WSS serves server_cert) ...
        assert kam.wait_registered("1001", timeout=10)
        kam.restart()                       # same ports; in-memory registrations are gone
        kam.restart(server_cert="server-expired")   # same ports, other cert on the TLS port
    with Kamailio(tmpdir, ipv6=True) as kam6:   # listens on ::1 only (kam6.uri_host == "[::1]")

Everything (certs unless certs_dir is given, rendered cfg, db_text, pid, log, control socket) lives
under `tmpdir`. Ports are picked by the kernel (bind to port 0) on 127.0.0.1; the UDP and TCP
listeners share one number (`sip_port` == `udp_port` == `tcp_port`). Only the PID this object
started (and its own process group) is ever signalled.
"""
from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
import weakref
from pathlib import Path

from . import ports as _ports
from .certs import ensure_pki

__all__ = ["Kamailio", "KamailioError", "TEMPLATE_DIR"]

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "kamailio"
DEFAULT_USERS = {"1001": "secret1001", "1002": "secret1002", "1003": "secret1003"}
_ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_live: "weakref.WeakSet[Kamailio]" = weakref.WeakSet()


class KamailioError(RuntimeError):
    pass


def _set_pdeathsig():
    """Child side of Popen: Kamailio gets SIGTERM if the test process dies (e.g. ctest kill)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover - best effort
        pass


@atexit.register
def _stop_all_at_exit():
    for k in list(_live):
        try:
            k.stop()
        except Exception:
            pass


class Kamailio:
    """One Kamailio instance. Context manager; start() / stop() / restart() also usable directly.

    Constructor arguments:
      tmpdir                   parent dir for all state (created if missing). None: a fresh
                               temp dir, removed again on exit/close()
      server_cert              basename (in the certs dir) of the cert+key served on the TLS port:
                               "server" (good, chain leaf+intermediate), "server-leafonly",
                               "server-expired", "server-notyetvalid", "server-wrongsan",
                               "server-selfsigned" (see lib/certs.py), or your own NAME.crt/.key
      users                    {user: password}; default 1001..1003 / secret1001..secret1003
      require_client_cert_port True: the mTLS port requires a client cert chaining to ca.crt and its
                               CN must equal the From user (403 otherwise). False: the mTLS port
                               asks for a cert and verifies one if sent, but accepts clients
                               without one.
      mtls_server_cert         cert served on the mTLS port (default "server")
      certs_dir                use/generate the PKI there (default TMPDIR/certs); shared dirs ok
      realm                    digest realm; None = the From domain ($fd), like the kit
      digest_algorithm         "MD5" (plaintext passwords in db_text) or "SHA-256" (RFC 8760;
                               precomputed SHA-256 HA1 in db_text, see README)
      debug                    Kamailio debug level (2 = info, 3 = debug)
      start_timeout            seconds to wait for readiness
      ipv6                     True: listen on ::1 instead of 127.0.0.1 (host "::1", uri_host
                               "[::1]"; the test certificates carry the IP SAN ::1)
      sips_only                True (default): a sips: request is never forwarded over a non-TLS
                               branch (branch_route drops it, RFC 5630 section 3.1.3); False: stock
                               Kamailio behaviour, which forks a sips: INVITE to a UDP contact too
      tcp_children             TCP/TLS worker processes. Kamailio 5.6 keeps one SSL_CTX (and so
                               one TLS ticket key) per process: with 1 a client's TLS session
                               resumes on every reconnection, with more only when the new
                               connection lands on the worker that issued the ticket.
      shm_mb                   Kamailio's shared memory (-m, MB; default 64). Every TLS connection
                               keeps its OpenSSL state there: hundreds of connections need more
                               (bench/fleet_load.py).
      shm_manager              Kamailio's shared-memory allocator (-x: "qm", "fm" or "tlsf");
                               None = Kamailio's default (qm in Debian's 5.6 build)
      wss_client_cert          True (default): the WSS port asks for a client certificate (verified
                               when sent); False: it does not ask (browsers cancel the handshake
                               when asked for a certificate they do not have)
    """

    def __init__(self, tmpdir=None, server_cert="server", users=None,
                 require_client_cert_port=True, *, mtls_server_cert="server", certs_dir=None,
                 realm=None, digest_algorithm="MD5", debug=2, start_timeout=30.0,
                 kamailio_bin="kamailio", kamcmd_bin="kamcmd", ipv6=False, tcp_children=2, sips_only=True,
                 wss_client_cert=True, shm_mb=64, shm_manager=None):
        if digest_algorithm not in _ALGORITHMS:
            raise ValueError("digest_algorithm must be one of %s" % ", ".join(_ALGORITHMS))
        self._own_tmp = tmpdir is None
        base = Path(tempfile.mkdtemp(prefix="exphone-kam-")) if tmpdir is None else Path(tmpdir)
        base.mkdir(parents=True, exist_ok=True)
        self._base = base
        self.state_dir = Path(tempfile.mkdtemp(prefix="kamailio-", dir=base)).resolve()
        self.certs_dir = Path(certs_dir).resolve() if certs_dir else (base / "certs").resolve()
        self.host = "127.0.0.1"
        self.ipv6 = bool(ipv6)
        if self.ipv6:
            self.host = "::1"
        self.tcp_children = int(tcp_children)
        self.shm_mb = int(shm_mb)
        self.shm_manager = shm_manager
        self.sips_only = bool(sips_only)
        self.wss_client_cert = bool(wss_client_cert)
        self.server_cert = server_cert
        self.mtls_server_cert = mtls_server_cert
        self.require_client_cert_port = bool(require_client_cert_port)
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.realm = realm
        self.digest_algorithm = digest_algorithm
        self.debug = int(debug)
        self.start_timeout = float(start_timeout)
        self.kamailio_bin = kamailio_bin
        self.kamcmd_bin = kamcmd_bin
        self.sip_port = self.tls_port = self.mtls_port = None
        self.ws_port = self.wss_port = None  # SIP over WebSocket (websocket + xhttp modules)
        self.proc: subprocess.Popen | None = None
        self.pki = None
        self.cfg_file = self.state_dir / "kamailio.cfg"
        self.tls_cfg_file = self.state_dir / "tls.cfg"
        self.pid_file = self.state_dir / "kamailio.pid"
        self.log_file = self.state_dir / "kamailio.log"
        self.dbtext_dir = self.state_dir / "dbtext"
        self.run_dir = self.state_dir / "run"
        ctl = self.state_dir / "kamailio_ctl"
        self._ctl_tmp = None
        if len(str(ctl)) > 100:  # sun_path limit (108): fall back to a short private dir
            self._ctl_tmp = Path(tempfile.mkdtemp(prefix="kamctl-"))
            ctl = self._ctl_tmp / "ctl"
        self.ctl_socket = ctl
        self._starts = 0

    # ---- ports / paths -------------------------------------------------------------------

    @property
    def uri_host(self) -> str:
        """The host as it goes into a SIP URI: "[::1]" or "127.0.0.1"."""
        return "[%s]" % self.host if ":" in self.host else self.host

    @property
    def udp_port(self):
        return self.sip_port

    @property
    def tcp_port(self):
        return self.sip_port

    @property
    def ca_file(self) -> str:
        return str(self.certs_dir / "ca.crt")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def ctl_url(self) -> str:
        return "unix:%s" % self.ctl_socket

    def cert(self, name):
        """(crt, key) paths of NAME in the certs dir, e.g. kam.cert("client1001")."""
        return str(self.certs_dir / f"{name}.crt"), str(self.certs_dir / f"{name}.key")

    def env(self) -> dict:
        """Settings as environment variables, for child test programs."""
        return {"KAM_HOST": self.host, "KAM_UDP_PORT": str(self.udp_port),
                "KAM_TCP_PORT": str(self.tcp_port), "KAM_TLS_PORT": str(self.tls_port),
                "KAM_MTLS_PORT": str(self.mtls_port), "KAM_CA_FILE": self.ca_file,
                "KAM_WS_PORT": str(self.ws_port), "KAM_WSS_PORT": str(self.wss_port),
                "KAM_CERTS": str(self.certs_dir), "KAM_CTL": self.ctl_url,
                "KAM_STATE": str(self.state_dir)}

    def __repr__(self):
        return ("Kamailio(pid=%s udp/tcp=%s tls=%s mtls=%s cert=%s state=%s)" %
                (self.pid, self.sip_port, self.tls_port, self.mtls_port, self.server_cert,
                 self.state_dir))

    # ---- rendering -----------------------------------------------------------------------

    def _subscriber_rows(self):
        rows, i = [], 1
        if self.digest_algorithm == "MD5":
            for u, pw in self.users.items():
                rows.append(f"{i}:{u}:localhost:{pw}::")
                i += 1
        else:
            h = _ALGORITHMS[self.digest_algorithm]
            realms = [self.realm] if self.realm else ["localhost", self.host]
            for u, pw in self.users.items():
                for r in realms:
                    ha1 = h(f"{u}:{r}:{pw}".encode()).hexdigest()
                    rows.append(f"{i}:{u}:{r}:{pw}:{ha1}:")
                    i += 1
        for u, pw in self.users.items():
            if ":" in u or ":" in pw or "\n" in u + pw:
                raise ValueError("db_text cannot hold ':' or newlines in users/passwords")
        return "\n".join(rows)

    def _render(self):
        for name in (self.server_cert, self.mtls_server_cert):
            if not (self.certs_dir / f"{name}.crt").is_file():
                raise KamailioError("no certificate %s.crt in %s" % (name, self.certs_dir))
        sha = self.digest_algorithm != "MD5"
        v = {
            "HOST": self.host, "SIP_PORT": str(self.sip_port), "TLS_PORT": str(self.tls_port),
            "MTLS_PORT": str(self.mtls_port), "DEBUG": str(self.debug),
            "WS_PORT": str(self.ws_port), "WSS_PORT": str(self.wss_port),
            "RUNDIR": str(self.run_dir), "CTL_SOCKET": str(self.ctl_socket),
            "TLS_CFG": str(self.tls_cfg_file), "DBTEXT_DIR": str(self.dbtext_dir),
            "CALC_HA1": "no" if sha else "yes",
            "PASSWORD_COLUMN": "ha1" if sha else "password",
            "AUTH_USE_DOMAIN": "1" if sha else "0",
            "AUTH_ALGORITHM": self.digest_algorithm,
            "AUTH_REALM": self.realm or "$fd",
            "MTLS_REQUIRED_DEFINE": ("#!define WITH_MTLS_REQUIRED"
                                     if self.require_client_cert_port else ""),
            "SIPS_ONLY_DEFINE": "#!define WITH_SIPS_ONLY" if self.sips_only else "",
            "MTLS_REQUIRE": "yes" if self.require_client_cert_port else "no",
            "WSS_VERIFY": "yes" if self.wss_client_cert else "no",
            "CA_FILE": self.ca_file,
            "SERVER_CRT": str(self.certs_dir / f"{self.server_cert}.crt"),
            "SERVER_KEY": str(self.certs_dir / f"{self.server_cert}.key"),
            "MTLS_SERVER_CRT": str(self.certs_dir / f"{self.mtls_server_cert}.crt"),
            "MTLS_SERVER_KEY": str(self.certs_dir / f"{self.mtls_server_cert}.key"),
            "ROWS": self._subscriber_rows(),
        }
        v["TCP_CHILDREN"] = str(self.tcp_children)
        if self.ipv6:
            v["HOST"] = self.uri_host  # listen=udp:[::1]:port, [server:[::1]:port]

        def subst(src: Path, dst: Path):
            text = src.read_text()
            for k, val in v.items():
                text = text.replace(f"@{k}@", val)
            left = set(re.findall(r"@[A-Z_]+@", text))
            if left:
                raise KamailioError("unrendered placeholders in %s: %s" % (src, left))
            dst.write_text(text)

        self.dbtext_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.ctl_socket.parent.mkdir(parents=True, exist_ok=True)
        subst(TEMPLATE_DIR / "kamailio.cfg.in", self.cfg_file)
        subst(TEMPLATE_DIR / "tls.cfg.in", self.tls_cfg_file)
        subst(TEMPLATE_DIR / "dbtext" / "subscriber.in", self.dbtext_dir / "subscriber")
        shutil.copyfile(TEMPLATE_DIR / "dbtext" / "version", self.dbtext_dir / "version")

    # ---- process control -----------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """Generate certs if needed, pick ports (first time), render, launch, wait until ready."""
        if self.running():
            raise KamailioError("already running: %r" % self)
        self.pki = ensure_pki(self.certs_dir)
        fixed_ports = self.sip_port is not None
        deadline = time.monotonic() + self.start_timeout
        attempt = 0
        while True:
            attempt += 1
            if not fixed_ports:
                self.sip_port = _ports.free_port(self.host)              # UDP + TCP
                self.tls_port, self.mtls_port, self.ws_port, self.wss_port = _ports.free_ports(
                    4, self.host, udp=False)
            else:
                for p, udp in ((self.sip_port, True), (self.tls_port, False),
                               (self.mtls_port, False), (self.ws_port, False), (self.wss_port, False)):
                    left = max(0.1, deadline - time.monotonic())
                    if not _ports.wait_port_free(p, self.host, timeout=left, udp=udp):
                        raise KamailioError("port %d still busy, cannot restart %r" % (p, self))
            self._render()
            err = self._launch(deadline)
            if err is None:
                _live.add(self)
                return self
            bind_clash = "already in use" in err or "bind" in err.lower()
            if not bind_clash or attempt >= 5 or time.monotonic() >= deadline:
                raise KamailioError("kamailio failed to start (%s); log %s:\n%s" %
                                    (err, self.log_file, self._tail(40)))
            # another process grabbed a port between probing and binding: try again

    def _launch(self, deadline):
        """Start the process and poll readiness. None on success, else an error string."""
        self._starts += 1
        with open(self.log_file, "a") as log:
            log.write("\n===== exphone harness: start #%d %s =====\n" %
                      (self._starts, time.strftime("%H:%M:%S")))
            log.flush()
            cmd = [self.kamailio_bin, "-f", str(self.cfg_file), "-P", str(self.pid_file),
                   "-Y", str(self.run_dir), "-w", str(self.state_dir), "-DD", "-E",
                   "-m", str(self.shm_mb), "-M", "8"] + (["-x", self.shm_manager] if self.shm_manager else [])
            self.proc = subprocess.Popen(cmd, cwd=self.state_dir, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, preexec_fn=_set_pdeathsig)
        self._log_offset = self.log_file.stat().st_size
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                return "exited with status %d: %s" % (rc, self._last_error())
            if self._ready():
                return None
            if time.monotonic() >= deadline:
                self.stop()
                return "not ready after %.0f s" % self.start_timeout
            time.sleep(0.05)

    def _ready(self) -> bool:
        try:
            for p in (self.sip_port, self.tls_port, self.mtls_port, self.ws_port, self.wss_port):
                with socket.create_connection((self.host, p), timeout=0.5):
                    pass
        except OSError:
            return False
        if self.options_udp(timeout=0.3) is None:
            return False
        return self.kamcmd("core.uptime", check=False, timeout=2)[0] == 0

    def stop(self, timeout=10.0):
        """SIGTERM our Kamailio, wait, SIGKILL its process group if it does not exit."""
        p = self.proc
        if p is not None:
            pgid = p.pid  # start_new_session=True: the group is ours
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._killpg(pgid)
                    p.wait(timeout=timeout)
            # children of our main process that outlived it (should not happen)
            t_end = time.monotonic() + timeout
            while self._group_alive(pgid) and time.monotonic() < t_end:
                time.sleep(0.05)
            if self._group_alive(pgid):
                self._killpg(pgid)
            self.proc = None
        _live.discard(self)
        for f in (self.pid_file,):
            try:
                f.unlink()
            except FileNotFoundError:
                pass

    @staticmethod
    def _group_alive(pgid) -> bool:
        try:
            os.killpg(pgid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    @staticmethod
    def _killpg(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def restart(self, server_cert=None, require_client_cert_port=None, timeout=None):
        """Stop and start again on the same ports (registrations are lost: usrloc in memory).
        Optionally switch the TLS-port certificate or the mTLS requirement."""
        self.stop()
        if server_cert is not None:
            self.server_cert = server_cert
        if require_client_cert_port is not None:
            self.require_client_cert_port = bool(require_client_cert_port)
        if timeout is not None:
            self.start_timeout = float(timeout)
        return self.start()

    def close(self):
        """stop() and remove the short control-socket dir if one was needed (the state dir
        under tmpdir is left for inspection; the caller owns tmpdir)."""
        self.stop()
        if self._ctl_tmp:
            shutil.rmtree(self._ctl_tmp, ignore_errors=True)
        if self._own_tmp:  # Kamailio(None): we made the temp dir, so we remove it
            shutil.rmtree(self._base, ignore_errors=True)

    # ---- observation ---------------------------------------------------------------------

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _tail(self, n=40) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def _last_error(self) -> str:
        for line in reversed(self.log_text().splitlines()):
            if "ERROR" in line or "CRITICAL" in line:
                return line.strip()
        return "see log"

    def kamcmd(self, *args, check=True, timeout=10):
        """Run `kamcmd -s unix:CTL ARGS...`; returns (rc, output). Raises if check and rc != 0."""
        r = subprocess.run([self.kamcmd_bin, "-s", self.ctl_url, *args], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise KamailioError("kamcmd %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                                r.stdout.strip()))
        return r.returncode, r.stdout

    def ul_dump(self) -> str:
        return self.kamcmd("ul.dump", "brief")[1]

    def contacts(self, user) -> list:
        """Contact URIs currently bound to `user` (empty list if none)."""
        rc, out = self.kamcmd("ul.lookup", "location", "s:%s" % user, check=False)
        if rc != 0:
            return []
        res = []
        for line in out.splitlines():
            s = line.strip()
            if s.startswith("Address:"):
                res.append(s.split(":", 1)[1].strip())
        return res

    def registered(self, user) -> bool:
        return len(self.contacts(user)) > 0

    def wait_registered(self, user, timeout=10.0, registered=True) -> bool:
        """Poll until `user` is (or with registered=False: is no longer) registered."""
        deadline = time.monotonic() + timeout
        while True:
            if self.registered(user) == registered:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def unregister(self, user):
        """Drop all bindings of `user` (kamcmd ul.rm; "s:" forces a string AoR)."""
        self.kamcmd("ul.rm", "location", "s:%s" % user, check=False)

    def options_udp(self, timeout=1.0):
        """Send OPTIONS over UDP; returns the status line or None."""
        if self.ipv6:
            return self._options_udp6(timeout)
        tag = uuid.uuid4().hex[:12]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((self.host, 0))
            lp = s.getsockname()[1]
            msg = (f"OPTIONS sip:{self.host}:{self.sip_port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {self.host}:{lp};branch=z9hG4bK{tag};rport\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:probe@localhost>;tag={tag}\r\n"
                   f"To: <sip:{self.host}:{self.sip_port}>\r\nCall-ID: {tag}@harness\r\n"
                   f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
            s.settimeout(timeout)
            try:
                s.sendto(msg.encode(), (self.host, self.sip_port))
                data, _ = s.recvfrom(65535)
            except OSError:
                return None
        return data.decode(errors="replace").split("\r\n", 1)[0]

    def _options_udp6(self, timeout=1.0):
        """options_udp over IPv6 (::1)."""
        tag = uuid.uuid4().hex[:12]
        h = self.uri_host
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind((self.host, 0))
            lp = s.getsockname()[1]
            msg = (f"OPTIONS sip:{h}:{self.sip_port} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {h}:{lp};branch=z9hG4bK{tag};rport\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:probe@localhost>;tag={tag}\r\n"
                   f"To: <sip:{h}:{self.sip_port}>\r\nCall-ID: {tag}@harness\r\n"
                   f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
            s.settimeout(timeout)
            try:
                s.sendto(msg.encode(), (self.host, self.sip_port))
                data, _ = s.recvfrom(65535)
            except OSError:
                return None
        return data.decode(errors="replace").split("\r\n", 1)[0]

    def tls_client_context(self, cert=None, check_hostname=True) -> ssl.SSLContext:
        """ssl context trusting the test CA; cert = basename of a client cert (e.g. "client1001")."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        ctx.check_hostname = check_hostname
        if cert:
            crt, key = self.cert(cert)
            ctx.load_cert_chain(crt, key)
        return ctx
