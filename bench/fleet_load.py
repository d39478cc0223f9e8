#!/usr/bin/env python3
"""Fleet re-registration after an outage (issue "Performance", item 6).

N simulated devices (default 500) in this one process (asyncio), each with its own TLS connection
and its own client certificate, register with one Kamailio 5.6 over mutual TLS (TLS 1.3; the
device certificates come from the project's own `exphone pki fleet`, cached under bench/out/).
Kamailio is the interop tests' one (tests/interop/lib/kamailio.py): the mTLS port requires a
certificate from the site CA whose CN equals the From user, and every REGISTER is challenged with
digest auth (qop=auth, MD5; RFC 3261 section 22.4), so each registration is two round trips over
the connection. Then two kinds of outage:

  restart  Kamailio is killed (SIGKILL of its process group) and started again on the same ports.
           Every device sees its flow die, tries once at once (RFC 5626 section 4.4.1, what exphone
           does with recover_flows; Kamailio is still down: refused), then waits the RFC 5626
           section 4.5 backoff exphone uses (ua::backoff_wait):
               wait = min(retry_max_s, retry_base_s * 2^(n-1)) * U(0.5 .. 1.0)
           after the n-th failed attempt in a row (defaults 30 s / 1800 s: 15..30 s, then 30..60 s).
           With --resume the device offers its saved TLS session; Kamailio 5.6 has no setting for
           the ticket key (OpenSSL makes a random one per SSL_CTX), so a restarted Kamailio cannot
           resume anything: the report counts how many handshakes resumed.
  reset    Kamailio keeps running; the network path drops every connection (the devices' sockets
           are closed with SO_LINGER 0: a TCP RST reaches Kamailio, like a NAT or router reboot).
           Every device reconnects at once (its first try succeeds: no backoff), with or without
           offering its saved session: Kamailio's CPU seconds for the storm are compared.

Kamailio's CPU = utime + stime of every process in its process group (/proc/PID/stat), read
before the outage and when the last device has its 200 OK. TLS session resumption in Kamailio
5.6 is per worker process (one SSL_CTX, so one ticket key, per process; see kamailio.py), so the
reset storms are run with --tcp-children workers (default 1: every reconnection can resume;
with 2, Kamailio 5.6.3 crashed under these storms: a double free in its tls module's shared
memory, see docs/performance.md).
Kamailio runs with 512 MB of shared memory (-m; with the harness's 64 MB, 500 TLS connections
exhaust it: "ssl bug #1491 workaround: not enough memory") and the TLSF allocator (-x tlsf;
Kamailio's default qm allocator spent two thirds of the CPU of a TLS registration in qm_malloc,
perf, 300 devices): --shm-manager qm measures the default.

Sanity reference for the load tool itself: N UDP REGISTERs (with the same digest challenge) by
SIPp (tests/interop/sipp/reg_auth.xml) and by this tool, same Kamailio, same concurrency.

usage: bench/fleet_load.py [--devices N] [--exphone BIN] [--quick] [--json FILE] ...
Prints a Markdown report; --json writes the figures for bench/run-all.
"""
import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))

from lib.kamailio import Kamailio  # noqa: E402
from lib.ports import free_port  # noqa: E402

HOST = "127.0.0.1"
T1 = 0.5  # RFC 3261 section 17.1.1.1
TIMER_F = 64 * T1  # a REGISTER transaction gives up after 64*T1 (section 17.1.2.2)


# ---------------------------------------------------------------- PKI (not timed)

