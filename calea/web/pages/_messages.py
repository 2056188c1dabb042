"""SMS, SIP MESSAGE and MMS threads of a case, one per counter-party (rules A1, A2, A6, C1, C2, C5).

    GET /cases/{case_id}/messages?purpose=&intercept_id=&counterparty=&page=&threads_page=
    GET /cases/{case_id}/messages.csv?purpose=&intercept_id=&counterparty=

Read through `calea.services.messages`, as the JSON API reads them, each read audited with
its purpose.  Addressing is call-identifying (A1) and always shown; bodies and MMS parts
are content: shown inline (text) or as thumbnails and links to the part through the API
(`/api/v1/cases/{case_id}/messages/{id}/parts/{part}?purpose=`) for readers of content,
and never under a PRTT order -- the page then says "content not authorized (PRTT)" (A6).

The threads come `THREADS_PAGE_SIZE` a page (`threads_page`), the most recent first, and
the messages of the chosen thread `PAGE_SIZE` a page, oldest first, both paged in the
database with their totals; the pagers' links keep the filters, the purpose and each other.  The CSV
holds every message that matches (the thread, or with `counterparty` empty the whole case),
its export audited with the purpose like the calls CSV.
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
from calea.web.pages._content import (
    Download, ask_purpose, chosen_intercept, content_case, download, intercept_choices, page_count, requested_page,
    purpose_link, stated_purpose,
)

router = APIRouter()

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp")
PAGE_SIZE = 100
THREADS_PAGE_SIZE = 100
FILTERS = ("intercept_id", "counterparty")
_SHOWN = (InvalidInput, NotFound)  # refusals shown on the page; C2 goes to the error page


@router.get("/cases/{case_id}/messages", response_class=HTMLResponse)
def messages_page(case_id: str, request: Request, actor: Actor = Signed) -> Response:
    return messages_view(request, actor, case_id)


@router.get("/cases/{case_id}/messages.csv", response_model=None)
def messages_csv(case_id: str, request: Request, actor: Actor = Signed) -> Response:
    """Every message matching the page's filters as CSV: the export is audited with the
    purpose before the first line (C5); a refusal comes back on the messages page."""
    q = request.query_params

    def fetch(purpose: str) -> Download:
        intercept_id = chosen_intercept(q, intercept_choices(request, actor, case_id))
        lines = messages.messages_csv(services(request), actor, case_id, text(q, "counterparty") or None,
                                      purpose=purpose, intercept_id=intercept_id)
        return lines, "text/csv; charset=utf-8", f"messages-{case_id}.csv"

    return download(request, actor, case_id, fetch, lambda exc: messages_view(request, actor, case_id, error=exc), _SHOWN)


def messages_view(request: Request, actor: Actor, case_id: str, *, error: CaleaError | None = None) -> Response:
    case = content_case(request, actor, case_id)
    q = request.query_params
    filters = {k: text(q, k) for k in FILTERS}
    purpose = stated_purpose(request)
    if not purpose:
        return ask_purpose(request, case, "messages", keep=filters)
    svc = services(request)
    choices = intercept_choices(request, actor, case_id)
    auths = authorities.list_authorities(svc, actor, case_id)
    threads: list[dict[str, Any]] = []
    shown: list[dict[str, Any]] = []
    page, total = requested_page(q), 0
    threads_page, threads_total, case_messages = requested_page(q, "threads_page"), 0, 0
    try:
        intercept_id = chosen_intercept(q, choices)
        listed = messages.threads(svc, actor, case_id, purpose=purpose, intercept_id=intercept_id, limit=THREADS_PAGE_SIZE,
                                  offset=(threads_page - 1) * THREADS_PAGE_SIZE, clamp=True)
        threads, threads_total, case_messages = listed["threads"], listed["total"], listed["messages"]
        threads_page = listed["offset"] // THREADS_PAGE_SIZE + 1
        counterparty = filters["counterparty"] or None
        if counterparty is None and threads:
            counterparty = threads[0]["counterparty"]
        if counterparty is not None:
            got = messages.thread(svc, actor, case_id, counterparty, purpose=purpose, intercept_id=intercept_id,
                                  limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, clamp=True)
            if not got["total"]:  # (a thread is its messages: none the reader may see, no thread)
                raise NotFound("no thread with this counter-party")
            shown = [view(m, auths, actor) for m in got["messages"]]
            total, page = got["total"], got["offset"] // PAGE_SIZE + 1
        filters["counterparty"] = counterparty or ""
    except _SHOWN as exc:
        if error is None:
            record_refusal(request, exc)
            error = exc
        page = 1
    prtt_only = bool(auths) and not any(a["allows_content"] for a in auths)
    return render(request, "content/messages.html", status=error.status if error else 200, error=error, case=case,
                  section="messages", purpose=purpose_link(request), purpose_text=purpose, filters=filters, intercepts=choices, threads=threads,
                  messages=shown, prtt_only=prtt_only, reads_content=reads_content(actor), total=total, page=page,
                  pages=page_count(total, PAGE_SIZE), page_size=PAGE_SIZE, threads_total=threads_total,
                  threads_page=threads_page, threads_pages=page_count(threads_total, THREADS_PAGE_SIZE),
                  case_messages=case_messages)


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
