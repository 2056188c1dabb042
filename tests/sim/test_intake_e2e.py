"""The demo scenario delivered to the real intake (listeners, pipeline, store): every
record stored once, the resent tail counted as duplicates, nothing refused or malformed."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

from sqlalchemy import func, select

from calea.db.schema import cc_chunks, iri_records, malformed, refusals
from calea.sim.build import build
from calea.sim.carrier import deliver
from calea.sim.scenario import load_demo_scenario
from tests.intake.conftest import RunningIntake, Setup, running, setup  # noqa: F401 (fixtures)

VOIP = [{"kind": "sip_uri", "value": "sip:+12125550100@example.net"}, {"kind": "e164", "value": "+12125550100"}]


def test_demo_into_the_intake(setup: Setup, running: RunningIntake) -> None:  # noqa: F811
    setup.intercept("DEMO-VOIP-0001", VOIP)
    setup.intercept("DEMO-IP-0001", [{"kind": "ip", "value": "198.51.100.77"}])
    setup.intercept("DEMO-WEB-0001", [{"kind": "url", "value": "http://203.0.113.80/"}])
    running.intake.refresh_snapshot()
    plan = build(load_demo_scenario(), "etsi-102232", now=setup.clock.now() - timedelta(minutes=5))
    report = asyncio.run(deliver(plan, host="127.0.0.1", hi2_port=running.ports["hi2"],
                                 hi3_port=running.ports["hi3"]))
    assert report.ok and report.keepalive_responses == report.keepalives_sent == 8
    running.settle(3)  # HI2, HI3 before the drop, HI3 after
    counts = plan.counts()
    with setup.svc.db.read() as conn:
        stored_iri = conn.execute(select(func.count()).select_from(iri_records)).scalar()
        stored_cc = conn.execute(select(func.sum(cc_chunks.c.count))).scalar()
        bad = conn.execute(select(func.count()).select_from(malformed)).scalar()
        refused = conn.execute(select(func.count()).select_from(refusals)).scalar()
    assert (stored_iri, stored_cc, bad, refused) == (counts["iri"], counts["cc"], 0, 0)
    assert running.intake.stats.counters.duplicates == 5


def _other_format(setup: Setup, fmt: str, hi3: str | None) -> tuple[RunningIntake, object]:  # noqa: F811
    from calea.handover.model import Channel
    from calea.intake.pipeline import Intake

    formats = {"hi2": (fmt, Channel.HI2)}
    if hi3:
        formats["hi3"] = (hi3, Channel.HI3)
    return RunningIntake(Intake(setup.svc, max_delay=0.01), formats), None


def test_ts101671_into_the_intake(setup: Setup) -> None:  # noqa: F811
    """TS 101 671 HI2 records (ROSE-wrapped IRIsContent) framed, decoded, gated and stored."""
    setup.intercept("DEMO-VOIP-0001", VOIP)
    r, _ = _other_format(setup, "ts101671-hi2", None)
    try:
        plan = build(load_demo_scenario(), "ts101671-hi2", now=setup.clock.now() - timedelta(minutes=5))
        report = asyncio.run(deliver(plan, host="127.0.0.1", hi2_port=r.ports["hi2"], fmt="ts101671-hi2"))
        assert report.ok
        r.settle(1)
        with setup.svc.db.read() as conn:
            stored = conn.execute(select(func.count()).select_from(iri_records).where(iri_records.c.format == "ts101671-hi2")).scalar()
            bad = conn.execute(select(func.count()).select_from(malformed)).scalar()
        with setup.svc.db.read() as conn:
            why = conn.execute(select(malformed.c.reason, malformed.c.message)).all()
        assert bad == 0 and stored == plan.counts()["iri"] > 0, why
    finally:
        r.close()


def test_pcesp_into_the_intake(setup: Setup) -> None:  # noqa: F811
    """PacketCable CDC over TCP and CCC over UDP; the CCC ids learnt from CCOpen."""
    setup.intercept("DEMO-VOIP-0001", VOIP)
    r, _ = _other_format(setup, "pcesp", "pcesp-ccc")
    try:
        udp = r.servers[1].transport.get_extra_info("socket")  # type: ignore[attr-defined]
        assert udp.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) > 1 << 20  # room for a burst
        plan = build(load_demo_scenario(), "pcesp", now=setup.clock.now() - timedelta(minutes=5))
        report = asyncio.run(deliver(plan, host="127.0.0.1", hi2_port=r.ports["hi2"], hi3_port=r.ports["hi3"], fmt="pcesp"))
        assert report.ok
        r.settle(1)
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r.intake.wait_idle(5)
            with setup.svc.db.read() as conn:
                cc = conn.execute(select(func.sum(cc_chunks.c.count)).where(cc_chunks.c.format == "pcesp-ccc")).scalar() or 0
            if cc >= plan.counts()["ccc"]:
                break
            time.sleep(0.05)
        with setup.svc.db.read() as conn:
            cdc = conn.execute(select(func.count()).select_from(iri_records).where(iri_records.c.format == "pcesp-cdc")).scalar()
        assert cdc == plan.counts()["cdc"] and cc == plan.counts()["ccc"]
        from calea.store.verify import verify_store

        assert verify_store(setup.svc).ok
    finally:
        r.close()