def make_pki(exphone, cache, count, key):
    """Site CA, server certificate for localhost/127.0.0.1 and `count` device bundles made by
    `exphone pki init/server/fleet`; cached in `cache` (one folder per count and key type)."""
    d = os.path.join(cache, f"pki-{key}-{count}")
    ids = [f"fleet{i:04d}" for i in range(1, count + 1)]
    done = os.path.join(d, ".complete")
    if not os.path.isfile(done):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        site = os.path.join(d, "site")

        def pki(*a):
            subprocess.run([exphone, "pki", *a], check=True, stdout=subprocess.DEVNULL)
        pki("init", "--dir", site, "--name", "Fleet Bench Root CA", "--key", key)
        pki("server", "--dir", site, "--host", "localhost", "--ip", HOST)
        with open(os.path.join(d, "devices.csv"), "w") as f:
            f.write("id,password\n" + "".join(f"{i},pw-{i}\n" for i in ids))
        with open(os.path.join(d, "template.toml"), "w") as f:
            f.write('[[account]]\nuser = "{{id}}"\npassword = "{{password}}"\ndomain = "localhost"\n'
                    'registrar = "sips:127.0.0.1:5061"\n[tls]\nca_files = ["{{ca_file}}"]\n'
                    'client_cert = "{{cert_file}}"\nclient_key = "{{key_file}}"\n')
        t0 = time.monotonic()
        pki("fleet", "--dir", site, "--devices", os.path.join(d, "devices.csv"),
            "--config-template", os.path.join(d, "template.toml"), "--out", os.path.join(d, "bundles"),
            "--pen", "32473")  # RFC 5612 documentation enterprise number: urn:dev:os:32473-fleet0001
        print(f"(generated {count} device bundles with exphone pki fleet in {time.monotonic() - t0:.1f} s)",
              file=sys.stderr)
        with open(done, "w") as f:
            f.write("ok\n")
    return d, ids


class FleetKamailio(Kamailio):
    """The interop Kamailio with the fleet's site PKI and room for many connections."""

    def __init__(self, tmp, site_dir, tcp_children, **kw):
        self._chain = os.path.join(site_dir, "ca", "chain.pem")
        certs = os.path.join(tmp, "certs")
        os.makedirs(certs, exist_ok=True)
        # the server certificate (+ chain) of `exphone pki server`, under a name Kamailio() knows
        shutil.copyfile(os.path.join(site_dir, "servers", "localhost.fullchain.pem"),
                        os.path.join(certs, "fleet-server.crt"))
        shutil.copyfile(os.path.join(site_dir, "servers", "localhost.key"), os.path.join(certs, "fleet-server.key"))
        super().__init__(tmp, server_cert="fleet-server", mtls_server_cert="fleet-server", certs_dir=certs,
                         tcp_children=tcp_children, **kw)

    @property
    def ca_file(self):  # tls.cfg ca_list: the fleet's site CA
        return self._chain

    def _render(self):
        super()._render()
        cfg = self.cfg_file.read_text()
        # defaults are 2048 each; a fleet of N needs N + a few
        cfg = cfg.replace("enable_tls=yes\n", "enable_tls=yes\ntcp_max_connections=16384\n"
                          "tls_max_connections=16384\n", 1)
        self.cfg_file.write_text(cfg)


