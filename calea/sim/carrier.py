"""The simulated carrier's mediation function: connects out to the intake and delivers.

    report = await deliver(load_demo_scenario(), host="127.0.0.1", hi2_port=6001,
                           hi3_port=6002, fmt="etsi-102232")

Behaviour (as an OpenLI mediator, see ../shared/vectors/openli-1.1.20-voip-ip/README.md):
* one TCP connection per handover (HI2, HI3); PacketCable CCC goes as UDP datagrams to
  `hi3_port`, TS 101 671 HI2 has no HI3; 3GPP MMS (IRI on HI2, CC-PDUs on HI3) has no
  keep-alives;
* records go out in timeline order, their bytes cut into writes of random sizes that
  ignore record boundaries (the intake must frame by BER length);
* keep-alives are in the plan wherever a handover is idle for the carrier's interval;
  each keep-alive-response read back must carry the sequence number of the oldest
  unanswered keep-alive (a mismatch is counted, an unanswered one too); a keep-alive the
  intake sends is answered with `keepalive_response`;
* a `Drop` step closes the connection (optionally after half of the next record),
  reconnects and resends the last N records: the intake must de-duplicate them;
* `realtime=True` sleeps to follow the timeline (divided by `speed`), else as fast as
  the connection takes the bytes.

Bounded: every connect, drain and wait has a timeout, the loop runs once over the plan,
and nothing connects anywhere but `host`.  A connection failure raises `DeliveryError`
carrying the report so far.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping

from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232 import keepalive_response, read_header
from calea.handover.framing import NEED_DATA, RecordSplitter
from calea.handover.model import RecordKind
from calea.sim.build import build
from calea.sim.plan import HI2, HI3, Drop, Plan, Record
from calea.sim.scenario import Scenario, ScenarioError

UDP_BURST, UDP_PAUSE = 32, 0.002  # fast mode: a short pause every 32 datagrams (loopback buffers)


@dataclass(frozen=True)
class DeliveryReport:
    fmt: str
    records: Mapping[str, int]  # first sends, by kind (iri, cc, keepalive, cdc, ccc)
    channels: Mapping[str, int]  # first sends, by channel
    bytes: Mapping[str, int]  # octets written per channel, resends included
    writes: int  # write calls (records are split across them)
    keepalives_sent: int
    keepalive_responses: int
    keepalive_mismatches: int  # a response with the wrong sequence number, or none expected
    keepalives_unanswered: int
    intake_keepalives_answered: int
    unexpected: int  # anything else the intake sent back
    reconnects: int
    resent: int
    skipped: Mapping[str, int]
    elapsed: float

    @property
    def ok(self) -> bool:
        return not (self.keepalive_mismatches or self.keepalives_unanswered or self.unexpected)

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.records.items())) or "nothing"
        text = (f"{self.fmt}: sent {kinds} ({', '.join(f'{c} {b} B' for c, b in sorted(self.bytes.items()))}) "
                f"in {self.writes} writes, {self.elapsed:.2f} s; keep-alives {self.keepalives_sent} sent, "
                f"{self.keepalive_responses} answered, {self.keepalive_mismatches} mismatched, "
                f"{self.keepalives_unanswered} unanswered; reconnects {self.reconnects}, resent {self.resent}")
        if self.skipped:
            text += "; not in this format: " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items()))
        return text


class DeliveryError(Exception):
    def __init__(self, message: str, report: DeliveryReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class _Tally:
    records: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    writes: int = 0
    ka_sent: int = 0
    ka_responses: int = 0
    ka_mismatches: int = 0
    ka_unanswered: int = 0
    intake_ka: int = 0
    unexpected: int = 0
    reconnects: int = 0
    resent: int = 0

    def report(self, plan: Plan, started: float) -> DeliveryReport:
        return DeliveryReport(plan.fmt, dict(self.records), dict(self.channels), dict(self.bytes), self.writes,
                              self.ka_sent, self.ka_responses, self.ka_mismatches, self.ka_unanswered, self.intake_ka,
                              self.unexpected, self.reconnects, self.resent, dict(plan.skipped),
                              round(time.monotonic() - started, 3))


@dataclass
class _Options:
    host: str
    tls: ssl.SSLContext | None
    server_hostname: str | None
    connect_timeout: float
    io_timeout: float
    response_timeout: float


class _Handover:
    """One TCP handover connection: writes, keep-alive bookkeeping, the reader task."""

    def __init__(self, channel: str, port: int, opts: _Options, tally: _Tally, rng: random.Random) -> None:
        self.channel, self.port, self.opts, self.tally, self.rng = channel, port, opts, tally, rng
        self.pending = bytearray()
        self.outstanding: deque[int] = deque()
        self.history: deque[Record] = deque(maxlen=256)
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None
        self.threshold = rng.randint(2048, 65536)

    async def open(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            try:
                reader, self.writer = await asyncio.wait_for(asyncio.open_connection(
                    self.opts.host, self.port, ssl=self.opts.tls,
                    server_hostname=self.opts.server_hostname if self.opts.tls else None), self.opts.connect_timeout)
                break
            except (OSError, asyncio.TimeoutError):
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        self.task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        splitter = RecordSplitter()
        try:
            while data := await reader.read(65536):
                splitter.receive_data(data)
                while (record := splitter.next_record()) is not NEED_DATA:
                    if isinstance(record, bytes):
                        self._received(record)
        except MalformedRecord:
            self.tally.unexpected += 1
        except (OSError, asyncio.IncompleteReadError):
            pass

    def _received(self, record: bytes) -> None:
        try:
            header = read_header(record)
        except MalformedRecord:
            self.tally.unexpected += 1
            return
        if header.kind is RecordKind.KEEPALIVE_RESPONSE:
            self.tally.ka_responses += 1
            expected = self.outstanding.popleft() if self.outstanding else None
            if expected != header.sequence:
                self.tally.ka_mismatches += 1
        elif header.kind is RecordKind.KEEPALIVE and self.writer is not None:
            self.writer.write(keepalive_response(record))
            self.tally.intake_ka += 1
        else:
            self.tally.unexpected += 1

    def queue(self, record: Record, resend: bool = False) -> None:
        self.pending += record.data
        if record.kind == "keepalive":
            if not resend:
                self.outstanding.append(record.sequence or 0)
                self.tally.ka_sent += 1
        elif not resend:
            self.history.append(record)

    async def maybe_flush(self) -> None:
        if len(self.pending) >= self.threshold:
            self.threshold = self.rng.randint(2048, 65536)
            await self.flush()

    async def flush(self) -> None:
        assert self.writer is not None
        data, pos = bytes(self.pending), 0
        self.pending.clear()
        while pos < len(data):
            roll = self.rng.random()
            size = self.rng.randint(1, 64) if roll < 0.4 else self.rng.randint(65, 2048) if roll < 0.8 \
                else self.rng.randint(2049, 16384)
            self.writer.write(data[pos : pos + size])
            self.tally.writes += 1
            pos += size
        self.tally.bytes[self.channel] += len(data)
        if data:
            await asyncio.wait_for(self.writer.drain(), self.opts.io_timeout)

    async def settle(self, timeout: float) -> None:
        """Wait (bounded) until every keep-alive sent is answered."""
        deadline = time.monotonic() + timeout
        while self.outstanding and time.monotonic() < deadline and self.task is not None and not self.task.done():
            await asyncio.sleep(0.005)

    async def close(self, tail: bytes = b"") -> None:
        if self.writer is None:
            return
        try:
            await self.flush()
            if tail:
                self.writer.write(tail)
                self.tally.writes += 1
                self.tally.bytes[self.channel] += len(tail)
                await asyncio.wait_for(self.writer.drain(), self.opts.io_timeout)
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), self.opts.io_timeout)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            if self.task is not None:
                self.task.cancel()
                await asyncio.gather(self.task, return_exceptions=True)
            self.tally.ka_unanswered += len(self.outstanding)
            self.outstanding.clear()
            self.writer = None

    async def reconnect(self, drop: Drop, following: Record | None) -> None:
        await self.flush()
        await self.settle(self.opts.response_timeout)
        tail = following.data[: max(1, len(following.data) // 2)] if drop.partial and following else b""
        await self.close(tail)
        await self.open()
        self.tally.reconnects += 1
        for record in list(self.history)[len(self.history) - min(drop.resend, len(self.history)):]:
            self.queue(record, resend=True)
            self.tally.resent += 1
        await self.flush()


class _Datagrams(asyncio.DatagramProtocol):
    """PacketCable CCC: one UDP datagram per record."""

    def __init__(self, tally: _Tally) -> None:
        self.tally = tally
        self.transport: asyncio.DatagramTransport | None = None
        self.sent = 0

    async def open(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: self, remote_addr=(host, port))

    def send(self, record: Record) -> None:
        assert self.transport is not None
        self.transport.sendto(record.data)
        self.sent += 1
        self.tally.writes += 1
        self.tally.bytes[HI3] += len(record.data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def deliver(scenario: Scenario | Plan, *, host: str, hi2_port: int, hi3_port: int | None = None,
                  fmt: str = "etsi-102232", tls: ssl.SSLContext | None = None, realtime: bool = False,
                  speed: float = 1.0, now: datetime | None = None, envelope: str = "rose", seed: int | None = None,
                  server_hostname: str | None = None, connect_timeout: float = 5.0, io_timeout: float = 30.0,
                  response_timeout: float = 5.0, ccc_settle: float = 0.25) -> DeliveryReport:
    """Deliver a scenario (or an already built plan) to the intake at `host`."""
    if isinstance(scenario, Plan):
        plan = scenario
        if plan.fmt != fmt:
            raise ScenarioError(f"the plan is in {plan.fmt}, not {fmt}")
    else:
        plan = build(scenario, fmt, now=now or datetime.now(timezone.utc), envelope=envelope)
    if plan.hi3_transport != "none" and hi3_port is None:
        raise ScenarioError(f"{fmt} needs an HI3 port")
    if speed <= 0:
        raise ScenarioError("speed must be positive")
    opts = _Options(host, tls, server_hostname, connect_timeout, io_timeout, response_timeout)
    tally = _Tally()
    rng = random.Random(seed if seed is not None else int(plan.start.timestamp()))
    started = time.monotonic()
    conns: dict[str, _Handover] = {HI2: _Handover(HI2, hi2_port, opts, tally, rng)}
    udp: _Datagrams | None = None
    try:
        await conns[HI2].open()
        if plan.hi3_transport == "tcp" and hi3_port is not None:
            conns[HI3] = _Handover(HI3, hi3_port, opts, tally, rng)
            await conns[HI3].open()
        elif plan.hi3_transport == "udp" and hi3_port is not None:
            udp = _Datagrams(tally)
            await udp.open(host, hi3_port)
        await _run(plan, conns, udp, tally, realtime, speed, ccc_settle)
        for conn in conns.values():
            await conn.flush()
        for conn in conns.values():
            await conn.settle(response_timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        raise DeliveryError(f"delivery to {host} failed: {exc!r}", tally.report(plan, started)) from exc
    finally:
        for conn in conns.values():
            await conn.close()
        if udp is not None:
            udp.close()
    return tally.report(plan, started)


async def _run(plan: Plan, conns: dict[str, _Handover], udp: _Datagrams | None, tally: _Tally,
               realtime: bool, speed: float, ccc_settle: float) -> None:
    steps = plan.steps()
    t0 = time.monotonic()
    ccopen_pending = False
    for i, (channel, step) in enumerate(steps):
        if realtime:
            delay = t0 + step.at / speed - time.monotonic()
            if delay > 0:
                for conn in conns.values():
                    await conn.flush()
                await asyncio.sleep(delay)
        if isinstance(step, Drop):
            following = next((s for c, s in steps[i + 1:] if c == channel and isinstance(s, Record)), None)
            await conns[channel].reconnect(step, following)
            continue
        tally.records[step.kind] += 1
        tally.channels[channel] += 1
        if step.kind == "ccc":
            if udp is None:
                continue
            if ccopen_pending or conns[HI2].pending:
                await conns[HI2].flush()  # the CCOpen naming this CCC id goes first
                if ccopen_pending and not realtime:
                    await asyncio.sleep(ccc_settle)
                ccopen_pending = False
            udp.send(step)
            if not realtime and udp.sent % UDP_BURST == 0:
                await asyncio.sleep(UDP_PAUSE)
            continue
        conn = conns[channel]
        conn.queue(step)
        ccopen_pending = ccopen_pending or step.label == "ccopen"
        if realtime:
            await conn.flush()
        else:
            await conn.maybe_flush()
