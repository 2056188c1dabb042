"""The traffic and message routes over HTTP: a streamed pcap, a CSV visitor report, a
message part with its media type; purpose and grant enforced (C2, C5)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from calea.handover import mms
from calea.intake.pipeline import Intake
from calea.services import grants, users
from calea.web.api import traffic as traffic_api
from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.sessions.test_messages import IMAGE, _mms_records
from tests.sessions.traffic_helpers import IP_TARGET, PURPOSE, VOIP, WEB, WEB_CLIENTS, demo_plan, feed, feed_deliveries

PASSWORD = "Correct-Horse-42"


def _client(setup: Setup, grant_on: list[dict[str, Any]]) -> TestClient:  # noqa: F811
    from calea.web.app import API_ROUTERS, create_app

    app = create_app(setup.svc)
    if traffic_api.router not in API_ROUTERS:  # until the lead includes it
        app.include_router(traffic_api.router, prefix="/api/v1")
    u = users.create_user(setup.svc, None, username="analyst", password=PASSWORD, role="investigator", unit="Narcotics Division")
    for x in grant_on:
        grants.create_grant(setup.svc, setup.taru, x["case"]["id"], {"user_id": u["id"], "authority_id": x["authority"]["id"],
                                                                      "purpose": "Investigation of the test case."})
    c = TestClient(app, client=("127.0.0.1", 50000))
    assert c.post("/api/v1/auth/login", json={"username": "analyst", "password": PASSWORD}).status_code == 200
    return c


def _frames(pcap: bytes) -> int:
    pos, n = 24, 0
    while pos < len(pcap):
        pos += 16 + int.from_bytes(pcap[pos + 8:pos + 12], "little")
        n += 1
    return n


def test_traffic_and_message_routes(setup: Setup) -> None:  # noqa: F811
    ip = setup.intercept("DEMO-IP-0001", IP_TARGET)
    web = setup.intercept("DEMO-WEB-0001", WEB)
    voip = setup.intercept("DEMO-VOIP-0001", VOIP)
    intake = Intake(setup.svc)
    try:
        feed(intake, demo_plan(setup))
        iri, cc = _mms_records()
        feed_deliveries(intake, mms.decode(iri) + mms.decode(cc))
    finally:
        intake.writer.close()
    c = _client(setup, [ip, web, voip])
    head = {"X-Calea-Purpose": PURPOSE}
    case = ip["case"]["id"]

    r = c.get(f"/api/v1/cases/{case}/traffic/pcap", params={"intercept_id": ip["intercept"]["id"], "format": "pcapng"})
    assert r.status_code == 403 and r.json()["rule"] == "C5"  # no purpose stated
    r = c.get(f"/api/v1/cases/{case}/traffic/pcap", params={"format": "pcapng"}, headers=head)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-pcapng"
    assert r.content[:4] == b"\x0a\x0d\x0d\x0a" and b"DEMO-IP-0001" in r.content
    r = c.get(f"/api/v1/cases/{case}/traffic/pcap", params={"start": "yesterday"}, headers=head)
    assert r.status_code == 400

    r = c.get(f"/api/v1/cases/{case}/traffic/flows", headers=head)
    assert r.status_code == 200 and r.json()["total"] == 4

    r = c.get(f"/api/v1/cases/{web['case']['id']}/traffic/web-visitors",
              params={"url": "http://203.0.113.80/", "format": "csv"}, headers=head)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert [line.split(",")[0] for line in r.text.splitlines()[1:]] == WEB_CLIENTS
    r = c.get(f"/api/v1/cases/{web['case']['id']}/traffic/web-visitors", params={"url": "http://example.org/"}, headers=head)
    assert r.status_code == 422 and r.json()["rule"] == "A1"

    vcase = voip["case"]["id"]
    r = c.get(f"/api/v1/cases/{vcase}/traffic/pcap", headers=head)  # IP multimedia CC (TS 102 232-5 ipFrame): RTP
    rtp = [x for x in demo_plan(setup).hi3 if getattr(x, "liid", "") == "DEMO-VOIP-0001" and x.kind == "cc"]
    assert r.status_code == 200 and _frames(r.content) == len(rtp) > 0
    threads = c.get(f"/api/v1/cases/{vcase}/messages/threads", headers=head).json()["threads"]
    mms_thread = next(t for t in threads if "mms" in t["kinds"])
    msgs = c.get(f"/api/v1/cases/{vcase}/messages", params={"counterparty": mms_thread["counterparty"]}, headers=head).json()
    [m] = msgs["messages"]
    image = next(p for p in m["parts"] if p["media_type"] == "image/jpeg")
    r = c.get(f"/api/v1/cases/{vcase}/messages/{m['id']}/parts/{image['id']}", headers=head)
    assert r.status_code == 200 and r.content == IMAGE and r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-content-sha256"] == image["sha256"]
