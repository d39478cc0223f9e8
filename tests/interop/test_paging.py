"""Multicast paging over loopback (docs/paging.md): `exphone page` senders and a receiving
`exphone run` daemon with [[paging.group]]s joined on 127.0.0.1 (IP_MULTICAST_IF / the join's
interface address: nothing leaves lo, no route is added).

- a genuine SRTP page (a tone) is played and recorded;
- while a second genuine page plays, a forged page (another key) and a replay of the first page's
  packets (captured by a Python multicast listener, then resent) are rejected and counted, and
  the recording holds only the genuine tone;
- a plain RTP page to a secure group is rejected;
- an emergency page interrupts a normal page, which goes on afterwards;
- a high-priority page holds an ordinary peer-to-peer call, which is resumed after it.
"""
import json
import math
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import wave

from lib.audio import wav_tone_ratio
from lib.ports import free_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]
LO = "127.0.0.1"


class Daemon:
    def __init__(self, tmp, name, body):
        self.ctl = os.path.join(tmp, name + ".sock")
        self.path = os.path.join(tmp, name + ".toml")
        body = body.replace("[phone]\n", f'[phone]\ncontrol_socket = "{self.ctl}"\n', 1)
        with open(self.path, "w") as f:
            f.write(body)

    def __enter__(self):
        self.proc = subprocess.Popen([EXPHONE, "run", "--config", self.path], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.ctl) and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        if not os.path.exists(self.ctl):
            self.proc.kill()
            raise AssertionError("daemon did not start: " + self.proc.communicate()[1])
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.out, self.err = self.proc.communicate(timeout=15)
        return False

    def status(self):
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl, "--json", "status"], capture_output=True, text=True,
                           timeout=20)
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def ctl_(self, *words):
        p = subprocess.run([EXPHONE, "ctl", "--socket", self.ctl, "--json", *words], capture_output=True, text=True,
                           timeout=20)
        return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {})

    def wait(self, pred, timeout=20):
        deadline = time.monotonic() + timeout
        st = {}
        while time.monotonic() < deadline:
            st = self.status()
            if st and pred(st):
                return st
            time.sleep(0.05)
        raise AssertionError(f"condition not reached: {json.dumps(st)[:2000]}")


def group_of(st, name):
    return next(g for g in st["paging_groups"] if g["group"] == name)


def tone_wav(path, hz, seconds, rate=8000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(9000 * math.sin(2 * math.pi * hz * i / rate)))
                               for i in range(int(rate * seconds))))
    return path


