"""Alerts to the technical unit: unauthorized deliveries (A7), missed deadlines (B3), …"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from calea.db.schema import alerts
from calea.domain.access import Perm, require
from calea.errors import Conflict, NotFound
from calea.services.context import Actor, Services


def alert_dict(r: Any) -> dict[str, Any]:
    return {k: r[k] for k in ("id", "at", "kind", "severity", "rule", "case_id", "intercept_id", "message", "details", "acknowledged_by", "acknowledged_at")}


def list_alerts(svc: Services, actor: Actor, *, open_only: bool = False, limit: int = 200) -> list[dict[str, Any]]:
    require(actor.role, Perm.READ_ALERTS)
    q = select(alerts).order_by(alerts.c.at.desc()).limit(max(1, min(limit, 1000)))
    if open_only:
        q = q.where(alerts.c.acknowledged_at.is_(None))
    with svc.db.read() as conn:
        return [alert_dict(r) for r in conn.execute(q).mappings()]


def acknowledge(svc: Services, actor: Actor, alert_id: str) -> dict[str, Any]:
    require(actor.role, Perm.READ_ALERTS)
    with svc.db.write() as conn:
        row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).mappings().first()
        if row is None:
            raise NotFound("no such alert")
        if row["acknowledged_at"] is not None:
            raise Conflict("already acknowledged")
        conn.execute(update(alerts).where(alerts.c.id == alert_id).values(acknowledged_by=actor.user_id, acknowledged_at=svc.now()))
        svc.audit(conn, actor, "alert.acknowledge", case_id=row["case_id"], object_type="alert", object_id=alert_id)
        return alert_dict(conn.execute(select(alerts).where(alerts.c.id == alert_id)).mappings().one())
