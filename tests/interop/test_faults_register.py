"""The PBX killed exactly mid-registration (issue 11): a REGISTER has left and its answer never
comes.

Three `exphone run` phones register to Kamailio with a short interval (Kamailio's min_expires
lowered to 4 s, the phones ask for 10 s: a refresh every 5 s, registration.cpp): 1001 and 1002 over
TLS, 1003 over UDP. Kamailio's whole process group is stopped (SIGSTOP): the kernel still takes
the refreshes into its sockets but nobody reads them. The test waits until every phone's REGISTER
sits unread in Kamailio's socket queues (`ss` Recv-Q: the PBX-side evidence) and, for UDP, until
the capture shows the REGISTER retransmitted without an answer (RFC 3261 17.1.2.2, Timer E); then
SIGKILLs Kamailio with the requests in flight and starts a new one on the same ports 4 s later.

The TLS phones must see their flow die (account unregistered, an error, retrying meanwhile), the
UDP phone's REGISTER transaction must run on into the new Kamailio or time out and be retried; all
three must register again (Kamailio's location table), no phone may crash, a secure call must go
through the new PBX, and all exit 0 on SIGTERM without a sanitizer report.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from lib.kamailio import Kamailio
from lib.runner import Runner
from test_faults import Phone, confirmed_call

EXPHONE = os.environ["EXPHONE"]
MIN_EXPIRES = 4
EXPIRES = 10  # granted as asked: refreshed at half of it (< 32 s, registration.cpp)


class ShortExpiryKamailio(Kamailio):
    """The interop Kamailio with registrar min_expires lowered, so that refreshes come often."""

    def _render(self):
        super()._render()
        cfg = self.cfg_file.read_text()
        anchor = 'modparam("registrar", "max_expires", 3600)\n'
        assert anchor in cfg, "kamailio.cfg.in changed: adapt ShortExpiryKamailio"
        self.cfg_file.write_text(cfg.replace(anchor, anchor + f'modparam("registrar", "min_expires", {MIN_EXPIRES})\n'))


def config(kam, user, ctl, registrar, extra=""):
    # keepalive_interval_s 30: the refreshes (every 5 s) are what must meet the dead PBX, not a ping
    return (f'[[account]]\nuser = "{user}"\npassword = "secret{user}"\ndomain = "localhost"\n'
            f'registrar = "{registrar}"\nexpires = {EXPIRES}\nstartup_jitter_ms = 0\nretry_base_s = 1\n'
            f'retry_max_s = 2\n[tls]\nca_files = ["{kam.ca_file}"]\n[sip]\nkeepalive_interval_s = 30\n'
            f'[phone]\nsrtp = "mandatory"\ncontrol_socket = "{ctl}"\n{extra}')


def recv_queues(proto, port):
    """Bytes queued unread in the sockets bound to 127.0.0.1:port (`ss` Recv-Q), one per socket."""
    out = subprocess.run(["ss", "-Hn", "-t" if proto == "tcp" else "-u", "-a", f"sport = :{port}"],
                         capture_output=True, text=True, timeout=10).stdout
    queues = []
    for line in out.splitlines():
        f = line.split()
        if proto == "tcp" and f[0] != "ESTAB":
            continue
        queues.append(int(f[1]))
    return queues


def main():
    r = Runner("faults: the PBX killed between a REGISTER and its answer")
    tmp = tempfile.mkdtemp(prefix="exphone-faults-reg-")
    phones = []
    cap = None
    try:
        with ShortExpiryKamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            tls = f"sips:127.0.0.1:{kam.tls_port}"
            a = Phone(tmp, "p1001", lambda ctl: config(kam, "1001", ctl, tls, 'auto_answer = true\n'
                                                       'auto_answer_from = ["1002"]\n'), "440")
            b = Phone(tmp, "p1002", lambda ctl: config(kam, "1002", ctl, tls), "1000")
            u = Phone(tmp, "p1003", lambda ctl: config(kam, "1003", ctl, f"sip:127.0.0.1:{kam.udp_port};transport=udp",
                                                       ).replace('srtp = "mandatory"', 'srtp = "optional"'), "1000")
            phones = [a, b, u]
            names = {a: "1001/tls", b: "1002/tls", u: "1003/udp"}

            def registered_first():
                for p, user in ((a, "1001"), (b, "1002"), (u, "1003")):
                    p.wait(p.registered, what=f"{user} registered")
                    assert kam.wait_registered(user, 10), f"{user} not in Kamailio's location table"
                st = a.ctl_json("status")["accounts"][0]
                assert st["expires"] <= EXPIRES, st  # the short interval was granted: refreshes every few s
            r.check("three phones registered with a 10 s interval (1001, 1002 over TLS, 1003 over UDP)",
                    registered_first)

            pcap = os.path.join(tmp, "reg.pcap")
            cap = subprocess.Popen(["tshark", "-q", "-i", "lo", "-a", "duration:60", "-f",
                                    f"udp port {kam.udp_port}", "-w", pcap],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(2)  # tshark is capturing
            times = {}

            def killed_mid_register():
                os.killpg(kam.pid, signal.SIGSTOP)  # every Kamailio process: nothing reads or answers
                times["stop"] = time.time()
                deadline = time.time() + 3 * EXPIRES
                tcp = udp = []
                while time.time() < deadline:
                    tcp, udp = recv_queues("tcp", kam.tls_port), recv_queues("udp", kam.udp_port)
                    # a TLS record with a REGISTER is several hundred bytes (a CRLF ping is ~30)
                    if sum(q > 300 for q in tcp) >= 2 and any(q > 300 for q in udp):
                        break
                    time.sleep(0.2)
                assert sum(q > 300 for q in tcp) >= 2 and any(q > 300 for q in udp), \
                    f"REGISTERs not queued at the stopped PBX: TLS Recv-Q {tcp}, UDP Recv-Q {udp}"
                times["queued"] = time.time()
                time.sleep(2)  # UDP: Timer E retransmissions (0.5 s, 1 s, 2 s ...) pile up too
                tcp, udp = recv_queues("tcp", kam.tls_port), recv_queues("udp", kam.udp_port)
                print(f"  REGISTERs unread at the stopped PBX {times['queued'] - times['stop']:.1f} s after SIGSTOP: "
                      f"TLS Recv-Q {tcp} bytes, UDP Recv-Q {udp} bytes (2 s later)")
                mid = {names[p]: p.ctl_json("status")["accounts"][0] for p in phones}
                print("  while stalled:", {n: (s["state"], s["registered"]) for n, s in mid.items()})
                os.killpg(kam.pid, signal.SIGKILL)  # the PBX dies with the REGISTERs unanswered
                kam.proc.wait(timeout=10)
                times["kill"] = time.time()
                for p in (a, b):
                    st = p.wait(lambda s: not p.registered(s), timeout=10, what=f"{names[p]} sees its flow die")
                    acc = st["accounts"][0]
                    assert acc["state"] == "registering" and acc.get("error"), acc
                    print(f"  {names[p]}: unregistered {time.time() - times['kill']:.1f} s after the kill, state "
                          f"{acc['state']}, error {acc['error']['code']}")
                while time.time() < times["kill"] + 4:
                    for p in phones:
                        assert p.proc.poll() is None, f"{names[p]} exited {p.proc.returncode}"
                    time.sleep(0.2)
                gone = {names[p]: p.ctl_json("status")["accounts"][0] for p in phones}
                print("  4 s without a PBX:", {n: (s["state"], s["registered"], (s.get("error") or {}).get("code"))
                                               for n, s in gone.items()})
                for p in (a, b):
                    s = gone[names[p]]
                    assert not s["registered"] and s["state"] == "registering", s
                # UDP: no flow to lose. Its refresh left >= 6 s ago, at half of the 10 s binding, which
                # has ended at the PBX; Timer F (32 s) has not fired: RFC 3261 10.2.4, docs/resilience.md
                s = gone[names[u]]
                assert not s["registered"] and s["state"] == "registering" and \
                    (s.get("error") or {}).get("code") == "registration-expired", s
                kam.stop()
                times["restart"] = time.time()
                kam.start()  # same ports, empty location table
                times["up"] = time.time()
                for p, user in ((a, "1001"), (b, "1002"), (u, "1003")):
                    p.wait(p.registered, timeout=40, what=f"{user} registered again")
                    assert kam.wait_registered(user, 10), f"{user} not in the new Kamailio's location table"
                    print(f"  {names[p]} registered again {time.time() - times['up']:.1f} s after the PBX was back "
                          f"({time.time() - times['kill']:.1f} s after the kill)")
            r.check("Kamailio SIGSTOPped with every refresh unread, SIGKILLed, back 4 s later: the TLS phones see "
                    "the flow die and retry, all three register again, none crashes", killed_mid_register)

            def udp_capture():
                time.sleep(1)
                cap.send_signal(signal.SIGINT)
                cap.wait(timeout=20)
                rows = subprocess.run(["tshark", "-r", pcap, "-Y", "sip", "-T", "fields", "-e", "frame.time_epoch",
                                       "-e", "udp.dstport", "-e", "sip.CSeq", "-e", "sip.Status-Code",
                                       "-E", "separator=|"], capture_output=True, text=True, timeout=60).stdout
                reqs, answers = {}, {}
                for row in rows.splitlines():
                    t, dport, cseq, status = row.split("|")
                    if not cseq.endswith("REGISTER"):
                        continue
                    if int(dport) == kam.udp_port and not status:
                        reqs.setdefault(cseq, []).append(float(t))
                    elif status:
                        answers.setdefault(cseq, []).append(float(t))
                stalled = {c: ts for c, ts in reqs.items() if times["stop"] <= ts[0] < times["kill"]}
                assert stalled, f"no REGISTER captured while the PBX was stopped: {reqs}"
                for c, ts in stalled.items():
                    before_up = [x for x in ts if x < times["restart"]]
                    unanswered = [x for x in answers.get(c, []) if x < times["restart"]]
                    print(f"  UDP REGISTER '{c}': sent {len(before_up)} times before the PBX was back "
                          f"(at +{', +'.join(f'{x - ts[0]:.1f}' for x in ts[:8])} s), "
                          f"{len(answers.get(c, []))} answers, first "
                          f"{(min(answers[c]) - times['restart']) if c in answers else float('nan'):.1f} s after the restart began")
                    assert not unanswered, f"'{c}' answered while the PBX was stopped or dead"
                    assert c in answers, f"'{c}' never answered: the retransmissions did not reach the new PBX"
                    assert len(before_up) >= 3, f"'{c}' not retransmitted (Timer E): {ts}"
            r.check("UDP: the REGISTER left during the stall and was retransmitted, unanswered, until the PBX was "
                    "back (capture)", udp_capture)

            def call_after():
                d = b.ctl_json("dial", "1001")
                assert d.get("ok"), d
                c = confirmed_call(b.wait(lambda s: confirmed_call(s) and confirmed_call(s)["secure"], timeout=20,
                                          what="a secure call through the new PBX"))
                time.sleep(1.5)
                m = confirmed_call(b.ctl_json("status"))["media"]
                assert m["packets_received"] > 0 and m["srtp"], m
                b.ctl_json("hangup")
                a.wait(lambda s: not s["calls"], timeout=15, what="callee idle after the BYE")
                rep = [x for x in b.reports() if x["call_id"] == c["call_id"]][0]
                assert rep["secure"] and rep["media"]["heard_tone_ratio"] > 0.5, rep
            r.check("a secure call 1002 -> 1001 through the restarted PBX", call_after)

            def clean_exit():
                for p in phones:
                    rc = p.stop()
                    assert rc == 0, f"{names[p]} exit {rc}:\n" + "\n".join(p.lines[-30:])
                    assert not any("Sanitizer" in l or "runtime error" in l for l in p.lines), "\n".join(p.lines[-40:])
            r.check("the three phones exit 0 on SIGTERM, no sanitizer report", clean_exit)
    finally:
        if cap and cap.poll() is None:
            cap.kill()
        for p in phones:
            if p.proc.poll() is None:
                p.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
