"""/api/v1: users, carriers, settings, coverage, alerts, audit, health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from calea import __version__
from calea.audit import log as audit_log
from calea.db.schema import audit_events
from calea.domain.access import Perm, require
from calea.services import alerts, carriers, grants, intercepts, settings, users
from calea.services.authorities import parse_time
from calea.services.context import Actor
from calea.web.api.models import CarrierIn, CarrierPatch, CoverageIn, NetworkPolicyIn, Offboard, UserIn, body
from calea.web.auth import current_actor, require_scope, services

router = APIRouter(tags=["administration"])


def user_admin(actor: Actor = Depends(current_actor)) -> Actor:
    require_scope(actor, "users:write")
    return actor


@router.get("/users")
def list_users(request: Request, actor: Actor = Depends(user_admin)) -> list[dict[str, Any]]:
    return users.list_users(services(request), actor)


@router.post("/users", status_code=201)
def create_user(data: UserIn, request: Request, actor: Actor = Depends(user_admin)) -> dict[str, Any]:
    """C1: a unique username, an Argon2id password, a role and a unit."""
    return users.create_user(services(request), actor, **body(data))


@router.post("/users/{user_id}/offboard")
def offboard(user_id: str, data: Offboard, request: Request, actor: Actor = Depends(user_admin)) -> dict[str, Any]:
    """C3: one action ends every grant, session and token of a transferred or departing user."""
    return users.offboard(services(request), actor, user_id, mode=data.mode, new_unit=data.new_unit, reason=data.reason)


@router.post("/users/{user_id}/unlock")
def unlock(user_id: str, request: Request, reset_mfa: bool = False, actor: Actor = Depends(user_admin)) -> dict[str, Any]:
    return users.unlock(services(request), actor, user_id, reset_mfa=reset_mfa)


@router.get("/users/{user_id}/grants")
def user_grants(user_id: str, request: Request, actor: Actor = Depends(current_actor)) -> list[dict[str, Any]]:
    return grants.list_grants(services(request), actor, user_id=user_id)


@router.get("/carriers")
def list_carriers(request: Request, actor: Actor = Depends(current_actor)) -> list[dict[str, Any]]:
    require_scope(actor, "intercepts:write")
    return carriers.list_carriers(services(request), actor)


@router.post("/carriers", status_code=201)
def create_carrier(data: CarrierIn, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    require_scope(actor, "intercepts:write")
    return carriers.create_carrier(services(request), actor, body(data))


@router.patch("/carriers/{carrier_id}")
def update_carrier(carrier_id: str, data: CarrierPatch, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """Change a carrier; the running intake restarts the listeners whose terms changed."""
    require_scope(actor, "intercepts:write")
    return carriers.update_carrier(services(request), actor, carrier_id, data.model_dump(exclude_unset=True))


@router.get("/carriers/{carrier_id}")
def get_carrier(carrier_id: str, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    require_scope(actor, "intercepts:write")
    return carriers.get_carrier(services(request), actor, carrier_id)


@router.get("/settings/network")
def get_network(request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    require(actor.role, Perm.MANAGE_SETTINGS)
    return settings.policy_dict(services(request).network_policy)


@router.put("/settings/network")
def put_network(data: NetworkPolicyIn, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """C4: facility networks (second factor mandatory outside) and authorised workstations."""
    require_scope(actor, "users:write")
    return settings.set_network_policy(services(request), actor, body(data))


@router.post("/coverage")
def coverage(data: CoverageIn, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """Which authority, if any, covers (LIID or identifier, interception time, kind of data)?
    The same decision the intake makes for every delivery (A6, A7, A8, B3)."""
    require_scope(actor, "coverage:read")
    require(actor.role, Perm.ACTIVATE)
    decision = intercepts.coverage(
        services(request), liid=data.liid, identifier=data.identifier.model_dump() if data.identifier else None,
        intercepted_at=parse_time(data.intercepted_at, "intercepted_at"), has_content=data.has_content,
    )
    return decision.to_dict()


@router.get("/alerts")
def list_alerts(request: Request, open_only: bool = False, actor: Actor = Depends(current_actor)) -> list[dict[str, Any]]:
    require_scope(actor, "alerts:read")
    return alerts.list_alerts(services(request), actor, open_only=open_only)


@router.post("/alerts/{alert_id}/acknowledge")
def ack_alert(alert_id: str, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    return alerts.acknowledge(services(request), actor, alert_id)


@router.get("/audit")
def audit(request: Request, user_id: str | None = None, case_id: str | None = None, outcome: str | None = None,
          since: str | None = None, until: str | None = None, limit: int = Query(200, ge=1, le=5000),
          actor: Actor = Depends(current_actor)) -> list[dict[str, Any]]:
    """C5/G3: the audit log, filtered by user, case, outcome and time."""
    require_scope(actor, "audit:read")
    require(actor.role, Perm.READ_AUDIT)
    q = select(audit_events).order_by(audit_events.c.seq.desc()).limit(limit)
    if user_id:
        q = q.where(audit_events.c.user_id == user_id)
    if case_id:
        q = q.where(audit_events.c.case_id == case_id)
    if outcome:
        q = q.where(audit_events.c.outcome == outcome)
    if since:
        q = q.where(audit_events.c.at >= parse_time(since, "since"))
    if until:
        q = q.where(audit_events.c.at < parse_time(until, "until"))
    with services(request).db.read() as conn:
        return [{**{k: v for k, v in r.items() if k not in ("prev_hash", "hash")}, "hash": bytes(r["hash"]).hex()}
                for r in conn.execute(q).mappings()]


@router.get("/audit/verify")
def audit_verify(request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """C5: recompute the hash chain and name every row that does not match."""
    require_scope(actor, "audit:read")
    require(actor.role, Perm.READ_AUDIT)
    count, problems = audit_log.verify(services(request).db)
    return {"rows": count, "ok": not problems, "problems": [{"seq": p.seq, "problem": p.problem} for p in problems]}


@router.get("/-/health", tags=["system"])
def health(request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """System health (the vendor's view: no intercept data)."""
    require(actor.role, Perm.SYSTEM_HEALTH)
    svc = services(request)
    with svc.db.read() as conn:
        conn.execute(select(1))
    return {"status": "ok", "version": __version__, "database": svc.db.engine.dialect.name,
            "time": svc.now().isoformat()}
