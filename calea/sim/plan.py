"""What the builder hands the carrier: per-connection lists of records and markers.

A `Plan` holds, for HI2 and HI3, the records in timeline order (`Record`: the bytes of
one PS-PDU / IRIsContent / CdcPdu, or one CCC datagram) with `Drop` markers where the
connection is to be dropped and re-established.  Sequence numbers are assigned here,
after sorting: per connection, per (LIID, CIN), from 0 (TS 102 232-1 clause 5.2.5; as
OpenLI counts them, IRI and CC separately because they travel on separate handovers).
Keep-alives (TS 102 232-1 clause 6.3) fill every silence longer than the carrier's
interval, with their own sequence per connection from 1, CIN 0.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from heapq import merge
from typing import Callable, Iterable, Mapping, Union

HI2, HI3 = "hi2", "hi3"


@dataclass(frozen=True)
class Record:
    at: float  # seconds after the scenario start
    channel: str  # hi2 | hi3
    kind: str  # iri | cc | keepalive | cdc | ccc
    data: bytes
    liid: str = ""
    cin: str | None = None
    sequence: int | None = None
    label: str = ""  # what it is, for people: "INVITE", "rtp", "ccopen", "dns-query", ...


@dataclass(frozen=True)
class Drop:
    """Drop the connection here, reconnect, resend the last `resend` records."""

    at: float
    channel: str
    resend: int
    partial: bool = False


Step = Union[Record, Drop]


@dataclass(frozen=True)
class Pending:
    """A record before numbering: `make(sequence)` returns its bytes."""

    at: float
    channel: str
    kind: str
    liid: str
    cin: str | None
    make: Callable[[int], bytes]
    label: str = ""


@dataclass(frozen=True)
class Plan:
    fmt: str
    start: datetime
    hi2: tuple[Step, ...]
    hi3: tuple[Step, ...]
    hi3_transport: str  # tcp | udp | none
    skipped: Mapping[str, int]  # events the format cannot carry, by type

    def records(self, channel: str | None = None) -> list[Record]:
        lists = (self.hi2, self.hi3) if channel is None else ((self.hi2,) if channel == HI2 else (self.hi3,))
        return [s for steps in lists for s in steps if isinstance(s, Record)]

    def steps(self) -> list[tuple[str, Step]]:
        """Both connections merged in timeline order (HI2 first on equal times)."""
        tagged2 = ((s.at, 0, i, HI2, s) for i, s in enumerate(self.hi2))
        tagged3 = ((s.at, 1, i, HI3, s) for i, s in enumerate(self.hi3))
        return [(channel, step) for _, _, _, channel, step in merge(tagged2, tagged3)]

    def counts(self) -> Counter[str]:
        return Counter(r.kind for r in self.records())

    @property
    def length(self) -> float:
        return max((s.at for s in (*self.hi2, *self.hi3)), default=0.0)


def number(items: Iterable[Pending]) -> list[Record]:
    """Sort by time (stable) and assign sequence numbers per (channel, LIID, CIN)."""
    counters: Counter[tuple[str, str, str | None]] = Counter()
    out = []
    for p in sorted(items, key=lambda p: p.at):
        key = (p.channel, p.liid, p.cin)
        seq = counters[key]
        counters[key] += 1
        out.append(Record(p.at, p.channel, p.kind, p.make(seq), p.liid, p.cin, seq, p.label))
    return out


def with_keepalives(records: list[Record], channel: str, interval: float, until: float,
                    make: Callable[[int, float], bytes], liid: str) -> list[Record]:
    """`records` with a keep-alive after every `interval` seconds of silence, up to `until`."""
    if interval <= 0:
        return records
    out: list[Record] = []
    last, seq = 0.0, 1
    for r in [*records, None]:
        nxt = until if r is None else r.at
        while nxt - last > interval:
            last += interval
            out.append(Record(round(last, 6), channel, "keepalive", make(seq, last), liid, "0", seq, "keep-alive"))
            seq += 1
        if r is not None:
            out.append(r)
            last = max(last, r.at)
    return out


def with_drops(records: list[Record], drops: Iterable[Drop]) -> tuple[Step, ...]:
    """Insert drop markers after the records of their time."""
    steps: list[tuple[float, int, Step]] = [(r.at, 0, r) for r in records]
    steps += [(d.at, 1, d) for d in drops]
    return tuple(s for _, _, s in sorted(steps, key=lambda x: (x[0], x[1])))
