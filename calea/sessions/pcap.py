"""pcap and pcapng writers for intercepted IP packets (pure, streaming).

SPEC: libpcap file format (draft-ietf-opsawg-pcap: 24-octet file header, 16-octet record
headers, microsecond stamps); pcapng (draft-ietf-opsawg-pcapng: Section Header Block,
Interface Description Block, Enhanced Packet Block, options `opt_comment`, `if_name`,
`if_description`, `if_tsresol`, `epb_flags`); link type LINKTYPE_RAW (101): each frame is
a bare IPv4 or IPv6 packet, which is what TS 102 232-3 `iPPackets` and TS 102 232-5
`ipFrame` deliver.

Both writers take an iterable of `CapturedPacket` and yield the file in pieces, one piece
per packet, so a caller can stream a whole case without holding it in memory.  Each
packet's time stamp is the carrier's interception time (rule A8), not the receipt time.
In pcapng, one interface per LIID (`if_name` = LIID) and, per packet, the direction from
the target's point of view in `epb_flags` (fromTarget = outbound, toTarget = inbound) and
a comment naming LIID, CIN, sequence number and direction.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

LINKTYPE_RAW = 101
SNAPLEN = 262_144
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_PCAP_MAGIC = 0xA1B2C3D4  # microsecond resolution
_SHB, _IDB, _EPB = 0x0A0D0D0A, 0x00000001, 0x00000006
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_OPT_END, _OPT_COMMENT = 0, 1
_SHB_USERAPPL = 4
_IF_NAME, _IF_DESCRIPTION, _IF_TSRESOL = 2, 3, 9
_EPB_FLAGS = 2
_DIRECTION_FLAGS = {"toTarget": 0x1, "fromTarget": 0x2}  # inbound / outbound, seen from the target


@dataclass(frozen=True, slots=True)
class CapturedPacket:
    at: datetime  # the carrier's interception time
    data: bytes  # one IPv4 / IPv6 packet
    liid: str
    cin: str | None = None
    sequence: int | None = None
    direction: str | None = None  # fromTarget / toTarget / None

    @property
    def micros(self) -> int:
        delta = self.at - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def comment(self) -> str:
        parts = [f"LIID {self.liid}"]
        if self.cin is not None:
            parts.append(f"CIN {self.cin}")
        if self.sequence is not None:
            parts.append(f"seq {self.sequence}")
        if self.direction:
            parts.append(self.direction)
        return " ".join(parts)


# --- pcap --------------------------------------------------------------------------------


def pcap_header(linktype: int = LINKTYPE_RAW, snaplen: int = SNAPLEN) -> bytes:
    return struct.pack("<IHHiIII", _PCAP_MAGIC, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(p: CapturedPacket, snaplen: int = SNAPLEN) -> bytes:
    micros = p.micros
    data = p.data[:snaplen]
    return struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(data), len(p.data)) + data


def write_pcap(packets: Iterable[CapturedPacket], snaplen: int = SNAPLEN) -> Iterator[bytes]:
    yield pcap_header(snaplen=snaplen)
    for p in packets:
        yield pcap_record(p, snaplen)


# --- pcapng ------------------------------------------------------------------------------


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad(value)


def _options(items: list[tuple[int, bytes]]) -> bytes:
    if not items:
        return b""
    return b"".join(_option(c, v) for c, v in items) + struct.pack("<HH", _OPT_END, 0)


def _block(kind: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", kind, total) + body + struct.pack("<I", total)


def section_header(application: str = "calea") -> bytes:
    body = struct.pack("<IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1)  # section length unknown: streamed
    return _block(_SHB, body + _options([(_SHB_USERAPPL, application.encode())]))


def interface_description(liid: str, linktype: int = LINKTYPE_RAW, snaplen: int = SNAPLEN) -> bytes:
    options = [(_IF_NAME, liid.encode("utf-8")),
               (_IF_DESCRIPTION, f"intercept {liid} (ETSI TS 102 232 IP content)".encode("utf-8")),
               (_IF_TSRESOL, b"\x06")]
    return _block(_IDB, struct.pack("<HHI", linktype, 0, snaplen) + _options(options))


def enhanced_packet(p: CapturedPacket, interface: int, snaplen: int = SNAPLEN) -> bytes:
    micros = p.micros
    data = p.data[:snaplen]
    head = struct.pack("<IIIII", interface, micros >> 32, micros & 0xFFFFFFFF, len(data), len(p.data))
    options = [(_OPT_COMMENT, p.comment().encode("utf-8"))]
    flags = _DIRECTION_FLAGS.get(p.direction or "")
    if flags:
        options.append((_EPB_FLAGS, struct.pack("<I", flags)))
    return _block(_EPB, head + _pad(data) + _options(options))


def write_pcapng(packets: Iterable[CapturedPacket], interfaces: Iterable[str] = (),
                 snaplen: int = SNAPLEN) -> Iterator[bytes]:
    """The pcapng file: interfaces named up front (LIIDs) come first; an LIID not named
    gets its interface block just before its first packet."""
    ids: dict[str, int] = {}
    head = [section_header()]
    for liid in interfaces:
        if liid not in ids:
            ids[liid] = len(ids)
            head.append(interface_description(liid, snaplen=snaplen))
    yield b"".join(head)
    for p in packets:
        interface = ids.get(p.liid)
        if interface is None:
            interface = ids[p.liid] = len(ids)
            yield interface_description(p.liid, snaplen=snaplen) + enhanced_packet(p, interface, snaplen)
        else:
            yield enhanced_packet(p, interface, snaplen)
