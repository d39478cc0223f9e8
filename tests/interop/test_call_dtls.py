"""DTLS-SRTP calls (RFC 5763/5764) with a real peer: baresip 1.0 with its dtls_srtp module,
registered to Kamailio over TLS, exphone registered to the same Kamailio over TLS.

- exphone (key_exchange "dtls") calls baresip: UDP/TLS/RTP/SAVPF offered, baresip answers, the
  DTLS handshake keys SRTP, exphone's report shows key_exchange dtls, the peer's fingerprint
  verified (and received over TLS), the padlock, and baresip's 440 Hz; baresip's recording has
  exphone's 1 kHz and its log says the DTLS-SRTP handshake completed;
- baresip calls exphone (key_exchange "auto", the default): exphone answers the DTLS offer;
- a man in the middle (Kamailio's TEST ONLY route "tamper-<user>") replaces the a=fingerprint:
  exphone ends the call with dtls-fingerprint-mismatch and never decrypts or plays a packet;
- an SDES-only baresip (mediaenc srtp-mand) calling a key_exchange "dtls" phone gets 488.
"""
import os
import shutil
import tempfile
import time

from lib.kamailio import Kamailio
from lib.runner import Runner
from test_call_pbx import Baresip, Daemon, account, exphone_call


def dtls_account(kam, user, key_exchange, srtp="mandatory"):
    return account(kam, user, srtp).replace("[phone]\n", f'[phone]\nkey_exchange = "{key_exchange}"\n', 1)


def dtls_report(rep, tone_ratio=0.6):
    assert rep.get("answered"), rep
    assert rep["signaling"]["transport"] == "tls" and rep["signaling"]["tls"]["verified"], rep
    m = rep["media"]
    assert m["srtp"] and m["key_exchange"] == "dtls" and m["srtp_auth_failures"] == 0, m
    d = m["dtls"]
    assert d["peer_fingerprint_verified"] and d["fingerprint_over_tls"], m
    assert rep["secure"], rep
    assert m["heard_tone_ratio"] > tone_ratio, f"far-end tone not heard: {m}"


def main():
    r = Runner("DTLS-SRTP calls with baresip through Kamailio (TLS)")
    tmp = tempfile.mkdtemp(prefix="exphone-dtls-")
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam:
            # ---- exphone (1001, dtls) calls baresip (1002, dtls_srtp)
            b = Baresip(tmp, kam, "1002", "dtls_srtp", rtcp_mux=True).start()
            try:
                assert kam.wait_registered("1002", timeout=15), "baresip did not register"
                rc, rep, err = exphone_call(tmp, "c1001", dtls_account(kam, "1001", "dtls"), "1002")
                time.sleep(0.5)
            finally:
                b.stop()

            def out_call():
                assert rc == 0, (rep, err, b.text()[-2000:])
                dtls_report(rep)
                assert rep["media"]["dtls"]["role"] in ("client", "server"), rep
            r.check("exphone (dtls) -> Kamailio/TLS -> baresip dtls_srtp: DTLS-SRTP keyed, fingerprint verified, "
                    "padlock, 440 Hz heard", out_call)

            def baresip_side():
                assert "DTLS-SRTP complete" in b.text() or "dtls_srtp" in b.text(), b.text()[-2000:]
                ratio = b.heard(1000)
                assert ratio > 0.5, f"baresip's recording has {ratio:.2f} of its energy at 1 kHz"
            r.check("baresip completed DTLS-SRTP and decoded exphone's 1 kHz tone", baresip_side)

            # ---- baresip (1002) calls exphone (1001, key_exchange auto = the default)
            kam.kamcmd("ul.rm", "location", "s:1001", check=False)
            with Daemon(tmp, "d1001", account(kam, "1001", "mandatory")) as d:
                assert kam.wait_registered("1001", timeout=15), "exphone did not register"
                a = Baresip(tmp, kam, "1002", "dtls_srtp", role="caller", rtcp_mux=True)
                a.start("-e", f"/dial sip:1001@127.0.0.1:{kam.tls_port}", "-t", "4")
                a.proc.wait(timeout=60)
                a.stop()
                time.sleep(0.5)
            reps = d.reports()

            def in_call():
                assert len(reps) == 1, (d.out, d.err[-3000:], a.text()[-2000:])
                assert reps[0]["direction"] == "incoming", reps[0]
                dtls_report(reps[0])
            r.check("baresip dtls_srtp -> Kamailio/TLS -> exphone (auto): DTLS-SRTP answered, padlock, 440 Hz heard",
                    in_call)

            def in_call_baresip():
                ratio = a.heard(1000)
                assert ratio > 0.5, f"baresip's recording has {ratio:.2f} of its energy at 1 kHz"
            r.check("baresip as caller decoded exphone's 1 kHz tone", in_call_baresip)

            # ---- a man in the middle swaps the fingerprint
            b = Baresip(tmp, kam, "1002", "dtls_srtp", role="mitm", rtcp_mux=True).start()
            try:
                assert kam.wait_registered("1002", timeout=15), "baresip did not register"
                rc, rep, err = exphone_call(tmp, "c1001-mitm", dtls_account(kam, "1001", "dtls"), "tamper-1002")
                time.sleep(0.5)
            finally:
                b.stop()

            def mitm():
                assert "TAMPER" in kam.log_text(), "the test proxy did not tamper"
                e = rep.get("error") or {}
                assert e.get("code") == "dtls-fingerprint-mismatch", (rep, err)
                m = rep["media"]
                assert not m["srtp"] and not m["dtls"]["peer_fingerprint_verified"], m
                assert m["packets_received"] == 0 and m["heard_tone_ratio"] == 0, m  # nothing decrypted or played
                assert not rep["secure"], rep
            r.check("fingerprint replaced by a proxy: the call ends with dtls-fingerprint-mismatch, nothing played",
                    mitm)

            # ---- an SDES-only peer against a dtls-only phone
            kam.kamcmd("ul.rm", "location", "s:1001", check=False)
            with Daemon(tmp, "d1001-dtls", dtls_account(kam, "1001", "dtls")) as d:
                assert kam.wait_registered("1001", timeout=15), "exphone did not register"
                a = Baresip(tmp, kam, "1002", "srtp-mand", role="sdes-caller")
                a.start("-e", f"/dial sip:1001@127.0.0.1:{kam.tls_port}", "-t", "3")
                a.proc.wait(timeout=60)
                a.stop()
            reps = d.reports()

            def sdes_refused():
                assert "488" in a.text(), a.text()[-2000:]
                assert not any(x.get("answered") for x in reps), reps
            r.check("SDES-only baresip -> key_exchange dtls phone: 488, not answered", sdes_refused)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
