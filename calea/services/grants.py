"""Grants of access to a case's data (rules C2, C3, C6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from calea.db.schema import grants, users
from calea.domain.access import Grant, Perm, Role, grant_end, require, validate_grant
from calea.errors import AccessDenied, Conflict, InvalidInput, NotFound
from calea.services.access import load_case
from calea.services.authorities import load_authority, parse_time
from calea.services.context import Actor, Services
from calea.services.rows import grant_from


def grant_dict(g: Grant, now: Any = None) -> dict[str, Any]:
    out = {
        "id": g.id, "user_id": g.user_id, "case_id": g.case_id, "authority_id": g.authority_id,
        "granted_by": g.granted_by, "starts_at": g.starts_at, "ends_at": g.ends_at, "purpose": g.purpose,
        "court_order": g.court_order, "revoked_at": g.revoked_at, "suspended_at": g.suspended_at,
    }
    if now is not None:
        out["active"] = g.active(now)
    return out


def create_grant(svc: Services, actor: Actor, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """C2: taru grants a user a case's data, justified by an authority, ending no later than it;
    C6: an external user's grant records the court order naming their agency."""
    require(actor.role, Perm.GRANT)
    now = svc.now()
    with svc.db.write() as conn:
        me = conn.execute(select(users).where(users.c.id == actor.user_id)).mappings().one()
        if not me["can_grant"]:
            raise AccessDenied("your power to grant was withdrawn on transfer", rule="C3")
        load_case(conn, case_id)
        target = conn.execute(select(users).where(users.c.id == body.get("user_id"))).mappings().first()
        if target is None:
            raise InvalidInput("user_id names no user", field="user_id")
        authority = load_authority(conn, str(body.get("authority_id", "")))
        if authority.case_id != case_id:
            raise InvalidInput("the authority belongs to another case", field="authority_id", rule="C2")
        starts = parse_time(body["starts_at"], "starts_at") if body.get("starts_at") else now
        requested_end = parse_time(body["ends_at"], "ends_at") if body.get("ends_at") else None
        authority_end = authority.ends_at
        if authority.kind.is_emergency and authority.document_id is None and authority.deadline_at is not None:
            authority_end = min(authority_end, authority.deadline_at)
        purpose = str(body.get("purpose", ""))
        validate_grant(grantor_role=actor.role, grantee_role=target["role"], grantee_active=bool(target["active"]),
                       court_order=body.get("court_order"), starts_at=max(starts, now), authority_end=authority_end,
                       purpose=purpose)
        ends = grant_end(requested_end, authority_end)
        grant_id = svc.new_id()
        conn.execute(insert(grants).values(
            id=grant_id, user_id=target["id"], case_id=case_id, authority_id=authority.id, granted_by=actor.user_id,
            starts_at=starts, ends_at=ends, purpose=purpose.strip(), court_order=(body.get("court_order") or None),
            created_at=now,
        ))
        svc.audit(conn, actor, "grant.create", case_id=case_id, object_type="grant", object_id=grant_id,
                  detail=f"user={target['username']} ends={ends.isoformat()}" + (" cut-to-authority" if requested_end and ends < requested_end else ""))
        return grant_dict(grant_from(conn.execute(select(grants).where(grants.c.id == grant_id)).mappings().one()), now)


def revoke_grant(svc: Services, actor: Actor, grant_id: str, *, reason: str = "") -> dict[str, Any]:
    require(actor.role, Perm.GRANT)
    now = svc.now()
    with svc.db.write() as conn:
        row = conn.execute(select(grants).where(grants.c.id == grant_id)).mappings().first()
        if row is None:
            raise NotFound("no such grant")
        if row["revoked_at"] is not None:
            raise Conflict("already revoked")
        conn.execute(update(grants).where(grants.c.id == grant_id).values(revoked_at=now, revoked_reason=reason[:300] or "revoked"))
        svc.audit(conn, actor, "grant.revoke", case_id=row["case_id"], object_type="grant", object_id=grant_id)
        return grant_dict(grant_from(conn.execute(select(grants).where(grants.c.id == grant_id)).mappings().one()), now)


def list_grants(svc: Services, actor: Actor, *, case_id: str | None = None, user_id: str | None = None) -> list[dict[str, Any]]:
    """taru sees every grant; a user sees their own."""
    if actor.role is not Role.TARU and actor.role is not Role.AUDITOR:
        if user_id not in (None, actor.user_id) or case_id is not None:
            raise AccessDenied("you may list only your own grants", rule="C2")
        user_id = actor.user_id
    q = select(grants)
    if case_id:
        q = q.where(grants.c.case_id == case_id)
    if user_id:
        q = q.where(grants.c.user_id == user_id)
    now = svc.now()
    with svc.db.read() as conn:
        return [grant_dict(grant_from(r), now) for r in conn.execute(q.order_by(grants.c.created_at)).mappings()]
