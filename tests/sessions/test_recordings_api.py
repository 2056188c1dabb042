"""Recordings through the API: grant and purpose (C2, C5), every read audited, Range
requests (206 / 416), quarantine (B3) and nothing under a PRTT order (A6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from calea.db.schema import audit_events, intercepts
from calea.intake.pipeline import Intake
from calea.services import grants, users
from calea.web.api.recordings import RangeNotSatisfiable, parse_range
from calea.web.app import create_app
from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.sessions.recording_helpers import IDENTIFIERS, TARGET, Clock, call_plan, feed, recorder_for, timeline

PURPOSE = {"X-Calea-Purpose": "Review of call 1 for the wire room log"}


@dataclass
class World:
    setup: Setup
    ctx: dict[str, Any]
    recording_id: str | None
    detective: dict[str, Any]


def record_call(s: Setup, *, kind: str = "eavesdropping", liid: str = TARGET["liid"]) -> tuple[dict[str, Any], str | None]:
    ctx = s.intercept(liid, IDENTIFIERS, kind=kind, days=60 if kind == "prtt" else 30)
    intake, clock = Intake(s.svc), Clock()
    try:
        recorder = recorder_for(s.svc, intake, clock)
        plan = call_plan(s.clock.now(), duration=2.0, liid=liid)
        feed(intake, plan, [(ch, r) for ch, r in timeline(plan)])
        clock.t = 5.0
        stored = recorder.poll()
    finally:
        intake.writer.close()
    return ctx, (stored[0] if stored else None)


@pytest.fixture
def world(setup: Setup) -> Iterator[World]:  # noqa: F811
    ctx, rec_id = record_call(setup)
    det = users.create_user(setup.svc, None, username="det.rec", password="Correct-Horse-42", role="investigator",
                            unit="Narcotics Division")
    yield World(setup, ctx, rec_id, det)


def app_with_recordings(svc: Any) -> Any:
    """The app, with the recordings router (until the lead adds it to API_ROUTERS)."""
    from calea.web.api import recordings as api

    app = create_app(svc)
    if not any(getattr(r, "path", "").endswith("/recordings") for r in app.routes):
        app.include_router(api.router, prefix="/api/v1")
    return app


def login(svc: Any, username: str) -> TestClient:
    client = TestClient(app_with_recordings(svc), client=("127.0.0.1", 5000))
    assert client.post("/api/v1/auth/login", json={"username": username, "password": "Correct-Horse-42"}).status_code == 200
    return client


def grant(w: World, user: dict[str, Any], ctx: dict[str, Any] | None = None) -> None:
    ctx = ctx or w.ctx
    grants.create_grant(w.setup.svc, w.setup.taru, ctx["case"]["id"],
                        {"user_id": user["id"], "authority_id": ctx["authority"]["id"], "purpose": "Wire room"})


def test_grant_and_purpose_then_every_read_audited(world: World) -> None:
    case_id = world.ctx["case"]["id"]
    client = login(world.setup.svc, "det.rec")
    base = f"/api/v1/cases/{case_id}/recordings"
    r = client.get(base, headers=PURPOSE)
    assert r.status_code == 403 and r.json()["rule"] == "C2"  # no grant
    grant(world, world.detective)
    r = client.get(base)
    assert r.status_code == 403 and r.json()["rule"] == "C5"  # no purpose
    listed = client.get(base, headers=PURPOSE).json()
    assert [x["id"] for x in listed] == [world.recording_id]
    assert listed[0]["files"]["master"]["media_type"] == "audio/flac" and listed[0]["quarantined"] is False
    one = client.get(f"{base}/{world.recording_id}", params={"purpose": "check the digits"}).json()
    assert one["markers"]["placement"] == "sdp" and one["duration_ms"] > 1900
    assert client.get(f"{base}/{'0' * 36}", headers=PURPOSE).status_code == 404
    with world.setup.svc.db.read() as conn:
        seen = conn.execute(select(audit_events.c.action, audit_events.c.purpose, audit_events.c.object_id)
                            .where(audit_events.c.action.like("recordings.%"))).all()
    assert ("recordings.list", PURPOSE["X-Calea-Purpose"], "1 recordings") in seen
    assert ("recordings.read", "check the digits", world.recording_id) in seen


def test_range_requests(world: World) -> None:
    grant(world, world.detective)
    client = login(world.setup.svc, "det.rec")
    url = f"/api/v1/cases/{world.ctx['case']['id']}/recordings/{world.recording_id}"
    whole = client.get(f"{url}/master", headers=PURPOSE)
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/flac"
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["cache-control"] == "no-store"
    data, size = whole.content, len(whole.content)
    assert data[:4] == b"fLaC"
    import hashlib

    assert whole.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'  # D1: the content's SHA-256
    cases = [("bytes=0-99", 0, 99), ("bytes=-50", size - 50, size - 1), ("bytes=100-", 100, size - 1),
             ("bytes=10-999999999", 10, size - 1)]
    for header, first, last in cases:
        r = client.get(f"{url}/master", headers={**PURPOSE, "Range": header})
        assert r.status_code == 206, header
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert r.content == data[first:last + 1] and int(r.headers["content-length"]) == last - first + 1
    bad = client.get(f"{url}/master", headers={**PURPOSE, "Range": f"bytes={size}-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{size}"
    assert bad.json()["error"] == "range_not_satisfiable"
    several = client.get(f"{url}/master", headers={**PURPOSE, "Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == data
    opus = client.get(f"{url}/rendition", headers={**PURPOSE, "Range": "bytes=0-3"})
    assert opus.status_code == 206 and opus.content == b"OggS" and opus.headers["content-type"].startswith("audio/ogg")
    peaks = client.get(f"{url}/peaks", headers=PURPOSE)
    assert json.loads(peaks.content)["bits"] == 8
    with world.setup.svc.db.read() as conn:
        details = conn.execute(select(audit_events.c.detail).where(audit_events.c.action == "recordings.master")).scalars().all()
    assert "bytes bytes=0-99" in details and "whole file" in details and len(details) == 1 + len(cases) + 2


def test_parse_range() -> None:
    assert parse_range(None, 10) is None and parse_range("items=0-1", 10) is None and parse_range("bytes=0-1,3-4", 10) is None
    assert parse_range("bytes=2-4", 10) == (2, 4) and parse_range("bytes=-3", 10) == (7, 9) and parse_range("bytes=-30", 10) == (0, 9)
    for bad in ("bytes=10-", "bytes=5-4", "bytes=-0"):
        with pytest.raises(RangeNotSatisfiable):
            parse_range(bad, 10)


def test_quarantined_recording_only_for_taru_and_auditor(world: World) -> None:
    """B3: after the intercept is quarantined its recordings vanish for the investigator
    and stay readable by the technical unit (and the auditor), flagged."""
    grant(world, world.detective)
    with world.setup.svc.db.write() as conn:
        conn.execute(update(intercepts).where(intercepts.c.id == world.ctx["intercept"]["id"])
                     .values(quarantined_at=world.setup.clock.now(), quarantine_reason="B3 deadline missed"))
    case_id = world.ctx["case"]["id"]
    det = login(world.setup.svc, "det.rec")
    assert det.get(f"/api/v1/cases/{case_id}/recordings", headers=PURPOSE).json() == []
    assert det.get(f"/api/v1/cases/{case_id}/recordings/{world.recording_id}/master", headers=PURPOSE).status_code == 404
    taru = login(world.setup.svc, "taru.intake")
    assert taru.get(f"/api/v1/cases/{case_id}/recordings").json()["rule"] == "C5"
    [row] = taru.get(f"/api/v1/cases/{case_id}/recordings", headers=PURPOSE).json()
    assert row["quarantined"] is True
    assert taru.get(f"/api/v1/cases/{case_id}/recordings/{world.recording_id}/peaks", headers=PURPOSE).status_code == 200


def test_prtt_case_has_no_recordings(world: World) -> None:
    """A6: a call intercepted under a pen-register order leaves no recording to list."""
    ctx, rec_id = record_call(world.setup, kind="prtt", liid="REC-PRTT-0001")
    assert rec_id is None
    grant(world, world.detective, ctx)
    client = login(world.setup.svc, "det.rec")
    r = client.get(f"/api/v1/cases/{ctx['case']['id']}/recordings", headers=PURPOSE)
    assert r.status_code == 200 and r.json() == []