def kam_cpu(pgid):
    """utime + stime (s) of every process in Kamailio's process group (proc(5) fields 5, 14, 15)."""
    ticks = 0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        if int(rest[2]) == pgid:
            ticks += int(rest[11]) + int(rest[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def kam_procs(pgid):
    """How many processes Kamailio's group has (a worker that crashed is not replaced)."""
    n = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    s = f.read()
            except OSError:
                continue
            n += int(s[s.rindex(")") + 2:].split()[2]) == pgid
    return n


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ---------------------------------------------------------------- SIP bits

def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def parse_response(head):
    lines = head.decode(errors="replace").split("\r\n")
    code = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            hdrs.setdefault(k.strip().lower(), v.strip())
    return code, hdrs


def authorization(user, pw, www, uri, cnonce):
    """RFC 3261 section 22.4 / RFC 2617 section 3.2.2 digest, qop=auth."""
    p = {k: (v1 if v1 else v2) for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', www)}
    realm, nonce = p["realm"], p["nonce"]
    ha1, ha2 = md5(f"{user}:{realm}:{pw}"), md5(f"REGISTER:{uri}")
    if "auth" in [q.strip() for q in p.get("qop", "").split(",")]:
        resp = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
                f'response="{resp}", algorithm=MD5, cnonce="{cnonce}", qop=auth, nc=00000001')
    resp = md5(f"{ha1}:{nonce}:{ha2}")
    return f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{resp}", algorithm=MD5'


def register_msg(user, transport, local, call_id, tag, cseq, auth=None):
    lh, lp = local[0], local[1]
    t = transport.lower()
    return (f"REGISTER sip:localhost SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} {lh}:{lp};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:{user}@localhost>;tag={tag}\r\nTo: <sip:{user}@localhost>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{user}@{lh}:{lp};transport={t}>\r\n"
            + (f"Authorization: {auth}\r\n" if auth else "") +
            "Expires: 3600\r\nUser-Agent: exphone-fleet-bench\r\nContent-Length: 0\r\n\r\n").encode()


class ResumingContext(ssl.SSLContext):
    """asyncio's TLS transport calls wrap_bio() without a session: hand it the device's saved one."""
    next_session = None

    def wrap_bio(self, incoming, outgoing, server_side=False, server_hostname=None, session=None):
        return super().wrap_bio(incoming, outgoing, server_side=server_side, server_hostname=server_hostname,
                                session=session or self.next_session)


# ---------------------------------------------------------------- the fleet

class Fleet:
    def __init__(self, args, kam, pki_dir, ids):
        self.a, self.kam = args, kam
        self.devices = [Device(self, i, pki_dir) for i in ids]
        self.epoch = 0
        self.t0 = time.monotonic()
        self.resume = False
        self.done = asyncio.Event()
        self.results = {}  # epoch -> list of (seconds since t0, resumed, attempts)
        self.failures = {}  # epoch -> {reason: count}
        self.stopping = False

    def start_epoch(self, resume):
        self.epoch += 1
        self.resume = resume
        self.results[self.epoch] = []
        self.failures[self.epoch] = {}
        self.done = asyncio.Event()
        self.t0 = time.monotonic()
        return self.epoch

    def registered(self, dev, resumed):
        r = self.results.get(self.epoch)
        if r is None or dev.epoch_done == self.epoch:
            return
        dev.epoch_done = self.epoch
        r.append((time.monotonic() - self.t0, resumed, dev.attempts))
        if len(r) == len(self.devices):
            self.done.set()


class Device:
    def __init__(self, fleet, ident, pki_dir):
        self.f, self.id, self.pw = fleet, ident, f"pw-{ident}"
        b = os.path.join(pki_dir, "bundles", ident)
        self.ctx = ResumingContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.load_verify_locations(os.path.join(b, "ca.pem"))
        self.ctx.load_cert_chain(os.path.join(b, "device.crt"), os.path.join(b, "device.key"))
        self.session = None
        self.failures = 0
        self.attempts = 0
        self.epoch_done = 0
        self.call_id = uuid.uuid4().hex + "@fleet"
        self.tag = uuid.uuid4().hex[:10]
        self.cseq = 0
        self.writer = None
        self.dropped = False

    def backoff(self):
        """RFC 5626 section 4.5, as ua::backoff_wait: the n-th failure in a row waits
        min(max-time, base-time * 2^(n-1)) * U(0.5 .. 1.0)."""
        a = self.f.a
        ceiling = min(a.retry_max, a.retry_base * 2 ** min(self.failures - 1, 40))
        return ceiling * (0.5 + 0.5 * random.random())

    async def register_once(self):
        self.attempts += 1
        self.ctx.next_session = self.session if self.f.resume else None
        reader, writer = await asyncio.open_connection(self.f.kam.host, self.f.kam.mtls_port, ssl=self.ctx,
                                                       server_hostname="localhost")
        self.writer = writer
        local = writer.get_extra_info("sockname")
        sslobj = writer.get_extra_info("ssl_object")
        resumed = sslobj.session_reused
        auth = None
        for _ in range(2):
            self.cseq += 1
            writer.write(register_msg(self.id, "TLS", local, self.call_id, self.tag, self.cseq, auth))
            code, hdrs = parse_response(await reader.readuntil(b"\r\n\r\n"))
            n = int(hdrs.get("content-length", "0"))
            if n:
                await reader.readexactly(n)
            if code == 401 and auth is None:
                auth = authorization(self.id, self.pw, hdrs["www-authenticate"], "sip:localhost", uuid.uuid4().hex[:8])
                continue
            break
        if code != 200:
            writer.transport.abort()
            raise ConnectionError(f"REGISTER answered {code}")
        # TLS 1.3: the tickets (NewSessionTicket) came with the responses; keep the newest
        self.session = sslobj.session
        return reader, resumed

    async def run(self):
        while not self.f.stopping:
            try:
                reader, resumed = await asyncio.wait_for(self.register_once(), TIMER_F)
            except (OSError, ssl.SSLError, asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError,
                    ValueError, IndexError) as e:
                why = type(e).__name__ if not isinstance(e, ConnectionError) or not str(e).startswith("REGISTER") \
                    else str(e)
                fl = self.f.failures.get(self.f.epoch, {})
                fl[why] = fl.get(why, 0) + 1
                if self.writer:
                    self.writer.transport.abort()
                    self.writer = None
                self.failures += 1
                await asyncio.sleep(self.backoff())
                continue
            self.failures = 0
            self.f.registered(self, resumed)
            try:  # the flow lives until the server or the network ends it
                while await reader.read(4096):
                    pass
            except (OSError, ssl.SSLError):
                pass
            if self.writer:
                self.writer.transport.abort()
                self.writer = None
            # RFC 5626 section 4.4.1: a dead flow is replaced at once (then the backoff applies)

    def drop(self):
        """The network path resets the connection: RST (SO_LINGER 0) instead of a FIN."""
        w = self.writer
        if w is None:
            return
        sock = w.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        w.transport.abort()


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(times):
    return {"n": len(times), "min": min(times), "p10": pct(times, .1), "p50": pct(times, .5), "p90": pct(times, .9),
            "max": max(times)}


def histogram(times, width):
    """Count per `width`-second bin, as text."""
    if not times:
        return ""
    bins = {}
    for t in times:
        bins[int(t // width)] = bins.get(int(t // width), 0) + 1
    top = max(bins.values())
    out = []
    for b in range(0, max(bins) + 1):
        c = bins.get(b, 0)
        bar = "#" * max(1 if c else 0, round(40 * c / top))
        out.append(f"    {b * width:6.1f}-{(b + 1) * width:6.1f} s {c:4d} {bar}")
    return "\n".join(out)


async def storm(fleet, kind, resume, log):
    """One outage: `reset` (connections dropped, Kamailio runs) or `restart` (Kamailio killed)."""
    kam, loop = fleet.kam, asyncio.get_running_loop()
    if kind == "reset":
        procs0 = kam_procs(kam.pid)
        cpu0 = kam_cpu(kam.pid)
        me0 = self_cpu()
        fleet.start_epoch(resume)
        for d in fleet.devices:
            d.drop()
        down = 0.0
    else:
        pgid = kam.pid
        fleet.start_epoch(resume)
        os.killpg(pgid, signal.SIGKILL)  # only our own Kamailio's group (start_new_session)

        def restart():
            kam.proc.wait()
            kam.stop()
            kam.start()
        await loop.run_in_executor(None, restart)
        down = time.monotonic() - fleet.t0
        procs0 = kam_procs(kam.pid)
        cpu0 = kam_cpu(kam.pid)  # the new processes, right after they answer
        me0 = self_cpu()
    try:
        await asyncio.wait_for(fleet.done.wait(), fleet.a.storm_timeout)
    except asyncio.TimeoutError:
        pass
    cpu = kam_cpu(kam.pid) - cpu0
    me = self_cpu() - me0
    crashed = not kam.running() or kam_procs(kam.pid) < procs0
    res = fleet.results[fleet.epoch]
    times = [t for t, _, _ in res]
    r = {"kind": kind, "resume": resume, "devices": len(fleet.devices), "registered": len(res),
         "all_s": max(times) if len(res) == len(fleet.devices) else None,
         "resumed": sum(1 for _, x, _ in res if x), "kam_cpu_s": cpu, "tool_cpu_s": me, "down_s": down,
         "attempts_max": max((a for _, _, a in res), default=0), "spread": summary(times) if times else None,
         "failed_attempts": fleet.failures[fleet.epoch], "kamailio_crashed": crashed}
    for d in fleet.devices:
        d.attempts = 0
    log(f"storm {kind} resume={resume}: {r['registered']}/{r['devices']} registered, all after "
        f"{r['all_s'] if r['all_s'] is None else round(r['all_s'], 2)} s, resumed {r['resumed']}, Kamailio CPU "
        f"{cpu:.2f} s, tool CPU {me:.2f} s, failed attempts {fleet.failures[fleet.epoch]}"
        + (" -- KAMAILIO PROCESSES DIED" if crashed else ""))
    r["_times"] = times
    return r


# ---------------------------------------------------------------- UDP sanity reference

async def udp_registrations(kam, ids, concurrency):
    """Every device sends one REGISTER over UDP from its own socket (401, then with credentials),
    at most `concurrency` at a time, as fast as Kamailio answers; T1 retransmissions (17.1.1.2)."""
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(concurrency)
    ok = [0]

    class Proto(asyncio.DatagramProtocol):
        def __init__(self):
            self.q = asyncio.Queue()

        def datagram_received(self, data, addr):
            self.q.put_nowait(data)

    async def one(user):
        async with sem:
            tr, pr = await loop.create_datagram_endpoint(Proto, local_addr=(HOST, 0),
                                                         remote_addr=(kam.host, kam.udp_port))
            try:
                local = tr.get_extra_info("sockname")
                call_id, tag, auth = uuid.uuid4().hex + "@fleet-udp", uuid.uuid4().hex[:10], None
                for cseq in (1, 2):
                    msg = register_msg(user, "UDP", local, call_id, tag, cseq, auth)
                    wait, t_end = T1, time.monotonic() + TIMER_F
                    while True:
                        tr.sendto(msg)
                        try:
                            data = await asyncio.wait_for(pr.q.get(), wait)
                            break
                        except asyncio.TimeoutError:
                            if time.monotonic() > t_end:
                                return
                            wait = min(2 * wait, 4.0)
                    code, hdrs = parse_response(data.split(b"\r\n\r\n", 1)[0])
                    if code == 401 and auth is None:
                        auth = authorization(user, f"pw-{user}", hdrs["www-authenticate"], "sip:localhost",
                                             uuid.uuid4().hex[:8])
                        continue
                    if code == 200:
                        ok[0] += 1
                    return
            finally:
                tr.close()

    await asyncio.gather(*(one(u) for u in ids))
    return ok[0]


def sipp_registrations(kam, ids, concurrency, tmp):
    csv = os.path.join(tmp, "sipp-users.csv")
    with open(csv, "w") as f:
        f.write("SEQUENTIAL\n" + "".join(f"{u};[authentication username={u} password=pw-{u}]\n" for u in ids))
    args = ["sipp", f"{kam.host}:{kam.udp_port}", "-t", "u1", "-i", kam.host, "-p", str(free_port(kam.host)),
            "-sf", os.path.join(ROOT, "tests", "interop", "sipp", "reg_auth.xml"), "-inf", csv,
            "-auth_uri", "localhost", "-nd", "-m", str(len(ids)), "-l", str(concurrency), "-r", "100000",
            "-nostdin", "-timeout", "120s", "-trace_stat", "-stf", os.path.join(tmp, "sipp-stat.csv")]
    t0 = time.monotonic()
    p = subprocess.run(args, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)
    secs = time.monotonic() - t0
    ok = None
    m = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", p.stdout)
    if m:
        ok = int(m.group(1))
    return secs, ok, p.returncode


# ---------------------------------------------------------------- main

async def run(a, kam, pki_dir, ids, tmp, log):
    report = {"devices": len(ids), "retry_base_s": a.retry_base, "retry_max_s": a.retry_max,
              "tcp_children": a.tcp_children, "key": a.key, "shm_mb": a.shm_mb, "shm_manager": a.shm_manager,
              "storms": []}
    loop = asyncio.get_running_loop()

    # sanity reference first, on a fresh Kamailio: SIPp, then this tool, same users and concurrency
    udp = {"concurrency": a.udp_concurrency}
    for who in ("sipp", "tool"):
        c0 = kam_cpu(kam.pid)
        if who == "sipp":
            secs, ok, rc = await loop.run_in_executor(None, sipp_registrations, kam, ids, a.udp_concurrency, tmp)
        else:
            t0 = time.monotonic()
            ok = await udp_registrations(kam, ids, a.udp_concurrency)
            secs = time.monotonic() - t0
        udp[who] = {"seconds": secs, "ok": ok, "rate": (ok or 0) / secs, "kam_cpu_s": kam_cpu(kam.pid) - c0}
        log(f"UDP {who}: {ok}/{len(ids)} registered in {secs:.2f} s")
    report["udp"] = udp

    fleet = Fleet(a, kam, pki_dir, ids)
    cpu0, me0 = kam_cpu(kam.pid), self_cpu()
    fleet.start_epoch(False)
    tasks = [asyncio.create_task(d.run()) for d in fleet.devices]
    try:
        await asyncio.wait_for(fleet.done.wait(), a.storm_timeout)
    except asyncio.TimeoutError:
        fl = fleet.failures[fleet.epoch]
        fleet.stopping = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise RuntimeError(f"initial registration: only {len(fleet.results[fleet.epoch])} of {len(ids)} devices "
                           f"registered within {a.storm_timeout:.0f} s; failed attempts {fails(fl)}")
    first = [t for t, _, _ in fleet.results[fleet.epoch]]
    report["initial"] = {"all_s": max(first), "kam_cpu_s": kam_cpu(kam.pid) - cpu0, "tool_cpu_s": self_cpu() - me0,
                         "spread": summary(first), "failed_attempts": fleet.failures[fleet.epoch]}
    for d in fleet.devices:
        d.attempts = 0
    log(f"initial registration: {len(first)} in {max(first):.2f} s")
    v = fleet.devices[0].writer.get_extra_info("ssl_object")
    report["tls"] = {"version": v.version(), "cipher": v.cipher()[0],
                     "ticket": bool(fleet.devices[0].session and fleet.devices[0].session.has_ticket)}
    idle0, t_idle = kam_cpu(kam.pid), time.monotonic()
    await asyncio.sleep(2)
    report["idle_cpu_per_s"] = (kam_cpu(kam.pid) - idle0) / (time.monotonic() - t_idle)

    for rep in range(a.reps):
        for resume in ((True, False) if rep % 2 == 0 else (False, True)):
            await asyncio.sleep(1)
            if not any(x["kamailio_crashed"] for x in report["storms"]):
                report["storms"].append(await storm(fleet, "reset", resume, log))
    for resume in (True, False):
        await asyncio.sleep(1)
        if not any(x["kamailio_crashed"] for x in report["storms"]):
            report["storms"].append(await storm(fleet, "restart", resume, log))

    fleet.stopping = True
    for d in fleet.devices:
        if d.writer:
            d.writer.transport.abort()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return report


def fails(d):
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "0"


def print_report(r):
    n = r["devices"]
    print(f"# Fleet re-registration after an outage: {n} devices, mutual TLS ({r['tls']['version']}, "
          f"{r['tls']['cipher']}, server and device keys {r['key']}), Kamailio 5.6, tcp_children={r['tcp_children']}, "
          f"shared-memory allocator {r['shm_manager']}")
    print(f"Every REGISTER is challenged (digest, qop=auth): 2 round trips per registration. Backoff after a failed "
          f"attempt: RFC 5626 section 4.5 with retry_base_s={r['retry_base_s']:g}, retry_max_s={r['retry_max_s']:g}.")
    print(f"Kamailio idle CPU: {r['idle_cpu_per_s'] * 1000:.1f} ms per s (included in the figures below).\n")
    i = r["initial"]
    print(f"Initial registration of {n} devices, all at once: all registered after {i['all_s']:.2f} s, Kamailio CPU "
          f"{i['kam_cpu_s']:.2f} s, load tool CPU {i['tool_cpu_s']:.2f} s, failed attempts "
          f"{fails(i['failed_attempts'])}.\n")
    print("| outage | TLS session offered | registered | resumed | time until all registered (s) | "
          "spread p10 / p50 / p90 / max (s) | Kamailio CPU (s) | per device (ms) | failed attempts |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in r["storms"]:
        sp = s["spread"] or {}
        all_s = "not all" if s["all_s"] is None else f"{s['all_s']:.2f}"
        print(f"| {s['kind']} | {'yes' if s['resume'] else 'no'} | {s['registered']}/{s['devices']} | {s['resumed']} | "
              f"{all_s} | {sp.get('p10', 0):.2f} / {sp.get('p50', 0):.2f} / {sp.get('p90', 0):.2f} / "
              f"{sp.get('max', 0):.2f} | {s['kam_cpu_s']:.2f} | {1000 * s['kam_cpu_s'] / s['devices']:.2f} | "
              f"{fails(s['failed_attempts'])} |")
    for s in r["storms"]:
        if s["kamailio_crashed"]:
            print(f"\n**Kamailio processes died during a {s['kind']} storm** (see its log): later storms skipped.")
    resets = {True: [s["kam_cpu_s"] for s in r["storms"] if s["kind"] == "reset" and s["resume"]],
              False: [s["kam_cpu_s"] for s in r["storms"] if s["kind"] == "reset" and not s["resume"]]}
    res_all = all(s["resumed"] == s["devices"] for s in r["storms"] if s["kind"] == "reset" and s["resume"])
    if not resets[True] or not resets[False]:
        resets = {True: [float("nan")], False: [float("nan")]}
    mr, mf = statistics.median(resets[True]), statistics.median(resets[False])
    ratio = mr / mf if mf else float("nan")
    r["reset_ratio"] = ratio
    print(f"\nRESET storm, Kamailio CPU median: resumed {mr:.2f} s vs full handshakes {mf:.2f} s: ratio {ratio:.2f} "
          f"(target <= 0.50: {'met' if ratio <= 0.5 and res_all else 'MISSED'})"
          + ("" if res_all else "; not every offered session resumed"))
    rs = [s for s in r["storms"] if s["kind"] == "restart"]
    for s in rs:
        print(f"RESTART storm, session offered={'yes' if s['resume'] else 'no'}: Kamailio down for {s['down_s']:.2f} s "
              f"(kill -> answering again), {s['resumed']} of {s['registered']} handshakes resumed, "
              f"devices needed up to "
              f"{s['attempts_max']} attempts")
    rr = [s for s in rs if s["resume"]]
    if rr:
        print(f"\nRe-registration times after the restart (s since the kill), session offered:\n"
              f"{histogram(rr[0]['_times'], max(0.5, r['retry_base_s'] / 10))}")
    print(f"\nKamailio log (bench/out/fleet/kamailio-last.log): {r['kamailio_error_lines']} ERROR lines "
          f"(shared memory -m {r['shm_mb']} MB, -x {r['shm_manager']}).")
    u = r["udp"]
    print(f"\nSanity reference, {n} UDP REGISTERs with digest auth, at most {u['concurrency']} at a time, "
          "same Kamailio:")
    print("| client | registered | time (s) | rate (reg/s) | Kamailio CPU (s) |")
    print("|---|---|---|---|---|")
    for who, name in (("sipp", "SIPp (reg_auth.xml; wall time incl. its start)"), ("tool", "fleet_load.py")):
        x = u[who]
        print(f"| {name} | {x['ok']}/{n} | {x['seconds']:.2f} | {x['rate']:.0f} | {x['kam_cpu_s']:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--quick", action="store_true", help="50 devices, retry_base_s 4, 3 reset storms per mode")
    ap.add_argument("--exphone", default=os.path.join(ROOT, "build", "exphone"), help="for `exphone pki`")
    ap.add_argument("--key", default="ec-p256", choices=("ec-p256", "rsa2048", "rsa3072"))
    ap.add_argument("--retry-base", type=float, default=30.0, help="retry_base_s (exphone default 30)")
    ap.add_argument("--retry-max", type=float, default=1800.0, help="retry_max_s (exphone default 1800)")
    ap.add_argument("--tcp-children", type=int, default=1)
    ap.add_argument("--shm-manager", default="tlsf", choices=("qm", "fm", "tlsf"),
                    help="Kamailio -x; its default qm spends most of a TLS registration in qm_malloc")
    ap.add_argument("--shm-mb", type=int, default=512, help="Kamailio -m (each TLS connection holds OpenSSL state)")
    ap.add_argument("--reps", type=int, default=5, help="reset storms per mode")
    ap.add_argument("--udp-concurrency", type=int, default=50)
    ap.add_argument("--storm-timeout", type=float, default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.quick:
        a.devices, a.retry_base, a.reps = 50, 4.0, 3
    if a.storm_timeout is None:
        a.storm_timeout = 4 * a.retry_base + 60
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # Kamailio inherits it
    want = min(hard, max(soft, 4 * a.devices + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally below stops Kamailio
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    cache = os.path.join(a.out, "fleet")
    os.makedirs(cache, exist_ok=True)
    pki_dir, ids = make_pki(os.path.abspath(a.exphone), cache, a.devices, a.key)
    tmp = tempfile.mkdtemp(prefix="fleet-", dir=cache)
    users = {i: f"pw-{i}" for i in ids}
    kam = FleetKamailio(tmp, os.path.join(pki_dir, "site"), a.tcp_children, users=users, debug=1,
                        shm_mb=a.shm_mb, shm_manager=a.shm_manager)
    kam.start()
    try:
        r = asyncio.run(run(a, kam, pki_dir, ids, tmp, log))
    finally:
        errors = sum(1 for ln in kam.log_text().splitlines() if " ERROR: " in ln)
        kam.close()
        # the state dir goes (a crashed Kamailio leaves a core of hundreds of MB); its log stays
        shutil.copyfile(kam.log_file, os.path.join(cache, "kamailio-last.log"))
        shutil.rmtree(tmp, ignore_errors=True)
    r["kamailio_error_lines"] = errors
    print_report(r)
    if a.json:
        for s in r["storms"]:
            s.pop("_times", None)
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)
    ok = all(s["registered"] == s["devices"] and not s["kamailio_crashed"] for s in r["storms"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
