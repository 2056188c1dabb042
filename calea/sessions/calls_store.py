"""Keeping the `calls` table up to date: an intake subscriber and a rebuild from the store.

Both do the same thing for a set of (LIID, CIN) keys of a case: read every IRI record of
those streams from `iri_records` (with the post-cut-through digits the store kept as
content, A6), assemble the calls (`calea.sessions.calls`) and upsert them with their
events.  A call keeps its id across updates and rebuilds (line sheets point at it).

* `CallsSubscriber` -- `Intake.subscribers.append(CallsSubscriber(svc))`: after each
  durable batch, the calls touched by its IRI are reassembled (a call spans batches), and
  so are the calls whose content (RTP) in the batch holds a telephone-event packet.
* `rebuild_calls(svc, case_id)` -- every call of the case again, from the store alone.

RFC 4733 digits (`call_media`) come from the call's content as the store kept it: the
CC chunks of its content streams (TS 102 232-5: the call's CIN; PacketCable: the CCC ids
of its CCOpen) between its start and end, read from the segment files.  Each chunk is
read once (chunks never change; the telephone-event candidates of a chunk are cached),
so a call whose digits arrive over time costs one read of each new chunk.  A record's time
is the carrier's stamp (TS 102 232-1 PSHeader); a PacketCable CCC datagram has none, the
store keeps only its chunk's receipt times, so a datagram's time is interpolated between
its chunk's first and last receipt by its place in the chunk.

A6: the calls of an intercept get the windows in which an eavesdropping authority (A2,
A4, or an extension of one) named its identifiers; post-cut-through digits outside them
are refused by the call record (`call_model`), whatever the store holds.  Under a PRTT
order the store keeps no RTP anyway.

B3: a call built from quarantined records is quarantined, and so are its events and
line sheets; `quarantine_calls` marks the calls of an intercept when it is quarantined.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

import calea.db.schema_calls  # noqa: F401  (until calea.db.schema imports it)
from calea.db.schema import authorities, cc_chunks, content_items, intercepts, iri_records, segments
from calea.db.schema_calls import call_events, calls, line_sheets
from calea.domain.intercepts import covers_identifiers
from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232 import read_header
from calea.store.leafsource import split_chunk
from calea.handover.model import ContentKind
from calea.services.context import Services
from calea.services.rows import authority_from, identifiers_from
from calea.sessions.call_media import DigitCollector, is_event_candidate, media_context
from calea.sessions.call_model import Draft, MediaDigit, Windows
from calea.sessions.calls import (
    CallRecord,
    IndexRecord,
    TargetIdentity,
    build_draft,
    call_formats,
    finish_call,
    is_call_record,
)
from calea.sessions.recording_cc import cc_media
from calea.sessions.rtp import MalformedMedia, MediaPacket
from calea.store.items import StoreItem
from calea.store.segments import SegmentFiles

log = logging.getLogger("calea.sessions.calls")

Key = tuple[str, str]  # (liid, cin)
_CHUNK = 400
_DIGITS = ContentKind.POST_CUT_THROUGH_DIGITS.value
MEDIA_FORMATS = ("etsi-102232", "pcesp-ccc")  # CC formats whose records carry RTP
_MEDIA_BEFORE = timedelta(seconds=30)  # content this long before the call's first IRI still belongs to it
_MEDIA_AFTER = timedelta(seconds=60)  # and this long after its release (buffered media, late stamps)
_CACHED_CHUNKS = 20_000
_MAX_DIGITS = 64  # the width of calls.digits_before / digits_after (each digit also has its event)
_MAX_PENDING_MEDIA = 100_000


def _chunks(values: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _load(conn: Connection, svc: Services, case_id: str, keys: set[Key]) -> tuple[dict[Key, list[IndexRecord]], dict[Key, str]]:
    """The IRI records of the given streams, with kept digits; and each stream's intercept."""
    by_liid: dict[str, list[str]] = defaultdict(list)
    for liid, cin in keys:
        by_liid[liid].append(cin)
    rows: list[Any] = []
    cols = (iri_records.c.liid, iri_records.c.cin, iri_records.c.format, iri_records.c.intercepted_at,
            iri_records.c.fields, iri_records.c.leaf_index, iri_records.c.quarantined, iri_records.c.late,
            iri_records.c.suppressed, iri_records.c.intercept_id)
    for liid, cins in by_liid.items():
        for part in _chunks(sorted(cins)):
            rows += conn.execute(select(*cols).where(iri_records.c.case_id == case_id, iri_records.c.liid == liid,
                                                     iri_records.c.cin.in_(part),
                                                     iri_records.c.format.in_(call_formats()))).all()
    digits = _digits(conn, svc, case_id, [int(r.leaf_index) for r in rows])
    out: dict[Key, list[IndexRecord]] = defaultdict(list)
    owner: dict[Key, str] = {}
    for r in rows:
        key = (r.liid, r.cin)
        owner.setdefault(key, r.intercept_id)
        out[key].append(IndexRecord(r.liid, r.cin, r.format, r.intercepted_at, r.fields, int(r.leaf_index),
                                    bool(r.quarantined), bool(r.late), int(r.suppressed or 0),
                                    digits.get(int(r.leaf_index))))
    return out, owner


