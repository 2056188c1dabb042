"""The store's single writer: one durable batch at a time (rule D1).

For each batch: raw records are appended to segment files and fsynced; index rows,
content items and store events are inserted in one database transaction, each with the
leaf index it takes in its case's Merkle log; after the commit the leaf hashes are
appended to the log (tiles, written in place and not fsynced one by one: the database is
the source of truth), and a signed checkpoint (tree head) is written every N leaves or T
seconds, after a sync so that a signed head only refers to tiles on disk.  The database is the source of truth: at start-up `recover()`
re-appends any leaves a crash left out of a log.
"""

from __future__ import annotations

import hashlib
import math
import logging
from hashlib import sha256
import os

import orjson
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from calea.db.bulk import BulkInsert
from calea.db.schema import cc_chunks, content_items, iri_records, malformed, refusals, segments, store_events, streams, tree_heads
from calea.db.upsert import upsert
from calea.services.context import Services
from calea.store import leaves
from calea.store.items import Malformed, Refusal, StoreItem
from calea.store.leafsource import case_leaves, frame
from calea.store.leaves import time_text
from calea.store.merkle import Checkpoint, FileTileStore, MerkleLog, leaf_hash, load_or_create_signing_key, sign_checkpoint
from calea.store.merkle.hashing import prefixed_hashes
from calea.store.segments import MAX_SEGMENT, OpenSegment, SegmentFiles

log = logging.getLogger("calea.store")

_IRI_COLUMNS = ("case_id", "intercept_id", "liid", "channel", "format", "kind", "cin", "seq", "intercepted_at", "received_at",
                "segment_id", "offset", "length", "raw_sha256", "event", "fields", "rule", "suppressed", "late", "quarantined",
                "leaf_index")
_IRI_INSERT = BulkInsert(iri_records, repeating=("received_at", "late", "quarantined"), encoded=("fields",))
_SQLITE_READY = frozenset({"intercepted_at", "received_at", "late", "quarantined"})  # what `_write` writes in SQLite's form


def sqlite_time(leaf_text: Any, value: datetime) -> str:
    """SQLite's DATETIME text of an instant (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC), cut from its
    leaf text (`leaves.time_text`: `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the same instant in UTC), else
    made by the column type's own processing (tested equal)."""
    if type(leaf_text) is str and len(leaf_text) == 27 and leaf_text[10] == "T":
        return leaf_text[:10] + " " + leaf_text[11:26]
    return _SQLITE_DATETIME(value)


def _sqlite_datetime_processor() -> Any:
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    return iri_records.c.intercepted_at.type.dialect_impl(dialect).bind_processor(dialect)


_SQLITE_DATETIME = _sqlite_datetime_processor()
_CC_PREFIX = b"\x00" + leaves.CC_TAG  # RFC 9162 leaf prefix + the CC domain tag


def cc_leaf_hash(raw: bytes) -> bytes:
    """leaf_hash(cc_leaf(raw)) without building the concatenation (the writer hashes a
    batch at once: `prefixed_hashes(_CC_PREFIX, raws)`, tested equal)."""
    h = hashlib.sha256(_CC_PREFIX)
    h.update(raw)
    return h.digest()


@dataclass
class BatchResult:
    stored: int = 0
    refused: int = 0
    malformed: int = 0
    suppressed: int = 0
    leaves: dict[str, int] = field(default_factory=dict)


