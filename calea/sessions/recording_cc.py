"""The RTP packet inside a stored CC record, for the recorder (pure).

SPEC: ETSI TS 102 232-1 CCPayload (payloadDirection [0], cCContents [2]); TS 102 232-5
IPMMCC (iPMMCCObjId [0], mMCCContents [1], frameType [2], streamIdentifier [3],
mMCCprotocol [4]); PacketCable CCC datagram (4-octet CCC identifier + IP packet).

ETSI records take a short path (the PSHeader through `etsi102232_header.scan`, then the
few CCPayload elements the recorder needs) and fall back to the full `decode` for any
other layout, so the answer is always the decoder's.
"""

from __future__ import annotations

from calea.handover.ber import decode_enumerated, read_tlv
from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232_types import DIRECTIONS, FRAME_TYPES, MMCC_PROTOCOLS
from calea.sessions.rtp import MediaPacket, parse_media

_FRAMES = {"ipFrame": "ip", "udpFrame": "udp", "rtpFrame": "rtp", "artificialRtpFrame": "rtp"}


def cc_media(fmt: str, raw: bytes) -> tuple[MediaPacket, str | None] | None:
    """(RTP packet, the carrier's direction label) of one CC record, or None when it holds
    no RTP.  Raises `MalformedRecord` / `MalformedMedia` for bytes that are not what they say."""
    if fmt == "pcesp-ccc":
        return parse_media(raw[4:]), None
    if fmt != "etsi-102232":
        return None
    found = _short_path(raw)
    if found is None:
        found = _decoded(raw)
    if found is None:
        return None
    frame, frame_type, protocol, direction = found
    kind = _FRAMES.get(frame_type)
    if kind is None or protocol != "rTP":
        return None
    return parse_media(frame, frame=kind), direction


def _short_path(raw: bytes) -> tuple[bytes, str, str, str | None] | None:
    from calea.handover.etsi102232_header import scan

    try:
        _, pstart, pend = scan(raw)
        tag, q, e = read_tlv(raw, pstart, pend)
        if tag != 0xA1:  # cCPayloadSequence
            return None
        tag, q, e = read_tlv(raw, q, e)
        if tag != 0x30:  # the first CCPayload
            return None
        direction = None
        contents: tuple[int, int] | None = None
        pos = q
        while pos < e:
            tag, vq, ve = read_tlv(raw, pos, e)
            if tag == 0x80:
                direction = DIRECTIONS.get(decode_enumerated(raw[vq:ve]), "unknown")
            elif tag == 0xA2:
                contents = (vq, ve)
            pos = ve
        if contents is None:
            return None
        tag, q, e = read_tlv(raw, *contents)
        if tag != 0xAC:  # not iPMMCC
            return None
        frame, frame_type, protocol = None, "ipFrame", "rTP"
        pos = q
        while pos < e:
            tag, vq, ve = read_tlv(raw, pos, e)
            if tag == 0x81:
                frame = raw[vq:ve]
            elif tag == 0x82:
                frame_type = FRAME_TYPES.get(decode_enumerated(raw[vq:ve]), "unknown")
            elif tag == 0x84:
                protocol = MMCC_PROTOCOLS.get(decode_enumerated(raw[vq:ve]), "unknown")
            pos = ve
        return None if frame is None else (frame, frame_type, protocol, direction)
    except (IndexError, ValueError, MalformedRecord):
        return None  # the full decoder decides, and names the problem


def _decoded(raw: bytes) -> tuple[bytes, str, str, str | None] | None:
    from calea.handover.etsi102232 import decode
    from calea.handover.model import Channel

    d = decode(raw, Channel.HI3)
    cc = d.fields.get("cc") or {}
    if cc.get("contents") != "iPMMCC" or not d.content:
        return None
    return d.content[0].data, cc.get("frame_type", "ipFrame"), cc.get("protocol", "rTP"), cc.get("direction")