def _digits(conn: Connection, svc: Services, case_id: str, leaves: list[int]) -> dict[int, str]:
    """Post-cut-through digits the store kept for these records (content; none under a PRTT
    order, A6).  A record's content items take the leaves right after its own, so the
    lookup is a range on the (case, leaf) index."""
    if not leaves:
        return {}
    wanted = set(leaves)
    out: dict[int, str] = {}
    leaves = sorted(leaves)
    for part in _chunks(leaves):
        q = select(content_items.c.record_leaf, content_items.c.sha256).where(
            content_items.c.case_id == case_id, content_items.c.leaf_index > part[0],
            content_items.c.leaf_index <= part[-1] + 16, content_items.c.kind == _DIGITS,
            content_items.c.purged_at.is_(None)).order_by(content_items.c.leaf_index)
        for rec_leaf, sha in conn.execute(q):
            if rec_leaf is None or int(rec_leaf) not in wanted:
                continue
            try:
                text = svc.content.get(sha).decode("ascii", "replace")
            except (OSError, ValueError):
                log.error("case %s: content %s of record leaf %s is missing", case_id, sha, rec_leaf)
                continue
            out[int(rec_leaf)] = out.get(int(rec_leaf), "") + text
    return out


def _targets(conn: Connection, intercept_ids: set[str]) -> tuple[dict[str, TargetIdentity], dict[str, list[Any]]]:
    """Each intercept's target identity and its identifiers (as the legal core reads them)."""
    rows = conn.execute(select(intercepts.c.id, intercepts.c.identifiers).where(intercepts.c.id.in_(sorted(intercept_ids))))
    targets, idents = {}, {}
    for r in rows:
        targets[r.id] = TargetIdentity.of(r.identifiers or [])
        try:
            idents[r.id] = list(identifiers_from(r.identifiers or []))
        except (KeyError, ValueError):
            idents[r.id] = []
    return targets, idents


def content_windows(conn: Connection, case_id: str, identifiers: dict[str, list[Any]]) -> dict[str, Windows]:
    """A6: per intercept, the [start, end) windows in which an eavesdropping authority (A2,
    A4, an extension of one) of the case named its identifiers -- when content, and so
    post-cut-through digits, may be shown.  An emergency authority whose document is
    missing covers content only up to its deadline (B3)."""
    auths = [authority_from(dict(r)) for r in conn.execute(select(authorities).where(authorities.c.case_id == case_id)).mappings()]
    out: dict[str, Windows] = {}
    for intercept_id, idents in identifiers.items():
        windows = []
        for a in auths:
            if not a.kind.allows_content or not idents or not covers_identifiers(a, tuple(idents)):
                continue
            end = a.ends_at
            if a.kind.is_emergency and a.document_id is None and a.deadline_at is not None:
                end = min(end, a.deadline_at)
            if a.effective_at < end:
                windows.append((a.effective_at, end))
        out[intercept_id] = tuple(windows)
    return out


# --- RFC 4733 digits from the stored call content ------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Candidate:
    """A stored CC record that may be a telephone event (`call_media.is_event_candidate`)."""

    at: datetime
    leaf: int
    packet: MediaPacket
    label: str | None


