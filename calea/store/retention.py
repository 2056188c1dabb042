"""FIFO retention of the working store (rule D2).

When the working store holds more than its capacity, the oldest segments go first -- but
never data of an intercept that is still active, data not yet sealed or exported, data
of a case under a legal hold, or quarantined data (B3: kept until a court directs).

A purge takes a segment and everything made from it:
* the segment's bytes, its index rows (`iri_records`, `cc_chunks`) and the content items
  those records carried (message bodies and parts, post-cut-through digits); with them the
  case's index records that have no bytes in any segment (under a PRTT order: header
  records and the addressing of messages whose content was dropped, A6) received before
  the segment was closed, unless their intercept is still active;
* the call recordings made from its call content (FLAC, Opus and peaks files: content
  items, and the `recordings` row) -- once *no* call content they were made from remains
  (a recording whose call straddles a segment that must stay is kept with it);
* the derived indexes, made again from what remains: calls (`calls`, `call_events`; a call
  a line sheet refers to stays without its content, as `rebuild_calls` does), flows and
  messages (`calea.services.traffic_index.forget_purged`).
All of it in one database transaction, together with the signed `purge` store event that
lists what went: the leaves whose items are gone (so `calea verify` accepts their absence
and what remains still verifies against the signed tree heads), the segment, the number
and bytes of content items, the recordings, and counts of calls, flows and messages
removed or made again.  The
`recording` store events stay: they are signed metadata (times, hashes), not content.

Files are deleted after the commit (a crash before it loses nothing: the rows still point
at the files), under the store writer's lock so that no batch can take a content file for
a new item in between.  The purged content items are marked `purged_at` in the purge's
transaction, and their rows are deleted only once their files are (`_drop_purged_items`),
so a crash after the commit leaves marks, not forgotten files: `finish_purges` (run once
per writer, before its first purge) completes it, and deletes segment files of segments
marked purged.

Capacity counts segment bytes and content files (message parts, digits, recordings); each
segment is credited for selection with the content of its records and the recordings it
is the last source of.

`select_purge` is pure; `enforce_capacity` does the I/O.
"""

from __future__ import annotations

import logging
import weakref
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from calea.db.schema import (cc_chunks, content_items, documents, intercepts, iri_records, legal_holds, malformed, segments,
                             store_events)
from calea.db.schema_calls import call_events, calls, line_sheets
from calea.db.schema_recordings import recordings
from calea.domain.intercepts import InterceptStatus, intercept_status
from calea.services.authorities import case_authorities
from calea.services.context import Services
from calea.services.rows import intercept_from
from calea.store import leaves as leafdata
from calea.store.merkle import leaf_hash

log = logging.getLogger("calea.retention")

SLACK = timedelta(seconds=5)  # call content this close to a recording's span may be its source
_CHUNK = 400  # values per IN (...) clause
_finished: weakref.WeakSet[Any] = weakref.WeakSet()  # writers whose leftover purge files were deleted


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    id: str
    case_id: str
    size: int
    created_at: datetime
    closed: bool
    released: bool  # sealed or exported
    held: bool  # legal hold on the case
    active: bool  # an intercept of the data is still active
    derived: int = 0  # bytes of content files that go with the segment (message parts, recordings)
    quarantined: bool = False  # holds quarantined data (B3, A8): kept until a court directs


@dataclass(frozen=True, slots=True)
class Skipped:
    segment_id: str
    reason: str


def select_purge(segs: list[SegmentInfo], used: int, capacity: int) -> tuple[list[SegmentInfo], list[Skipped]]:
    """D2: the oldest eligible segments whose removal brings `used` under `capacity`."""
    chosen: list[SegmentInfo] = []
    skipped: list[Skipped] = []
    for s in sorted(segs, key=lambda s: (s.created_at, s.id)):
        if used <= capacity:
            break
        reason = ("still being written" if not s.closed else "an intercept of this data is still active" if s.active
                  else "quarantined until a court directs (B3)" if s.quarantined
                  else "not yet sealed or exported" if not s.released else "under legal hold" if s.held else None)
        if reason:
            skipped.append(Skipped(s.id, reason))
            continue
        chosen.append(s)
        used -= s.size + s.derived
    return chosen, skipped


