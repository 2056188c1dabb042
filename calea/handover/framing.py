"""Splitting a TCP byte stream into back-to-back BER records (sans-I/O, like h11).

    splitter = RecordSplitter()
    splitter.receive_data(chunk)                     # bytes from the socket, any size
    while (record := splitter.next_record()) is not NEED_DATA:
        if record is EOF: ...                        # only after receive_eof()
        handle(record)                               # exactly one whole PS-PDU

Rules:

* A record is one outer TLV; its definite length says where the next one starts,
  wherever the reads fall (records split across reads, several records in one read).
* Bounded: an outer length above `max_record_size` (default 1 MiB) is rejected as soon
  as the header is readable, so at most one incomplete record is ever buffered; feeding
  more than `max_buffer_size` without draining is a `CodecUsageError`.
* Linear time: the buffer is a bytearray read through an offset; consumed bytes are
  dropped only when they are at least half of the buffer (amortised O(1) per byte), and
  a partial header is never re-scanned more than its own few octets.
* No resynchronisation: BER has no record marker, and hunting for the next `0x30` would
  risk splitting inside a record and attributing bytes to the wrong record.  After a bad
  outer header (`MalformedRecord`, with the stream `offset` of the header) the splitter
  stays failed and raises the same error again; **the caller drops the connection** (the
  delivering mediator is expected to reconnect and resume).
"""

from __future__ import annotations

import enum
from typing import Literal

from calea.handover.ber import DEFAULT_MAX_RECORD_SIZE, MAX_LENGTH_OCTETS, MAX_TAG_OCTETS
from calea.handover.errors import CodecUsageError, MalformedRecord
from calea.handover.native import speedups as _speedups

_split = None if _speedups is None else _speedups.split


class Sentinel(enum.Enum):
    NEED_DATA = "NEED_DATA"
    EOF = "EOF"

    def __repr__(self) -> str:
        return self.value


NEED_DATA: Literal[Sentinel.NEED_DATA] = Sentinel.NEED_DATA
EOF: Literal[Sentinel.EOF] = Sentinel.EOF

_COMPACT_MIN = 64 * 1024


def peek_length(buf: bytes | bytearray, pos: int, end: int) -> tuple[int, int, int] | None:
    """`(first_octet, header_length, value_length)` of the TLV at `pos`, or None while
    `buf[pos:end]` does not yet hold its whole header.  The value may be incomplete.
    Raises `MalformedRecord` on a header that can never become valid."""
    if pos >= end:
        return None
    first = buf[pos]
    p = pos + 1
    if first & 0x1F == 0x1F:
        for count in range(MAX_TAG_OCTETS + 1):
            if count == MAX_TAG_OCTETS:
                raise MalformedRecord("ber-tag-too-long", "tag number over 4 octets", pos)
            if p >= end:
                return None
            octet = buf[p]
            p += 1
            if not octet & 0x80:
                break
    if p >= end:
        return None
    length = buf[p]
    p += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise MalformedRecord("ber-indefinite-length", "indefinite length not supported", pos)
        if count == 0x7F:
            raise MalformedRecord("ber-reserved-length", "length octet 0xff is reserved", pos)
        if count > MAX_LENGTH_OCTETS:
            raise MalformedRecord("ber-length-octets", f"{count} length octets (max 4)", pos)
        if p + count > end:
            return None
        length = int.from_bytes(buf[p : p + count], "big")
        p += count
    return first, p - pos, length


