"""Media attacks on a call keyed by DTLS-SRTP (RFC 5763/5764), with the attacker on the wire:

two `exphone run` phones registered to Kamailio over TLS, key_exchange "dtls", SRTP mandatory. While
the call runs, tshark captures a second of the caller's SRTP towards the callee; the test then
sends the callee's media port (lib/media_attack.py, as test_call_attack.py does for SDES) replayed
and bit-flipped packets, packets of the stream without its key, plain RTP and plain RTCP BYEs for
the caller's SSRC; then, after the DTLS handshake, a forged ClientHello and garbage DTLS records
(random application data, handshake and alert records under the current epoch, a plaintext fatal
alert and ChangeCipherSpec under epoch 0, a truncated header), once from a stranger's port and
once with the caller's own media address forged as the source (raw socket).

RFC 3711 3.3 (replay list, authentication), RFC 6347 4.1.2.7 (invalid DTLS records are silently
discarded) and RFC 5764 4.1: all must be dropped and counted, the BYE not taken, the padlock kept
and the audio heard on both sides.
"""
import os
import shutil
import tempfile
import time

from lib.kamailio import Kamailio
from lib.media_attack import Attack, capture_srtp, client_hello, garbage_records, spoofed_udp
from lib.runner import Runner
from test_faults import Phone, account, confirmed_call

DTLS = 'key_exchange = "dtls"\n'


def dtls_call(s):
    c = confirmed_call(s)
    return c if c and c["media"]["srtp"] and c["media"]["key_exchange"] == "dtls" else None


def secure_dtls(s):
    c = confirmed_call(s)
    return c if c and c["secure"] and c["media"]["srtp"] and c["media"]["key_exchange"] == "dtls" else None


