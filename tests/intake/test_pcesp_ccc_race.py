"""PacketCable call content (UDP) can reach the listener before the pipeline has processed the
CCOpen that names its CCC id (CDC over TCP, queued a moment earlier).  The pipeline, which
takes records in the order they arrived, decides the datagram's LIID with the map as it is
after everything queued before it: stored, not refused (A7).  An id no CCOpen named is refused."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from calea.db.schema import cc_chunks, refusals
from calea.handover import pcesp_encode as pe
from calea.handover.model import Channel
from calea.handover.pcesp_ccc import decode_ccc, encode_ccc
from calea.intake.pipeline import Intake, Received
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
    finally:
        setup.svc.store_writer().close()
    with setup.svc.db.read() as conn:
        stored = conn.execute(select(func.sum(cc_chunks.c.count)).where(cc_chunks.c.liid == "PC-RACE-1")).scalar()
        refused = conn.execute(select(refusals.c.liid, refusals.c.rule, refusals.c.cin)).all()
    assert stored == 1
    assert [(r.liid, r.rule) for r in refused] == [("", "A7")]


def test_content_that_trails_its_ccclose_keeps_its_liid_for_a_grace_period(setup: Setup) -> None:
    """UDP packets sent just before the CCClose may be read after it: for CCC_GRACE the id still
    names its LIID; after that it names nothing (A7)."""
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