class _ChunkCache:
    """Telephone-event candidates per CC chunk (a chunk never changes once written)."""

    def __init__(self, size: int = _CACHED_CHUNKS) -> None:
        self.size = size
        self._data: OrderedDict[tuple[Any, ...], tuple[_Candidate, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[_Candidate, ...] | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], value: tuple[_Candidate, ...]) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)


_CACHE = _ChunkCache()


def _chunk_candidates(files: SegmentFiles, row: Any) -> tuple[_Candidate, ...]:
    key = (str(files.root), row.path, int(row.offset), int(row.length))
    found = _CACHE.get(key)
    if found is not None:
        return found
    try:
        records = split_chunk(files.read(row.path, row.offset, row.length), row.format)
    except FileNotFoundError:
        log.error("case %s: segment %s of CC chunk %s is missing", row.case_id, row.path, row.id)
        return ()
    out = []
    span = (row.last_at - row.first_at) / max(1, len(records) - 1)
    for i, raw in enumerate(records):
        try:
            media = cc_media(row.format, raw)
        except (MalformedMedia, MalformedRecord):
            continue
        if media is None or not is_event_candidate(media[0]):
            continue
        at = row.first_at + span * i  # PacketCable: receipt time, by its place in the chunk
        if row.format != "pcesp-ccc":
            try:
                at = read_header(raw).timestamp or at
            except MalformedRecord:
                pass
        out.append(_Candidate(at, int(row.leaf_start) + i, media[0], media[1]))
    result = tuple(out)
    _CACHE.put(key, result)
    return result


def media_digits(conn: Connection, svc: Services, case_id: str, draft: Draft, records: list[IndexRecord],
                 target: TargetIdentity) -> list[MediaDigit]:
    """The RFC 4733 digits in the stored content of a call (its CC streams, its time)."""
    streams = list(draft.cc_cins)
    if not streams:
        return []
    lo = draft.started_at - _MEDIA_BEFORE
    q = (select(cc_chunks.c.id, cc_chunks.c.case_id, cc_chunks.c.cin, cc_chunks.c.format, cc_chunks.c.offset,
                cc_chunks.c.length, cc_chunks.c.first_at, cc_chunks.c.last_at, cc_chunks.c.leaf_start, segments.c.path)
         .join(segments, segments.c.id == cc_chunks.c.segment_id)
         .where(cc_chunks.c.case_id == case_id, cc_chunks.c.liid == draft.liid, cc_chunks.c.cin.in_(streams),
                cc_chunks.c.format.in_(MEDIA_FORMATS), cc_chunks.c.first_at >= lo, segments.c.purged_at.is_(None)))
    if draft.ended_at is not None:
        q = q.where(cc_chunks.c.first_at <= draft.ended_at + _MEDIA_AFTER)
    rows = conn.execute(q.order_by(cc_chunks.c.leaf_start)).all()
    if not rows:
        return []
    files = SegmentFiles(svc.settings.home / "segments")
    collector = DigitCollector(media_context(records, target))
    for row in rows:
        for c in _chunk_candidates(files, row):
            collector.feed(c.packet, c.at, cin=row.cin, leaf=c.leaf, label=c.label)
    return collector.digits()


def is_event_record(fmt: str, raw: bytes | None) -> bool:
    """Whether a CC record the store kept may hold an RFC 4733 telephone event."""
    if raw is None or fmt not in MEDIA_FORMATS:
        return False
    try:
        media = cc_media(fmt, raw)
    except (MalformedMedia, MalformedRecord):
        return False
    return media is not None and is_event_candidate(media[0])


def _values(call: CallRecord) -> dict[str, Any]:
    before, after = call.digits_before, call.digits_after
    return dict(
        liid=call.liid, cin=call.cin, format=call.format, direction=call.direction, collection=call.collection,
        calling=call.calling, called=call.called, target=call.target, redirected_from=call.redirected_from,
        redirected_to=call.redirected_to, dialed=call.dialed, started_at=call.started_at, ringing_at=call.ringing_at,
        answered_at=call.answered_at, ended_at=call.ended_at, ring_s=call.ring_s, duration_s=call.duration_s,
        outcome=call.outcome, release_cause=call.release_cause, released_by=call.released_by, state=call.state,
        digits_before=before[:_MAX_DIGITS] if before else None, digits_after=after[:_MAX_DIGITS] if after else None,
        cc_cins=list(call.cc_cins),
        sip_call_id=call.sip_call_id, location=dict(call.location) if call.location else None,
        quarantined=call.quarantined, late=call.late, suppressed=call.suppressed, records=call.records,
        first_leaf=call.first_leaf, last_leaf=call.last_leaf,
    )


