"""PCESP call-content channel (CCC): UDP datagrams `CCC-Identifier + IP packet`.

SPEC: PKT-SP-ES-DCI, call content connection: each UDP datagram is a 4-octet CCC
Identifier (big-endian) followed by the intercepted packet (IP header included; for
voice, IP/UDP/RTP).  The CDC's CCOpen names the CCC Identifier as 8 hex characters
(`ccc_id_value()` converts), which is how a datagram is tied to a case (LIID).

`decode_ccc(datagram, ccc_to_liid, received_at)`: format `pcesp-ccc`, channel HI3, kind
CC, one `ContentKind.AUDIO` part holding the whole intercepted packet.  The datagram
carries no time stamp, so `intercepted_at` is `received_at`, the collection function's
receipt time given by the caller (this module never reads the clock).  `cin` is the CCC
Identifier as 8 hex digits; `fields` hold the CCC id and the packet's addressing (IP
addresses, UDP ports, RTP payload type / sequence / timestamp / SSRC), which sessions
use to build recordings.

A datagram whose CCC Identifier is in no open CCC (`ccc_to_liid` has no entry) is
still a delivery: its `liid` is the empty string and `fields["unmapped_ccc"]` is True,
so the gate handles it as a delivery that no authority covers (rule A7: counted and
alerted, not stored).  Only `MalformedRecord` (a datagram shorter than its header)
leaves `decode_ccc()`.
"""

from __future__ import annotations

import ipaddress
import struct
from datetime import datetime
from typing import Any, Mapping

from calea.handover.errors import CodecUsageError, MalformedRecord
from calea.handover.model import Channel, ContentKind, ContentPart, Delivery, RecordKind

FORMAT_CCC = "pcesp-ccc"
_UDP = 17


def ccc_id_value(text: str) -> int | None:
    """The 32-bit CCC Identifier of its 8-hex-character CDC form (None if not hex)."""
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return value if 0 <= value <= 0xFFFFFFFF else None


def ccc_id_text(value: int) -> str:
    return f"{value:08X}"


def _rtp(data: bytes) -> dict[str, Any] | None:
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    return {"payload_type": data[1] & 0x7F, "marker": bool(data[1] & 0x80),
            "sequence": int.from_bytes(data[2:4], "big"),
            "timestamp": int.from_bytes(data[4:8], "big"),
            "ssrc": int.from_bytes(data[8:12], "big")}


def packet_fields(packet: bytes) -> dict[str, Any]:
    """Addressing of an intercepted packet: IPv4 / IPv6, UDP ports, RTP header."""
    if not packet:
        return {"payload": "empty"}
    version = packet[0] >> 4
    if version == 4 and len(packet) >= 20:
        header = (packet[0] & 0x0F) * 4
        proto = packet[9]
        out: dict[str, Any] = {"payload": "ipv4", "src": str(ipaddress.IPv4Address(packet[12:16])),
                               "dst": str(ipaddress.IPv4Address(packet[16:20])), "protocol": proto}
    elif version == 6 and len(packet) >= 40:
        header, proto = 40, packet[6]
        out = {"payload": "ipv6", "src": str(ipaddress.IPv6Address(packet[8:24])),
               "dst": str(ipaddress.IPv6Address(packet[24:40])), "protocol": proto}
    else:
        rtp = _rtp(packet)
        return {"payload": "rtp", "rtp": rtp} if rtp else {"payload": "unknown"}
    if proto == _UDP and len(packet) >= header + 8:
        out["src_port"], out["dst_port"] = struct.unpack_from(">HH", packet, header)
        rtp = _rtp(packet[header + 8:])
        if rtp:
            out["rtp"] = rtp
    return out


def decode_ccc(datagram: bytes, ccc_to_liid: Mapping[int, str], received_at: datetime) -> Delivery:
    """One CCC datagram; `received_at` (aware, UTC) stands in for the interception time."""
    datagram = bytes(datagram)
    if len(datagram) < 4:
        raise MalformedRecord("pcesp-ccc-truncated", f"CCC datagram of {len(datagram)} octets", 0)
    if received_at.tzinfo is None:
        raise CodecUsageError("received_at must be an aware datetime")
    ccc = int.from_bytes(datagram[:4], "big")
    packet = datagram[4:]
    liid = ccc_to_liid.get(ccc)
    fields: dict[str, Any] = {"ccc_id": ccc, "time_source": "received", **packet_fields(packet)}
    if liid is None:
        fields["unmapped_ccc"] = True
    return Delivery(
        format=FORMAT_CCC,
        channel=Channel.HI3,
        kind=RecordKind.CC,
        liid=liid or "",
        intercepted_at=received_at,
        raw=datagram,
        cin=ccc_id_text(ccc),
        sequence=None,
        fields=fields,
        content=(ContentPart(ContentKind.AUDIO, packet, "application/octet-stream", "ccc-packet"),),
    )


def encode_ccc(ccc_id: int, packet: bytes) -> bytes:
    """A CCC datagram: the CCC Identifier (big-endian) and the intercepted packet."""
    if not 0 <= ccc_id <= 0xFFFFFFFF:
        raise CodecUsageError(f"CCC identifier {ccc_id} is not a 32-bit value")
    return ccc_id.to_bytes(4, "big") + bytes(packet)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(int(word) for word in struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def rtp_packet(src: str, dst: str, src_port: int, dst_port: int, sequence: int,
               timestamp: int, ssrc: int, payload: bytes, payload_type: int = 0,
               marker: bool = False) -> bytes:
    """An IPv4/UDP/RTP packet (for the simulator); UDP checksum left at zero (allowed)."""
    rtp = struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | payload_type,
                      sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc & 0xFFFFFFFF) + payload
    udp = struct.pack(">HHHH", src_port, dst_port, 8 + len(rtp), 0) + rtp
    header = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, _UDP, 0,
                         ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    header = header[:10] + struct.pack(">H", _checksum(header)) + header[12:]
    return header + udp
