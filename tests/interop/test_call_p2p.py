"""exphone calls exphone peer-to-peer without a PBX, and SIPp plays the hostile peer:

- a call over UDP (2xx/ACK over an unreliable transport), tones heard both ways; with srtp
  "optional" and no insecure-SDES override, a capture shows no a=crypto on the wire, and the
  media is DTLS-SRTP (opportunistic: the fingerprint came over UDP, so no padlock);
- hold and resume by re-INVITE (the callee sees the caller's a=sendonly, then sendrecv);
- CANCEL of a call that rings (487), both sides report it;
- `exphone ctl`: the ringing call is answered from the control socket, then hung up from the
  callee side (BYE from the callee);
- SIPp: an offer without crypto to an SRTP-mandatory phone -> 488; a garbage a=crypto key -> 488;
- SIPp from an address the phone does not trust sends a BYE for the live call -> 403, and the
  call goes on to its normal end;
- codecs: G.722 (16 kHz audio, RTP clock 8000) and Opus (48 kHz RTP clock) negotiated by the
  callee's [phone] codecs, the tones still heard at the codec's own sample rate;
- RFC 4733 DTMF both ways (`exphone call --dtmf`, `exphone ctl dtmf`);
- WAV: the caller plays a file (`--play`) and records (`--record`), the callee records every call
  to [phone] record_dir; the test finds each side's tone in the other's WAV.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

from lib.audio import wav_tone_ratio
from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]
HERE = os.path.dirname(os.path.abspath(__file__))


class Phone:
    """`exphone run` with a config; stdout collected for the call-report lines."""

    def __init__(self, tmp, name, body):
        self.path = os.path.join(tmp, name + ".toml")
        self.ctl_path = os.path.join(tmp, name + ".sock")
        if "[phone]\n" not in body:
            body += "[phone]\n"
        body = body.replace("[phone]\n", f'[phone]\ncontrol_socket = "{self.ctl_path}"\n', 1)
        with open(self.path, "w") as f:
            f.write(body)

    def __enter__(self):
        self.proc = subprocess.Popen([EXPHONE, "run", "--config", self.path], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.path.exists(self.ctl_path):
            time.sleep(0.05)
        assert os.path.exists(self.ctl_path), "the phone did not start"
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.out, self.err = self.proc.communicate(timeout=15)
        return False

    def ctl(self, *words):
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl_path, "--json", *words],
                           capture_output=True, text=True, timeout=20)
        return p.returncode, json.loads(p.stdout) if p.stdout.strip() else {}

    def wait_call(self, state, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, st = self.ctl("status")
            for c in st.get("calls", []):
                if c["state"] == state:
                    return c
            time.sleep(0.05)
        raise AssertionError(f"no call in state {state}: {st}")

    def reports(self):
        return [json.loads(l.split(" ", 1)[1]) for l in self.out.splitlines() if l.startswith("call-report ")]


def caller_cmd(tmp, name, body, target, *extra):
    path = os.path.join(tmp, name + ".toml")
    with open(path, "w") as f:
        f.write(body)
    return [EXPHONE, "call", "--config", path, target, "--json", *extra]


def run_call(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), p.stderr


def sipp(tmp, scenario, port, source="127.0.0.1", sets=(), call_id=None):
    args = ["sipp", "-sf", os.path.join(HERE, "sipp", scenario), "-i", source, "-p", str(free_port(source)),
            "-m", "1", "-timeout", "20", "-timeout_error", "-nostdin", "-trace_err", "-trace_msg",
            "-message_file", os.path.join(tmp, scenario + ".msg"),
            "-error_file", os.path.join(tmp, scenario + ".err")]
    for k, v in sets:
        args += ["-set", k, v]
    if call_id:
        args += ["-cid_str", call_id]
    args.append(f"127.0.0.1:{port}")
    p = subprocess.run(args, capture_output=True, text=True, timeout=40, cwd=tmp)
    err = ""
    if os.path.exists(os.path.join(tmp, scenario + ".err")):
        err = open(os.path.join(tmp, scenario + ".err")).read()
    msgs = ""
    if p.returncode != 0 and os.path.exists(os.path.join(tmp, scenario + ".msg")):
        msgs = open(os.path.join(tmp, scenario + ".msg")).read()
    return p.returncode, p.stdout[-1500:] + err[-1500:] + msgs[-3000:]


def callee_conf(port, srtp="off", auto=True, extra=""):
    return (f'[sip]\nudp_bind = "127.0.0.1"\nudp_port = {port}\n[phone]\nuser = "phone"\nsrtp = "{srtp}"\n'
            f'auto_answer = {"true" if auto else "false"}\nallow_peers = ["127.0.0.1"]\n'
            f'auto_answer_unauthenticated = true\n{extra}')  # lab: UDP callers are not authenticated


CALLER = '[sip]\nudp_bind = "127.0.0.1"\n[phone]\nsrtp = "{srtp}"\nallow_peers = ["127.0.0.1"]\n'


def main():
    r = Runner("peer-to-peer call interop")
    tmp = tempfile.mkdtemp(prefix="exphone-p2p-")
    try:
        # ---- a plain UDP call, with a capture that must not show any SDES key
        port = free_port()
        with Phone(tmp, "udp-callee", callee_conf(port, srtp="optional")) as callee:
            cap_file = os.path.join(tmp, "udp.pcap")
            cap = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", f"udp port {port}", "-w", cap_file],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not os.path.exists(cap_file):
                time.sleep(0.05)
            time.sleep(0.5)
            rc, rep, err = run_call(caller_cmd(tmp, "udp-caller", CALLER.format(srtp="optional"),
                                               f"sip:phone@127.0.0.1:{port}", "--duration", "3"))
            time.sleep(0.3)
            cap.terminate()
            cap.wait(timeout=10)

            def udp_call():
                assert rc == 0, err
                assert rep["answered"] and rep["signaling"]["transport"] == "udp", rep
                # srtp "optional", key_exchange "auto": no SDES key without TLS, but opportunistic
                # DTLS-SRTP; its fingerprint came over UDP, so it authenticates nobody: no padlock
                m = rep["media"]
                assert m["srtp"] and m["key_exchange"] == "dtls", rep
                assert m["dtls"]["peer_fingerprint_verified"] and not m["dtls"]["fingerprint_over_tls"], rep
                assert not rep["secure"], rep  # honest: no padlock
                assert m["heard_tone_ratio"] > 0.8, rep
            r.check("UDP call: INVITE/200/ACK over UDP, opportunistic DTLS-SRTP (no padlock), the callee's tone heard",
                    udp_call)

            def no_key_on_wire():
                sdp = subprocess.run(["tshark", "-r", cap_file, "-Y", "sip", "-T", "fields", "-e", "sip.Method",
                                      "-e", "sdp.media"], capture_output=True, text=True, timeout=60).stdout
                assert "INVITE" in sdp, f"the capture has no SIP at all: {sdp!r}"
                raw = subprocess.run(["tshark", "-r", cap_file, "-Y", 'sip and frame contains "a=crypto"',
                                      "-T", "fields", "-e", "frame.number"], capture_output=True, text=True,
                                     timeout=60).stdout.strip()
                assert raw == "", f"a=crypto on the wire over UDP in frames {raw}"
            r.check("UDP + srtp optional, no override: no a=crypto on the wire (tshark)", no_key_on_wire)
        rep_c = callee.reports()

        def udp_callee():
            assert len(rep_c) == 1 and rep_c[0]["media"]["heard_tone_ratio"] > 0.8, rep_c
            assert rep_c[0]["ended_by"] == "remote", rep_c
        r.check("UDP callee heard the caller's tone; the caller's BYE ended it", udp_callee)

        # ---- hold / resume over UDP
        port = free_port()
        with Phone(tmp, "hold-callee", callee_conf(port)) as callee:
            rc, rep, err = run_call(caller_cmd(tmp, "hold-caller", CALLER.format(srtp="off"),
                                               f"sip:phone@127.0.0.1:{port}", "--duration", "3",
                                               "--hold-at", "0.5", "--hold-for", "1"))
        rep_c = callee.reports()

        def hold_resume():
            assert rc == 0 and rep["answered"], (rep, err)
            assert len(rep_c) == 1, callee.out
            c = rep_c[0]
            assert c["remote_holds"] == 1 and not c["remote_held"], c  # held once, resumed
            # ~1 s of the 3 s the caller did not send: well below the 150 packets of a full call
            got = c["media"]["packets_received"]
            assert 60 <= got <= 120, f"callee received {got} packets; hold did not pause the caller's audio"
            assert c["media"]["heard_tone_ratio"] > 0.8, c
        r.check("hold (re-INVITE a=sendonly) pauses the caller's audio, resume brings it back", hold_resume)

        # ---- CANCEL of a ringing call
        port = free_port()
        with Phone(tmp, "cancel-callee", callee_conf(port, auto=False)) as callee:
            rc, rep, err = run_call(caller_cmd(tmp, "cancel-caller", CALLER.format(srtp="off"),
                                               f"sip:phone@127.0.0.1:{port}", "--ring-timeout", "1"))
            time.sleep(0.3)
        rep_c = callee.reports()

        def cancel():
            assert rep.get("ended_by") == "cancel" and rep.get("final_status") == 487, (rep, err)
            assert not rep["answered"] and rep["time_to_ring_ms"] >= 0, rep
            assert len(rep_c) == 1 and rep_c[0]["ended_by"] == "cancel" and rep_c[0]["final_status"] == 487, rep_c
        r.check("CANCEL while ringing: 487 to the INVITE, both sides report a cancelled call", cancel)

        # ---- auto-answer needs an authenticated arrival: an allowlisted address over UDP only rings
        port = free_port()
        plain = callee_conf(port).replace("auto_answer_unauthenticated = true\n", "")
        with Phone(tmp, "noauto-callee", plain) as callee:
            rc, rep, err = run_call(caller_cmd(tmp, "noauto-caller", CALLER.format(srtp="off"),
                                               f"sip:phone@127.0.0.1:{port}", "--ring-timeout", "1.5"))
            time.sleep(0.3)
        rep_c = callee.reports()

        def no_auto_answer_unauthenticated():
            assert not rep.get("answered") and rep.get("ended_by") == "cancel", (rep, err)
            assert len(rep_c) == 1 and not rep_c[0]["answered"], rep_c
            assert rep_c[0]["media"]["packets_sent"] == 0, "the microphone was opened"
            assert "rings instead of auto-answering" in callee.err, callee.err
        r.check("auto-answer phone, allowlisted caller over UDP (not authenticated): it rings, no RTP is sent",
                no_auto_answer_unauthenticated)

        # ---- answer and hang up through exphone ctl
        port = free_port()
        with Phone(tmp, "ctl-callee", callee_conf(port, auto=False)) as callee:
            proc = subprocess.Popen(caller_cmd(tmp, "ctl-caller", CALLER.format(srtp="off"),
                                               f"sip:phone@127.0.0.1:{port}", "--duration", "20"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                ringing = callee.wait_call("ringing")
                arc, ans = callee.ctl("answer")
                up = callee.wait_call("confirmed")
                time.sleep(1)
                hrc, hang = callee.ctl("hangup", up["call_id"])
                out, err = proc.communicate(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
            rep = json.loads(out) if out.strip() else {}

        def ctl():
            assert ringing["direction"] == "incoming", ringing
            assert arc == 0 and ans["ok"], ans
            assert hrc == 0 and hang["ok"], hang
            assert rep["answered"] and rep["ended_by"] == "remote", (rep, err)
            assert rep["media"]["packets_received"] >= 30, rep
        r.check("exphone ctl: status shows the ringing call, answer takes it, hangup sends the BYE", ctl)

        # ---- SIPp as the hostile or broken peer
        port = free_port()
        with Phone(tmp, "mand-callee", callee_conf(port, srtp="mandatory",
                                                   extra="allow_sdes_over_insecure_transport = true\n")):
            def no_crypto():
                rc, out = sipp(tmp, "call_invite_refused.xml", port,
                               sets=[("proto", "RTP/AVP"), ("crypto", "a=sendrecv")])
                assert rc == 0, out
            r.check("SIPp: offer without crypto to an SRTP-mandatory phone -> 488", no_crypto)

            def garbage_crypto():
                rc, out = sipp(tmp, "call_invite_refused.xml", port,
                               sets=[("proto", "RTP/SAVP"),
                                     ("crypto", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%%%notbase64%%%")])
                assert rc == 0, out
            r.check("SIPp: a=crypto with a key that is not base64 -> 488, the phone lives on", garbage_crypto)

        port = free_port()
        with Phone(tmp, "bye-callee", callee_conf(port)) as callee:
            proc = subprocess.Popen(caller_cmd(tmp, "bye-caller", CALLER.format(srtp="off"),
                                               f"sip:phone@127.0.0.1:{port}", "--duration", "3"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                up = callee.wait_call("confirmed")
                src, sout = sipp(tmp, "call_forged_bye.xml", port, source="127.0.0.2",
                                 sets=[("ftag", "x"), ("ttag", "y")], call_id=up["call_id"])
                _, mid = callee.ctl("status")
                out, err = proc.communicate(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
            rep = json.loads(out) if out.strip() else {}
        rep_c = callee.reports()

        def forged_bye():
            assert src == 0, f"SIPp did not get its 403: {sout}"
            assert [c["state"] for c in mid["calls"]] == ["confirmed"], mid
            assert rep["answered"] and rep["ended_by"] == "local", (rep, err)  # the caller hung up itself
            assert len(rep_c) == 1 and rep_c[0]["media"]["packets_received"] >= 120, rep_c
            assert "refused BYE from 127.0.0.2" in callee.err, callee.err
        r.check("SIPp: BYE from an untrusted address -> 403 and a log line, the call stays up", forged_bye)

        # ---- codecs
        for codec, rate in (("G722", 16000), ("opus", 16000), ("PCMA", 8000)):
            port = free_port()
            with Phone(tmp, f"codec-{codec}", callee_conf(port, extra=f'codecs = ["{codec}"]\n')) as callee:
                rc, rep, err = run_call(caller_cmd(tmp, f"codec-caller-{codec}", CALLER.format(srtp="off"),
                                                   f"sip:phone@127.0.0.1:{port}", "--duration", "1.5"))
            rep_c = callee.reports()

            def codec_call():
                assert rc == 0 and rep["media"]["codec"].lower() == codec.lower(), (rep, err)
                assert rep["media"]["heard_tone_ratio"] > 0.8, rep["media"]
                assert len(rep_c) == 1 and rep_c[0]["media"]["codec"].lower() == codec.lower(), rep_c
                assert rep_c[0]["media"]["heard_tone_ratio"] > 0.8, rep_c[0]["media"]
            r.check(f"{codec} negotiated from the callee's codec list, tones heard both ways", codec_call)

        # ---- DTMF both ways
        port = free_port()
        with Phone(tmp, "dtmf-callee", callee_conf(port)) as callee:
            proc = subprocess.Popen(caller_cmd(tmp, "dtmf-caller", CALLER.format(srtp="off"),
                                               f"sip:phone@127.0.0.1:{port}", "--duration", "3", "--dtmf", "1234*#"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                up = callee.wait_call("confirmed")
                drc, dans = callee.ctl("dtmf", "9A0", up["call_id"])
                out, err = proc.communicate(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
            rep = json.loads(out) if out.strip() else {}
        rep_c = callee.reports()

        def dtmf():
            assert drc == 0 and dans["ok"], dans
            assert rep["media"]["dtmf_received"] == "9A0", rep["media"]
            assert len(rep_c) == 1 and rep_c[0]["media"]["dtmf_received"] == "1234*#", rep_c
        r.check("RFC 4733 DTMF: caller sends 1234*# (--dtmf), callee sends 9A0 (ctl dtmf), each receives exactly those", dtmf)

        # ---- echo mode: the caller hears its own 1 kHz tone back
        port = free_port()
        with Phone(tmp, "echo-callee", callee_conf(port, extra="echo = true\n")) as callee:
            rc, rep, err = run_call(caller_cmd(tmp, "echo-caller", CALLER.format(srtp="off"),
                                               f"sip:phone@127.0.0.1:{port}", "--duration", "2",
                                               "--expect-tone", "1000"))

        def echo():
            assert rc == 0 and rep["answered"], (rep, err)
            assert rep["media"]["heard_tone_ratio"] > 0.8, f"own tone not echoed: {rep['media']}"
        r.check("[phone] echo: the caller hears its own tone back", echo)

        # ---- WAV play and record
        import math
        import struct
        import wave
        play = os.path.join(tmp, "700hz.wav")
        with wave.open(play, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 700 * i / 8000)))
                                   for i in range(8000)))
        rec_dir = os.path.join(tmp, "recordings")
        os.makedirs(rec_dir)
        mine = os.path.join(tmp, "caller-heard.wav")
        port = free_port()
        with Phone(tmp, "wav-callee", callee_conf(port, extra=f'record_dir = "{rec_dir}"\n')) as callee:
            rc, rep, err = run_call(caller_cmd(tmp, "wav-caller", CALLER.format(srtp="off"),
                                               f"sip:phone@127.0.0.1:{port}", "--duration", "2",
                                               "--play", play, "--record", mine))
        rep_c = callee.reports()

        def wav():
            assert rc == 0 and rep["media"]["recording"] == mine, (rep, err)
            assert wav_tone_ratio(mine, 440) > 0.8, "the callee's 440 Hz tone is not in the caller's WAV"
            files = os.listdir(rec_dir)
            assert len(files) == 1 and rep_c[0]["media"]["recording"].endswith(files[0]), (files, rep_c)
            got = wav_tone_ratio(os.path.join(rec_dir, files[0]), 700)
            assert got > 0.8, f"the caller's 700 Hz file is not in the callee's recording ({got:.2f})"
        r.check("WAV: --play sends a file, --record and record_dir write what was heard", wav)
        port = free_port()
        with Phone(tmp, "refresh-callee", callee_conf(port)) as callee:
            def offerless_reinvite():
                rc, out = sipp(tmp, "call_reinvite_no_sdp.xml", port)
                assert rc == 0, out
            r.check("SIPp: offer-less re-INVITE -> 200 with our offer, answer taken from the ACK, BYE -> 200",
                    offerless_reinvite)
        rep_c = callee.reports()

        def refresh_report():
            assert len(rep_c) == 1 and rep_c[0]["ended_by"] == "remote" and "error" not in rep_c[0], (rep_c, callee.err[-2000:])
        r.check("the refreshed call ended by the peer's BYE, no error", refresh_report)

    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
