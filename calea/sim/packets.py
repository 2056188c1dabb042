"""Whole IPv4 packets for the simulator: UDP, TCP, DNS, HTTP, TLS ClientHello.

SPEC: RFC 791 (IPv4 header, header checksum), RFC 768 (UDP, checksum over the pseudo
header), RFC 9293 (TCP header and checksum), RFC 1035 (DNS messages), RFC 9112 (HTTP/1.1
request line and Host), RFC 8446 section 4.1.2 + RFC 6066 section 3 (TLS ClientHello with
server_name).  Pure functions: bytes out, no sockets, no clock, no external libraries.
"""

from __future__ import annotations

import ipaddress
import random
import struct
from dataclasses import dataclass, field

PROTO_TCP, PROTO_UDP = 6, 17
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): ones' complement of the ones' complement sum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _addr(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


def ipv4(src: str, dst: str, proto: int, payload: bytes, *, ident: int = 0, ttl: int = 64) -> bytes:
    """An IPv4 packet (20-byte header, DF set) with a valid header checksum."""
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, ttl, proto, 0,
                         _addr(src), _addr(dst))
    return header[:10] + struct.pack(">H", checksum(header)) + header[12:] + payload


def _pseudo(src: str, dst: str, proto: int, length: int) -> bytes:
    return _addr(src) + _addr(dst) + struct.pack(">BBH", 0, proto, length)


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes, *, ident: int = 0) -> bytes:
    """IPv4/UDP with the UDP checksum computed (0 is sent as 0xffff, RFC 768)."""
    length = 8 + len(payload)
    segment = struct.pack(">HHHH", sport, dport, length, 0) + payload
    value = checksum(_pseudo(src, dst, PROTO_UDP, length) + segment) or 0xFFFF
    return ipv4(src, dst, PROTO_UDP, segment[:6] + struct.pack(">H", value) + segment[8:], ident=ident)


def tcp(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"",
        *, ident: int = 0, window: int = 64240) -> bytes:
    """IPv4/TCP (20-byte header, no options) with the TCP checksum computed."""
    segment = struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags,
                          window, 0, 0) + payload
    value = checksum(_pseudo(src, dst, PROTO_TCP, len(segment)) + segment)
    return ipv4(src, dst, PROTO_TCP, segment[:16] + struct.pack(">H", value) + segment[18:], ident=ident)


# --- application payloads ------------------------------------------------------------------


def _qname(name: str) -> bytes:
    out = b"".join(bytes((len(label),)) + label.encode("ascii") for label in name.rstrip(".").split("."))
    return out + b"\0"


def dns_query(qid: int, name: str) -> bytes:
    """A recursive DNS query for the A record of `name`."""
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _qname(name) + struct.pack(">HH", 1, 1)


def dns_answer(qid: int, name: str, address: str, ttl: int = 300) -> bytes:
    """The answer to `dns_query`: one A record (name compressed to the question)."""
    question = _qname(name) + struct.pack(">HH", 1, 1)
    answer = struct.pack(">HHHIH", 0xC00C, 1, 1, ttl, 4) + _addr(address)
    return struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + answer


def http_get(host: str, path: str = "/", user_agent: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
            "Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n"
            "Connection: close\r\n\r\n").encode("ascii")


def http_response(body: bytes, content_type: str = "text/html; charset=utf-8") -> bytes:
    head = (f"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("ascii")
    return head + body


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack(">HH", kind, len(body)) + body


def tls_client_hello(server_name: str, rng: random.Random) -> bytes:
    """A TLS 1.3 ClientHello record with server_name (SNI), groups, key share and ALPN."""
    name = server_name.encode("ascii")
    sni = struct.pack(">HBH", len(name) + 3, 0, len(name)) + name
    alpn = b"".join(bytes((len(p),)) + p for p in (b"h2", b"http/1.1"))
    key = bytes(rng.getrandbits(8) for _ in range(32))
    extensions = b"".join((
        _ext(0x0000, sni),
        _ext(0x000A, struct.pack(">HHHH", 6, 0x001D, 0x0017, 0x0018)),  # x25519, secp256r1, secp384r1
        _ext(0x000B, b"\x01\x00"),
        _ext(0x000D, struct.pack(">HHHHH", 8, 0x0403, 0x0804, 0x0401, 0x0503)),
        _ext(0x0010, struct.pack(">H", len(alpn)) + alpn),
        _ext(0x002B, b"\x04\x03\x04\x03\x03"),  # supported_versions: TLS 1.3, 1.2
        _ext(0x0033, struct.pack(">HHH", 36, 0x001D, 32) + key),
    ))
    suites = struct.pack(">8H", 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9)
    session = bytes(rng.getrandbits(8) for _ in range(32))
    body = (b"\x03\x03" + bytes(rng.getrandbits(8) for _ in range(32)) + bytes((32,)) + session
            + struct.pack(">H", len(suites)) + suites + b"\x01\x00"
            + struct.pack(">H", len(extensions)) + extensions)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(handshake)) + handshake


def tls_server_flight(rng: random.Random, size: int = 1200) -> bytes:
    """An opaque ServerHello-shaped record followed by encrypted application data."""
    hello = b"\x02" + (70).to_bytes(3, "big") + b"\x03\x03" + bytes(rng.getrandbits(8) for _ in range(68))
    blob = bytes(rng.getrandbits(8) for _ in range(size))
    return (b"\x16\x03\x03" + struct.pack(">H", len(hello)) + hello
            + b"\x17\x03\x03" + struct.pack(">H", len(blob)) + blob)


# --- a TCP conversation ----------------------------------------------------------------------


@dataclass
class TcpFlow:
    """Builds the packets of one TCP connection, keeping sequence and acknowledgement
    numbers consistent.  `packets` collects (offset seconds, from_client, packet)."""

    client: str
    server: str
    cport: int
    sport: int
    rng: random.Random
    packets: list[tuple[float, bool, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._seq = {True: self.rng.getrandbits(32), False: self.rng.getrandbits(32)}
        self._ident = {True: self.rng.getrandbits(16), False: self.rng.getrandbits(16)}

    def send(self, at: float, from_client: bool, flags: int, payload: bytes = b"") -> None:
        me, peer = from_client, not from_client
        src, dst = (self.client, self.server) if me else (self.server, self.client)
        sp, dp = (self.cport, self.sport) if me else (self.sport, self.cport)
        ack = self._seq[peer] if flags & ACK else 0
        packet = tcp(src, dst, sp, dp, self._seq[me], ack, flags, payload, ident=self._ident[me])
        self._ident[me] += 1
        self._seq[me] += len(payload) + (1 if flags & (SYN | FIN) else 0)
        self.packets.append((at, me, packet))

    def exchange(self, at: float, request: bytes, response: bytes, rtt: float = 0.03) -> float:
        """Handshake, request, response, acknowledgements and the closing FINs; returns
        the time of the last packet."""
        self.send(at, True, SYN)
        self.send(at + rtt, False, SYN | ACK)
        self.send(at + rtt + 0.001, True, ACK)
        self.send(at + rtt + 0.002, True, PSH | ACK, request)
        self.send(at + 2 * rtt, False, ACK)
        self.send(at + 2 * rtt + 0.01, False, PSH | ACK, response)
        self.send(at + 2 * rtt + 0.011, True, ACK)
        end = at + 2 * rtt + 0.05
        self.send(end, True, FIN | ACK)
        self.send(end + rtt, False, FIN | ACK)
        self.send(end + rtt + 0.001, True, ACK)
        return end + rtt + 0.001
