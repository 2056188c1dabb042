"""Court authorities, extensions, exigent declarations and emergency documents
(rules A1–A5, A9, B2, B3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from calea.db.schema import authorities, declarations, documents, grants
from calea.domain.access import Perm, require
from calea.domain.authorities import (
    Authority,
    AuthorityDraft,
    AuthorityKind,
    CourtLevel,
    ExtensionDraft,
    validate_authority,
    validate_extension,
)
from calea.domain.cases import check_political_requester
from calea.domain.exigent import FINDINGS, Declaration, Finding, validate_approval, validate_declaration
from calea.domain.identifiers import Identifier, parse_identifier_dict
from calea.errors import Conflict, InvalidInput, NotFound, RuleViolation
from calea.services.access import check_case_access, ensure_case_access
from calea.services.context import Actor, Services
from calea.services.rows import authority_from, declaration_from, identifiers_to

PENDING = "(pending emergency order)"


def authority_dict(a: Authority, now: datetime | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": a.id, "case_id": a.case_id, "kind": a.kind.value, "rule": a.rule, "court_level": a.court_level.value,
        "court": a.court, "judge": a.judge, "docket": a.docket, "offenses": list(a.offenses),
        "issued_at": a.issued_at, "effective_at": a.effective_at, "expires_at": a.expires_at, "ends_at": a.ends_at,
        "identifiers": identifiers_to(a.identifiers), "parent_id": a.parent_id, "findings": a.findings,
        "document_id": a.document_id, "declaration_id": a.declaration_id, "deadline_at": a.deadline_at,
        "terminated_at": a.terminated_at, "applicant": a.applicant, "progress_report_days": a.progress_report_days,
        "allows_content": a.kind.allows_content,
    }
    if now is not None:
        out["in_force"] = a.in_window(now) and not a.missed_deadline(now)
    return out


def parse_time(value: Any, field: str) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{field} is an ISO-8601 instant, e.g. 2026-11-27T14:00:00Z", field=field) from None
    if dt.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone (use Z for UTC)", field=field)
    return dt


def parse_identifiers(items: Any) -> tuple[Identifier, ...]:
    if not isinstance(items, list) or not items:
        raise InvalidInput("name at least one identifier {kind, value}", rule="A7", field="identifiers")
    return tuple(sorted(set(parse_identifier_dict(i) for i in items)))


def load_authority(conn: Connection, authority_id: str) -> Authority:
    row = conn.execute(select(authorities).where(authorities.c.id == authority_id)).mappings().first()
    if row is None:
        raise NotFound("no such authority")
    return authority_from(row)


def case_authorities(conn: Connection, case_id: str) -> list[Authority]:
    return [authority_from(r) for r in conn.execute(select(authorities).where(authorities.c.case_id == case_id).order_by(authorities.c.effective_at)).mappings()]


def _check_document(conn: Connection, case_id: str, document_id: str | None) -> None:
    if document_id is None:
        return
    row = conn.execute(select(documents.c.case_id).where(documents.c.id == document_id)).first()
    if row is None or row.case_id != case_id:
        raise InvalidInput("the document is not one of this case's documents", field="document_id", rule="A9")


def record_authority(svc: Services, actor: Actor, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A1, A2, A9: record a PRTT order or an eavesdropping warrant (emergency ones come
    from an approved declaration, B2)."""
    require(actor.role, Perm.REQUEST_AUTHORITY)
    ensure_case_access(svc, actor, case_id)
    try:
        kind = AuthorityKind(body.get("kind"))
        level = CourtLevel(body.get("court_level", "state"))
    except ValueError:
        raise InvalidInput("kind is prtt or eavesdropping; court_level is state or federal", field="kind") from None
    if kind.is_emergency:
        raise InvalidInput("an emergency authority is recorded through an exigent declaration (B2)", field="kind", rule="B2")
    offenses = body.get("offenses") or []
    if isinstance(offenses, str):
        offenses = [o.strip() for o in offenses.split(";") if o.strip()]
    draft = AuthorityDraft(
        kind=kind, court_level=level, court=str(body.get("court", "")), judge=str(body.get("judge", "")),
        docket=str(body.get("docket", "")), offenses=tuple(str(o) for o in offenses),
        issued_at=parse_time(body.get("issued_at"), "issued_at"),
        effective_at=parse_time(body.get("effective_at") or body.get("issued_at"), "effective_at"),
        expires_at=parse_time(body.get("expires_at"), "expires_at"),
        identifiers=parse_identifiers(body.get("identifiers")), applicant=str(body.get("applicant", "")),
        progress_report_days=body.get("progress_report_days"),
    )
    validate_authority(draft)
    with svc.db.write() as conn:
        case = check_case_access(conn, svc, actor, case_id)
        if case.political_activity:
            check_political_requester(actor.unit)
        _check_document(conn, case_id, body.get("document_id"))
        auth_id = svc.new_id()
        conn.execute(insert(authorities).values(
            id=auth_id, case_id=case_id, kind=kind.value, court_level=level.value, court=draft.court.strip(),
            judge=draft.judge.strip(), docket=draft.docket.strip(), offenses=list(draft.offenses),
            issued_at=draft.issued_at, effective_at=draft.effective_at, expires_at=draft.expires_at,
            identifiers=identifiers_to(draft.identifiers), document_id=body.get("document_id"),
            applicant=draft.applicant, progress_report_days=draft.progress_report_days,
            created_by=actor.user_id, created_at=svc.now(),
        ))
        svc.audit(conn, actor, "authority.record", case_id=case_id, object_type="authority", object_id=auth_id, detail=kind.value)
        return authority_dict(load_authority(conn, auth_id), svc.now())


