"""The intake in the console (/intake) and in the API, with the service's own IntakeManager:
listeners opened from the carriers table, a real connection, and what the gate and the
splitter did (A7 refusals, malformed records quarantined, sequence gaps: D1) — shown to the
roles that read alerts, refused to the others (C1)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from calea.intake.manager import IntakeManager
from calea.services import carriers, users
from calea.web.app import create_app
from tests.intake.conftest import Served, Setup, free_port
from tests.intake.test_intake_behaviour import PHONE, T, iri, push

PASSWORD = "Correct-Horse-42"
BROKEN = b"\x30\x06\xa1\x04\x80\x02\x04\x00"  # a PS-PDU whose header is truncated garbage


@pytest.fixture
def served(setup: Setup) -> Iterator[tuple[Served, int]]:
    port = free_port()
    carriers.create_carrier(setup.svc, setup.taru, {"name": "PageTel", "formats": ["etsi-102232"], "hi2_port": port})
    s = Served(IntakeManager(setup.svc, host="127.0.0.1", reconcile_seconds=60))
    yield s, port
    s.close()


def client_for(setup: Setup, username: str, role: str, app: Any) -> TestClient:
    if username != "taru.intake":
        users.create_user(setup.svc, None, username=username, password=PASSWORD, role=role, unit="Unit")
    client = TestClient(app, client=("127.0.0.1", 5000))
    r = client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def counter(page: str, name: str) -> int:
    found = re.search(rf'data-counter="{name}">([\d,]+)<', page)
    assert found, name
    return int(found.group(1).replace(",", ""))


def test_intake_page_shows_connections_counters_gaps_refusals_and_quarantine(setup: Setup, served: tuple[Served, int]) -> None:
    s, port = served
    setup.clock.set(T)
    setup.intercept("PAGE-1", PHONE)
    intake = s.manager.intake
    intake.refresh_snapshot()
    # PAGE-1 numbers 0, 1, 2, 5, 6 (3 and 4 missing); an unknown LIID (A7); a malformed record
    stream = b"".join(iri("PAGE-1", n, T) for n in (0, 1, 2)) + iri("NOBODY-9", 0, T) + BROKEN
    stream += b"".join(iri("PAGE-1", n, T) for n in (5, 6))
    push(port, stream)
    deadline = time.monotonic() + 30
    while intake.stats.counters.received < 7:
        assert time.monotonic() < deadline, "the records did not arrive"
        time.sleep(0.01)
    assert intake.wait_idle(30)

    app = create_app(setup.svc)
    app.state.intake = s.manager
    taru = client_for(setup, "taru.intake", "taru", app)
    assert 'href="/intake"' in taru.get("/cases").text  # in the technical unit's menu
    page = taru.get("/intake").text
    assert {name: counter(page, name) for name in ("received", "stored", "refused", "malformed", "duplicates")} == \
        {"received": 7, "stored": 5, "refused": 1, "malformed": 1, "duplicates": 0}
    assert "PageTel" in page and f">{port}<" in page and "listening" in page
    connections = page.split('aria-label="Connections"')[1].split("</section>")[0]
    assert "127.0.0.1:" in connections and ">closed<" in connections and ">7<" in connections  # seven framed records
    gaps = page.split('aria-label="Sequence gaps"')[1].split("</section>")[0]
    assert "PAGE-1" in gaps and "3–4" in gaps and ">2<" in gaps  # two records missing, named by their range
    refused = page.split('aria-label="Refused deliveries"')[1].split("</section>")[0]
    assert "NOBODY-9" in refused and ">A7<" in refused and "PAGE-1" not in refused
    quarantined = page.split('aria-label="Malformed records"')[1].split("</section>")[0]
    assert f"{len(BROKEN)} bytes" in quarantined and "127.0.0.1:" in quarantined

    # the API gives the same facts (the live part from the same manager)
    view = taru.get("/api/v1/intake").json()
    assert view["live"]["counters"]["stored"] == 5 and view["live"]["listeners"] == [
        {"carrier": "PageTel", "port": port, "channel": "hi2", "format": "etsi-102232", "tls": False, "ok": True}]
    assert [c["records"] for c in view["live"]["connections"]] == [7]
    assert [s_["gaps"] for s_ in view["streams"] if s_["liid"] == "PAGE-1"] == [[[3, 4]]]

    auditor = client_for(setup, "aud.intake", "auditor", app)
    assert auditor.get("/intake").status_code == 200  # the auditor reads alerts too
    for username, role in (("det.intake", "investigator"), ("vendor.intake", "vendor")):
        r = client_for(setup, username, role, app).get("/intake")
        assert r.status_code == 403 and "C1" in r.text, role


def test_intake_page_without_an_intake_in_the_process(setup: Setup) -> None:
    """A console run without the intake still shows what the intake stored."""
    app = create_app(setup.svc)
    page = client_for(setup, "taru.intake", "taru", app).get("/intake")
    assert page.status_code == 200
    assert "does not run in this process" in page.text and 'data-counter="stored"' not in page.text
    assert "No delivery refused." in page.text and "No malformed record." in page.text