def page(group, wav, key=None, extra=()):
    cmd = [EXPHONE, "page", "--group", group, "--interface", LO, "--play", wav, "--json", *extra]
    cmd += ["--key-file", key] if key else ["--insecure"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(p):
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    return json.loads(out)


class Capture:
    """A plain multicast listener on lo: what an eavesdropper on the segment records."""

    def __init__(self, addr, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(addr) + socket.inet_aton(LO))
        self.sock.settimeout(0.2)
        self.packets, self.stop = [], False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                self.packets.append(self.sock.recv(2048))
            except socket.timeout:
                pass

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()
        return self.packets


def replay(addr, port, packets):
    """Resends captured datagrams at the pace they were sent (20 ms)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LO))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    for p in packets:
        s.sendto(p, (addr, port))
        time.sleep(0.02)
    s.close()


def main():
    r = Runner("paging")
    tmp = tempfile.mkdtemp(prefix="exphone-paging-")
    try:
        key, forged_key = os.path.join(tmp, "group.key"), os.path.join(tmp, "forged.key")
        for k in (key, forged_key):
            subprocess.run([EXPHONE, "page", "keygen", "--out", k], check=True, capture_output=True)
        net = random.randint(1, 250)
        alarm_addr, announce_addr = f"239.255.{net}.1", f"239.255.{net}.2"
        alarm_port, announce_port, peer_port = free_port(), free_port(), free_port()
        alarm, announce = f"{alarm_addr}:{alarm_port}", f"{announce_addr}:{announce_port}"
        pages_dir = os.path.join(tmp, "pages")
        os.mkdir(pages_dir)
        cfg = (f'[sip]\nudp_bind = "127.0.0.1"\n[phone]\nsrtp = "off"\nallow_peers = ["127.0.0.1"]\n'
               f'[paging]\nrecord_dir = "{pages_dir}"\nend_after_ms = 1000\n'
               f'[[paging.group]]\nname = "alarm"\naddress = "{alarm}"\npriority = "emergency"\n'
               f'key_file = "{key}"\ninterface = "{LO}"\n'
               f'[[paging.group]]\nname = "announce"\naddress = "{announce}"\npriority = "normal"\n'
               f'key_file = "{key}"\ninterface = "{LO}"\n')
        peer_cfg = (f'[sip]\nudp_bind = "127.0.0.1"\nudp_port = {peer_port}\n[phone]\nsrtp = "off"\n'
                    'auto_answer = true\nauto_answer_unauthenticated = true\nallow_peers = ["127.0.0.1"]\n')
        w800, w700 = tone_wav(os.path.join(tmp, "800.wav"), 800, 1.5), tone_wav(os.path.join(tmp, "700.wav"), 700, 3)
        w1200 = tone_wav(os.path.join(tmp, "1200.wav"), 1200, 2)
        w600 = tone_wav(os.path.join(tmp, "600.wav"), 600, 4)
        w1000 = tone_wav(os.path.join(tmp, "1000.wav"), 1000, 1.5)

        def refused():
            p = subprocess.run([EXPHONE, "page", "--group", alarm, "--play", w800], capture_output=True, text=True)
            assert p.returncode != 0 and "page-insecure" in p.stderr, p.stderr
            os.chmod(key, 0o644)
            p = subprocess.run([EXPHONE, "page", "--group", alarm, "--key-file", key, "--play", w800],
                               capture_output=True, text=True)
            os.chmod(key, 0o600)
            assert p.returncode != 0 and "readable by others" in p.stderr, p.stderr
        r.check("the sender refuses plain RTP without --insecure and a key file others can read", refused)

        with Daemon(tmp, "phone", cfg) as phone, Daemon(tmp, "peer", peer_cfg) as peer:
            st0 = phone.wait(lambda st: len(st.get("paging_groups", [])) == 2)

            # 1. a genuine page, captured by an eavesdropper
            cap = Capture(alarm_addr, alarm_port)
            sent1 = finished(page(alarm, w800, key))
            st1 = phone.wait(lambda st: group_of(st, "alarm")["pages"] == 1 and not group_of(st, "alarm")["active"])
            captured = cap.close()

            def genuine():
                g = group_of(st1, "alarm")
                assert sent1["secure"] and sent1["suite"] == "AES_CM_128_HMAC_SHA1_80", sent1
                assert g["secure"] and g["ended_by"] == "bye" and g["packets"] >= 70, g
                assert g["auth_failures"] == 0 and g["replays"] == 0, g
                ratio = wav_tone_ratio(g["recording"], 800)
                assert ratio > 0.8, (ratio, g)
                assert len(captured) >= 70, len(captured)
            r.check("a genuine SRTP page is played and recorded (800 Hz), ended by its RTCP BYE", genuine)

            # 2. a second genuine page, while a forged page and the replayed capture arrive
            before = group_of(phone.status(), "alarm")
            p2 = page(alarm, w700, key)
            phone.wait(lambda st: group_of(st, "alarm")["active"])
            forged = page(alarm, w1200, forged_key)
            replayer = threading.Thread(target=replay, args=(alarm_addr, alarm_port, captured))
            replayer.start()
            sent_forged = finished(forged)
            replayer.join()
            sent2 = finished(p2)
            st2 = phone.wait(lambda st: group_of(st, "alarm")["pages"] == 2 and not group_of(st, "alarm")["active"])

            def attacks_rejected():
                g = group_of(st2, "alarm")
                auth = g["auth_failures"] - before["auth_failures"]
                replays = g["replays"] - before["replays"]
                assert auth >= sent_forged["packets_sent"], (auth, sent_forged, g)
                assert replays >= len(captured) - 2, (replays, len(captured), g)
                assert g["pages"] == 2, g  # neither the forgery nor the replay started a page
                assert g["packets"] <= sent2["packets_sent"], (g, sent2)
                rec = g["recording"]
                genuine_ratio, forged_ratio, replay_ratio = (wav_tone_ratio(rec, hz) for hz in (700, 1200, 800))
                print(f"  forged sent {sent_forged['packets_sent']}, auth failures +{auth}; replayed {len(captured)}, "
                      f"replays +{replays}; tone ratios 700/1200/800 Hz {genuine_ratio:.3f}/{forged_ratio:.3f}/"
                      f"{replay_ratio:.3f}")
                assert genuine_ratio > 0.8 and forged_ratio < 0.02 and replay_ratio < 0.02, \
                    (genuine_ratio, forged_ratio, replay_ratio)
            r.check("during a genuine page (700 Hz) a forged page (other key) and a replay of the first page "
                    "are rejected and counted; the recording holds only the genuine tone", attacks_rejected)

            # 3. plain RTP to a secure group
            before = group_of(phone.status(), "alarm")
            plain = finished(page(alarm, w800))
            time.sleep(0.3)
            st3 = phone.status()

            def plain_rejected():
                g = group_of(st3, "alarm")
                assert not plain["secure"], plain
                rejected = (g["auth_failures"] - before["auth_failures"]) + (g["malformed"] - before["malformed"])
                assert rejected >= plain["packets_sent"] - 2 and g["pages"] == 2 and not g["active"], (g, plain)
            r.check("a plain RTP page to a secure group is rejected (authentication failures), no page starts",
                    plain_rejected)

            # 4. an emergency page interrupts a normal page
            normal = page(announce, w600, key)
            phone.wait(lambda st: group_of(st, "announce")["playing"])
            emergency = page(alarm, w1000, key)
            st4 = phone.wait(lambda st: group_of(st, "alarm")["playing"] and group_of(st, "announce")["active"])
            finished(emergency)
            st5 = phone.wait(lambda st: group_of(st, "announce")["playing"] and not group_of(st, "alarm")["active"])
            finished(normal)
            st6 = phone.wait(lambda st: group_of(st, "announce")["pages"] == 1 and not group_of(st, "announce")["active"])

            def preemption():
                assert not group_of(st4, "announce")["playing"], st4["paging_groups"]
                assert [p["group"] for p in st4["pages"]] == ["alarm", "announce"], st4["pages"]
                assert group_of(st5, "announce")["playing"], st5
                n = group_of(st6, "announce")
                assert n["interrupted_ms"] >= 1000 and n["ended_by"] == "bye", n
                assert wav_tone_ratio(n["recording"], 600) > 0.8, n
                assert wav_tone_ratio(group_of(st6, "alarm")["recording"], 1000) > 0.8, st6
            r.check("an emergency page interrupts a normal page, which plays again when it ends", preemption)

            # 5. a page holds an ordinary call and the call resumes
            rc, d = phone.ctl_("dial", f"sip:x@127.0.0.1:{peer_port}")
            phone.wait(lambda st: any(c["state"] == "confirmed" for c in st.get("calls", [])))
            alert = page(alarm, w1000, key)
            held = phone.wait(lambda st: st["calls"] and st["calls"][0]["held"] and group_of(st, "alarm")["active"])
            finished(alert)
            resumed = phone.wait(lambda st: not group_of(st, "alarm")["active"] and st["calls"]
                                 and not st["calls"][0]["held"])

            def hold_resume():
                assert rc == 0, d
                assert held["paging_holds_calls"] and held["calls"][0]["state"] == "confirmed", held
                assert resumed["calls"][0]["state"] == "confirmed" and not resumed["paging_holds_calls"], resumed
                peer_st = peer.status()
                assert peer_st["calls"] and peer_st["calls"][0]["remote_holds"] >= 1, peer_st["calls"]
                assert not peer_st["calls"][0]["remote_held"], peer_st["calls"]
            r.check("an emergency page holds the ordinary call (re-INVITE sendonly) and resumes it after", hold_resume)
            phone.ctl_("hangup")
            time.sleep(0.3)

        def logged():
            assert "paging: alarm: rejected" in phone.err, phone.err[-2000:]
            assert st0["pages"] == [], st0
        r.check("rejections are logged (rate-limited); no page is active at start", logged)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
