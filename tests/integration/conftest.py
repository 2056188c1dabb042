"""API-level helpers: users of each role, signed-in clients, a case ready for activation."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from calea.services import users

PASSWORD = "Correct-Horse-42"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


@dataclass
class World:
    svc: Any
    clock: Any
    app: Any
    counter: int = 0

    def user(self, role: str, unit: str = "Narcotics Division", **kw: Any) -> dict[str, Any]:
        self.counter += 1
        return users.create_user(self.svc, None, username=f"{role.replace('_', '')}{self.counter}", password=PASSWORD,
                                 role=role, unit=unit, agency=kw.get("agency", "Other Agency" if role == "external" else ""))

    def client(self, user: dict[str, Any] | None = None, ip: str = "127.0.0.1") -> TestClient:
        c = TestClient(self.app, client=(ip, 50000))
        if user is not None:
            r = c.post("/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD})
            assert r.status_code == 200, r.text
        return c

    def as_role(self, role: str, unit: str = "Narcotics Division") -> tuple[dict[str, Any], TestClient]:
        u = self.user(role, unit)
        return u, self.client(u)


@pytest.fixture
def world(svc, clock) -> World:  # type: ignore[no-untyped-def]
    from calea.web.app import create_app

    return World(svc, clock, create_app(svc))


def upload(client: TestClient, case_id: str, data: bytes = PDF, name: str = "order.pdf") -> dict[str, Any]:
    r = client.post(f"/api/v1/cases/{case_id}/documents", files={"file": (name, io.BytesIO(data), "application/pdf")})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


TARGET = {"kind": "e164", "value": "+12125550100"}


def authority_body(now: datetime, kind: str = "eavesdropping", days: int = 30, **kw: Any) -> dict[str, Any]:
    body = {
        "kind": kind, "court_level": "state", "court": "Supreme Court, New York County", "judge": "Hon. A. Justice",
        "docket": "EW-2026-0042", "offenses": ["PL 220.43 criminal sale of a controlled substance"],
        "issued_at": iso(now), "effective_at": iso(now), "expires_at": iso(now + timedelta(days=days)),
        "identifiers": [TARGET],
    }
    body.update(kw)
    return body


@dataclass
class Ready:
    case: dict[str, Any]
    authority: dict[str, Any]
    intercept: dict[str, Any]
    carrier: dict[str, Any]
    taru: TestClient
    supervisor: TestClient


@pytest.fixture
def ready(world: World) -> Ready:
    """A case with a documented warrant, supervisor approval, a carrier and a pending intercept."""
    _, taru = world.as_role("taru", "Technical Assistance Response Unit")
    _, sup = world.as_role("supervisor", "Narcotics Division")
    now = world.clock.now()
    case = taru.post("/api/v1/cases", json={"complaint_number": "2026-001234", "title": "Operation Test",
                                            "unit": "Narcotics Division"}).json()
    doc = upload(taru, case["id"])
    auth = taru.post(f"/api/v1/cases/{case['id']}/authorities", json=authority_body(now, document_id=doc["id"]))
    assert auth.status_code == 201, auth.text
    r = sup.post(f"/api/v1/cases/{case['id']}/approval", json={"reasons": "Probable cause shown in the affidavit."})
    assert r.status_code == 200, r.text
    carrier = taru.post("/api/v1/carriers", json={"name": "ExampleTel", "formats": ["etsi-102232"],
                                                  "addresses": ["198.51.100.0/24"]}).json()
    icpt = taru.post(f"/api/v1/cases/{case['id']}/intercepts",
                     json={"carrier_id": carrier["id"], "liid": "NYPD-0001", "identifiers": [TARGET]})
    assert icpt.status_code == 201, icpt.text
    return Ready(case, auth.json(), icpt.json(), carrier, taru, sup)
