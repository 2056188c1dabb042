"""The RTP packet inside a stored CC record, for the recorder (pure).

SPEC: ETSI TS 102 232-1 CCPayload (payloadDirection [0], cCContents [2]); TS 102 232-5
IPMMCC (iPMMCCObjId [0], mMCCContents [1], frameType [2], streamIdentifier [3],
mMCCprotocol [4]); PacketCable CCC datagram (4-octet CCC identifier + IP packet).

ETSI records take a short path and fall back to the full `decode` for any other layout,
so the answer is always the decoder's.  The short path steps over the PSHeader by its
length: every CC record the intake hands on has had its header read (`fast_scan` or
`read_header`) before it was judged and stored, and the recorder takes the LIID, CIN and
interception stamp from the `StoreItem`; then it reads the few CCPayload elements it needs.
`cc_rtp` is what the recorder calls per record (`rtp_view`: no header objects); `cc_media`
gives the same packet parsed in full.
"""

from __future__ import annotations

from calea.handover.ber import decode_enumerated, read_tlv
from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232_types import DIRECTIONS, FRAME_TYPES, MMCC_PROTOCOLS
from calea.sessions.rtp import MediaPacket, RtpView, parse_media, rtp_view

_FRAMES = {"ipFrame": "ip", "udpFrame": "udp", "rtpFrame": "rtp", "artificialRtpFrame": "rtp"}


def cc_media(fmt: str, raw: bytes) -> tuple[MediaPacket, str | None] | None:
    """(RTP packet, the carrier's direction label) of one CC record, or None when it holds
    no RTP.  Raises `MalformedRecord` / `MalformedMedia` for bytes that are not what they say."""
    found = _frame(fmt, raw)
    return None if found is None else (parse_media(found[0], frame=found[1]), found[2])


def cc_rtp(fmt: str, raw: bytes) -> tuple[RtpView, str | None] | None:
    """`cc_media` as the recorder reads it: the packet as a flat `RtpView`."""
    found = _frame(fmt, raw)
    return None if found is None else (rtp_view(found[0], found[1]), found[2])


def _frame(fmt: str, raw: bytes) -> tuple[bytes, str, str | None] | None:
    """(frame, "ip" / "udp" / "rtp", direction label) of the media in one CC record."""
    if fmt == "pcesp-ccc":
        return raw[4:], "ip", None
    if fmt != "etsi-102232":
        return None
    found = _lean(raw)
    if found is None:
        found = _short_path(raw)
    if found is None:
        found = _decoded(raw)
    if found is None:
        return None
    frame, frame_type, protocol, direction = found
    kind = _FRAMES.get(frame_type)
    if kind is None or protocol != "rTP":
        return None
    return frame, kind, direction


def _payload(raw: bytes) -> tuple[int, int]:
    """The value range of the PS-PDU's payload [2]: past the pSHeader [1], by its length."""
    n = len(raw)
    tag, p, e = read_tlv(raw, 0, n)
    if tag != 0x30 or e != n:
        raise ValueError("not a PS-PDU")
    tag, _, p = read_tlv(raw, p, e)
    if tag != 0xA1:
        raise ValueError("no pSHeader")
    tag, p, e = read_tlv(raw, p, e)
    if tag != 0xA2 or e != n:
        raise ValueError("no payload")
    return p, e


# The walk of `_lean`: (tag, descend into it (else step over it), must end where its container ends)
_TO_CCPAYLOAD = (
    (0x30, True, True),  # PS-PDU
    (0xA1, False, False),  # pSHeader [1]: stepped over (the intake read it)
    (0xA2, True, True),  # payload [2], the PDU's last element
    (0xA1, True, False),  # cCPayloadSequence [1]
    (0x30, True, False),  # its first CCPayload
)
_TO_FRAME = (
    (0xA2, True, True),  # cCContents [2], the CCPayload's last element
    (0xAC, True, True),  # iPMMCC [12]
    (0x80, False, False),  # iPMMCCObjId [0]
    (0x81, True, False),  # mMCCContents [1]: the frame
)


def _walk(raw: bytes, p: int, end: int, path: tuple[tuple[int, bool, bool], ...]) -> tuple[int, int, int]:
    """Follow `path` from the element at `p` inside [p, end): (value start, value end, end of
    the innermost container) of its last element; lengths of at most two octets, else ValueError."""
    q = e = outer = 0
    for tag, into, last in path:
        if raw[p] != tag:
            raise ValueError("other layout")
        n = raw[p + 1]
        if n < 0x80:
            q, e = p + 2, p + 2 + n
        elif n == 0x81:
            q, e = p + 3, p + 3 + raw[p + 2]
        elif n == 0x82:
            q, e = p + 4, p + 4 + ((raw[p + 2] << 8) | raw[p + 3])
        else:
            raise ValueError("long length")
        if e > end or (last and e != end):
            raise ValueError("other layout")
        outer = end
        if into:
            p, end = q, e
        else:
            p = e
    return q, e, outer


def _lean(raw: bytes) -> tuple[bytes, str, str, str | None] | None:
    """`_short_path` for the layout every carrier seen so far writes, straight through:
    payload [2] { cCPayloadSequence [1] { CCPayload { payloadDirection [0]?,
    cCContents [2] { iPMMCC [12] { iPMMCCObjId [0], mMCCContents [1], frameType [2]?,
    mMCCprotocol [4]? } } } ... } }, enumerations of one octet.  None: anything else."""
    try:
        p, e, _ = _walk(raw, 0, len(raw), _TO_CCPAYLOAD)  # the CCPayload's value: [p, e)
        direction = None
        if raw[p] == 0x80:  # payloadDirection [0]
            if raw[p + 1] != 1 or raw[p + 2] & 0x80:
                return None
            direction = DIRECTIONS.get(raw[p + 2], "unknown")
            p += 3
        p, q, e = _walk(raw, p, e, _TO_FRAME)  # the frame: [p, q); the iPMMCC ends at e
        frame = raw[p:q]
        frame_type = protocol = 0
        if q < e and raw[q] == 0x82:  # frameType [2]
            if raw[q + 1] != 1 or raw[q + 2] & 0x80:
                return None
            frame_type, q = raw[q + 2], q + 3
        if q < e and raw[q] == 0x84:  # mMCCprotocol [4]
            if raw[q + 1] != 1 or raw[q + 2] & 0x80:
                return None
            protocol, q = raw[q + 2], q + 3
        if q != e:
            return None
        return frame, FRAME_TYPES.get(frame_type, "unknown"), MMCC_PROTOCOLS.get(protocol, "unknown"), direction
    except (IndexError, ValueError):
        return None


def _short_path(raw: bytes) -> tuple[bytes, str, str, str | None] | None:
    try:
        pstart, pend = _payload(raw)
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