def save_calls(conn: Connection, svc: Services, case_id: str, found: list[tuple[str, CallRecord]]) -> list[str]:
    """Insert or update calls (by key) and replace their events, in a few bulk statements;
    returns their ids in the order given.  `found`: (intercept id, call) pairs."""
    if not found:
        return []
    existing: dict[Key, Any] = {}
    by_liid: dict[str, list[str]] = defaultdict(list)
    for _, call in found:
        by_liid[call.liid].append(call.cin)
    for liid, cins in by_liid.items():
        for part in _chunks(sorted(set(cins))):
            for r in conn.execute(select(calls.c.id, calls.c.cin, calls.c.quarantined).where(
                    calls.c.case_id == case_id, calls.c.liid == liid, calls.c.cin.in_(part))):
                existing[(liid, r.cin)] = r
    now = svc.now()
    inserts, updates, ids, events = [], [], [], []
    held: list[str] = []
    for intercept_id, call in found:
        values = _values(call)
        old = existing.get(call.key)
        if old is None:
            call_id = svc.new_id()
            inserts.append(dict(id=call_id, case_id=case_id, intercept_id=intercept_id, updated_at=now, **values))
        else:
            call_id = old.id
            values["quarantined"] = call.quarantined or bool(old.quarantined)  # B3 is never undone here
            updates.append(dict(b_id=call_id, updated_at=now, **values))
        ids.append(call_id)
        if values["quarantined"]:
            held.append(call_id)
        events += [dict(call_id=call_id, case_id=case_id, at=e.at, name=e.name, detail=e.detail[:300], party=e.party,
                        location=dict(e.location) if e.location else None, digits=e.digits,
                        digits_kind=e.digits_kind, suppressed=e.suppressed, record_leaf=e.leaf_index,
                        quarantined=bool(values["quarantined"])) for e in call.events]
    if inserts:
        conn.execute(insert(calls), inserts)
    if updates:
        conn.execute(update(calls).where(calls.c.id == bindparam("b_id")), updates)
        for part in _chunks([u["b_id"] for u in updates]):
            conn.execute(delete(call_events).where(call_events.c.call_id.in_(part)))
    if events:
        conn.execute(insert(call_events), events)
    for part in _chunks(held):
        conn.execute(update(line_sheets).where(line_sheets.c.call_id.in_(part)).values(quarantined=True))
    return ids


def refresh_calls(svc: Services, case_id: str, keys: set[Key]) -> list[str]:
    """Reassemble and store the calls of these streams; returns the ids of the calls saved."""
    for attempt in (1, 2):
        try:
            with svc.db.write() as conn:
                return refresh_calls_in(conn, svc, case_id, keys)
        except IntegrityError:  # a concurrent rebuild inserted the same call first
            if attempt == 2:
                raise
    return []


def refresh_calls_in(conn: Connection, svc: Services, case_id: str, keys: set[Key]) -> list[str]:
    """`refresh_calls` inside the caller's transaction (a purge refreshes in its own)."""
    records, owner = _load(conn, svc, case_id, keys)
    targets, idents = _targets(conn, set(owner.values()))
    windows = content_windows(conn, case_id, idents)
    found = []
    for key, recs in records.items():
        draft = build_draft(recs)
        if draft is None:
            continue
        target = targets.get(owner[key], TargetIdentity())
        media = media_digits(conn, svc, case_id, draft, recs, target)
        found.append((owner[key], finish_call(draft, target, media=media, content=windows.get(owner[key]))))
    return save_calls(conn, svc, case_id, found)


