"""Who visited a queried web address (rule A1: "IP addresses that visit a queried web
address" is pen-register information).  Pure.

Inputs: the web address (a URL identifier an authority of the case names), the server
addresses it resolves to, and flows of the case (`Visit`: client, server, port, times,
packets).  A visit is a flow whose server is one of those addresses on a web port of the
URL: its explicit port, else 80 and 443 (the same site over http and https, TCP or QUIC).
The path of the URL cannot be told from addresses and ports: every visitor of the host
is listed, and the report says so (`path_distinguished: false`).

Resolution of a host name: the address itself when the URL names one; else addresses the
technical unit configured for the case; else -- only from traffic an eavesdropping
authority let the store keep (A2) -- the DNS answers seen in it.  Each address carries
its source.  Under a PRTT order the payload, so DNS, is never kept (A6): a host name
then needs configured addresses.

Each visitor carries the authorities that cover its visits: those naming the URL whose
window holds the visit's time (A7, A8).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from calea.domain.authorities import Authority
from calea.domain.identifiers import Identifier, IdentifierKind, identifier_matches, parse_identifier

WEB_PROTOCOLS = (6, 17)  # TCP (http, https), UDP (QUIC)


@dataclass(frozen=True)
class WebAddress:
    identifier: Identifier
    host: str
    ports: frozenset[int]
    path: str

    @property
    def literal(self) -> str | None:
        try:
            return str(ipaddress.ip_address(self.host.strip("[]")))
        except ValueError:
            return None


def web_address(url: str) -> WebAddress:
    """Parse and normalise a queried web address (raises `InvalidInput`, rule A7)."""
    ident = parse_identifier(IdentifierKind.URL, url)
    parts = urlsplit(ident.value)
    ports = frozenset({parts.port}) if parts.port else frozenset({80, 443})
    return WebAddress(ident, (parts.hostname or "").lower(), ports, parts.path or "/")


@dataclass(frozen=True)
class Resolution:
    address: str
    source: str  # literal | configured | dns


def resolve(web: WebAddress, configured: Iterable[str], dns: Mapping[str, set[str]]) -> list[Resolution]:
    if web.literal is not None:
        return [Resolution(web.literal, "literal")]
    out = {a: Resolution(a, "configured") for a in configured}
    for a in sorted(dns.get(web.host, set())):
        out.setdefault(a, Resolution(a, "dns"))
    return sorted(out.values(), key=lambda r: r.address)


@dataclass(frozen=True)
class Visit:
    client: str
    server: str
    server_port: int | None
    protocol: int
    first_at: datetime
    last_at: datetime
    packets: int
    source: str  # cc | header
    intercept_id: str


@dataclass
class Visitor:
    address: str
    first_seen: datetime
    last_seen: datetime
    visits: int = 0
    packets: int = 0
    servers: set[str] = field(default_factory=set)
    authorities: set[str] = field(default_factory=set)
    uncovered_visits: int = 0

    def to_dict(self, authorities: Mapping[str, Authority]) -> dict[str, Any]:
        return {
            "address": self.address, "first_seen": self.first_seen, "last_seen": self.last_seen,
            "visits": self.visits, "packets": self.packets, "servers": sorted(self.servers),
            "authorities": [{"id": a, "kind": authorities[a].kind.value, "rule": authorities[a].rule,
                             "docket": authorities[a].docket} for a in sorted(self.authorities)],
            "uncovered_visits": self.uncovered_visits,
        }


def covering(web: WebAddress, authorities: Iterable[Authority]) -> list[Authority]:
    """The authorities that name the web address (a PRTT or an eavesdropping authority)."""
    return [a for a in authorities if any(identifier_matches(n, web.identifier) or identifier_matches(web.identifier, n)
                                          for n in a.identifiers if n.kind is IdentifierKind.URL)]


def visitors(web: WebAddress, servers: Iterable[str], visits: Iterable[Visit],
             authorities: Iterable[Authority]) -> list[Visitor]:
    """Every address that visited `web` (on one of `servers`), first / last seen, count."""
    server_set = set(servers)
    named = covering(web, authorities)
    out: dict[str, Visitor] = {}
    for v in visits:
        if v.server not in server_set or v.client in server_set or v.protocol not in WEB_PROTOCOLS:
            continue
        if v.server_port not in web.ports:
            continue
        who = out.get(v.client)
        if who is None:
            who = out[v.client] = Visitor(v.client, v.first_at, v.last_at)
        who.first_seen, who.last_seen = min(who.first_seen, v.first_at), max(who.last_seen, v.last_at)
        who.visits += 1
        who.packets += v.packets
        who.servers.add(v.server)
        found = [a.id for a in named if a.in_window(v.first_at)]
        who.authorities.update(found)
        who.uncovered_visits += 0 if found else 1
    return sorted(out.values(), key=lambda w: (w.first_seen, w.address))
