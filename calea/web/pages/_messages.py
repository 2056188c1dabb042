"""SMS, SIP MESSAGE and MMS threads of a case, one per counter-party (rules A1, A2, A6, C1, C2, C5).

    GET /cases/{case_id}/messages?purpose=&intercept_id=&counterparty=

Read through `calea.services.messages`, as the JSON API reads them, each read audited with
its purpose.  Addressing is call-identifying (A1) and always shown; bodies and MMS parts
are content: shown inline (text) or as thumbnails and links to the part through the API
(`/api/v1/cases/{case_id}/messages/{id}/parts/{part}?purpose=`) for readers of content,
and never under a PRTT order -- the page then says "content not authorized (PRTT)" (A6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from calea.domain.access import Perm, has_perm
from calea.errors import CaleaError, InvalidInput, NotFound
from calea.services import authorities, messages
from calea.services.context import Actor
from calea.services.dataread import REVIEWERS
from calea.web.auth import services
from calea.web.pages._common import Signed, record_refusal, render, text
from calea.web.pages._content import ask_purpose, chosen_intercept, content_case, intercept_choices, stated_purpose

router = APIRouter()

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp")


@router.get("/cases/{case_id}/messages", response_class=HTMLResponse)
def messages_page(case_id: str, request: Request, actor: Actor = Signed) -> Response:
    case = content_case(request, actor, case_id)
    q = request.query_params
    filters = {k: text(q, k) for k in ("intercept_id", "counterparty")}
    purpose = stated_purpose(request)
    if not purpose:
        return ask_purpose(request, case, "messages", keep=filters)
    svc = services(request)
    choices = intercept_choices(request, actor, case_id)
    auths = authorities.list_authorities(svc, actor, case_id)
    error: CaleaError | None = None
    threads: list[dict[str, Any]] = []
    shown: list[dict[str, Any]] = []
    try:
        intercept_id = chosen_intercept(q, choices)
        liid = next((i["liid"] for i in choices if i["id"] == intercept_id), None)
        threads = messages.threads(svc, actor, case_id, purpose=purpose)["threads"]
        if liid is not None:
            threads = [t for t in threads if liid in t["liids"]]
        counterparty = filters["counterparty"] or None
        if counterparty is not None and counterparty not in {t["counterparty"] for t in threads}:
            raise NotFound("no thread with this counter-party")
        if counterparty is None and threads:
            counterparty = threads[0]["counterparty"]
        if counterparty is not None:
            got = messages.thread(svc, actor, case_id, counterparty, purpose=purpose)["messages"]
            shown = [view(m, auths, actor) for m in got if intercept_id is None or m["intercept_id"] == intercept_id]
        filters["counterparty"] = counterparty or ""
    except (InvalidInput, NotFound) as exc:
        record_refusal(request, exc)
        error = exc
    prtt_only = bool(auths) and not any(a["allows_content"] for a in auths)
    return render(request, "content/messages.html", status=error.status if error else 200, error=error, case=case,
                  section="messages", purpose=purpose, filters=filters, intercepts=choices, threads=threads,
                  messages=shown, prtt_only=prtt_only, reads_content=reads_content(actor))


def reads_content(actor: Actor) -> bool:
    """C1: taru and the auditor review addressing (and quarantined data), not content."""
    return has_perm(actor.role, Perm.READ_CONTENT) and actor.role not in REVIEWERS


def content_at(auths: list[dict[str, Any]], at: datetime) -> bool:
    """A2 / A6: an eavesdropping authority of the case in force at the message's time."""
    return any(a["allows_content"] and a["effective_at"] <= at < a["ends_at"] for a in auths)


def view(m: dict[str, Any], auths: list[dict[str, Any]], actor: Actor) -> dict[str, Any]:
    """A message with the state of its content: `prtt` (none under a PRTT order, A6),
    `withheld` (a role that reads no content, C1), `none` (nothing was kept) or `shown`."""
    parts = m["parts"]
    if m["content_suppressed"] or (not parts and not content_at(auths, m["at"])):
        state = "prtt"
    elif not parts:
        state = "none"
    elif not reads_content(actor) and not m["quarantined"]:
        state = "withheld"
    else:
        state = "shown"
    for p in parts:
        kind = p["media_type"].split(";")[0].strip().lower()
        p["image"] = kind in IMAGE_TYPES
        p["is_text"] = kind == "text/plain"
        p["smil"] = kind == "application/smil"
    parties = m["parties"] or {}
    return {**m, "state": state, "from": parties.get("from") or [], "to": parties.get("to") or [],
            "cc": parties.get("cc") or [], "bcc": parties.get("bcc") or []}
