"""FIFO retention of the working store (rule D2).

When the working store holds more than its capacity, the oldest segments go first — but
never data of an intercept that is still active, data not yet sealed or exported, or data
of a case under a legal hold.  Each purge deletes the segment's bytes, its index rows and
the content items they carried, and is itself a signed store event naming the leaves whose
items are gone, so that what remains still verifies against the signed tree heads.

`select_purge` is pure; `enforce_capacity` does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from calea.db.schema import cc_chunks, content_items, intercepts, iri_records, legal_holds, segments
from calea.domain.intercepts import InterceptStatus, intercept_status
from calea.services.authorities import case_authorities
from calea.services.context import Services
from calea.services.rows import intercept_from


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
                  else "not yet sealed or exported" if not s.released else "under legal hold" if s.held else None)
        if reason:
            skipped.append(Skipped(s.id, reason))
            continue
        chosen.append(s)
        used -= s.size
    return chosen, skipped


def store_usage(svc: Services) -> int:
    with svc.db.read() as conn:
        seg = conn.execute(select(func.coalesce(func.sum(segments.c.size), 0)).where(segments.c.purged_at.is_(None))).scalar()
        con = conn.execute(select(func.coalesce(func.sum(content_items.c.size), 0)).where(content_items.c.purged_at.is_(None))).scalar()
    return int(seg) + int(con)


def _segment_infos(svc: Services) -> list[SegmentInfo]:
    now = svc.now()
    out = []
    with svc.db.read() as conn:
        held = set(conn.execute(select(legal_holds.c.case_id).where(legal_holds.c.released_at.is_(None))).scalars())
        status: dict[str, bool] = {}
        for r in conn.execute(select(intercepts)).mappings():
            i = intercept_from(r)
            st = intercept_status(i, case_authorities(conn, i.case_id), now)
            status[i.id] = st in (InterceptStatus.ACTIVE, InterceptStatus.SCHEDULED)
        for s in conn.execute(select(segments).where(segments.c.purged_at.is_(None))).mappings():
            ids = set(conn.execute(select(iri_records.c.intercept_id).where(iri_records.c.segment_id == s["id"]).distinct()).scalars())
            ids |= set(conn.execute(select(cc_chunks.c.intercept_id).where(cc_chunks.c.segment_id == s["id"]).distinct()).scalars())
            out.append(SegmentInfo(s["id"], s["case_id"], int(s["size"]), s["created_at"], s["closed_at"] is not None,
                                   s["sealed_at"] is not None or s["exported_at"] is not None, s["case_id"] in held,
                                   any(status.get(i, False) for i in ids)))
    return out


def enforce_capacity(svc: Services, writer: Any, capacity: int) -> dict[str, Any]:
    """Purge the oldest eligible segments until the store fits its capacity (D2)."""
    used = store_usage(svc)
    chosen, skipped = select_purge(_segment_infos(svc), used, capacity)
    events = []
    freed = 0
    for seg in chosen:
        with svc.db.write() as conn:
            row = conn.execute(select(segments).where(segments.c.id == seg.id)).mappings().one()
            leaves: list[int] = []
            leaves += [int(x) for x in conn.execute(select(iri_records.c.leaf_index).where(iri_records.c.segment_id == seg.id)).scalars()]
            for start, count in conn.execute(select(cc_chunks.c.leaf_start, cc_chunks.c.count).where(cc_chunks.c.segment_id == seg.id)):
                leaves += range(int(start), int(start) + int(count))
            record_leaves = [int(x) for x in conn.execute(select(iri_records.c.leaf_index).where(iri_records.c.segment_id == seg.id)).scalars()]
            items = conn.execute(select(content_items.c.id, content_items.c.leaf_index, content_items.c.sha256, content_items.c.size)
                                 .where(content_items.c.case_id == seg.case_id, content_items.c.record_leaf.in_(record_leaves))).all() if record_leaves else []
            leaves += [int(i.leaf_index) for i in items]
            conn.execute(delete(content_items).where(content_items.c.id.in_([i.id for i in items])))
            conn.execute(delete(iri_records).where(iri_records.c.segment_id == seg.id))
            conn.execute(delete(cc_chunks).where(cc_chunks.c.segment_id == seg.id))
            conn.execute(update(segments).where(segments.c.id == seg.id).values(purged_at=svc.now()))
            still_used = {i.sha256 for i in items if conn.execute(select(content_items.c.id).where(content_items.c.sha256 == i.sha256)).first()}
        path = writer.files.path(row["path"])
        path.unlink(missing_ok=True)
        for i in items:
            if i.sha256 not in still_used:
                svc.content.path(i.sha256).unlink(missing_ok=True)
        freed += seg.size + sum(int(i.size) for i in items)
        events.append((seg.case_id, "purge", None, {"rule": "D2", "segment": row["path"], "bytes": seg.size,
                                                     "leaves": _ranges(sorted(leaves)), "created_at": row["created_at"].isoformat()}))
    if events:
        writer.write_events(events)
        from calea.sessions.calls_store import rebuild_calls

        for case_id in {e[0] for e in events}:
            rebuild_calls(svc, case_id)  # no digits (content) outlive their purged records (D2)
    return {"used": used, "capacity": capacity, "purged": [s.id for s in chosen], "freed": freed,
            "skipped": [{"segment": s.segment_id, "reason": s.reason} for s in skipped]}


def _ranges(values: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for v in values:
        if out and out[-1][1] + 1 == v:
            out[-1][1] = v
        else:
            out.append([v, v])
    return out
