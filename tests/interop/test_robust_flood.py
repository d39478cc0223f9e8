"""Floods, slow connections and resource exhaustion against a running phone (docs/robustness.md).

The victim is `exphone run` as 1001, registered to Kamailio over verified TLS (lib/victim.py)
with UDP, a TCP listener and a TLS listener open, and in a secure call from 1002 for the whole
test. Then, one after the other:

1. flood: a generator sends malformed and valid-looking SIP over UDP, TCP and TLS at once for
   FLOOD_S seconds; meanwhile `ctl status` must answer and a second secure call from 1003 must be
   answered. Twice, to see whether memory keeps growing (VmRSS from /proc before and after).
2. slowloris: more TCP and TLS connections than `max_connections`, each dripping one byte every
   second (below `half_message_timeout_s`, so per-byte re-arming would keep them forever) or idle
   mid-handshake: all closed by the half-message deadline; the registrar flow is unaffected.
3. INVITE storm without ACK: thousands of INVITEs from a stranger (one stateless 403 each) and
   from a verified mutual-TLS client, paced and never reading its answers (beyond the 8 calls the
   oldest ringing call is shed with 480): a call through the registrar still gets through.
4. oversized messages (UDP datagram of 65 KB, TCP message beyond the size limit, 10 MB
   Content-Length): dropped or connection closed.
5. the registrar goes away and comes back while pinging inbound connections fill
   max_connections: the phone sheds one of them and re-registers.
Numbers are printed (and recorded in docs/robustness.md). The victim runs under ASan in CI.
"""
import os
import random
import shutil
import socket
import ssl
import tempfile
import threading
import time

from lib.kamailio import Kamailio
from lib.runner import Runner
from lib.victim import (Victim, call_from, finish_call, insecure_tls_context, secure_answered, sip_request,
                        udp_ask, wait_confirmed)

