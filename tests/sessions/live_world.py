"""A case under an eavesdropping warrant with an active intercept, investigators with and
without a grant, the web app with the live routes and an intake that runs its batches on
the test's thread (`feed`), for the live-monitoring tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from calea.domain.access import Role
from calea.handover.model import Channel
from calea.intake.pipeline import Intake, Received
from calea.services import carriers, grants, users
from calea.services.context import Actor
from calea.sessions.monitoring import LiveService
from calea.web.api import live as live_api
from tests.intake.conftest import Setup
from tests.sessions.live_helpers import cc_record, invite_record

PASSWORD = "Correct-Horse-42"
LIID = "NYPD-LIVE-1"
TARGET = [{"kind": "e164", "value": "+12125550100"}]


@dataclass
class LiveWorld:
    svc: Any
    clock: Any
    app: FastAPI
    intake: Intake
    live: LiveService
    taru: Actor
    case_id: str
    authority_id: str
    n: int = 0
    seq: int = 0

    def investigator(self, granted: bool = True) -> tuple[dict[str, Any], TestClient]:
        self.n += 1
        u = users.create_user(self.svc, None, username=f"det{self.n}", password=PASSWORD, role="investigator",
                              unit="Narcotics Division")
        if granted:
            u["grant"] = grants.create_grant(self.svc, self.taru, self.case_id, {
                "user_id": u["id"], "authority_id": self.authority_id, "purpose": "Operation Test monitoring"})
        client = TestClient(self.app, client=("127.0.0.1", 50000))
        r = client.post("/api/v1/auth/login", json={"username": u["username"], "password": PASSWORD})
        assert r.status_code == 200, r.text
        return u, client

    def feed(self, cin: int, n: int = 1, *, invite: bool = False) -> None:
        """`n` CC records of call `cin` (and its INVITE first) through the intake, now."""
        now = self.clock.now()
        recs = []
        if invite:
            recs.append(Received(invite_record(LIID, cin, now), Channel.HI2, "etsi-102232", "test", now))
        for _ in range(n):
            self.seq += 1
            recs.append(Received(cc_record(LIID, cin, self.seq, now), Channel.HI3, "etsi-102232", "test", now))
        self.intake.process(recs)

    def url(self, purpose: str | None = "monitoring under the warrant", case_id: str | None = None) -> str:
        q = f"?purpose={purpose}" if purpose is not None else ""
        return f"/api/v1/live/{case_id or self.case_id}{q}"


def make_world(svc: Any, clock: Any) -> LiveWorld:
    from calea.web.app import create_app
    from calea.web.pages import _live

    u = users.create_user(svc, None, username="taru.live", password=PASSWORD, role="taru", unit="TARU")
    taru = Actor(u["id"], u["username"], Role.TARU, "TARU")
    carrier = carriers.create_carrier(svc, taru, {"name": "ExampleTel", "formats": ["etsi-102232"]})
    made = Setup(svc, clock, taru, carrier["id"]).intercept(LIID, TARGET)
    app = create_app(svc)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/api/v1/live/{case_id}" not in paths:  # until the lead includes the routers in create_app
        app.include_router(live_api.router, prefix="/api/v1")
    if "/cases/{case_id}/live" not in paths:
        app.router.routes[:0] = _live.router.routes  # before any catch-all page route
    intake = Intake(svc, max_delay=0.0)
    live = live_api.install(app, intake)
    return LiveWorld(svc, clock, app, intake, live, taru, made["case"]["id"], made["authority"]["id"])


@pytest.fixture
def world(svc, clock):  # type: ignore[no-untyped-def]
    w = make_world(svc, clock)
    yield w
    w.intake.writer.close()


def recv(ws: Any, binaries: int = 0, texts: int = 0) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Messages until `binaries` audio frames and `texts` JSON messages have come."""
    import orjson

    got_t: list[dict[str, Any]] = []
    got_b: list[bytes] = []
    while len(got_b) < binaries or len(got_t) < texts:
        m = ws.receive()
        if m["type"] == "websocket.close":
            raise AssertionError(f"closed {m.get('code')}: {m.get('reason')}")
        if m.get("bytes") is not None:
            got_b.append(m["bytes"])
        else:
            got_t.append(orjson.loads(m["text"]))
    return got_t, got_b


def recv_type(ws: Any, kind: str, **match: Any) -> dict[str, Any]:
    """The next JSON message of `kind` (and fields), skipping others; audio is kept out."""
    while True:
        texts, _ = recv(ws, texts=1)
        t = texts[0]
        if t.get("type") == kind and all(t.get(k) == v for k, v in match.items()):
            return t