def calls_of_content(conn: Connection, case_id: str, streams: dict[Key, datetime]) -> set[Key]:
    """The calls whose content streams are these (LIID, CIN) keys, each seen at the given
    time: a TS 102 232-5 call's content has its own CIN, a PacketCable call's the CCC ids of
    its CCOpen.  (For a purge: the calls whose RFC 4733 digits came from purged content.)"""
    out: set[Key] = set()
    by_liid: dict[str, dict[str, datetime]] = defaultdict(dict)
    for (liid, cin), at in streams.items():
        by_liid[liid][cin] = at
    for liid, cins in by_liid.items():
        for part in _chunks(sorted(cins)):
            out |= {(liid, r.cin) for r in conn.execute(select(calls.c.cin).where(
                calls.c.case_id == case_id, calls.c.liid == liid, calls.c.format != "pcesp-cdc", calls.c.cin.in_(part)))}
        lo, hi = min(cins.values()), max(cins.values())
        rows = conn.execute(select(calls.c.cin, calls.c.cc_cins).where(
            calls.c.case_id == case_id, calls.c.liid == liid, calls.c.format == "pcesp-cdc",
            calls.c.started_at <= hi + _MEDIA_BEFORE,
            (calls.c.ended_at.is_(None)) | (calls.c.ended_at >= lo - _MEDIA_AFTER)))
        for r in rows:
            if set(r.cc_cins or ()) & set(cins):
                out.add((liid, r.cin))
    return out


def rebuild_calls(svc: Services, case_id: str) -> dict[str, int]:
    """Every call of a case, again, from the store (IRI records and call content).  A call whose records are gone
    (purged under D2) is removed, or -- when a line sheet refers to it -- kept without its
    content (post-cut-through digits).  Run it after a purge."""
    with svc.db.read() as conn:
        keys = {(r.liid, r.cin) for r in conn.execute(
            select(iri_records.c.liid, iri_records.c.cin).where(
                iri_records.c.case_id == case_id, iri_records.c.cin.is_not(None),
                iri_records.c.format.in_(call_formats())).distinct())}
    saved: set[str] = set()
    ordered = sorted(keys)
    for part in _chunks(ordered, 200):
        saved.update(refresh_calls(svc, case_id, set(part)))
    removed = 0
    with svc.db.write() as conn:
        stale = [r.id for r in conn.execute(select(calls.c.id).where(calls.c.case_id == case_id)) if r.id not in saved]
        sheets = {r.call_id for r in conn.execute(select(line_sheets.c.call_id).where(line_sheets.c.case_id == case_id))}
        for part in _chunks([c for c in stale if c not in sheets]):
            conn.execute(delete(call_events).where(call_events.c.call_id.in_(part)))
            removed += conn.execute(delete(calls).where(calls.c.id.in_(part))).rowcount
        for part in _chunks([c for c in stale if c in sheets]):  # kept for its line sheet, without content
            conn.execute(update(calls).where(calls.c.id.in_(part)).values(digits_after=None))
            conn.execute(update(call_events).where(call_events.c.call_id.in_(part),
                                                   call_events.c.digits_kind == "post-cut-through").values(digits=None))
    return {"calls": len(saved), "removed": removed}


def quarantine_calls(conn: Connection, intercept_id: str) -> int:
    """B3: the derived records of a quarantined intercept are quarantined with its data."""
    ids = [r.id for r in conn.execute(select(calls.c.id).where(calls.c.intercept_id == intercept_id))]
    for part in _chunks(ids):
        conn.execute(update(calls).where(calls.c.id.in_(part)).values(quarantined=True))
        conn.execute(update(call_events).where(call_events.c.call_id.in_(part)).values(quarantined=True))
        conn.execute(update(line_sheets).where(line_sheets.c.call_id.in_(part)).values(quarantined=True))
    return len(ids)


