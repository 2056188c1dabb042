"""/api/v1: stored records, the case's Merkle log and its proofs, the intake's state."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from calea.domain.access import Perm, require
from calea.services import records
from calea.services.context import Actor
from calea.web.auth import current_actor, require_scope, services

router = APIRouter(tags=["store"])


@router.get("/cases/{case_id}/records")
def case_records(case_id: str, request: Request, purpose: str | None = None, limit: int = Query(200, ge=1, le=1000),
                 before_id: int | None = None, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """Intercepted IRI records of the case.  Needs a grant and a stated purpose (C2, C5):
    `X-Calea-Purpose` header or `?purpose=`."""
    require_scope(actor, "cases:read")
    purpose = purpose or request.headers.get("x-calea-purpose")
    return records.list_records(services(request), actor, case_id, purpose=purpose, limit=limit, before_id=before_id)


@router.get("/cases/{case_id}/log")
def case_log(case_id: str, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """The case's Merkle log: size, root and the latest signed tree heads (D1)."""
    return records.log_state(services(request), actor, case_id)


@router.get("/cases/{case_id}/log/inclusion")
def inclusion(case_id: str, request: Request, index: int = Query(..., ge=0), size: int | None = Query(None, ge=1),
              actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """RFC 9162 inclusion proof of one leaf."""
    return records.inclusion(services(request), actor, case_id, index, size)


@router.get("/cases/{case_id}/log/consistency")
def consistency(case_id: str, request: Request, first: int = Query(..., ge=1), second: int | None = Query(None, ge=1),
                actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """RFC 9162 consistency proof between two tree sizes."""
    return records.consistency(services(request), actor, case_id, first, second)


@router.get("/intake")
def intake(request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """Connections, counters, streams (with sequence gaps), refusals and malformed records."""
    require(actor.role, Perm.READ_ALERTS)
    view = records.intake_view(services(request), actor)
    manager = getattr(request.app.state, "intake", None)
    view["live"] = manager.state() if manager is not None else None
    return view


@router.post("/cases/{case_id}/holds", status_code=201, tags=["retention"])
def place_hold(case_id: str, request: Request, body: dict[str, str], actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """D2: a legal hold; held data is never purged by FIFO retention."""
    from calea.services import retention

    return retention.place_hold(services(request), actor, case_id, str(body.get("reason", "")))


@router.post("/holds/{hold_id}/release", tags=["retention"])
def release_hold(hold_id: str, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    from calea.services import retention

    return retention.release_hold(services(request), actor, hold_id)


@router.post("/cases/{case_id}/exports", status_code=201, tags=["retention"])
def record_export(case_id: str, request: Request, body: dict[str, str], actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """D2: record that the case's data up to `until` was exported (`reference`), making it
    eligible for FIFO purge once no intercept of it is active."""
    from calea.services import retention

    return retention.record_export(services(request), actor, case_id, until=body.get("until"), reference=str(body.get("reference", "")))
