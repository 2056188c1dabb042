"""Keeping the `calls` table up to date: an intake subscriber and a rebuild from the store.

Both do the same thing for a set of (LIID, CIN) keys of a case: read every IRI record of
those streams from `iri_records` (with the post-cut-through digits the store kept as
content, A6), assemble the calls (`calea.sessions.calls`) and upsert them with their
events.  A call keeps its id across updates and rebuilds (line sheets point at it).

* `CallsSubscriber` -- `Intake.subscribers.append(CallsSubscriber(svc))`: after each
  durable batch, the calls touched by its IRI are reassembled (a call spans batches).
* `rebuild_calls(svc, case_id)` -- every call of the case again, from the store alone.

B3: a call built from quarantined records is quarantined, and so are its events and
line sheets; `quarantine_calls` marks the calls of an intercept when it is quarantined.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

import calea.db.schema_calls  # noqa: F401  (until calea.db.schema imports it)
from calea.db.schema import content_items, intercepts, iri_records
from calea.db.schema_calls import call_events, calls, line_sheets
from calea.handover.model import ContentKind
from calea.services.context import Services
from calea.sessions.calls import CallRecord, IndexRecord, TargetIdentity, assemble_call, call_formats, is_call_record
from calea.store.items import StoreItem

log = logging.getLogger("calea.sessions.calls")

Key = tuple[str, str]  # (liid, cin)
_CHUNK = 400
_DIGITS = ContentKind.POST_CUT_THROUGH_DIGITS.value


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


def _targets(conn: Connection, intercept_ids: set[str]) -> dict[str, TargetIdentity]:
    rows = conn.execute(select(intercepts.c.id, intercepts.c.identifiers).where(intercepts.c.id.in_(sorted(intercept_ids))))
    return {r.id: TargetIdentity.of(r.identifiers or []) for r in rows}


def _values(call: CallRecord) -> dict[str, Any]:
    return dict(
        liid=call.liid, cin=call.cin, format=call.format, direction=call.direction, collection=call.collection,
        calling=call.calling, called=call.called, target=call.target, redirected_from=call.redirected_from,
        redirected_to=call.redirected_to, dialed=call.dialed, started_at=call.started_at, ringing_at=call.ringing_at,
        answered_at=call.answered_at, ended_at=call.ended_at, ring_s=call.ring_s, duration_s=call.duration_s,
        outcome=call.outcome, release_cause=call.release_cause, released_by=call.released_by, state=call.state,
        digits_before=call.digits_before, digits_after=call.digits_after, cc_cins=list(call.cc_cins),
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
                return _refresh(conn, svc, case_id, keys)
        except IntegrityError:  # a concurrent rebuild inserted the same call first
            if attempt == 2:
                raise
    return []


def _refresh(conn: Connection, svc: Services, case_id: str, keys: set[Key]) -> list[str]:
    records, owner = _load(conn, svc, case_id, keys)
    targets = _targets(conn, set(owner.values()))
    found = []
    for key, recs in records.items():
        call = assemble_call(recs, targets.get(owner[key], TargetIdentity()))
        if call is not None:
            found.append((owner[key], call))
    return save_calls(conn, svc, case_id, found)


def rebuild_calls(svc: Services, case_id: str) -> dict[str, int]:
    """Every call of a case, again, from `iri_records` alone.  A call whose records are gone
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
    `background=True` it only notes the touched (LIID, CIN) keys there and a worker thread
    reassembles them, coalescing the keys of many batches (a call's records arrive in
    several); `flush()` waits until that is done.  A failure is logged and counted; a
    rebuild repairs what it left out."""

    def __init__(self, svc: Services, *, background: bool = False, delay: float = 0.2) -> None:
        self.svc = svc
        self.background = background
        self.delay = delay
        self.failures = 0
        self._pending: dict[str, set[Key]] = defaultdict(set)
        self._cond = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._stop = False

    def __call__(self, items: list[StoreItem]) -> None:
        touched: dict[str, set[Key]] = defaultdict(set)
        for it in items:
            if it.kind == "iri" and it.cin is not None and is_call_record(it.format, it.fields):
                touched[it.case_id].add((it.liid, it.cin))
        if not touched:
            return
        if not self.background:
            self._refresh(touched)
            return
        with self._cond:
            for case_id, keys in touched.items():
                self._pending[case_id] |= keys
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="calea-calls", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _refresh(self, touched: dict[str, set[Key]]) -> None:
        for case_id, keys in touched.items():
            try:
                refresh_calls(self.svc, case_id, keys)
            except Exception:
                self.failures += 1
                log.exception("calls of case %s not updated (%d streams); rebuild_calls repairs them", case_id, len(keys))

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if self._stop and not self._pending:
                    return
                self._cond.wait(self.delay)  # let more batches of the same calls arrive
                work, self._pending = self._pending, defaultdict(set)
                self._busy = True
            try:
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
            while self._pending or self._busy:
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
