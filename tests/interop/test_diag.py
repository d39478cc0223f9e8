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
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

from lib.audio import wav_tone_ratio
from lib.certs import ensure_pki
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


def main():
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
        rc, rep, err, cap = captured_call(tmp, "tls", callee_tls, caller_tls, f"sips:phone@127.0.0.1:{tls_port}",
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
            # With the caller's key log the call gets its Call-ID back and both directions decrypt.
            dk = diag(cap, "--srtp-keys", keys_c, "--out", os.path.join(tmp, "wav-c"))
            kc = the_call(dk, rep["call_id"])
            assert kc["signaling_encrypted"] and kc["padlock_equivalent"], kc
            decrypted_tones(dk, kc, keys_c)
        r.check("(c) mTLS + SDES-SRTP: signaling TLS, SRTP both ways, padlock-equivalent; key log decrypts both tones", case_c)

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
