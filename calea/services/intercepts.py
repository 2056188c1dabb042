"""Intercepts: creation, activation with the carrier package, deactivation, and the
coverage query the intake calls for every delivery (rules A6–A8, B1, B3, B4, B6)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from calea.db.schema import authorities, carriers, declarations, documents, intercepts
from calea.domain.access import Perm, require
from calea.domain.coverage import Decision, decide
from calea.domain.identifiers import parse_identifier_dict
from calea.domain.intercepts import Intercept, activation_basis, covers_identifiers, intercept_status, validate_liid
from calea.errors import AccessDenied, Conflict, InvalidInput, NotFound, RuleViolation
from calea.services.access import check_case_access, load_case
from calea.services.authorities import case_authorities, case_declarations, parse_identifiers, parse_time
from calea.services.context import Actor, Services
from calea.services.rows import identifiers_to, intercept_from
from calea.services.rows import authority_from


def intercept_dict(i: Intercept, status: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {
        "id": i.id, "case_id": i.case_id, "carrier_id": i.carrier_id, "liid": i.liid,
        "identifiers": identifiers_to(i.identifiers), "status": status, "created_at": i.created_at,
        "activated_at": i.activated_at, "activated_by": i.activated_by, "basis_authority_id": i.basis_authority_id,
        "deactivated_at": i.deactivated_at, "quarantined_at": i.quarantined_at, "quarantine_reason": i.quarantine_reason,
    }
    out.update(extra or {})
    return out


def load_intercept(conn: Connection, intercept_id: str) -> Any:
    row = conn.execute(select(intercepts).where(intercepts.c.id == intercept_id)).mappings().first()
    if row is None:
        raise NotFound("no such intercept")
    return row


def _present(conn: Connection, svc: Services, row: Any) -> dict[str, Any]:
    i = intercept_from(row)
    status = intercept_status(i, case_authorities(conn, i.case_id), svc.now()).value
    return intercept_dict(i, status, {
        "package_sha256": row["package_sha256"], "package_sent_at": row["package_sent_at"],
        "package_acknowledged_at": row["package_acknowledged_at"],
    })


def create_intercept(svc: Services, actor: Actor, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """An LIID per identifier set per carrier; pending until taru activates it (B1)."""
    require(actor.role, Perm.ACTIVATE)
    liid = validate_liid(str(body.get("liid", "")))
    identifiers = parse_identifiers(body.get("identifiers"))
    with svc.db.write() as conn:
        check_case_access(conn, svc, actor, case_id)
        if conn.execute(select(carriers.c.id).where(carriers.c.id == body.get("carrier_id"))).first() is None:
            raise InvalidInput("carrier_id names no carrier", field="carrier_id")
        auths = case_authorities(conn, case_id)
        if not any(covers_identifiers(a, identifiers) for a in auths):
            raise RuleViolation("no authority of this case names these identifiers", rule="A7", field="identifiers")
        intercept_id = svc.new_id()
        try:
            with conn.begin_nested():
                conn.execute(insert(intercepts).values(
                    id=intercept_id, case_id=case_id, carrier_id=body["carrier_id"], liid=liid,
                    identifiers=identifiers_to(identifiers), created_by=actor.user_id, created_at=svc.now(),
                ))
        except IntegrityError:
            raise Conflict(f"the LIID {liid!r} is in use", field="liid") from None
        svc.audit(conn, actor, "intercept.create", case_id=case_id, object_type="intercept", object_id=intercept_id, detail=f"liid={liid}")
        return _present(conn, svc, load_intercept(conn, intercept_id))


def activate(svc: Services, actor: Actor, intercept_id: str) -> dict[str, Any]:
    """B1, B6: activate on a documented authority or an approved declaration; B3: the
    emergency deadline starts at this first use; B4: the carrier package is produced."""
    now = svc.now()
    with svc.db.write() as conn:
        row = load_intercept(conn, intercept_id)
        i = intercept_from(row)
        case = load_case(conn, i.case_id)
        try:
            basis = activation_basis(
                actor_role=actor.role.value, case=case, intercept=i, authorities=case_authorities(conn, i.case_id),
                declarations=case_declarations(conn, i.case_id), now=now,
            )
        except RuleViolation as exc:
            if exc.rule == "B1" and "taru" in exc.message:
                raise AccessDenied(exc.message, rule="B1") from None
            raise
        if basis.kind.is_emergency and basis.deadline_at is None:
            from calea.domain.exigent import deadline

            due = deadline(basis.kind, basis.court_level, now)
            conn.execute(update(authorities).where(authorities.c.id == basis.id).values(deadline_at=due))
            conn.execute(update(declarations).where(declarations.c.id == basis.declaration_id).values(first_use_at=now))
        package = build_package(conn, svc, i, basis.id, now)
        sha = svc.content.put(package)
        conn.execute(update(intercepts).where(intercepts.c.id == intercept_id).values(
            activated_at=now, activated_by=actor.user_id, basis_authority_id=basis.id, deactivated_at=None,
            package_sha256=sha, package_sent_at=None, package_acknowledged_at=None,
        ))
        svc.audit(conn, actor, "intercept.activate", case_id=i.case_id, object_type="intercept", object_id=intercept_id,
                  detail=f"basis={basis.id} rule={basis.rule} package={sha}")
        return _present(conn, svc, load_intercept(conn, intercept_id))


def build_package(conn: Connection, svc: Services, i: Intercept, basis_id: str, now: datetime) -> bytes:
    """B4: what the carrier needs — authority document, LIID, identifiers, scope, window."""
    a = authority_from(conn.execute(select(authorities).where(authorities.c.id == basis_id)).mappings().one())
    carrier = conn.execute(select(carriers).where(carriers.c.id == i.carrier_id)).mappings().one()
    manifest: dict[str, Any] = {
        "format": "calea-carrier-package/1",
        "produced_at": now.isoformat(),
        "carrier": carrier["name"],
        "liid": i.liid,
        "identifiers": identifiers_to(i.identifiers),
        "scope": "content and call-identifying information" if a.kind.allows_content else "call-identifying information only (no content)",
        "deliver": ["IRI", "CC"] if a.kind.allows_content else ["IRI"],
        "authority": {"kind": a.kind.value, "rule": a.rule, "court": a.court, "judge": a.judge, "docket": a.docket,
                      "court_level": a.court_level.value},
        "window": {"effective_at": a.effective_at.isoformat(), "expires_at": a.expires_at.isoformat()},
        "emergency_deadline": a.deadline_at.isoformat() if a.deadline_at else None,
        "handover_formats": carrier["formats"],
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if a.document_id:
            doc = conn.execute(select(documents).where(documents.c.id == a.document_id)).mappings().one()
            ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/tiff": "tif"}[doc["media_type"]]
            zf.writestr(f"authority.{ext}", svc.content.get(doc["sha256"]))
            manifest["document_sha256"] = doc["sha256"]
        else:
            manifest["document_sha256"] = None
            manifest["note"] = "Activated on an approved Exigent Circumstances Declaration; the emergency order follows."
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    return buf.getvalue()


def package(svc: Services, actor: Actor, intercept_id: str) -> tuple[str, bytes]:
    require(actor.role, Perm.ACTIVATE)
    with svc.db.write() as conn:
        row = load_intercept(conn, intercept_id)
        if not row["package_sha256"]:
            raise Conflict("the intercept has not been activated: no package yet", rule="B4")
        svc.audit(conn, actor, "intercept.package.download", case_id=row["case_id"], object_type="intercept", object_id=intercept_id)
        return f"calea-package-{row['liid']}.zip", svc.content.get(row["package_sha256"])


def mark_package(svc: Services, actor: Actor, intercept_id: str, event: str, at: Any = None) -> dict[str, Any]:
    """B4: record when the package was sent to and acknowledged by the carrier."""
    require(actor.role, Perm.ACTIVATE)
    when = parse_time(at, "at") if at else svc.now()
    column = {"sent": "package_sent_at", "acknowledged": "package_acknowledged_at"}.get(event)
    if column is None:
        raise InvalidInput("event is sent or acknowledged", field="event")
    with svc.db.write() as conn:
        row = load_intercept(conn, intercept_id)
        if not row["package_sha256"]:
            raise Conflict("no package has been produced", rule="B4")
        if event == "acknowledged" and row["package_sent_at"] is None:
            raise Conflict("record the sending first", rule="B4")
        conn.execute(update(intercepts).where(intercepts.c.id == intercept_id).values(**{column: when}))
        svc.audit(conn, actor, f"intercept.package.{event}", case_id=row["case_id"], object_type="intercept", object_id=intercept_id)
        return _present(conn, svc, load_intercept(conn, intercept_id))


def deactivate(svc: Services, actor: Actor, intercept_id: str, *, reason: str = "") -> dict[str, Any]:
    require(actor.role, Perm.ACTIVATE)
    with svc.db.write() as conn:
        row = load_intercept(conn, intercept_id)
        if row["activated_at"] is None or row["deactivated_at"] is not None:
            raise Conflict("the intercept is not active")
        conn.execute(update(intercepts).where(intercepts.c.id == intercept_id).values(deactivated_at=svc.now()))
        svc.audit(conn, actor, "intercept.deactivate", case_id=row["case_id"], object_type="intercept", object_id=intercept_id, detail=reason[:500])
        return _present(conn, svc, load_intercept(conn, intercept_id))


def get_intercept(svc: Services, actor: Actor, intercept_id: str) -> dict[str, Any]:
    with svc.db.write() as conn:
        row = load_intercept(conn, intercept_id)
        check_case_access(conn, svc, actor, row["case_id"])
        svc.audit(conn, actor, "intercept.read", case_id=row["case_id"], object_type="intercept", object_id=intercept_id)
        return _present(conn, svc, row)


def list_intercepts(svc: Services, actor: Actor, case_id: str | None = None) -> list[dict[str, Any]]:
    with svc.db.write() as conn:
        if case_id is not None:
            check_case_access(conn, svc, actor, case_id)
            q = select(intercepts).where(intercepts.c.case_id == case_id)
            svc.audit(conn, actor, "intercept.list", case_id=case_id, object_type="case", object_id=case_id)
        else:
            require(actor.role, Perm.ACTIVATE)
            q = select(intercepts)
        return [_present(conn, svc, r) for r in conn.execute(q.order_by(intercepts.c.created_at)).mappings()]


def coverage(svc: Services, *, liid: str | None, identifier: dict[str, str] | None, intercepted_at: datetime,
             has_content: bool, now: datetime | None = None) -> Decision:
    """The question the intake asks for every delivery: which authority, if any, covers
    (LIID or identifier, interception time, kind of data)?  Answer and rule id (A6–A8, B3)."""
    now = now or svc.now()
    with svc.db.read() as conn:
        if liid is not None:
            row = conn.execute(select(intercepts).where(intercepts.c.liid == liid)).mappings().first()
            if row is None:
                return decide(intercept=None, authorities=[], intercepted_at=intercepted_at, has_content=has_content, now=now)
            i = intercept_from(row)
            return decide(intercept=i, authorities=case_authorities(conn, i.case_id), intercepted_at=intercepted_at,
                          has_content=has_content, now=now)
        if identifier is None:
            raise InvalidInput("give an liid or an identifier", field="liid")
        ident = parse_identifier_dict(identifier)
        auths = [authority_from(r) for r in conn.execute(select(authorities)).mappings()]
        return decide(intercept=None, authorities=auths, intercepted_at=intercepted_at, has_content=has_content,
                      now=now, identifier=ident)
