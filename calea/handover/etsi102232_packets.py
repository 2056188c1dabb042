"""Addressing facts of intercepted packets (IPv4/IPv6, UDP/TCP/ICMP, RTP headers).

Used by the TS 102 232-3/-5 decoders to put the call-identifying part of a CC packet
(the 5-tuple, RTP stream facts) into `fields`, while the packet itself stays content
(rule A6).  Never raises: a packet too short or of an unknown kind yields fewer facts.
"""

from __future__ import annotations

import ipaddress
from socket import AF_INET6, inet_ntoa, inet_ntop
from typing import Any

PROTOCOL_ICMP, PROTOCOL_TCP, PROTOCOL_UDP, PROTOCOL_ICMPV6 = 1, 6, 17, 58
_IPV6_EXTENSIONS = {0, 43, 60}  # hop-by-hop, routing, destination options


def ip_text(raw: bytes) -> str | None:
    """Text form of a 4- or 16-octet binary address, None for other lengths."""
    if len(raw) == 4:
        return inet_ntoa(raw)
    if len(raw) == 16:
        # inet_ntop writes what ipaddress does (RFC 5952), 15x faster, except for the
        # IPv4-mapped / -compatible forms (dotted quad), which ipaddress writes in hex.
        text = inet_ntop(AF_INET6, raw)
        return str(ipaddress.IPv6Address(raw)) if "." in text else text
    return None


def ip_binary(text: str) -> bytes:
    """Binary form of an IPv4/IPv6 address text (for the encoders)."""
    return ipaddress.ip_address(text).packed


def transport_facts(proto: int, seg: bytes, out: dict[str, Any]) -> bytes | None:
    """Add ports / ICMP type to `out`; return the UDP or TCP payload, else None."""
    if proto == PROTOCOL_UDP and len(seg) >= 8:
        out["src_port"] = (seg[0] << 8) | seg[1]
        out["dst_port"] = (seg[2] << 8) | seg[3]
        return seg[8:]
    if proto == PROTOCOL_TCP and len(seg) >= 14:
        out["src_port"] = (seg[0] << 8) | seg[1]
        out["dst_port"] = (seg[2] << 8) | seg[3]
        out["tcp_flags"] = seg[13]
        return seg[(seg[12] >> 4) * 4 :]
    elif proto in (PROTOCOL_ICMP, PROTOCOL_ICMPV6) and len(seg) >= 2:
        out["icmp_type"] = seg[0]
        out["icmp_code"] = seg[1]
    return None


def ip_facts(packet: bytes) -> tuple[dict[str, Any], bytes | None]:
    """(facts, UDP/TCP payload or None) of a whole IP packet.

    facts: version, src, dst, protocol, length (as captured) and, when the transport
    header is there, src_port / dst_port (UDP, TCP), tcp_flags, icmp_type / icmp_code."""
    out: dict[str, Any] = {"length": len(packet)}
    if not packet:
        return out, None
    version = packet[0] >> 4
    if version == 4 and len(packet) >= 20:
        ihl = (packet[0] & 0x0F) * 4
        proto = packet[9]
        out.update(version=4, src=ip_text(packet[12:16]), dst=ip_text(packet[16:20]), protocol=proto)
        fragment_offset = ((packet[6] & 0x1F) << 8) | packet[7]
        if fragment_offset or ihl < 20:
            return out, None  # later fragments carry no transport header
        return out, transport_facts(proto, packet[ihl:], out)
    if version == 6 and len(packet) >= 40:
        proto = packet[6]
        out.update(version=6, src=ip_text(packet[8:24]), dst=ip_text(packet[24:40]))
        offset = 40
        while proto in _IPV6_EXTENSIONS and len(packet) >= offset + 8:
            proto, offset = packet[offset], offset + 8 + packet[offset + 1] * 8
        out["protocol"] = proto
        return out, transport_facts(proto, packet[offset:], out)
    return out, None


def rtp_facts(payload: bytes) -> dict[str, Any] | None:
    """RTP (RFC 3550) header facts, None when `payload` is no RTP version 2 packet."""
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return None
    return {
        "payload_type": payload[1] & 0x7F,
        "marker": bool(payload[1] & 0x80),
        "sequence": (payload[2] << 8) | payload[3],
        "timestamp": int.from_bytes(payload[4:8], "big"),
        "ssrc": int.from_bytes(payload[8:12], "big"),
    }
