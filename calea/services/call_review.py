"""What the console's call pages read beyond the JSON API's views (rules A2, A6, B3, C2, C5).

* `search_calls` -- the calls of a case, also filtered by intercept and by party, with the
  total for paging and, per call, its state: recorded, minimized, flagged privileged, or
  without content because no eavesdropping authority covered it (a PRTT order, A6).
* `call_media` -- the recordings of one call with their markers (minimized intervals,
  digits) and the minimization record of the call (who flagged it privileged, when).

Access is the API's (`calls.open_read`: a grant and a role that reads intercepted data, or
taru / the auditor without one, always with a stated purpose, C2, C5); quarantined calls and
recordings exist only for taru and the auditor (B3).  Each read is one audit event with
its purpose, named like the API's (`calls.read`, `recordings.list`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, tuple_

from calea.db.schema import authorities, intercepts
from calea.db.schema_calls import calls
from calea.db.schema_live import live_minimization
from calea.db.schema_recordings import recordings
from calea.domain.intercepts import covers_identifiers
from calea.errors import AccessDenied, NotFound
from calea.services.calls import Reader, call_dict, filter_calls, open_read, visible
from calea.services.context import Actor, Services
from calea.services.rows import authority_from, identifiers_from

PARTY_COLUMNS = ("calling", "called", "target", "redirected_from", "redirected_to", "dialed")
_RECORDING_FIELDS = ("id", "liid", "cin", "part", "format", "started_at", "ended_at", "duration_ms", "sample_rate",
                     "placement", "closed_by", "late", "markers", "master_sha256", "master_size", "rendition_sha256",
                     "rendition_size")


def search_calls(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, intercept_id: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, direction: str | None = None,
                 outcome: str | None = None, party: str | None = None, limit: int = 50,
                 offset: int = 0) -> dict[str, Any]:
    """Calls newest first, `limit` from `offset`, with `total` matching the filters."""
    with svc.db.write() as conn:
        reader = open_read(conn, svc, actor, case_id, purpose)
        q = filter_calls(select(calls), case_id, reader, since, until, direction, outcome)  # the API's filters
        if intercept_id:
            if conn.execute(select(intercepts.c.id).where(intercepts.c.id == intercept_id,
                                                          intercepts.c.case_id == case_id)).first() is None:
                raise NotFound("no such intercept in this case")
            q = q.where(calls.c.intercept_id == intercept_id)
        if party and party.strip():
            needle = party.strip().lower()
            q = q.where(or_(*(func.lower(calls.c[col]).contains(needle, autoescape=True) for col in PARTY_COLUMNS)))
        total = conn.execute(select(func.count()).select_from(q.subquery())).scalar() or 0
        rows = conn.execute(q.order_by(calls.c.started_at.desc(), calls.c.id)
                            .limit(max(1, min(limit, 1000))).offset(max(0, offset))).mappings().all()
        states = _states(conn, case_id, rows, reader)
        held = set(conn.execute(select(intercepts.c.id).where(intercepts.c.case_id == case_id,
                                                              intercepts.c.quarantined_at.is_not(None))).scalars())
        filters = ", ".join(f"{k}={v}" for k, v in (("intercept", intercept_id), ("since", since), ("until", until),
                                                    ("direction", direction), ("outcome", outcome), ("party", party)) if v)
        svc.audit(conn, actor, "calls.read", case_id=case_id, object_type="calls", object_id=f"{len(rows)} calls",
                  purpose=purpose, detail=(f"console; {filters}" if filters else "console")[:2000])
    return {"calls": [{**call_dict(r, reader), "intercept_id": r["intercept_id"], **states[r["id"]],
                       "quarantined": bool(r["quarantined"]) or r["intercept_id"] in held} for r in rows],
            "total": int(total)}


def call_media(svc: Services, actor: Actor, call_id: str, *, purpose: str | None) -> dict[str, Any]:
    """The recordings of a call (oldest part first) with their markers, its minimization
    record, and whether an eavesdropping authority covered it (A2) or not (A6)."""
    with svc.db.write() as conn:
        case_id = conn.execute(select(calls.c.case_id).where(calls.c.id == call_id)).scalar()
        if case_id is None:
            raise NotFound("no such call")
        reader = open_read(conn, svc, actor, case_id, purpose)
        row = conn.execute(select(calls).where(calls.c.id == call_id, visible(reader))).mappings().first()
        if row is None:
            raise AccessDenied("this call is quarantined (B3): readable only by taru and the auditor", rule="B3")
        cins = _cins(row)
        q = (select(recordings, intercepts.c.quarantined_at)
             .join(intercepts, intercepts.c.id == recordings.c.intercept_id)
             .where(recordings.c.case_id == case_id, recordings.c.liid == row["liid"], recordings.c.cin.in_(cins)))
        if not reader.quarantine:  # B3
            q = q.where(recordings.c.quarantined.is_(False), intercepts.c.quarantined_at.is_(None))
        recs = conn.execute(q.order_by(recordings.c.started_at, recordings.c.part)).mappings().all()
        flags = conn.execute(select(live_minimization).where(
            live_minimization.c.case_id == case_id, live_minimization.c.liid == row["liid"],
            live_minimization.c.cin.in_(cins)).order_by(live_minimization.c.at, live_minimization.c.id)).mappings().all()
        content = _content_covered(conn, case_id, [row])[row["id"]]
        held = conn.execute(select(intercepts.c.quarantined_at).where(intercepts.c.id == row["intercept_id"])).scalar()
        svc.audit(conn, actor, "recordings.list", case_id=case_id, object_type="call", object_id=call_id,
                  purpose=purpose, detail=f"{len(recs)} recordings; console call page")
    return {
        "case_id": case_id, "content_authorised": content, "quarantined": bool(row["quarantined"]) or held is not None,
        "recordings": [{**{k: r[k] for k in _RECORDING_FIELDS},
                        "quarantined": bool(r["quarantined"] or r["quarantined_at"] is not None)} for r in recs],
        "minimization": [{k: f[k] for k in ("action", "at", "until", "category", "username", "reason")} for f in flags],
    }


def _cins(row: Any) -> list[str]:
    """The CINs of a call's content: its own and those of its CC streams."""
    return sorted({str(row["cin"]), *(str(c) for c in (row["cc_cins"] or []))})


