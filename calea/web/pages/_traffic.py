"""IP traffic of a case: flow summaries, the pcap / pcapng download and the web-visitor
report (rules A1, A2, A6, C2, C5).

    GET /cases/{case_id}/traffic?purpose=&intercept_id=&start=&end=&page=&url=&vstart=&vend=
    GET /cases/{case_id}/traffic/pcap?purpose=&intercept_id=&start=&end=&format=
    GET /cases/{case_id}/traffic/flows.csv?purpose=&intercept_id=&start=&end=

Everything is read through `calea.services.traffic`, as the JSON API reads it, each read
audited with its purpose.  The forms take UTC times (`datetime-local`).  A refused download
(no packets are kept under a PRTT order, A6) or report (the web address is named by no
authority of the case, A1) comes back on the traffic page with its rule id.

The flows come `FLOW_PAGE_SIZE` a page, oldest first, paged in the database with their
total; the pager's links keep the flow filters (intercept, time range) and the purpose.
The flows CSV holds every flow that matches, its export audited with the purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from calea.errors import CaleaError, InvalidInput, NotFound, RuleViolation
from calea.services import authorities, traffic
from calea.services.context import Actor
from calea.web.auth import services
from calea.web.pages._common import Signed, record_refusal, render, text
from calea.web.pages._content import (
    Download, ask_purpose, chosen_intercept, content_case, download, intercept_choices, iso, page_count, requested_page,
    purpose_link, stated_purpose, when,
)

router = APIRouter()

FLOW_PAGE_SIZE = 100
FORMATS = ("pcap", "pcapng")
PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", 132: "SCTP"}
FIELDS = ("intercept_id", "start", "end", "url", "vstart", "vend", "format")
_SHOWN = (InvalidInput, NotFound, RuleViolation)  # refusals shown on the page; C2 goes to the error page


@router.get("/cases/{case_id}/traffic", response_class=HTMLResponse)
def traffic_page(case_id: str, request: Request, actor: Actor = Signed) -> Response:
    return traffic_view(request, actor, case_id)


@router.get("/cases/{case_id}/traffic/pcap", response_model=None)
def pcap_download(case_id: str, request: Request, actor: Actor = Signed) -> Response:
    """The packet download form's target: the file, or the traffic page with the refusal."""
    q = request.query_params

    def fetch(purpose: str) -> Download:
        fmt = text(q, "format") or "pcap"
        if fmt not in FORMATS:
            raise InvalidInput("format: pcap or pcapng", field="format")
        choices = intercept_choices(request, actor, case_id)
        dl = traffic.pcap(services(request), actor, case_id, purpose=purpose, intercept_id=chosen_intercept(q, choices),
                          start=when(q, "start"), end=when(q, "end"), fmt=fmt)
        return dl.chunks, dl.media_type, dl.filename

    return download(request, actor, case_id, fetch, _back(request, actor, case_id, "pcap"), _SHOWN)


@router.get("/cases/{case_id}/traffic/flows.csv", response_model=None)
def flows_csv(case_id: str, request: Request, actor: Actor = Signed) -> Response:
    """Every flow matching the flow filters as CSV: the export is audited with the purpose
    before the first line (C5); a refusal comes back on the traffic page."""
    q = request.query_params

    def fetch(purpose: str) -> Download:
        choices = intercept_choices(request, actor, case_id)
        lines = traffic.flows_csv(services(request), actor, case_id, purpose=purpose,
                                  intercept_id=chosen_intercept(q, choices), start=when(q, "start"), end=when(q, "end"))
        return lines, "text/csv; charset=utf-8", f"flows-{case_id}.csv"

    return download(request, actor, case_id, fetch, _back(request, actor, case_id, "flows"), _SHOWN)


def _back(request: Request, actor: Actor, case_id: str, form: str) -> Callable[[CaleaError | None], Response]:
    """The traffic page a download falls back to: with the refusal, its form open."""
    return lambda exc: traffic_view(request, actor, case_id, error=exc, open_form=form if exc else None)


def traffic_view(request: Request, actor: Actor, case_id: str, *, error: CaleaError | None = None,
                 open_form: str | None = None) -> Response:
    case = content_case(request, actor, case_id)
    q = request.query_params
    form = {k: text(q, k) for k in FIELDS}
    purpose = stated_purpose(request)
    if not purpose:
        return ask_purpose(request, case, "traffic", keep={k: form[k] for k in ("intercept_id", "start", "end")})
    svc = services(request)
    choices = intercept_choices(request, actor, case_id)
    auths = authorities.list_authorities(svc, actor, case_id)
    flows: dict[str, Any] = {"flows": [], "total": 0, "offset": 0}
    report: dict[str, Any] | None = None
    page = requested_page(q)
    try:
        flows = traffic.flows(svc, actor, case_id, purpose=purpose, intercept_id=chosen_intercept(q, choices),
                              start=when(q, "start"), end=when(q, "end"), limit=FLOW_PAGE_SIZE,
                              offset=(page - 1) * FLOW_PAGE_SIZE, clamp=True)
    except _SHOWN as exc:
        if error is None:
            record_refusal(request, exc)
            error, open_form = exc, "flows"
    if form["url"] and open_form != "pcap":
        try:
            report = traffic.web_visitors(svc, actor, case_id, form["url"], purpose=purpose,
                                          start=when(q, "vstart"), end=when(q, "vend"))
        except _SHOWN as exc:
            if error is None:
                record_refusal(request, exc)
                error, open_form = exc, "visitors"
    page = flows["offset"] // FLOW_PAGE_SIZE + 1
    urls = sorted({i["value"] for a in auths for i in a["identifiers"] if i["kind"] == "url"})
    csv_link = None
    if report is not None:
        csv_link = {"url": report["url"], "start": iso(when(q, "vstart")), "end": iso(when(q, "vend"))}
    return render(request, "content/traffic.html", status=error.status if error else 200, error=error,
                  open_form=open_form, case=case, section="traffic", purpose=purpose_link(request), purpose_text=purpose, form=form, intercepts=choices,
                  flows=flows, report=report, csv_link=csv_link, web_urls=urls, protocols=PROTOCOLS,
                  formats=FORMATS, page=page, pages=page_count(flows["total"], FLOW_PAGE_SIZE),
                  page_size=FLOW_PAGE_SIZE, flow_filters={k: form[k] for k in ("intercept_id", "start", "end")},
                  content_any=any(a["allows_content"] for a in auths))
