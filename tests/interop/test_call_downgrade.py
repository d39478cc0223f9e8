"""Downgrade attempts by a man in the middle (Kamailio's TEST ONLY route "downgrade-<user>"), both
phones registered over TLS with srtp = "mandatory" and SDES keys:

- the proxy strips SRTP from the offer (a=crypto removed, RTP/SAVP rewritten to RTP/AVP): the
  callee refuses the INVITE with 488 and never sends or plays a packet; the caller's call fails
  with 488;
- the proxy strips SRTP from the answer only: the caller refuses it (srtp-* error), sends BYE at
  once and never plays the peer's media in clear; no report claims a secure call;
- without the man in the middle the same two phones make a secure call (the control).
TLS version downgrade: a server offering only TLS 1.1 is refused (test_register), and a MITM
cannot lower the version of a TLS 1.2/1.3 handshake without breaking its Finished MAC (RFC 8446
section 4.1.3 downgrade sentinel), which OpenSSL checks.
"""
import os
import shutil
import tempfile
import time

from lib.kamailio import Kamailio
from lib.runner import Runner
from test_call_pbx import Daemon, account, exphone_call


def sdes_account(kam, user):
    return account(kam, user, "mandatory").replace("[phone]\n", '[phone]\nkey_exchange = "sdes"\n', 1)


def main():
    r = Runner("SRTP downgrade by a man in the middle (mandatory SRTP)")
    tmp = tempfile.mkdtemp(prefix="exphone-downgrade-")
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            with Daemon(tmp, "d1001", sdes_account(kam, "1001"), send_tone="440", expect_tone="1000") as d:
                assert kam.wait_registered("1001", timeout=15), "exphone 1001 did not register"
                offer = exphone_call(tmp, "c-offer", sdes_account(kam, "1002"), "downgrade-1001")
                answer = exphone_call(tmp, "c-answer", sdes_account(kam, "1002"), "downgrade-answer-1001")
                control = exphone_call(tmp, "c-control", sdes_account(kam, "1002"), "1001")
                time.sleep(0.5)
            reps = d.reports()
            log = kam.log_text()

            def offer_stripped():
                rc, rep, err = offer
                assert "DOWNGRADE: SRTP stripped from INVITE" in log, log[-2000:]
                assert rc != 0 and not rep.get("answered"), (rep, err)
                assert rep.get("final_status") == 488, rep
                assert not rep.get("secure"), rep
                incoming = [x for x in reps if x.get("call_id") == rep.get("call_id")]
                assert all(not x.get("answered") and x["media"]["packets_received"] == 0 for x in incoming), incoming
            r.check("offer stripped to RTP/AVP without a=crypto: the callee answers 488, the call fails", offer_stripped)

            def answer_stripped():
                rc, rep, err = answer
                assert "DOWNGRADE: SRTP stripped from reply" in log, log[-2000:]
                assert rc != 0, (rep, err)
                assert not rep.get("secure") and not rep["media"]["srtp"], rep
                assert (rep.get("error") or {}).get("code", "").startswith("srtp-"), rep
                assert rep["media"]["packets_received"] == 0 and rep["media"]["heard_tone_ratio"] == 0, rep["media"]
                print("  caller:", rep["error"])
            r.check("answer stripped: the caller refuses it with an srtp-* error, hangs up, plays nothing",
                    answer_stripped)

            def control_call():
                rc, rep, err = control
                assert rc == 0 and rep.get("secure") and rep["media"]["srtp"], (rep, err)
                assert rep["media"]["heard_tone_ratio"] > 0.6, rep["media"]
            r.check("the same phones without the man in the middle: a secure call, tone heard", control_call)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
