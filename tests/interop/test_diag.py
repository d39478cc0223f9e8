"""exphone diag (issue 6) on captures of real exphone <-> exphone calls, taken by tshark on `lo`:

(a) UDP + RTP: SIP in clear, the call found by its Call-ID, both directions plain RTP with no
    loss; with --out the two WAVs decoded from the capture hold the tones each side played
    (callee 440 Hz, caller 1000 Hz); no keys-exposed finding.
(b) UDP + SDES with the lab override (allow_sdes_over_insecure_transport, srtp mandatory): a=crypto
    in cleartext SIP -> critical keys-exposed, media SRTP both ways, no padlock.
(c) mTLS + SDES-SRTP: no cleartext SIP, TLS 1.2/1.3 seen in the handshake, both media directions
    SRTP, padlock-equivalent.
In (b) and (c) the caller writes its [diagnostics] srtp_keylog_file; `diag --srtp-keys --out`
decrypts both directions with no authentication failure and the WAVs hold the tones.
(d) mTLS + DTLS-SRTP: the DTLS-exported keys in the key log decrypt both directions.
(e) one-way audio: a tc egress filter on `lo` (a small BPF classifier, diag/drop_media.bpf.c)
    drops every UDP packet the callee sends except its SIP (a firewall that blocks its media): diag names callee -> caller as missing and the likely
    cause (firewall/NAT or a wrong c= address); the caller's own report agrees (nothing received).
    Its --html report is checked (parses, ladder and timeline elements, self-contained), rendered
    by headless Chromium and the screenshot kept in $EXPHONE_ARTIFACTS (printed).
(f) SRTP key mismatch: call (b)'s key log with the callee -> caller key altered: that direction
    fails authentication on every packet, "key or suite mismatch (unprotect failed)"; the other
    direction still decrypts.
(g) baresip (third-party, SDES srtp-mand over UDP, 440 Hz) calls exphone (lab override, a 1 kHz
    announcement, key log): keys-exposed, SRTP both ways, and exphone's key log decrypts baresip's
    packets too: each WAV holds the tone of the side that sent it.
(h) baresip with DTLS-SRTP over UDP -> exphone (srtp optional, key_exchange dtls): no key in the
    SDP (no keys-exposed), SRTP both ways after the DTLS handshake on the media ports, no padlock
    (SIP in clear); the DTLS-exported keys in exphone's key log decrypt both directions.
A crafted capture with markup in the Call-ID, the From display name and a reason phrase comes out
escaped in the HTML: Chromium's DOM of the report has no element the capture wrote.

The test runs in a private network namespace (unshare -n, only `lo`): the tc filter of (e) and the
captures then see no other process's traffic.
"""
import base64
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import math
import tempfile
import time
import wave

from lib.audio import wav_tone_ratio
from lib.certs import ensure_pki
from lib.png import count_color, read_png
from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


class Callee:
    def __init__(self, tmp, name, body):
        self.path = os.path.join(tmp, name + ".toml")
        with open(self.path, "w") as f:
            f.write(body)

    def __enter__(self):
        self.proc = subprocess.Popen([EXPHONE, "run", "--config", self.path], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.out, self.err = self.proc.communicate(timeout=15)
        return False


def wait_port(port, udp=False):
    deadline = time.monotonic() + 10
    proto = "-uln" if udp else "-tln"
    while time.monotonic() < deadline:
        if f":{port} " in subprocess.run(["ss", proto], capture_output=True, text=True).stdout:
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def enter_private_netns():
    """Re-runs this test in a fresh network namespace with only `lo` (root: unshare -n)."""
    if os.environ.get("EXPHONE_IN_NETNS") == "1":
        return
    os.environ["EXPHONE_IN_NETNS"] = "1"
    os.execvp("unshare", ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh",
                          sys.executable, os.path.abspath(__file__)])


def captured_call(tmp, name, callee_body, caller_body, target, cap_filter, port, udp, duration="1.5"):
    """Runs one call under tshark; returns (caller rc, report, stderr, capture path)."""
    cap_file = os.path.join(tmp, name + ".pcapng")
    with Callee(tmp, name + "-callee", callee_body):
        wait_port(port, udp)
        cap = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", cap_filter, "-w", cap_file],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not os.path.exists(cap_file):
            time.sleep(0.05)
        time.sleep(0.5)  # the file exists before the capture is armed
        path = os.path.join(tmp, name + "-caller.toml")
        with open(path, "w") as f:
            f.write(caller_body)
        p = subprocess.run([EXPHONE, "call", "--config", path, target, "--duration", duration, "--json"],
                           capture_output=True, text=True, timeout=90)
        time.sleep(0.3)  # let the last packets reach the capture file
        cap.terminate()
        cap.wait(timeout=10)
    rep = json.loads(p.stdout) if p.stdout.strip() else {}
    return p.returncode, rep, p.stderr, cap_file


