"""Per-stream sequence tracking, pure: duplicates, gaps and counters.

A stream is one (LIID, communication identity number, HI2/HI3) as TS 102 232-1 numbers it:
sequence numbers start at 0 and count up by one.  `StreamState.observe(seq)` says whether
a record is new or a duplicate (a carrier that resends after reconnecting must not create
duplicates) and keeps the set of missing ranges (a gap is reported with its ranges and
closes if the missing records arrive later).  The ranges a record opens are also kept in
`opened` until the intake takes them (`take_opened`), to raise an alert for those still
missing a while later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_GAP_RANGES = 1000  # bound the state of a stream whose carrier skips wildly


@dataclass(slots=True)
class StreamState:
    max_seq: int = -1
    received: int = 0
    duplicates: int = 0
    gaps: list[list[int]] = field(default_factory=list)  # sorted, disjoint [first, last] ranges
    # when the intake last saw the stream (its clock, monotonic): what it keeps in memory is
    # the streams seen lately, the others are in the store (not part of the state's value)
    seen: float = field(default=0.0, compare=False)
    # gaps opened since the intake last took them (None: none; most streams never have one)
    opened: list[list[int]] | None = field(default=None, compare=False)

    def observe(self, seq: int) -> bool:
        """True when the record is new (store it), False for a duplicate."""
        if seq > self.max_seq:
            if seq > self.max_seq + 1:
                self.gaps.append([self.max_seq + 1, seq - 1])
                if len(self.gaps) > MAX_GAP_RANGES:
                    del self.gaps[0]
                if self.opened is None:
                    self.opened = []
                if len(self.opened) < MAX_GAP_RANGES:
                    self.opened.append([self.max_seq + 1, seq - 1])
            self.max_seq = seq
            self.received += 1
            return True
        for i, (lo, hi) in enumerate(self.gaps):
            if lo <= seq <= hi:
                if lo == hi:
                    del self.gaps[i]
                elif seq == lo:
                    self.gaps[i] = [lo + 1, hi]
                elif seq == hi:
                    self.gaps[i] = [lo, hi - 1]
                else:
                    self.gaps[i:i + 1] = [[lo, seq - 1], [seq + 1, hi]]
                self.received += 1
                return True
            if seq < lo:
                break
        self.duplicates += 1
        return False

    @property
    def missing(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.gaps)

    def missing_in(self, lo: int, hi: int) -> list[list[int]]:
        """The ranges of the records lo..hi still missing."""
        return [[max(lo, a), min(hi, b)] for a, b in self.gaps if a <= hi and b >= lo]

    def take_opened(self) -> list[list[int]]:
        """The gaps opened since the last call (and forget them)."""
        opened, self.opened = self.opened or [], None
        return opened

    def row(self) -> dict[str, object]:
        """The columns of its `streams` row besides the key and the time."""
        return {"max_seq": self.max_seq, "received": self.received, "duplicates": self.duplicates, "gaps": self.gaps,
                "missing": self.missing if self.gaps else 0}

    def to_dict(self) -> dict[str, object]:
        return {**self.row(), "gaps": [list(g) for g in self.gaps], "missing": self.missing}
