"""Headers of an intercepted IP packet: IPv4 / IPv6, TCP, UDP, ICMP (pure, no scapy).

SPEC: RFC 791 (IPv4; fragments: offset and MF flag), RFC 8200 (IPv6 and its extension
headers: hop-by-hop 0, routing 43, fragment 44, destination options 60, AH 51),
RFC 9293 (TCP: data offset, flags), RFC 768 (UDP), RFC 792 / RFC 4443 (ICMP, ICMPv6).

`parse_ip(packet)` never raises: bytes that are no IP packet give None, a packet cut
short (a header-only capture, a truncated frame) gives the facts its bytes hold.
`IpPacket.payload` is the transport payload -- content under rule A6; the other fields
are the call-identifying part (addresses, ports, protocol, length, flags: rule A1).
`tcp_seq` (the TCP sequence number) serves only to reassemble kept payloads
(`calea.sessions.tcpstream`); it is not among the header facts a PRTT order keeps.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

ICMP, TCP, UDP, ICMPV6 = 1, 6, 17, 58
_V6_EXTENSIONS = {0, 43, 60, 51}  # skipped to find the transport header (44 is handled apart)
_MAX_EXTENSIONS = 8
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


@dataclass(frozen=True, slots=True)
class IpPacket:
    version: int
    src: str
    dst: str
    protocol: int
    length: int  # the packet's own total length (IPv4 total length / IPv6 40 + payload length)
    src_port: int | None = None
    dst_port: int | None = None
    tcp_flags: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    fragment: bool = False  # a fragment other than the first (no transport header)
    payload: bytes | None = None  # UDP / TCP payload (content, A6)
    tcp_seq: int | None = None  # TCP sequence number: places the payload in its stream (`tcpstream`)

    def header_facts(self) -> dict[str, int | str | bool]:
        """The call-identifying facts only (no payload): what a PRTT order keeps (A1, A6)."""
        out: dict[str, int | str | bool] = {"version": self.version, "src": self.src, "dst": self.dst,
                                            "protocol": self.protocol, "length": self.length}
        for name in ("src_port", "dst_port", "tcp_flags", "icmp_type", "icmp_code"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.fragment:
            out["fragment"] = True
        return out


def _v4(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def parse_ip(packet: bytes) -> IpPacket | None:
    if len(packet) < 1:
        return None
    version = packet[0] >> 4
    if version == 4 and len(packet) >= 20:
        ihl = (packet[0] & 0x0F) * 4
        if ihl < 20:
            return None
        length = int.from_bytes(packet[2:4], "big")
        proto = packet[9]
        src, dst = _v4(packet[12:16]), _v4(packet[16:20])
        if ((packet[6] & 0x1F) << 8) | packet[7]:  # a later fragment: no transport header
            return IpPacket(4, src, dst, proto, length, fragment=True)
        end = min(len(packet), length) if length >= ihl else len(packet)
        return _transport(IpPacket(4, src, dst, proto, length), packet[ihl:end])
    if version == 6 and len(packet) >= 40:
        length = 40 + int.from_bytes(packet[4:6], "big")
        proto, pos = packet[6], 40
        fragment = False
        for _ in range(_MAX_EXTENSIONS):
            if proto in _V6_EXTENSIONS and len(packet) >= pos + 8:
                size = (packet[pos + 1] + 2) * 4 if proto == 51 else 8 + packet[pos + 1] * 8
                proto, pos = packet[pos], pos + size
            elif proto == 44 and len(packet) >= pos + 8:
                fragment = bool(int.from_bytes(packet[pos + 2:pos + 4], "big") >> 3)
                proto, pos = packet[pos], pos + 8
            else:
                break
        base = IpPacket(6, str(ipaddress.IPv6Address(packet[8:24])), str(ipaddress.IPv6Address(packet[24:40])),
                        proto, length, fragment=fragment)
        return base if fragment else _transport(base, packet[pos:min(len(packet), length)])
    return None


def _transport(base: IpPacket, seg: bytes) -> IpPacket:
    proto = base.protocol
    if proto == UDP and len(seg) >= 8:
        return replace(base, src_port=int.from_bytes(seg[0:2], "big"), dst_port=int.from_bytes(seg[2:4], "big"),
                       payload=seg[8:])
    if proto == TCP and len(seg) >= 14:
        offset = max((seg[12] >> 4) * 4, 20)
        return replace(base, src_port=int.from_bytes(seg[0:2], "big"), dst_port=int.from_bytes(seg[2:4], "big"),
                       tcp_flags=seg[13], tcp_seq=int.from_bytes(seg[4:8], "big"),
                       payload=seg[offset:] if len(seg) >= 20 else b"")
    if proto in (ICMP, ICMPV6) and len(seg) >= 2:
        return replace(base, icmp_type=seg[0], icmp_code=seg[1])
    return base


def from_header_facts(facts: Mapping[str, Any]) -> IpPacket | None:
    """The inverse of `IpPacket.header_facts` (a header record kept under a PRTT order)."""

    def opt(name: str) -> int | None:
        value = facts.get(name)
        return None if value is None else int(value)

    try:
        return IpPacket(int(facts["version"]), str(facts["src"]), str(facts["dst"]), int(facts["protocol"]),
                        int(facts["length"]), opt("src_port"), opt("dst_port"), opt("tcp_flags"), opt("icmp_type"),
                        opt("icmp_code"), bool(facts.get("fragment")))
    except (KeyError, TypeError, ValueError):
        return None
