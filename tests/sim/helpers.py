"""Independent packet readers for the tests (no project code)."""

from __future__ import annotations

import struct


def ones_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def ipv4_ok(packet: bytes) -> bool:
    """Version 4, header checksum verifies, total length matches."""
    ihl = (packet[0] & 0x0F) * 4
    return packet[0] >> 4 == 4 and ones_sum(packet[:ihl]) == 0xFFFF and struct.unpack(">H", packet[2:4])[0] == len(packet)


def transport_ok(packet: bytes) -> bool:
    """The UDP or TCP checksum over the pseudo header verifies."""
    ihl = (packet[0] & 0x0F) * 4
    segment = packet[ihl:]
    pseudo = packet[12:20] + struct.pack(">BBH", 0, packet[9], len(segment))
    return ones_sum(pseudo + segment) == 0xFFFF


def split(packet: bytes) -> tuple[str, str, int, int, int, bytes]:
    """(src, dst, protocol, sport, dport, transport payload)."""
    ihl = (packet[0] & 0x0F) * 4
    proto = packet[9]
    src = ".".join(map(str, packet[12:16]))
    dst = ".".join(map(str, packet[16:20]))
    sport, dport = struct.unpack(">HH", packet[ihl : ihl + 4])
    offset = ihl + (8 if proto == 17 else (packet[ihl + 12] >> 4) * 4)
    return src, dst, proto, sport, dport, packet[offset:]


def rtp(payload: bytes) -> tuple[int, bool, int, int, int, bytes]:
    """(payload type, marker, sequence, timestamp, ssrc, payload) of an RTP packet."""
    assert payload[0] >> 6 == 2
    seq, ts, ssrc = struct.unpack(">HII", payload[2:12])
    return payload[1] & 0x7F, bool(payload[1] & 0x80), seq, ts, ssrc, payload[12:]


def ulaw(octet: int) -> int:
    """G.711 mu-law -> linear (the textbook expansion)."""
    u = ~octet & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84