def extend_authority(svc: Services, actor: Actor, authority_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A4, A5: an extension with its own findings, starting when its parent ends."""
    require(actor.role, Perm.REQUEST_AUTHORITY)
    with svc.db.read() as conn:
        ensure_case_access(svc, actor, load_authority(conn, authority_id).case_id)
    draft = ExtensionDraft(
        judge=str(body.get("judge", "")), docket=str(body.get("docket", "")),
        issued_at=parse_time(body.get("issued_at"), "issued_at"), expires_at=parse_time(body.get("expires_at"), "expires_at"),
        findings=str(body.get("findings", "")), court=str(body.get("court", "")),
    )
    with svc.db.write() as conn:
        parent = load_authority(conn, authority_id)
        case = check_case_access(conn, svc, actor, parent.case_id)
        if case.political_activity:
            check_political_requester(actor.unit)
        if conn.execute(select(authorities.c.id).where(authorities.c.parent_id == authority_id)).first():
            raise Conflict("this authority is already extended; extend the latest extension", rule="A5")
        effective, expires = validate_extension(parent, draft)
        _check_document(conn, parent.case_id, body.get("document_id"))
        ext_id = svc.new_id()
        conn.execute(insert(authorities).values(
            id=ext_id, case_id=parent.case_id, kind=parent.kind.value, court_level=parent.court_level.value,
            court=draft.court.strip() or parent.court, judge=draft.judge.strip(), docket=draft.docket.strip(),
            offenses=list(parent.offenses), issued_at=draft.issued_at, effective_at=effective, expires_at=expires,
            identifiers=identifiers_to(parent.identifiers), parent_id=parent.id, findings=draft.findings.strip(),
            document_id=body.get("document_id"), applicant=parent.applicant, created_by=actor.user_id, created_at=svc.now(),
        ))
        svc.audit(conn, actor, "authority.extend", case_id=parent.case_id, object_type="authority", object_id=ext_id, detail=f"parent={parent.id}")
        return authority_dict(load_authority(conn, ext_id), svc.now())


def attach_document(svc: Services, actor: Actor, authority_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A9, B3: attach the court document; for an emergency authority this is the emergency
    order/warrant, due before its deadline, which also records the court's particulars."""
    require(actor.role, Perm.REQUEST_AUTHORITY)
    document_id = str(body.get("document_id", ""))
    now = svc.now()
    with svc.db.write() as conn:
        a = load_authority(conn, authority_id)
        check_case_access(conn, svc, actor, a.case_id)
        _check_document(conn, a.case_id, document_id)
        if a.document_id is not None:
            raise Conflict("the authority already has its document; documents are never replaced", rule="A9")
        values: dict[str, Any] = {"document_id": document_id}
        if a.kind.is_emergency:
            if a.missed_deadline(now):
                raise RuleViolation("the deadline has passed: the intercept is quarantined until a court directs otherwise", rule="B3")
            # The emergency order is issued after first use: its window is judged from the
            # declaration's effective time (A3/A4 limits as A1/A2).
            order_issued = parse_time(body.get("issued_at"), "issued_at")
            draft = AuthorityDraft(
                kind=a.kind, court_level=a.court_level, court=str(body.get("court", "")), judge=str(body.get("judge", "")),
                docket=str(body.get("docket", "")), offenses=a.offenses, issued_at=min(order_issued, a.effective_at),
                effective_at=a.effective_at, expires_at=parse_time(body.get("expires_at"), "expires_at"),
                identifiers=a.identifiers,
            )
            validate_authority(draft)
            values.update(court=draft.court.strip(), judge=draft.judge.strip(), docket=draft.docket.strip(), expires_at=draft.expires_at)
        conn.execute(update(authorities).where(authorities.c.id == authority_id).values(**values))
        svc.audit(conn, actor, "authority.document", case_id=a.case_id, object_type="authority", object_id=authority_id, detail=f"document={document_id}")
        return authority_dict(load_authority(conn, authority_id), now)


def terminate_authority(svc: Services, actor: Actor, authority_id: str, *, reason: str) -> dict[str, Any]:
    """A8: a terminated authority stops covering at once; grants resting on it end too (C2)."""
    require(actor.role, Perm.ACTIVATE)
    now = svc.now()
    with svc.db.write() as conn:
        a = load_authority(conn, authority_id)
        if a.terminated_at is not None:
            raise Conflict("already terminated")
        conn.execute(update(authorities).where(authorities.c.id == authority_id).values(terminated_at=now))
        conn.execute(update(grants).where(grants.c.authority_id == authority_id, grants.c.ends_at > now).values(ends_at=now))
        svc.audit(conn, actor, "authority.terminate", case_id=a.case_id, object_type="authority", object_id=authority_id, detail=reason[:500])
        return authority_dict(load_authority(conn, authority_id), now)


def list_authorities(svc: Services, actor: Actor, case_id: str) -> list[dict[str, Any]]:
    with svc.db.write() as conn:
        check_case_access(conn, svc, actor, case_id)
        svc.audit(conn, actor, "authority.list", case_id=case_id, object_type="case", object_id=case_id)
        return [authority_dict(a, svc.now()) for a in case_authorities(conn, case_id)]


def declaration_dict(d: Declaration) -> dict[str, Any]:
    return {
        "id": d.id, "case_id": d.case_id, "kind": d.kind.value, "court_level": d.court_level.value,
        "findings": {k: {"answered": f.answered, "justification": f.justification} for k, f in d.findings.items()},
        "declared_by": d.declared_by, "declared_at": d.declared_at, "approved_by": d.approved_by,
        "approved_at": d.approved_at, "first_use_at": d.first_use_at,
    }


def parse_findings(raw: Any) -> dict[str, Finding]:
    if not isinstance(raw, dict):
        raise InvalidInput("findings is an object with crime, emergency, danger, prevention", field="findings", rule="B2")
    out = {}
    for name in FINDINGS:
        item = raw.get(name)
        if isinstance(item, dict):
            out[name] = Finding(bool(item.get("answered")), str(item.get("justification", "")))
    return out


def declare_exigency(svc: Services, actor: Actor, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """B2: the declaration with its four findings, and the emergency authority (A3/A4) it
    creates, pending a supervisor's approval."""
    require(actor.role, Perm.DECLARE_EXIGENCY)
    ensure_case_access(svc, actor, case_id)
    try:
        kind = AuthorityKind(body.get("kind"))
        level = CourtLevel(body.get("court_level", "state"))
    except ValueError:
        raise InvalidInput("kind is emergency_prtt or emergency_eavesdropping", field="kind", rule="B2") from None
    findings = parse_findings(body.get("findings"))
    validate_declaration(kind, findings)
    identifiers = parse_identifiers(body.get("identifiers"))
    offenses = [str(o) for o in (body.get("offenses") or []) if str(o).strip()]
    if not offenses:
        raise RuleViolation("the declaration names the offense(s)", rule="A9", field="offenses")
    now = svc.now()
    with svc.db.write() as conn:
        case = check_case_access(conn, svc, actor, case_id)
        if case.political_activity:
            check_political_requester(actor.unit)
        decl_id, auth_id = svc.new_id(), svc.new_id()
        conn.execute(insert(declarations).values(
            id=decl_id, case_id=case_id, kind=kind.value, court_level=level.value,
            findings={k: {"answered": f.answered, "justification": f.justification} for k, f in findings.items()},
            declared_by=actor.user_id, declared_at=now,
        ))
        conn.execute(insert(authorities).values(
            id=auth_id, case_id=case_id, kind=kind.value, court_level=level.value, court=PENDING, judge=PENDING,
            docket=PENDING, offenses=offenses, issued_at=now, effective_at=now, expires_at=now + kind.max_length,
            identifiers=identifiers_to(identifiers), declaration_id=decl_id, applicant=actor.username,
            created_by=actor.user_id, created_at=now,
        ))
        svc.audit(conn, actor, "declaration.create", case_id=case_id, object_type="declaration", object_id=decl_id)
        row = conn.execute(select(declarations).where(declarations.c.id == decl_id)).mappings().one()
        return {**declaration_dict(declaration_from(row)), "authority": authority_dict(load_authority(conn, auth_id), now)}


def approve_declaration(svc: Services, actor: Actor, declaration_id: str) -> dict[str, Any]:
    """B2: a supervisor other than the declarant approves."""
    require(actor.role, Perm.APPROVE)
    with svc.db.write() as conn:
        row = conn.execute(select(declarations).where(declarations.c.id == declaration_id)).mappings().first()
        if row is None:
            raise NotFound("no such declaration")
        decl = declaration_from(row)
        check_case_access(conn, svc, actor, decl.case_id)
        validate_approval(decl, actor.user_id)
        conn.execute(update(declarations).where(declarations.c.id == declaration_id).values(approved_by=actor.user_id, approved_at=svc.now()))
        svc.audit(conn, actor, "declaration.approve", case_id=decl.case_id, object_type="declaration", object_id=declaration_id)
        return declaration_dict(declaration_from(conn.execute(select(declarations).where(declarations.c.id == declaration_id)).mappings().one()))


def case_declarations(conn: Connection, case_id: str) -> dict[str, Declaration]:
    return {r["id"]: declaration_from(r) for r in conn.execute(select(declarations).where(declarations.c.case_id == case_id)).mappings()}
