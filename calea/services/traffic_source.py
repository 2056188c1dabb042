"""Streaming the IP packets a case's store kept (eavesdropping authorities, rule A2).

`packet_chunks` picks the CC chunks (metadata rows only) of a case, an intercept and a
time range; `stored_packets` reads them lazily from their segment files and yields the
packets in interception-time order, holding only the chunks whose time spans overlap
the current position (never the whole case).  Chunks in purged segments (D2) are gone.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from calea.db.schema import cc_chunks, segments
from calea.handover.framing import NEED_DATA, RecordSplitter
from calea.handover.errors import MalformedRecord
from calea.sessions.ccpackets import FORMAT, captured
from calea.sessions.pcap import CapturedPacket
from calea.store.segments import SegmentFiles

Row = Any


def packet_chunks(conn: Connection, case_id: str, *, intercept_ids: Sequence[str] | None = None,
                  start: datetime | None = None, end: datetime | None = None) -> list[Row]:
    q = (select(cc_chunks.c.id, cc_chunks.c.intercept_id, cc_chunks.c.liid, cc_chunks.c.offset, cc_chunks.c.length,
                cc_chunks.c.count, cc_chunks.c.first_at, cc_chunks.c.last_at, cc_chunks.c.quarantined, segments.c.path)
         .join(segments, segments.c.id == cc_chunks.c.segment_id)
         .where(cc_chunks.c.case_id == case_id, cc_chunks.c.format == FORMAT, segments.c.purged_at.is_(None)))
    if intercept_ids is not None:
        q = q.where(cc_chunks.c.intercept_id.in_(list(intercept_ids)))
    if start is not None:
        q = q.where(cc_chunks.c.last_at >= start)
    if end is not None:
        q = q.where(cc_chunks.c.first_at < end)
    return list(conn.execute(q.order_by(cc_chunks.c.first_at, cc_chunks.c.id)).all())


def chunk_records(files: SegmentFiles, path: str, offset: int, length: int) -> list[bytes]:
    """The BER records of one chunk (byte-exact, as the carrier sent them)."""
    try:
        data = files.read(path, offset, length)
    except FileNotFoundError:
        return []
    splitter = RecordSplitter()
    splitter.receive_data(data)
    out: list[bytes] = []
    try:
        while (rec := splitter.next_record()) is not NEED_DATA:
            out.append(bytes(rec))  # type: ignore[arg-type]
    except MalformedRecord:  # a damaged segment: `calea verify` reports it; stop here
        pass
    return out


def _chunk_packets(files: SegmentFiles, row: Row, start: datetime | None, end: datetime | None) -> Iterator[CapturedPacket]:
    packets = [p for p in (captured(r) for r in chunk_records(files, row.path, row.offset, row.length)) if p is not None]
    packets.sort(key=lambda p: p.at)
    for p in packets:
        if (start is None or p.at >= start) and (end is None or p.at < end):
            yield p


def stored_packets(files: SegmentFiles, rows: Sequence[Row], *, start: datetime | None = None,
                   end: datetime | None = None) -> Iterator[CapturedPacket]:
    """The packets of `rows` (ordered by `first_at`) merged in time order."""
    pending = sorted(rows, key=lambda r: (r.first_at, r.id))
    heap: list[tuple[datetime, int, CapturedPacket, Iterator[CapturedPacket]]] = []
    tie = itertools.count()
    i = 0
    while i < len(pending) or heap:
        # open every chunk that may hold a packet before the earliest one waiting
        while i < len(pending) and (not heap or pending[i].first_at <= heap[0][0]):
            it = _chunk_packets(files, pending[i], start, end)
            i += 1
            first = next(it, None)
            if first is not None:
                heapq.heappush(heap, (first.at, next(tie), first, it))
        if not heap:
            continue
        _, _, packet, it = heapq.heappop(heap)
        yield packet
        nxt = next(it, None)
        if nxt is not None:
            heapq.heappush(heap, (nxt.at, next(tie), nxt, it))
