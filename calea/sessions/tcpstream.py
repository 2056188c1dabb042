"""The first bytes of one direction of a TCP connection, reassembled (pure, sans-I/O).

SPEC: RFC 9293 section 3.4 (sequence numbers: modulo 2**32, the SYN takes one number,
data starts at ISN + 1), section 3.10.7.4 (segments may arrive out of order, overlap and
be retransmitted).

`StreamPrefix` keeps the first `limit` bytes (16 KiB by default) of a client -> server
byte stream, placed by sequence number, so that a TLS ClientHello or an HTTP request head
split over several segments -- delivered out of order, retransmitted, overlapping --
reads as one piece.  It is made for reading names (TLS SNI, HTTP Host) in flow summaries
(`calea.sessions.flows`): it gives only the *contiguous* bytes from the start of the
stream and stops at a gap it cannot fill (a lost segment is never guessed).

Bounds, whatever the input: at most `limit` bytes are held (bytes beyond the window are
dropped) in at most `max_pieces` separate pieces (a segment that would open one more
hole is dropped); every call costs O(limit).  Overlaps keep the bytes that came first.

The start of the stream is the SYN's sequence number + 1 when the SYN was seen (`syn`).
Without it (a capture that began mid-handshake, a purged SYN) the start is the lowest
sequence number seen so far, moved back when an earlier segment arrives (at most `limit`
bytes back); data before a known start is ignored.

`StreamCache` is a small LRU of prefixes for a caller that meets a connection over
several batches of packets (the traffic indexer); bounded by entries, hence by bytes.

These bytes are content (rule A6): they exist only for packets an eavesdropping authority
let the store keep (A2), never for header records kept under a PRTT order.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

LIMIT = 16 * 1024
MAX_PIECES = 32
_MOD = 1 << 32
_HALF = 1 << 31


def seq_diff(a: int, b: int) -> int:
    """a - b in sequence space (RFC 9293: modulo 2**32), as a signed 32-bit number."""
    return ((a - b + _HALF) % _MOD) - _HALF


class StreamPrefix:
    """The contiguous first bytes of one TCP byte stream (see the module's docstring)."""

    __slots__ = ("limit", "max_pieces", "_start", "_fixed", "_buf", "_pieces")

    def __init__(self, limit: int = LIMIT, max_pieces: int = MAX_PIECES) -> None:
        if limit <= 0 or max_pieces <= 0:
            raise ValueError("limit and max_pieces must be positive")
        self.limit = limit
        self.max_pieces = max_pieces
        self._start: int | None = None  # sequence number of the stream's first byte
        self._fixed = False  # the start is known (SYN seen), not guessed
        self._buf = bytearray()  # bytes at offsets 0..len-1 from the start (holes are zeros)
        self._pieces: list[list[int]] = []  # sorted, disjoint, non-adjacent [lo, hi) offsets held

    # --- what it holds ---------------------------------------------------------------------------

    @property
    def contiguous(self) -> int:
        """How many bytes from the start are known without a hole."""
        p = self._pieces
        return p[0][1] if p and p[0][0] == 0 else 0

    @property
    def data(self) -> bytes:
        """The contiguous bytes from the start of the stream (up to the first gap)."""
        return bytes(self._buf[:self.contiguous])

    @property
    def full(self) -> bool:
        """The window is complete: nothing later can change `data`."""
        return self.contiguous >= self.limit

    @property
    def held(self) -> int:
        """Bytes held (the memory this prefix uses for data), at most `limit`."""
        return sum(hi - lo for lo, hi in self._pieces)

    @property
    def pieces(self) -> int:
        return len(self._pieces)

    @property
    def start(self) -> int | None:
        return self._start

    @property
    def fixed(self) -> bool:
        """The start is known (the SYN was seen), not the lowest sequence number so far."""
        return self._fixed

    # --- input ----------------------------------------------------------------------------------

    def syn(self, seq: int) -> None:
        """The SYN of this direction was seen with sequence number `seq`: data starts at seq + 1."""
        first = (seq + 1) % _MOD
        if self._fixed:
            return  # a retransmitted SYN (or a new ISN on a reused tuple: not this stream)
        if self._start is not None:
            d = seq_diff(first, self._start)
            if d < 0:
                if not self._move_back(-d):
                    self._reset()
            elif d > 0:
                self._cut_front(d)
        self._start = first
        self._fixed = True

    def add(self, seq: int, payload: bytes) -> bool:
        """One segment's payload at sequence number `seq`; True when `data` grew."""
        if not payload or self.full:
            return False
        seq %= _MOD
        if self._start is None:
            self._start = seq
        rel = seq_diff(seq, self._start)
        if rel < 0:
            if self._fixed:  # before the known start: keep what overlaps the stream
                if rel + len(payload) <= 0:
                    return False
                payload, rel = payload[-rel:], 0
            elif self._move_back(-rel):  # an earlier segment of a stream whose start was guessed
                rel = 0
            else:
                return False  # further back than the window: not the start that matters
        if rel >= self.limit:
            return False
        end = min(rel + len(payload), self.limit)
        before = self.contiguous
        return self._put(rel, end, payload) and self.contiguous > before

    # --- internals ------------------------------------------------------------------------------

    def _reset(self) -> None:
        self._start, self._fixed = None, False
        self._buf = bytearray()
        self._pieces = []

    def _put(self, lo: int, hi: int, payload: bytes) -> bool:
        """Write payload[0:hi-lo] at [lo, hi), keeping bytes already held; merge the pieces."""
        merged: list[list[int]] = []
        new = [lo, hi]
        placed = False
        for p in self._pieces:
            if p[1] < new[0]:
                merged.append(p)
            elif p[0] > new[1]:
                if not placed:
                    merged.append(new)
                    placed = True
                merged.append(p)
            else:
                new = [min(new[0], p[0]), max(new[1], p[1])]
        if not placed:
            merged.append(new)
        merged.sort()
        if len(merged) > self.max_pieces:
            return False  # one hole too many: drop the segment (bounded bookkeeping)
        if len(self._buf) < hi:
            self._buf.extend(bytes(hi - len(self._buf)))
        pos = lo
        for p_lo, p_hi in self._pieces:  # fill only the holes: the first bytes received win
            if p_hi <= pos:
                continue
            if p_lo >= hi:
                break
            if p_lo > pos:
                self._buf[pos:p_lo] = payload[pos - lo:p_lo - lo]
            pos = max(pos, p_hi)
            if pos >= hi:
                break
        if pos < hi:
            self._buf[pos:hi] = payload[pos - lo:hi - lo]
        self._pieces = merged
        return True

    def _move_back(self, n: int) -> bool:
        """The stream starts `n` bytes earlier than thought (no SYN seen): shift what is held."""
        if n > self.limit:
            return False
        assert self._start is not None
        self._start = (self._start - n) % _MOD
        self._buf = (bytearray(n) + self._buf)[:self.limit]
        out = []
        for lo, hi in self._pieces:
            lo, hi = lo + n, min(hi + n, self.limit)
            if lo < hi:
                out.append([lo, hi])
        self._pieces = out
        return True

    def _cut_front(self, n: int) -> None:
        """The stream starts `n` bytes later than thought (the SYN came late): drop the bytes before."""
        assert self._start is not None
        self._start = (self._start + n) % _MOD
        del self._buf[:n]
        out = []
        for lo, hi in self._pieces:
            lo, hi = max(lo - n, 0), hi - n
            if lo < hi:
                out.append([lo, hi])
        self._pieces = out


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class StreamCache(Generic[K, V]):
    """A bounded LRU map (at most `max_entries`): the least recently used entry goes first."""

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self.max_entries = max_entries
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None or key in self._items:
            self._items.move_to_end(key)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
