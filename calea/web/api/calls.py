"""/api/v1: calls of a case, pen-register / trap-and-trace events, CSV exports, line sheets.

Every read of intercepted data needs a grant and a stated purpose (C2, C5): the
`X-Calea-Purpose` header or `?purpose=`.  CSV exports stream (`text/csv`); access is
checked and the export audited before the first byte.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from calea.services import calls, line_sheets
from calea.services.context import Actor
from calea.web.auth import current_actor, require_scope, services

router = APIRouter(tags=["calls"])


class LineSheetIn(BaseModel):
    call_id: str | None = Field(None, description="the call the line sheet is about")
    subject: str | None = Field(None, description="another communication (e.g. message:<id>), with `at`")
    at: str | None = None
    synopsis: str
    pertinence: str = Field(description="pertinent, non-pertinent (minimized) or privileged")
    participants: list[str] = []
    language: str = ""


class LineSheetPatch(BaseModel):
    synopsis: str | None = None
    pertinence: str | None = None
    participants: list[str] | None = None
    language: str | None = None


class ReviewIn(BaseModel):
    decision: str = Field(description="sign or return")
    note: str = ""


def reader(actor: Actor = Depends(current_actor)) -> Actor:
    require_scope(actor, "cases:read")
    return actor


def writer(actor: Actor = Depends(current_actor)) -> Actor:
    require_scope(actor, "cases:write")
    return actor


def _csv(name: str, lines: Any) -> StreamingResponse:
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/cases/{case_id}/calls")
def list_calls(case_id: str, request: Request, purpose: str | None = None, since: str | None = None,
               until: str | None = None, direction: str | None = None, outcome: str | None = None,
               limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0),
               actor: Actor = Depends(reader)) -> dict[str, Any]:
    """Calls of the case, newest first: parties (E.164), times, outcome, pen register
    (outgoing) or trap and trace (incoming) (A1).  Grant and purpose (C2, C5)."""
    return calls.list_calls(services(request), actor, case_id, purpose=actor.purpose, since=since,
                            until=until, direction=direction, outcome=outcome, limit=limit, offset=offset)


@router.get("/cases/{case_id}/calls.csv")
def calls_csv(case_id: str, request: Request, purpose: str | None = None, since: str | None = None,
              until: str | None = None, actor: Actor = Depends(reader)) -> StreamingResponse:
    """The case's calls as CSV, oldest first."""
    lines = calls.calls_csv(services(request), actor, case_id, purpose=actor.purpose, since=since,
                            until=until)
    return _csv(f"calls-{case_id}.csv", lines)


@router.get("/cases/{case_id}/pen-register")
def pen_register(case_id: str, request: Request, purpose: str | None = None, since: str | None = None,
                 until: str | None = None, limit: int = Query(500, ge=1, le=5000), offset: int = Query(0, ge=0),
                 actor: Actor = Depends(reader)) -> dict[str, Any]:
    """Call-identifying events in time order (set-up, ringing, answer, redirect, release,
    dialling digits, cell); never post-cut-through digits (A6)."""
    return calls.pen_register_events(services(request), actor, case_id, purpose=actor.purpose,
                                     since=since, until=until, limit=limit, offset=offset)


@router.get("/cases/{case_id}/pen-register.csv")
def pen_register_csv(case_id: str, request: Request, purpose: str | None = None, since: str | None = None,
                     until: str | None = None, actor: Actor = Depends(reader)) -> StreamingResponse:
    lines = calls.events_csv(services(request), actor, case_id, purpose=actor.purpose, since=since,
                             until=until)
    return _csv(f"pen-register-{case_id}.csv", lines)


@router.post("/cases/{case_id}/calls/rebuild")
def rebuild(case_id: str, request: Request, actor: Actor = Depends(writer)) -> dict[str, int]:
    """Rebuild the case's calls from the stored IRI (technical unit)."""
    return calls.rebuild(services(request), actor, case_id)


@router.get("/calls/{call_id}")
def get_call(call_id: str, request: Request, purpose: str | None = None,
             actor: Actor = Depends(reader)) -> dict[str, Any]:
    """One call with its events."""
    return calls.get_call(services(request), actor, call_id, purpose=actor.purpose)


@router.get("/cases/{case_id}/line-sheets")
def list_sheets(case_id: str, request: Request, purpose: str | None = None, call_id: str | None = None,
                actor: Actor = Depends(reader)) -> list[dict[str, Any]]:
    return line_sheets.list_sheets(services(request), actor, case_id, purpose=actor.purpose,
                                   call_id=call_id)


@router.post("/cases/{case_id}/line-sheets", status_code=201)
def create_sheet(case_id: str, data: LineSheetIn, request: Request, purpose: str | None = None,
                 actor: Actor = Depends(writer)) -> dict[str, Any]:
    """A monitor's line sheet (synopsis, pertinence, participants, language).  Only for a
    communication an eavesdropping authority covered (A6)."""
    return line_sheets.create(services(request), actor, case_id, data.model_dump(exclude_none=True),
                              purpose=actor.purpose)


@router.get("/line-sheets/{sheet_id}")
def get_sheet(sheet_id: str, request: Request, purpose: str | None = None,
              actor: Actor = Depends(reader)) -> dict[str, Any]:
    return line_sheets.get(services(request), actor, sheet_id, purpose=actor.purpose)


@router.patch("/line-sheets/{sheet_id}")
def update_sheet(sheet_id: str, data: LineSheetPatch, request: Request, purpose: str | None = None,
                 actor: Actor = Depends(writer)) -> dict[str, Any]:
    """The monitor corrects their line sheet until it is signed."""
    return line_sheets.update_sheet(services(request), actor, sheet_id, data.model_dump(exclude_none=True),
                                    purpose=actor.purpose)


@router.post("/line-sheets/{sheet_id}/review")
def review_sheet(sheet_id: str, data: ReviewIn, request: Request, purpose: str | None = None,
                 actor: Actor = Depends(writer)) -> dict[str, Any]:
    """A supervisor, not the monitor who wrote it, signs the line sheet or returns it; a
    sign-off is a signed event in the case's log (D1) and an audit event (C5)."""
    manager = getattr(request.app.state, "intake", None)
    store_writer = manager.intake.writer if manager is not None else None
    return line_sheets.review(services(request), actor, sheet_id, decision=data.decision, note=data.note,
                              purpose=actor.purpose, writer=store_writer)


@router.get("/cases/{case_id}/line-sheets.pdf")
def line_sheets_pdf(case_id: str, request: Request, purpose: str | None = None, day: str | None = None,
                    authority_id: str | None = None, actor: Actor = Depends(reader)) -> Response:
    """The line sheets of one UTC day (`?day=YYYY-MM-DD`) or of an authority's period
    (`?authority_id=`) as a PDF."""
    name, data = line_sheets.export_pdf(services(request), actor, case_id, purpose=actor.purpose,
                                        day=day, authority_id=authority_id)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