def diag(*args):
    p = subprocess.run([EXPHONE, "diag", *args, "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def the_call(d, call_id):
    calls = [c for c in d["calls"] if c["call_id"] == call_id]
    assert len(calls) == 1, f"call {call_id} not found: {[c['call_id'] for c in d['calls']]}"
    return calls[0]


def udp_conf(port, srtp, extra=""):
    return (f'[sip]\nudp_bind = "127.0.0.1"\nudp_port = {port}\n[phone]\nuser = "phone"\nsrtp = "{srtp}"\n'
            f'auto_answer = true\nallow_peers = ["127.0.0.1"]\nauto_answer_unauthenticated = true\n{extra}')


def caller_conf(srtp, extra=""):
    return f'[sip]\nudp_bind = "127.0.0.1"\n[phone]\nsrtp = "{srtp}"\nallow_peers = ["127.0.0.1"]\n{extra}'


def exposed(d, rep, media):
    """keys-exposed findings about this call (by Call-ID or by its media addresses)."""
    return [f for f in d["findings"] if f["id"] == "keys-exposed" and
            (f["call_id"] == rep["call_id"] or any(m in f["message"] for m in media))]


def decrypted_tones(d, c, keys_note):
    """Both directions of call report c decrypted without failures, each WAV with its tone."""
    streams = {s["id"]: s for s in d["streams"]}
    for way, hz in (("caller_to_callee", 1000), ("callee_to_caller", 440)):
        ids = c["media"][way]["streams"]
        assert ids, (way, c)
        s = streams[ids[0]]
        assert s["srtp"]["key_found"] and s["srtp"]["decrypted"] >= 40, (keys_note, s)
        assert s["srtp"]["auth_failures"] == 0 and s["wav"], s
        ratio = wav_tone_ratio(s["wav"], hz)
        assert ratio > 0.8, f"{way}: {hz} Hz ratio {ratio} in {s['wav']}"


def artifacts_dir():
    d = os.environ.get("EXPHONE_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts")
    d = os.path.join(d, "diag")
    os.makedirs(d, exist_ok=True)
    return d


class HtmlCheck(html.parser.HTMLParser):
    """Well-formedness of the report as far as a test can see it: every non-void element closed
    in order; collects elements (tag, attrs, ancestors) and the text inside each svg."""
    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source",
            "line", "rect", "path", "use", "circle", "stop"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.elements, self.errors, self.text = [], [], [], {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a, [t for t, _ in self.stack]))
        if tag not in self.VOID:
            self.stack.append((tag, a))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), [t for t, _ in self.stack]))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1][0] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        for tag, a in reversed(self.stack):
            if tag == "svg":
                self.text.setdefault(a.get("class", ""), []).append(data)
                break


def check_html(path):
    with open(path, encoding="utf-8") as f:
        page = f.read()
    p = HtmlCheck()
    p.feed(page)
    p.close()
    assert not p.errors and not p.stack, (p.errors, p.stack)
    tags = [t for t, _, _ in p.elements]
    assert "script" not in tags and "img" not in tags and "link" not in tags and "iframe" not in tags, tags
    for tag, a, _ in p.elements:
        assert not any(k.startswith("on") for k in a), (tag, a)  # no event handler attributes
        for k in ("src", "href"):
            assert k not in a or a[k].startswith("#"), (tag, a)  # self-contained: in-page links only
        assert not (tag == "path" and "url(" in a.get("d", "")), a
    return page, p


def chromium(*args):
    prof = tempfile.mkdtemp(prefix="exphone-diag-chromium-")
    try:
        return subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                               f"--user-data-dir={prof}", *args], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(prof, ignore_errors=True)


def write_pcap(path, packets):
    """Classic pcap, Ethernet, IPv4/UDP: packets = [(time, src_ip, sport, dst_ip, dport, payload)]."""
    def ip4(a):
        return bytes(int(x) for x in a.split("."))

    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for t, src, sport, dst, dport, payload in packets:
            udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
            hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, ip4(src), ip4(dst))
            csum = sum(struct.unpack(">10H", hdr))
            csum = (csum & 0xffff) + (csum >> 16)
            csum = ~((csum & 0xffff) + (csum >> 16)) & 0xffff
            hdr = hdr[:10] + struct.pack(">H", csum) + hdr[12:]
            frame = b"\0" * 12 + b"\x08\x00" + hdr + udp
            f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), len(frame)) + frame)


def tc(*args):
    p = subprocess.run(["tc", *args], capture_output=True, text=True)
    assert p.returncode == 0, f"tc {' '.join(args)}: {p.stderr}"



