"""IP traffic of a case: pcap / pcapng downloads, flow summaries, web-visitor reports, and
the web addresses the technical unit configures for them (rules A1, A2, A6, C2, C5, B3).

Every read is audited with its stated purpose (C5) inside the transaction that checks
the caller's grant (C2); quarantined data follows `calea.services.dataread` (B3).
* pcap: content (A2) -- only packets an eavesdropping authority let the store keep.
  Under a PRTT order there are none (A6): the request is refused naming A6.
* flows: addressing (A1) from kept packets and from header records; the names read from
  payloads (DNS, SNI, Host) are content and shown only to readers of content.  Read a page
  at a time (offset / limit and the total, in the database) or all of them as CSV.
* web visitors: who visited a web address an authority of the case names (A1).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, or_, select, update

from calea.db.schema import authorities, intercepts, iri_records
from calea.db.schema_ip import ip_flows, web_addresses
from calea.domain.access import Role
from calea.errors import AccessDenied, InvalidInput, NotFound, RuleViolation
from calea.services.access import check_case_access
from calea.services.context import Actor, Services
from calea.services.dataread import REVIEWERS, Scope, read_scope, visible_where
from calea.services.listing import csv_line, keyset_batches, page_offset
from calea.services.rows import authority_from
from calea.services.traffic_index import catch_up
from calea.services.traffic_source import packet_chunks, stored_packets
from calea.sessions.ccpackets import HEADER_EVENT
from calea.sessions.flows import resolutions
from calea.sessions.pcap import write_pcap, write_pcapng
from calea.sessions.visitors import Visit, covering, resolve, visitors, web_address
from calea.store.segments import SegmentFiles

MEDIA_TYPES = {"pcap": "application/vnd.tcpdump.pcap", "pcapng": "application/x-pcapng"}
_PAYLOAD_NAMES = ("dns_queries", "dns_answers", "sni", "http_host")
FLOW_CSV = ("flow_id", "liid", "source", "protocol", "client", "client_port", "server", "server_port", "target_side",
            "first_at", "last_at", "packets_up", "bytes_up", "packets_down", "bytes_down", "dns_queries", "dns_answers",
            "sni", "http_host", "quarantined")


@dataclass
class Download:
    filename: str
    media_type: str
    chunks: Iterator[bytes]


def parse_time(value: str | None, name: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name}: not an ISO 8601 time", field=name) from None
    if stamp.tzinfo is None:
        raise InvalidInput(f"{name}: give a time zone (e.g. 2026-01-05T09:00:00Z)", field=name)
    return stamp


def _intercept(conn: Any, case_id: str, intercept_id: str | None) -> Any:
    if intercept_id is None:
        return None
    row = conn.execute(select(intercepts.c.id, intercepts.c.liid).where(
        intercepts.c.id == intercept_id, intercepts.c.case_id == case_id)).first()
    if row is None:
        raise NotFound("no such intercept in this case")
    return row


def pcap(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, intercept_id: str | None = None,
         start: datetime | None = None, end: datetime | None = None, fmt: str = "pcap") -> Download:
    """The kept IP packets of a case (or one intercept) in a time range, as pcap or pcapng,
    streamed; each packet stamped with its interception time (A8)."""
    if fmt not in MEDIA_TYPES:
        raise InvalidInput("format: pcap or pcapng", field="format")
    files = SegmentFiles(svc.settings.home / "segments")
    with svc.db.write() as conn:
        scope = read_scope(conn, svc, actor, case_id, purpose, content=True)
        icpt = _intercept(conn, case_id, intercept_id)
        found = packet_chunks(conn, case_id, intercept_ids=[icpt.id] if icpt else None, start=start, end=end)
        rows = [r for r in found if scope.visible(r.intercept_id, r.quarantined)]
        if found and not rows and scope.quarantine == "only":
            raise AccessDenied("content is read under a grant; the technical unit and the auditor read only "
                               "quarantined content (B3)", rule="C2")
        if not rows:
            q = select(func.count()).select_from(iri_records).where(iri_records.c.case_id == case_id,
                                                                    iri_records.c.event == HEADER_EVENT)
            if icpt is not None:
                q = q.where(iri_records.c.intercept_id == icpt.id)
            if conn.execute(q).scalar():
                raise RuleViolation("no packets are kept under a PRTT order, only their headers: see the flows",
                                    rule="A6")
            raise NotFound("no stored packets for this intercept and time range")
        svc.audit(conn, actor, "traffic.pcap", case_id=case_id, object_type=fmt,
                  object_id=f"{icpt.liid if icpt else 'all'} {start.isoformat() if start else '-'}..{end.isoformat() if end else '-'}",
                  purpose=purpose)
    liids = sorted({r.liid for r in rows})
    packets = stored_packets(files, rows, start=start, end=end)
    chunks = write_pcapng(packets, liids) if fmt == "pcapng" else write_pcap(packets)
    name = f"{(icpt.liid if icpt else case_id)}.{fmt}"
    return Download(name, MEDIA_TYPES[fmt], chunks)


def _flow_dict(r: Any, names: bool) -> dict[str, Any]:
    out = {k: r[k] for k in ("id", "intercept_id", "liid", "source", "protocol", "client", "client_port", "server",
                             "server_port", "target_side", "first_at", "last_at", "packets_up", "bytes_up",
                             "packets_down", "bytes_down", "quarantined")}
    for k in _PAYLOAD_NAMES:
        out[k] = r[k] if names else None
    return out


def _names_visible(actor: Actor, scope: Scope, r: Any) -> bool:
    """DNS / SNI / Host are read from payloads: content (A2), shown to readers of content
    only; the technical unit and the auditor see them on quarantined data (C1, B3)."""
    return actor.role not in REVIEWERS or bool(r["quarantined"]) or r["intercept_id"] in scope.quarantined_intercepts


def _flow_row(f: dict[str, Any]) -> list[Any]:
    """A flow as a CSV row: DNS queries space-separated, answers `name type value; ...`;
    the names empty where they are withheld (None) or were never read (header records)."""
    queries = " ".join(f["dns_queries"]) if f["dns_queries"] else None
    answers = "; ".join(" ".join(str(x) for x in a) for a in f["dns_answers"]) if f["dns_answers"] else None
    return [f["id"], f["liid"], f["source"], f["protocol"], f["client"], f["client_port"], f["server"],
            f["server_port"], f["target_side"], f["first_at"], f["last_at"], f["packets_up"], f["bytes_up"],
            f["packets_down"], f["bytes_down"], queries, answers, f["sni"], f["http_host"], bool(f["quarantined"])]


def _flows_query(scope: Scope, case_id: str, icpt: Any, start: datetime | None, end: datetime | None) -> Select[Any]:
    q = select(ip_flows).where(ip_flows.c.case_id == case_id, visible_where(scope, ip_flows))
    if icpt is not None:
        q = q.where(ip_flows.c.intercept_id == icpt.id)
    if start is not None:
        q = q.where(ip_flows.c.last_at >= start)
    if end is not None:
        q = q.where(ip_flows.c.first_at < end)
    return q


def _flow_filters(icpt: Any, start: datetime | None, end: datetime | None) -> str:
    return (f"{icpt.liid if icpt else 'all'} {start.isoformat() if start else '-'}.."
            f"{end.isoformat() if end else '-'}")


def flows(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, intercept_id: str | None = None,
          start: datetime | None = None, end: datetime | None = None, limit: int = 500, offset: int = 0,
          clamp: bool = False) -> dict[str, Any]:
    """Flows oldest first, `limit` from `offset`, with the `total` matching the filters
    (counted and paged in the database); `truncated` when more follow this page."""
    catch_up(svc)
    limit = max(1, min(limit, 5000))
    with svc.db.write() as conn:
        scope = read_scope(conn, svc, actor, case_id, purpose, content=False)
        icpt = _intercept(conn, case_id, intercept_id)
        q = _flows_query(scope, case_id, icpt, start, end)
        total = int(conn.execute(select(func.count()).select_from(q.subquery())).scalar() or 0)
        offset = page_offset(offset, limit, total, clamp)
        found = conn.execute(q.order_by(ip_flows.c.first_at, ip_flows.c.id)
                             .limit(limit).offset(offset)).mappings().all()
        # B3 once more on the rows read (the WHERE clause says the same): a page never shows more
        rows = [r for r in found if scope.visible(r["intercept_id"], r["quarantined"])]
        svc.audit(conn, actor, "traffic.flows", case_id=case_id, object_type="ip_flows", object_id=f"{len(rows)} flows",
                  purpose=purpose, detail=f"{offset + 1 if rows else 0}-{offset + len(rows)} of {total}; "
                                          f"{_flow_filters(icpt, start, end)}")
    return {"flows": [_flow_dict(r, _names_visible(actor, scope, r)) for r in rows],
            "total": total, "offset": offset, "limit": limit, "truncated": offset + len(found) < total}


def flows_csv(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, intercept_id: str | None = None,
              start: datetime | None = None, end: datetime | None = None) -> Iterator[str]:
    """Every flow matching the filters as CSV (RFC 4180), oldest first.  Access is checked
    and the export audited with its purpose before the first line; the rows are then read
    a batch at a time.  DNS / SNI / Host only for readers of content, as on the page."""
    catch_up(svc)
    with svc.db.write() as conn:
        scope = read_scope(conn, svc, actor, case_id, purpose, content=False)
        icpt = _intercept(conn, case_id, intercept_id)
        svc.audit(conn, actor, "traffic.flows_export_csv", case_id=case_id, object_type="ip_flows",
                  object_id=icpt.liid if icpt else "all", purpose=purpose, detail=_flow_filters(icpt, start, end))
    query = _flows_query(scope, case_id, icpt, start, end)

    def lines() -> Iterator[str]:
        yield csv_line(list(FLOW_CSV))
        for batch in keyset_batches(svc, query, (ip_flows.c.first_at, ip_flows.c.id)):
            for r in batch:
                if scope.visible(r["intercept_id"], r["quarantined"]):
                    yield csv_line(_flow_row(_flow_dict(r, _names_visible(actor, scope, r))))

    return lines()


def _visits(conn: Any, scope: Scope, case_id: str, servers: list[str], start: datetime | None,
            end: datetime | None) -> list[Visit]:
    if not servers:
        return []
    q = select(ip_flows).where(ip_flows.c.case_id == case_id, ip_flows.c.server.in_(servers))
    if start is not None:
        q = q.where(ip_flows.c.last_at >= start)
    if end is not None:
        q = q.where(ip_flows.c.first_at < end)
    return [Visit(r["client"], r["server"], r["server_port"], r["protocol"], r["first_at"], r["last_at"],
                  r["packets_up"] + r["packets_down"], r["source"], r["intercept_id"])
            for r in conn.execute(q).mappings() if scope.visible(r["intercept_id"], r["quarantined"])]


def web_visitors(svc: Services, actor: Actor, case_id: str, url: str, *, purpose: str | None,
                 start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """A1: every address that visited the queried web address, first / last seen, count, and
    the authorities covering the visits.  The address must be named by an authority of the case."""
    web = web_address(url)
    catch_up(svc)
    with svc.db.write() as conn:
        scope = read_scope(conn, svc, actor, case_id, purpose, content=False)
        auths = [authority_from(dict(r)) for r in conn.execute(select(authorities).where(authorities.c.case_id == case_id)).mappings()]
        named = covering(web, auths)
        if not named:
            raise RuleViolation("no authority of this case names this web address: a visitor report is for a "
                                "queried web address of a PRTT or eavesdropping authority", rule="A1")
        configured = conn.execute(select(web_addresses.c.address).where(
            web_addresses.c.case_id == case_id, web_addresses.c.host == web.host,
            web_addresses.c.removed_at.is_(None))).scalars().all()
        dns_rows = conn.execute(select(ip_flows.c.dns_answers, ip_flows.c.intercept_id, ip_flows.c.quarantined).where(
            ip_flows.c.case_id == case_id, ip_flows.c.source == "cc",
            or_(ip_flows.c.server_port == 53, ip_flows.c.client_port == 53))).all()
        answers = [tuple(a) for r in dns_rows if scope.visible(r.intercept_id, r.quarantined) for a in r.dns_answers]
        resolved = resolve(web, configured, resolutions(answers))
        visits = _visits(conn, scope, case_id, [r.address for r in resolved], start, end)
        found = visitors(web, [r.address for r in resolved], visits, named)
        svc.audit(conn, actor, "traffic.web_visitors", case_id=case_id, object_type="web_address",
                  object_id=web.identifier.value[:100], purpose=purpose, detail=f"{len(found)} visitors")
    by_id = {a.id: a for a in named}
    return {
        "url": web.identifier.value, "host": web.host, "ports": sorted(web.ports), "path": web.path,
        "path_distinguished": False,
        "resolution": [{"address": r.address, "source": r.source} for r in resolved],
        "authorities": [{"id": a.id, "kind": a.kind.value, "rule": a.rule, "docket": a.docket,
                         "effective_at": a.effective_at, "ends_at": a.ends_at} for a in named],
        "sources": sorted({v.source for v in visits}),
        "visitors": [v.to_dict(by_id) for v in found],
    }


def visitors_csv(report: dict[str, Any]) -> str:
    """The visitors of a web address as CSV, each value a `listing.cell` (times in UTC with a
    Z, nothing a spreadsheet would run as a formula)."""
    lines = [csv_line(["address", "first_seen", "last_seen", "visits", "packets", "servers", "authorities", "url"])]
    for v in report["visitors"]:
        lines.append(csv_line([v["address"], v["first_seen"], v["last_seen"], v["visits"], v["packets"], " ".join(v["servers"]),
                               " ".join(f"{a['rule']}:{a['docket']}" for a in v["authorities"]), report["url"]]))
    return "".join(lines)


# --- configured web addresses (the technical unit) -----------------------------------------


def _require_taru(actor: Actor) -> None:
    if actor.role is not Role.TARU:
        raise AccessDenied("only the technical unit configures web addresses", rule="C2")


def add_web_address(svc: Services, actor: Actor, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Configure a server address of a queried host (the resolution of a web address a
    PRTT order names, where no DNS is kept: A1, A6)."""
    _require_taru(actor)
    web = web_address(str(body.get("url") or body.get("host") or ""))
    try:
        address = str(ipaddress.ip_address(str(body.get("address", "")).strip()))
    except ValueError:
        raise InvalidInput("address: an IPv4 or IPv6 address", field="address") from None
    row: dict[str, Any] = dict(id=svc.new_id(), case_id=case_id, host=web.host, address=address,
                               note=str(body.get("note", ""))[:2000], added_by=actor.user_id, added_at=svc.now())
    with svc.db.write() as conn:
        check_case_access(conn, svc, actor, case_id)
        conn.execute(insert(web_addresses).values(**row))
        svc.audit(conn, actor, "traffic.web_address.add", case_id=case_id, object_type="web_address",
                  object_id=row["id"], detail=f"{web.host} -> {address}")
    return row


def list_web_addresses(svc: Services, actor: Actor, case_id: str) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        check_case_access(conn, svc, actor, case_id)
        rows = conn.execute(select(web_addresses).where(web_addresses.c.case_id == case_id,
                                                        web_addresses.c.removed_at.is_(None))).mappings().all()
    return [dict(r) for r in rows]


def remove_web_address(svc: Services, actor: Actor, address_id: str) -> dict[str, Any]:
    _require_taru(actor)
    with svc.db.write() as conn:
        row = conn.execute(select(web_addresses).where(web_addresses.c.id == address_id)).mappings().first()
        if row is None or row["removed_at"] is not None:
            raise NotFound("no such web address")
        conn.execute(update(web_addresses).where(web_addresses.c.id == address_id).values(removed_at=svc.now()))
        svc.audit(conn, actor, "traffic.web_address.remove", case_id=row["case_id"], object_type="web_address",
                  object_id=address_id)
    return {**dict(row), "removed_at": svc.now()}