class StoreWriter:
    def __init__(self, svc: Services, *, checkpoint_every: int = 10_000, checkpoint_seconds: float = 10.0,
                 tile_fsync: bool = False) -> None:
        self.svc = svc
        self.files = SegmentFiles(svc.settings.home / "segments")
        self.merkle_dir = svc.settings.home / "merkle"
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self.tile_fsync = tile_fsync
        self._open: dict[tuple[str, str], OpenSegment] = {}
        self._logs: dict[str, MerkleLog] = {}
        self._last_head: dict[str, tuple[int, float]] = {}
        self._key = None
        self._ready: bool | None = None
        self.lock = threading.RLock()

    # --- logs and checkpoints ------------------------------------------------------------

    def merkle_log(self, case_id: str) -> MerkleLog:
        lg = self._logs.get(case_id)
        if lg is None:
            lg = MerkleLog(case_id, FileTileStore.for_log(self.merkle_dir, case_id, fsync=self.tile_fsync))
            self._logs[case_id] = lg
        return lg

    def signing_key(self):  # type: ignore[no-untyped-def]
        if self._key is None:
            self._key = load_or_create_signing_key(self.svc.settings.keys_dir)
        return self._key

    def checkpoint(self, case_id: str, *, force: bool = False) -> str | None:
        """Sign the case log's tree head (every N leaves or T seconds, or when forced)."""
        return self.checkpoints([case_id], force=force).get(case_id)

    def checkpoints(self, case_ids: list[str], *, force: bool = False) -> dict[str, str]:
        """Sign the tree heads of those of these cases' logs that are due (N leaves or T
        seconds since their last, or any new leaf when forced): one disk sync and one
        transaction for them all, as a batch that touched many cases makes many due at once."""
        due: list[tuple[str, int, bytes]] = []
        now = time.monotonic()
        for case_id in dict.fromkeys(case_ids):
            lg = self.merkle_log(case_id)
            size = lg.size
            last_size, last_time = self._last_head.get(case_id, (-1, -math.inf))
            if size != last_size and (force or size - last_size >= self.checkpoint_every or now - last_time >= self.checkpoint_seconds):
                due.append((case_id, size, lg.root()))
        if not due:
            return {}
        if not self.tile_fsync:
            os.sync()  # a signed head only ever refers to tiles that are on disk
        key, at = self.signing_key(), self.svc.now()
        signed = {case_id: sign_checkpoint(Checkpoint(origin=f"calea/case/{case_id}", size=size, root_hash=root), key)
                  for case_id, size, root in due}
        with self.svc.db.write() as conn:
            for case_id, size, root in due:
                exists = conn.execute(select(tree_heads.c.size).where(tree_heads.c.case_id == case_id, tree_heads.c.size == size)).first()
                if exists is None:
                    conn.execute(insert(tree_heads).values(case_id=case_id, size=size, root=root.hex(), checkpoint=signed[case_id], signed_at=at))
        for case_id, size, _ in due:
            self._last_head[case_id] = (size, now)
        return signed

    def checkpoint_all(self, *, force: bool = False) -> None:
        self.checkpoints(list(self._logs), force=force)

    def _iri_ready(self, conn: Connection) -> bool:
        """Whether the IRI rows go to the driver ready (SQLite, when the columns it processes are
        the ones `_write` writes in its form), once per writer."""
        if self._ready is None:
            self._ready = conn.dialect.name == "sqlite" and _IRI_INSERT.unprocessed(conn, _IRI_COLUMNS) <= _SQLITE_READY
        return self._ready

    # --- segments ----------------------------------------------------------------------------

    def _segment(self, conn: Connection, case_id: str, channel: str, at: datetime) -> OpenSegment:
        seg = self._open.get((case_id, channel))
        if seg is not None and seg.size < MAX_SEGMENT and seg.starts is not None and seg.starts <= at < seg.ends:
            return seg  # (once per IRI record: comparing is cheaper than formatting the hour)
        hour = f"{at:%Y%m%d%H}"
        if seg is not None and (seg.hour != hour or seg.size >= MAX_SEGMENT):
            self.files.close(seg)
            conn.execute(update(segments).where(segments.c.id == seg.id).values(closed_at=self.svc.now()))
            seg = None
        if seg is None:
            seg_id = self.svc.new_id()
            rel = self.files.relative(case_id, channel, at, seg_id)
            conn.execute(insert(segments).values(id=seg_id, case_id=case_id, path=rel, channel=channel, created_at=self.svc.now(), size=0))
            seg = self.files.open(seg_id, case_id, channel, rel, hour)
            seg.starts = at.replace(minute=0, second=0, microsecond=0)
            seg.ends = seg.starts + timedelta(hours=1)
            self._open[(case_id, channel)] = seg
        return seg

    def close(self) -> None:
        with self.lock:
            for seg in self._open.values():
                self.files.close(seg)
            if self._open:
                with self.svc.db.write() as conn:
                    conn.execute(update(segments).where(segments.c.id.in_([s.id for s in self._open.values()]))
                                 .values(closed_at=self.svc.now()))
            self._open.clear()
            self.checkpoint_all(force=True)

    # --- the batch -----------------------------------------------------------------------------

    def write(self, items: list[StoreItem], refused: list[Refusal] = (), bad: list[Malformed] = (),  # type: ignore[assignment]
              stream_rows: list[dict[str, Any]] = ()) -> BatchResult:  # type: ignore[assignment]
        """One durable batch.  `stream_rows`: the intake's per-stream state after the batch
        (`streams` rows), committed with it, so that what the store holds and the sequence
        numbers it knows it holds never disagree, even after a crash between the two."""
        with self.lock:
            return self._write(items, list(refused), list(bad), list(stream_rows))

    def _write(self, items: list[StoreItem], refused: list[Refusal], bad: list[Malformed],
               stream_rows: list[dict[str, Any]]) -> BatchResult:
        result = BatchResult(refused=len(refused), malformed=len(bad))
        pending: dict[str, list[bytes]] = defaultdict(list)
        now = self.svc.now()
        with self.svc.db.write() as conn:
            next_leaf: dict[str, int] = {}

            def take(case_id: str, data: bytes) -> int:
                if case_id not in next_leaf:
                    next_leaf[case_id] = self.merkle_log(case_id).size
                idx = next_leaf[case_id]
                next_leaf[case_id] = idx + 1
                pending[case_id].append(leaf_hash(data))
                return idx

            def take_many(case_id: str, hashes: list[bytes]) -> int:
                if case_id not in next_leaf:
                    next_leaf[case_id] = self.merkle_log(case_id).size
                first = next_leaf[case_id]
                next_leaf[case_id] = first + len(hashes)
                pending[case_id].extend(hashes)
                return first

            iri_rows: list[tuple[Any, ...]] = []
            content_rows: list[dict[str, Any]] = []
            times: dict[datetime, str] = {}  # instants as leaf text, once each
            ready = self._iri_ready(conn)
            chunk_rows: list[dict[str, Any]] = []
            suppress: dict[tuple[str, str, str], list[Any]] = {}
            touched: dict[str, OpenSegment] = {}
            cc_groups: dict[tuple[Any, ...], list[StoreItem]] = {}
            for it in items:
                if it.suppressed:
                    for kind in it.suppressed:
                        key = (it.case_id, it.intercept_id, kind)
                        agg = suppress.setdefault(key, [0, it.intercepted_at, it.intercepted_at])
                        agg[0] += 1
                        agg[1] = min(agg[1], it.intercepted_at)
                        agg[2] = max(agg[2], it.intercepted_at)
                    result.suppressed += 1
                if it.kind == "cc":
                    if it.raw is None:
                        continue  # CC under a PRTT order: nothing but the count (A6)
                    key = (it.case_id, it.intercept_id, it.liid, it.cin, it.format, it.rule, it.late, it.quarantined)
                    group = cc_groups.get(key)
                    if group is None:
                        group = cc_groups[key] = []
                    group.append(it)
                    continue
                case_id = it.case_id
                raw = it.raw
                # serialised once (canonical: sorted keys) for both the JSON column and the leaf
                text = leaves.canonical(it.fields)
                if raw is not None:
                    seg = self._segment(conn, case_id, it.channel, it.received_at)
                    touched[seg.id] = seg
                    seg_id, offset, length, sha = seg.id, self.files.append(seg, raw), len(raw), sha256(raw).hexdigest()
                else:
                    seg_id = offset = length = sha = None
                at_text, received_text = time_text(it.intercepted_at, times), time_text(it.received_at, times)
                index = take(case_id, leaves.iri_leaf_values(
                    it.liid, it.cin, it.seq, it.channel, it.format, it.kind, at_text, received_text,
                    sha, length, it.event, orjson.Fragment(text), it.rule, len(it.suppressed), it.late))
                if ready:  # the four values SQLite's driver takes in its own form (`BulkInsert.execute_ready`)
                    at, received = sqlite_time(at_text, it.intercepted_at), sqlite_time(received_text, it.received_at)
                    late, quarantined = 1 if it.late else 0, 1 if it.quarantined else 0
                else:
                    at, received, late, quarantined = it.intercepted_at, it.received_at, it.late, it.quarantined
                iri_rows.append((case_id, it.intercept_id, it.liid, it.channel, it.format, it.kind, it.cin, it.seq, at, received,
                                 seg_id, offset, length, sha, it.event, text.decode(), it.rule, len(it.suppressed), late,
                                 quarantined, index))
                result.stored += 1
                for part in it.content:
                    digest = self.svc.content.put(part.data)
                    cidx = take(case_id, leaves.content_leaf(part.kind.value, digest, len(part.data), part.media_type, part.name, index))
                    content_rows.append(dict(
                        case_id=case_id, intercept_id=it.intercept_id, kind=part.kind.value, sha256=digest, size=len(part.data),
                        media_type=part.media_type, name=part.name, created_at=now, quarantined=it.quarantined, leaf_index=cidx,
                        record_leaf=index))
            # CC: one contiguous run per stream and batch (the order of records inside a batch is
            # the store's to choose), so one chunk row indexes many records.
            for (case_id, intercept_id, liid, cin, fmt, rule, late, quarantined), group in cc_groups.items():
                seg = self._segment(conn, case_id, "hi3", group[0].received_at)
                touched[seg.id] = seg
                framed = b"".join(frame(g.raw, fmt) for g in group)  # type: ignore[arg-type]
                offset = self.files.append(seg, framed)
                # cc_leaf_hash of each record, the batch in one call
                first_leaf = take_many(case_id, prefixed_hashes(_CC_PREFIX, [g.raw for g in group]))  # type: ignore[arg-type]
                stamps = [g.intercepted_at for g in group]
                chunk_rows.append(dict(
                    case_id=case_id, intercept_id=intercept_id, liid=liid, cin=cin, format=fmt, segment_id=seg.id,
                    offset=offset, length=len(framed), count=len(group), first_seq=group[0].seq, last_seq=group[-1].seq,
                    first_at=min(stamps), last_at=max(stamps), received_at=group[0].received_at, rule=rule, late=late,
                    quarantined=quarantined, leaf_start=first_leaf))
                result.stored += len(group)
            for seg in touched.values():
                self.files.sync(seg)
                conn.execute(update(segments).where(segments.c.id == seg.id).values(size=seg.size, last_at=now))
            if chunk_rows:
                conn.execute(insert(cc_chunks), chunk_rows)
            if ready:
                _IRI_INSERT.execute_ready(conn, _IRI_COLUMNS, iri_rows, _SQLITE_READY)
            else:  # (PostgreSQL: the driver takes datetimes and booleans as they are; the JSON in its adapter)
                _IRI_INSERT.execute_values(conn, _IRI_COLUMNS, iri_rows)
            if content_rows:
                conn.execute(insert(content_items), content_rows)
            for (case_id, intercept_id, kind), (count, first, last) in suppress.items():
                body = {"content_kind": kind, "count": count, "first_at": first.isoformat(), "last_at": last.isoformat(), "rule": "A6"}
                idx = take(case_id, leaves.event_leaf("suppression", now, intercept_id, body))
                conn.execute(insert(store_events).values(case_id=case_id, at=now, kind="suppression", intercept_id=intercept_id, body=body, leaf_index=idx))
            if refused:
                conn.execute(insert(refusals), [dict(at=r.at, liid=r.liid, channel=r.channel, format=r.format, cin=r.cin, seq=r.seq,
                                                     intercepted_at=r.intercepted_at, rule=r.rule, reason=r.reason, peer=r.peer) for r in refused])
            for m in bad:
                sha = self.svc.content.put(m.data)
                conn.execute(insert(malformed).values(at=m.at, peer=m.peer, channel=m.channel, format=m.format, reason=m.reason,
                                                      message=m.message[:2000], sha256=sha, size=len(m.data)))
            upsert(conn, streams, stream_rows)
        for case_id, hashes in pending.items():
            self.merkle_log(case_id).append(hashes)
            result.leaves[case_id] = len(hashes)
        self.checkpoints(list(pending))
        return result

    def write_events(self, events: list[tuple[str, str, str | None, dict[str, Any]]]) -> list[int]:
        """Signed store events (quarantine, purge, export…): (case_id, kind, intercept_id, body).

        Takes the writer's lock before the database's, the same order as a batch."""
        out: list[int] = []
        with self.lock:
            now = self.svc.now()
            pending: dict[str, list[bytes]] = defaultdict(list)
            with self.svc.db.write() as conn:
                for case_id, kind, intercept_id, body in events:
                    idx = self.merkle_log(case_id).size + len(pending[case_id])
                    conn.execute(insert(store_events).values(case_id=case_id, at=now, kind=kind, intercept_id=intercept_id,
                                                             body=body, leaf_index=idx))
                    pending[case_id].append(leaf_hash(leaves.event_leaf(kind, now, intercept_id, body)))
                    out.append(idx)
            for case_id, hashes in pending.items():
                self.merkle_log(case_id).append(hashes)
            self.checkpoints(list(pending), force=True)
        return out

    # --- recovery -------------------------------------------------------------------------------

    def recover(self) -> dict[str, int]:
        """Append to each case's log the leaves whose rows committed before a crash."""
        repaired: dict[str, int] = {}
        with self.lock, self.svc.db.read() as conn:
            cases = set()
            for table, col in ((iri_records, iri_records.c.leaf_index), (store_events, store_events.c.leaf_index),
                               (content_items, content_items.c.leaf_index), (cc_chunks, cc_chunks.c.leaf_start + cc_chunks.c.count - 1)):
                for case_id, top in conn.execute(select(table.c.case_id, func.max(col)).group_by(table.c.case_id)):
                    cases.add((case_id, int(top)))
            tops: dict[str, int] = {}
            for case_id, top in cases:
                tops[case_id] = max(tops.get(case_id, -1), top)
            for case_id, top in tops.items():
                lg = self.merkle_log(case_id)
                if top + 1 > lg.size:
                    missing = [leaf for leaf in case_leaves(conn, self.files, self.svc.content, case_id, start=lg.size)]
                    hashes = [leaf_hash(x.data) for x in missing if x.data is not None]
                    if len(hashes) == len(missing) and [x.index for x in missing] == list(range(lg.size, top + 1)):
                        lg.append(hashes)
                        repaired[case_id] = len(hashes)
                    else:
                        log.error("case %s: cannot rebuild leaves %d..%d of its log", case_id, lg.size, top)
        self.checkpoints(list(repaired), force=True)
        return repaired
