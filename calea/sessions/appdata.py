"""Names visible in application payloads: DNS questions and answers, TLS SNI, HTTP Host.

SPEC: RFC 1035 section 4 (DNS message, name compression), RFC 3596 (AAAA), RFC 8446
section 4.1.2 and RFC 6066 section 3 (ClientHello server_name), RFC 9112 section 3.2
(Host).  Pure, never raises: a payload that is not what it seems gives None / nothing.

These read payloads, which are content (rule A6): they run only on packets an
eavesdropping authority let the store keep (A2), never on header records kept under a
PRTT order.  One segment at a time, no TCP reassembly: a ClientHello or a request head
split over two segments is not seen (counted as nothing, never guessed).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

_MAX_NAME_JUMPS = 16
_MAX_RECORDS = 64
_METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ")


@dataclass(frozen=True)
class DnsFacts:
    response: bool
    questions: tuple[str, ...] = ()
    answers: tuple[tuple[str, str, str], ...] = field(default=())  # (name, "A"/"AAAA"/"CNAME", value)


def _name(msg: bytes, pos: int) -> tuple[str, int]:
    """A (possibly compressed) domain name at `pos`; returns (name, position after it)."""
    labels: list[str] = []
    end = -1
    for _ in range(_MAX_NAME_JUMPS + 64):
        size = msg[pos]
        if size == 0:
            return ".".join(labels).lower(), (pos + 1 if end < 0 else end)
        if size & 0xC0 == 0xC0:
            if end < 0:
                end = pos + 2
            pos = ((size & 0x3F) << 8) | msg[pos + 1]
            continue
        if size & 0xC0:
            raise ValueError("bad label")
        labels.append(msg[pos + 1:pos + 1 + size].decode("ascii", "replace"))
        pos += 1 + size
    raise ValueError("name too long")


def dns_message(payload: bytes) -> DnsFacts | None:
    if len(payload) < 12:
        return None
    try:
        flags = int.from_bytes(payload[2:4], "big")
        qd, an = int.from_bytes(payload[4:6], "big"), int.from_bytes(payload[6:8], "big")
        if qd > _MAX_RECORDS or an > _MAX_RECORDS or (flags >> 11) & 0x0F not in (0, 2):
            return None  # not a (standard) query or status: not worth guessing
        pos, questions = 12, []
        for _ in range(qd):
            name, pos = _name(payload, pos)
            questions.append(name)
            pos += 4
        answers = []
        for _ in range(an):
            name, pos = _name(payload, pos)
            rtype, rdlen = int.from_bytes(payload[pos:pos + 2], "big"), int.from_bytes(payload[pos + 8:pos + 10], "big")
            data, start = payload[pos + 10:pos + 10 + rdlen], pos + 10
            if len(data) != rdlen:
                break
            if rtype == 1 and rdlen == 4:
                answers.append((name, "A", str(ipaddress.IPv4Address(data))))
            elif rtype == 28 and rdlen == 16:
                answers.append((name, "AAAA", str(ipaddress.IPv6Address(data))))
            elif rtype == 5:
                answers.append((name, "CNAME", _name(payload, start)[0]))
            pos = start + rdlen
        return DnsFacts(bool(flags & 0x8000), tuple(questions), tuple(answers))
    except (IndexError, ValueError):
        return None


def tls_sni(payload: bytes) -> str | None:
    """The server_name of a TLS ClientHello at the start of `payload`, else None."""
    try:
        if len(payload) < 6 or payload[0] != 0x16 or payload[1] != 0x03 or payload[5] != 0x01:
            return None
        pos = 9 + 2 + 32  # record header 5, handshake header 4, client_version, random
        pos += 1 + payload[pos]  # session id
        pos += 2 + int.from_bytes(payload[pos:pos + 2], "big")  # cipher suites
        pos += 1 + payload[pos]  # compression methods
        end = pos + 2 + int.from_bytes(payload[pos:pos + 2], "big")
        pos += 2
        while pos + 4 <= min(end, len(payload)):
            kind, size = int.from_bytes(payload[pos:pos + 2], "big"), int.from_bytes(payload[pos + 2:pos + 4], "big")
            if kind == 0:  # server_name: list length, (type 0, length, name)
                body = payload[pos + 4:pos + 4 + size]
                if len(body) >= 5 and body[2] == 0:
                    name = body[5:5 + int.from_bytes(body[3:5], "big")]
                    return name.decode("ascii").lower() or None
                return None
            pos += 4 + size
    except (IndexError, UnicodeDecodeError):
        return None
    return None


def http_host(payload: bytes) -> str | None:
    """The Host of an HTTP/1.x request head at the start of `payload`, else None."""
    if not payload.startswith(_METHODS):
        return None
    head = payload[:8192].split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"host":
            host = value.strip().decode("ascii", "replace").lower()
            if host.startswith("["):
                return host[1:host.find("]")] if "]" in host else None
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host or None
    return None
