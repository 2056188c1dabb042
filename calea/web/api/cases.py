"""/api/v1: cases, documents, authorities, declarations, intercepts, grants."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile

from calea.services import authorities, cases, grants, intercepts
from calea.services.context import Actor
from calea.web.api.models import (
    ApprovalIn,
    AuthorityIn,
    CaseIn,
    DeclarationIn,
    DocumentAttach,
    ExtensionIn,
    GrantIn,
    InterceptIn,
    PackageEvent,
    Reason,
    body,
)
from calea.web.auth import current_actor, require_scope, services

router = APIRouter(tags=["cases"])


def reader(request: Request, actor: Actor = Depends(current_actor)) -> Actor:
    require_scope(actor, "cases:read")
    return actor


def writer(request: Request, actor: Actor = Depends(current_actor)) -> Actor:
    require_scope(actor, "cases:write")
    return actor


def operator(request: Request, actor: Actor = Depends(current_actor)) -> Actor:
    require_scope(actor, "intercepts:write")
    return actor


def granter(request: Request, actor: Actor = Depends(current_actor)) -> Actor:
    require_scope(actor, "grants:write")
    return actor


@router.get("/cases")
def list_cases(request: Request, actor: Actor = Depends(reader)) -> list[dict[str, Any]]:
    return cases.list_cases(services(request), actor)


@router.post("/cases", status_code=201)
def open_case(data: CaseIn, request: Request, actor: Actor = Depends(writer)) -> dict[str, Any]:
    """Open a case (B1: complaint number; B5: political activity only by the Intelligence Division)."""
    return cases.open_case(services(request), actor, **body(data))


@router.get("/cases/{case_id}")
def get_case(case_id: str, request: Request, actor: Actor = Depends(reader)) -> dict[str, Any]:
    return cases.get_case(services(request), actor, case_id)


@router.post("/cases/{case_id}/approval")
def approve_case(case_id: str, data: ApprovalIn, request: Request, actor: Actor = Depends(writer)) -> dict[str, Any]:
    """B6: a supervisor approves the use of the system on the case."""
    return cases.approve_case(services(request), actor, case_id, reasons=data.reasons)


@router.get("/cases/{case_id}/documents")
def list_documents(case_id: str, request: Request, actor: Actor = Depends(reader)) -> list[dict[str, Any]]:
    return cases.list_documents(services(request), actor, case_id)


@router.post("/cases/{case_id}/documents", status_code=201)
async def upload_document(case_id: str, request: Request, file: UploadFile = File(...), description: str = Form(""),
                          actor: Actor = Depends(writer)) -> dict[str, Any]:
    """A9: upload a court document (PDF or image); stored with its SHA-256, never altered."""
    data = await file.read()
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(cases.upload_document, services(request), actor, case_id,
                                   filename=file.filename or "document", data=data, description=description)


@router.get("/documents/{document_id}")
def download_document(document_id: str, request: Request, actor: Actor = Depends(reader)) -> Response:
    meta, data = cases.read_document(services(request), actor, document_id)
    return Response(data, media_type=meta["media_type"], headers={
        "Content-Disposition": f'attachment; filename="{meta["filename"]}"', "X-Content-SHA256": meta["sha256"]})


@router.get("/cases/{case_id}/authorities")
def list_authorities(case_id: str, request: Request, actor: Actor = Depends(reader)) -> list[dict[str, Any]]:
    return authorities.list_authorities(services(request), actor, case_id)


@router.post("/cases/{case_id}/authorities", status_code=201)
def record_authority(case_id: str, data: AuthorityIn, request: Request, actor: Actor = Depends(writer)) -> dict[str, Any]:
    """Record a PRTT order (A1) or an eavesdropping warrant (A2); windows are checked."""
    return authorities.record_authority(services(request), actor, case_id, body(data))


@router.post("/authorities/{authority_id}/extensions", status_code=201)
def extend(authority_id: str, data: ExtensionIn, request: Request, actor: Actor = Depends(writer)) -> dict[str, Any]:
    """A5: an extension with its own findings; A4 authorities are never extended."""
    return authorities.extend_authority(services(request), actor, authority_id, body(data))


@router.post("/authorities/{authority_id}/document")
def attach_document(authority_id: str, data: DocumentAttach, request: Request, actor: Actor = Depends(writer)) -> dict[str, Any]:
    """Attach the court document (the emergency order for A3/A4, before the deadline, B3)."""
    return authorities.attach_document(services(request), actor, authority_id, body(data))


@router.post("/authorities/{authority_id}/terminate")
def terminate(authority_id: str, data: Reason, request: Request, actor: Actor = Depends(operator)) -> dict[str, Any]:
    return authorities.terminate_authority(services(request), actor, authority_id, reason=data.reason)


@router.post("/cases/{case_id}/declarations", status_code=201)
def declare(case_id: str, data: DeclarationIn, request: Request, actor: Actor = Depends(writer)) -> dict[str, Any]:
    """B2: an Exigent Circumstances Declaration with its four findings."""
    return authorities.declare_exigency(services(request), actor, case_id, body(data))


@router.post("/declarations/{declaration_id}/approve")
def approve_declaration(declaration_id: str, request: Request, actor: Actor = Depends(writer)) -> dict[str, Any]:
    return authorities.approve_declaration(services(request), actor, declaration_id)


@router.get("/cases/{case_id}/intercepts")
def list_intercepts(case_id: str, request: Request, actor: Actor = Depends(reader)) -> list[dict[str, Any]]:
    return intercepts.list_intercepts(services(request), actor, case_id)


@router.post("/cases/{case_id}/intercepts", status_code=201)
def create_intercept(case_id: str, data: InterceptIn, request: Request, actor: Actor = Depends(operator)) -> dict[str, Any]:
    return intercepts.create_intercept(services(request), actor, case_id, body(data))


@router.get("/intercepts")
def all_intercepts(request: Request, actor: Actor = Depends(operator)) -> list[dict[str, Any]]:
    return intercepts.list_intercepts(services(request), actor)


@router.get("/intercepts/{intercept_id}")
def get_intercept(intercept_id: str, request: Request, actor: Actor = Depends(reader)) -> dict[str, Any]:
    return intercepts.get_intercept(services(request), actor, intercept_id)


@router.post("/intercepts/{intercept_id}/activate")
def activate(intercept_id: str, request: Request, actor: Actor = Depends(operator)) -> dict[str, Any]:
    """B1/B6: activation by taru with documents and supervisor approval; B4: carrier package."""
    return intercepts.activate(services(request), actor, intercept_id)


@router.post("/intercepts/{intercept_id}/deactivate")
def deactivate(intercept_id: str, data: Reason, request: Request, actor: Actor = Depends(operator)) -> dict[str, Any]:
    return intercepts.deactivate(services(request), actor, intercept_id, reason=data.reason)


@router.get("/intercepts/{intercept_id}/package")
def download_package(intercept_id: str, request: Request, actor: Actor = Depends(operator)) -> Response:
    """B4: the carrier package (zip: manifest.json and the authority document)."""
    name, data = intercepts.package(services(request), actor, intercept_id)
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/intercepts/{intercept_id}/package")
def package_event(intercept_id: str, data: PackageEvent, request: Request, actor: Actor = Depends(operator)) -> dict[str, Any]:
    """B4: record when the package was sent and when the carrier acknowledged it."""
    return intercepts.mark_package(services(request), actor, intercept_id, data.event, data.at)


@router.get("/cases/{case_id}/grants")
def case_grants(case_id: str, request: Request, actor: Actor = Depends(reader)) -> list[dict[str, Any]]:
    return grants.list_grants(services(request), actor, case_id=case_id)


@router.post("/cases/{case_id}/grants", status_code=201)
def create_grant(case_id: str, data: GrantIn, request: Request, actor: Actor = Depends(granter)) -> dict[str, Any]:
    """C2: grant a user the case's data, ending no later than the authority (C6: court order for externals)."""
    return grants.create_grant(services(request), actor, case_id, body(data))


@router.post("/grants/{grant_id}/revoke")
def revoke_grant(grant_id: str, data: Reason, request: Request, actor: Actor = Depends(granter)) -> dict[str, Any]:
    return grants.revoke_grant(services(request), actor, grant_id, reason=data.reason)
