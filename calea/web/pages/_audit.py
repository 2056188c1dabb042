"""The audit log (C5) and its focused search (G3): by user, case, outcome and time range,
newest first, and a check of the hash chain.  Reading the log is itself audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_, select

from calea.audit import log as audit_log
from calea.db.schema import audit_events
from calea.db.schema import cases as cases_t
from calea.domain.access import Perm, require
from calea.errors import CaleaError
from calea.services.authorities import parse_time
from calea.services.context import Actor
from calea.web.auth import services
from calea.web.pages._common import Signed, render, text, utc

router = APIRouter()

LIMITS = (100, 200, 500, 1000)
OUTCOMES = ("allowed", "refused", "error")


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, actor: Actor = Signed) -> Response:
    require(actor.role, Perm.READ_AUDIT)
    svc = services(request)
    q = request.query_params
    filters = {k: text(q, k) for k in ("user", "case", "outcome", "since", "until", "limit")}
    error: CaleaError | None = None
    rows: list[dict[str, Any]] = []
    verified: dict[str, Any] | None = None
    try:
        limit = int(filters["limit"]) if filters["limit"].isdigit() else 200
        limit = limit if limit in LIMITS else 200
        query = select(audit_events).order_by(audit_events.c.seq.desc()).limit(limit)
        with svc.db.read() as conn:
            if filters["user"]:
                u = filters["user"]
                query = query.where(or_(audit_events.c.user_id == u, audit_events.c.username == u.lower()))
            if filters["case"]:
                c = filters["case"]
                found = conn.execute(select(cases_t.c.id).where(or_(cases_t.c.id == c, cases_t.c.complaint_number == c))).scalar()
                query = query.where(audit_events.c.case_id == (found or c))
            if filters["outcome"] in OUTCOMES:
                query = query.where(audit_events.c.outcome == filters["outcome"])
            since, until = utc(q, "since"), utc(q, "until")
            if since:
                query = query.where(audit_events.c.at >= parse_time(since, "since"))
            if until:
                query = query.where(audit_events.c.at < parse_time(until, "until"))
            rows = [dict(r) for r in conn.execute(query).mappings()]
            case_ids = {r["case_id"] for r in rows if r["case_id"]}
            complaint = {r.id: r.complaint_number for r in conn.execute(
                select(cases_t.c.id, cases_t.c.complaint_number).where(cases_t.c.id.in_(case_ids)))} if case_ids else {}
    except CaleaError as exc:
        error, complaint = exc, {}
    if q.get("verify") == "1":
        count, problems = audit_log.verify(svc.db)
        verified = {"rows": count, "ok": not problems, "problems": [{"seq": p.seq, "problem": p.problem} for p in problems]}
    with svc.db.write() as conn:
        detail = " ".join(f"{k}={v}" for k, v in filters.items() if v)
        if verified is not None:
            svc.audit(conn, actor, "audit.verify", detail=f"rows={verified['rows']} problems={len(verified['problems'])}")
        svc.audit(conn, actor, "audit.read", detail=detail[:500] or None)
    for r in rows:
        r["hash"] = bytes(r["hash"]).hex()
    return render(request, "audit.html", status=error.status if error else 200, error=error, events=rows,
                  filters=filters, complaint=complaint, verified=verified, outcomes=OUTCOMES, limits=LIMITS)
