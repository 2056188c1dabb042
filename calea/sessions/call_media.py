"""Digits keyed as RFC 4733 telephone events in a call's RTP content, for its call record (pure).

SPEC: RFC 4733 section 2.3 (payload: event, E bit, volume, duration), 2.5.1.3 (every packet
of an event carries the event's start timestamp; the duration grows; the final packet,
E bit set, is sent three times), 2.5.1.4 (an event longer than the duration field holds
goes on in a new segment whose timestamp is the previous one plus its duration), 3.2
(events 0-15 are the DTMF digits 0-9 * # A-D); RFC 4566 / RFC 3264 (`a=rtpmap:<pt>
telephone-event/<rate>` negotiates the payload type); RFC 3551 section 3 (dynamic payload
types 96-127).

Which packets are events: the payload types that the call's SDP maps to telephone-event
(the SIP SDP of a TS 102 232-5 call, the subject / associate SDP of a PacketCable CCOpen),
at the clock rate it names; when no SDP names one, the conventional dynamic type 101 at
8000 Hz -- unless an SDP maps 101 to something else.

One digit per event: the packets of one stream (SSRC and addresses) with the same RTP
timestamp are one event, however often they come (the three E-bit repetitions, a resend
after a reconnect); a segment that continues an unfinished event of the same digit
(section 2.5.1.4, or a sender that restamps each packet) joins it.  Non-DTMF events
(16 and up: flash, tones) are not digits.  Only the first event block of a packet is
read, as in `calea.sessions.rtp`.

Time: an event started `duration / rate` seconds before the packet that reports that
duration was intercepted; the earliest such instant over its packets is the digit's time
(robust to reordering and to the jitter of any one packet).

Side: who keyed it -- the SDP media addresses (`recording_sides.side_by_sdp`), else the
carrier's direction label (`fromTarget` / `toTarget`); None when neither tells.

A6: this module only finds the digits.  `call_model` classes each as dialling (before the
answer, call-identifying) or post-cut-through (after it: content) and refuses the latter
where no eavesdropping authority is in force.  Under a PRTT order no RTP reaches the
store at all, so there is nothing here to find.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from calea.handover.etsi102232_sip import parse_sdp
from calea.sessions.call_model import IndexRecord, MediaDigit
from calea.sessions.call_parties import TargetIdentity
from calea.sessions.recording_sides import LEFT, MediaMap, learn_from_ccopen, learn_from_sip, side_by_label, side_by_sdp
from calea.sessions.rtp import DTMF, MalformedMedia, MediaPacket, parse_telephone_event

__all__ = ["DEFAULT_EVENT_TYPE", "DigitCollector", "MediaContext", "MediaDigit", "is_event_candidate", "media_context"]

DEFAULT_EVENT_TYPE = (101, 8000)  # the usual dynamic payload type of telephone-event
_JOIN = 0.01  # seconds: a new segment this close to where an unfinished event ends continues it
_MAX_PAYLOAD = 64


@dataclass
class MediaContext:
    """What a call's signalling says about its media: the telephone-event payload types
    (PT -> clock rate) and the media addresses of each party."""

    event_types: dict[int, int] = field(default_factory=dict)
    other_types: set[int] = field(default_factory=set)  # payload types the SDP gives to anything else
    media: MediaMap = field(default_factory=MediaMap)

    def rate(self, payload_type: int) -> int | None:
        """The clock rate when `payload_type` carries telephone events, else None."""
        if payload_type in self.event_types:
            return self.event_types[payload_type]
        pt, rate = DEFAULT_EVENT_TYPE
        if payload_type == pt and not self.event_types and pt not in self.other_types:
            return rate
        return None

    def learn_sdp(self, sdp: Mapping[str, Any]) -> None:
        for m in sdp.get("media") or ():
            if not isinstance(m, Mapping) or m.get("media") != "audio":
                continue
            for pt, encoding in (m.get("rtpmap") or {}).items():
                if not str(pt).isdigit():
                    continue
                name, _, rest = str(encoding).partition("/")
                if name.strip().lower() == "telephone-event":
                    rate = rest.split("/", 1)[0].strip()
                    self.event_types[int(pt)] = int(rate) if rate.isdigit() and int(rate) > 0 else 8000
                else:
                    self.other_types.add(int(pt))


def media_context(records: Iterable[IndexRecord], target: TargetIdentity) -> MediaContext:
    """The media context of a call from its IRI records (SIP SDP, PacketCable CCOpen SDP)."""
    ctx = MediaContext()
    for rec in records:
        f = rec.fields
        sip = f.get("sip")
        if isinstance(sip, Mapping) and isinstance(sip.get("sdp"), Mapping):
            ctx.learn_sdp(sip["sdp"])
            learn_from_sip(ctx.media, sip, target)
        elif f.get("message") in ("ccopen", "ccchange", "mediareport"):
            for name in ("sdp_subject", "sdp_associate"):
                text = f.get(name)
                if isinstance(text, str) and text.strip():
                    ctx.learn_sdp(parse_sdp(text.encode("utf-8", "replace")))
            learn_from_ccopen(ctx.media, f)
    return ctx


def is_event_candidate(packet: MediaPacket) -> bool:
    """Whether an RTP packet may be a telephone event (whatever the SDP says): a payload
    type not statically assigned to audio or video and a payload of whole event blocks.
    Cheap; used to pick the packets worth keeping before the call's SDP is known."""
    pt, size = packet.rtp.payload_type, len(packet.rtp.payload)
    return (pt >= 96 or 35 <= pt <= 71 or 77 <= pt <= 95) and 4 <= size <= _MAX_PAYLOAD and size % 4 == 0


