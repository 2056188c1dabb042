"""Calls of a case, their pen-register / trap-and-trace events and CSV exports (C2, C5, B3, A6).

Who reads what:
* an investigator, supervisor, prosecutor or external user with an active grant on the
  case and a stated purpose (C2, C5) reads calls and events, including post-cut-through
  digits where a warrant allowed them to be kept (A2/A6); never quarantined calls (B3);
* `taru` and the auditor read them with a stated purpose and without a grant, like the
  stored records, including quarantined calls (B3) -- but no content (C1: their roles
  do not read content), so post-cut-through digits are withheld from them.
Every read and export is an audit event with its purpose (C5).  Under a PRTT-only
authority the calls exist (call-identifying, A1) and never carry content (A6).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select, true

import calea.db.schema_calls  # noqa: F401  (until calea.db.schema imports it)
from calea.db.schema import intercepts
from calea.db.schema_calls import call_events, calls
from calea.domain.access import Perm, Role, require
from calea.errors import AccessDenied, InvalidInput, NotFound
from calea.services.access import Level, check_case_access
from calea.services.context import Actor, Services
from calea.services.listing import cell, csv_line, keyset_batches  # noqa: F401 (cell: the calls export's cells)

CALL_FIELDS = ("id", "liid", "cin", "format", "direction", "collection", "calling", "called", "target",
               "redirected_from", "redirected_to", "dialed", "started_at", "ringing_at", "answered_at", "ended_at",
               "ring_s", "duration_s", "outcome", "release_cause", "released_by", "state", "digits_before",
               "digits_after", "cc_cins", "sip_call_id", "location", "quarantined", "late", "suppressed", "records",
               "first_leaf", "last_leaf")
CALL_CSV = ("call_id", "liid", "cin", "format", "direction", "collection", "calling", "called", "target",
            "redirected_from", "redirected_to", "dialed", "started_at", "answered_at", "ended_at", "ring_s",
            "duration_s", "outcome", "release_cause", "released_by", "digits_before", "digits_after", "cell",
            "latitude", "longitude", "late", "quarantined", "records", "first_leaf")
EVENT_CSV = ("at", "call_id", "liid", "cin", "collection", "calling", "called", "event", "detail", "party",
             "digits", "cell", "latitude", "longitude", "suppressed", "record_leaf")


@dataclass(frozen=True)
class Reader:
    content: bool  # may read content (post-cut-through digits, line sheets): A2/A6, C1
    quarantine: bool  # may read quarantined data: taru and the auditor only (B3)


def open_read(conn: Connection, svc: Services, actor: Actor, case_id: str, purpose: str | None) -> Reader:
    """C2/C5 for reads of a case's calls (the rule of `services.records.list_records`)."""
    if actor.role in (Role.TARU, Role.AUDITOR):
        check_case_access(conn, svc, actor, case_id)
        if not (purpose or "").strip():
            raise AccessDenied("state the purpose of this read (X-Calea-Purpose or ?purpose=)", rule="C5")
        return Reader(content=False, quarantine=True)
    check_case_access(conn, svc, actor, case_id, Level.DATA, purpose=purpose)
    return Reader(content=True, quarantine=False)


def visible(reader: Reader) -> Any:
    """B3: quarantined calls, and every call of a quarantined intercept, only for taru/auditor."""
    if reader.quarantine:
        return true()
    held = select(intercepts.c.id).where(intercepts.c.quarantined_at.is_not(None))
    return and_(calls.c.quarantined.is_(False), calls.c.intercept_id.not_in(held))


def call_dict(row: Any, reader: Reader) -> dict[str, Any]:
    out = {k: row[k] for k in CALL_FIELDS}
    if not reader.content:
        out["digits_after"] = None  # content (A6): not for roles that read no content (C1)
    return out


def _time(value: str | datetime | None, name: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name}: not an ISO 8601 time", field=name) from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{name}: give a time zone (e.g. Z)", field=name)
    return parsed


