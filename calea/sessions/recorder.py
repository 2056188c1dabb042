"""The stereo recording of one call, built incrementally from its RTP packets (pure core).

One `CallRecording` per communication key `(liid, cin)`.  Packets are `feed()` as the
store keeps them (any order, duplicates, losses, several SSRCs); `pump()` hands out the
audio older than the jitter-buffer delay as contiguous `Block`s of 8 kHz 16-bit stereo
(left: the target, right: the other party; see `recording_sides`), and `finish()` the
rest.  No clock, no files: the caller passes every time in and writes the blocks out
(`recording_output`, `recording_store`).

Timeline.  Sample positions count from the carrier's interception stamp of the first
packet (`origin`).  A stream (one SSRC between two endpoints) is anchored at its first
packet: position = anchor + (RTP timestamp - anchor timestamp), so network jitter does not
move audio; when the RTP timestamp and the interception stamp disagree by more than
`max_jump` for three packets running (a sender's timestamp jump, a restarted stream), the
stream is re-anchored on the stamp; a single such packet was held up in the network and
keeps its RTP position.  A new SSRC is a new stream on the same channel (placed by the same SDP).  Gaps --
lost packets, silence suppression, comfort noise (RFC 3389: a silence, not a loss) -- are
zeros.  A packet that arrives after its time was handed out is *late* and dropped (counted).

Minimization (rule A2, 18 U.S.C. §2518(5)).  A packet the caller marks `minimized` is
not decoded and nothing of it is kept; its time, and every instant inside the minimized
intervals passed to `pump()` / `finish()`, is silence in the recording and listed in
`minimized` markers.  RFC 4733 digits heard while minimized are not reported either.

Rule F1: audio is decoded, ordered and written; it is never analysed for who is speaking.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from calea.sessions import codecs
from calea.sessions.recording_sides import BY_LABEL, BY_SDP, GUESSED, LEFT, MediaMap, place, side_by_label
from calea.sessions.rtp import PT_COMFORT_NOISE, MalformedMedia, MediaPacket, UdpDatagram, parse_telephone_event

RATE = codecs.RATE
Interval = tuple[datetime, datetime | None]
_STATIC = {**codecs.STATIC_PAYLOAD_TYPES, PT_COMFORT_NOISE: "CN"}
_DEFAULT_DYNAMIC = {101: "TELEPHONE-EVENT"}  # the usual choice, when no SDP says otherwise
_LOW, _HIGH, _KEYS = (697, 770, 852, 941), (1209, 1336, 1477, 1633), "123A456B789C*0#D"
_RECENT = 2048  # sequence numbers remembered per stream for duplicate detection
_JUMP_CONFIRM = 3  # consecutive packets off their stamp by more than max_jump: the stream's clock jumped


@dataclass(frozen=True)
class RecorderConfig:
    delay: int = RATE  # samples held back for reordering (1 s)
    commit_every: int = RATE // 2  # hand out audio in steps of at least this many samples
    max_jump: int = RATE  # RTP timestamp vs interception stamp disagreement that re-anchors
    max_gap: int = 6 * 3600 * RATE  # a packet further ahead of the call than this is discarded
    block: int = 30 * RATE  # the largest block handed out
    merge_minimized: int = RATE // 10  # minimized spans this close are one marker


@dataclass(frozen=True)
class Block:
    start: int  # sample offset from the start of the recording
    left: np.ndarray  # int16, the target
    right: np.ndarray  # int16, the other party
    minimized: tuple[tuple[int, int], ...] = ()  # [start, end) offsets silenced in this block


@dataclass
class _Stream:
    index: int
    ssrc: int
    udp: UdpDatagram | None
    label: str | None
    side: int | None = None
    how: str | None = None
    anchor: tuple[int, int] | None = None  # (RTP timestamp, position)
    first_pos: int = 0
    first_ext: int | None = None
    max_ext: int = 0
    received: int = 0
    recent: set[int] = field(default_factory=set)
    order: deque[int] = field(default_factory=deque)
    events: dict[int, int] = field(default_factory=dict)  # RFC 4733 event timestamp -> samples rendered
    held: list[tuple[Any, ...]] = field(default_factory=list)  # packets whose timestamp disagrees with their stamp

    def is_duplicate(self, seq: int) -> bool:
        if self.first_ext is None:
            ext = self.first_ext = self.max_ext = seq
        else:
            delta = ((seq - (self.max_ext & 0xFFFF) + 0x8000) & 0xFFFF) - 0x8000
            ext = self.max_ext + delta
            if ext in self.recent:
                return True
            self.max_ext = max(self.max_ext, ext)
            self.first_ext = min(self.first_ext, ext)
        self.recent.add(ext)
        self.order.append(ext)
        if len(self.order) > _RECENT:
            self.recent.discard(self.order.popleft())
        self.received += 1
        return False

    @property
    def lost(self) -> int:
        return 0 if self.first_ext is None else max(0, self.max_ext - self.first_ext + 1 - self.received)


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def dtmf_tone(digit: str, start: int, count: int, volume: int) -> np.ndarray:
    """The DTMF dual tone (ITU-T Q.23) of `digit` for samples [start, start+count) of the
    event, at the RFC 4733 volume (-dBm0), so the recording sounds as the call did."""
    i = _KEYS.index(digit)
    t = np.arange(start, start + count, dtype=np.float64) / RATE
    amplitude = 6000.0 * 10 ** (-(max(volume, 0) - 10) / 20.0)
    amplitude = min(amplitude, 12000.0)
    wave = amplitude * (np.sin(2 * np.pi * _LOW[i // 4] * t) + np.sin(2 * np.pi * _HIGH[i % 4] * t))
    return wave.astype(np.int16)


class CallRecording:
    def __init__(self, config: RecorderConfig | None = None) -> None:
        self.config = config or RecorderConfig()
        self.media = MediaMap()
        self.origin: datetime | None = None
        self.stats: Counter[str] = Counter()
        self.unsupported: Counter[str] = Counter()
        self.digits: list[dict[str, Any]] = []
        self._streams: dict[tuple[Any, ...], _Stream] = {}
        self._placed: list[tuple[UdpDatagram | None, int]] = []
        self._pending: list[tuple[int, _Stream, np.ndarray | None, int]] = []  # (position, stream, samples or None: minimized, count)
        self._first: int | None = None
        self._end: int | None = None
        self._w0: int | None = None  # position of the recording's first sample
        self._w: int | None = None  # everything before this position has been handed out
        self._minimized: list[list[int]] = []  # [start, end) offsets

    # --- input -------------------------------------------------------------------------------

    def position(self, at: datetime) -> int:
        assert self.origin is not None
        return round((at - self.origin).total_seconds() * RATE)

    def feed(self, packet: MediaPacket, at: datetime, *, label: str | None = None, minimized: bool = False) -> None:
        """One RTP packet, intercepted at `at`; `label` is the carrier's direction label."""
        if self.origin is None:
            self.origin = at
        rtp = packet.rtp
        stream = self._stream(packet, label)
        if stream.is_duplicate(rtp.sequence):
            self.stats["duplicates"] += 1
            return
        self.stats["packets"] += 1
        encoding = _STATIC.get(rtp.payload_type) or self.media.payload_types.get(rtp.payload_type) \
            or _DEFAULT_DYNAMIC.get(rtp.payload_type, f"PT{rtp.payload_type}")
        event = None
        if encoding == "TELEPHONE-EVENT":
            try:
                event = parse_telephone_event(rtp.payload)
            except MalformedMedia:
                self.stats["malformed"] += 1
                return
        pos_time = self.position(at)
        if stream.anchor is None:
            stream.anchor, stream.first_pos = (rtp.timestamp, pos_time), pos_time
        held = (rtp, encoding, event, pos_time, minimized)
        pos = stream.anchor[1] + _signed32(rtp.timestamp - stream.anchor[0])
        if abs(pos + (event.duration if event is not None else 0) - pos_time) > self.config.max_jump:
            stream.held.append(held)  # a jump, or one packet held up in the network?
            if len(stream.held) >= _JUMP_CONFIRM:
                self._reanchor(stream)
            return
        if stream.held:  # the stream did not jump: the held packets were just delayed
            for h in stream.held:
                self._put(stream, *h)
            stream.held.clear()
        self._put(stream, *held)

    def _reanchor(self, stream: _Stream) -> None:
        """The stream's RTP clock jumped: anchor it again on the first held packet's stamp."""
        rtp, _, event, pos_time, _ = stream.held[0]
        stream.anchor = (rtp.timestamp, pos_time - (event.duration if event is not None else 0))
        self.stats["timestamp_jumps"] += 1
        for h in stream.held:
            self._put(stream, *h)
        stream.held.clear()

    def _put(self, stream: _Stream, rtp: Any, encoding: str, event: Any, pos_time: int, minimized: bool) -> None:
        assert stream.anchor is not None
        pos = stream.anchor[1] + _signed32(rtp.timestamp - stream.anchor[0])
        if encoding == "CN":
            self.stats["comfort_noise"] += 1  # RFC 3389: the sender is silent: zeros follow
            return
        if encoding in codecs.SUPPORTED:
            count = len(rtp.payload)
        elif event is not None:
            count = event.duration
        else:
            self.unsupported[encoding] += 1
            return
        if self._end is not None and pos - self._end > self.config.max_gap:
            self.stats["discarded"] += 1
            return
        if self._w is not None and pos + count <= self._w:
            self.stats["late"] += 1
            return
        if minimized:
            self.stats["minimized"] += 1
            self._add(pos, stream, None, count)
            return
        if event is not None:
            self._event(stream, event, pos, rtp.timestamp)
        else:
            self._add(pos, stream, codecs.decode(encoding, rtp.payload), count)

    def _stream(self, packet: MediaPacket, label: str | None) -> _Stream:
        u = packet.udp
        key = (packet.rtp.ssrc,) + ((u.src, u.src_port, u.dst, u.dst_port) if u is not None else ())
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(len(self._streams), packet.rtp.ssrc, u, label)
        return stream

    def _add(self, pos: int, stream: _Stream, samples: np.ndarray | None, count: int) -> None:
        if count <= 0:
            return
        self._pending.append((pos, stream, samples, count))
        self._first = pos if self._first is None else min(self._first, pos)
        self._end = pos + count if self._end is None else max(self._end, pos + count)

    def _event(self, stream: _Stream, event: Any, pos: int, timestamp: int) -> None:
        digit = event.digit
        if digit is None:
            self.stats["other_events"] += 1
            return
        done = stream.events.get(timestamp)
        if done is None:
            self.digits.append({"stream": stream.index, "digit": digit, "pos": pos, "duration": event.duration,
                                "volume": event.volume, "ended": event.end})
            done = 0
        else:
            for d in reversed(self.digits):
                if d["stream"] == stream.index and d["pos"] == pos:
                    d["duration"] = max(d["duration"], event.duration)
                    d["ended"] = d["ended"] or event.end
                    break
        if event.duration > done:
            stream.events[timestamp] = event.duration
            self._add(pos + done, stream, dtmf_tone(digit, done, event.duration - done, event.volume), event.duration - done)

    # --- output ------------------------------------------------------------------------------

    def pump(self, minimized: Iterable[Interval] = ()) -> list[Block]:
        """The blocks older than the jitter-buffer delay (may be none yet)."""
        if self._end is None or self._first is None:
            return []
        upto = self._end - self.config.delay
        start = self._w if self._w is not None else self._first
        if upto - start < self.config.commit_every:
            return []
        return self._commit(upto, list(minimized))

    def finish(self, minimized: Iterable[Interval] = ()) -> list[Block]:
        """Everything still held back: the call has ended."""
        for stream in self._streams.values():
            if stream.held:
                self._reanchor(stream)
        if self._end is None:
            return []
        return self._commit(self._end, list(minimized))

    def _commit(self, upto: int, minimized: list[Interval]) -> list[Block]:
        if self._w is None:
            assert self._first is not None
            self._w = self._w0 = self._first
        blocks = []
        while self._w < upto:
            stop = min(upto, self._w + self.config.block)
            blocks.append(self._block(self._w, stop, minimized))
            self._w = stop
        return blocks

    def _block(self, a: int, b: int, minimized: list[Interval]) -> Block:
        assert self._w0 is not None
        lanes = np.zeros((2, b - a), dtype=np.int16)
        mask = np.zeros(b - a, dtype=bool)
        keep = []
        for entry in self._pending:
            pos, stream, samples, count = entry
            if pos >= b:
                keep.append(entry)
                continue
            if pos + count > b:
                keep.append(entry)
            lo, hi = max(pos, a), min(pos + count, b)
            if hi <= lo:
                continue
            if samples is None:
                mask[lo - a:hi - a] = True
                continue
            if stream.side is None:
                self._place(stream)
            assert stream.side is not None
            lanes[stream.side, lo - a:hi - a] = samples[lo - pos:hi - pos]
        self._pending = keep
        for start, end in minimized:
            lo = max(a, self.position(start))
            hi = min(b, self.position(end) if end is not None else b)
            if hi > lo:
                mask[lo - a:hi - a] = True
        spans = self._mask_spans(mask, a)
        for lo, hi in spans:
            lanes[:, lo - a:hi - a] = 0
        return Block(a - self._w0, lanes[0], lanes[1], tuple((lo - self._w0, hi - self._w0) for lo, hi in spans))

    def _mask_spans(self, mask: np.ndarray, a: int) -> list[tuple[int, int]]:
        """Runs of `mask` as absolute [start, end), small holes closed; also kept as markers."""
        assert self._w0 is not None
        if not mask.any():
            return []
        edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
        spans: list[tuple[int, int]] = []
        for lo, hi in zip(edges[::2] + a, edges[1::2] + a):
            if spans and lo - spans[-1][1] <= self.config.merge_minimized:
                spans[-1] = (spans[-1][0], int(hi))
            else:
                spans.append((int(lo), int(hi)))
        for lo, hi in spans:
            off_lo, off_hi = lo - self._w0, hi - self._w0
            if self._minimized and off_lo - self._minimized[-1][1] <= self.config.merge_minimized:
                self._minimized[-1][1] = off_hi
            else:
                self._minimized.append([off_lo, off_hi])
        return spans

    def _place(self, stream: _Stream) -> None:
        stream.side, stream.how = place(self.media, stream.udp, stream.label, self._placed)
        self._placed.append((stream.udp, stream.side))
        self.stats[f"placed_by_{stream.how}"] += 1
        by_label = side_by_label(stream.label)
        if stream.how == BY_SDP and by_label is not None and by_label != stream.side:
            self.stats["labels_contradicted"] += 1  # the carrier's direction label was wrong

    # --- what is known -----------------------------------------------------------------------

    @property
    def samples(self) -> int:
        return 0 if self._w is None or self._w0 is None else self._w - self._w0

    @property
    def started_at(self) -> datetime | None:
        if self.origin is None or self._w0 is None:
            return None
        return self.origin + timedelta(seconds=self._w0 / RATE)

    @property
    def has_audio(self) -> bool:
        return self._end is not None

    def placement(self) -> str:
        """How the channels were chosen: the least certain of the streams' placements."""
        hows = {s.how for s in self._streams.values() if s.how}
        for how in (GUESSED, BY_LABEL, BY_SDP):
            if how in hows:
                return how
        return GUESSED

    def summary(self) -> dict[str, Any]:
        w0 = self._w0 or 0
        start = self.started_at

        def ms(pos: int) -> int:
            return round((pos - w0) * 1000 / RATE)

        streams = sorted(self._streams.values(), key=lambda s: s.first_pos)
        sides = {s.index: s.side for s in streams}
        return {
            "sample_rate": RATE, "channels": ["target", "other party"],
            "started_at": start.isoformat() if start else None, "duration_ms": round(self.samples * 1000 / RATE),
            "placement": self.placement(),
            "streams": [{"ssrc": f"{s.ssrc:08x}", "channel": "target" if s.side == LEFT else "other party" if s.side is not None else None,
                         "placed_by": s.how, "carrier_label": s.label,
                         "src": f"{s.udp.src}:{s.udp.src_port}" if s.udp else None,
                         "dst": f"{s.udp.dst}:{s.udp.dst_port}" if s.udp else None,
                         "first_ms": ms(s.first_pos), "packets": s.received, "lost": s.lost} for s in streams],
            "digits": [{"digit": d["digit"], "channel": "target" if sides[d["stream"]] == LEFT else "other party",
                        "offset_ms": ms(d["pos"]), "duration_ms": round(d["duration"] * 1000 / RATE),
                        "at": (self.origin + timedelta(seconds=d["pos"] / RATE)).isoformat() if self.origin else None}
                       for d in self.digits],
            "minimized": [{"start_ms": round(lo * 1000 / RATE), "end_ms": round(hi * 1000 / RATE)} for lo, hi in self._minimized],
            "counts": dict(self.stats), "unsupported_payloads": dict(self.unsupported),
        }
