"""PacketCable call content (UDP) can reach the listener before the pipeline has processed the
CCOpen that names its CCC id (CDC over TCP, queued a moment earlier), or, reordered on the
network, before the CCOpen has even been received.  The pipeline, which takes records in the
order they arrived, decides the datagram's LIID with the map as it is after everything queued
before it; content whose id no CCOpen has named yet is held (CCC_HOLD, CCC_HOLD_MAX) for the
CCOpen: stored when it comes, refused (A7) when it does not."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from calea.db.schema import cc_chunks, refusals
from calea.handover import pcesp_encode as pe
from calea.handover.model import Channel
from calea.handover.pcesp_ccc import decode_ccc, encode_ccc
from calea.intake import pipeline
from calea.intake.pipeline import CCC_HOLD, Intake, Received
from tests.intake.conftest import Setup

CALL = pe.CallIdentity("1795780800,42", "CMS-7")
RTP = bytes.fromhex("4500001c000000004011") + bytes(40)


def test_content_that_overtook_its_ccopen_is_stored(setup: Setup) -> None:
    setup.intercept("PC-RACE-1", [{"kind": "e164", "value": "+12125550100"}])
    now = setup.clock.now()
    cdc = pe.call_flow("PC-RACE-1", "AE-1", CALL, "2125550100", "7185550199", 0x1A2B3C4D, now - timedelta(seconds=70))[:2]
    early = encode_ccc(0x1A2B3C4D, RTP)  # received before the CCOpen was learnt
    stray = encode_ccc(0x0BADF00D, RTP)  # no CCOpen names it
    intake = Intake(setup.svc)
    try:
        batch = [Received(r, Channel.HI2, "pcesp", "cdc-peer", now) for r in cdc]
        batch += [Received(d, Channel.HI3, "pcesp-ccc", "ccc-peer", now) for d in (early, stray)]  # as the listener queues them
        arrived = decode_ccc(early, intake.ccc_map, now)  # what the map said when the datagram arrived
        assert arrived.liid == "" and arrived.fields["unmapped_ccc"]
        intake.process(batch)
        assert _refused(setup) == []  # the stray is held for a CCOpen that might still come...
        setup.clock.advance(CCC_HOLD)
        intake.process([])  # (what the intake does when no traffic comes)
    finally:
        setup.svc.store_writer().close()
    assert _stored(setup, "PC-RACE-1") == 1
    assert _refused(setup) == [("", "A7", "0BADF00D")]  # ...and refused when none has


def _stored(setup: Setup, liid: str) -> int:
    with setup.svc.db.read() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(cc_chunks.c.count), 0)).where(cc_chunks.c.liid == liid)).scalar())


def _refused(setup: Setup) -> list[tuple[str, str, str]]:
    with setup.svc.db.read() as conn:
        return [tuple(r) for r in conn.execute(select(refusals.c.liid, refusals.c.rule, refusals.c.cin).order_by(refusals.c.id))]


def test_content_that_trails_its_ccclose_keeps_its_liid_for_a_grace_period(setup: Setup) -> None:
    """UDP packets sent just before the CCClose may be read after it: for CCC_GRACE the id still
    names its LIID; after that it names nothing (A7), and its content is not held for a new CCOpen
    (CCC_CLOSED): it is the ended call's."""
    from calea.intake.pipeline import CCC_GRACE

    setup.intercept("PC-RACE-2", [{"kind": "e164", "value": "+12125550100"}])
    now = setup.clock.now()
    flow = pe.call_flow("PC-RACE-2", "AE-1", CALL, "2125550100", "7185550199", 0x2B3C4D5E, now - timedelta(seconds=70))
    ccc = encode_ccc(0x2B3C4D5E, RTP)
    intake = Intake(setup.svc)
    try:
        intake.process([Received(r, Channel.HI2, "pcesp", "cdc-peer", now) for r in flow]  # ends with its CCClose
                       + [Received(ccc, Channel.HI3, "pcesp-ccc", "ccc-peer", now)])  # read after it
        setup.clock.advance(CCC_GRACE - timedelta(seconds=1))
        intake.process([Received(ccc, Channel.HI3, "pcesp-ccc", "ccc-peer", setup.clock.now())])
        setup.clock.advance(timedelta(seconds=2))
        intake.process([Received(ccc, Channel.HI3, "pcesp-ccc", "ccc-peer", setup.clock.now())])
    finally:
        setup.svc.store_writer().close()
    with setup.svc.db.read() as conn:
        stored = conn.execute(select(func.sum(cc_chunks.c.count)).where(cc_chunks.c.liid == "PC-RACE-2")).scalar()
        refused = conn.execute(select(refusals.c.rule)).all()
    assert stored == 2 and [r.rule for r in refused] == ["A7"]
    assert 0x2B3C4D5E not in intake.ccc_map


