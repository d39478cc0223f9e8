"""An attacker on the wire of an SRTP call (RFC 3711), shared by the media attack tests: capture a
second of the stream towards a phone's media port, then send it replayed, bit-flipped, keyless and
plain packets and spoofed RTCP BYEs. Nothing here knows a key: everything is made from captured
packets or random bytes of the right shape.

    packets = capture_srtp(tmp, rtp_port)          # the caller's SRTP towards the callee
    sent = Attack(rtp_port).all(packets, bye_ports=(rtp_port, rtp_port + 1))

The counts in `sent` are what the phone's counters must show afterwards.
"""
import os
import socket
import struct
import subprocess


def capture_srtp(tmp, port, seconds=1, host="127.0.0.1"):
    """The RTP packets (not RTCP, STUN or DTLS: RFC 7983) that went to host:port in `seconds`."""
    cap = os.path.join(tmp, f"srtp-{port}.pcap")
    subprocess.run(["tshark", "-q", "-i", "lo", "-a", f"duration:{seconds}", "-f", f"udp dst port {port}",
                    "-w", cap], capture_output=True, timeout=30)
    payloads = subprocess.run(["tshark", "-r", cap, "-T", "fields", "-e", "udp.payload"],
                              capture_output=True, text=True, timeout=30).stdout.split()
    packets = [bytes.fromhex(p.replace(":", "")) for p in payloads if p]
    # RTP: version 2 (first byte 128..191) and not an RTCP packet type (RFC 5761 4: 192..223 in the
    # second byte, where RTP payload types 64..95 would be)
    return [p for p in packets if len(p) > 12 and 128 <= p[0] <= 191 and not 192 <= p[1] <= 223]


class Attack:
    def __init__(self, port, host="127.0.0.1"):
        self.to = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))

    def close(self):
        self.sock.close()

    def send(self, data, to=None):
        self.sock.sendto(data, to or self.to)

    def replays(self, packets, n=10):
        """Packets the phone has already seen (RFC 3711 3.3.2: the replay list drops them)."""
        for p in packets[:n]:
            self.send(p)
        return min(n, len(packets))

    def bit_flips(self, packets, n=10):
        """One bit of ciphertext flipped, with a fresh sequence number so that the replay check does
        not catch it first: the authentication tag no longer matches."""
        for p in packets[-n:]:
            forged = bytearray(p)
            forged[20] ^= 0x01
            seq = (int.from_bytes(forged[2:4], "big") + 3000) & 0xffff
            forged[2:4] = seq.to_bytes(2, "big")
            self.send(bytes(forged))
        return min(n, len(packets))

    def keyless(self, packets, n=10):
        """The stream's header (SSRC, payload type) with a ciphertext and tag that are not the
        sender's: what a wrong key produces."""
        hdr = bytearray(packets[-1][:12])
        base = int.from_bytes(hdr[2:4], "big")
        for i in range(n):
            hdr[2:4] = ((base + 5000 + i) & 0xffff).to_bytes(2, "big")
            self.send(bytes(hdr) + os.urandom(len(packets[-1]) - 12))
        return n

    def plain_rtp(self, packets, n=10):
        """Plain RTP into the SRTP stream: same SSRC and payload type, G.711 silence, no tag."""
        hdr = bytearray(packets[-1][:12])
        base = int.from_bytes(hdr[2:4], "big")
        for i in range(n):
            hdr[2:4] = ((base + 6000 + i) & 0xffff).to_bytes(2, "big")
            self.send(bytes(hdr) + b"\xff" * 160)
        return n

    def rtcp_byes(self, packets, ports, n_each=5):
        """Plain RTCP BYE for the stream's SSRC (RFC 3550 6.6), n_each to every port in `ports`."""
        bye = bytes([0x81, 203, 0, 1]) + packets[-1][8:12]
        for port in ports:
            for _ in range(n_each):
                self.send(bye, (self.to[0], port))
        return n_each * len(ports)

    def all(self, packets, bye_ports):
        return {"replays": self.replays(packets), "forgeries": self.bit_flips(packets),
                "keyless": self.keyless(packets), "plain": self.plain_rtp(packets),
                "byes": self.rtcp_byes(packets, bye_ports)}


# ---- DTLS (RFC 6347) records for a DTLS-SRTP association that has finished its handshake

def dtls_record(content_type, epoch, seq, body):
    """A DTLS 1.2 record: type, version {254, 253}, epoch, 48-bit sequence number, length."""
    return struct.pack("!BHH", content_type, 0xfefd, epoch) + seq.to_bytes(6, "big") + \
        struct.pack("!H", len(body)) + body


def client_hello():
    """A well-formed DTLS 1.2 ClientHello (epoch 0) offering use_srtp (RFC 5764 4.1.1): what a
    second peer, or a peer restarting the association, sends."""
    exts = struct.pack("!HH", 14, 5) + struct.pack("!HH", 2, 0x0001) + b"\x00"  # use_srtp: SRTP_AES128_CM_SHA1_80
    exts += struct.pack("!HH", 10, 4) + struct.pack("!HH", 2, 23)  # supported_groups: secp256r1
    exts += struct.pack("!HH", 13, 4) + struct.pack("!HH", 2, 0x0403)  # signature_algorithms: ecdsa_secp256r1_sha256
    body = struct.pack("!H", 0xfefd) + os.urandom(32) + b"\x00" + b"\x00"  # version, random, session id, cookie
    body += struct.pack("!HHH", 4, 0xc02b, 0xc02f) + b"\x01\x00" + struct.pack("!H", len(exts)) + exts
    hs = struct.pack("!B", 1) + len(body).to_bytes(3, "big") + struct.pack("!H", 0) + \
        (0).to_bytes(3, "big") + len(body).to_bytes(3, "big") + body
    return dtls_record(22, 0, 0, hs)


def garbage_records():
    """Records a DTLS endpoint must drop after the handshake (RFC 6347 4.1.2.7: invalid records are
    silently discarded): application data, a handshake message and an alert under the current
    epoch with random bytes (no valid MAC), a plaintext fatal alert and a ChangeCipherSpec under
    epoch 0, and a truncated record header."""
    return [dtls_record(23, 1, 1000 + i, os.urandom(64)) for i in range(4)] + [
        dtls_record(22, 1, 2000, os.urandom(48)),
        dtls_record(21, 1, 2001, os.urandom(26)),
        dtls_record(21, 0, 50, bytes([2, 40])),  # fatal handshake_failure, in clear
        dtls_record(20, 0, 51, b"\x01"),
        bytes([23, 0xfe, 0xfd, 0, 1]),
    ]


def spoofed_udp(src, dst, payload):
    """One UDP datagram with a forged source address (raw socket: needs root). Loopback only."""
    assert dst[0].startswith("127."), dst
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload  # checksum 0: none (RFC 768)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        s.sendto(ip + udp, dst)
    finally:
        s.close()
