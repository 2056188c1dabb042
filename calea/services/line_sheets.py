"""Line sheets: what a monitor writes about each intercepted communication, a supervisor's
review and sign-off, and the PDF of a day or of an authority's period.

A line sheet holds a synopsis, the pertinence call (pertinent / non-pertinent, i.e.
minimized / privileged), the participants, the language and the monitor's name.  It is a
summary of content, so:
* only roles that read content, with an active grant and a stated purpose, read or write
  line sheets (C1, C2, C5); quarantined ones are hidden like their calls (B3);
* a line sheet is only written for a communication that an eavesdropping authority covered
  when it took place -- a PRTT order gives no content to summarise (A6);
* only a supervisor reviews, and never the monitor who wrote the sheet (separation of
  duties, C1); a signed sheet is final.

Sign-off: a signed store event (`line-sheet-signoff`) in the case's Merkle log, whose body
holds the SHA-256 of the sheet's canonical JSON, and an audit event.  The store event makes
the sign-off part of the case's evidence -- covered by its signed tree heads, carried in
exports and sealing, verifiable outside the system (D1, D3, D4) -- which the audit log
(C5, the record of who did what) does not give on its own.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

import calea.db.schema_calls  # noqa: F401  (until calea.db.schema imports it)
from calea.db.schema import authorities, cases, intercepts, users
from calea.db.schema_calls import calls, line_sheets
from calea.domain.access import Perm, Role, has_perm
from calea.domain.intercepts import covers_identifiers
from calea.errors import AccessDenied, Conflict, InvalidInput, NotFound, RuleViolation
from calea.services.calls import Reader, call_dict, load_call, open_read
from calea.services.context import Actor, Services
from calea.services.rows import authority_from, identifiers_from

PERTINENCE = ("pertinent", "non-pertinent", "privileged")
MONITORS = (Role.INVESTIGATOR, Role.SUPERVISOR)
SIGNED_FIELDS = ("id", "case_id", "call_id", "subject", "at", "synopsis", "pertinence", "participants", "language",
                 "monitor_id", "monitor_name", "version")


def _content_reader(conn: Connection, svc: Services, actor: Actor, case_id: str, purpose: str | None) -> Reader:
    reader = open_read(conn, svc, actor, case_id, purpose)
    if not reader.content:
        raise AccessDenied(f"line sheets summarise content; the role {actor.role.value} does not read content", rule="C1")
    return reader


def _validate(body: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "synopsis" in body or not partial:
        synopsis = str(body.get("synopsis") or "").strip()
        if not synopsis or len(synopsis) > 20_000:
            raise InvalidInput("synopsis: 1 to 20000 characters", field="synopsis")
        out["synopsis"] = synopsis
    if "pertinence" in body or not partial:
        if body.get("pertinence") not in PERTINENCE:
            raise InvalidInput(f"pertinence: one of {', '.join(PERTINENCE)}", field="pertinence")
        out["pertinence"] = body["pertinence"]
    if "participants" in body or not partial:
        people = body.get("participants") or []
        if not isinstance(people, list) or len(people) > 50 or any(not isinstance(p, str) or len(p) > 200 for p in people):
            raise InvalidInput("participants: a list of up to 50 names", field="participants")
        out["participants"] = [p.strip() for p in people if p.strip()]
    if "language" in body or not partial:
        language = str(body.get("language") or "").strip()
        if len(language) > 64:
            raise InvalidInput("language: up to 64 characters", field="language")
        out["language"] = language
    return out


def _content_authorised(conn: Connection, case_id: str, intercept_id: str | None, at: datetime) -> bool:
    """A6: was an eavesdropping authority (A2/A4, or an extension of one) covering the
    intercept when the communication took place?"""
    ids = None
    if intercept_id is not None:
        row = conn.execute(select(intercepts.c.identifiers).where(intercepts.c.id == intercept_id)).first()
        ids = identifiers_from(row.identifiers) if row else None
    for r in conn.execute(select(authorities).where(authorities.c.case_id == case_id)).mappings():
        a = authority_from(dict(r))
        if a.kind.allows_content and a.in_window(at) and (ids is None or covers_identifiers(a, ids)):
            return True
    return False


def sheet_dict(row: Any, call: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(row)
    if call is not None:
        out["call"] = call
    return out


def _display_name(conn: Connection, user_id: str) -> str:
    return str(conn.execute(select(users.c.display_name).where(users.c.id == user_id)).scalar() or "")


def create(svc: Services, actor: Actor, case_id: str, body: dict[str, Any], *, purpose: str | None) -> dict[str, Any]:
    """A monitor's line sheet about a call (`call_id`) or another communication (`subject`, `at`)."""
    if actor.role not in MONITORS:
        raise AccessDenied("line sheets are written by monitors (investigators and supervisors)", rule="C1")
    values = _validate(body)
    now = svc.now()
    with svc.db.write() as conn:
        reader = _content_reader(conn, svc, actor, case_id, purpose)
        call_id, subject = body.get("call_id"), body.get("subject")
        if call_id:
            call = load_call(conn, str(call_id))
            if call["case_id"] != case_id:
                raise NotFound("no such call in this case")
            if call["quarantined"] and not reader.quarantine:
                raise AccessDenied("this call is quarantined (B3)", rule="B3")
            at, intercept_id, quarantined = call["started_at"], call["intercept_id"], bool(call["quarantined"])
        else:
            if not subject:
                raise InvalidInput("a line sheet is about a call (call_id) or names its subject", field="call_id")
            at = _at(body.get("at"))
            intercept_id, quarantined = None, False
        if not _content_authorised(conn, case_id, intercept_id, at):
            raise RuleViolation("no eavesdropping authority covered this communication: a PRTT order yields "
                                "call-identifying information only, nothing to summarise", rule="A6")
        sheet_id = svc.new_id()
        row = dict(id=sheet_id, case_id=case_id, call_id=call_id or None, subject=str(subject)[:100] if subject else None,
                   at=at, monitor_id=actor.user_id, monitor_name=_display_name(conn, actor.user_id) or actor.username,
                   created_at=now, updated_at=now, version=1, status="draft", quarantined=quarantined, **values)
        conn.execute(insert(line_sheets).values(**row))
        svc.audit(conn, actor, "line_sheet.create", case_id=case_id, object_type="line_sheet", object_id=sheet_id,
                  purpose=purpose)
        return _get(conn, reader, sheet_id)