def test_content_that_arrived_before_its_ccopen_was_received_waits_for_it(setup: Setup) -> None:
    """Reordered on the network: the datagrams are read, and a batch passes, before the CCOpen
    reaches the CDC listener.  Held, they are stored under the CCOpen's LIID when it comes."""
    setup.intercept("PC-RACE-3", [{"kind": "e164", "value": "+12125550100"}])
    now = setup.clock.now()
    flow = pe.call_flow("PC-RACE-3", "AE-1", CALL, "2125550100", "7185550199", 0x3C4D5E6F, now - timedelta(seconds=70))
    intake = Intake(setup.svc)
    try:
        intake.process([Received(encode_ccc(0x3C4D5E6F, RTP), Channel.HI3, "pcesp-ccc", "ccc-peer", now) for _ in range(3)])
        assert _stored(setup, "PC-RACE-3") == 0 and _refused(setup) == [] and intake.stats.counters.held == 3
        setup.clock.advance(CCC_HOLD / 2)
        intake.process([Received(r, Channel.HI2, "pcesp", "cdc-peer", setup.clock.now()) for r in flow[:2]])  # its CCOpen
    finally:
        setup.svc.store_writer().close()
    assert _stored(setup, "PC-RACE-3") == 3 and _refused(setup) == []
    assert intake._ccc_held == {} and intake.stats.counters.held == 0


def test_the_hold_is_bounded_and_a_stopping_intake_decides_what_it_holds(setup: Setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Beyond CCC_HOLD_MAX datagrams the id that has waited longest goes to the gate at once
    (memory stays bounded whatever a peer sends); on stop, what is still held is decided."""
    monkeypatch.setattr(pipeline, "CCC_HOLD_MAX", 2)
    now = setup.clock.now()
    intake = Intake(setup.svc)
    intake.start()
    try:
        for ccc_id in (0x01, 0x02, 0x03):
            intake.offer(Received(encode_ccc(ccc_id, RTP), Channel.HI3, "pcesp-ccc", "ccc-peer", now))
            assert intake.wait_idle()
        assert _refused(setup) == [("", "A7", "00000001")] and sorted(intake._ccc_held) == [2, 3]
    finally:
        intake.stop()
    assert sorted(r[2] for r in _refused(setup)) == ["00000001", "00000002", "00000003"]
    assert intake._ccc_held == {}


def test_held_content_is_refused_when_no_traffic_comes(setup: Setup) -> None:
    """An idle intake still decides held content once it has waited CCC_HOLD (the alert
    must not wait for the next delivery)."""
    intake = Intake(setup.svc)
    intake.start()
    try:
        intake.offer(Received(encode_ccc(0x77, RTP), Channel.HI3, "pcesp-ccc", "ccc-peer", setup.clock.now()))
        assert intake.wait_idle() and _refused(setup) == []
        setup.clock.advance(CCC_HOLD)
        for _ in range(50):  # the intake's idle tick is 0.1 s
            if _refused(setup):
                break
            time.sleep(0.1)
        assert _refused(setup) == [("", "A7", "00000077")]
    finally:
        intake.stop()
