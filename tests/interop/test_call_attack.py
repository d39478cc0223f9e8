"""Replay, tamper and injection during a real SRTP call (RFC 3711 section 3.3.2 replay protection and
message authentication), with the attacker on the wire:

exphone calls exphone over UDP with SDES-SRTP (lab override: the SDP, key included, is in clear
here on loopback, which is what lets the test find the media ports; the keys never reach the
test). While the call runs, tshark captures a second of the caller's SRTP towards the callee; the
test then re-sends captured packets unchanged (replays) and with one bit flipped in the encrypted
payload (forgeries) to the callee's media port; then packets of the same stream from someone
without the key (a fresh ciphertext and tag: what a wrong key produces), plain RTP injected into
the SRTP stream (same SSRC, G.711 payload, no tag), and spoofed plain RTCP BYEs for the caller's
SSRC on the RTP and the RTCP port. All must be dropped and counted (`replays_dropped`,
`srtp_auth_failures`, `srtcp_auth_failures`, `rtcp_malformed`), the BYE must not be taken (`remote_bye` false), and the
audio must go on (the tone still heard).
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

from lib.media_attack import Attack, capture_srtp
from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]
LAB = 'srtp = "mandatory"\nallow_sdes_over_insecure_transport = true\n'


def main():
    r = Runner("SRTP replay and tamper during a call")
    tmp = tempfile.mkdtemp(prefix="exphone-attack-")
    try:
        port = free_port()
        ctl = os.path.join(tmp, "callee.sock")
        callee_cfg = os.path.join(tmp, "callee.toml")
        with open(callee_cfg, "w") as f:
            f.write(f'[sip]\nudp_bind = "127.0.0.1"\nudp_port = {port}\n[phone]\n{LAB}auto_answer = true\nauto_answer_unauthenticated = true\n'
                    f'allow_peers = ["127.0.0.1"]\ncontrol_socket = "{ctl}"\n')
        caller_cfg = os.path.join(tmp, "caller.toml")
        with open(caller_cfg, "w") as f:
            f.write(f'[sip]\nudp_bind = "127.0.0.1"\n[phone]\n{LAB}allow_peers = ["127.0.0.1"]\n'
                    f'control_socket = "{tmp}/caller.sock"\n[diagnostics]\nsrtp_keylog_file = "{tmp}/srtp-keys.log"\n')
        callee = subprocess.Popen([EXPHONE, "run", "--config", callee_cfg], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        caller = None
        sent = {}
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(ctl) and time.monotonic() < deadline:
                time.sleep(0.05)
            caller = subprocess.Popen([EXPHONE, "call", "--config", caller_cfg, f"sip:phone@127.0.0.1:{port}",
                                       "--duration", "5", "--json"], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            media = None
            deadline = time.monotonic() + 15
            while media is None and time.monotonic() < deadline:
                st = json.loads(subprocess.run([EXPHONE, "ctl", "--socket", ctl, "--json", "status"],
                                               capture_output=True, text=True, timeout=10).stdout or "{}")
                for c in st.get("calls", []):
                    if c["state"] == "confirmed" and c["media"]["local_rtp"]:
                        media = c["media"]
                time.sleep(0.05)
            assert media, "the call did not come up"
            assert media["srtp"], media
            rtp_port = int(media["local_rtp"].rsplit(":", 1)[1])
            packets = capture_srtp(tmp, rtp_port)
            assert len(packets) >= 10, f"captured {len(packets)} SRTP packets"
            attack = Attack(rtp_port)
            sent = attack.all(packets, bye_ports=(rtp_port, rtp_port + 1))  # RTP and RTCP port: no rtcp-mux
            attack.close()
            out, err = caller.communicate(timeout=40)
            rep = json.loads(out) if out.strip() else {}
        finally:
            if caller and caller.poll() is None:
                caller.kill()
            callee.terminate()
            cout, cerr = callee.communicate(timeout=15)
        reports = [json.loads(l.split(" ", 1)[1]) for l in cout.splitlines() if l.startswith("call-report ")]

        def dropped_and_counted():
            assert len(reports) == 1, cout + cerr
            m = reports[0]["media"]
            assert sent, "the attack did not run"
            assert m["replays_dropped"] >= sent["replays"], m
            assert m["srtp_auth_failures"] >= sent["forgeries"] + sent["keyless"] + sent["plain"], m
            assert m["srtp_auth_failures"] + m["srtcp_auth_failures"] + m["rtcp_malformed"] + m["malformed"] >= \
                sent["forgeries"] + sent["keyless"] + sent["plain"] + sent["byes"], m
            assert m["remote_bye"] is False, f"a spoofed RTCP BYE was taken: {m}"
            assert m["heard_tone_ratio"] > 0.8, f"the audio did not survive the attack: {m}"
            assert m["packets_received"] >= 200, m  # ~5 s of the caller's audio, nothing lost to it
        r.check("10 replayed, 10 forged, 10 keyless SRTP, 10 plain RTP and 10 spoofed RTCP BYE packets: "
                "all dropped and counted, the BYE not taken, the tone goes on", dropped_and_counted)

        def caller_fine():
            assert rep.get("answered") and rep["media"]["srtp"], (rep, err)
            assert rep["media"]["heard_tone_ratio"] > 0.8, rep
        r.check("the caller's side of the call is untouched", caller_fine)

        def srtp_key_log():
            import base64
            import stat
            path = f"{tmp}/srtp-keys.log"
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
            assert "WARNING: SRTP key logging is ON" in err, err
            lines = open(path).read().splitlines()
            assert len(lines) == 2, lines
            fields = [dict(kv.split("=", 1) for kv in l.split(" ")[1:]) for l in lines]
            m = rep["media"]
            for f in fields:
                assert f["call_id"] == rep["call_id"] and f["local"] == m["local_rtp"] and f["remote"] == m["remote_rtp"], f
                assert f["suite"] == m["suite"] and f["source"] == "sdes", f
                want = {"AEAD_AES_256_GCM": 44, "AEAD_AES_128_GCM": 28}.get(m["suite"], 30)
                assert len(base64.b64decode(f["key"])) == want, f
            assert [f["direction"] for f in fields] == ["outbound", "inbound"], fields
            assert fields[0]["ssrc"].startswith("0x") and fields[1]["ssrc"] == "-", fields
            assert fields[0]["key"] != fields[1]["key"], "each side keys its own direction (RFC 4568)"
        r.check("[diagnostics] srtp_keylog_file: 0600, one line per direction as in docs/diagnostics.md, warned",
                srtp_key_log)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