def filter_calls(q: Select[Any], case_id: str, reader: Reader, since: datetime | None, until: datetime | None,
              direction: str | None = None, outcome: str | None = None) -> Select[Any]:
    q = q.where(calls.c.case_id == case_id, visible(reader))
    if since is not None:
        q = q.where(calls.c.started_at >= since)
    if until is not None:
        q = q.where(calls.c.started_at < until)
    if direction:
        q = q.where(calls.c.direction == direction)
    if outcome:
        q = q.where(calls.c.outcome == outcome)
    return q


def list_calls(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, since: str | None = None,
               until: str | None = None, direction: str | None = None, outcome: str | None = None,
               limit: int = 200, offset: int = 0) -> dict[str, Any]:
    t0, t1 = _time(since, "since"), _time(until, "until")
    with svc.db.write() as conn:
        reader = open_read(conn, svc, actor, case_id, purpose)
        q = filter_calls(select(calls), case_id, reader, t0, t1, direction, outcome)
        rows = conn.execute(q.order_by(calls.c.started_at.desc(), calls.c.id)
                            .limit(max(1, min(limit, 1000))).offset(max(0, offset))).mappings().all()
        svc.audit(conn, actor, "calls.read", case_id=case_id, object_type="calls", object_id=f"{len(rows)} calls",
                  purpose=purpose)
    return {"calls": [call_dict(r, reader) for r in rows]}


def load_call(conn: Connection, call_id: str) -> Any:
    row = conn.execute(select(calls).where(calls.c.id == call_id)).mappings().first()
    if row is None:
        raise NotFound("no such call")
    return row


def event_dict(row: Any, reader: Reader) -> dict[str, Any]:
    out = {k: row[k] for k in ("at", "name", "detail", "party", "location", "digits", "digits_kind", "suppressed",
                               "record_leaf")}
    if row["digits_kind"] == "post-cut-through" and not reader.content:
        out["digits"] = None
    return out


def get_call(svc: Services, actor: Actor, call_id: str, *, purpose: str | None) -> dict[str, Any]:
    with svc.db.write() as conn:
        case_id = conn.execute(select(calls.c.case_id).where(calls.c.id == call_id)).scalar()
        if case_id is None:
            raise NotFound("no such call")
        reader = open_read(conn, svc, actor, case_id, purpose)
        row = conn.execute(select(calls).where(calls.c.id == call_id, visible(reader))).mappings().first()
        if row is None:
            raise AccessDenied("this call is quarantined (B3): readable only by taru and the auditor", rule="B3")
        events = conn.execute(select(call_events).where(call_events.c.call_id == call_id)
                              .order_by(call_events.c.at, call_events.c.id)).mappings().all()
        svc.audit(conn, actor, "calls.read", case_id=case_id, object_type="call", object_id=call_id, purpose=purpose)
    return {**call_dict(row, reader), "case_id": case_id, "events": [event_dict(e, reader) for e in events]}


def _events_query(case_id: str, reader: Reader, since: datetime | None, until: datetime | None) -> Select[Any]:
    """Call-identifying events (A1): digits keyed after connect are content and never part of
    a pen-register or trap-and-trace record (A6)."""
    q = (select(call_events, calls.c.liid, calls.c.cin, calls.c.collection, calls.c.calling, calls.c.called)
         .join(calls, calls.c.id == call_events.c.call_id)
         .where(call_events.c.case_id == case_id, visible(reader),
                or_(call_events.c.digits_kind.is_(None), call_events.c.digits_kind != "post-cut-through")))
    if since is not None:
        q = q.where(call_events.c.at >= since)
    if until is not None:
        q = q.where(call_events.c.at < until)
    return q


def _event_out(r: Any) -> dict[str, Any]:
    return {"at": r["at"], "call_id": r["call_id"], "liid": r["liid"], "cin": r["cin"], "collection": r["collection"],
            "calling": r["calling"], "called": r["called"], "event": r["name"], "detail": r["detail"],
            "party": r["party"], "digits": r["digits"], "location": r["location"], "suppressed": r["suppressed"],
            "record_leaf": r["record_leaf"]}


