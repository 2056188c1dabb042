"""The content pages' world: one case with the demo scenario's three intercepts (VoIP, IP,
web) under one authority, the demo delivered through a real intake with the calls
subscriber and the recorder attached, a monitor flagging the answered call privileged
while it is delivered (through the live service, rule A2), and browsers signed in
through the login form."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from calea.db.schema import audit_events
from calea.db.schema_calls import calls as calls_t
from calea.db.schema_recordings import recordings as recordings_t
from calea.domain.access import Role
from calea.intake.pipeline import Intake
from calea.services import authorities, cases, grants, intercepts, users
from calea.services.context import Actor
from calea.sessions.calls_store import subscribe
from calea.sessions.minimization import Minimization
from calea.sessions.monitoring import LiveService
from calea.sim.build import build
from calea.sim.plan import Plan
from calea.sim.scenario import load_demo_scenario
from calea.web.app import create_app
from tests.intake.conftest import PDF, Setup
from tests.sessions import recording_helpers, traffic_helpers
from tests.sessions.traffic_helpers import IP_TARGET, VOIP, WEB

PASSWORD = "Correct-Horse-42"
PURPOSE = "Wire room: review of the target's calls under EW-2026-0042"
VOIP_LIID, IP_LIID, WEB_LIID = "DEMO-VOIP-0001", "DEMO-IP-0001", "DEMO-WEB-0001"
SMS_TEXT = "Boat is in at pier 4. Bring the rest tomorrow."  # demo.toml
MMS_TEXT = "This is the boat. Same place tomorrow, 6 am."  # demo.toml
PRIVILEGED_AT = 6.0  # seconds into the demo: the answered call (1.0 + 3 s ringing, 8 s) is flagged here


@dataclass
class World:
    setup: Setup
    kind: str
    case: dict[str, Any]
    authority: dict[str, Any]
    intercepts: dict[str, dict[str, Any]]
    plan: Plan
    app: Any
    n: int = 0

    @property
    def case_id(self) -> str:
        return str(self.case["id"])

    @property
    def svc(self) -> Any:
        return self.setup.svc

    def user(self, role: str = "investigator", *, grant: bool = True) -> dict[str, Any]:
        self.n += 1
        u = users.create_user(self.svc, None, username=f"{role[:4]}.page{self.n}", password=PASSWORD, role=role,
                              unit="Narcotics Division", display_name=f"Det. Page {self.n}")
        if grant:
            grants.create_grant(self.svc, self.setup.taru, self.case_id, {
                "user_id": u["id"], "authority_id": self.authority["id"], "purpose": "Investigation of the demo case."})
        return u

    def browser(self, user: dict[str, Any] | None = None) -> TestClient:
        """A browser signed in through the HTML form (a session cookie, as the console uses)."""
        client = TestClient(self.app, client=("127.0.0.1", 5000))
        name = user["username"] if user else self.setup.taru.username
        r = client.post("/login", data={"username": name, "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303, r.text
        return client

    def calls(self) -> list[dict[str, Any]]:
        with self.svc.db.read() as conn:
            return [dict(r) for r in conn.execute(select(calls_t).order_by(calls_t.c.started_at)).mappings()]

    def recordings(self) -> list[dict[str, Any]]:
        with self.svc.db.read() as conn:
            return [dict(r) for r in conn.execute(select(recordings_t)).mappings()]

    def audit(self, **where: Any) -> list[dict[str, Any]]:
        q = select(audit_events).order_by(audit_events.c.seq)
        for k, v in where.items():
            q = q.where(getattr(audit_events.c, k) == v)
        with self.svc.db.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]


def demo_case(s: Setup, kind: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """A case, one authority of `kind` naming the demo's identifiers, approval, and the three
    demo intercepts activated (as `Setup.intercept` does for one)."""
    saved = s.clock.now()
    start = saved - timedelta(hours=1)
    s.clock.set(start + timedelta(minutes=1))
    case = cases.open_case(s.svc, s.taru, complaint_number="2026-PG0001", title="Operation Pier",
                           unit="Narcotics Division")
    doc = cases.upload_document(s.svc, s.taru, case["id"], filename="order.pdf", data=PDF)
    auth = authorities.record_authority(s.svc, s.taru, case["id"], {
        "kind": kind, "court_level": "state", "court": "Supreme Court", "judge": "Hon. J", "docket": "EW-2026-0042",
        "offenses": ["PL 220.43"], "issued_at": start.isoformat(), "effective_at": start.isoformat(),
        "expires_at": (start + timedelta(days=60 if kind == "prtt" else 30)).isoformat(),
        "identifiers": VOIP + IP_TARGET + WEB, "document_id": doc["id"]})
    sup = users.create_user(s.svc, None, username="sup.page", password=PASSWORD, role="supervisor",
                            unit="Narcotics Division")
    cases.approve_case(s.svc, Actor(sup["id"], sup["username"], Role.SUPERVISOR, "Narcotics Division"), case["id"],
                       reasons="Approved for the page tests.")
    made = {}
    for liid, idents in ((VOIP_LIID, VOIP), (IP_LIID, IP_TARGET), (WEB_LIID, WEB)):
        icpt = intercepts.create_intercept(s.svc, s.taru, case["id"], {"carrier_id": s.carrier_id, "liid": liid,
                                                                       "identifiers": idents})
        intercepts.activate(s.svc, s.taru, icpt["id"])
        made[liid] = icpt
    s.clock.set(saved)
    return case, auth, made


def deliver_demo(s: Setup, kind: str = "eavesdropping", *, privileged: bool = True) -> World:
    """The demo scenario (etsi-102232: calls, SMS, IP, web visits; 3gpp-mms: the MMS with its
    picture) through one intake with the calls subscriber and the recorder; during the
    answered call a monitor flags it privileged (attorney) through the live service."""
    case, auth, made = demo_case(s, kind)
    saved = s.clock.now()
    plan = build(load_demo_scenario(), "etsi-102232", now=saved - timedelta(minutes=10))
    s.clock.set(plan.start)  # the monitor's grant starts before the call
    monitor = traffic_helpers.investigator(s, case["id"], auth["id"])
    s.clock.set(saved)
    intake = Intake(s.svc)  # under a PRTT order it keeps the header records of IP packets (A1, A6)
    clock = recording_helpers.Clock()
    book = Minimization()
    try:
        sub = subscribe(intake)
        recorder = recording_helpers.recorder_for(s.svc, intake, clock, minimization=book)
        live = LiveService(s.svc, intake.writer, book=book)
        flagged: list[datetime] = []

        def before(r: Any) -> None:
            if privileged and kind != "prtt" and not flagged and r.channel == "hi3" and r.label == "rtp" \
                    and r.liid == VOIP_LIID and r.at >= PRIVILEGED_AT:
                at = plan.start + timedelta(seconds=r.at)
                s.clock.set(at)
                live.command(replace(monitor, purpose="live monitoring"), case["id"],
                             {"cmd": "privileged", "liid": VOIP_LIID, "cin": r.cin, "category": "attorney",
                              "reason": "the target calls his lawyer"})
                s.clock.set(saved)
                flagged.append(at)

        recording_helpers.feed(intake, plan, recording_helpers.timeline(plan), before=before)
        clock.t = 1000.0
        recorder.poll()
        mms = build(load_demo_scenario(), "3gpp-mms", now=saved - timedelta(minutes=10))
        traffic_helpers.feed(intake, mms)
        assert sub.flush() and sub.failures == 0
        sub.close()
    finally:
        intake.writer.close()
    s.clock.set(saved)
    return World(s, kind, case, auth, made, plan, create_app(s.svc))


def hrefs(html: str, pattern: str) -> list[str]:
    """The href / src values of a page that match `pattern` (HTML entities decoded)."""
    values = re.findall(r'(?:href|src|data-peaks)="([^"]+)"', html)
    return [v.replace("&amp;", "&") for v in values if re.search(pattern, v.replace("&amp;", "&"))]
