"""exphone calls exphone: mutual TLS + SDES-SRTP with tones verified in the recordings (Goertzel
in the report), an unauthorized caller refused with 403, SRTP-mandatory refusing a call that
cannot be keyed (488), and a capture (tshark) of the TLS call showing no cleartext SIP and no
RTP that decodes to the test tone."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

from lib.certs import ensure_pki
from lib.ports import free_port, wait_port
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


class Callee:
    def __init__(self, tmp, name, body):
        self.path = os.path.join(tmp, name + ".toml")
        self.ctl = os.path.join(tmp, name + ".sock")
        if "[phone]\n" not in body:
            body += "[phone]\n"
        body = body.replace("[phone]\n", f'[phone]\ncontrol_socket = "{self.ctl}"\n', 1)
        with open(self.path, "w") as f:
            f.write(body)
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen([EXPHONE, "run", "--config", self.path], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        out, err = self.proc.communicate(timeout=10)
        self.out, self.err = out, err
        return False

    def reports(self):
        return [json.loads(l.split(" ", 1)[1]) for l in self.out.splitlines() if l.startswith("call-report ")]


def call(tmp, name, body, target, duration="1.5"):
    path = os.path.join(tmp, name + ".toml")
    with open(path, "w") as f:
        f.write(body)
    p = subprocess.run([EXPHONE, "call", "--config", path, target, "--duration", duration, "--json"],
                       capture_output=True, text=True, timeout=90)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), p.stderr


def main():
    r = Runner("call interop")
    tmp = tempfile.mkdtemp(prefix="exphone-call-")
    pki = os.path.join(tmp, "certs")
    ensure_pki(pki)
    ca = f"{pki}/ca.crt"
    try:
        tls_port = free_port()
        callee_tls = (f'[sip]\ntls_listen = "127.0.0.1:{tls_port}"\n[tls]\nca_files = ["{ca}"]\n'
                      f'client_cert = "{pki}/server.crt"\nclient_key = "{pki}/server.key"\nrequire_client_cert = true\n'
                      '[phone]\nsrtp = "mandatory"\nauto_answer = true\nauto_answer_from = ["1001"]\n')
        caller_tls = (f'[tls]\nca_files = ["{ca}"]\nclient_cert = "{pki}/client1001.crt"\n'
                      f'client_key = "{pki}/client1001.key"\n[phone]\nsrtp = "mandatory"\nuser = "1001"\n')
        with Callee(tmp, "callee-tls", callee_tls) as callee:
            wait_port(tls_port)
            cap_file = os.path.join(tmp, "call.pcap")
            cap = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", "udp or tcp port %d" % tls_port, "-w", cap_file],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            # tshark announces the capture on stderr once it is running
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not os.path.exists(cap_file):
                time.sleep(0.05)
            rc, rep, err = call(tmp, "caller-tls", caller_tls, f"sips:phone@127.0.0.1:{tls_port}")
            time.sleep(0.3)  # let the last packets reach the capture file
            cap.terminate()
            cap.wait(timeout=10)

            def secure_call():
                assert rc == 0, err
                assert rep["answered"] and rep["secure"], rep
                assert rep["signaling"]["transport"] == "tls" and rep["signaling"]["tls"]["verified"], rep
                m = rep["media"]
                assert m["srtp"] and m["key_exchange"] == "sdes" and m["suite"], m
                assert m["packets_received"] >= 40 and m["srtp_auth_failures"] == 0, m
                assert m["heard_tone_ratio"] > 0.8, f"the callee's 440 Hz tone was not heard: {m}"
                assert rep["time_to_ring_ms"] >= 0, rep
            r.check("mTLS + SDES-SRTP call, caller hears the callee's tone, padlock on", secure_call)
        reports = callee.reports()

        def callee_side():
            assert len(reports) == 1, callee.out
            cr = reports[0]
            assert cr["secure"] and cr["media"]["heard_tone_ratio"] > 0.8, cr
            assert cr["signaling"]["tls"]["verified"], cr  # the caller's device certificate
        r.check("callee hears the caller's 1 kHz tone, verified the caller's certificate", callee_side)

        def capture_is_dark():
            sip = subprocess.run(["tshark", "-r", cap_file, "-Y", "sip", "-T", "fields", "-e", "frame.number"],
                                 capture_output=True, text=True, timeout=60).stdout.strip()
            assert sip == "", f"cleartext SIP in the capture: frames {sip}"
            rtp_payloads = subprocess.run(["tshark", "-r", cap_file, "-d", "udp.port==1-65535,rtp", "-Y", "rtp",
                                           "-T", "fields", "-e", "rtp.payload"],
                                          capture_output=True, text=True, timeout=60).stdout.split()
            assert len(rtp_payloads) > 40, "no media captured"
            # a G.711 1 kHz / 440 Hz tone in clear would repeat every 8 / ~18 samples; encrypted
            # payloads have no such structure: count distinct byte values in one payload
            sample = bytes.fromhex(rtp_payloads[len(rtp_payloads) // 2].replace(":", ""))
            assert len(set(sample)) > 100, f"payload looks like clear G.711 ({len(set(sample))} distinct bytes)"
        r.check("capture: no cleartext SIP, RTP payload is ciphertext", capture_is_dark)

        v6_port = free_port(host="::1")
        callee_v6 = callee_tls.replace(f'tls_listen = "127.0.0.1:{tls_port}"', f'tls_listen = "[::1]:{v6_port}"')
        with Callee(tmp, "callee-v6", callee_v6):
            wait_port(v6_port, host="::1")

            def ipv6_call():
                rc, rep, err = call(tmp, "caller-v6", caller_tls, f"sips:phone@[::1]:{v6_port}", duration="1")
                assert rc == 0 and rep["secure"], (rep, err)
                assert rep["media"]["heard_tone_ratio"] > 0.8, rep
            r.check("the same secure call over IPv6 (::1): TLS to an IPv6 literal, c=IN IP6", ipv6_call)

        tcp_port = free_port()
        callee_tcp = (f'[sip]\ntcp_listen = "127.0.0.1:{tcp_port}"\n[phone]\nsrtp = "mandatory"\nauto_answer = true\n'
                      'auto_answer_unauthenticated = true\n'
                      'allow_peers = ["127.0.0.2"]\n')
        with Callee(tmp, "callee-tcp", callee_tcp):
            wait_port(tcp_port)

            def forbidden():
                rc, rep, err = call(tmp, "caller-tcp", '[phone]\nsrtp = "optional"\n',
                                    f"sip:phone@127.0.0.1:{tcp_port};transport=tcp")
                assert rc != 0 and rep.get("final_status") == 403, (rep, err)
            r.check("caller not on the allow list, no mTLS -> 403", forbidden)

        tcp_port = free_port()
        callee_tcp = (f'[sip]\ntcp_listen = "127.0.0.1:{tcp_port}"\n[phone]\nsrtp = "mandatory"\nauto_answer = true\n'
                      'auto_answer_unauthenticated = true\n'
                      'allow_peers = ["127.0.0.1"]\n')
        with Callee(tmp, "callee-tcp2", callee_tcp) as c2:
            wait_port(tcp_port)

            def not_acceptable():
                # over TCP the caller offers no SDES key (never in clear), so a mandatory callee refuses
                rc, rep, err = call(tmp, "caller-tcp2", '[phone]\nsrtp = "optional"\n',
                                    f"sip:phone@127.0.0.1:{tcp_port};transport=tcp")
                assert rc != 0 and rep.get("final_status") == 488, (rep, err)
                assert rep["media"]["packets_sent"] == 0, rep
            r.check("SRTP mandatory callee, caller cannot key over TCP -> 488, no RTP sent", not_acceptable)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
