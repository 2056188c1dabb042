"""What the live fan-out sends: audio frames of stored CC and call events of stored IRI.

Pure: a `StoreItem` in, an `AudioFrame` or a `CallEvent` out; and the binary frame a
monitor receives.  Only items the store kept with their content (an eavesdropping
authority, rule A2; never A6-suppressed, quarantined (B3) or late items) become audio.
The audio is decoded and forwarded, never analysed (rule F1: no voice biometrics).

SPEC: ETSI TS 102 232-5 IPMMCC (frame types ipFrame / udpFrame / rtpFrame), PacketCable
CCC (4-octet CCC id + IP packet), RFC 3550 (RTP header), RFC 3551 (PT 0 PCMU, 8 PCMA).

Binary frame (big-endian header, then PCM s16le mono 8 kHz)::

    0  u8   version (1)
    1  u8   direction: 0 from target, 1 to target, 2 unknown / combined
    2  u8   RTP payload type decoded (0 PCMU, 8 PCMA)
    3  u8   flags: bit 0 = heard during a spot check
    4  i64  intercepted_at, µs since the Unix epoch (the carrier's stamp)
    12 i64  arrival: received_at at the intake, µs since the epoch (latency measurement)
    20 i64  sent: when the server queued the frame for this socket, µs since the epoch
    28 u8   length of the LIID (L);  29 u8 length of the CIN (C)
    30      LIID (UTF-8), CIN (UTF-8), one zero octet when 30+L+C is odd (PCM alignment)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232_packets import ip_facts
from calea.sessions import codecs
from calea.store.items import StoreItem

VERSION = 1
FROM_TARGET, TO_TARGET, UNKNOWN = 0, 1, 2
FLAG_SPOT_CHECK = 1
RATE = 8000
_HEAD = struct.Struct(">BBBBqqqBB")
_DIRECTIONS = {"fromTarget": FROM_TARGET, "toTarget": TO_TARGET}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class AudioFrame:
    case_id: str
    key: tuple[str, str]
    direction: int
    payload_type: int
    intercepted_us: int
    arrival_us: int
    pcm: bytes


@dataclass(frozen=True, slots=True)
class CallEvent:
    case_id: str
    key: tuple[str, str]
    event: str  # start | answer | end
    at: datetime
    parties: dict[str, str]

    def to_message(self) -> dict[str, Any]:
        return {"type": "call", "event": self.event, "liid": self.key[0], "cin": self.key[1],
                "at": self.at.isoformat().replace("+00:00", "Z"), **self.parties}


def micros(t: datetime) -> int:
    d = t - _EPOCH
    return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds


def key_of(item: StoreItem) -> tuple[str, str]:
    return (item.liid, item.cin or "")


def audio_of(item: StoreItem) -> AudioFrame | None:
    """The decoded audio of one stored CC item, or None (not G.711 RTP, or not to be heard)."""
    if item.kind != "cc" or item.raw is None or item.quarantined or item.late:
        return None
    try:
        direction, packet, frame_type = _cc_packet(item.format, item.raw)
    except (MalformedRecord, ValueError, IndexError):
        return None
    if packet is None:
        return None
    rtp = packet if frame_type in ("rtpFrame", "artificialRtpFrame") else _transport_payload(packet, frame_type)
    if rtp is None:
        return None
    found = _rtp_payload(rtp)
    if found is None:
        return None
    pt, payload = found
    encoding = codecs.STATIC_PAYLOAD_TYPES.get(pt)
    if encoding is None:
        return None  # not G.711 (other codecs: see calea.sessions.codecs)
    pcm = codecs.decode(encoding, payload).astype("<i2").tobytes()
    return AudioFrame(item.case_id, key_of(item), direction, pt, micros(item.intercepted_at), micros(item.received_at), pcm)


def _cc_packet(fmt: str, raw: bytes) -> tuple[int, bytes | None, str]:
    if fmt == "pcesp-ccc":
        return UNKNOWN, raw[4:], "ipFrame"
    if fmt != "etsi-102232":
        return UNKNOWN, None, ""
    from calea.handover.etsi102232 import decode

    d = decode(raw)
    cc = d.fields.get("cc") or {}
    if cc.get("contents") != "iPMMCC":
        return UNKNOWN, None, ""
    packet = next((p.data for p in d.content if p.name == "mMCCContents"), None)
    return _DIRECTIONS.get(str(cc.get("direction")), UNKNOWN), packet, str(cc.get("frame_type", "ipFrame"))


def _transport_payload(packet: bytes, frame_type: str) -> bytes | None:
    if frame_type == "udpFrame":
        return packet[8:] if len(packet) >= 8 else None
    if frame_type != "ipFrame":
        return None
    facts, payload = ip_facts(packet)
    return payload if facts.get("protocol") == 17 else None


def _rtp_payload(rtp: bytes) -> tuple[int, bytes] | None:
    """(payload type, payload) of an RTP version 2 packet (RFC 3550 §5.1, §5.3.1)."""
    if len(rtp) < 12 or rtp[0] >> 6 != 2:
        return None
    start = 12 + 4 * (rtp[0] & 0x0F)
    if rtp[0] & 0x10:  # header extension
        if len(rtp) < start + 4:
            return None
        start += 4 + 4 * int.from_bytes(rtp[start + 2:start + 4], "big")
    end = len(rtp)
    if rtp[0] & 0x20 and end > start:  # padding: the last octet counts it
        end -= rtp[-1]
    if end <= start:
        return None
    return rtp[1] & 0x7F, rtp[start:end]


def call_event_of(item: StoreItem) -> CallEvent | None:
    """start / answer / end of a call from its IRI (SIP in TS 102 232-5, PacketCable CDC,
    TS 101 671 begin/end); only call-identifying facts (rule A1), never content."""
    if item.kind != "iri" or item.quarantined:
        return None
    f = item.fields
    event = None
    parties: dict[str, str] = {}
    sip = f.get("sip")
    if isinstance(sip, dict):
        method, status = sip.get("method"), sip.get("status_code")
        cseq = " ".join((sip.get("headers") or {}).get("CSeq") or [])
        if method == "INVITE" and not _has_to_tag(sip):
            event = "start"
            parties = _sip_parties(sip)
        elif isinstance(status, int) and cseq.endswith("INVITE") and status >= 200:
            event = "answer" if status < 300 else "end"
        elif method in ("BYE", "CANCEL"):
            event = "end"
        elif method == "MESSAGE":
            return None
    elif isinstance(f.get("message"), str):  # PacketCable CDC
        event = {"origination": "start", "terminationattempt": "start", "answer": "answer", "release": "end"}.get(
            f["message"].replace("_", "").lower())
    else:
        iri = f.get("iri") if isinstance(f.get("iri"), dict) else f
        kind = (iri or {}).get("type") or f.get("iri_type")
        event = {"begin": "start", "end": "end"}.get(str(kind)) if "ip_access" not in f else None
    if event is None:
        return None
    return CallEvent(item.case_id, key_of(item), event, item.intercepted_at, parties)


def _has_to_tag(sip: dict[str, Any]) -> bool:
    to = " ".join((sip.get("headers") or {}).get("To") or [])
    return ";tag=" in to


def _sip_parties(sip: dict[str, Any]) -> dict[str, str]:
    headers = sip.get("headers") or {}
    out = {}
    for name, label in (("From", "from"), ("To", "to")):
        value = " ".join(headers.get(name) or [])
        if value:
            out[label] = value.split(";tag=", 1)[0].strip()[:200]
    return out


def pack_frame(frame: AudioFrame, sent_us: int, flags: int = 0) -> bytes:
    liid, cin = frame.key[0].encode()[:255], frame.key[1].encode()[:255]
    head = _HEAD.pack(VERSION, frame.direction, frame.payload_type, flags, frame.intercepted_us, frame.arrival_us,
                      sent_us, len(liid), len(cin))
    pad = b"\x00" if (len(head) + len(liid) + len(cin)) % 2 else b""
    return head + liid + cin + pad + frame.pcm


def unpack_frame(data: bytes) -> dict[str, Any]:
    """The header fields and PCM of a binary frame (tests, benchmark, other clients)."""
    version, direction, pt, flags, intercepted, arrival, sent, nl, nc = _HEAD.unpack_from(data)
    pos = _HEAD.size
    liid = data[pos:pos + nl].decode()
    cin = data[pos + nl:pos + nl + nc].decode()
    pos += nl + nc
    pos += pos % 2
    return {"version": version, "direction": direction, "payload_type": pt, "flags": flags, "intercepted_us": intercepted,
            "arrival_us": arrival, "sent_us": sent, "liid": liid, "cin": cin, "pcm": data[pos:]}