def store_usage(svc: Services) -> int:
    """Bytes the working store holds: segments, and content files (message parts, digits,
    call recordings) not yet purged."""
    with svc.db.read() as conn:
        seg = conn.execute(select(func.coalesce(func.sum(segments.c.size), 0)).where(segments.c.purged_at.is_(None))).scalar()
        con = conn.execute(select(func.coalesce(func.sum(content_items.c.size), 0)).where(content_items.c.purged_at.is_(None))).scalar()
    return int(seg) + int(con)


def _chunks(values: list[Any], size: int = _CHUNK) -> list[list[Any]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def _segment_infos(svc: Services) -> list[SegmentInfo]:
    now = svc.now()
    out = []
    with svc.db.read() as conn:
        held = set(conn.execute(select(legal_holds.c.case_id).where(legal_holds.c.released_at.is_(None))).scalars())
        status = _active(conn, now)
        live = segments.c.purged_at.is_(None)
        segs = conn.execute(select(segments).where(live)).mappings().all()
        # whose data is in each segment, and over what interception times: one aggregate per index table
        ids: dict[str, set[str]] = defaultdict(set)
        for seg_id, icpt in conn.execute(select(iri_records.c.segment_id, iri_records.c.intercept_id).distinct()
                                         .join(segments, segments.c.id == iri_records.c.segment_id).where(live)):
            ids[seg_id].add(icpt)
        spans: dict[str, list[tuple[datetime, datetime, datetime, str]]] = defaultdict(list)
        created = {s["id"]: s["created_at"] for s in segs}
        for seg_id, icpt, lo, hi in conn.execute(
                select(cc_chunks.c.segment_id, cc_chunks.c.intercept_id, func.min(cc_chunks.c.first_at), func.max(cc_chunks.c.last_at))
                .join(segments, segments.c.id == cc_chunks.c.segment_id).where(live)
                .group_by(cc_chunks.c.segment_id, cc_chunks.c.intercept_id)):
            ids[seg_id].add(icpt)
            spans[icpt].append((_utc(lo), _utc(hi), created[seg_id], seg_id))
        quarantined = set(conn.execute(select(iri_records.c.segment_id).distinct().where(
            iri_records.c.quarantined.is_(True), iri_records.c.segment_id.is_not(None))).scalars())
        quarantined |= set(conn.execute(select(cc_chunks.c.segment_id).distinct().where(cc_chunks.c.quarantined.is_(True))).scalars())
        derived: dict[str, int] = defaultdict(int)
        for seg_id, size in conn.execute(
                select(iri_records.c.segment_id, func.sum(content_items.c.size))
                .join(iri_records, (iri_records.c.case_id == content_items.c.case_id)
                      & (iri_records.c.leaf_index == content_items.c.record_leaf))
                .where(content_items.c.purged_at.is_(None), iri_records.c.segment_id.is_not(None))
                .group_by(iri_records.c.segment_id)):
            derived[seg_id] += int(size or 0)
        inactive = {i for i, active in status.items() if not active}
        for seg_id, size in _recording_sources(conn, spans, inactive):
            derived[seg_id] += size
        for s in segs:
            who = ids.get(s["id"], set())
            out.append(SegmentInfo(s["id"], s["case_id"], int(s["size"]), s["created_at"], s["closed_at"] is not None,
                                   s["sealed_at"] is not None or s["exported_at"] is not None, s["case_id"] in held,
                                   any(status.get(i, False) for i in who), derived.get(s["id"], 0), s["id"] in quarantined))
    return out


def _active(conn: Connection, now: datetime) -> dict[str, bool]:
    """Intercept id -> whether it is still active (or scheduled): its data stays (D2)."""
    status: dict[str, bool] = {}
    for r in conn.execute(select(intercepts)).mappings():
        i = intercept_from(r)
        st = intercept_status(i, case_authorities(conn, i.case_id), now)
        status[i.id] = st in (InterceptStatus.ACTIVE, InterceptStatus.SCHEDULED)
    return status


def _utc(value: Any) -> datetime:
    """An aggregate's time (SQLite gives the stored text) as an aware UTC instant."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _recording_sources(conn: Connection, spans: dict[str, list[tuple[datetime, datetime, datetime, str]]],
                       intercept_ids: set[str]) -> list[tuple[str, int]]:
    """(segment, bytes) per recording of the given intercepts: the newest segment holding
    call content of the recording's span, whose purge lets it go (`_purge_recordings`).
    Estimated from each segment's span of interception times, for selection only."""
    by_icpt: dict[str, tuple[list[datetime], list[datetime], list[tuple[datetime, datetime, datetime, str]]]] = {}
    for icpt, rows in spans.items():
        rows.sort()
        peak: list[datetime] = []
        for lo, hi, _, _ in rows:
            peak.append(hi if not peak or hi > peak[-1] else peak[-1])
        by_icpt[icpt] = ([r[0] for r in rows], peak, rows)
    out = []
    for part in _chunks(sorted(intercept_ids & set(by_icpt))):
        for r in conn.execute(select(recordings.c.intercept_id, recordings.c.started_at, recordings.c.ended_at,
                                     recordings.c.master_size, recordings.c.rendition_size, recordings.c.peaks_size)
                              .where(recordings.c.intercept_id.in_(part))):
            los, peak, rows = by_icpt[r.intercept_id]
            a, b = r.started_at - SLACK, r.ended_at + SLACK
            best: tuple[datetime, str] | None = None
            j = bisect_right(los, b) - 1  # segments whose span starts before the recording ends...
            while j >= 0 and peak[j] >= a:  # ...back to where no earlier span reaches its start
                lo, hi, made, seg_id = rows[j]
                if hi >= a and (best is None or (made, seg_id) > best):
                    best = (made, seg_id)
                j -= 1
            if best is not None:
                out.append((best[1], int(r.master_size) + int(r.rendition_size) + int(r.peaks_size)))
    return out


def enforce_capacity(svc: Services, writer: Any, capacity: int) -> dict[str, Any]:
    """Purge the oldest eligible segments until the store fits its capacity (D2)."""
    if writer not in _finished:
        finish_purges(svc, writer)
    used = store_usage(svc)
    if used <= capacity:
        return {"used": used, "capacity": capacity, "purged": [], "freed": 0, "skipped": [], "details": []}
    chosen, skipped = select_purge(_segment_infos(svc), used, capacity)
    details = []
    for seg in chosen:
        done = purge_segment(svc, writer, seg.id)
        if done is not None:
            details.append(done)
    return {"used": used, "capacity": capacity, "purged": [d["segment_id"] for d in details],
            "freed": sum(d["freed"] for d in details),
            "skipped": [{"segment": s.segment_id, "reason": s.reason} for s in skipped], "details": details}


def purge_segment(svc: Services, writer: Any, segment_id: str) -> dict[str, Any] | None:
    """Purge one segment and what was made from it (D2), in one transaction with its signed
    purge event; then delete its files.  The caller has checked that the segment may go.
    Returns a summary, or None when the segment is already purged."""
    from calea.services import traffic_index  # (services import the store; not the other way at load)

    with writer.lock, traffic_index.LOCK:  # the order of the writer's batches: writer, then the database
        with svc.db.write() as conn:
            seg = conn.execute(select(segments).where(segments.c.id == segment_id)).mappings().first()
            if seg is None or seg["purged_at"] is not None:
                return None
            case_id, now = seg["case_id"], svc.now()
            cols = (iri_records.c.id, iri_records.c.case_id, iri_records.c.intercept_id, iri_records.c.liid,
                    iri_records.c.cin, iri_records.c.format, iri_records.c.event, iri_records.c.fields, iri_records.c.leaf_index)
            recs = conn.execute(select(*cols).where(iri_records.c.segment_id == segment_id)).all()
            # records kept without bytes of their own (a PRTT order's header records and
            # message addressing, A6) go with the segment of their case open when they came
            status = _active(conn, now)
            hour_end = seg["created_at"].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            cutoff = min(seg["closed_at"] or hour_end, hour_end)
            bare = [r for r in conn.execute(select(*cols).where(
                iri_records.c.case_id == case_id, iri_records.c.segment_id.is_(None), iri_records.c.received_at <= cutoff))
                if not status.get(r.intercept_id, False)]
            recs += bare
            chunks = conn.execute(select(cc_chunks.c.id, cc_chunks.c.intercept_id, cc_chunks.c.liid, cc_chunks.c.cin, cc_chunks.c.format,
                                         cc_chunks.c.offset, cc_chunks.c.length, cc_chunks.c.count, cc_chunks.c.leaf_start,
                                         cc_chunks.c.first_at, cc_chunks.c.last_at, segments.c.path)
                                  .join(segments, segments.c.id == cc_chunks.c.segment_id)
                                  .where(cc_chunks.c.segment_id == segment_id)).all()
            gone: list[int] = [int(r.leaf_index) for r in recs]
            for c in chunks:
                gone += range(int(c.leaf_start), int(c.leaf_start) + int(c.count))
            items = _record_items(conn, case_id, {int(r.leaf_index) for r in recs})
            conn.execute(delete(iri_records).where(iri_records.c.segment_id == segment_id))
            for part in _chunks([r.id for r in bare]):
                conn.execute(delete(iri_records).where(iri_records.c.id.in_(part)))
            conn.execute(delete(cc_chunks).where(cc_chunks.c.segment_id == segment_id))
            conn.execute(update(segments).where(segments.c.id == segment_id).values(purged_at=now))
            made = traffic_index.forget_purged(conn, writer.files, chunks, recs)
            rec_ids, rec_items = _purge_recordings(conn, case_id, chunks)
            items += rec_items
            gone += [int(i.leaf_index) for i in items]
            made.update(_refresh_calls(conn, svc, case_id, recs, chunks))
            for part in _chunks([i.id for i in items]):  # the rows go once their files have (`_drop_purged_items`)
                conn.execute(update(content_items).where(content_items.c.id.in_(part)).values(purged_at=now))
            body = {"rule": "D2", "segment": seg["path"], "bytes": int(seg["size"]), "leaves": _ranges(sorted(set(gone))),
                    "created_at": seg["created_at"].isoformat(), "records": len(recs), "records_without_bytes": len(bare),
                    "cc_records": sum(int(c.count) for c in chunks),
                    "content": {"items": len(items), "bytes": sum(int(i.size) for i in items)},
                    "recordings": rec_ids, "derived": made}
            lg = writer.merkle_log(case_id)
            event_leaf = lg.size
            conn.execute(store_events.insert().values(case_id=case_id, at=now, kind="purge", intercept_id=None, body=body,
                                                      leaf_index=event_leaf))
        lg.append([leaf_hash(leafdata.event_leaf("purge", now, None, body))])
        writer.checkpoint(case_id, force=True)
        writer.files.path(seg["path"]).unlink(missing_ok=True)
        _drop_purged_items(svc)
    log.info("purged segment %s of case %s (%d bytes, %d content items, %d recordings)", seg["path"], case_id,
             seg["size"], len(items), len(rec_ids))
    return {"segment_id": segment_id, "case_id": case_id, "freed": int(seg["size"]) + body["content"]["bytes"],
            "event_leaf": event_leaf, "recordings": rec_ids, "derived": made}


def _record_items(conn: Connection, case_id: str, record_leaves: set[int]) -> list[Any]:
    """The content items the given records carried (their `record_leaf`)."""
    if not record_leaves:
        return []
    rows = conn.execute(select(content_items.c.id, content_items.c.leaf_index, content_items.c.sha256, content_items.c.size,
                               content_items.c.record_leaf)
                        .where(content_items.c.case_id == case_id, content_items.c.record_leaf >= min(record_leaves),
                               content_items.c.record_leaf <= max(record_leaves))).all()
    return [r for r in rows if int(r.record_leaf) in record_leaves]


def call_content_remains(conn: Connection, case_id: str, intercept_id: str, started: datetime, ended: datetime) -> bool:
    """Whether any call content of the intercept that a recording of [started, ended] could
    be made from is still stored (D2: a recording lives no longer than its source)."""
    return conn.execute(select(cc_chunks.c.id).where(
        cc_chunks.c.case_id == case_id, cc_chunks.c.intercept_id == intercept_id,
        cc_chunks.c.first_at <= ended + SLACK, cc_chunks.c.last_at >= started - SLACK).limit(1)).first() is not None


def _purge_recordings(conn: Connection, case_id: str, chunks: list[Any]) -> tuple[list[str], list[Any]]:
    """The recordings made from the purged call content that no remaining call content
    could have been part of: their rows go, and their content items (returned)."""
    span: dict[str, tuple[datetime, datetime]] = {}
    for c in chunks:
        lo, hi = span.get(c.intercept_id, (c.first_at, c.last_at))
        span[c.intercept_id] = (min(lo, c.first_at), max(hi, c.last_at))
    ids: list[str] = []
    items: list[Any] = []
    for intercept_id, (lo, hi) in span.items():
        for r in conn.execute(select(recordings).where(
                recordings.c.case_id == case_id, recordings.c.intercept_id == intercept_id,
                recordings.c.started_at <= hi + SLACK, recordings.c.ended_at >= lo - SLACK)).mappings().all():
            if call_content_remains(conn, case_id, intercept_id, r["started_at"], r["ended_at"]):
                continue  # call content of its span remains: the recording goes with the last of it
            files = {r["master_sha256"], r["rendition_sha256"], r["peaks_sha256"]}
            ev = int(r["event_leaf"])  # its three files took the three leaves before its event's
            items += [i for i in conn.execute(select(content_items.c.id, content_items.c.leaf_index, content_items.c.sha256,
                                                     content_items.c.size).where(
                content_items.c.case_id == case_id, content_items.c.leaf_index >= ev - 3, content_items.c.leaf_index < ev,
                content_items.c.record_leaf.is_(None))).all() if i.sha256 in files]
            conn.execute(delete(recordings).where(recordings.c.id == r["id"]))
            ids.append(r["id"])
    return ids, items


def _refresh_calls(conn: Connection, svc: Services, case_id: str, recs: list[Any], chunks: list[Any]) -> dict[str, int]:
    """The calls the purged records belonged to -- and the calls whose content (RFC 4733
    digits) was purged -- made again from what remains; a call with no records left is
    removed, or kept without its content when a line sheet refers to it (as
    `calea.sessions.calls_store.rebuild_calls` does)."""
    from calea.sessions.calls import call_formats
    from calea.sessions.calls_store import calls_of_content, refresh_calls_in

    formats = set(call_formats())
    keys = {(r.liid, r.cin) for r in recs if r.cin is not None and r.format in formats}
    streams: dict[tuple[str, str], Any] = {}
    for c in chunks:
        if c.cin is not None:
            key = (c.liid, c.cin)
            streams[key] = min(streams.get(key, c.first_at), c.first_at)
    if streams:
        keys |= calls_of_content(conn, case_id, streams)
    if not keys:
        return {"calls_rebuilt": 0, "calls_removed": 0, "calls_kept_for_line_sheets": 0}
    saved = set(refresh_calls_in(conn, svc, case_id, keys))
    by_liid: dict[str, list[str]] = defaultdict(list)
    for liid, cin in keys:
        by_liid[liid].append(cin)
    stale: list[str] = []
    for liid, cins in by_liid.items():
        for part in _chunks(sorted(cins)):
            stale += [r.id for r in conn.execute(select(calls.c.id).where(
                calls.c.case_id == case_id, calls.c.liid == liid, calls.c.cin.in_(part))) if r.id not in saved]
    sheets: set[str] = set()
    for part in _chunks(stale):
        sheets.update(conn.execute(select(line_sheets.c.call_id).where(line_sheets.c.call_id.in_(part))).scalars())
    removed = 0
    for part in _chunks([c for c in stale if c not in sheets]):
        conn.execute(delete(call_events).where(call_events.c.call_id.in_(part)))
        removed += conn.execute(delete(calls).where(calls.c.id.in_(part))).rowcount
    for part in _chunks([c for c in stale if c in sheets]):  # kept for its line sheet, without content (A6)
        conn.execute(update(calls).where(calls.c.id.in_(part)).values(digits_after=None))
        conn.execute(update(call_events).where(call_events.c.call_id.in_(part),
                                               call_events.c.digits_kind == "post-cut-through").values(digits=None))
    return {"calls_rebuilt": len(saved), "calls_removed": removed, "calls_kept_for_line_sheets": len(stale) - removed}


def _referenced(conn: Connection, shas: list[str]) -> set[str]:
    """The content files still referred to (by a content item not purged, a document, a
    carrier package or a malformed record): they stay."""
    found: set[str] = set()
    for part in _chunks(shas):
        found.update(conn.execute(select(content_items.c.sha256).where(
            content_items.c.sha256.in_(part), content_items.c.purged_at.is_(None)).distinct()).scalars())
        for col in (documents.c.sha256, intercepts.c.package_sha256, malformed.c.sha256):
            found.update(conn.execute(select(col).where(col.in_(part)).distinct()).scalars())
    return found


def _drop_purged_items(svc: Services) -> int:
    """Second step of a purge (D2), after its commit: delete the files of purged content
    items that nothing else refers to, then their rows (part names are content too).  A
    crash in between leaves rows marked purged: the next call finishes them.  The caller
    holds the store writer's lock (no batch takes a content file meanwhile)."""
    with svc.db.write() as conn:
        rows = conn.execute(select(content_items.c.id, content_items.c.sha256).where(content_items.c.purged_at.is_not(None))).all()
        if not rows:
            return 0
        shas = sorted({r.sha256 for r in rows})
        still_used = _referenced(conn, shas)
        removed = 0
        for sha in shas:
            if sha not in still_used:
                p = svc.content.path(sha)
                if p.exists():
                    p.unlink()
                    removed += 1
        for part in _chunks([r.id for r in rows]):
            conn.execute(delete(content_items).where(content_items.c.id.in_(part)))
    return removed


def finish_purges(svc: Services, writer: Any) -> int:
    """Finish purges a crash interrupted after their commit: delete the files of segments
    marked purged and of content items marked purged.  Returns how many files went."""
    removed = 0
    with writer.lock:
        with svc.db.read() as conn:
            paths = list(conn.execute(select(segments.c.path).where(segments.c.purged_at.is_not(None))).scalars())
        for rel in paths:
            p = writer.files.path(rel)
            if p.exists():
                p.unlink()
                removed += 1
        removed += _drop_purged_items(svc)
        _finished.add(writer)
    if removed:
        log.warning("deleted %d files that purges before a restart had left on disk", removed)
    return removed


def _ranges(values: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for v in values:
        if out and out[-1][1] + 1 == v:
            out[-1][1] = v
        else:
            out.append([v, v])
    return out
