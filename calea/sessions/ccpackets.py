"""IP packets out of stored CC records, and the header-only record a PRTT order keeps.

SPEC: ETSI TS 102 232-3 IPCC (`iPPackets`: one whole IP packet) and TS 102 232-5 IPMMCC
(`mMCCContents` with frame type `ipFrame`: one whole IP packet).  Other IPMMCC frame types
(udpFrame, rtpFrame, ...) carry no IP header and are not packets of a pcap (None).
PacketCable CCC datagrams are not handled: their stored bytes carry no interception
time (the store keeps only the receipt time per chunk), and a pcap needs one per packet.

`captured(record)` -- a record the store kept byte-exact (an eavesdropping authority,
rule A2) -> `CapturedPacket` (time = the carrier's interception stamp, rule A8).

`header_fields(record)` -- the least data an IPCC record yields under a PRTT order
(rules A1, A6): the IP and TCP/UDP/ICMP header *facts* (version, addresses, protocol,
ports, total length, TCP flags, ICMP type/code) and the CC direction.  Not the header
bytes: sequence numbers, IP ids, windows and options identify nobody's communication
and would fingerprint devices, so they are left out; never a payload octet.
`header_item(item, record)` is the one call the intake makes for a suppressed CC item:
it becomes an index record with these fields (no raw bytes, no content), so a PRTT
order's flows and web-visitor reports (A1) exist while the packet is dropped (A6).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232 import decode
from calea.handover.model import Channel, Delivery
from calea.sessions.ipparse import parse_ip
from calea.sessions.pcap import CapturedPacket
from calea.store.items import StoreItem

FORMAT = "etsi-102232"
HEADER_EVENT = "ip-header"  # `iri_records.event` of a header record kept under a PRTT order


def _packet(d: Delivery) -> bytes | None:
    cc = d.fields.get("cc") or {}
    contents = cc.get("contents")
    for part in d.content:
        if contents == "iPCC" and part.name == "iPPackets":
            return part.data
        if contents == "iPMMCC" and part.name == "mMCCContents" and cc.get("frame_type", "ipFrame") == "ipFrame":
            return part.data
    return None


def _decode(record: bytes) -> Delivery | None:
    try:
        return decode(record, Channel.HI3)
    except MalformedRecord:
        return None


def captured(record: bytes, fmt: str = FORMAT) -> CapturedPacket | None:
    """The IP packet of one stored CC record, or None (not IP content, or undecodable)."""
    if fmt != FORMAT:
        return None
    d = _decode(record)
    if d is None or d.intercepted_at is None:
        return None
    packet = _packet(d)
    if packet is None:
        return None
    return CapturedPacket(d.intercepted_at, packet, d.liid, d.cin, d.sequence, (d.fields.get("cc") or {}).get("direction"))


def header_fields(record: bytes) -> dict[str, Any] | None:
    """The `fields` of the header record kept for an IPCC record under a PRTT order
    (A1: addressing is call-identifying; A6: no payload), or None when the record holds
    no IP packet (then nothing but the suppression count is kept, as before)."""
    d = _decode(record)
    if d is None:
        return None
    cc = d.fields.get("cc") or {}
    if cc.get("contents") != "iPCC":
        return None
    packet = _packet(d)
    parsed = parse_ip(packet) if packet is not None else None
    if parsed is None:
        return None
    return {"cc": {"contents": "iPCC", "direction": cc.get("direction")}, "ip_header": parsed.header_facts(),
            "rule": "A1"}


def header_item(item: StoreItem, record: bytes) -> StoreItem:
    """What the intake stores for an accepted CC delivery (`item`, made from the record
    `record`): unchanged, unless the gate suppressed its content under a PRTT order (A6)
    and it is an IPCC packet -- then the header record of `header_fields` (A1): an index
    row with fields only, no raw bytes, no content, one suppression counted."""
    if item.kind != "cc" or item.raw is not None or not item.suppressed or item.format != FORMAT:
        return item
    fields = header_fields(record)
    if fields is None:
        return item
    return replace(item, kind="iri", fields=fields, event=HEADER_EVENT, content=(), suppressed=("ip-payload",))
