"""The forms of the case page: approval (B6), documents (A9), authorities (A1, A2, A5, A9),
exigent declarations (B2), intercepts (B1, B4) and grants (C2, C6).

Each handler parses its form, calls the service the JSON API calls, and redirects back to
the case (redirect-after-post) or re-renders it with the refusal and its rule id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from calea.domain.exigent import FINDINGS
from calea.errors import InvalidInput
from calea.services import authorities, cases, grants, intercepts
from calea.services.context import Actor
from calea.web.auth import services
from calea.web.pages._cases import refused_on_case
from calea.web.pages._common import (
    Signed,
    Submitted,
    attempt,
    flag,
    identifiers,
    lines,
    safe_next,
    text,
    upload_bytes,
    utc,
    with_ok,
)

router = APIRouter()


def _int(form: FormData, name: str) -> int | None:
    raw = text(form, name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')} is a whole number", field=name) from None


@router.post("/cases/{case_id}/approval")
def approve(case_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        cases.approve_case(services(request), actor, case_id, reasons=text(form, "reasons"))
        return with_ok(f"/cases/{case_id}", "case.approved", "approval")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, "approval"))


@router.post("/cases/{case_id}/documents")
def upload(case_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        filename, data = upload_bytes(form, "file")
        cases.upload_document(services(request), actor, case_id, filename=filename, data=data,
                              description=text(form, "description"))
        return with_ok(f"/cases/{case_id}", "document.uploaded", "documents")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, "document"))


@router.post("/cases/{case_id}/authorities")
def record_authority(case_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        body: dict[str, Any] = {
            "kind": text(form, "kind"), "court_level": text(form, "court_level") or "state",
            "court": text(form, "court"), "judge": text(form, "judge"), "docket": text(form, "docket"),
            "offenses": lines(form, "offenses"), "issued_at": utc(form, "issued_at"),
            "effective_at": utc(form, "effective_at"), "expires_at": utc(form, "expires_at"),
            "identifiers": identifiers(form), "document_id": text(form, "document_id") or None,
            "applicant": text(form, "applicant"), "progress_report_days": _int(form, "progress_report_days"),
        }
        authorities.record_authority(services(request), actor, case_id, body)
        return with_ok(f"/cases/{case_id}", "authority.recorded", "authorities")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, "authority"))


@router.post("/cases/{case_id}/authorities/{authority_id}/extend")
def extend(case_id: str, authority_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        body = {"judge": text(form, "judge"), "docket": text(form, "docket"), "court": text(form, "court"),
                "issued_at": utc(form, "issued_at"), "expires_at": utc(form, "expires_at"),
                "findings": text(form, "findings"), "document_id": text(form, "document_id") or None}
        a = authorities.extend_authority(services(request), actor, authority_id, body)
        return with_ok(f"/cases/{a['case_id']}", "authority.extended", "authorities")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, f"extend-{authority_id}"))


@router.post("/cases/{case_id}/authorities/{authority_id}/document")
def attach(case_id: str, authority_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        body = {"document_id": text(form, "document_id"), "court": text(form, "court"), "judge": text(form, "judge"),
                "docket": text(form, "docket"), "issued_at": utc(form, "issued_at"), "expires_at": utc(form, "expires_at")}
        a = authorities.attach_document(services(request), actor, authority_id, {k: v for k, v in body.items() if v})
        return with_ok(f"/cases/{a['case_id']}", "authority.document", "authorities")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, f"attach-{authority_id}"))


@router.post("/cases/{case_id}/authorities/{authority_id}/terminate")
def terminate(case_id: str, authority_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        a = authorities.terminate_authority(services(request), actor, authority_id, reason=text(form, "reason"))
        return with_ok(f"/cases/{a['case_id']}", "authority.terminated", "authorities")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, f"terminate-{authority_id}"))


@router.post("/cases/{case_id}/declarations")
def declare(case_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        findings = {name: {"answered": flag(form, f"{name}_answered"), "justification": text(form, f"{name}_justification")}
                    for name in FINDINGS}
        body = {"kind": text(form, "kind"), "court_level": text(form, "court_level") or "state", "findings": findings,
                "identifiers": identifiers(form), "offenses": lines(form, "offenses")}
        authorities.declare_exigency(services(request), actor, case_id, body)
        return with_ok(f"/cases/{case_id}", "declaration.created", "exigent")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, "declaration"))


@router.post("/cases/{case_id}/declarations/{declaration_id}/approve")
def approve_declaration(case_id: str, declaration_id: str, request: Request, form: FormData = Submitted,
                        actor: Actor = Signed) -> Response:
    def act() -> str:
        d = authorities.approve_declaration(services(request), actor, declaration_id)
        return with_ok(f"/cases/{d['case_id']}", "declaration.approved", "exigent")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, "exigent"))


@router.post("/cases/{case_id}/intercepts")
def create_intercept(case_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        body = {"carrier_id": text(form, "carrier_id"), "liid": text(form, "liid"), "identifiers": identifiers(form)}
        intercepts.create_intercept(services(request), actor, case_id, body)
        return with_ok(f"/cases/{case_id}", "intercept.created", "intercepts")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, "intercept"))


def _back(form: FormData, i: dict[str, Any], code: str) -> str:
    return with_ok(safe_next(form.get("next"), f"/cases/{i['case_id']}"), code, "intercepts")


def _intercept_refused(request: Request, actor: Actor, case_id: str, form: FormData) -> Any:
    if safe_next(form.get("next"), "") == "/intercepts":
        from calea.web.pages._admin import intercepts_view

        return lambda exc: intercepts_view(request, actor, status=exc.status, error=exc)
    return refused_on_case(request, actor, case_id, form, "intercepts")


@router.post("/cases/{case_id}/intercepts/{intercept_id}/activate")
def activate(case_id: str, intercept_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        return _back(form, intercepts.activate(services(request), actor, intercept_id), "intercept.activated")

    return attempt(request, act, _intercept_refused(request, actor, case_id, form))


@router.post("/cases/{case_id}/intercepts/{intercept_id}/deactivate")
def deactivate(case_id: str, intercept_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        i = intercepts.deactivate(services(request), actor, intercept_id, reason=text(form, "reason"))
        return _back(form, i, "intercept.deactivated")

    return attempt(request, act, _intercept_refused(request, actor, case_id, form))


@router.post("/cases/{case_id}/intercepts/{intercept_id}/package")
def package_event(case_id: str, intercept_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        event = text(form, "event")
        i = intercepts.mark_package(services(request), actor, intercept_id, event, utc(form, "at"))
        return _back(form, i, f"package.{event}")

    return attempt(request, act, _intercept_refused(request, actor, case_id, form))


@router.post("/cases/{case_id}/grants")
def create_grant(case_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        body = {"user_id": text(form, "user_id"), "authority_id": text(form, "authority_id"),
                "purpose": text(form, "purpose"), "ends_at": utc(form, "ends_at"),
                "court_order": text(form, "court_order") or None}
        grants.create_grant(services(request), actor, case_id, {k: v for k, v in body.items() if v is not None})
        return with_ok(f"/cases/{case_id}", "grant.created", "grants")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, "grant"))


@router.post("/cases/{case_id}/grants/{grant_id}/revoke")
def revoke_grant(case_id: str, grant_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        g = grants.revoke_grant(services(request), actor, grant_id, reason=text(form, "reason"))
        return with_ok(f"/cases/{g['case_id']}", "grant.revoked", "grants")

    return attempt(request, act, refused_on_case(request, actor, case_id, form, "grants"))
