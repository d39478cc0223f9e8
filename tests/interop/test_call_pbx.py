"""Calls through a PBX: exphone and baresip (Debian baresip-core) registered to Kamailio over TLS,
calling each other both ways with SDES-SRTP mandatory (RTP/SAVP, baresip `srtp-mand`) and
best-effort (RTP/AVP + a=crypto, baresip `srtp`), and exphone calling exphone through Kamailio.

Audio is verified in recordings, not by packet counts: exphone's call report gives the share
of the received energy at the far end's tone (baresip plays 440 Hz with ausine); baresip records
what it decoded with its sndfile module, and the test finds exphone's tone in that WAV.
baresip 1.0 does not verify server certificates, so it is no reference for TLS verification —
exphone's own side of the padlock (verified Kamailio certificate) is asserted instead.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from lib.audio import wav_tone_ratio
from lib.kamailio import Kamailio
from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


def two_free_ports():
    while True:
        p = free_port()
        if p < 65000:
            try:
                import socket
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    s.bind(("127.0.0.1", p + 1))
                    s.close()
                return p
            except OSError:
                continue


class Baresip:
    """One headless baresip (sine source, null player, recording with sndfile) registered to
    Kamailio over TLS as `user`, auto-answering."""

    def __init__(self, tmp, kam, user, enc, role="callee", rtcp_mux=False):
        self.dir = os.path.join(tmp, f"baresip-{user}-{enc}-{role}")
        self.snd = os.path.join(self.dir, "snd")
        os.makedirs(self.snd, exist_ok=True)
        self.user = user
        sip = two_free_ports()
        rtp = free_port()
        certs = str(kam.certs_dir)
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(f"""poll_method epoll
sip_listen 127.0.0.1:{sip}
sip_certificate {certs}/client1001.pem
sip_cafile {certs}/ca.crt
call_local_timeout 120
call_max_calls 4
audio_player alsa,null
audio_source ausine,440
audio_alert alsa,null
ausrc_srate 48000
ausrc_channels 2
auplay_srate 48000
audio_level no
audio_buffer 20-160
rtp_ports {rtp}-{rtp + 20}
rtcp_mux {"yes" if rtcp_mux else "no"}
jitter_buffer_delay 5-10
rtp_stats yes
net_interface 127.0.0.1
dns_server 127.0.0.1:53
module_path /usr/lib/baresip/modules
module g711.so
module alsa.so
module ausine.so
module srtp.so
module dtls_srtp.so
module sndfile.so
snd_path {self.snd}
module_tmp uuid.so
module_tmp account.so
module_app menu.so
""")
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(f"<sip:{user}@127.0.0.1:{kam.tls_port};transport=tls>;auth_pass=secret{user};regint=600;"
                    f"answermode=auto;audio_codecs=pcmu;mediaenc={enc}\n")
        self.log = os.path.join(self.dir, "baresip.log")

    def start(self, *args):
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(["baresip", "-f", self.dir, "-4", *args], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        return self

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()

    def heard(self, hz):
        wavs = sorted(glob.glob(os.path.join(self.snd, "*dec*.wav")))
        assert wavs, f"baresip recorded nothing: {os.listdir(self.snd)}; log: {self.text()[-1500:]}"
        return max(wav_tone_ratio(w, hz) for w in wavs)

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


def account(kam, user, srtp):
    return (f'[[account]]\nuser = "{user}"\npassword = "secret{user}"\ndomain = "localhost"\n'
            f'registrar = "sips:127.0.0.1:{kam.tls_port}"\n[tls]\nca_files = ["{kam.ca_file}"]\n'
            f'[phone]\nsrtp = "{srtp}"\n')


def exphone_call(tmp, name, body, target, duration="3"):
    path = os.path.join(tmp, name + ".toml")
    with open(path, "w") as f:
        f.write(body)
    p = subprocess.run([EXPHONE, "call", "--config", path, target, "--duration", duration, "--json"],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), p.stderr


class Daemon:
    def __init__(self, tmp, name, body, send_tone="1000", expect_tone="440"):
        self.path = os.path.join(tmp, name + ".toml")
        self.ctl = os.path.join(tmp, name + ".sock")
        body = body.replace("[phone]\n", f'[phone]\nauto_answer = true\nauto_answer_from = ["1002"]\ncontrol_socket = "{self.ctl}"\n', 1)
        with open(self.path, "w") as f:
            f.write(body)
        self.args = [EXPHONE, "run", "--config", self.path, "--send-tone", send_tone, "--expect-tone", expect_tone]

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.out, self.err = self.proc.communicate(timeout=15)
        return False

    def reports(self):
        return [json.loads(l.split(" ", 1)[1]) for l in self.out.splitlines() if l.startswith("call-report ")]


def secure_report(rep, tone_ratio=0.6):
    assert rep.get("answered"), rep
    assert rep["signaling"]["transport"] == "tls" and rep["signaling"]["tls"]["verified"], rep
    m = rep["media"]
    assert m["srtp"] and m["key_exchange"] == "sdes" and m["srtp_auth_failures"] == 0, m
    # (baresip sends its RTCP APP "PING" and its RTCP BYE in clear even on SRTP calls: dropped and
    # counted in srtcp_auth_failures or rtcp_malformed, which leave the padlock alone)
    assert rep["secure"], rep
    assert m["heard_tone_ratio"] > tone_ratio, f"far-end tone not heard: {m}"


def main():
    r = Runner("calls through Kamailio (TLS) with baresip and exphone")
    tmp = tempfile.mkdtemp(prefix="exphone-pbx-")
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            for enc, policy in (("srtp-mand", "mandatory"), ("srtp", "optional")):
                # exphone (1001) calls baresip (1002)
                kam.kamcmd("ul.rm", "location", "s:1002", check=False)
                b = Baresip(tmp, kam, "1002", enc).start()
                try:
                    assert kam.wait_registered("1002", timeout=15), "baresip did not register"
                    rc, rep, err = exphone_call(tmp, f"c1001-{enc}", account(kam, "1001", policy), "1002")
                    time.sleep(0.5)
                finally:
                    b.stop()

                def out_call():
                    assert rc == 0, (rep, err)
                    secure_report(rep)
                    assert rep["peer"].startswith("sips:1002@"), rep  # RFC 5630: TLS on every hop
                r.check(f"exphone -> Kamailio/TLS -> baresip ({enc}): padlock, baresip's 440 Hz heard", out_call)

                def baresip_heard():
                    ratio = b.heard(1000)
                    assert ratio > 0.5, f"baresip's recording has {ratio:.2f} of its energy at 1 kHz"
                    assert "SRTP is Enabled" in b.text() or "srtp" in b.text().lower(), b.text()[-1500:]
                r.check(f"baresip ({enc}) decoded exphone's 1 kHz tone (sndfile recording)", baresip_heard)

                # baresip (1002) calls exphone (1001, auto-answer)
                kam.kamcmd("ul.rm", "location", "s:1001", check=False)
                with Daemon(tmp, f"d1001-{enc}", account(kam, "1001", policy)) as d:
                    assert kam.wait_registered("1001", timeout=15), "exphone did not register"
                    a = Baresip(tmp, kam, "1002", enc, role="caller")
                    a.start("-e", f"/dial sip:1001@127.0.0.1:{kam.tls_port}", "-t", "4")
                    a.proc.wait(timeout=60)
                    a.stop()
                    time.sleep(0.5)
                reps = d.reports()

                def in_call():
                    assert len(reps) == 1, (d.out, d.err[-3000:], a.text()[-2000:])
                    rep = reps[0]
                    assert rep["direction"] == "incoming", rep
                    secure_report(rep)
                r.check(f"baresip ({enc}) -> Kamailio/TLS -> exphone: padlock, baresip's 440 Hz heard", in_call)

                def baresip_heard_daemon():
                    ratio = a.heard(1000)
                    assert ratio > 0.5, f"baresip's recording has {ratio:.2f} of its energy at 1 kHz"
                r.check(f"baresip ({enc}) as caller decoded exphone's 1 kHz tone", baresip_heard_daemon)

            # exphone calls exphone through Kamailio: the callee is reached over its registration flow
            kam.kamcmd("ul.rm", "location", "s:1001", check=False)
            with Daemon(tmp, "d1001-x", account(kam, "1001", "mandatory"), send_tone="440", expect_tone="1000") as d:
                assert kam.wait_registered("1001", timeout=15), "exphone did not register"
                rc, rep, err = exphone_call(tmp, "c1002-x", account(kam, "1002", "mandatory"), "1001", duration="2")
                time.sleep(0.5)
            reps = d.reports()

            def x_call():
                assert rc == 0, (rep, err)
                secure_report(rep, tone_ratio=0.8)
                assert len(reps) == 1, d.out
                secure_report(reps[0], tone_ratio=0.8)
            r.check("exphone -> Kamailio/TLS -> exphone (registration flow reused inbound): padlock both sides", x_call)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
