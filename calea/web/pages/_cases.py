"""The case list and the case page: the case's legal record, read through the same
services as the JSON API so that every read is audited (C2, C5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from calea.domain.access import Perm, Role, has_perm
from calea.domain.cases import INTELLIGENCE_DIVISION
from calea.domain.exigent import FINDING_TEXT, FINDINGS, FLIGHT_NOTICE
from calea.errors import CaleaError
from calea.services import authorities, carriers, cases, grants, intercepts, users
from calea.services.context import Actor
from calea.web.auth import services
from calea.web.pages._common import Signed, Submitted, attempt, flag, form_values, render, text, with_ok

router = APIRouter()

GRANTABLE_ROLES = ("investigator", "supervisor", "auditor", "prosecutor", "external")


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, actor: Actor = Signed) -> Response:
    return cases_view(request, actor)


def cases_view(request: Request, actor: Actor, *, status: int = 200, error: CaleaError | None = None,
               form: dict[str, str] | None = None) -> Response:
    return render(request, "cases.html", status=status, cases=cases.list_cases(services(request), actor),
                  error=error, form=form or {}, open_form="case" if form else None,
                  intelligence=INTELLIGENCE_DIVISION)


@router.post("/cases")
def open_case(request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        case = cases.open_case(services(request), actor, complaint_number=text(form, "complaint_number"),
                               title=text(form, "title"), unit=text(form, "unit") or None,
                               political_activity=flag(form, "political_activity"))
        return with_ok(f"/cases/{case['id']}", "case.opened")

    return attempt(request, act, lambda exc: cases_view(request, actor, status=exc.status, error=exc, form=form_values(form)))


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: str, request: Request, actor: Actor = Signed) -> Response:
    return case_view(request, actor, case_id)


def case_view(request: Request, actor: Actor, case_id: str, *, status: int = 200, error: CaleaError | None = None,
              form: dict[str, str] | None = None, open_form: str | None = None) -> Response:
    """The case page.  Each part is read through its service (each read is an audit event);
    a refusal of the case itself (C2) propagates to the error page."""
    svc = services(request)
    now = svc.now()
    case = cases.get_case(svc, actor, case_id)
    docs = cases.list_documents(svc, actor, case_id)
    auths = authorities.list_authorities(svc, actor, case_id)
    icpts = intercepts.list_intercepts(svc, actor, case_id)
    if actor.role in (Role.TARU, Role.AUDITOR):
        case_grants = grants.list_grants(svc, actor, case_id=case_id)
    else:
        case_grants = [g for g in grants.list_grants(svc, actor) if g["case_id"] == case_id]
    carrier_list = carriers.list_carriers(svc, actor) if has_perm(actor.role, Perm.MANAGE_CARRIERS) else []
    people = users.list_users(svc, actor) if has_perm(actor.role, Perm.GRANT) else []
    with svc.db.read() as conn:
        # The service layer has no audited listing of declarations yet; the case read above
        # already passed the access check (C2) and was audited.
        decls = authorities.case_declarations(conn, case_id)
        ids = {case["opened_by"], (case["approval"] or {}).get("approved_by")}
        ids |= {d["uploaded_by"] for d in docs} | {g["user_id"] for g in case_grants} | {g["granted_by"] for g in case_grants}
        ids |= {d.declared_by for d in decls.values()} | {d.approved_by for d in decls.values()}
        ids |= {i["activated_by"] for i in icpts}
        names = {uid: cases.username_of(conn, uid) for uid in ids if uid}
    docs_by_id = {d["id"]: d for d in docs}
    carrier_names = {c["id"]: c["name"] for c in carrier_list}
    extended = {a["parent_id"] for a in auths if a["parent_id"]}
    for a in auths:
        a["state"] = authority_state(a, decls, now)
        a["document"] = docs_by_id.get(a["document_id"] or "")
        a["extendable"] = (a["kind"] in ("prtt", "eavesdropping") and a["terminated_at"] is None
                           and a["id"] not in extended and a["expires_at"] > now)
    declarations = [declaration_view(d, auths, names) for d in sorted(decls.values(), key=lambda d: d.declared_at)]
    auth_labels = {a["id"]: authority_label(a) for a in auths}
    for g in case_grants:
        g["state"] = grant_state(g, now)
    ctx: dict[str, Any] = dict(
        case=case, documents=docs, authorities=auths, declarations=declarations, intercepts=icpts, grants=case_grants,
        carriers=carrier_list, carrier_names=carrier_names, names=names, auth_labels=auth_labels,
        grantees=[u for u in people if u["active"] and u["role"] in GRANTABLE_ROLES],
        checklist=checklist(case, auths, icpts), findings=[(f, FINDING_TEXT[f]) for f in FINDINGS],
        flight_notice=FLIGHT_NOTICE, local_now=local(now), error=error, form=form or {}, open_form=open_form,
        is_taru=actor.role is Role.TARU, sees_all_grants=actor.role in (Role.TARU, Role.AUDITOR),
    )
    return render(request, "case.html", status=status, **ctx)


def local(dt: datetime) -> str:
    """The value of a `datetime-local` input (UTC)."""
    return dt.strftime("%Y-%m-%dT%H:%M")


def authority_state(a: dict[str, Any], decls: dict[str, Any], now: datetime) -> str:
    if a["terminated_at"] is not None:
        return "terminated"
    emergency = a["kind"].startswith("emergency")
    if emergency and a["document_id"] is None and a["deadline_at"] is not None and now >= a["deadline_at"]:
        return "quarantined"
    if emergency and a["declaration_id"] and not getattr(decls.get(a["declaration_id"]), "approved", False):
        return "pending"
    if now < a["effective_at"]:
        return "scheduled"
    if now >= a["expires_at"]:
        return "expired"
    return "active"


def grant_state(g: dict[str, Any], now: datetime) -> str:
    if g["revoked_at"] is not None:
        return "revoked"
    if g["suspended_at"] is not None:
        return "suspended"
    if now < g["starts_at"]:
        return "scheduled"
    if now >= g["ends_at"]:
        return "expired"
    return "active"


def authority_label(a: dict[str, Any]) -> str:
    kind = {"prtt": "PRTT order", "eavesdropping": "Eavesdropping warrant", "emergency_prtt": "Emergency PRTT",
            "emergency_eavesdropping": "Emergency eavesdropping"}[a["kind"]]
    if a["parent_id"]:
        kind = "Extension"
    return f"{a['rule']} {kind} · {a['docket']} · until {a['expires_at'].strftime('%Y-%m-%d %H:%M')}"


def declaration_view(d: Any, auths: list[dict[str, Any]], names: dict[str, str | None]) -> dict[str, Any]:
    authority = next((a for a in auths if a["declaration_id"] == d.id), None)
    return {
        "id": d.id, "kind": d.kind.value, "rule": "A4" if d.kind.allows_content else "A3", "court_level": d.court_level.value,
        "findings": [(name, FINDING_TEXT[name], d.findings.get(name)) for name in FINDINGS],
        "declared_by": names.get(d.declared_by) or d.declared_by, "declared_at": d.declared_at,
        "approved_by": names.get(d.approved_by or "") if d.approved_by else None, "approved_at": d.approved_at,
        "first_use_at": d.first_use_at, "authority": authority,
    }


def checklist(case: dict[str, Any], auths: list[dict[str, Any]], icpts: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """What activation needs (B1, B6), as the person sees it; the service decides."""
    documented = any(a["state"] == "active" and (a["document_id"] or a["kind"].startswith("emergency")) for a in auths)
    return [
        ("B1", "Complaint number recorded", bool(case["complaint_number"])),
        ("B6", "Use of the system approved by a supervisor", case["approval"] is not None),
        ("B1", "An authority in force with its court document, or an approved exigent declaration", documented),
        ("A7", "An intercept names identifiers its authority covers", bool(icpts)),
    ]


def refused_on_case(request: Request, actor: Actor, case_id: str, form: FormData, open_form: str) -> Any:
    """The re-render after a refused action on the case page: the message, its rule id, and
    the values the person typed in the form that was refused."""
    def show(exc: CaleaError) -> Response:
        return case_view(request, actor, case_id, status=exc.status, error=exc, form=form_values(form), open_form=open_form)
    return show
