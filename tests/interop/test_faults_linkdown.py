"""The phone's network interface taken down (`ip link set down`) for 20 s during a secure call
(issue 11), in two network namespaces joined by a plain veth pair (lib/netlab.py VethLab: a TUN
device of the delay line would not survive link down):

  caller 1001, 10.200.1.2 (dev vph) ---- veth ---- 10.200.0.1 Kamailio + callee 1002

Both phones register over TLS and call each other with SDES-SRTP (media_timeout_s 30, keepalive
5 s). The caller's veth goes down: its routes go with it, every send fails (ENETUNREACH) and the
far side sees no carrier. The caller must not crash, must find its TLS flow dead (keepalive) and
show the account unregistered; when the link is up again it must register again by itself (a new
binding in Kamailio's location table), and the call either carries media again (counters grow on
both sides) or has ended cleanly by media timeout - the test says which. The phones' config files
stay byte-identical and both exit 0 on SIGTERM with no sanitizer report.

The link goes down 2 s after the call is up, within the first keepalive interval of the caller's
flow: before its first pong (stream_connection.cpp: TCP_USER_TIMEOUT finds that flow dead).
LINKDOWN_AFTER=8 (seconds) takes it down after a pong instead.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import lib.certs as certs_mod
from lib.netlab import PBX, TLS_PORT, LabKamailio, VethLab
from lib.runner import Runner
from test_faults_link import Phone

EXPHONE = os.environ["EXPHONE"]
DOWN_S = 20


def config(tmp, user, ca, ctl, extra=""):
    path = os.path.join(tmp, f"{user}.toml")
    with open(path, "w") as f:
        f.write(f'[[account]]\nuser = "{user}"\npassword = "secret{user}"\ndomain = "localhost"\n'
                f'registrar = "sips:{PBX}:{TLS_PORT}"\nstartup_jitter_ms = 0\nretry_base_s = 1\nretry_max_s = 2\n'
                f'[tls]\nca_files = ["{ca}"]\n[sip]\nkeepalive_interval_s = 5\n'
                f'[phone]\nsrtp = "mandatory"\nkey_exchange = "sdes"\nmedia_timeout_s = 30\n'
                f'control_socket = "{ctl}"\n{extra}')
    return path


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    if os.geteuid() != 0:
        raise AssertionError("needs root (network namespaces)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # ctest timeout: still clean up below
    r = Runner("network faults: the phone's interface down during a secure call")
    tmp = tempfile.mkdtemp(prefix="exphone-linkdown-")
    os.chmod(tmp, 0o755)
    certs_mod.SERVER_SAN = certs_mod.SERVER_SAN + f",IP:{PBX}"  # the lab PBX's address in its cert
    lab = VethLab(tmp, prefix=f"ld{os.getpid()}-")
    kam = caller = callee = None
    try:
        lab.up()
        lab.enter("pbx")
        kam = LabKamailio(os.path.join(tmp, "kam"))
        kam.start()
        callee_cfg = config(tmp, "1002", kam.ca_file, f"{tmp}/callee.sock",
                            'auto_answer = true\nauto_answer_from = ["1001"]\n')
        caller_cfg = config(tmp, "1001", kam.ca_file, f"{tmp}/caller.sock")
        hashes = {p: sha(p) for p in (callee_cfg, caller_cfg)}
        callee = Phone(lab, "pbx", callee_cfg, f"{tmp}/callee.sock", "440")
        caller = Phone(lab, "phone", caller_cfg, f"{tmp}/caller.sock", "1000")
        assert kam.wait_registered("1002", 30) and kam.wait_registered("1001", 30), "phones did not register"
        d = subprocess.run([EXPHONE, "ctl", "--socket", caller.ctl, "--json", "dial", "1002"], capture_output=True,
                           text=True, timeout=20)
        assert json.loads(d.stdout).get("ok"), d.stdout + d.stderr
        caller.wait(lambda: (caller.call() or {}).get("secure"), 20, "secure call up")
        call_id = caller.call()["call_id"]
        contact_before = kam.contacts("1001")
        outcome = {}

        def link_down():
            time.sleep(float(os.environ.get('LINKDOWN_AFTER', '2')))
            lab.link(False)
            t_down = time.time()
            print(f"  {lab.link_state()}  |  pbx side: {lab.link_state('pbx', 'vpb')}")
            time.sleep(1)
            m0 = callee.call()["media"]["packets_received"], caller.call()["media"]["packets_received"]
            time.sleep(3)
            m1 = callee.call()["media"]["packets_received"], caller.call()["media"]["packets_received"]
            assert m1 == m0, f"media crossed a link that is down: {m0} -> {m1}"
            caller.wait(lambda: not caller.registered(), DOWN_S, "the dead TLS flow is noticed (keepalive)")
            print(f"  caller unregistered {time.time() - t_down:.1f} s after link down: "
                  + next((l for l in caller.lines if "registering (" in l), "?"))
            while time.time() - t_down < DOWN_S:
                assert caller.proc.poll() is None, "the caller exited while its link was down"
                time.sleep(0.5)
            acc = caller.status()["accounts"][0]
            print(f"  after {DOWN_S} s down: state {acc['state']}, registered {acc['registered']}, error "
                  f"{(acc.get('error') or {}).get('code')}: {(acc.get('error') or {}).get('message', '')[:100]}")
            assert not acc["registered"], acc
            lab.link(True)
            t_up = time.time()
            caller.wait(caller.registered, 40, "registered again after the link came back")
            print(f"  caller registered again {time.time() - t_up:.1f} s after link up")
            assert kam.wait_registered("1001", 10), "no binding for 1001 in Kamailio"
            contact_after = kam.contacts("1001")
            print(f"  binding before: {contact_before}\n  binding after:  {contact_after}")
            c = caller.call()
            if c and c["call_id"] == call_id:
                outcome["how"] = "media resumed"
                p0 = callee.call()["media"]["packets_received"], c["media"]["packets_received"]
                time.sleep(3)
                p1 = callee.call()["media"]["packets_received"], caller.call()["media"]["packets_received"]
                print(f"  media after link up, 3 s: callee +{p1[0] - p0[0]}, caller +{p1[1] - p0[1]} packets")
                assert p1[0] - p0[0] >= 100 and p1[1] - p0[1] >= 100, f"media did not resume: {p0} -> {p1}"
                assert caller.call()["media"]["srtp_auth_failures"] == 0, caller.call()["media"]
            else:
                outcome["how"] = "call ended"
                rep = [json.loads(l.split(" ", 1)[1]) for l in caller.lines if l.startswith("call-report ")]
                assert rep and rep[-1]["ended_by"] == "media-timeout", rep
        r.check(f"the caller's interface down for {DOWN_S} s in a secure call: no crash, the dead flow is found, "
                "the caller registers again when the link is up, the call carries media again", link_down)

        def hang_up():
            if outcome.get("how") == "media resumed":
                h = subprocess.run([EXPHONE, "ctl", "--socket", caller.ctl, "--json", "hangup"], capture_output=True,
                                   text=True, timeout=20)
                assert json.loads(h.stdout).get("ok"), h.stdout
            caller.wait(lambda: not caller.status().get("calls"), 20, "caller idle")
            callee.wait(lambda: not callee.status().get("calls"), 20, "callee idle (the BYE got through)")
            for p, name in ((caller, "caller"), (callee, "callee")):
                rep = [json.loads(l.split(" ", 1)[1]) for l in p.lines if l.startswith("call-report ")]
                rep = [x for x in rep if x["call_id"] == call_id]
                assert rep, p.lines[-20:]
                m = rep[0]["media"]
                print(f"  {name}: ended_by {rep[0]['ended_by']}, {m['packets_received']} packets, lost "
                      f"{m['packets_lost']}, tone ratio {m['heard_tone_ratio']:.2f}, secure {rep[0]['secure']}")
                assert m["srtp"] and m["srtp_auth_failures"] == 0, rep[0]
        r.check("the call hangs up cleanly on both sides afterwards", hang_up)

        def files_and_exit():
            for path, h in hashes.items():
                assert sha(path) == h, f"{path} changed"
            for p in (caller, callee):
                rc = p.stop()
                assert rc == 0, f"exit {rc}:\n" + "\n".join(p.lines[-30:])
                assert not any("Sanitizer" in l or "runtime error" in l for l in p.lines), "\n".join(p.lines[-40:])
            errs = [l for l in caller.lines if "rror" in l or "fail" in l]
            print(f"  caller log: {len(caller.lines)} lines, {len(errs)} with error/fail; last: {errs[-3:]}")
        r.check("config files byte-identical, both phones exit 0 on SIGTERM, no sanitizer report", files_and_exit)
    finally:
        for p in (caller, callee):
            if p and p.proc.poll() is None:
                p.proc.kill()
        if kam is not None:
            kam.close()
        lab.down()
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
