"""Free loopback ports for interop tests (stdlib only).

The kernel picks the port (bind to port 0), so parallel test processes do not collide by
construction; a per-process set avoids handing the same number out twice in one process.
There is an unavoidable window between closing the probe socket and the peer binding it; the
Kamailio harness retries its start with new ports if a bind fails.
"""
from __future__ import annotations

import socket
import time

__all__ = ["free_port", "free_ports", "port_is_free", "wait_port_free", "wait_port"]

_handed_out: set[int] = set()


def _try_bind(family, kind, host, port, reuse=True):
    s = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM and reuse:
            # like servers do (Kamailio sets it): connections in TIME_WAIT do not block a listener
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        return s
    except OSError:
        s.close()
        return None


def port_is_free(port: int, host: str = "127.0.0.1", udp: bool = True, tcp: bool = True) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    try:
        for want, kind in ((tcp, socket.SOCK_STREAM), (udp, socket.SOCK_DGRAM)):
            if want:
                s = _try_bind(family, kind, host, port)
                if s is None:
                    return False
                socks.append(s)
        return True
    finally:
        for s in socks:
            s.close()


def free_port(host: str = "127.0.0.1", udp: bool = True, tcp: bool = True,
              attempts: int = 200) -> int:
    """A port number currently free on `host` for TCP and/or UDP (both by default)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    first = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    for _ in range(attempts):
        s = socket.socket(family, first)
        try:
            s.bind((host, 0))
            port = s.getsockname()[1]
            if port in _handed_out:
                continue
            if tcp and udp:
                u = _try_bind(family, socket.SOCK_DGRAM, host, port)
                if u is None:
                    continue
                u.close()
        finally:
            s.close()
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port found on %s" % host)


def free_ports(n: int, host: str = "127.0.0.1", udp: bool = True, tcp: bool = True) -> list[int]:
    return [free_port(host, udp=udp, tcp=tcp) for _ in range(n)]


def wait_port_free(port: int, host: str = "127.0.0.1", timeout: float = 10.0,
                   udp: bool = True, tcp: bool = True) -> bool:
    """Poll until `port` can be bound again (e.g. after stopping a server)."""
    deadline = time.monotonic() + timeout
    while True:
        if port_is_free(port, host, udp=udp, tcp=tcp):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Polls until something accepts TCP connections on host:port; raises after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {host}:{port}")
