"""The calls of a case (or of one of its intercepts) and the page of one call, with its
events, its line sheet and the player of its recording (rules A1, A2, A6, B3, C2, C5).

    GET /cases/{case_id}/calls?purpose=&intercept_id=&since=&until=&direction=&outcome=&party=&page=
    GET /cases/{case_id}/calls/{call_id}?purpose=

Reads go through the services of the JSON API (`calls`, `line_sheets`, and
`call_review` for what the pages add: filters by intercept and party, each call's state,
a call's recordings and minimization record), each audited with the stated purpose.  The
player (`/static/player.js`) plays the recording's Opus rendition from the recordings API
and draws its waveform from the peaks file; both URLs carry the purpose too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from calea.errors import AccessDenied, CaleaError, InvalidInput, NotFound
from calea.services import call_review, calls, line_sheets
from calea.services.context import Actor
from calea.sessions.call_model import DIRECTIONS, OUTCOMES
from calea.web.auth import services
from calea.web.pages._common import Signed, record_refusal, render, text
from calea.web.pages._content import (
    ask_purpose, chosen_intercept, content_case, intercept_choices, iso, page_count, requested_page, purpose_link, stated_purpose, when,
)

router = APIRouter()

PAGE_SIZE = 50
FILTERS = ("intercept_id", "since", "until", "direction", "outcome", "party")
PRIVILEGE_NEAR_MS = 1500  # a privileged flag this close to a minimized interval's start shades that interval


@router.get("/cases/{case_id}/calls", response_class=HTMLResponse)
def calls_page(case_id: str, request: Request, actor: Actor = Signed) -> Response:
    case = content_case(request, actor, case_id)
    q = request.query_params
    filters = {k: text(q, k) for k in FILTERS}
    purpose = stated_purpose(request)
    if not purpose:
        return ask_purpose(request, case, "calls", keep=filters)
    svc = services(request)
    choices = intercept_choices(request, actor, case_id)
    page = requested_page(q)
    error: CaleaError | None = None
    found: dict[str, Any] = {"calls": [], "total": 0}
    since = until = None
    try:
        if filters["direction"] and filters["direction"] not in DIRECTIONS:
            raise InvalidInput(f"direction is one of {', '.join(DIRECTIONS)}", field="direction")
        if filters["outcome"] and filters["outcome"] not in OUTCOMES:
            raise InvalidInput(f"outcome is one of {', '.join(OUTCOMES)}", field="outcome")
        since, until = when(q, "since"), when(q, "until")
        found = call_review.search_calls(
            svc, actor, case_id, purpose=purpose, intercept_id=chosen_intercept(q, choices), since=since, until=until,
            direction=filters["direction"] or None, outcome=filters["outcome"] or None, party=filters["party"] or None,
            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    except (InvalidInput, NotFound) as exc:
        record_refusal(request, exc)
        error = exc
    liids = {i["id"]: i["liid"] for i in choices}
    pages = page_count(found["total"], PAGE_SIZE)
    return render(request, "content/calls.html", status=error.status if error else 200, error=error, case=case,
                  section="calls", purpose=purpose_link(request), purpose_text=purpose, filters=filters, intercepts=choices, liids=liids,
                  calls=found["calls"], total=found["total"], page=page, pages=pages, page_size=PAGE_SIZE,
                  directions=DIRECTIONS, outcomes=OUTCOMES, export={"since": iso(since), "until": iso(until)})


@router.get("/cases/{case_id}/calls/{call_id}", response_class=HTMLResponse)
def call_page(case_id: str, call_id: str, request: Request, actor: Actor = Signed) -> Response:
    case = content_case(request, actor, case_id)
    purpose = stated_purpose(request)
    if not purpose:
        return ask_purpose(request, case, "calls", heading="Call")
    svc = services(request)
    call = calls.get_call(svc, actor, call_id, purpose=purpose)
    if call["case_id"] != case_id:
        raise NotFound("no such call in this case")
    media = call_review.call_media(svc, actor, call_id, purpose=purpose)
    sheets: list[dict[str, Any]] | None
    sheets_refused: CaleaError | None = None
    try:
        sheets = line_sheets.list_sheets(svc, actor, case_id, purpose=purpose, call_id=call_id)
    except AccessDenied as exc:  # C1: a role that reads no content has no line sheet to read
        sheets, sheets_refused = None, exc
    players = [player(case_id, r, media["minimization"], purpose_link(request)) for r in media["recordings"]]
    start = call["started_at"]
    call["quarantined"] = media["quarantined"]  # B3: the call's own flag, or its intercept's
    for e in call["events"]:
        e["offset"] = (e["at"] - start).total_seconds()
    return render(request, "content/call.html", case=case, section="calls", purpose=purpose_link(request), purpose_text=purpose, call=call,
                  players=players, minimization=media["minimization"], content_authorised=media["content_authorised"],
                  sheets=sheets, sheets_refused=sheets_refused, liid=call["liid"])


def player(case_id: str, rec: dict[str, Any], flags: list[dict[str, Any]], purpose: str) -> dict[str, Any]:
    """What the player of one recording needs: its file URLs (with the purpose, C5) and its
    markers in milliseconds from the recording's start -- minimized intervals (A2), the
    privileged flags with the span they silenced, DTMF digits."""
    markers = rec["markers"] or {}
    duration = int(rec["duration_ms"])
    minimized = [{"start_ms": int(m["start_ms"]), "end_ms": int(m["end_ms"])} for m in markers.get("minimized", [])]
    privileged = []
    for f in flags:
        if f["action"] != "privileged":
            continue
        at_ms = offset_ms(f["at"], rec["started_at"])
        if at_ms > duration:
            continue
        start = max(0, at_ms)
        end = next((m["end_ms"] for m in minimized
                    if m["start_ms"] - PRIVILEGE_NEAR_MS <= start < m["end_ms"]), duration)
        privileged.append({"start_ms": start, "end_ms": max(start, end), "category": f["category"] or "",
                           "by": f["username"], "at": iso(f["at"])})
    digits = [{"offset_ms": int(d["offset_ms"]), "digit": d["digit"], "channel": d.get("channel") or ""}
              for d in markers.get("digits", [])]
    base = f"/api/v1/cases/{case_id}/recordings/{rec['id']}"
    return {"recording": rec, "duration_ms": duration, "minimized": minimized, "privileged": privileged, "digits": digits,
            "streams": markers.get("streams", []), "base": base,
            "markers": {"minimized": minimized, "privileged": privileged, "digits": digits}}


def offset_ms(at: datetime, started_at: datetime) -> int:
    return round((at - started_at).total_seconds() * 1000)
