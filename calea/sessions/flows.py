"""Flow summaries of intercepted IP traffic (pure).

A flow is one conversation between two endpoints: (protocol, client address and port,
server address and port).  Per flow: first and last packet time, packets and bytes each
way (bytes = the IP packets' own total lengths), which side the target is, and -- only
where the payload was kept (rule A2) -- the DNS names queried and answered, the TLS SNI
of a ClientHello and the HTTP Host of a request.

SNI and Host are read from the client -> server byte stream reassembled by sequence number
(`calea.sessions.tcpstream.StreamPrefix`: its first 16 KiB, out-of-order, retransmitted
and overlapping segments placed, stopping at a gap): a ClientHello or a request head split
over several segments is read whole.  A name is taken only once the bytes that hold it
are complete (the whole TLS record; whole header lines), never from a cut-off piece.
Once a flow has its name, or its first bytes show it is neither TLS nor HTTP, its bytes
are let go.  A caller that meets a connection over several batches (the traffic indexer)
passes one `StreamCache` to each batch's table so that a stream carries over; its size
bounds the memory of all streams (1,024 streams of at most 16 KiB by default).

Orientation (who is the client): the sender of a TCP SYN (without ACK); else the side
of a TCP SYN+ACK's receiver; else the endpoint with the higher port (ephemeral ports are
above service ports; equal ports: the first sender); ICMP echo: the requester.  Once a
flow exists, later packets of either direction join it.

Under a PRTT order the same table is fed with header records (`add_header`): addresses,
ports, lengths, flags -- call-identifying information (A1) -- and never a payload (A6).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calea.sessions.appdata import _METHODS, dns_message, http_host, tls_sni
from calea.sessions.ipparse import ACK, ICMP, ICMPV6, SYN, TCP, IpPacket
from calea.sessions.tcpstream import LIMIT, StreamCache, StreamPrefix

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


_HTTP_HEAD = 8192  # `http_host` reads this much of a request head


@dataclass
class ClientStream:
    """The client -> server bytes of one TCP flow, kept until its name is read."""

    client: tuple[str, int | None]  # the sender whose bytes these are
    prefix: StreamPrefix
    lines_seen: int = 0  # bytes of `prefix.data` already searched for line ends...
    lines_from: int | None = None  # ...from this start (an earlier segment moves the start back)


def streams(max_streams: int = 1024) -> StreamCache[Any, ClientStream | None]:
    """A cache of client streams to share between the tables of successive batches (None
    marks a flow whose name is settled)."""
    return StreamCache(max_streams)


def endpoints(protocol: int, a: str, a_port: int | None, b: str, b_port: int | None) -> tuple[Any, ...]:
    """A conversation's protocol and two endpoints, the same whichever side is the client."""
    return (protocol,) + tuple(sorted(((a, a_port), (b, b_port)), key=repr))


def packet_endpoints(p: IpPacket) -> tuple[Any, ...]:
    return endpoints(p.protocol, p.src, p.src_port, p.dst, p.dst_port)


def _pair(f: Flow) -> tuple[Any, ...]:
    return endpoints(f.protocol, f.client, f.client_port, f.server, f.server_port)


def _tls_name(data: bytes) -> tuple[bool, str | None]:
    """(settled, SNI) of a stream starting with a TLS record: settled once the whole
    first record is there (or the window is)."""
    if len(data) < 5:
        return False, None
    need = 5 + int.from_bytes(data[3:5], "big")
    if len(data) < need:
        return False, None
    return True, tls_sni(data[:need])