def _at(value: Any) -> datetime:
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("at: an ISO 8601 time", field="at") from None
    if at.tzinfo is None:
        raise InvalidInput("at: give a time zone", field="at")
    return at


def _load(conn: Connection, sheet_id: str) -> Any:
    row = conn.execute(select(line_sheets).where(line_sheets.c.id == sheet_id)).mappings().first()
    if row is None:
        raise NotFound("no such line sheet")
    return row


def _get(conn: Connection, reader: Reader, sheet_id: str) -> dict[str, Any]:
    row = _load(conn, sheet_id)
    if row["quarantined"] and not reader.quarantine:
        raise AccessDenied("this line sheet is quarantined with its call (B3)", rule="B3")
    call = call_dict(load_call(conn, row["call_id"]), reader) if row["call_id"] else None
    return sheet_dict(row, call)


def get(svc: Services, actor: Actor, sheet_id: str, *, purpose: str | None) -> dict[str, Any]:
    with svc.db.write() as conn:
        row = _load(conn, sheet_id)
        reader = _content_reader(conn, svc, actor, row["case_id"], purpose)
        out = _get(conn, reader, sheet_id)
        svc.audit(conn, actor, "line_sheet.read", case_id=row["case_id"], object_type="line_sheet", object_id=sheet_id,
                  purpose=purpose)
    return out


