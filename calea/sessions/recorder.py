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

Cost.  `feed_view` takes the flat `RtpView` (`rtp.rtp_view`: no header objects per packet)
and keeps a G.711 payload as its codes; a block is decoded and put in place in one step
(one table lookup and one scatter for all its packets).  When two packets of a channel
overlap, the block is written packet by packet instead, so the later one wins as before.

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
from calea.sessions.rtp import (
    PT_COMFORT_NOISE,
    MalformedMedia,
    MediaPacket,
    RtpView,
    UdpDatagram,
    parse_telephone_event,
    udp_of,
    view_of,
)

RATE = codecs.RATE
Interval = tuple[datetime, datetime | None]
_STATIC = {**codecs.STATIC_PAYLOAD_TYPES, PT_COMFORT_NOISE: "CN"}
_DEFAULT_DYNAMIC = {101: "TELEPHONE-EVENT"}  # the usual choice, when no SDP says otherwise
_LOW, _HIGH, _KEYS = (697, 770, 852, 941), (1209, 1336, 1477, 1633), "123A456B789C*0#D"
_RECENT = 2048  # sequence numbers remembered per stream for duplicate detection
_JUMP_CONFIRM = 3  # consecutive packets off their stamp by more than max_jump: the stream's clock jumped
_TABLES = (codecs.ULAW_TABLE, codecs.ALAW_TABLE)  # by table number: the codes a pending packet keeps
_TABLE_OF = {codecs.PCMU: 0, codecs.PCMA: 1}
_BOTH_TABLES = np.concatenate(_TABLES)  # code + 256 * table number -> sample


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
            top = self.max_ext
            ext = top + ((seq - (top & 0xFFFF) + 0x8000) & 0xFFFF) - 0x8000
            if ext in self.recent:
                return True
            if ext > top:
                self.max_ext = ext
            elif ext < self.first_ext:
                self.first_ext = ext
        self.recent.add(ext)
        order = self.order
        order.append(ext)
        if len(order) > _RECENT:
            self.recent.discard(order.popleft())
        self.received += 1
        return False

    @property
    def lost(self) -> int:
        return 0 if self.first_ext is None else max(0, self.max_ext - self.first_ext + 1 - self.received)


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _write(lanes: np.ndarray, writes: list[tuple[int, int, int, bytes | np.ndarray, int | None]]) -> None:
    """Put the packets of a block in place: `writes` in the order they were fed, each
    (channel, offset, count, data, table): G.711 codes (bytes) decoded with `_TABLES[table]`,
    or samples (table None).  Where no two writes share a sample the order does not matter:
    all the codes are decoded by one lookup and scattered at once; else one by one, in order."""
    n = lanes.shape[1]
    sides, offsets, counts, data, tables = zip(*writes)
    key = np.array(sides, dtype=np.int64) * n + np.array(offsets, dtype=np.int64)
    lengths = np.array(counts, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    overlap = bool(np.any(key[order][1:] < (key + lengths)[order][:-1]))
    coded = [i for i, t in enumerate(tables) if t is not None] if not overlap else []
    if not overlap and len(coded) > 1:
        codes = np.frombuffer(b"".join([data[i] for i in coded]), dtype=np.uint8)  # type: ignore[misc]
        if len(coded) == len(writes):
            at, lens, which = key, lengths, tables
        else:
            at, lens, which = key[coded], lengths[coded], tuple(tables[i] for i in coded)
        starts = np.cumsum(lens) - lens
        index = np.arange(len(codes), dtype=np.int64) + np.repeat(at - starts, lens)
        if all(t == which[0] for t in which):
            values = _TABLES[which[0]][codes]  # type: ignore[index]
        else:
            values = _BOTH_TABLES[codes.astype(np.int64) + np.repeat(np.array(which, dtype=np.int64) * 256, lens)]
        lanes.reshape(-1)[index] = values
        rest = [i for i, t in enumerate(tables) if t is None]
    else:
        rest = range(len(writes))
    for i in rest:
        side, off, count, d, t = writes[i]
        lanes[side, off:off + count] = d if t is None else _TABLES[t][np.frombuffer(d, dtype=np.uint8)]  # type: ignore[arg-type]


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
        # (position, stream, data, count, table): data is G.711 codes (bytes) decoded with
        # _TABLES[table], samples (table None), or None: minimized
        self._pending: list[tuple[int, _Stream, bytes | np.ndarray | None, int, int | None]] = []
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
        self.feed_view(view_of(packet), at, label=label, minimized=minimized)

    def feed_view(self, rtp: RtpView, at: datetime, *, label: str | None = None, minimized: bool = False) -> None:
        """`feed` for the flat view of a packet (`rtp.rtp_view`, `recording_cc.cc_rtp`)."""
        if self.origin is None:
            self.origin = at
        stream = self._streams.get((rtp.ssrc, rtp.flow))
        if stream is None:
            stream = self._new_stream(rtp, label)
        if stream.is_duplicate(rtp.sequence):
            self.stats["duplicates"] += 1
            return
        self.stats["packets"] += 1
        pt = rtp.payload_type
        encoding = _STATIC.get(pt) or self.media.payload_types.get(pt) or _DEFAULT_DYNAMIC.get(pt, f"PT{pt}")
        event = None
        if encoding == "TELEPHONE-EVENT":
            try:
                event = parse_telephone_event(rtp.payload)
            except MalformedMedia:
                self.stats["malformed"] += 1
                return
        pos_time = round((at - self.origin).total_seconds() * RATE)  # self.position(at)
        anchor = stream.anchor
        if anchor is None:
            anchor = stream.anchor = (rtp.timestamp, pos_time)
            stream.first_pos = pos_time
        pos = (rtp.timestamp - anchor[0]) & 0xFFFFFFFF  # _signed32, inline
        pos = anchor[1] + (pos - 0x100000000 if pos & 0x80000000 else pos)
        if abs(pos + (event.duration if event is not None else 0) - pos_time) > self.config.max_jump:
            stream.held.append((rtp, encoding, event, pos_time, minimized))  # a jump, or one packet held up in the network?
            if len(stream.held) >= _JUMP_CONFIRM:
                self._reanchor(stream)
            return
        if stream.held:  # the stream did not jump: the held packets were just delayed
            for h in stream.held:
                self._put(stream, *h)
            stream.held.clear()
        self._put(stream, rtp, encoding, event, pos_time, minimized, pos)

    def _reanchor(self, stream: _Stream) -> None:
        """The stream's RTP clock jumped: anchor it again on the first held packet's stamp."""
        rtp, _, event, pos_time, _ = stream.held[0]
        stream.anchor = (rtp.timestamp, pos_time - (event.duration if event is not None else 0))
        self.stats["timestamp_jumps"] += 1
        for h in stream.held:
            self._put(stream, *h)
        stream.held.clear()

    def _put(self, stream: _Stream, rtp: Any, encoding: str, event: Any, pos_time: int, minimized: bool,
             pos: int | None = None) -> None:
        """Place one packet at `pos` (by default: its RTP timestamp against the stream's anchor)."""
        if pos is None:
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
            return
        self._pending.append((pos, stream, rtp.payload, count, _TABLE_OF[encoding]))  # self._add, inline
        if self._first is None or pos < self._first:
            self._first = pos
        end = pos + count
        if self._end is None or end > self._end:
            self._end = end

    def _new_stream(self, rtp: RtpView, label: str | None) -> _Stream:
        """A stream: one SSRC in one UDP flow (its addresses are read once, here)."""
        stream = self._streams[(rtp.ssrc, rtp.flow)] = _Stream(len(self._streams), rtp.ssrc, udp_of(rtp), label)
        return stream

    def _add(self, pos: int, stream: _Stream, data: bytes | np.ndarray | None, count: int, table: int | None = None) -> None:
        if count <= 0:
            return
        self._pending.append((pos, stream, data, count, table))
        if self._first is None or pos < self._first:
            self._first = pos
        end = pos + count
        if self._end is None or end > self._end:
            self._end = end

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
        n = b - a
        lanes = np.zeros((2, n), dtype=np.int16)
        mask = np.zeros(n, dtype=bool)
        keep = []
        writes: list[tuple[int, int, int, bytes | np.ndarray, int | None]] = []  # (side, offset, count, data, table)
        for entry in self._pending:
            pos, stream, data, count, table = entry
            if pos >= b:
                keep.append(entry)
                continue
            end = pos + count
            if end > b:
                keep.append(entry)
            lo = pos if pos > a else a
            hi = end if end < b else b
            if hi <= lo:
                continue
            if data is None:
                mask[lo - a:hi - a] = True
                continue
            if stream.side is None:
                self._place(stream)
            assert stream.side is not None
            writes.append((stream.side, lo - a, hi - lo, data if lo == pos and hi == end else data[lo - pos:hi - pos], table))
        self._pending = keep
        if writes:
            _write(lanes, writes)
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