class CallsSubscriber:
    """An intake subscriber: after each durable batch, reassemble the calls it touched.

    It runs on the intake thread, so it must be quick and never raise.  With
    `background=True` it only notes the touched (LIID, CIN) keys there (and the CC items
    to look at) and a worker thread reassembles them, coalescing the keys of many batches
    (a call's records arrive in several); `flush()` waits until that is done.  A failure
    is logged and counted; a rebuild repairs what it left out.

    Content: a CC item with a telephone-event candidate (RFC 4733) touches its call -- a
    TS 102 232-5 stream is the call's own CIN; a PacketCable CCC id is mapped to its call
    by the CCOpen seen (else by the calls table).  CC items held without content (A6) are
    never looked at."""

    def __init__(self, svc: Services, *, background: bool = False, delay: float = 0.2) -> None:
        self.svc = svc
        self.background = background
        self.delay = delay
        self.failures = 0
        self._pending: dict[str, set[Key]] = defaultdict(set)
        self._media: list[StoreItem] = []
        self._ccc: OrderedDict[Key, Key] = OrderedDict()  # (liid, CCC id) -> the call's key, from CCOpen
        self._cond = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._stop = False

    def __call__(self, items: list[StoreItem]) -> None:
        touched: dict[str, set[Key]] = defaultdict(set)
        media: list[StoreItem] = []
        for it in items:
            if it.kind == "iri" and it.cin is not None and is_call_record(it.format, it.fields):
                touched[it.case_id].add((it.liid, it.cin))
            elif it.kind == "cc" and it.raw is not None and not it.suppressed and it.format in MEDIA_FORMATS:
                media.append(it)
        if not touched and not media:
            return
        if not self.background:
            self._learn(touched, items)
            self._take_media(touched, media)
            self._refresh(touched)
            return
        with self._cond:
            self._learn(touched, items)
            for case_id, keys in touched.items():
                self._pending[case_id] |= keys
            if len(self._media) + len(media) <= _MAX_PENDING_MEDIA:
                self._media += media
            else:  # far behind: refresh the calls of these streams without looking at the packets
                for it in media:
                    key = (it.liid, it.cin or "")
                    self._pending[it.case_id].add(self._ccc.get(key, key))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="calea-calls", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _learn(self, touched: dict[str, set[Key]], items: list[StoreItem]) -> None:
        """PacketCable: CCOpen / CCChange name the content streams (CCC ids) of a call."""
        if not touched:
            return
        for it in items:
            if it.kind != "iri" or it.cin is None or it.fields.get("message") not in ("ccopen", "ccchange"):
                continue
            ccc = it.fields.get("ccc") or {}
            for name in ("combined_id", "transmit_id", "receive_id"):
                if isinstance(ccc.get(name), int):
                    self._ccc[(it.liid, f"{ccc[name]:08X}")] = (it.liid, it.cin)
        while len(self._ccc) > 10_000:
            self._ccc.popitem(last=False)

    def _take_media(self, touched: dict[str, set[Key]], media: list[StoreItem]) -> None:
        """Touch the calls of the CC items that may hold a telephone event."""
        unknown: dict[str, dict[Key, datetime]] = defaultdict(dict)
        for it in media:
            if not is_event_record(it.format, it.raw):
                continue
            key = (it.liid, it.cin or "")
            if it.format == "pcesp-ccc":
                call = self._ccc.get(key)
                if call is None:
                    unknown[it.case_id][key] = it.intercepted_at
                    continue
                key = call
            touched.setdefault(it.case_id, set()).add(key)
        for case_id, streams in unknown.items():
            try:
                with self.svc.db.read() as conn:
                    touched.setdefault(case_id, set()).update(calls_of_content(conn, case_id, streams))
            except Exception:
                self.failures += 1
                log.exception("case %s: the calls of %d content streams not found", case_id, len(streams))

    def _refresh(self, touched: dict[str, set[Key]]) -> None:
        for case_id, keys in touched.items():
            if not keys:
                continue
            try:
                refresh_calls(self.svc, case_id, keys)
            except Exception:
                self.failures += 1
                log.exception("calls of case %s not updated (%d streams); rebuild_calls repairs them", case_id, len(keys))

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._media and not self._stop:
                    self._cond.wait()
                if self._stop and not self._pending and not self._media:
                    return
                self._cond.wait(self.delay)  # let more batches of the same calls arrive
                work, self._pending = self._pending, defaultdict(set)
                media, self._media = self._media, []
                self._busy = True
            try:
                self._take_media(work, media)
                self._refresh(work)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Until every noted call is stored (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.notify_all()
            while self._pending or self._media or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)


def subscribe(intake: Any, *, background: bool = False) -> CallsSubscriber:
    """Attach a `CallsSubscriber` to an `Intake` (once)."""
    for s in intake.subscribers:
        if isinstance(s, CallsSubscriber):
            return s
    sub = CallsSubscriber(intake.svc, background=background)
    intake.subscribers.append(sub)
    return sub
