"""Minimal stdlib SIP REGISTER client with digest auth (MD5 / SHA-256, qop=auth), UDP or TLS.

Only for checking the harness itself (e.g. that Kamailio's SHA-256 digest works); exphone is the
client under test everywhere else. No retransmissions beyond a simple resend on UDP timeout.
"""
from __future__ import annotations

import hashlib
import os
import re
import socket
import ssl

__all__ = ["register", "parse_challenge", "RegisterResult"]

_H = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


class RegisterResult:
    def __init__(self, status, challenges, responses):
        self.status = status              # final status code (int), or None on timeout
        self.challenges = challenges      # list of WWW-Authenticate values seen
        self.responses = responses        # list of status lines

    def __repr__(self):
        return "RegisterResult(status=%s, challenges=%s)" % (self.status, self.challenges)


def parse_challenge(value: str) -> dict:
    scheme, _, rest = value.strip().partition(" ")
    params = {"scheme": scheme}
    for m in re.finditer(r'(\w+)\s*=\s*("([^"]*)"|[^,\s]+)', rest):
        params[m.group(1).lower()] = m.group(3) if m.group(3) is not None else m.group(2)
    return params


def _authorization(ch, user, password, method, uri, algorithm=None):
    alg = algorithm or ch.get("algorithm", "MD5")
    h = lambda s: _H[alg](s.encode()).hexdigest()  # noqa: E731
    ha1 = h(f"{user}:{ch['realm']}:{password}")
    ha2 = h(f"{method}:{uri}")
    parts = [f'username="{user}"', f'realm="{ch["realm"]}"', f'nonce="{ch["nonce"]}"',
             f'uri="{uri}"']
    if "auth" in [q.strip() for q in ch.get("qop", "").split(",")]:
        nc, cnonce = "00000001", os.urandom(8).hex()
        resp = h(f"{ha1}:{ch['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        parts += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        resp = h(f"{ha1}:{ch['nonce']}:{ha2}")
    parts.append(f'response="{resp}"')
    if "algorithm" in ch or algorithm:
        parts.append(f"algorithm={alg}")
    if "opaque" in ch:
        parts.append(f'opaque="{ch["opaque"]}"')
    return "Digest " + ", ".join(parts)


def register(host, port, user, password, *, transport="udp", domain="localhost", expires=300,
             ssl_context=None, server_hostname=None, timeout=5.0, algorithm=None) -> RegisterResult:
    """REGISTER sip:DOMAIN as USER@DOMAIN, answer one 401 with digest, return the result.
    transport: "udp" or "tls" (ssl_context required for tls)."""
    if transport == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((host, 0))
        sock.connect((host, port))
    elif transport == "tls":
        raw = socket.create_connection((host, port), timeout=timeout)
        sock = ssl_context.wrap_socket(raw, server_hostname=server_hostname or host)
    else:
        raise ValueError("transport must be udp or tls")
    sock.settimeout(timeout)
    lport = sock.getsockname()[1]
    tp = transport.upper()
    call_id, tag = os.urandom(8).hex(), os.urandom(4).hex()
    uri = f"sip:{domain}"
    challenges, responses = [], []
    buf = b""

    def recv_response():
        nonlocal buf
        if transport == "udp":
            data = sock.recv(65535)
            return data.decode(errors="replace")
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65535)
            if not chunk:
                raise ConnectionError("connection closed")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^(content-length|l)\s*:\s*(\d+)", head)
        n = int(m.group(2)) if m else 0
        while len(rest) < n:
            rest += sock.recv(65535)
        buf = rest[n:]
        return head.decode(errors="replace")

    try:
        auth = None
        for cseq in (1, 2, 3):
            branch = "z9hG4bK" + os.urandom(6).hex()
            msg = (f"REGISTER {uri} SIP/2.0\r\n"
                   f"Via: SIP/2.0/{tp} {host}:{lport};branch={branch};rport\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:{user}@{domain}>;tag={tag}\r\n"
                   f"To: <sip:{user}@{domain}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
                   f"Contact: <sip:{user}@{host}:{lport};transport={transport}>\r\n"
                   f"Expires: {expires}\r\n"
                   + (f"Authorization: {auth}\r\n" if auth else "")
                   + "User-Agent: exphone-harness-selftest\r\nContent-Length: 0\r\n\r\n")
            sock.send(msg.encode())
            while True:
                try:
                    resp = recv_response()
                except socket.timeout:
                    return RegisterResult(None, challenges, responses)
                status = int(resp.split(" ", 2)[1])
                responses.append(resp.split("\r\n", 1)[0])
                if status >= 200:
                    break
            if status != 401 or cseq == 3:
                return RegisterResult(status, challenges, responses)
            wa = re.search(r"(?im)^WWW-Authenticate\s*:\s*(.+)$", resp)
            if not wa or (auth and "stale=true" not in wa.group(1).lower()):
                if wa:
                    challenges.append(wa.group(1).strip())
                return RegisterResult(status, challenges, responses)
            challenges.append(wa.group(1).strip())
            auth = _authorization(parse_challenge(wa.group(1)), user, password, "REGISTER", uri,
                                  algorithm)
        return RegisterResult(status, challenges, responses)
    finally:
        sock.close()