def list_sheets(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, call_id: str | None = None,
                since: datetime | None = None, until: datetime | None = None) -> list[dict[str, Any]]:
    with svc.db.write() as conn:
        reader = _content_reader(conn, svc, actor, case_id, purpose)
        q = select(line_sheets).where(line_sheets.c.case_id == case_id)
        if not reader.quarantine:
            q = q.where(line_sheets.c.quarantined.is_(False))
        if call_id:
            q = q.where(line_sheets.c.call_id == call_id)
        if since is not None:
            q = q.where(line_sheets.c.at >= since)
        if until is not None:
            q = q.where(line_sheets.c.at < until)
        rows = conn.execute(q.order_by(line_sheets.c.at, line_sheets.c.created_at)).mappings().all()
        call_ids = sorted({r["call_id"] for r in rows if r["call_id"]})
        by_id = {c["id"]: call_dict(c, reader) for c in conn.execute(select(calls).where(calls.c.id.in_(call_ids))).mappings()}
        svc.audit(conn, actor, "line_sheet.read", case_id=case_id, object_type="line_sheets",
                  object_id=f"{len(rows)} line sheets", purpose=purpose)
    return [sheet_dict(r, by_id.get(r["call_id"])) for r in rows]


def update_sheet(svc: Services, actor: Actor, sheet_id: str, body: dict[str, Any], *, purpose: str | None) -> dict[str, Any]:
    """The monitor corrects their own line sheet until it is signed."""
    values = _validate(body, partial=True)
    with svc.db.write() as conn:
        row = _load(conn, sheet_id)
        reader = _content_reader(conn, svc, actor, row["case_id"], purpose)
        if row["monitor_id"] != actor.user_id:
            raise AccessDenied("only the monitor who wrote a line sheet corrects it", rule="C1")
        if row["status"] == "signed":
            raise Conflict("a signed line sheet is final")
        conn.execute(update(line_sheets).where(line_sheets.c.id == sheet_id).values(
            updated_at=svc.now(), version=row["version"] + 1, status="draft", **values))
        svc.audit(conn, actor, "line_sheet.update", case_id=row["case_id"], object_type="line_sheet",
                  object_id=sheet_id, purpose=purpose)
        return _get(conn, reader, sheet_id)


def signed_digest(row: Any) -> str:
    """SHA-256 of the canonical JSON of what the supervisor signs."""
    data = {k: (row[k].isoformat() if isinstance(row[k], datetime) else row[k]) for k in SIGNED_FIELDS}
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def review(svc: Services, actor: Actor, sheet_id: str, *, decision: str, note: str = "", purpose: str | None,
           writer: Any = None) -> dict[str, Any]:
    """A supervisor signs a line sheet (`decision="sign"`) or returns it with a note
    (`"return"`).  `writer`: the store's single writer (`StoreWriter`) for the sign-off event."""
    if not has_perm(actor.role, Perm.APPROVE) or actor.role is not Role.SUPERVISOR:
        raise AccessDenied("only a supervisor reviews line sheets", rule="C1")
    if decision not in ("sign", "return"):
        raise InvalidInput("decision: sign or return", field="decision")
    with svc.db.write() as conn:
        row = _load(conn, sheet_id)
        _content_reader(conn, svc, actor, row["case_id"], purpose)
        if row["quarantined"]:
            raise AccessDenied("this line sheet is quarantined with its call (B3)", rule="B3")
        if row["monitor_id"] == actor.user_id:
            raise AccessDenied("the monitor who wrote a line sheet may not review it", rule="C1")
        if row["status"] == "signed":
            raise Conflict("this line sheet is already signed")
        if decision == "return":
            if not note.strip():
                raise InvalidInput("say what to correct", field="note")
            conn.execute(update(line_sheets).where(line_sheets.c.id == sheet_id).values(
                status="returned", review_note=note.strip(), reviewed_by=actor.user_id, reviewed_at=svc.now()))
            svc.audit(conn, actor, "line_sheet.return", case_id=row["case_id"], object_type="line_sheet",
                      object_id=sheet_id, purpose=purpose, detail=note.strip()[:500])
            return _get(conn, Reader(True, False), sheet_id)
        digest = signed_digest(row)
        intercept_id = None
        if row["call_id"]:
            intercept_id = conn.execute(select(calls.c.intercept_id).where(calls.c.id == row["call_id"])).scalar()
        name = _display_name(conn, actor.user_id) or actor.username
    now = svc.now()
    body = {"line_sheet_id": sheet_id, "call_id": row["call_id"], "subject": row["subject"], "version": row["version"],
            "sha256": digest, "signed_by": actor.user_id, "signed_by_name": name, "signed_at": now.isoformat(),
            "rule": "D1"}
    leaf = _write_event(svc, writer, row["case_id"], intercept_id, body)
    with svc.db.write() as conn:
        done = conn.execute(update(line_sheets).where(line_sheets.c.id == sheet_id, line_sheets.c.status != "signed",
                                                      line_sheets.c.version == row["version"]).values(
            status="signed", reviewed_by=actor.user_id, reviewed_at=now, signed_by=actor.user_id, signed_by_name=name,
            signed_at=now, signed_sha256=digest, signed_leaf=leaf, review_note=note.strip() or None)).rowcount
        if not done:
            raise Conflict("the line sheet changed while it was being signed; review it again")
        svc.audit(conn, actor, "line_sheet.sign", case_id=row["case_id"], object_type="line_sheet", object_id=sheet_id,
                  purpose=purpose, detail=f"sha256 {digest} leaf {leaf}")
        return _get(conn, Reader(True, False), sheet_id)


