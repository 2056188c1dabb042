"""Rule B3: a missed emergency deadline stops the intercept and quarantines its data at the
deadline, to the second; the scheduler runs on a controllable clock."""

from __future__ import annotations

import time
from datetime import timedelta

from calea.services.intercepts import coverage
from calea.services.scheduler import QUARANTINE_HOOKS, Scheduler, enforce_deadlines
from tests.integration.conftest import TARGET, PDF, World, iso, upload
from tests.integration.test_legal_flow import GOOD_FINDINGS, datetime_of


def exigent_intercept(world: World, level: str = "state") -> dict:  # type: ignore[type-arg]
    taru_user, taru = world.as_role("taru", "Technical Assistance Response Unit")
    inv, ic = world.as_role("investigator")
    _, sup = world.as_role("supervisor")
    case = ic.post("/api/v1/cases", json={"complaint_number": f"2026-E{world.counter}", "title": "Hostage"}).json()
    decl = ic.post(f"/api/v1/cases/{case['id']}/declarations", json={
        "kind": "emergency_eavesdropping", "court_level": level, "findings": GOOD_FINDINGS,
        "identifiers": [TARGET], "offenses": ["PL 135.25"]}).json()
    sup.post(f"/api/v1/cases/{case['id']}/approval", json={"reasons": "Imminent danger to life."})
    sup.post(f"/api/v1/declarations/{decl['id']}/approve")
    carrier = taru.post("/api/v1/carriers", json={"name": f"Tel{world.counter}"}).json()
    icpt = taru.post(f"/api/v1/cases/{case['id']}/intercepts", json={"carrier_id": carrier["id"], "liid": f"EX-{world.counter}", "identifiers": [TARGET]}).json()
    act = taru.post(f"/api/v1/intercepts/{icpt['id']}/activate")
    assert act.status_code == 200, act.text
    grant = taru.post(f"/api/v1/cases/{case['id']}/grants", json={"user_id": inv["id"], "authority_id": decl["authority"]["id"], "purpose": "Locate the victim"})
    assert grant.status_code == 201, grant.text
    auth = taru.get(f"/api/v1/cases/{case['id']}/authorities").json()[0]
    return {"case": case, "authority": auth, "intercept": icpt, "taru": taru, "inv": ic, "grant": grant.json(),
            "taru_user": taru_user, "inv_user": inv}


def fresh(world: World, ctx: dict, who: str = "taru"):  # type: ignore[no-untyped-def, type-arg]
    """Sessions time out when the test clock jumps hours ahead: sign in again."""
    return world.client(ctx[f"{who}_user"])


def test_b3_missed_deadline_enforced_to_the_second(world: World) -> None:
    ctx = exigent_intercept(world)
    due = datetime_of(ctx["authority"]["deadline_at"])
    assert due == world.clock.now() + timedelta(hours=24)  # A4, state court
    # the grant rests on the emergency authority: it ends no later than the deadline (C2)
    assert datetime_of(ctx["grant"]["ends_at"]) == due
    seen: list[tuple[str, object]] = []
    QUARANTINE_HOOKS.append(lambda conn, intercept_id, at: seen.append((intercept_id, at)))
    try:
        world.clock.set(due - timedelta(seconds=1))
        assert enforce_deadlines(world.svc) == []
        assert coverage(world.svc, liid=ctx["intercept"]["liid"], identifier=None, intercepted_at=due - timedelta(seconds=1),
                        has_content=True).stored
        world.clock.set(due)
        assert enforce_deadlines(world.svc) == [ctx["authority"]["id"]]
        assert enforce_deadlines(world.svc) == []  # idempotent
    finally:
        QUARANTINE_HOOKS.clear()
    assert seen == [(ctx["intercept"]["id"], due)]  # the store is told to quarantine the data at the deadline
    ctx["taru"] = fresh(world, ctx)
    icpt = ctx["taru"].get(f"/api/v1/intercepts/{ctx['intercept']['id']}").json()
    assert icpt["status"] == "quarantined" and datetime_of(icpt["quarantined_at"]) == due
    at_deadline = coverage(world.svc, liid=ctx["intercept"]["liid"], identifier=None, intercepted_at=due, has_content=False)
    assert not at_deadline.stored and at_deadline.rule == "B3"
    straggler = coverage(world.svc, liid=ctx["intercept"]["liid"], identifier=None, intercepted_at=due - timedelta(seconds=1), has_content=False)
    assert straggler.stored and straggler.quarantine
    alerts = ctx["taru"].get("/api/v1/alerts").json()
    assert any(a["rule"] == "B3" and a["kind"] == "emergency.deadline_missed" for a in alerts)
    # the investigator's grant is suspended: intercepted data is closed to them (the case
    # record stays open to its opener)
    from calea.services.access import has_active_grant

    with world.svc.db.read() as conn:
        assert not has_active_grant(conn, world.svc, ctx["inv_user"]["id"], ctx["case"]["id"])
    grants = ctx["taru"].get(f"/api/v1/cases/{ctx['case']['id']}/grants").json()
    assert all(datetime_of(g["suspended_at"]) == due for g in grants)
    # the emergency order can no longer be attached; a court must direct what happens
    doc = upload(ctx["taru"], ctx["case"]["id"], PDF)
    late = ctx["taru"].post(f"/api/v1/authorities/{ctx['authority']['id']}/document", json={
        "document_id": doc["id"], "court": "Supreme Court", "judge": "Hon. J", "docket": "EW-1",
        "issued_at": iso(due), "expires_at": iso(due + timedelta(days=20))})
    assert late.status_code == 422 and late.json()["rule"] == "B3"


def test_b3_document_uploaded_in_time_keeps_intercept(world: World) -> None:
    ctx = exigent_intercept(world, level="federal")
    due = datetime_of(ctx["authority"]["deadline_at"])
    assert due == world.clock.now() + timedelta(hours=48)  # A4, federal court
    world.clock.advance(timedelta(hours=30))
    ctx["taru"] = fresh(world, ctx)
    doc = upload(ctx["taru"], ctx["case"]["id"], PDF)
    r = ctx["taru"].post(f"/api/v1/authorities/{ctx['authority']['id']}/document", json={
        "document_id": doc["id"], "court": "U.S. District Court S.D.N.Y.", "judge": "Hon. K", "docket": "26-MJ-1",
        "issued_at": iso(world.clock.now()), "expires_at": iso(world.clock.now() + timedelta(days=20))})
    assert r.status_code == 200, r.text
    world.clock.set(due + timedelta(seconds=5))
    assert enforce_deadlines(world.svc) == []
    assert fresh(world, ctx).get(f"/api/v1/intercepts/{ctx['intercept']['id']}").json()["status"] == "active"


def test_scheduler_thread_enforces_on_its_own(world: World) -> None:
    ctx = exigent_intercept(world)
    world.clock.set(datetime_of(ctx["authority"]["deadline_at"]) + timedelta(seconds=1))
    ctx["taru"] = fresh(world, ctx)
    sched = Scheduler(world.svc, interval=0.02)
    sched.start()
    try:
        for _ in range(200):
            if ctx["taru"].get(f"/api/v1/intercepts/{ctx['intercept']['id']}").json()["status"] == "quarantined":
                break
            time.sleep(0.02)
    finally:
        sched.stop()
    assert ctx["taru"].get(f"/api/v1/intercepts/{ctx['intercept']['id']}").json()["status"] == "quarantined"