@dataclass
class _Event:
    digit: str
    code: int
    base_ts: int  # the RTP timestamp of its first segment
    rate: int
    start: datetime
    length: int  # samples from base_ts to the latest reported end
    ended: bool
    leaf: int | None
    first_at: datetime
    side: str | None
    cin: str


@dataclass
class _Stream:
    side: str | None
    events: list[_Event] = field(default_factory=list)
    by_ts: dict[int, _Event] = field(default_factory=dict)


class DigitCollector:
    """Collapses the RFC 4733 packets of one call's content into `MediaDigit`s."""

    def __init__(self, ctx: MediaContext) -> None:
        self.ctx = ctx
        self._streams: dict[tuple[Any, ...], _Stream] = {}
        self.counts = {"packets": 0, "malformed": 0, "other_events": 0}

    def feed(self, packet: MediaPacket, at: datetime, *, cin: str = "", leaf: int | None = None,
             label: str | None = None) -> None:
        """One RTP packet of the call, intercepted at `at` (any order, duplicates allowed)."""
        rtp = packet.rtp
        rate = self.ctx.rate(rtp.payload_type)
        if rate is None:
            return
        try:
            ev = parse_telephone_event(rtp.payload)
        except MalformedMedia:
            self.counts["malformed"] += 1
            return
        self.counts["packets"] += 1
        if ev.event >= len(DTMF):
            self.counts["other_events"] += 1
            return
        stream = self._stream(packet, label)
        found = stream.by_ts.get(rtp.timestamp)
        if found is None:
            found = self._continued(stream, ev.event, rtp.timestamp)
            if found is None:
                found = _Event(DTMF[ev.event], ev.event, rtp.timestamp, rate, at, 0, False, leaf, at, stream.side, cin)
                stream.events.append(found)
            stream.by_ts[rtp.timestamp] = found
        reach = ((rtp.timestamp - found.base_ts) & 0xFFFFFFFF) + ev.duration
        found.length = max(found.length, reach)
        found.start = min(found.start, at - timedelta(seconds=reach / found.rate))
        found.ended = found.ended or ev.end
        if at < found.first_at:  # the leaf named is that of the earliest packet of the event (D1)
            found.first_at, found.leaf = at, leaf if leaf is not None else found.leaf
        elif found.leaf is None:
            found.leaf = leaf

    def _continued(self, stream: _Stream, code: int, ts: int) -> _Event | None:
        for prev in reversed(stream.events[-2:]):
            if prev.code != code or prev.ended:
                continue
            offset = (ts - prev.base_ts) & 0xFFFFFFFF
            if 0 < offset <= prev.length + prev.rate * _JOIN:
                return prev
        return None

    def _stream(self, packet: MediaPacket, label: str | None) -> _Stream:
        u = packet.udp
        key = (packet.rtp.ssrc,) + ((u.src, u.src_port, u.dst, u.dst_port) if u is not None else ())
        stream = self._streams.get(key)
        if stream is None:
            side = side_by_sdp(self.ctx.media, u)
            if side is None:
                side = side_by_label(label)
            stream = self._streams[key] = _Stream(None if side is None else "target" if side == LEFT else "other")
        return stream

    def digits(self) -> list[MediaDigit]:
        """One digit per event, in time order."""
        out = [MediaDigit(e.start, e.digit, round(e.length * 1000 / e.rate), e.side, e.cin, e.leaf, e.ended)
               for s in self._streams.values() for e in s.events]
        return sorted(out, key=lambda d: (d.at, d.cin, d.leaf_index if d.leaf_index is not None else -1))