def main():
    r = Runner("media attacks on a DTLS-SRTP call")
    tmp = tempfile.mkdtemp(prefix="exphone-attack-dtls-")
    a = b = None
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            a = Phone(tmp, "p1001", lambda ctl: account(kam, "1001", ctl, DTLS + 'auto_answer = true\n'
                                                        'auto_answer_from = ["1002"]\n'), "440")
            b = Phone(tmp, "p1002", lambda ctl: account(kam, "1002", ctl, DTLS), "1000")
            a.wait(a.registered, what="1001 registered")
            b.wait(b.registered, what="1002 registered")
            d = b.ctl_json("dial", "1001")
            assert d.get("ok"), d
            b.wait(secure_dtls, what="caller: DTLS-SRTP call up")
            call = secure_dtls(a.wait(secure_dtls, what="callee: DTLS-SRTP call up"))
            m0 = call["media"]
            rtp_port = int(m0["local_rtp"].rsplit(":", 1)[1])
            rhost, rport = m0["remote_rtp"].rsplit(":", 1)
            packets = capture_srtp(tmp, rtp_port)
            print("  callee media", m0["local_rtp"], "<-", m0["remote_rtp"], len(packets), "packets captured")
            sent, dtls_sent = {}, 0

            def dtls_attacks():
                nonlocal dtls_sent
                before = secure_dtls(a.ctl_json("status"))["media"]
                records = [client_hello()] * 3 + garbage_records()
                attack = Attack(rtp_port)
                for rec in records:  # from a stranger's port
                    attack.send(rec)
                    dtls_sent += 1
                attack.close()
                for rec in records:  # as if from the caller's own media address (RFC 5764: the 5-tuple)
                    spoofed_udp((rhost, int(rport)), ("127.0.0.1", rtp_port), rec)
                    dtls_sent += 1
                time.sleep(1)
                st = a.ctl_json("status")
                c = secure_dtls(st)
                assert c and c["call_id"] == call["call_id"], f"the call or its padlock did not survive: {st}"
                m = c["media"]
                assert m["dtls"]["peer_fingerprint_verified"], m
                print(f"  DTLS attack: {dtls_sent} records -> dtls_discarded +"
                      f"{m['dtls'].get('discarded', 0) - before['dtls'].get('discarded', 0)}")
                assert m["dtls"]["discarded"] - before["dtls"]["discarded"] >= dtls_sent, m
                p0 = m["packets_received"]
                time.sleep(3)
                m = secure_dtls(a.ctl_json("status"))["media"]
                assert m["packets_received"] - p0 >= 100, f"media stopped after the DTLS records: {p0} -> {m}"
                assert m["srtp_auth_failures"] == before["srtp_auth_failures"], \
                    f"the SRTP keys changed under the call: {before} -> {m}"
            r.check("a forged ClientHello and garbage DTLS records after the handshake (from a stranger and with the "
                    "peer's address forged): discarded and counted, call and padlock stay, SRTP goes on", dtls_attacks)

            def srtp_attacks():
                assert len(packets) >= 10, f"captured {len(packets)} SRTP packets"
                before = dtls_call(a.ctl_json("status"))["media"]
                attack = Attack(rtp_port)
                # the BYEs go to the RTP port: with rtcp-mux (RFC 5761) it is also the RTCP port
                sent.update(attack.all(packets, bye_ports=(rtp_port, rtp_port)))
                attack.close()
                time.sleep(1)
                st = a.ctl_json("status")
                c = dtls_call(st)
                assert c and c["call_id"] == call["call_id"], f"the call did not survive: {st}"
                m = c["media"]
                delta = {k: m[k] - before[k] for k in ("replays_dropped", "srtp_auth_failures", "srtcp_auth_failures",
                                                       "rtcp_malformed", "malformed")}
                print("  SRTP attack:", sent, "-> counters +", delta)
                assert delta["replays_dropped"] >= sent["replays"], delta
                assert delta["srtp_auth_failures"] >= sent["forgeries"] + sent["keyless"] + sent["plain"], delta
                assert delta["srtcp_auth_failures"] + delta["rtcp_malformed"] + delta["malformed"] >= sent["byes"], delta
                assert m["remote_bye"] is False, f"a spoofed RTCP BYE was taken: {m}"
                # docs/calls.md: dropped forgeries are counted, they do not take the padlock away
                assert c["secure"] is True, f"the SRTP attack took the padlock away: {c}"
                print(f"  padlock after the SRTP attack: secure = {c['secure']}")
                p0 = m["packets_received"]
                time.sleep(2)
                m = dtls_call(a.ctl_json("status"))["media"]
                assert m["packets_received"] - p0 >= 60, f"media stopped after the attack: {p0} -> {m}"
            r.check("10 replayed, 10 bit-flipped, 10 keyless SRTP, 10 plain RTP and 10 plain RTCP BYE packets on a "
                    "DTLS-SRTP call: all dropped and counted, the BYE not taken", srtp_attacks)

            def call_goes_on():
                h = b.ctl_json("hangup")
                assert h.get("ok"), h
                for p in (a, b):
                    p.wait(lambda s: not s["calls"], timeout=15, what="idle after hangup")
                for p, name in ((a, "callee"), (b, "caller")):
                    rep = [x for x in p.reports() if x["call_id"] == call["call_id"]]
                    assert rep, p.lines[-20:]
                    rep = rep[0]
                    m = rep["media"]
                    assert m["srtp"] and m["key_exchange"] == "dtls" and m["dtls"]["peer_fingerprint_verified"], rep
                    assert rep["secure"], rep  # attacked or not, the padlock stayed
                    if name == "caller":  # not attacked
                        assert m["srtp_auth_failures"] == 0, rep
                    assert rep["media"]["heard_tone_ratio"] > 0.8, f"{name}: the audio did not survive: {rep['media']}"
                    print(f"  {name}: {m['packets_received']} packets, tone ratio {m['heard_tone_ratio']:.2f}, "
                          f"ended_by {rep['ended_by']}, secure {rep['secure']}, dtls.discarded {m['dtls']['discarded']}")
            r.check("both sides heard the far end's tone throughout, the call ended by the caller's hangup",
                    call_goes_on)

            def clean_exit():
                for p in (a, b):
                    rc = p.stop()
                    assert rc == 0, f"exit {rc}:\n" + "\n".join(p.lines[-30:])
                    assert not any("Sanitizer" in l or "runtime error" in l for l in p.lines), "\n".join(p.lines[-40:])
            r.check("both phones exit 0 on SIGTERM, no sanitizer report", clean_exit)
    finally:
        for p in (a, b):
            if p and p.proc.poll() is None:
                p.proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