def pen_register_events(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, since: str | None = None,
                        until: str | None = None, limit: int = 500, offset: int = 0) -> dict[str, Any]:
    t0, t1 = _time(since, "since"), _time(until, "until")
    with svc.db.write() as conn:
        reader = open_read(conn, svc, actor, case_id, purpose)
        rows = conn.execute(_events_query(case_id, reader, t0, t1).order_by(call_events.c.at, call_events.c.id)
                            .limit(max(1, min(limit, 5000))).offset(max(0, offset))).mappings().all()
        svc.audit(conn, actor, "calls.events_read", case_id=case_id, object_type="call_events",
                  object_id=f"{len(rows)} events", purpose=purpose)
    return {"events": [_event_out(r) for r in rows]}


# --- CSV ------------------------------------------------------------------------------------

def _cell_of(location: Any) -> tuple[Any, Any, Any]:
    if not isinstance(location, dict):
        return None, None, None
    c, geo = location.get("cell") or {}, location.get("geo") or {}
    cgi = "-".join(str(c[k]) for k in ("mcc", "mnc", "lac", "ci") if k in c) or None
    return cgi, geo.get("latitude"), geo.get("longitude")


def calls_csv(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, since: str | None = None,
              until: str | None = None) -> Iterator[str]:
    """The calls of a case as CSV (RFC 4180), oldest first.  Access is checked and the export
    audited before the first line is produced; rows are then read page by page."""
    t0, t1 = _time(since, "since"), _time(until, "until")
    with svc.db.write() as conn:
        reader = open_read(conn, svc, actor, case_id, purpose)
        svc.audit(conn, actor, "calls.export_csv", case_id=case_id, object_type="calls",
                  object_id=f"since={since or '-'} until={until or '-'}", purpose=purpose)
    return _pages(svc, filter_calls(select(calls), case_id, reader, t0, t1), (calls.c.started_at, calls.c.id),
                  CALL_CSV, lambda r: _call_row(r, reader))


def _call_row(r: Any, reader: Reader) -> list[Any]:
    d = call_dict(r, reader)
    d["call_id"] = d["id"]
    d["cell"], d["latitude"], d["longitude"] = _cell_of(r["location"])
    return [d[k] for k in CALL_CSV]


def events_csv(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, since: str | None = None,
               until: str | None = None) -> Iterator[str]:
    """Pen-register and trap-and-trace events as CSV (call-identifying only, A1/A6)."""
    t0, t1 = _time(since, "since"), _time(until, "until")
    with svc.db.write() as conn:
        reader = open_read(conn, svc, actor, case_id, purpose)
        svc.audit(conn, actor, "calls.events_export_csv", case_id=case_id, object_type="call_events",
                  object_id=f"since={since or '-'} until={until or '-'}", purpose=purpose)

    def row(r: Any) -> list[Any]:
        e = _event_out(r)
        cgi, lat, lon = _cell_of(r["location"])
        return [e["at"], e["call_id"], e["liid"], e["cin"], e["collection"], e["calling"], e["called"], e["event"],
                e["detail"], e["party"], e["digits"], cgi, lat, lon, e["suppressed"], e["record_leaf"]]

    return _pages(svc, _events_query(case_id, reader, t0, t1), (call_events.c.at, call_events.c.id), EVENT_CSV, row)


def _pages(svc: Services, query: Select[Any], order: tuple[Any, Any], header: tuple[str, ...],
           row: Any) -> Iterator[str]:
    yield csv_line(list(header))
    for batch in keyset_batches(svc, query, order):
        for r in batch:
            yield csv_line(row(r))


def rebuild(svc: Services, actor: Actor, case_id: str) -> dict[str, int]:
    """Rebuild the calls of a case from the stored IRI (the technical unit)."""
    from calea.sessions.calls_store import rebuild_calls

    require(actor.role, Perm.ACTIVATE)
    with svc.db.read() as conn:
        check_case_access(conn, svc, actor, case_id)
    result = rebuild_calls(svc, case_id)
    with svc.db.write() as conn:
        svc.audit(conn, actor, "calls.rebuild", case_id=case_id, object_type="calls",
                  object_id=f"{result['calls']} calls")
    return result