def tone_wav(path, hz, seconds=1.0, rate=8000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * hz * n / rate)))
                               for n in range(int(rate * seconds))))


def baresip_call(tmp, name, callee_body, port, enc, seconds=3):
    """baresip dials exphone run (UDP) under tshark; returns (baresip log, callee report, capture, sip port)."""
    bs_dir = os.path.join(tmp, name + "-baresip")
    os.makedirs(bs_dir, exist_ok=True)
    sip, rtp = free_port(), free_port()
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "diag", "baresip.config")) as f:
        conf = f.read().replace("@SIP@", str(sip)).replace("@RTP@", f"{rtp}-{rtp + 20}")
    with open(os.path.join(bs_dir, "config"), "w") as f:
        f.write(conf)
    with open(os.path.join(bs_dir, "accounts"), "w") as f:
        f.write(f"<sip:1001@127.0.0.1>;regint=0;audio_codecs=pcmu;mediaenc={enc}\n")
    cap_file = os.path.join(tmp, name + ".pcapng")
    with Callee(tmp, name + "-callee", callee_body) as callee:
        wait_port(port, True)
        cap = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", "udp", "-w", cap_file],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not os.path.exists(cap_file):
            time.sleep(0.05)
        time.sleep(0.5)  # the file exists before the capture is armed
        p = subprocess.run(["baresip", "-f", bs_dir, "-4", "-e", f"/dial sip:phone@127.0.0.1:{port}", "-t", str(seconds)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
                           timeout=seconds + 40)
        time.sleep(0.3)
        cap.terminate()
        cap.wait(timeout=10)
    log = p.stdout.replace("\r", "\n")
    reports = [json.loads(line.split("call-report ", 1)[1]) for line in callee.out.splitlines()
               if line.startswith("call-report ")]
    return log, reports, cap_file, sip


def main():
    enter_private_netns()
    r = Runner("diag interop")
    tmp = tempfile.mkdtemp(prefix="exphone-diag-")
    try:
        # ---- (a) UDP + RTP
        port = free_port()
        rc, rep, err, cap = captured_call(tmp, "rtp", udp_conf(port, "off"), caller_conf("off"),
                                          f"sip:phone@127.0.0.1:{port}", "udp", port, True)
        out = os.path.join(tmp, "wav-rtp")

        def case_a():
            assert rc == 0 and rep.get("answered"), err
            d = diag(cap, "--out", out)
            c = the_call(d, rep["call_id"])
            assert c["transport"] == "udp" and c["answered"], c
            assert not c["signaling_encrypted"] and not c["keys_exposed"] and not c["padlock_equivalent"], c
            for way in ("caller_to_callee", "callee_to_caller"):
                m = c["media"][way]
                assert m["seen"] and not m["encrypted"] and m["packets"] >= 40, (way, m)
            assert not any(f["id"] == "keys-exposed" for f in d["findings"]), d["findings"]
            streams = {s["id"]: s for s in d["streams"]}
            tones = {"caller_to_callee": 1000, "callee_to_caller": 440}
            for way, hz in tones.items():
                s = streams[c["media"][way]["streams"][0]]
                assert s["kind"] == "rtp" and s["lost"] == 0 and s["wav"], s
                ratio = wav_tone_ratio(s["wav"], hz)
                assert ratio > 0.8, f"{way}: {hz} Hz ratio {ratio} in {s['wav']}"
        r.check("(a) UDP + RTP: clear SIP and RTP both ways, the WAVs from the capture hold both tones", case_a)

        # ---- (b) UDP + SDES with the lab override
        lab = "allow_sdes_over_insecure_transport = true\n"
        port = free_port()
        keys_b = os.path.join(tmp, "keys-b.log")
        rc, rep, err, cap = captured_call(tmp, "sdes", udp_conf(port, "mandatory", lab),
                                          caller_conf("mandatory", lab) + f'[diagnostics]\nsrtp_keylog_file = "{keys_b}"\n',
                                          f"sip:phone@127.0.0.1:{port}", "udp", port, True)
        cap_b, rep_b = cap, rep

        def case_b():
            assert rc == 0 and rep.get("answered") and rep["media"]["srtp"], err or rep
            d = diag(cap)
            c = the_call(d, rep["call_id"])
            assert c["keys_exposed"] and not c["signaling_encrypted"] and not c["padlock_equivalent"], c
            for way in ("caller_to_callee", "callee_to_caller"):
                assert c["media"][way]["seen"] and c["media"][way]["encrypted"], (way, c["media"])
            crit = [f for f in d["findings"] if f["id"] == "keys-exposed" and f["call_id"] == rep["call_id"]]
            assert crit and crit[0]["severity"] == "critical", d["findings"]
            dk = diag(cap, "--srtp-keys", keys_b, "--out", os.path.join(tmp, "wav-b"))
            decrypted_tones(dk, the_call(dk, rep["call_id"]), keys_b)
        r.check("(b) UDP + SDES (lab override): keys-exposed critical, SRTP both ways, no padlock; key log decrypts both tones", case_b)

        # ---- (c) mTLS + SDES-SRTP
        pki = os.path.join(tmp, "certs")
        ensure_pki(pki)
        ca = f"{pki}/ca.crt"
        tls_port = free_port()
        callee_tls = (f'[sip]\ntls_listen = "127.0.0.1:{tls_port}"\n[tls]\nca_files = ["{ca}"]\n'
                      f'client_cert = "{pki}/server.crt"\nclient_key = "{pki}/server.key"\nrequire_client_cert = true\n'
                      '[phone]\nsrtp = "mandatory"\nauto_answer = true\nauto_answer_from = ["1001"]\n')
        caller_tls = (f'[tls]\nca_files = ["{ca}"]\nclient_cert = "{pki}/client1001.crt"\n'
                      f'client_key = "{pki}/client1001.key"\n[phone]\nsrtp = "mandatory"\nuser = "1001"\n')
        keys_c = os.path.join(tmp, "keys-c.log")
        caller_tls += f'[diagnostics]\nsrtp_keylog_file = "{keys_c}"\n'
        tls_keys_c = os.path.join(tmp, "tls-keys-c.log")  # [diagnostics] tls_keylog_file: NSS key log
        caller_c = caller_tls + f'tls_keylog_file = "{tls_keys_c}"\n'
        rc, rep, err, cap = captured_call(tmp, "tls", callee_tls, caller_c, f"sips:phone@127.0.0.1:{tls_port}",
                                          f"udp or tcp port {tls_port}", tls_port, False)

        def case_c():
            assert rc == 0 and rep.get("answered") and rep.get("secure"), err or rep
            d = diag(cap)
            sig = [f for f in d["signaling"] if f["transport"] == "tls"]
            assert sig and sig[0]["tls_version"] in ("TLSv1.2", "TLSv1.3"), d["signaling"]
            ours = {rep["media"]["local_rtp"], rep["media"]["remote_rtp"]}
            # other processes on lo (parallel tests) may add their own UDP SIP to the capture: judge ours
            assert not any(f["transport"] in ("udp", "tcp") and f["sip_messages"] and
                           (f["a"].endswith(f":{tls_port}") or f["b"].endswith(f":{tls_port}"))
                           for f in d["signaling"]), d["signaling"]
            assert not exposed(d, rep, ours), d["findings"]
            mine = [s for s in d["streams"] if s["src"] in ours and s["dst"] in ours]
            assert len(mine) == 2 and all(s["kind"] == "srtp" for s in mine), (ours, d["streams"])
            calls = [c for c in d["calls"] if c["caller_media"] in ours]
            assert len(calls) == 1, d["calls"]
            c = calls[0]
            assert c["signaling_encrypted"] and not c["keys_exposed"] and c["padlock_equivalent"], c
            # The page draws the TLS records as the ladder: handshake, then encrypted SIP with a lock.
            html_c = os.path.join(artifacts_dir(), "tls.html")
            diag(cap, "--html", html_c)
            page, p = check_html(html_c)
            ladder = "".join(p.text.get("ladder", []))
            assert "TLS handshake" in ladder and "encrypted SIP" in ladder and f":{tls_port}" in ladder, ladder
            locks = [a for t, a, anc in p.elements if t == "g" and a.get("class") == "lock" and "svg" in anc]
            assert len(locks) >= 4, len(locks)  # at least INVITE, 200, ACK, BYE went through TLS
            bars = [a.get("class") for t, a, anc in p.elements if t == "rect" and "svg" in anc]
            assert bars.count("bar-srtp") >= 2 and "bar-rtp" not in bars, bars
            print(f"artifact: {html_c}", flush=True)
            # With the caller's key log the call gets its Call-ID back and both directions decrypt.
            dk = diag(cap, "--srtp-keys", keys_c, "--out", os.path.join(tmp, "wav-c"))
            kc = the_call(dk, rep["call_id"])
            assert kc["signaling_encrypted"] and kc["padlock_equivalent"], kc
            decrypted_tones(dk, kc, keys_c)
            # tshark with the phone's exported TLS key log reads the SIP; without it, nothing.
            import stat
            assert stat.S_IMODE(os.stat(tls_keys_c).st_mode) == 0o600, oct(os.stat(tls_keys_c).st_mode)
            assert "WARNING" in err and "TLS key logging" in err, err[-1500:]
            fields = ["-T", "fields", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID"]
            dec = subprocess.run(["tshark", "-r", cap, "-o", f"tls.keylog_file:{tls_keys_c}", "-d",
                                  f"tcp.port=={tls_port},tls", "-d", f"tls.port=={tls_port},sip", "-Y", "sip", *fields],
                                 capture_output=True, text=True, timeout=60).stdout
            rows = [l.split("\t") for l in dec.splitlines() if rep["call_id"] in l]
            methods = {x[0] for x in rows if x[0]}
            assert {"INVITE", "ACK", "BYE"} <= methods and any(x[1] == "200" for x in rows), dec[-2000:]
            clear = subprocess.run(["tshark", "-r", cap, "-d", f"tcp.port=={tls_port},tls", "-Y", "sip", *fields],
                                   capture_output=True, text=True, timeout=60).stdout
            assert rep["call_id"] not in clear, clear[-1000:]
            print(f"  tshark + tls_keylog_file: {len(rows)} SIP messages of the call decrypted ({sorted(methods)})")
        r.check("(c) mTLS + SDES-SRTP: signaling TLS, SRTP both ways, padlock-equivalent (the --html ladder shows the TLS "
                "records as encrypted SIP); key log decrypts both tones; tshark with the phone's TLS key log shows the SIP", case_c)

        # ---- (d) mTLS + DTLS-SRTP: the handshake on the media port, keys from the key log
        keys_d = os.path.join(tmp, "keys-d.log")
        # G.722 (static payload type 9): diag decodes it without reading the TLS-protected SDP
        dtls = '[phone]\nkey_exchange = "dtls"\ncodecs = ["G722"]\n'
        callee_d = callee_tls.replace("[phone]\n", dtls, 1)
        caller_d = caller_tls.replace("[phone]\n", dtls, 1).replace(keys_c, keys_d)
        tls_port_d = free_port()
        callee_d = callee_d.replace(f"127.0.0.1:{tls_port}", f"127.0.0.1:{tls_port_d}")
        rc_d, rep_d, err_d, cap_d = captured_call(tmp, "dtls", callee_d, caller_d, f"sips:phone@127.0.0.1:{tls_port_d}",
                                                  f"udp or tcp port {tls_port_d}", tls_port_d, False, duration="3")

        def case_d():
            assert rc_d == 0 and rep_d.get("secure") and rep_d["media"]["key_exchange"] == "dtls", err_d or rep_d
            d = diag(cap_d)
            ours = {rep_d["media"]["local_rtp"], rep_d["media"]["remote_rtp"]}
            mine = [s for s in d["streams"] if s["src"] in ours and s["dst"] in ours]
            assert len(mine) == 2 and all(s["kind"] == "srtp" for s in mine), (ours, d["streams"])
            assert all(s["dtls_packets"] > 0 for s in mine), mine  # the handshake shares the port (RFC 7983)
            assert not exposed(d, rep_d, ours), d["findings"]
            with open(keys_d) as f:
                assert "source=dtls" in f.read()
            dk = diag(cap_d, "--srtp-keys", keys_d, "--out", os.path.join(tmp, "wav-d"))
            kc = the_call(dk, rep_d["call_id"])
            assert kc["signaling_encrypted"] and kc["padlock_equivalent"], kc
            decrypted_tones(dk, kc, keys_d)
        r.check("(d) mTLS + DTLS-SRTP: handshake on the media port, SRTP both ways, padlock-equivalent; the "
                "DTLS-exported keys in the key log decrypt both tones", case_d)

        # ---- (e) one-way audio: a firewall on the callee's side drops its media (tc on lo)
        port_e = free_port()
        callee_e = udp_conf(port_e, "off").replace('udp_bind = "127.0.0.1"', 'udp_bind = "127.0.0.2"')
        caller_e = caller_conf("off").replace('allow_peers = ["127.0.0.1"]', 'allow_peers = ["127.0.0.1", "127.0.0.2"]')
        bpf = os.path.join(tmp, "drop_media.o")
        subprocess.run(["clang", "-O2", "-target", "bpf", f"-DSIP_PORT={port_e}", "-DSRC_LAST=2", "-c",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "diag", "drop_media.bpf.c"),
                        "-o", bpf], check=True)
        tc("qdisc", "add", "dev", "lo", "clsact")
        try:
            # every UDP datagram from 127.0.0.2 is dropped before it reaches lo (and the capture),
            # except those from its SIP port
            tc("filter", "add", "dev", "lo", "egress", "bpf", "da", "obj", bpf, "sec", "classifier")
            rc_e, rep_e, err_e, cap_e = captured_call(tmp, "oneway", callee_e, caller_e, f"sip:phone@127.0.0.2:{port_e}",
                                                      "udp", port_e, True)
        finally:
            tc("qdisc", "del", "dev", "lo", "clsact")
        html_e = os.path.join(tmp, "oneway.html")

        def case_e():
            assert rep_e.get("answered"), (rc_e, err_e, rep_e)
            # the caller's own view: it sent, nothing came back (the filter really dropped the media)
            assert rep_e["media"]["packets_sent"] >= 40 and rep_e["media"]["packets_received"] == 0, rep_e["media"]
            d = diag(cap_e, "--html", html_e)
            c = the_call(d, rep_e["call_id"])
            assert c["answered"] and c["transport"] == "udp", c
            fwd, back = c["media"]["caller_to_callee"], c["media"]["callee_to_caller"]
            assert fwd["seen"] and fwd["packets"] >= 40 and not back["seen"] and back["packets"] == 0, c["media"]
            missing = [x for x in c["diagnosis"] if "missing" in x]
            assert len(missing) == 1, c["diagnosis"]
            assert missing[0].startswith("callee -> caller: missing: no packets at all") and "firewall" in missing[0], missing
            ow = [f for f in d["findings"] if f["id"] == "one-way-audio" and f["call_id"] == rep_e["call_id"]]
            assert len(ow) == 1 and ow[0]["severity"] == "error" and "callee -> caller missing" in ow[0]["message"], ow
        r.check("(e) one-way audio (callee's media dropped by a tc filter): callee -> caller named missing, "
                "cause firewall/NAT or c= address", case_e)

        def html_e_report():
            assert os.path.exists(html_e), "diag --html wrote nothing (see (e))"
            page, p = check_html(html_e)
            order = [(t, a.get("id") or a.get("class")) for t, a, _ in p.elements if t in ("table", "svg")]
            assert order[0] == ("table", "verdicts"), order  # the verdict table on top
            assert ("svg", "ladder") in order and ("svg", "timeline") in order, order
            ladder = "".join(p.text.get("ladder", []))
            for label in ("INVITE [udp]", "200 OK (INVITE) [udp]", "ACK [udp]", "BYE [udp]", "127.0.0.2:" + str(port_e)):
                assert label in ladder, (label, ladder)
            timeline = "".join(p.text.get("timeline", []))
            assert "no packets in this direction" in timeline, timeline
            bars = [a for t, a, anc in p.elements if t == "rect" and "svg" in anc and a.get("class") == "bar-rtp"]
            assert bars, "no media bar in the timeline"
            art = artifacts_dir()
            kept = os.path.join(art, "oneway.html")
            shutil.copyfile(html_e, kept)
            png = os.path.join(art, "oneway.png")
            if os.path.exists(png):
                os.unlink(png)
            shot = chromium("--window-size=1280,1400", f"--screenshot={png}", "file://" + kept)
            assert os.path.exists(png), (shot.returncode, shot.stderr[-2000:])
            print(f"artifact: {kept}\nartifact: {png}", flush=True)
            w, h, rows = read_png(png)
            assert (w, h) == (1280, 1400), (w, h)
            orange = count_color(rows, (0xe6, 0x51, 0x00))  # the plain-RTP bars of caller -> callee
            pink = count_color(rows, (0xfd, 0xe7, 0xe7), 2)  # the verdict table's "no packets" cell
            assert orange > 300 and pink > 500, (orange, pink)
            dom = chromium("--dump-dom", "file://" + kept)
            assert dom.returncode == 0 and 'class="ladder"' in dom.stdout and 'class="timeline"' in dom.stdout, dom.stderr[-2000:]
        r.check("(e) --html: verdicts on top, a SIP ladder and a media timeline showing the missing direction; "
                "rendered by headless Chromium (screenshot kept as an artifact)", html_e_report)

        # ---- (f) SRTP key mismatch: (b)'s key log, the callee -> caller key wrong
        def case_f():
            with open(keys_b) as f:
                lines = f.read().splitlines()
            out, altered = [], 0
            for line in lines:
                if "direction=inbound" in line and f"call_id={rep_b['call_id']} " in line:
                    fields = line.split(" ")
                    for i, fld in enumerate(fields):
                        if fld.startswith("key="):
                            raw = bytearray(base64.b64decode(fld[4:]))
                            raw[0] ^= 0xff
                            fields[i] = "key=" + base64.b64encode(bytes(raw)).decode()
                            altered += 1
                    line = " ".join(fields)
                out.append(line)
            assert altered >= 1, lines
            keys_f = os.path.join(tmp, "keys-f.log")
            with open(keys_f, "w") as f:
                f.write("\n".join(out) + "\n")
            html_f = os.path.join(tmp, "mismatch.html")
            d = diag(cap_b, "--srtp-keys", keys_f, "--html", html_f)
            c = the_call(d, rep_b["call_id"])
            streams = {s["id"]: s for s in d["streams"]}
            fwd = streams[c["media"]["caller_to_callee"]["streams"][0]]
            back = streams[c["media"]["callee_to_caller"]["streams"][0]]
            assert fwd["srtp"]["decrypted"] >= 40 and fwd["srtp"]["auth_failures"] == 0, fwd
            assert back["srtp"]["key_found"] and back["srtp"]["decrypted"] == 0, back
            assert back["srtp"]["auth_failures"] == back["rtp_packets"] >= 40, back
            fails = [x for x in c["diagnosis"] if "authentication failure" in x]
            assert len(fails) == 1 and fails[0].startswith(f"callee -> caller: {back['rtp_packets']} SRTP authentication"), fails
            assert 'key or suite mismatch (the receiver\'s "unprotect failed")' in fails[0], fails
            fd = [f for f in d["findings"] if f["id"] == "srtp-auth-failures" and f["call_id"] == rep_b["call_id"]]
            assert len(fd) == 1 and fd[0]["severity"] == "error" and "callee -> caller" in fd[0]["message"], fd
            page, p = check_html(html_f)
            classes = [a.get("class") for t, a, _ in p.elements if t == "rect"]
            assert "bar-fail" in classes and "bar-srtp" in classes, classes
        r.check("(f) SRTP key mismatch (callee -> caller key wrong in the key log): that direction fails "
                "authentication on every packet, key or suite mismatch; the other decrypts", case_f)

        # ---- (g) baresip -> exphone, SDES over UDP (lab override)
        port_g = free_port()
        keys_g = os.path.join(tmp, "keys-g.log")
        ann = os.path.join(tmp, "tone1000.wav")
        tone_wav(ann, 1000)
        callee_g = udp_conf(port_g, "mandatory", lab + f'announcement = "{ann}"\n') + \
            f'[diagnostics]\nsrtp_keylog_file = "{keys_g}"\n'
        log_g, reps_g, cap_g, bs_sip = baresip_call(tmp, "baresip", callee_g, port_g, "srtp-mand")

        def case_g():
            assert "Call established" in log_g and "SRTP is Enabled" in log_g, log_g[-3000:]
            assert len(reps_g) == 1 and reps_g[0]["answered"] and reps_g[0]["media"]["srtp"], reps_g
            cid = reps_g[0]["call_id"]
            d = diag(cap_g)
            c = the_call(d, cid)
            assert c["caller"] == f"127.0.0.1:{bs_sip}" and c["callee"] == f"127.0.0.1:{port_g}", c
            assert c["keys_exposed"] and not c["padlock_equivalent"], c
            for way in ("caller_to_callee", "callee_to_caller"):
                assert c["media"][way]["seen"] and c["media"][way]["encrypted"] and c["media"][way]["packets"] >= 40, c
            dk = diag(cap_g, "--srtp-keys", keys_g, "--out", os.path.join(tmp, "wav-g"))
            kc = the_call(dk, cid)
            streams = {s["id"]: s for s in dk["streams"]}
            for way, hz in (("caller_to_callee", 440), ("callee_to_caller", 1000)):  # baresip 440, exphone 1 kHz
                s = streams[kc["media"][way]["streams"][0]]
                assert s["srtp"]["key_found"] and s["srtp"]["decrypted"] >= 40 and s["srtp"]["auth_failures"] == 0, s
                ratio = wav_tone_ratio(s["wav"], hz)
                assert ratio > 0.8, f"{way}: {hz} Hz ratio {ratio} in {s['wav']}"
        r.check("(g) baresip (SDES over UDP) -> exphone: keys-exposed, SRTP both ways; exphone's key log decrypts "
                "baresip's 440 Hz and its own 1 kHz", case_g)

        # ---- (h) baresip DTLS-SRTP over UDP -> exphone
        port_h = free_port()
        keys_h = os.path.join(tmp, "keys-h.log")
        callee_h = udp_conf(port_h, "optional", f'key_exchange = "dtls"\ncodecs = ["PCMU"]\nannouncement = "{ann}"\n') + \
            f'[diagnostics]\nsrtp_keylog_file = "{keys_h}"\n'
        log_h, reps_h, cap_h, bs_sip_h = baresip_call(tmp, "baresip-dtls", callee_h, port_h, "dtls_srtp", seconds=4)

        def case_h():
            assert "Call established" in log_h and "DTLS-SRTP complete" in log_h, log_h[-3000:]
            assert len(reps_h) == 1 and reps_h[0]["media"]["key_exchange"] == "dtls", reps_h
            cid = reps_h[0]["call_id"]
            with open(keys_h) as f:
                assert "source=dtls" in f.read()
            d = diag(cap_h)
            c = the_call(d, cid)
            assert not c["keys_exposed"] and not c["signaling_encrypted"] and not c["padlock_equivalent"], c
            assert not [f for f in d["findings"] if f["id"] == "keys-exposed"], d["findings"]
            streams = {s["id"]: s for s in d["streams"]}
            for way in ("caller_to_callee", "callee_to_caller"):
                m = c["media"][way]
                assert m["seen"] and m["encrypted"] and m["packets"] >= 40, (way, c)
                assert streams[m["streams"][0]]["dtls_packets"] > 0, streams[m["streams"][0]]
            dk = diag(cap_h, "--srtp-keys", keys_h, "--out", os.path.join(tmp, "wav-h"))
            kc = the_call(dk, cid)
            streams = {s["id"]: s for s in dk["streams"]}
            for way, hz in (("caller_to_callee", 440), ("callee_to_caller", 1000)):
                s = streams[kc["media"][way]["streams"][0]]
                assert s["srtp"]["decrypted"] >= 40 and s["srtp"]["auth_failures"] == 0, s
                ratio = wav_tone_ratio(s["wav"], hz)
                assert ratio > 0.8, f"{way}: {hz} Hz ratio {ratio} in {s['wav']}"
        r.check("(h) baresip DTLS-SRTP over UDP -> exphone: no key exposed, SRTP both ways, no padlock (SIP in "
                "clear); the DTLS-exported keys decrypt baresip's 440 Hz and exphone's 1 kHz", case_h)

        # ---- hostile text in a capture comes out escaped
        def hostile_html():
            cid = "<script>alert(1)</script>@evil"
            frm = '"<script>alert(2)</script>" <sip:a@127.0.0.1>'

            def msg(start, body):
                return (f"{start}\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: {frm};tag=1\r\n"
                        f"To: <sip:b@127.0.0.2>\r\nCall-ID: {cid}\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1>\r\n"
                        f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()

            def sdp(host, port):
                return (f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
                        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")

            pk = [(1.0, "127.0.0.1", 5060, "127.0.0.2", 5060, msg("INVITE sip:b@127.0.0.2 SIP/2.0", sdp("127.0.0.1", 40000))),
                  (1.1, "127.0.0.2", 5060, "127.0.0.1", 5060,
                   msg("SIP/2.0 200 <img src=x onerror=alert(3)>", sdp("127.0.0.2", 40002)))]
            for i in range(20):
                rtp = struct.pack(">BBHII", 0x80, 0, i, i * 160, 7) + bytes([0xff - (k % 8) for k in range(160)])
                pk.append((1.2 + i * 0.02, "127.0.0.1", 40000, "127.0.0.2", 40002, rtp))
            cap_x = os.path.join(tmp, "hostile.pcap")
            write_pcap(cap_x, pk)
            html_x = os.path.join(tmp, "hostile.html")
            d = diag(cap_x, "--html", html_x)
            assert [c["call_id"] for c in d["calls"]] == [cid], d["calls"]  # the markup reached the report
            assert d["calls"][0]["from"] == frm + ";tag=1", d["calls"][0]
            page, p = check_html(html_x)  # no script/img element, no on* attribute
            low = page.lower()
            assert "<script" not in low and "<img" not in low, "capture text became markup"
            assert "&lt;script&gt;alert(1)&lt;/script&gt;@evil" in page and "&lt;img src=x onerror=alert(3)&gt;" in page
            dom = chromium("--dump-dom", "file://" + html_x)
            assert dom.returncode == 0 and "<svg" in dom.stdout, dom.stderr[-2000:]
            q = HtmlCheck()
            q.feed(dom.stdout)
            tags = {t for t, _, _ in q.elements}
            assert "script" not in tags and "img" not in tags, tags
            assert not any(k.startswith("on") for _, a, _ in q.elements for k in a)
        r.check("markup in a captured Call-ID, From and reason phrase is escaped: Chromium's DOM of the report "
                "has no element from the capture", hostile_html)

        def broken_capture():
            bad = os.path.join(tmp, "cut.pcapng")
            with open(cap, "rb") as f:
                data = f.read()
            with open(bad, "wb") as f:
                f.write(data[: len(data) * 2 // 3])
            d = diag(bad)
            assert d["frames"] > 0, d
            p = subprocess.run([EXPHONE, "diag", os.path.join(tmp, "tls-callee.toml")], capture_output=True,
                               text=True, timeout=30)
            assert p.returncode == 1 and "error: diag-open-failed:" in p.stderr, (p.returncode, p.stderr)
        r.check("a capture cut short is analysed up to the cut; a non-capture is a clear error", broken_capture)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
