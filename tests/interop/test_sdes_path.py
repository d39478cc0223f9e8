"""Where does the SDES key travel beyond the first hop? (issue: "Observed with Kamailio 5.6: it
forked an INVITE with a=crypto to a stale UDP contact and put the key on the wire in clear".)

Setup: user 1002 has two bindings at Kamailio — a live exphone registered over TLS (auto-answer)
and a stale one over UDP (an `exphone register --keep` over UDP whose process is gone). exphone
1001 calls 1002 over TLS with SRTP mandatory; exphone dials `sips:1002@localhost` (RFC 5630).
tshark watches every UDP datagram Kamailio sends.

- stock Kamailio (sips_only=False): the INVITE is forked to the UDP contact too, and the capture
  shows the a=crypto line in clear — the leak is real;
- Kamailio with the branch route of docs/calls.md (sips_only=True, our harness default): the UDP
  branch is dropped, no a=crypto on the wire, and the call to the TLS phone still works.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

from lib.kamailio import Kamailio
from lib.runner import Runner

EXPHONE = os.environ["EXPHONE"]


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def account(kam, user, transport):
    scheme = "sips" if transport == "tls" else "sip"
    return (f'[[account]]\nuser = "{user}"\npassword = "secret{user}"\ndomain = "localhost"\n'
            f'registrar = "{scheme}:127.0.0.1:{kam.tls_port if transport == "tls" else kam.sip_port}'
            f'{";transport=udp" if transport == "udp" else ""}"\n[tls]\nca_files = ["{kam.ca_file}"]\n'
            f'[sip]\noutbound = false\n[phone]\nsrtp = "mandatory"\n')


def scenario(tmp, sips_only):
    d = os.path.join(tmp, "sips-only" if sips_only else "stock")
    os.makedirs(d)
    with Kamailio(tmpdir=os.path.join(d, "kam"), sips_only=sips_only) as kam:
        # the stale UDP binding: registered, then the process is gone
        reg = subprocess.run([EXPHONE, "register", "--config", write(f"{d}/stale.toml", account(kam, "1002", "udp")),
                              "--keep", "--json"], capture_output=True, text=True, timeout=60)
        assert reg.returncode == 0, reg.stdout + reg.stderr
        ctl = f"{d}/callee.sock"
        callee_cfg = account(kam, "1002", "tls").replace("[phone]\n", f'[phone]\nauto_answer = true\nauto_answer_from = ["1001"]\ncontrol_socket = "{ctl}"\n')
        callee = subprocess.Popen([EXPHONE, "run", "--config", write(f"{d}/callee.toml", callee_cfg),
                                   "--send-tone", "440", "--expect-tone", "1000"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            registered = False
            while time.monotonic() < deadline and not registered:
                st = subprocess.run([EXPHONE, "ctl", "--socket", ctl, "--json", "status"], capture_output=True,
                                    text=True, timeout=10).stdout
                registered = bool(st.strip()) and json.loads(st)["accounts"][0]["registered"]
                time.sleep(0.1)
            assert registered, "the TLS phone did not register"
            time.sleep(0.5)
            cap_file = f"{d}/udp.pcap"
            cap = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", f"udp src port {kam.sip_port}", "-w", cap_file],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not os.path.exists(cap_file):
                time.sleep(0.05)
            time.sleep(0.5)
            call = subprocess.run([EXPHONE, "call", "--config", write(f"{d}/caller.toml", account(kam, "1001", "tls")),
                                   "1002", "--duration", "1.5", "--json"], capture_output=True, text=True, timeout=90)
            time.sleep(0.5)
            cap.terminate()
            cap.wait(timeout=10)
        finally:
            callee.terminate()
            callee.communicate(timeout=15)
        leaked = subprocess.run(["tshark", "-r", cap_file, "-Y", 'frame contains "a=crypto"', "-T", "fields",
                                 "-e", "frame.number"], capture_output=True, text=True, timeout=60).stdout.split()
        rep = json.loads(call.stdout) if call.stdout.strip() else {}
        return leaked, rep, call.stderr, kam.log_text()


def main():
    r = Runner("SDES keys and the path beyond the first hop")
    tmp = tempfile.mkdtemp(prefix="exphone-sdes-path-")
    try:
        leaked, rep, err, log = scenario(tmp, sips_only=False)

        def stock_leaks():
            assert rep.get("peer", "").startswith("sips:1002@"), (rep, err)  # exphone did its part
            assert leaked, "expected stock Kamailio to fork the sips: INVITE (with a=crypto) to the UDP contact"
        r.check("stock Kamailio forks a sips: INVITE to a stale UDP contact: a=crypto in clear on the wire",
                stock_leaks)

        leaked, rep, err, log = scenario(tmp, sips_only=True)

        def guarded():
            assert not leaked, f"a=crypto on the wire in frames {leaked}"
            assert "SIPS: dropped non-TLS branch" in log, log[-2000:]
            assert rep.get("answered") and rep.get("secure"), [l for l in log.splitlines() if "SIPS" in l or "REQ INVITE" in l]
        r.check("Kamailio with the sips-only branch route: UDP branch dropped, no key on the wire, call secure",
                guarded)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