def _write_event(svc: Services, writer: Any, case_id: str, intercept_id: str | None, body: dict[str, Any]) -> int:
    writer = writer if writer is not None else svc.store_writer()  # the process's one writer
    return int(writer.write_events([(case_id, "line-sheet-signoff", intercept_id, body)])[0])


def export_pdf(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, day: str | None = None,
               authority_id: str | None = None) -> tuple[str, bytes]:
    """The line sheets of one UTC day (`day="2026-11-27"`) or of one authority's period."""
    from calea.services.access import Level, ensure_case_access
    from calea.sessions.line_sheet_pdf import LineSheetDocument, render

    ensure_case_access(svc, actor, case_id, Level.DATA)  # before anything about the case is looked at (C2)
    with svc.db.read() as conn:
        case = conn.execute(select(cases).where(cases.c.id == case_id)).mappings().first()
        if case is None:
            raise NotFound("no such case")
        if day:
            try:
                start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            except ValueError:
                raise InvalidInput("day: YYYY-MM-DD", field="day") from None
            end, label = start + timedelta(days=1), day
            period = [f"Period: {day} 00:00 to 24:00 UTC"]
        elif authority_id:
            r = conn.execute(select(authorities).where(authorities.c.id == authority_id,
                                                       authorities.c.case_id == case_id)).mappings().first()
            if r is None:
                raise NotFound("no such authority in this case")
            a = authority_from(dict(r))
            start, end, label = a.effective_at, a.ends_at, f"{a.docket}"
            period = [f"Authority: {a.kind.value} ({a.rule}), docket {a.docket}, {a.court}, {a.judge}",
                      f"Period: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"]
        else:
            raise InvalidInput("give a day or an authority_id", field="day")
    sheets = list_sheets(svc, actor, case_id, purpose=purpose, since=start, until=end)
    now = svc.now()
    doc = LineSheetDocument(
        title=f"Line sheets - {label}",
        heading=[f"Case {case['complaint_number']}: {case['title']}", *period,
                 f"Generated {now:%Y-%m-%d %H:%M:%S} UTC by {actor.username} ({actor.role.value}); purpose: {purpose}",
                 f"{len(sheets)} line sheet(s); {sum(1 for s in sheets if s['status'] == 'signed')} signed"],
        sheets=sheets, generated_at=now, footer=f"calea - case {case['complaint_number']} - line sheets {label}")
    data = render(doc)
    with svc.db.write() as conn:
        svc.audit(conn, actor, "line_sheet.export_pdf", case_id=case_id, object_type="line_sheets",
                  object_id=f"{label}: {len(sheets)} sheets, sha256 {hashlib.sha256(data).hexdigest()}", purpose=purpose)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{case['complaint_number']}-{label}")
    return f"line-sheets-{safe}.pdf", data
