"""D2: FIFO purge of the oldest data; never active, unexported or held data; signed; what
remains still verifies."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from calea.db.schema import cc_chunks, iri_records, segments, store_events
from calea.handover.model import Channel
from calea.intake.pipeline import Intake, Received
from calea.services import intercepts as icpt_svc
from calea.services import retention
from calea.store.retention import SegmentInfo, enforce_capacity, select_purge, store_usage
from calea.store.verify import verify_store
from tests.intake.conftest import Setup
from tests.intake.test_intake_behaviour import T, cc, iri

D = timedelta(days=1)


def seg(i: int, **kw: object) -> SegmentInfo:
    base = dict(id=f"s{i}", case_id="c", size=100, created_at=T + timedelta(hours=i), closed=True, released=True, held=False, active=False)
    base.update(kw)
    return SegmentInfo(**base)  # type: ignore[arg-type]


def test_select_purge_oldest_first_with_exceptions() -> None:
    segs = [seg(0, active=True), seg(1, released=False), seg(2, held=True), seg(3), seg(4), seg(5, closed=False)]
    chosen, skipped = select_purge(segs, used=600, capacity=350)
    assert [s.id for s in chosen] == ["s3", "s4"]
    assert {s.segment_id: s.reason for s in skipped} == {
        "s0": "an intercept of this data is still active", "s1": "not yet sealed or exported", "s2": "under legal hold",
        "s5": "still being written"}
    assert select_purge(segs, used=300, capacity=350) == ([], [])


def test_purge_keeps_rules_and_store_verifies(setup: Setup) -> None:
    setup.clock.set(T)
    old = setup.intercept("OLD-1", [{"kind": "e164", "value": "+12125550101"}], start=T - 20 * D, days=10)
    held = setup.intercept("HELD-1", [{"kind": "e164", "value": "+12125550102"}], start=T - 20 * D, days=10)
    live = setup.intercept("LIVE-1", [{"kind": "e164", "value": "+12125550103"}], start=T - D, days=30)
    intake = Intake(setup.svc)
    for liid, at in (("OLD-1", T - 15 * D), ("HELD-1", T - 15 * D), ("LIVE-1", T - timedelta(hours=2))):
        setup.clock.set(at + timedelta(minutes=5))  # delivered on time (not quarantined as very late, A8)
        recs = [iri(liid, 0, at)] + [cc(liid, s, at) for s in range(50)]
        intake.process([Received(r, Channel.HI3 if i else Channel.HI2, "etsi-102232", "t", at) for i, r in enumerate(recs)])
    setup.clock.set(T)
    intake.writer.close()  # closes the open segments
    retention.place_hold(setup.svc, setup.taru, held["case"]["id"], "Court order: preserve pending appeal")
    used = store_usage(setup.svc)
    # nothing exported yet: nothing may go
    report = enforce_capacity(setup.svc, intake.writer, capacity=used // 4)
    assert report["purged"] == [] and {s["reason"] for s in report["skipped"]} >= {"not yet sealed or exported"}
    for ctx in (old, held, live):
        retention.record_export(setup.svc, setup.taru, ctx["case"]["id"], until=T.isoformat(), reference="EXP-1")
    report = enforce_capacity(setup.svc, intake.writer, capacity=used // 4)
    with setup.svc.db.read() as conn:
        gone = conn.execute(select(segments.c.case_id).where(segments.c.purged_at.is_not(None))).scalars().all()
        left = dict(conn.execute(select(cc_chunks.c.liid, func.sum(cc_chunks.c.count)).group_by(cc_chunks.c.liid)).all())
        purge = conn.execute(select(store_events.c.body).where(store_events.c.kind == "purge")).scalars().all()
        assert conn.execute(select(func.count()).select_from(iri_records).where(iri_records.c.liid == "OLD-1")).scalar() == 0
    assert set(gone) == {old["case"]["id"]}  # the expired, exported, unheld case's data only
    assert left == {"HELD-1": 50, "LIVE-1": 50}
    assert {s["reason"] for s in report["skipped"]} == {"under legal hold", "an intercept of this data is still active"}
    assert purge and all(p["rule"] == "D2" and p["leaves"] for p in purge)
    result = verify_store(setup.svc)
    assert result.ok, result.problems
    assert icpt_svc  # the module is the one that activated the intercepts


def test_purge_never_takes_quarantined_data(setup: Setup) -> None:
    """D2 with B3/A8: data delivered more than the late limit after its window closed is kept in
    quarantine until a court directs -- exported or not, FIFO never takes it."""
    setup.clock.set(T)
    old = setup.intercept("LATE-1", [{"kind": "e164", "value": "+12125550104"}], start=T - 20 * D, days=10)
    intake = Intake(setup.svc)
    at = T - 15 * D  # inside the window; received at T, 10 days after the window closed (limit: 7)
    recs = [iri("LATE-1", 0, at)] + [cc("LATE-1", s, at) for s in range(50)]
    intake.process([Received(r, Channel.HI3 if i else Channel.HI2, "etsi-102232", "t", T) for i, r in enumerate(recs)])
    intake.writer.close()
    with setup.svc.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(cc_chunks).where(cc_chunks.c.quarantined.is_(False))).scalar() == 0
    retention.record_export(setup.svc, setup.taru, old["case"]["id"], until=T.isoformat(), reference="EXP-Q")
    report = enforce_capacity(setup.svc, intake.writer, capacity=0)
    assert report["purged"] == []
    assert {s["reason"] for s in report["skipped"]} == {"quarantined until a court directs (B3)"}
    with setup.svc.db.read() as conn:
        assert conn.execute(select(func.sum(cc_chunks.c.count)).where(cc_chunks.c.liid == "LATE-1")).scalar() == 50
