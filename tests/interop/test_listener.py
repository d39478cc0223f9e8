"""`exphone run` accepting SIP over TCP and TLS: real peers (SIPp over TCP, openssl s_client over
TLS, with and without a device certificate) get answers, while hostile connections — garbage, a
half message, an idle socket, more connections than allowed — are closed without harming the
others."""
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
HERE = os.path.dirname(os.path.abspath(__file__))


def closed_within(sock, seconds):
    """True when the peer closes the socket within `seconds` (recv returns b'' or a reset)."""
    sock.settimeout(seconds)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def sipp_options(port, tmp):
    p = subprocess.run(["sipp", "-sf", os.path.join(HERE, "sipp", "options_uac.xml"), "-t", "t1", "-i", "127.0.0.1",
                        "-p", str(free_port()), "-m", "1", "-nostdin", "-timeout", "10", f"127.0.0.1:{port}"],
                       cwd=tmp, capture_output=True, text=True, timeout=30)
    return p.returncode


OPTIONS = ("OPTIONS sip:phone@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:9;branch=z9hG4bKtls1\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:phone@127.0.0.1>\r\n"
           "Call-ID: tls-probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


def tls_options(port, ca, cert=None, key=None):
    """OPTIONS over TLS with openssl s_client; returns its stdout (the phone's answer)."""
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", ca, "-verify_return_error",
           "-verify_ip", "127.0.0.1", "-quiet", "-ign_eof"]
    if cert:
        cmd += ["-cert", cert, "-key", key]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(OPTIONS.encode())
    p.stdin.flush()
    out = b""
    deadline = time.monotonic() + 8
    os.set_blocking(p.stdout.fileno(), False)
    while time.monotonic() < deadline and b"\r\n\r\n" not in out:
        try:
            chunk = p.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            out += chunk
        elif p.poll() is not None:
            break
        else:
            time.sleep(0.05)
    p.kill()
    p.wait()
    return out.decode(errors="replace")


def tls_phase(r, tmp):
    pki = os.path.join(tmp, "certs")
    ensure_pki(pki)
    ca = os.path.join(pki, "ca.crt")
    for require in (False, True):
        port = free_port()
        cfg = os.path.join(tmp, f"tls{int(require)}.toml")
        with open(cfg, "w") as f:
            f.write(f'[sip]\ntls_listen = "127.0.0.1:{port}"\n[tls]\nca_files = ["{ca}"]\n'
                    f'client_cert = "{pki}/server.crt"\nclient_key = "{pki}/server.key"\n'
                    f'require_client_cert = {"true" if require else "false"}\n')
        phone = subprocess.Popen([EXPHONE, "run", "--config", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            if not require:
                r.check("TLS listener: s_client verifies the phone and gets 200 OK",
                        lambda: assert_in("SIP/2.0 200 OK", tls_options(port, ca)))
            else:
                r.check("mutual TLS listener: without a device certificate -> no answer",
                        lambda: assert_not_in("SIP/2.0 200", tls_options(port, ca)))
                r.check("mutual TLS listener: with the device certificate -> 200 OK",
                        lambda: assert_in("SIP/2.0 200 OK", tls_options(port, ca, f"{pki}/client1001.crt",
                                                                       f"{pki}/client1001.key")))
        finally:
            phone.terminate()
            phone.wait(timeout=10)


def assert_in(needle, hay):
    assert needle in hay, f"{needle!r} not in {hay!r}"


def assert_not_in(needle, hay):
    assert needle not in hay, f"{needle!r} unexpectedly in {hay!r}"


def main():
    r = Runner("listener interop")
    tmp = tempfile.mkdtemp(prefix="exphone-listen-")
    port = free_port()
    cfg = os.path.join(tmp, "phone.toml")
    with open(cfg, "w") as f:
        f.write(f'[sip]\ntcp_listen = "127.0.0.1:{port}"\nidle_timeout_s = 2\nhalf_message_timeout_s = 1\n'
                'max_connections = 4\n')
    phone = subprocess.Popen([EXPHONE, "run", "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port)
        r.check("SIPp OPTIONS over TCP -> 200 OK", lambda: assert_eq(sipp_options(port, tmp), 0))

        def garbage():
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"\x16\x03\x01 this is not SIP\r\n\r\n")
            assert closed_within(s, 3), "garbage connection left open"
            assert sipp_options(port, tmp) == 0, "a good peer was harmed"
        r.check("garbage -> that connection closed, others unharmed", garbage)

        def half_message():
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"OPTIONS sip:phone@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKx\r\n")
            t0 = time.monotonic()
            assert closed_within(s, 5), "half message held the connection open"
            assert time.monotonic() - t0 < 4, "took too long"
        r.check("half message -> closed after half_message_timeout", half_message)

        def idle():
            s = socket.create_connection(("127.0.0.1", port))
            t0 = time.monotonic()
            assert closed_within(s, 6), "idle connection never closed"
            assert time.monotonic() - t0 >= 1.5, "closed before the idle timeout"
        r.check("idle connection -> closed after idle_timeout", idle)

        def limit():
            socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
            time.sleep(0.2)  # let the phone accept them (not a synchronization of the assertion)
            extra = socket.create_connection(("127.0.0.1", port))
            assert closed_within(extra, 1.5), "connection beyond max_connections accepted"
            for s in socks:
                s.close()
        r.check("connections beyond max_connections are refused", limit)

        def sigterm():
            phone.terminate()
            rc = phone.wait(timeout=10)
            assert rc == 0, rc
        r.check("SIGTERM -> clean exit 0", sigterm)
        tls_phase(r, tmp)
    finally:
        if phone.poll() is None:
            phone.kill()
            phone.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    r.finish()


def assert_eq(a, b):
    assert a == b, f"{a!r} != {b!r}"


if __name__ == "__main__":
    main()