FLOOD_S = 5.0
SANITIZED = os.environ.get("EXPHONE_SANITIZED", "0") in ("1", "ON", "true", "TRUE")
SDP = ("v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 40000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 40 + "\r\n")


def hostile_messages(port, transport):
    """One round of malformed and valid-looking requests (bytes), as a fuzzer-minded attacker
    would send them. Valid ones come from a stranger (not the registrar, not allow_peers)."""
    req = lambda m, **kw: sip_request(m, "1001", "127.0.0.1", port, transport, **kw).encode()  # noqa: E731
    good = [req("OPTIONS"), req("INVITE", body=SDP, extra="Content-Type: application/sdp\r\n"), req("REGISTER"),
            req("BYE", extra=""), req("MESSAGE", body="hi", extra="Content-Type: text/plain\r\n"),
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKstray\r\nFrom: <sip:a@b>;tag=1\r\n"
            b"To: <sip:c@d>;tag=2\r\nCall-ID: stray\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"]
    bad = [
        req("INVITE").replace(b"CSeq: 1 INVITE", b"CSeq: -1 INVITE"),
        req("INVITE").replace(b"Call-ID", b"Call-IDX"),
        req("INVITE").replace(b"SIP/2.0\r\n", b"SIP/9.9\r\n", 1),
        req("OPTIONS").replace(b"Via: ", b"Via:: \x00\xff"),
        req("INVITE", body=SDP.replace("m=audio 40000", "m=audio 99999999"), extra="Content-Type: application/sdp\r\n"),
        req("INVITE", body="v=0\r\n" + "a=x\r\n" * 2000, extra="Content-Type: application/sdp\r\n"),
        req("OPTIONS", extra="X-Long: " + "A" * 9000 + "\r\n"),
        req("OPTIONS", extra="".join(f"X-{i}: {i}\r\n" for i in range(300))),
        req("OPTIONS", extra="Via: " + ",".join(["SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKq"] * 300) + "\r\n"),
        req("INVITE").replace(b"sip:1001@", b"sip:%%%%@@@:::"),
        req("INVITE").replace(b"<sip:scanner@127.0.0.1>", b"<sip:" + b"\xc3\x28" * 50 + b">"),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    if transport == "UDP":
        bad += [os.urandom(random.randint(1, 1400)), b"\r\n\r\n", b"INVITE", req("OPTIONS")[:-30]]
    return good, bad


class Flood:
    """Three sender threads (UDP, TCP, TLS) until stop(); counts what was sent."""

    def __init__(self, v):
        self.v = v
        self.stop_ev = threading.Event()
        self.sent = {"udp": 0, "tcp": 0, "tls": 0}
        self.conns = {"tcp": 0, "tls": 0}
        self.errors = []
        self.answers = 0  # UDP responses the flooder got back
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self.udp, self.tcp, self.tls)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout=15)

    def udp(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        good, bad = hostile_messages(self.v.udp_port, "UDP")
        while not self.stop_ev.is_set():
            for m in good + bad:
                try:
                    s.sendto(m, ("127.0.0.1", self.v.udp_port))
                    self.sent["udp"] += 1
                except (BlockingIOError, OSError):
                    time.sleep(0.001)
                try:
                    while s.recv(65535):
                        self.answers += 1
                except (BlockingIOError, OSError):
                    pass
        s.close()

    def _stream(self, kind, port, wrap):
        while not self.stop_ev.is_set():
            good, bad = hostile_messages(port, kind.upper())
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=3)
                s = wrap(raw)
                self.conns[kind] += 1
                # valid-looking requests first (the phone answers 403/200), then one kind of garbage,
                # which loses framing and closes the connection
                s.sendall(b"".join(good) + random.choice(bad))
                self.sent[kind] += len(good) + 1
                s.settimeout(0.2)
                try:
                    while s.recv(65535):
                        pass
                except (socket.timeout, OSError, ssl.SSLError):
                    pass
                s.close()
            except (OSError, ssl.SSLError) as e:
                self.errors.append(f"{kind}: {e}")
                time.sleep(0.05)

    def tcp(self):
        self._stream("tcp", self.v.tcp_port, lambda raw: raw)

    def tls(self):
        ctx = insecure_tls_context()
        self._stream("tls", self.v.tls_port, lambda raw: ctx.wrap_socket(raw))


def status_probe(v, stop_ev, samples):
    while not stop_ev.is_set():
        try:
            st = v.status(timeout=10)
            samples.append((st["_answered_in_ms"], v.registered(st), len(v.confirmed_calls(st))))
        except Exception as e:  # noqa: BLE001 - a missing answer is the finding
            samples.append((None, str(e), 0))
        time.sleep(0.3)


def closed(sock):
    """Non-blocking: True when the phone has closed this connection (whatever it sent before,
    e.g. keepalive pongs, is read and dropped)."""
    sock.setblocking(False)
    try:
        while True:
            if sock.recv(65536) == b"":
                return True
    except BlockingIOError:
        return False
    except (ssl.SSLWantReadError,):
        return False
    except (OSError, ssl.SSLError):
        return True


