"""Legal holds and export records that FIFO retention respects (rule D2)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from calea.db.schema import legal_holds, segments
from calea.domain.access import Perm, require
from calea.errors import Conflict, InvalidInput, NotFound
from calea.services.access import load_case
from calea.services.authorities import parse_time
from calea.services.context import Actor, Services


def place_hold(svc: Services, actor: Actor, case_id: str, reason: str) -> dict[str, Any]:
    """D2: data under a legal hold is never purged."""
    require(actor.role, Perm.ACTIVATE)
    if len(reason.strip()) < 5:
        raise InvalidInput("a legal hold records its reason", field="reason", rule="D2")
    with svc.db.write() as conn:
        load_case(conn, case_id)
        hold_id = svc.new_id()
        conn.execute(insert(legal_holds).values(id=hold_id, case_id=case_id, reason=reason.strip(), placed_by=actor.user_id, placed_at=svc.now()))
        svc.audit(conn, actor, "hold.place", case_id=case_id, object_type="legal_hold", object_id=hold_id)
        return dict(conn.execute(select(legal_holds).where(legal_holds.c.id == hold_id)).mappings().one())


def release_hold(svc: Services, actor: Actor, hold_id: str) -> dict[str, Any]:
    require(actor.role, Perm.ACTIVATE)
    with svc.db.write() as conn:
        row = conn.execute(select(legal_holds).where(legal_holds.c.id == hold_id)).mappings().first()
        if row is None:
            raise NotFound("no such legal hold")
        if row["released_at"] is not None:
            raise Conflict("already released")
        conn.execute(update(legal_holds).where(legal_holds.c.id == hold_id).values(released_at=svc.now()))
        svc.audit(conn, actor, "hold.release", case_id=row["case_id"], object_type="legal_hold", object_id=hold_id)
        return dict(conn.execute(select(legal_holds).where(legal_holds.c.id == hold_id)).mappings().one())


def record_export(svc: Services, actor: Actor, case_id: str, *, until: Any, reference: str) -> dict[str, Any]:
    """D2: record that the case's closed segments up to `until` were exported (reference:
    the export's identifier), which makes them eligible for FIFO purge."""
    require(actor.role, Perm.ACTIVATE)
    until_at = parse_time(until, "until")
    if not reference.strip():
        raise InvalidInput("name the export (its reference)", field="reference")
    with svc.db.write() as conn:
        load_case(conn, case_id)
        n = conn.execute(update(segments).where(segments.c.case_id == case_id, segments.c.closed_at.is_not(None),
                                                segments.c.created_at <= until_at, segments.c.exported_at.is_(None))
                         .values(exported_at=svc.now())).rowcount
        svc.audit(conn, actor, "export.record", case_id=case_id, object_type="case", object_id=case_id,
                  detail=f"segments={n} until={until_at.isoformat()} ref={reference.strip()[:200]}")
    return {"case_id": case_id, "segments": n}
