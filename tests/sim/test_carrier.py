"""`deliver()` against a tiny intake on 127.0.0.1: every record arrives, keep-alives are
answered and checked, a dropped connection is re-established and its tail resent."""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import replace
from pathlib import Path

import pytest

from calea.handover.etsi102232 import KeepAliveResponse, encode_keepalive, encode_ps_pdu, read_header
from calea.handover.etsi102232 import PSHeader
from calea.intake.tls import ensure_server_cert
from calea.sim.build import build
from calea.sim.carrier import DeliveryError, DeliveryReport, deliver
from calea.sim.plan import Drop, Plan
from calea.sim.scenario import Call, Carrier, Idle, Reconnect, Scenario, ScenarioError, Sms

from .conftest import START, VOIP, FakeIntake, start_intake, stop_intake


def _run(intake: FakeIntake, plan: Plan, udp: bool = False, server_ssl: object = None, **kwargs: object) -> DeliveryReport:
    async def main() -> DeliveryReport:
        closers = await start_intake(intake, udp=udp, ssl=server_ssl)
        try:
            return await deliver(plan, host="127.0.0.1", hi2_port=intake.ports["hi2"], hi3_port=intake.ports["hi3"],
                                 fmt=plan.fmt, **kwargs)  # type: ignore[arg-type]
        finally:
            await stop_intake(closers)

    return asyncio.run(main())


def _small(*events: object, interval: float = 5.0) -> Scenario:
    return Scenario((VOIP,), tuple(events), "small", START, 5, Carrier(keepalive_interval=interval))  # type: ignore[arg-type]


def test_demo_arrives_whole_with_keepalives_and_resend(demo_plan: Plan) -> None:
    intake = FakeIntake()
    report = _run(intake, demo_plan)
    assert report.ok and report.records == dict(demo_plan.counts())
    assert report.keepalives_sent == report.keepalive_responses == 8 and report.keepalive_mismatches == 0
    assert report.reconnects == 1 and report.resent == 5
    assert intake.records("hi2") == [r.data for r in demo_plan.records("hi2")]
    hi3 = [c for c in intake.connections if c.channel == "hi3"]
    assert len(hi3) == 2 and hi3[0].tail == 0
    cut = demo_plan.hi3.index(next(s for s in demo_plan.hi3 if isinstance(s, Drop)))
    before = [r.data for r in demo_plan.hi3[:cut]]  # type: ignore[union-attr]
    after = [r.data for r in demo_plan.hi3[cut + 1:]]  # type: ignore[union-attr]
    assert hi3[0].records == before
    assert hi3[1].records == before[-5:] + after  # the last five again, then the rest
    assert report.writes > 10 and report.bytes["hi3"] == sum(map(len, before + before[-5:] + after))


def test_partial_record_before_the_drop() -> None:
    plan = build(_small(Sms("LI-VOIP-1", 1.0, text="one"), Sms("LI-VOIP-1", 2.0, text="two"),
                        Reconnect(2.5, "hi2", resend=3, partial=True), Sms("LI-VOIP-1", 3.0, text="three")),
                 "etsi-102232")
    intake = FakeIntake()
    report = _run(intake, plan)
    first, second = [c for c in intake.connections if c.channel == "hi2"]
    records = [r.data for r in plan.records("hi2")]
    assert first.records == records[:4] and 0 < first.tail < len(records[4])
    assert second.records == records[1:4] + records[4:]
    assert report.resent == 3 and report.ok


def test_wrong_keepalive_responses_are_counted() -> None:
    def wrong(record: bytes) -> bytes:
        h = read_header(record)
        return encode_ps_pdu(h._replace(kind=None, sequence=h.sequence + 1), KeepAliveResponse())

    plan = build(_small(Idle(0.0, 2.0), interval=0.5), "etsi-102232")
    report = _run(FakeIntake(answer=wrong), plan)
    assert report.keepalives_sent == 6 and report.keepalive_responses == 6
    assert report.keepalive_mismatches == 6 and not report.ok