class RecordSplitter:
    """Splits a byte stream into whole BER records by their outer length.

    `outer_tags` lists the identifier octets a record may start with (default: SEQUENCE,
    `0x30`, the PS-PDU of TS 102 232-1); `None` accepts any constructed tag.
    """

    def __init__(
        self,
        max_record_size: int = DEFAULT_MAX_RECORD_SIZE,
        *,
        max_buffer_size: int | None = None,
        outer_tags: frozenset[int] | None = frozenset({0x30}),
    ) -> None:
        if max_record_size < 2:
            raise CodecUsageError("max_record_size must allow a TLV header")
        self.max_record_size = max_record_size
        self.max_buffer_size = max_buffer_size or 8 * max_record_size
        self._outer_tags = outer_tags
        self._tag_octets = None if outer_tags is None else bytes(t for t in sorted(outer_tags) if t < 0x100)
        self._buf = bytearray()
        self._pos = 0  # offset of the next unread byte in _buf
        self._base = 0  # stream offset of _buf[0]
        self._need = 0  # bytes the buffer must hold past _pos before parsing is worth it
        self._error: MalformedRecord | None = None
        self._eof = False
        self.records = 0

    # --- input -----------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes read from the connection (any size, including empty)."""
        if self._eof:
            raise CodecUsageError("receive_data after receive_eof")
        if not data:
            return
        buf = self._buf
        if self._pos == len(buf):
            self._base += self._pos
            buf.clear()
            self._pos = 0
        elif self._pos >= _COMPACT_MIN and self._pos * 2 >= len(buf):
            self._base += self._pos
            del buf[: self._pos]
            self._pos = 0
        if len(buf) - self._pos + len(data) > self.max_buffer_size:
            raise CodecUsageError(
                f"more than {self.max_buffer_size} bytes buffered: drain next_record() first"
            )
        buf += data

    def receive_eof(self) -> None:
        """The peer closed the connection; `next_record` ends with `EOF`."""
        self._eof = True

    # --- output ----------------------------------------------------------------------

    @property
    def offset(self) -> int:
        """Stream offset of the next record `next_record` will return."""
        return self._base + self._pos

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as records."""
        return len(self._buf) - self._pos

    def next_record(self) -> bytes | Literal[Sentinel.NEED_DATA, Sentinel.EOF]:
        """The next whole record, `NEED_DATA`, or (after `receive_eof`) `EOF`.

        Raises `MalformedRecord` on a bad outer header, and again on every later call."""
        if self._error is not None:
            raise self._error
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if avail < self._need or avail == 0:
            return self._starved(avail)
        # Fast path: single-octet tag, short or 1..2-octet long length.
        first = buf[pos]
        if avail >= 4 and first & 0x1F != 0x1F:
            length = buf[pos + 1]
            if length < 0x80:
                header = 2
            elif length == 0x81:
                length, header = buf[pos + 2], 3
            elif length == 0x82:
                length, header = (buf[pos + 2] << 8) | buf[pos + 3], 4
            else:
                header = 0
        else:
            header = 0
        if not header:
            try:
                peeked = peek_length(buf, pos, len(buf))
            except MalformedRecord as exc:
                return self._fail(exc.reason, exc.message)
            if peeked is None:
                self._need = avail + 1
                return self._starved(avail)
            first, header, length = peeked
        if self._outer_tags is not None:
            if first not in self._outer_tags:
                return self._fail("bad-outer-tag", f"record starts with 0x{first:02x}")
        elif not first & 0x20:
            return self._fail("bad-outer-tag", f"record starts with primitive 0x{first:02x}")
        total = header + length
        if total > self.max_record_size:
            return self._fail("record-too-large", f"record of {total} bytes")
        if avail < total:
            self._need = total
            return self._starved(avail)
        end = pos + total
        record = bytes(buf[pos:end])
        self._pos = end
        self._need = 0
        self.records += 1
        return record

    def whole_records(self) -> list[bytes]:
        """Every whole record buffered now, at once, up to the first one whose outer header
        is not of the usual shape (one-octet tag, length in at most two octets) -- what as
        many `next_record` calls would return, in C (`calea.handover._speedups`); [] without
        it.  Call `next_record` after it for the rest (and for errors)."""
        if _split is None or self._error is not None or len(self._buf) - self._pos < max(self._need, 2):
            return []
        records, self._pos = _split(self._buf, self._pos, self.max_record_size, self._tag_octets)
        if records:
            self._need = 0
            self.records += len(records)
        return records

    def _starved(self, avail: int) -> Literal[Sentinel.NEED_DATA, Sentinel.EOF]:
        if not self._eof:
            return NEED_DATA
        if avail:
            raise self._set_error(
                MalformedRecord(
                    "truncated-record",
                    f"connection closed inside a record ({avail} bytes pending)",
                    self.offset,
                )
            )
        return EOF

    def _fail(self, reason: str, message: str) -> Literal[Sentinel.NEED_DATA]:
        raise self._set_error(MalformedRecord(reason, message, self.offset))

    def _set_error(self, exc: MalformedRecord) -> MalformedRecord:
        self._error = exc
        return exc
