"""Flow summaries of intercepted IP traffic (pure).

A flow is one conversation between two endpoints: (protocol, client address and port,
server address and port).  Per flow: first and last packet time, packets and bytes each
way (bytes = the IP packets' own total lengths), which side the target is, and -- only
where the payload was kept (rule A2) -- the DNS names queried and answered, the TLS SNI
of a ClientHello and the HTTP Host of a request.

Orientation (who is the client): the sender of a TCP SYN (without ACK); else the side
of a TCP SYN+ACK's receiver; else the endpoint with the higher port (ephemeral ports are
above service ports; equal ports: the first sender); ICMP echo: the requester.  Once a
flow exists, later packets of either direction join it.

Under a PRTT order the same table is fed with header records (`add_header`): addresses,
ports, lengths, flags -- call-identifying information (A1) -- and never a payload (A6).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calea.sessions.appdata import dns_message, http_host, tls_sni
from calea.sessions.ipparse import ACK, ICMP, ICMPV6, SYN, TCP, UDP, IpPacket

FlowKey = tuple[int, str, int | None, str, int | None]  # protocol, client, client port, server, server port
_ECHO_REPLIES = {(ICMP, 0), (ICMPV6, 129)}  # the receiver of a reply asked


@dataclass
class Flow:
    protocol: int
    client: str
    client_port: int | None
    server: str
    server_port: int | None
    first_at: datetime
    last_at: datetime
    packets_up: int = 0  # client -> server
    bytes_up: int = 0
    packets_down: int = 0  # server -> client
    bytes_down: int = 0
    target_side: str | None = None  # "client" | "server" (from the CC direction)
    dns_queries: set[str] = field(default_factory=set)
    dns_answers: set[tuple[str, str, str]] = field(default_factory=set)
    sni: str | None = None
    http_host: str | None = None

    @property
    def key(self) -> FlowKey:
        return (self.protocol, self.client, self.client_port, self.server, self.server_port)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol, "client": self.client, "client_port": self.client_port,
            "server": self.server, "server_port": self.server_port,
            "first_at": self.first_at, "last_at": self.last_at,
            "packets_up": self.packets_up, "bytes_up": self.bytes_up,
            "packets_down": self.packets_down, "bytes_down": self.bytes_down,
            "target_side": self.target_side,
            "dns_queries": sorted(self.dns_queries), "dns_answers": [list(a) for a in sorted(self.dns_answers)],
            "sni": self.sni, "http_host": self.http_host,
        }


def orient(p: IpPacket) -> tuple[FlowKey, bool]:
    """(canonical key, whether `p` travels client -> server) for a packet of a new flow."""
    fwd: FlowKey = (p.protocol, p.src, p.src_port, p.dst, p.dst_port)
    rev: FlowKey = (p.protocol, p.dst, p.dst_port, p.src, p.src_port)
    if p.protocol == TCP and p.tcp_flags is not None and p.tcp_flags & SYN:
        return (rev, False) if p.tcp_flags & ACK else (fwd, True)
    if p.protocol in (ICMP, ICMPV6):
        return (rev, False) if (p.protocol, p.icmp_type) in _ECHO_REPLIES else (fwd, True)
    if p.src_port is not None and p.dst_port is not None and p.src_port < p.dst_port:
        return rev, False  # the sender holds the lower (service) port: it is the server
    return fwd, True


class FlowTable:
    """Aggregates packets into flows; `add` for whole packets, `add_header` for header facts."""

    def __init__(self) -> None:
        self._flows: dict[FlowKey, Flow] = {}
        self.packets = 0
        self.skipped = 0  # fragments and packets without addresses

    def _flow(self, p: IpPacket, at: datetime) -> tuple[Flow, bool]:
        fwd: FlowKey = (p.protocol, p.src, p.src_port, p.dst, p.dst_port)
        flow = self._flows.get(fwd)
        if flow is not None:
            return flow, True
        rev: FlowKey = (p.protocol, p.dst, p.dst_port, p.src, p.src_port)
        flow = self._flows.get(rev)
        if flow is not None:
            return flow, False
        key, up = orient(p)
        flow = Flow(key[0], key[1], key[2], key[3], key[4], at, at)
        self._flows[key] = flow
        return flow, up

    def add_header(self, at: datetime, p: IpPacket, direction: str | None = None) -> Flow | None:
        """Count one packet (its header facts); returns its flow, None for a later fragment."""
        if p.fragment:
            self.skipped += 1
            return None
        self.packets += 1
        flow, up = self._flow(p, at)
        flow.first_at, flow.last_at = min(flow.first_at, at), max(flow.last_at, at)
        if up:
            flow.packets_up += 1
            flow.bytes_up += p.length
        else:
            flow.packets_down += 1
            flow.bytes_down += p.length
        if flow.target_side is None and direction in ("fromTarget", "toTarget"):
            sender = "client" if up else "server"
            flow.target_side = sender if direction == "fromTarget" else ("server" if up else "client")
        return flow

    def add(self, at: datetime, p: IpPacket, direction: str | None = None) -> Flow | None:
        """Count a whole packet and read the names its payload shows (kept content only, A2)."""
        flow = self.add_header(at, p, direction)
        if flow is None or not p.payload:
            return flow
        up = p.src == flow.client and p.src_port == flow.client_port
        if 53 in (p.src_port, p.dst_port):
            facts = dns_message(p.payload[2:] if p.protocol == TCP else p.payload)
            if facts is not None:
                flow.dns_queries.update(facts.questions)
                flow.dns_answers.update(facts.answers)
        elif p.protocol == TCP and up:
            if flow.sni is None:
                flow.sni = tls_sni(p.payload)
            if flow.http_host is None:
                flow.http_host = http_host(p.payload)
        return flow

    def flows(self) -> list[Flow]:
        return sorted(self._flows.values(), key=lambda f: (f.first_at, f.key))


def summarise(packets: Iterable[tuple[datetime, IpPacket, str | None]]) -> list[Flow]:
    """Flows of (time, packet, direction) triples (a convenience over `FlowTable`)."""
    table = FlowTable()
    for at, p, direction in packets:
        table.add(at, p, direction)
    return table.flows()


def resolutions(answers: Iterable[tuple[str, str, str]]) -> dict[str, set[str]]:
    """host -> addresses from DNS answers seen (`Flow.dns_answers`), following CNAME
    chains (depth 8)."""
    direct: dict[str, set[str]] = {}
    aliases: dict[str, set[str]] = {}
    for name, kind, value in answers:
        (aliases if kind == "CNAME" else direct).setdefault(name, set()).add(value)
    out: dict[str, set[str]] = {}
    for name in set(direct) | set(aliases):
        seen, todo, found = {name}, [name], set()
        for _ in range(8):
            nxt = []
            for n in todo:
                found |= direct.get(n, set())
                nxt += [a for a in aliases.get(n, ()) if a not in seen]
            seen.update(nxt)
            todo = nxt
        if found:
            out[name] = found
    return out