def test_unanswered_keepalives_are_counted_and_bounded() -> None:
    plan = build(_small(Idle(0.0, 1.2), interval=0.5), "etsi-102232")
    report = _run(FakeIntake(answer=lambda record: None), plan, response_timeout=0.2)
    assert report.keepalives_sent == 4 and report.keepalives_unanswered == 4 and not report.ok
    assert report.elapsed < 5.0  # bounded (the plan idles 1.2 s; a loaded machine adds its own delays)


def test_keepalive_from_the_intake_is_answered() -> None:
    plan = build(_small(Sms("LI-VOIP-1", 0.1)), "etsi-102232")
    probe = encode_keepalive(PSHeader("lemf", 41, cin=0, operator_id="LEA", timestamp_us=1))

    class Probing(FakeIntake):
        def handler(self, channel: str):  # type: ignore[no-untyped-def]
            inner = super().handler(channel)

            async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                writer.write(probe)
                await inner(reader, writer)

            return handle

    intake = Probing()
    report = _run(intake, plan)
    replies = [r for r in intake.records("hi2") if read_header(r).kind.value == "keepalive-response"]
    assert [read_header(r).sequence for r in replies] == [41] and report.intake_keepalives_answered == 2


def test_pcesp_cdc_over_tcp_and_ccc_over_udp() -> None:
    plan = build(_small(Call("LI-VOIP-1", 0.5, "out", outcome="answered", ring=0.5, duration=1.0)), "pcesp")
    intake = FakeIntake(etsi=False)
    report = _run(intake, plan, udp=True, ccc_settle=0.05)
    assert intake.records("hi2") == [r.data for r in plan.records("hi2")]
    assert sorted(intake.datagrams) == sorted(r.data for r in plan.records("hi3"))
    assert report.records == {"cdc": 6, "ccc": len(plan.records("hi3"))} and report.ok  # with the ringback NetworkSignal


def test_ts101671_hi2_only() -> None:
    plan = build(_small(Call("LI-VOIP-1", 0.5), Sms("LI-VOIP-1", 2.0)), "ts101671-hi2")
    intake = FakeIntake(outer_tags=None, etsi=False)  # a ROSE Invoke record starts with [1], not SEQUENCE
    report = _run(intake, plan)
    assert intake.records("hi2") == [r.data for r in plan.records("hi2")] and len(intake.connections) == 1
    assert report.records == {"iri": 4}


def test_realtime_follows_the_timeline() -> None:
    plan = build(_small(Sms("LI-VOIP-1", 0.6), Idle(0.0, 1.0), interval=0.3), "etsi-102232")
    report = _run(FakeIntake(), plan, realtime=True, speed=2.0)
    assert 0.35 <= report.elapsed < 3.0 and report.ok and report.keepalives_sent >= 4


def test_tls(tmp_path: Path) -> None:
    cert, key = ensure_server_cert(tmp_path / "tls")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    plan = build(_small(Sms("LI-VOIP-1", 0.1), Idle(0.0, 0.5), interval=0.2), "etsi-102232")
    intake = FakeIntake()
    report = _run(intake, plan, server_ssl=server, tls=client, server_hostname="calea-intake")
    assert report.ok and intake.records("hi2") == [r.data for r in plan.records("hi2")]


def test_refused_connection_raises_with_a_report() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    plan = build(_small(Sms("LI-VOIP-1", 0.1)), "etsi-102232")
    with pytest.raises(DeliveryError) as err:
        asyncio.run(deliver(plan, host="127.0.0.1", hi2_port=port, hi3_port=port, connect_timeout=0.5))
    assert err.value.report.records == {}


def test_misuse() -> None:
    plan = build(_small(Sms("LI-VOIP-1", 0.1)), "etsi-102232")
    with pytest.raises(ScenarioError):
        asyncio.run(deliver(plan, host="127.0.0.1", hi2_port=1, hi3_port=None))
    with pytest.raises(ScenarioError):
        asyncio.run(deliver(plan, host="127.0.0.1", hi2_port=1, hi3_port=2, fmt="pcesp"))
    with pytest.raises(ScenarioError):
        asyncio.run(deliver(replace(_small(), start=None), host="127.0.0.1", hi2_port=1, hi3_port=2, speed=0))