def _states(conn: Connection, case_id: str, rows: list[Any], reader: Reader) -> dict[str, dict[str, Any]]:
    """Per call: recordings (count, seconds, minimized), privileged flags, content covered."""
    keys = {(r["liid"], c): r["id"] for r in rows for c in _cins(r)}
    out: dict[str, dict[str, Any]] = {r["id"]: {"recordings": 0, "recorded_ms": 0, "minimized": False, "privileged": []}
                                      for r in rows}
    if keys:
        pairs = list(keys)
        q = (select(recordings.c.liid, recordings.c.cin, recordings.c.duration_ms, recordings.c.markers,
                    recordings.c.quarantined, intercepts.c.quarantined_at)
             .join(intercepts, intercepts.c.id == recordings.c.intercept_id)
             .where(recordings.c.case_id == case_id, tuple_(recordings.c.liid, recordings.c.cin).in_(pairs)))
        for r in conn.execute(q).mappings():
            if not reader.quarantine and (r["quarantined"] or r["quarantined_at"] is not None):
                continue  # B3
            st = out[keys[(r["liid"], r["cin"])]]
            st["recordings"] += 1
            st["recorded_ms"] += int(r["duration_ms"])
            st["minimized"] = st["minimized"] or bool((r["markers"] or {}).get("minimized"))
        flagged = select(live_minimization.c.liid, live_minimization.c.cin, live_minimization.c.category).where(
            live_minimization.c.case_id == case_id, live_minimization.c.action == "privileged",
            tuple_(live_minimization.c.liid, live_minimization.c.cin).in_(pairs))
        for f in conn.execute(flagged):
            st = out[keys[(f.liid, f.cin)]]
            if f.category and f.category not in st["privileged"]:
                st["privileged"].append(f.category)
    covered = _content_covered(conn, case_id, rows)
    for r in rows:
        out[r["id"]]["content_authorised"] = covered[r["id"]]
    return out


def _content_covered(conn: Connection, case_id: str, rows: list[Any]) -> dict[str, bool]:
    """A2 / A6: did an eavesdropping authority (or an extension of one) cover the call's
    intercept when the call started?  Under a PRTT order alone there is no content."""
    auths = [authority_from(dict(r)) for r in conn.execute(select(authorities).where(authorities.c.case_id == case_id)).mappings()]
    content_auths = [a for a in auths if a.kind.allows_content]
    idents: dict[str, Any] = defaultdict(lambda: None)
    ids = {r["intercept_id"] for r in rows}
    if content_auths and ids:
        for i in conn.execute(select(intercepts.c.id, intercepts.c.identifiers).where(intercepts.c.id.in_(ids))):
            idents[i.id] = identifiers_from(i.identifiers)
    out = {}
    for r in rows:
        named = idents[r["intercept_id"]]
        out[r["id"]] = any(a.in_window(r["started_at"]) and (named is None or covers_identifiers(a, named))
                           for a in content_auths)
    return out