def main():
    r = Runner("floods, slow connections and resource exhaustion against a registered phone in a call")
    tmp = tempfile.mkdtemp(prefix="exphone-flood-")
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam, \
                Victim(tmp, kam, idle_timeout_s=4, half_message_timeout_s=2, max_connections=16) as v:
            caller = call_from(tmp, kam, "1002", duration=75)
            assert wait_confirmed(v), "the call from 1002 did not come up"
            rss0, fds0 = v.rss_kib(), v.fds()
            print(f"before: VmRSS {rss0} KiB, fds {fds0}")

            # ---- 1. flood (twice) --------------------------------------------------------
            rounds = []
            for rnd in (1, 2):
                samples, stop_ev = [], threading.Event()
                probe = threading.Thread(target=status_probe, args=(v, stop_ev, samples), daemon=True)
                flood = Flood(v).start()
                probe.start()
                second = None
                if rnd == 1:
                    time.sleep(0.5)
                    second = call_from(tmp, kam, "1003", duration=2)
                t0 = time.monotonic()
                time.sleep(FLOOD_S)
                flood.stop()
                stop_ev.set()
                probe.join(timeout=15)
                elapsed = time.monotonic() - t0 + (0.5 if rnd == 1 else 0)
                rep2 = finish_call(second)[0] if second else None
                time.sleep(0.5)
                rounds.append(dict(sent=dict(flood.sent), conns=dict(flood.conns), answers=flood.answers, samples=samples, rep=rep2,
                                   rss=v.rss_kib(), fds=v.fds(), elapsed=elapsed, errors=flood.errors[:5]))
                rd = rounds[-1]
                lat = [s[0] for s in samples if s[0] is not None]
                print(f"flood {rnd}: {elapsed:.1f} s, sent {rd['sent']} ({sum(rd['sent'].values()) / elapsed:.0f} msg/s), "
                      f"UDP answers {rd['answers']}, connections {rd['conns']}, ctl status {len(lat)}/{len(samples)} answered, max {max(lat or [0])} ms; "
                      f"VmRSS {rd['rss']} KiB, fds {rd['fds']}; sender errors {rd['errors']}")

            def responsive():
                for rd in rounds:
                    assert rd["samples"], "no status probe ran"
                    bad = [s for s in rd["samples"] if s[0] is None or s[0] > 3000 or s[1] is not True or s[2] < 1]
                    assert not bad, bad[:5]
                    assert rd["answers"] > 1000 and rd["conns"]["tcp"] > 5 and rd["conns"]["tls"] > 5, rd
            r.check("during both floods: ctl status answers within 3 s, registered, the call confirmed", responsive)

            def second_call():
                rep = rounds[0]["rep"]
                secure_answered(rep)
                assert rep["media"]["heard_tone_ratio"] > 0.6, rep["media"]
                print(f"call placed during the flood: time_to_ring {rep.get('time_to_ring_ms')} ms")
            r.check("a second secure call (1003 via Kamailio/TLS) placed during the flood is answered", second_call)

            def memory_bounded():
                g1 = rounds[0]["rss"] - rss0
                g2 = rounds[1]["rss"] - rounds[0]["rss"]
                print(f"VmRSS growth: flood 1 {g1} KiB, flood 2 {g2} KiB")
                assert g2 < max(8 * 1024, g1 // 2), (g1, g2)  # no growth per message: the second flood plateaus
                assert rounds[1]["fds"] <= fds0 + 4, (fds0, rounds[1]["fds"])
            r.check("memory bounded: the second flood adds < max(8 MiB, half the first's growth); fds back to normal",
                    memory_bounded)

            # ---- 2. slowloris ------------------------------------------------------------
            def slowloris():
                socks = []
                ctx = insecure_tls_context()
                t0 = time.monotonic()
                closed_at = {}
                # TLS connections that finish the handshake, then drip a request
                for _ in range(4):
                    raw = socket.create_connection(("127.0.0.1", v.tls_port))
                    try:
                        socks.append((ctx.wrap_socket(raw), "tls"))
                    except (OSError, ssl.SSLError):
                        closed_at[len(socks)] = time.monotonic() - t0
                        socks.append((raw, "tls-refused"))
                # then more than max_connections (16, the registrar's TLS flow is one of them) in all:
                # TCP dripping a request, TLS that never start the handshake
                for i in range(20):
                    s = socket.create_connection(("127.0.0.1", v.tcp_port if i % 2 == 0 else v.tls_port))
                    socks.append((s, "tcp" if i % 2 == 0 else "tls-handshake"))
                msg = sip_request("OPTIONS", "1001", "127.0.0.1", v.tcp_port, "TCP").encode()
                i = 0
                while len(closed_at) < len(socks) and time.monotonic() - t0 < 12:
                    for k, (s, kind) in enumerate(socks):
                        if k in closed_at:
                            continue
                        if closed(s):
                            closed_at[k] = time.monotonic() - t0
                            continue
                        if kind in ("tcp", "tls"):
                            try:
                                s.setblocking(True)
                                s.send(msg[i:i + 1])  # one byte per second, never the whole message
                            except (OSError, ssl.SSLError):
                                closed_at[k] = time.monotonic() - t0
                    i += 1
                    st = v.status()
                    assert v.registered(st) and v.confirmed_calls(st), st
                    time.sleep(1.0)
                open_left = [kind for k, (s, kind) in enumerate(socks) if k not in closed_at]
                times = sorted(closed_at.values())
                for s, _ in socks:
                    try:
                        s.close()
                    except OSError:
                        pass
                print(f"slowloris: {len(socks)} connections, closed after (s): "
                      f"{', '.join(f'{t:.1f}' for t in times)}; still open after 12 s: {open_left}")
                assert not open_left, open_left
                # every one is gone by the half-message deadline (2 s) + the drip interval + slack
                assert times[-1] < 2 + 1 + 2.5, times
                st = v.status()
                assert v.registered(st) and v.confirmed_calls(st), st
                assert kam.registered("1001"), "the registrar lost the phone's binding"
            r.check("slowloris: 24 dripping/half-handshaken TCP+TLS connections all closed by the half-message "
                    "deadline, the registrar flow and the call unaffected", slowloris)

            def limit_holds():
                socks = [socket.create_connection(("127.0.0.1", v.tcp_port)) for _ in range(30)]
                time.sleep(0.5)
                open_now = [s for s in socks if not closed(s)]
                print(f"30 idle TCP connections at once: {len(open_now)} kept (max_connections = 16, "
                      f"the registrar's TLS flow counts too)")
                assert len(open_now) <= 15, len(open_now)
                st = v.status()
                assert v.registered(st) and v.confirmed_calls(st), st
                for s in socks:
                    s.close()
            r.check("30 idle connections at once: at most max_connections - 1 kept, the registrar flow kept",
                    limit_holds)

            # ---- 3. INVITE storm without ACK ---------------------------------------------
            def stranger_storm():
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", 0))
                s.settimeout(0.01)
                n, got = 3000, {}
                rss_a = v.rss_kib()
                t0 = time.monotonic()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                for i in range(n):
                    s.sendto(sip_request("INVITE", "1001", "127.0.0.1", v.udp_port, body=SDP,
                                         extra="Content-Type: application/sdp\r\n").encode(), ("127.0.0.1", v.udp_port))
                    if i % 50 == 49:  # bursts of 50 (the phone's socket buffer holds them), then their answers
                        want, until = i + 1, time.monotonic() + 1.0
                        while sum(got.values()) < want and time.monotonic() < until:
                            try:
                                data = s.recv(65535).decode(errors="replace")
                                code = data.split(" ", 2)[1]
                                got[code] = got.get(code, 0) + 1
                            except (socket.timeout, OSError):
                                pass
                # until 1.5 s of silence (a stateful 403 would be retransmitted after 0.5 s: Timer G)
                end, quiet_since = time.monotonic() + 10, time.monotonic()
                while time.monotonic() < end and time.monotonic() - quiet_since < 1.5:
                    try:
                        data = s.recv(65535).decode(errors="replace")
                        code = data.split(" ", 2)[1]
                        got[code] = got.get(code, 0) + 1
                        quiet_since = time.monotonic()
                    except (socket.timeout, OSError):
                        pass
                s.close()
                took = time.monotonic() - t0
                print(f"{n} INVITEs (no ACK) from a stranger in {took:.1f} s: responses {got}, "
                      f"VmRSS {rss_a} -> {v.rss_kib()} KiB")
                assert set(got) == {"403"}, got
                assert got["403"] >= n * 0.95, got  # one stateless 403 each, no retransmissions (no state)
                assert got["403"] <= n, got
            r.check("3000 INVITEs without ACK from a stranger: one stateless 403 each, nothing else", stranger_storm)

            def verified_storm():
                crt, key = kam.cert("client1001")
                ctx = insecure_tls_context()
                ctx.load_cert_chain(crt, key)

                def invites(k):
                    return b"".join(sip_request("INVITE", "1001", "127.0.0.1", v.tls_port, "TLS", body=SDP,
                                                from_user="intruder", extra="Content-Type: application/sdp\r\n").encode()
                                    for _ in range(k))
                # (a) a client that reads its answers: bursts of 20, then their answers
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", v.tls_port), timeout=5))
                n, got, buf = 1000, {}, b""

                def drain(until_finals, timeout):
                    nonlocal buf
                    end = time.monotonic() + timeout
                    s.settimeout(0.05)
                    while time.monotonic() < end and sum(c for k, c in got.items() if k not in ("100", "180")) < until_finals:
                        try:
                            chunk = s.recv(65535)
                            if not chunk:
                                return
                            buf += chunk
                        except (socket.timeout, ssl.SSLError, OSError):
                            continue
                        while b"\r\n\r\n" in buf:
                            head, _, rest = buf.partition(b"\r\n\r\n")
                            clen = 0
                            for h in head.split(b"\r\n"):
                                if h.lower().startswith(b"content-length:"):
                                    clen = int(h.split(b":")[1])
                            buf = rest[clen:]
                            code = head.split(b" ", 2)[1].decode()
                            got[code] = got.get(code, 0) + 1
                t0 = time.monotonic()
                for i in range(0, n, 20):
                    s.settimeout(5)
                    s.sendall(invites(20))
                    drain(i + 20 - 8, 3.0)  # up to 8 (the call limit, one slot is 1002's call) may still ring
                took = time.monotonic() - t0
                s.close()
                finals = {k: c for k, c in got.items() if k not in ("100", "180")}
                print(f"{n} INVITEs (no ACK) over mutual TLS (a verified client) in {took:.1f} s: responses {got}")
                assert sum(finals.values()) >= n - 8, got  # every INVITE beyond the ringing ones answered
                assert set(finals) <= {"480", "486", "503"}, got
                # (b) a client that never reads: 2000 INVITEs in one go, then it goes away
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", v.tls_port), timeout=5))
                s.settimeout(10)
                try:
                    s.sendall(invites(2000))
                except OSError:
                    pass
                time.sleep(2)
                s.close()
                st = v.status()
                ringing = sum(c["state"] == "ringing" for c in st["calls"])
                # a call through the registrar is still answered: the oldest ringing intruder call is shed
                rep = finish_call(call_from(tmp, kam, "1003", duration=1), timeout=60)[0]
                st2 = v.status()
                print(f"2000 INVITEs from a verified client that never reads: phone alive, {ringing} calls ringing; "
                      f"then a call from 1003: answered={rep.get('answered')} time_to_ring={rep.get('time_to_ring_ms')} ms; "
                      f"VmRSS {v.rss_kib()} KiB, calls now {len(st2['calls'])}")
                secure_answered(rep)
                assert v.registered(st2) and v.confirmed_calls(st2), st2
                assert len(st2["calls"]) <= 8, st2["calls"]
            r.check("INVITE storms without ACK from a verified mTLS client (1000 paced, 2000 unread): 480/486 beyond "
                    "the call limit, the oldest ringing call shed first, a call via the registrar still answered",
                    verified_storm)

            # ---- 4. oversized messages ---------------------------------------------------
            def oversized():
                # a 65 KB datagram (beyond the 65535 limit with headers): dropped, no answer
                big = sip_request("OPTIONS", "1001", "127.0.0.1", v.udp_port, extra="X-Pad: " + "A" * 65000 + "\r\n")
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    s.sendto(big.encode()[:65507], ("127.0.0.1", v.udp_port))
                finally:
                    s.close()
                # TCP: a message larger than the limit, and a 10 MB Content-Length: connection closed
                results = []
                for extra, body in (("X-Pad: " + "B" * 8000 + "\r\n", "x" * 70000),
                                    ("", "")):
                    m = sip_request("MESSAGE", "1001", "127.0.0.1", v.tcp_port, "TCP", body=body, extra=extra)
                    if not body:
                        m = m.replace("Content-Length: 0", "Content-Length: 10000000")
                    c = socket.create_connection(("127.0.0.1", v.tcp_port))
                    t0 = time.monotonic()
                    try:
                        c.sendall(m.encode())
                        c.sendall(b"y" * 100000)
                    except OSError:
                        pass
                    deadline = time.monotonic() + 5
                    shut = False
                    while time.monotonic() < deadline and not shut:
                        shut = closed(c)
                        time.sleep(0.05)
                    results.append((shut, round(time.monotonic() - t0, 2)))
                    c.close()
                print(f"oversized over TCP (70 KB body; 10 MB Content-Length): closed, seconds = {results}")
                assert all(shut for shut, _ in results), results
                assert udp_ask(v.udp_port, sip_request("OPTIONS", "1001", "127.0.0.1", v.udp_port)).startswith("SIP/2.0 200")
            r.check("oversized: 65 KB datagram dropped, > 64 KiB and 10 MB Content-Length over TCP closed, UDP still "
                    "answers", oversized)

            rss_end = v.rss_kib()
            rep, err = finish_call(caller, timeout=120)

            def first_call():
                secure_answered(rep)
                assert rep["media"]["heard_tone_ratio"] > 0.6, rep["media"]
                st = v.status()
                assert v.registered(st), st
                print(f"end: VmRSS {rss0} -> {rss_end} KiB; the 75 s call: {rep['media'].get('packets_received')} "
                      f"packets received, tone ratio {rep['media']['heard_tone_ratio']:.2f}")
            r.check("the call from 1002 survived everything: secure, tone heard; still registered", first_call)

            # ---- 5. the table full of live inbound connections when the registrar restarts ----
            def registrar_restart_with_full_table():
                socks = []
                stop_ev = threading.Event()

                def ping():  # RFC 5626 CRLF keepalives: whole units, so the idle timer never fires
                    while not stop_ev.is_set():
                        for c in list(socks):
                            try:
                                c.send(b"\r\n\r\n")
                            except OSError:
                                pass
                        stop_ev.wait(1.0)
                t = threading.Thread(target=ping, daemon=True)
                t.start()
                try:
                    for _ in range(14):
                        socks.append(socket.create_connection(("127.0.0.1", v.tcp_port)))
                    kam.stop()  # the phone's TLS flow is cut; its slot is free ...
                    time.sleep(1.0)
                    for _ in range(4):  # ... and taken: the table (16) is full of pinging inbound connections
                        socks.append(socket.create_connection(("127.0.0.1", v.tcp_port)))
                    time.sleep(0.5)
                    held = sum(not closed(c) for c in socks)
                    t0 = time.monotonic()
                    kam.start()  # same ports; the binding is gone, the phone must connect anew
                    ok = kam.wait_registered("1001", timeout=30)
                    took = time.monotonic() - t0
                    alive_after = sum(not closed(c) for c in socks)
                finally:
                    stop_ev.set()
                    t.join(timeout=5)
                    for c in socks:
                        c.close()
                print(f"registrar down and back while {held} pinging inbound connections fill max_connections: "
                      f"re-registered {ok} {took:.1f} s after the restart; inbound connections left {alive_after}")
                assert held == 16, held
                assert ok, "the phone could not reconnect to its registrar: no connection slot"
                assert alive_after < held, "no inbound connection was shed"
                st = v.status()
                assert v.registered(st), st
            r.check("Kamailio restarts while pinging inbound connections fill max_connections: the phone sheds "
                    "one and re-registers", registrar_restart_with_full_table)

        def clean_exit():
            assert v.proc.returncode == 0, (v.proc.returncode, v.err[-3000:])
            assert "AddressSanitizer" not in v.err and "runtime error" not in v.err, v.err[-3000:]
        r.check("SIGTERM: clean exit 0, no sanitizer report", clean_exit)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
