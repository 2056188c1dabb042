"""/api/v1: IP traffic (pcap / pcapng, flows, web visitors) and message threads of a case.

Every read of intercepted data states its purpose (`X-Calea-Purpose` header or
`?purpose=`) and needs a grant (C2, C5); the rules are in `calea.services.traffic` and
`calea.services.messages`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from calea.services import messages, traffic
from calea.services.context import Actor
from calea.web.auth import current_actor, require_scope, services

router = APIRouter(tags=["traffic"])


def reader(request: Request, actor: Actor = Depends(current_actor)) -> Actor:
    require_scope(actor, "cases:read")
    return actor


@router.get("/cases/{case_id}/traffic/pcap")
def download_pcap(case_id: str, request: Request, intercept_id: str | None = None, start: str | None = None,
                  end: str | None = None, format: str = Query("pcap", pattern="^(pcap|pcapng)$"),
                  purpose: str | None = None, actor: Actor = Depends(reader)) -> StreamingResponse:
    """The kept IP packets (A2) of the case or one intercept in [start, end), streamed as
    pcap or pcapng (LINKTYPE_RAW, interception-time stamps).  Refused under PRTT (A6)."""
    dl = traffic.pcap(services(request), actor, case_id, purpose=actor.purpose, intercept_id=intercept_id,
                      start=traffic.parse_time(start, "start"), end=traffic.parse_time(end, "end"), fmt=format)
    return StreamingResponse(dl.chunks, media_type=dl.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{dl.filename}"'})


@router.get("/cases/{case_id}/traffic/flows")
def list_flows(case_id: str, request: Request, intercept_id: str | None = None, start: str | None = None,
               end: str | None = None, limit: int = Query(500, ge=1, le=5000), offset: int = Query(0, ge=0),
               purpose: str | None = None, actor: Actor = Depends(reader)) -> dict[str, Any]:
    """Flow summaries, oldest first, `limit` from `offset` with the `total`: 5-tuple, times,
    packets and bytes each way; DNS names, TLS SNI and HTTP Host where the payload was kept
    (A2) and the caller reads content."""
    return traffic.flows(services(request), actor, case_id, purpose=actor.purpose, intercept_id=intercept_id,
                         start=traffic.parse_time(start, "start"), end=traffic.parse_time(end, "end"), limit=limit,
                         offset=offset)


@router.get("/cases/{case_id}/traffic/web-visitors", response_model=None)
def web_visitors(case_id: str, request: Request, url: str, start: str | None = None, end: str | None = None,
                 format: str = Query("json", pattern="^(json|csv)$"), purpose: str | None = None,
                 actor: Actor = Depends(reader)) -> Any:
    """A1: every address that visited the queried web address `url` (named by an
    authority of the case), first / last seen, visits, covering authority.  JSON or CSV."""
    report = traffic.web_visitors(services(request), actor, case_id, url, purpose=actor.purpose,
                                  start=traffic.parse_time(start, "start"), end=traffic.parse_time(end, "end"))
    if format == "csv":
        return Response(traffic.visitors_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="web-visitors.csv"'})
    return report


@router.get("/cases/{case_id}/traffic/web-addresses")
def list_web_addresses(case_id: str, request: Request, actor: Actor = Depends(reader)) -> list[dict[str, Any]]:
    """Server addresses configured for queried hosts (used where no DNS is kept, A6)."""
    return traffic.list_web_addresses(services(request), actor, case_id)


@router.post("/cases/{case_id}/traffic/web-addresses", status_code=201)
def add_web_address(case_id: str, request: Request, body: dict[str, str], actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """taru: configure `{"url" or "host", "address", "note"}`."""
    return traffic.add_web_address(services(request), actor, case_id, body)


@router.post("/traffic/web-addresses/{address_id}/remove")
def remove_web_address(address_id: str, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    return traffic.remove_web_address(services(request), actor, address_id)


@router.get("/cases/{case_id}/messages/threads")
def message_threads(case_id: str, request: Request, purpose: str | None = None,
                    limit: int = Query(500, ge=1, le=5000), offset: int = Query(0, ge=0),
                    actor: Actor = Depends(reader)) -> dict[str, Any]:
    """SMS, SIP MESSAGE and MMS threads, one per counterparty (addressing, A1), the most
    recent first, `limit` from `offset` with the `total` of threads and of `messages`."""
    return messages.threads(services(request), actor, case_id, purpose=actor.purpose, limit=limit,
                            offset=offset)


@router.get("/cases/{case_id}/messages")
def list_messages(case_id: str, request: Request, counterparty: str | None = None,
                  limit: int = Query(500, ge=1, le=5000), offset: int = Query(0, ge=0), purpose: str | None = None,
                  actor: Actor = Depends(reader)) -> dict[str, Any]:
    """The messages of a thread (`counterparty`) or of the case, oldest first, `limit` from
    `offset` with the `total`, with their parts; bodies only where kept (A2) and for
    readers of content; suppressed under PRTT (A6)."""
    return messages.thread(services(request), actor, case_id, counterparty, purpose=actor.purpose,
                           limit=limit, offset=offset)


@router.get("/cases/{case_id}/messages/{message_id}/parts/{part_id}")
def message_part(case_id: str, message_id: int, part_id: int, request: Request, purpose: str | None = None,
                 actor: Actor = Depends(reader)) -> Response:
    """One part (SMS text, MMS image / audio / video / vCard / SMIL) with its media type."""
    meta, data = messages.part(services(request), actor, case_id, message_id, part_id,
                               purpose=actor.purpose)
    name = (meta["name"] or f"part-{part_id}").replace('"', "")
    return Response(data, media_type=meta["media_type"], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": meta["sha256"]})
