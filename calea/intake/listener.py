"""asyncio glue between carrier connections and the intake pipeline.

`data_received` feeds the sans-I/O splitter, answers keep-alives at once (TS 102 232-1: a
keep-alive-response with the same sequence number), and offers every other record to the
pipeline; when its queue is full the transport pauses reading until it drains.  A record
whose outer BER header is broken cannot be resynchronised: its bytes are quarantined with
the reason and the connection is closed (the carrier reconnects and resends).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from calea.handover.errors import MalformedRecord
from calea.handover.framing import NEED_DATA, RecordSplitter
from calea.handover.model import Channel, RecordKind
from calea.intake.pipeline import Intake, Received
from calea.store.items import Malformed

log = logging.getLogger("calea.intake.listener")
_KEEPALIVE_ENDS = (b"\x83\x00", b"\x84\x00")
_new = tuple.__new__


@dataclass
class ConnectionInfo:
    id: int
    carrier: str
    channel: str
    format: str
    peer: str
    opened_at: datetime
    closed_at: datetime | None = None
    port: int = 0  # the listening port it came in on
    last_at: datetime | None = None  # when it last carried anything (records or keep-alives)
    records: int = 0
    bytes: int = 0
    keepalives: int = 0
    state: str = "open"
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class ListenerSpec:
    carrier: str
    format: str
    channel: Channel
    host: str
    port: int
    ssl: ssl.SSLContext | None = None
    allowed: tuple[str, ...] = ()  # carrier peer networks; empty: any


CLOSED_KEPT = 200  # closed connections remembered for the intake view, the latest ones
REFUSED_ALERT_EVERY = timedelta(hours=1)  # at most one alert an hour per carrier port and stranger


@dataclass
class Registry:
    connections: dict[int, ConnectionInfo] = field(default_factory=dict)
    next_id: int = 1
    transports: dict[int, asyncio.BaseTransport] = field(default_factory=dict)
    refused_alerted: dict[tuple[str, int, str], datetime] = field(default_factory=dict)

    def refused_alert_due(self, carrier: str, port: int, host: str, now: datetime) -> bool:
        """Whether a connection refused now (a stranger on a carrier's port) is alerted: the
        first from that address, then at most once an hour."""
        last = self.refused_alerted.get((carrier, port, host))
        if last is not None and now - last < REFUSED_ALERT_EVERY:
            return False
        self.refused_alerted[(carrier, port, host)] = now
        return True

    def add(self, info: ConnectionInfo, transport: asyncio.BaseTransport) -> None:
        """A new connection; the closed ones beyond the latest `CLOSED_KEPT` are forgotten
        (a carrier that reconnects all day must not grow the registry for ever)."""
        self.connections[info.id] = info
        self.transports[info.id] = transport
        closed = [i for i, c in self.connections.items() if c.closed_at is not None]
        for i in closed[:max(len(closed) - CLOSED_KEPT, 0)]:  # (ids grow: the oldest first)
            del self.connections[i]

    def close_for(self, carrier: str, port: int, reason: str) -> int:
        """Close the open connections a carrier made to `port` (its listener is stopped or
        replaced: the carrier reconnects under the new terms, and resends)."""
        closed = 0
        for i, transport in list(self.transports.items()):
            info = self.connections.get(i)
            if info is not None and info.carrier == carrier and info.port == port:
                info.state, info.error = "closed", reason
                transport.close()
                closed += 1
        return closed

    async def close_all(self, servers: list[asyncio.AbstractServer]) -> None:
        """Stop listening and close every open carrier connection (shutdown)."""
        for server in servers:
            server.close()
        for transport in list(self.transports.values()):
            transport.close()
        for _ in range(20):  # let the transports finish closing (TLS needs a few turns)
            if not self.transports:
                break
            await asyncio.sleep(0.01)


class IntakeProtocol(asyncio.Protocol):
    def __init__(self, intake: Intake, spec: ListenerSpec, registry: Registry) -> None:
        self.intake = intake
        self.spec = spec
        self.registry = registry
        # TS 101 671 records are [1]..[4] IRIsContent or a ROSE Invoke, not a SEQUENCE
        self.splitter = RecordSplitter(outer_tags=None) if spec.format != "etsi-102232" else RecordSplitter()
        self.transport: asyncio.Transport | None = None
        self.info: ConnectionInfo | None = None
        self._paused = False
        self._backlog: list[Received] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("?", 0)
        host = str(peer[0])
        info = ConnectionInfo(self.registry.next_id, self.spec.carrier, self.spec.channel.value, self.spec.format,
                              f"{host}:{peer[1]}", self.intake.svc.now(), port=self.spec.port)
        self.registry.next_id += 1
        self.registry.add(info, transport)
        self.info = info
        if self.spec.allowed and not _allowed(host, self.spec.allowed):
            info.state, info.error = "refused", "peer address is not one of the carrier's"
            log.warning("connection from %s refused: not a configured carrier address", host)
            transport.close()
            spec = self.spec
            if self.registry.refused_alert_due(spec.carrier, spec.port, host, info.opened_at):
                asyncio.get_running_loop().run_in_executor(
                    None, record_alert, self.intake.svc, "intake.connection_refused",
                    f"a connection from {host} to {spec.carrier}'s {spec.channel.value} port {spec.port} was refused: "
                    "not one of the carrier's addresses", {"carrier": spec.carrier, "port": spec.port, "peer": host})

    def data_received(self, data: bytes) -> None:
        assert self.info is not None and self.transport is not None
        info, splitter = self.info, self.splitter
        info.bytes += len(data)
        splitter.receive_data(data)
        now = info.last_at = self.intake.svc.now()
        parcel: list[Received] = []
        etsi = self.spec.format == "etsi-102232"
        meta = (self.spec.channel, self.spec.format, info.peer, now, None)
        while True:
            # the usual records at once (C when built), then one at a time for the rest
            for record in splitter.whole_records():
                # keep-alive (-response) PDUs end with the NULL of tRIPayload [3] / [4]
                if etsi and record[-2:] in _KEEPALIVE_ENDS and self._keepalive(record):
                    continue
                parcel.append(_new(Received, (record, *meta)))
            try:
                record = splitter.next_record()
            except MalformedRecord as exc:
                self._offer(parcel)
                self._broken(exc, now)
                return
            if record is NEED_DATA or not isinstance(record, (bytes, bytearray)):
                break
            record = bytes(record)
            if etsi and record[-2:] in _KEEPALIVE_ENDS and self._keepalive(record):
                continue
            parcel.append(_new(Received, (record, *meta)))
        info.records = splitter.records
        self._offer(parcel)

    def _offer(self, parcel: list[Received]) -> None:
        if not parcel:
            return
        if self._backlog or not self.intake.offer_many(parcel):
            self._backlog.extend(parcel)
            self._pause()

    def _keepalive(self, record: bytes) -> bool:
        from calea.handover.etsi102232 import keepalive_response, read_header

        try:
            header = read_header(record)
        except MalformedRecord:
            return False  # the pipeline quarantines it with its reason
        if header.kind is RecordKind.KEEPALIVE:
            assert self.transport is not None and self.info is not None
            self.transport.write(keepalive_response(record))
            self.info.keepalives += 1
            return True
        return header.kind is RecordKind.KEEPALIVE_RESPONSE

    def _broken(self, exc: MalformedRecord, now: datetime) -> None:
        assert self.info is not None and self.transport is not None
        rest = bytes(self.splitter._buf[self.splitter._pos:])  # what could not be framed
        self.intake.writer.write([], [], [Malformed(now, self.info.peer, self.spec.channel.value, self.spec.format,
                                                    exc.reason, f"unframeable stream: {exc}", rest[:1_000_000])])
        self.info.state, self.info.error = "closed", f"malformed stream: {exc.reason}"
        self.transport.close()

    def _pause(self) -> None:
        if not self._paused and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True
            asyncio.get_running_loop().call_later(0.01, self._drain)

    def _drain(self) -> None:
        if self._backlog and self.intake.offer_many(self._backlog):
            self._backlog = []
        if self._backlog:
            asyncio.get_running_loop().call_later(0.01, self._drain)
        elif self._paused and self.transport is not None and not self.transport.is_closing():
            self._paused = False
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.info is not None:
            self.registry.transports.pop(self.info.id, None)
            self.info.closed_at = self.intake.svc.now()
            if self.info.state == "open":
                self.info.state = "closed"
            if exc is not None:
                self.info.error = str(exc)
        self._drain_all()

    def _drain_all(self) -> None:
        if self._backlog:  # the connection is gone: queue what it carried regardless of the bound
            with self.intake._queued_lock:
                self.intake._queued += len(self._backlog)
            self.intake.queue.put(self._backlog)
        self._backlog = []


class DatagramProtocol(asyncio.DatagramProtocol):
    """PCESP call content: UDP datagrams of a 4-byte CCC id and an IP/RTP packet, queued as
    received.  The pipeline decodes them: the LIID of a CCC id is the one its CCOpen named,
    and the pipeline has read every CCOpen queued before the datagram (the CDC comes over
    TCP, a different connection, and may still be in the queue when the datagram arrives)."""

    def __init__(self, intake: Intake, spec: ListenerSpec) -> None:
        self.intake = intake
        self.spec = spec

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.spec.allowed and not _allowed(addr[0], self.spec.allowed):
            return
        self.intake.offer(Received(data, Channel.HI3, "pcesp-ccc", f"{addr[0]}:{addr[1]}", self.intake.svc.now()))


UDP_RECEIVE_BUFFER = 8 << 20  # PCESP over UDP has no back-pressure: the kernel buffer is the cushion


def widen_receive_buffer(sock: socket.socket, wanted: int = UDP_RECEIVE_BUFFER) -> int:
    """Ask for a `wanted`-byte receive buffer; return what the kernel granted.

    The kernel caps the request at net.core.rmem_max (and doubles it for bookkeeping); a
    grant below the wish is logged so the operator can raise the limit."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if granted < wanted:
        log.warning("UDP receive buffer is %d bytes (asked %d): raise net.core.rmem_max so bursts of "
                    "call content are not dropped by the kernel", granted, wanted)
    return granted


class _DatagramServer:
    """Lets a UDP endpoint be closed like a TCP server."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def close(self) -> None:
        self.transport.close()

    async def wait_closed(self) -> None:
        return None


def record_alert(svc: Any, kind: str, message: str, details: dict[str, Any], severity: str = "critical") -> None:
    """An intake alert, written in its own transaction (call it off the event loop's thread:
    the store's write lock may wait for a batch commit, and every carrier socket with it)."""
    try:
        with svc.db.write() as conn:
            svc.alert(conn, kind, message, severity=severity, details=details)
    except Exception:
        log.exception("could not record the alert %s: %s", kind, message)


def _allowed(host: str, networks: tuple[str, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(n, strict=False) for n in networks)


async def start_listeners(intake: Intake, specs: list[ListenerSpec],
                          registry: Registry | None = None) -> tuple[list[asyncio.AbstractServer], Registry]:
    registry = registry or Registry()
    loop = asyncio.get_running_loop()
    servers: list[asyncio.AbstractServer] = []
    for spec in specs:
        if spec.format == "pcesp-ccc":
            transport, _ = await loop.create_datagram_endpoint(
                lambda s=spec: DatagramProtocol(intake, s), local_addr=(spec.host, spec.port))
            widen_receive_buffer(transport.get_extra_info("socket"))
            servers.append(_DatagramServer(transport))  # type: ignore[arg-type]
            continue
        server = await loop.create_server(lambda s=spec: IntakeProtocol(intake, s, registry), spec.host, spec.port, ssl=spec.ssl)
        servers.append(server)
    return servers, registry
