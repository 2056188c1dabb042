"""Shared scenarios, plans and an in-test intake for the carrier simulator's tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from calea.handover.etsi102232 import keepalive_response, read_header
from calea.handover.framing import NEED_DATA, RecordSplitter
from calea.handover.model import RecordKind
from calea.sim.build import build
from calea.sim.plan import Plan
from calea.sim.scenario import Call, IpSession, Scenario, Sms, Target, WebVisits, load_demo_scenario

START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)
from tests.conftest import VECTORS_ROOT  # noqa: E402

SHARED = VECTORS_ROOT.parent  # has vectors/ below it
VOIP = Target("LI-VOIP-1", sip_uri="sip:+12125550100@example.net", e164="+12125550100", imsi="310410123456789")
IPT = Target("LI-IP-1", ip="198.51.100.77", username="target1")
WEB = Target("LI-WEB-1", ip="203.0.113.80")


def all_outcomes(**call: object) -> Scenario:
    """Every call outcome, both directions, DTMF before and after answer, SMS, IP, web."""
    events = (
        Call("LI-VOIP-1", 1.0, "in", "+12125550199", "answered", ring=2.0, duration=3.0, dtmf_after="15#", **call),
        Call("LI-VOIP-1", 8.0, "out", "+13105550123", "busy"),
        Call("LI-VOIP-1", 10.0, "in", "+17185550142", "no-answer", ring=2.0),
        Call("LI-VOIP-1", 13.0, "out", "+13105550123", "cancelled", ring=2.0),
        Call("LI-VOIP-1", 16.0, "out", "+18005550111", "answered", ring=1.5, duration=2.0, dtmf_before="42",
             dtmf_after="9"),
        Sms("LI-VOIP-1", 20.0, "in", "+12125550199", "Meet me at the usual place at 5pm."),
        Sms("LI-VOIP-1", 21.0, "out", "+12125550199", "OK, see you there."),
        IpSession("LI-IP-1", 2.0, duration=10.0),
        WebVisits("LI-WEB-1", 3.0),
    )
    return Scenario((VOIP, IPT, WEB), events, "all", START, 3)


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return all_outcomes()


@pytest.fixture(scope="session")
def plans(scenario: Scenario) -> dict[str, Plan]:
    return {fmt: build(scenario, fmt, now=START) for fmt in ("etsi-102232", "ts101671-hi2", "pcesp")}


@pytest.fixture(scope="session")
def demo_plan() -> Plan:
    return build(load_demo_scenario(), "etsi-102232", now=START)


@dataclass
class Received:
    """What one connection of the fake intake got."""

    channel: str
    records: list[bytes] = field(default_factory=list)
    tail: int = 0  # bytes of an incomplete record at close


@dataclass
class FakeIntake:
    """A tiny intake: frames by BER length (RecordSplitter) and answers keep-alives.
    `answer` maps a keep-alive to its reply (None: stay silent)."""

    outer_tags: frozenset[int] | None = frozenset({0x30})
    answer: object = keepalive_response
    etsi: bool = True  # records are PS-PDUs (keep-alives possible)
    connections: list[Received] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    datagrams: list[bytes] = field(default_factory=list)

    def records(self, channel: str) -> list[bytes]:
        return [r for c in self.connections if c.channel == channel for r in c.records]

    def handler(self, channel: str):  # type: ignore[no-untyped-def]
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            got = Received(channel)
            self.connections.append(got)
            splitter = RecordSplitter(outer_tags=self.outer_tags)
            while data := await reader.read(65536):
                splitter.receive_data(data)
                while (record := splitter.next_record()) is not NEED_DATA:
                    assert isinstance(record, bytes)
                    got.records.append(record)
                    if self.etsi and read_header(record).kind is RecordKind.KEEPALIVE:
                        reply = self.answer(record)  # type: ignore[operator]
                        if reply:
                            writer.write(reply)
            got.tail = splitter.buffered
            writer.close()

        return handle


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, sink: list[bytes]) -> None:
        self.sink = sink

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sink.append(data)


async def start_intake(intake: FakeIntake, udp: bool = False, ssl: object = None) -> list[object]:
    hi2 = await asyncio.start_server(intake.handler("hi2"), "127.0.0.1", 0, ssl=ssl)  # type: ignore[arg-type]
    intake.ports["hi2"] = hi2.sockets[0].getsockname()[1]
    closers: list[object] = [hi2]
    if udp:
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Udp(intake.datagrams), local_addr=("127.0.0.1", 0))
        intake.ports["hi3"] = transport.get_extra_info("sockname")[1]
        closers.append(transport)
    else:
        hi3 = await asyncio.start_server(intake.handler("hi3"), "127.0.0.1", 0, ssl=ssl)  # type: ignore[arg-type]
        intake.ports["hi3"] = hi3.sockets[0].getsockname()[1]
        closers.append(hi3)
    return closers


async def stop_intake(closers: list[object]) -> None:
    await asyncio.sleep(0.05)  # let the handlers read what is in flight
    for c in closers:
        c.close()  # type: ignore[attr-defined]