def _http_name(st: ClientStream, data: bytes) -> tuple[bool, str | None]:
    """(settled, Host) of a stream starting with an HTTP method: read from whole header
    lines only; settled when the Host is found, the head is complete or too long."""
    if st.lines_from != st.prefix.start:
        st.lines_seen, st.lines_from = 0, st.prefix.start
    head_end = data.find(b"\r\n\r\n", max(0, st.lines_seen - 3))
    last_line = data.rfind(b"\r\n")
    if last_line < max(0, st.lines_seen - 1):
        st.lines_seen = len(data)
        return len(data) >= _HTTP_HEAD, None  # no new whole line
    st.lines_seen = len(data)
    usable = data[:head_end + 4] if head_end >= 0 else data[:last_line + 2]
    host = http_host(usable)
    return host is not None or head_end >= 0 or len(data) >= _HTTP_HEAD, host


def _names(st: ClientStream) -> tuple[str, str | None, str | None]:
    """(state, SNI, Host) from what the stream holds so far; state "wait" (more bytes may
    tell), "done" (settled) or "other" (its first bytes are neither TLS nor HTTP)."""
    data = st.prefix.data
    full = st.prefix.full
    if not data:
        return "wait", None, None
    if data[0] == 0x16:
        settled, sni = _tls_name(data)
        return ("done" if settled or full else "wait"), sni, None
    if any(data.startswith(m) for m in _METHODS):
        settled, host = _http_name(st, data)
        return ("done" if settled or full else "wait"), None, host
    if any(m.startswith(data) for m in _METHODS) and not full:
        return "wait", None, None  # the start of a method: wait for more
    return "other", None, None


class FlowTable:
    """Aggregates packets into flows; `add` for whole packets, `add_header` for header facts.

    `streams` (see `streams()`) carries reassembly across tables; `scope` separates the
    flows of different intercepts sharing it."""

    def __init__(self, streams: StreamCache[Any, ClientStream | None] | None = None, scope: Hashable = None, *,
                 stream_limit: int = LIMIT) -> None:
        self._flows: dict[FlowKey, Flow] = {}
        self.packets = 0
        self.skipped = 0  # fragments and packets without addresses
        self._streams: StreamCache[Any, ClientStream | None] = streams if streams is not None else StreamCache(1024)
        self._scope = scope
        self._stream_limit = stream_limit

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
        if flow is None or p.payload is None:
            return flow  # a header record (A6) or a fragment
        if p.payload and 53 in (p.src_port, p.dst_port):
            facts = dns_message(p.payload[2:] if p.protocol == TCP else p.payload)
            if facts is not None:
                flow.dns_queries.update(facts.questions)
                flow.dns_answers.update(facts.answers)
        elif p.protocol == TCP:
            self._tcp_names(flow, p)
        return flow

    def _tcp_names(self, flow: Flow, p: IpPacket) -> None:
        """Feed the client's bytes to the flow's stream; read SNI / Host once they are whole."""
        if flow.sni is not None or flow.http_host is not None:
            return
        flags = p.tcp_flags or 0
        opening = bool(flags & SYN) and not flags & ACK
        if not p.payload and not opening:
            return
        up = p.src == flow.client and p.src_port == flow.client_port
        if p.tcp_seq is None:  # a packet without its sequence number: this segment alone
            if up and p.payload:
                flow.sni, flow.http_host = tls_sni(p.payload), http_host(p.payload)
            return
        key = (self._scope, _pair(flow))
        st = self._streams.get(key)
        if st is None:
            if key in self._streams or not up:
                return  # settled earlier, or a server's bytes before the client's
            st = ClientStream((p.src, p.src_port), StreamPrefix(self._stream_limit))
            self._streams.put(key, st)
        if (p.src, p.src_port) != st.client:
            return
        if opening:
            st.prefix.syn(p.tcp_seq)
        if not st.prefix.add(p.tcp_seq + 1 if opening else p.tcp_seq, p.payload):
            return
        state, flow.sni, flow.http_host = _names(st)
        # settled: the bytes go.  Bytes that are neither TLS nor HTTP settle it only from a
        # known start (SYN seen): else an earlier segment, still to come, may be the start.
        if state == "done" or (state == "other" and (st.prefix.fixed or st.prefix.full)):
            self._streams.put(key, None)

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
