"""SIPVicious (Debian `sipvicious` 0.3.3) against a running phone (docs/robustness.md).

The victim is `exphone run` as 1001, registered to Kamailio over verified TLS and in a secure
call from 1002 (exphone, SRTP mandatory) while the scanner works on its UDP port: `svmap`
(fingerprint), `svwar` (extension enumeration with REGISTER, INVITE and OPTIONS) and `svcrack`
(digest password guessing). The phone must stay registered and in its call, answer `ctl status`,
give a scanner the same answer for every user (existing or not), and survive under ASan.

exphone's UAS never challenges: a request that is not from the registrar's flow, a verified
mutual-TLS client or `allow_peers` gets 403 without a WWW-Authenticate, so svcrack finds no
challenge to crack (checked below, not assumed). Tools always run with `-b/-x 127.0.0.1` and
`-P` (see the NOTES on this machine's version); never `-R`/`-A`.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from lib.kamailio import Kamailio
from lib.ports import free_port
from lib.runner import Runner
from lib.victim import Victim, call_from, finish_call, secure_answered, sip_request, udp_ask, wait_confirmed

SANITIZED = os.environ.get("EXPHONE_SANITIZED", "0") in ("1", "ON", "true", "TRUE")
LOOP = ["-b", "127.0.0.1", "-x", "127.0.0.1"]


def tool(args, tmp, timeout=60):
    p = subprocess.run(args, cwd=tmp, capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "HOME": tmp})  # sipvicious keeps its sessions in ~/.sipvicious
    return p.returncode, p.stdout + p.stderr


def shape(resp):
    """What a scanner can tell apart: status line and the set of header names (values carry tags
    and branches, which differ per request anyway)."""
    if resp is None:
        return None
    head = resp.split("\r\n\r\n", 1)[0].split("\r\n")
    names = sorted({h.split(":", 1)[0].strip().lower() for h in head[1:] if ":" in h})
    return head[0], tuple(names)


def main():
    r = Runner("sipvicious against a registered phone in a call")
    tmp = tempfile.mkdtemp(prefix="exphone-scan-")
    results = {}
    try:
        with Kamailio(tmpdir=os.path.join(tmp, "kam")) as kam, Victim(tmp, kam) as v:
            caller = call_from(tmp, kam, "1002", duration=30)
            assert wait_confirmed(v), "the call from 1002 did not come up"
            rss0, fds0 = v.rss_kib(), v.fds()
            t_start = time.monotonic()

            # -- svmap: what the phone tells a scanner about itself ------------------------
            rc, out = tool(["svmap", *LOOP, "-P", str(free_port()), f"-p{v.udp_port}", "127.0.0.1"], tmp)
            results["svmap"] = out

            def svmap_sees():
                row = [l for l in out.splitlines() if f"127.0.0.1:{v.udp_port}" in l]
                assert row, f"svmap did not find the phone (the scan did not run?): {out}"
                print("svmap:", row[0].strip())
            r.check("svmap finds the phone's UDP port (the scan reached it)", svmap_sees)

            # -- svwar: extension enumeration ---------------------------------------------
            for method in ("REGISTER", "INVITE", "OPTIONS"):
                rc, out = tool(["svwar", *LOOP, "-P", str(free_port()), f"-p{v.udp_port}", "-m", method,
                                "-e1000-1010", "--force", "-vv", "127.0.0.1"], tmp, timeout=90)
                results[f"svwar {method}"] = out

                def nothing_found(out=out, method=method):
                    # svwar first asks for a random user to learn the "bad user" answer, then calls an
                    # extension found when its answer differs: the scan must have reached the phone
                    bad = re.search(r"Bad user = (.*)", out)
                    assert bad and "Ok SIP device found" in out, f"svwar did not reach the phone: {out[-2000:]}"
                    sent = len(re.findall(r"sending request for \d+", out))
                    # svwar 0.3.3 stops early when the method gets 405 (REGISTER) or at the first answer
                    # it calls "unknown" (a 403 to INVITE); the differential probe below asks every user
                    want = 11 if method == "OPTIONS" else 1
                    assert sent >= want, f"svwar asked for {sent} of 11 extensions: {out[-2000:]}"
                    assert "found nothing" in out, out[-2000:]
                    # a found extension is a table row "| 1001 | reqauth |"
                    rows = re.findall(r"^\|\s*(\d+)\s*\|\s*(\S+)", out, re.M)
                    assert not rows, rows
                    print(f"svwar -m {method} --force: answer to a random user {bad.group(1).strip()!r}; "
                          f"{sent} extensions asked; found nothing")
                r.check(f"svwar -m {method} 1000-1010: the registered user 1001 does not stand out", nothing_found)

            # -- our own differential probe: every user gets the same answer ---------------
            def same_answers():
                for method in ("REGISTER", "INVITE", "OPTIONS", "MESSAGE", "SUBSCRIBE", "BYE"):
                    seen = {}
                    for user in ("1001", "exphone", "1002", "nosuchuser9"):
                        resp = udp_ask(v.udp_port, sip_request(method, user, "127.0.0.1", v.udp_port))
                        seen[user] = shape(resp)
                    assert all(s is not None for s in seen.values()), (method, seen)
                    assert len(set(seen.values())) == 1, (method, seen)
                    print(f"{method}: every user -> {seen['1001'][0]}")
                    assert "www-authenticate" not in seen["1001"][1], seen  # no challenge to crack
            r.check("REGISTER/INVITE/OPTIONS/MESSAGE/SUBSCRIBE/BYE: the same status and headers for every user",
                    same_answers)

            # -- svcrack: nothing to crack -------------------------------------------------
            rc, out = tool(["svcrack", *LOOP, "-P", str(free_port()), f"-p{v.udp_port}", "-u", "1001",
                            "-r", "1-300", "-vv", "127.0.0.1"], tmp, timeout=90)
            results["svcrack"] = out

            def nothing_cracked():
                assert not re.search(r"^\|\s*1001\s*\|", out, re.M), out
                assert re.search(r"SIP/2.0 (403|405) ", out), f"svcrack got no answer: {out[-2000:]}"
                assert "found nothing" in out, out[-2000:]
                assert "WWW-Authenticate" not in out and "Proxy-Authenticate" not in out, out[-2000:]
                print("svcrack:", " / ".join(l.strip() for l in out.splitlines() if l.strip())[-300:])
            r.check("svcrack -u 1001 -r 1-300: no password found (the UAS never challenges)", nothing_cracked)
            scan_s = time.monotonic() - t_start

            def still_fine():
                assert v.alive(), "the phone died"
                st = v.status()
                assert v.registered(st), st["accounts"]
                assert v.confirmed_calls(st), st["calls"]
                assert st["_answered_in_ms"] < 3000, st["_answered_in_ms"]
                rss1, fds1 = v.rss_kib(), v.fds()
                print(f"after {scan_s:.1f} s of scanning: VmRSS {rss0} -> {rss1} KiB, fds {fds0} -> {fds1}, "
                      f"ctl status in {st['_answered_in_ms']} ms")
                assert fds1 <= fds0 + 2, (fds0, fds1)
                assert rss1 - rss0 < (64 if SANITIZED else 16) * 1024, (rss0, rss1)
            r.check("after the scans: registered, call confirmed, ctl status answers, fds and RSS flat", still_fine)

            rep, err = finish_call(caller)

            def call_survived():
                secure_answered(rep)
                assert rep["media"]["heard_tone_ratio"] > 0.8, rep["media"]
                assert rep["duration_ms"] >= 29000 if "duration_ms" in rep else True, rep
            r.check("the call from 1002 lasted its 30 s, secure, the phone's tone heard throughout", call_survived)

        def clean_exit():
            assert v.proc.returncode == 0, (v.proc.returncode, v.err[-3000:])
            assert "AddressSanitizer" not in v.err and "runtime error" not in v.err, v.err[-3000:]
            reps = v.reports()
            assert len(reps) == 1 and reps[0]["answered"] and reps[0]["secure"], v.out[-2000:]
            assert reps[0]["media"]["heard_tone_ratio"] > 0.8, reps[0]["media"]
        r.check("SIGTERM: clean exit 0, no sanitizer report, exactly one (secure) call in the phone's log",
                clean_exit)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


if __name__ == "__main__":
    main()
