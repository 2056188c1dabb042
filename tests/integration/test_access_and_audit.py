"""C1–C5 over the API: grants, 403s that are audited, offboarding, sign-in, tokens, the audit chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from calea.db.schema import audit_events
from calea.services.passwords import totp_now
from tests.integration.conftest import PASSWORD, Ready, World


def case_endpoints(ready: Ready) -> list[tuple[str, str, dict | None]]:  # type: ignore[type-arg]
    cid, aid, iid = ready.case["id"], ready.authority["id"], ready.intercept["id"]
    return [
        ("GET", f"/api/v1/cases/{cid}", None),
        ("GET", f"/api/v1/cases/{cid}/documents", None),
        ("GET", f"/api/v1/cases/{cid}/authorities", None),
        ("GET", f"/api/v1/cases/{cid}/intercepts", None),
        ("GET", f"/api/v1/cases/{cid}/grants", None),
        ("GET", f"/api/v1/intercepts/{iid}", None),
        ("GET", f"/api/v1/documents/{ready.authority['document_id']}", None),
        ("POST", f"/api/v1/cases/{cid}/authorities", {"kind": "prtt", "court": "c", "judge": "j", "docket": "d", "offenses": ["x"],
                                                     "issued_at": "2026-11-27T12:00:00Z", "expires_at": "2026-12-27T12:00:00Z",
                                                     "identifiers": [{"kind": "e164", "value": "+12125550100"}]}),
        ("POST", f"/api/v1/cases/{cid}/approval", {"reasons": "I would like to approve this."}),
        ("POST", f"/api/v1/authorities/{aid}/extensions", {"judge": "j", "docket": "d", "issued_at": "2026-11-28T00:00:00Z",
                                                          "expires_at": "2027-01-20T00:00:00Z", "findings": "More findings here."}),
        ("POST", f"/api/v1/cases/{cid}/declarations", {"kind": "emergency_prtt", "findings": {}, "identifiers": [], "offenses": []}),
    ]


def test_c2_investigator_without_grant_403_everywhere_and_audited(ready: Ready, world: World) -> None:
    inv, client = world.as_role("investigator", "Narcotics Division")
    for method, path, body in case_endpoints(ready):
        r = client.request(method, path, json=body)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json()["error"] == "forbidden" and r.json()["rule"] in ("C2", "C1")
    with world.svc.db.read() as conn:
        refused = conn.execute(select(audit_events).where(audit_events.c.user_id == inv["id"],
                                                          audit_events.c.outcome == "refused")).mappings().all()
    assert len(refused) == len(case_endpoints(ready))
    assert all(r["status"] == 403 for r in refused)
    assert {r["case_id"] for r in refused if "/cases/" in r["path"]} == {ready.case["id"]}
    assert all("rule C" in (r["detail"] or "") for r in refused)


def test_c2_granted_investigator_allowed(ready: Ready, world: World) -> None:
    inv, client = world.as_role("investigator")
    ready.taru.post(f"/api/v1/cases/{ready.case['id']}/grants", json={"user_id": inv["id"], "authority_id": ready.authority["id"], "purpose": "Wire room"})
    assert client.get(f"/api/v1/cases/{ready.case['id']}/authorities").status_code == 200


def test_vendor_sees_health_only(ready: Ready, world: World) -> None:
    _, vendor = world.as_role("vendor", "Vendor Support")
    assert vendor.get("/api/v1/-/health").status_code == 200
    assert vendor.get(f"/api/v1/cases/{ready.case['id']}").status_code == 403
    assert vendor.get("/api/v1/audit").status_code == 403
    assert vendor.get("/api/v1/cases").json() == []


def test_c3_transfer_removes_sessions_and_grants_at_once(ready: Ready, world: World) -> None:
    inv, client = world.as_role("investigator")
    ready.taru.post(f"/api/v1/cases/{ready.case['id']}/grants", json={"user_id": inv["id"], "authority_id": ready.authority["id"], "purpose": "Wire room"})
    assert client.get(f"/api/v1/cases/{ready.case['id']}").status_code == 200
    r = ready.taru.post(f"/api/v1/users/{inv['id']}/offboard", json={"mode": "transfer", "new_unit": "Patrol Borough Bronx"})
    assert r.status_code == 200 and r.json()["grants_revoked"] == 1 and r.json()["sessions_ended"] == 1
    assert client.get(f"/api/v1/cases/{ready.case['id']}").status_code == 401  # the session is gone
    again = world.client(inv)  # may sign in again, in the new unit, without the grant
    assert again.get(f"/api/v1/cases/{ready.case['id']}").status_code == 403
    grants = ready.taru.get(f"/api/v1/cases/{ready.case['id']}/grants").json()
    assert all(g["revoked_at"] for g in grants if g["user_id"] == inv["id"])


def test_c3_transferred_taru_loses_power_to_grant(ready: Ready, world: World) -> None:
    taru2, client2 = world.as_role("taru", "Technical Assistance Response Unit")
    inv = world.user("investigator")
    ready.taru.post(f"/api/v1/users/{taru2['id']}/offboard", json={"mode": "transfer", "new_unit": "Technical Assistance Response Unit"})
    client2 = world.client(taru2)
    r = client2.post(f"/api/v1/cases/{ready.case['id']}/grants", json={"user_id": inv["id"], "authority_id": ready.authority["id"], "purpose": "Wire room"})
    assert r.status_code == 403 and r.json()["rule"] == "C3"


def test_c3_leaver_cannot_sign_in(ready: Ready, world: World) -> None:
    inv, _ = world.as_role("investigator")
    ready.taru.post(f"/api/v1/users/{inv['id']}/offboard", json={"mode": "leave"})
    r = world.client().post("/api/v1/auth/login", json={"username": inv["username"], "password": PASSWORD})
    assert r.status_code == 401


def test_c1_lockout_after_repeated_failures(world: World) -> None:
    u = world.user("investigator")
    c = world.client()
    for _ in range(5):
        assert c.post("/api/v1/auth/login", json={"username": u["username"], "password": "wrong-Password-1"}).status_code == 401
    locked = c.post("/api/v1/auth/login", json={"username": u["username"], "password": PASSWORD})
    assert locked.status_code == 403 and locked.json()["rule"] == "C1"
    world.clock.advance(timedelta(minutes=16))
    assert c.post("/api/v1/auth/login", json={"username": u["username"], "password": PASSWORD}).status_code == 200


def test_c1_passwords_are_argon2id(world: World) -> None:
    from calea.db.schema import users

    world.user("auditor", "Internal Affairs")
    with world.svc.db.read() as conn:
        hashes = conn.execute(select(users.c.password_hash)).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    weak = world.client()
    _, taru = world.as_role("taru", "TARU")
    r = taru.post("/api/v1/users", json={"username": "weak.one", "password": "short", "role": "investigator", "unit": "X"})
    assert r.status_code == 400 and r.json()["field"] == "password"
    dup = taru.post("/api/v1/users", json={"username": "auditor1", "password": PASSWORD, "role": "auditor", "unit": "IA"})
    assert weak is not None and dup.status_code in (201, 409)


def test_c4_second_factor_enrolment_and_remote_access(world: World) -> None:
    u, c = world.as_role("investigator")
    enrol = c.post("/api/v1/auth/mfa/enrol").json()
    assert enrol["qr_svg"].startswith("<svg") and enrol["otpauth_uri"].startswith("otpauth://totp/")
    bad = c.post("/api/v1/auth/mfa/enrol/confirm", json={"code": "000000"})
    assert bad.status_code == 400
    ok = c.post("/api/v1/auth/mfa/enrol/confirm", json={"code": totp_now(enrol["secret"], world.clock.now())})
    assert ok.status_code == 200
    remote = world.client(ip="203.0.113.99")
    r = remote.post("/api/v1/auth/login", json={"username": u["username"], "password": PASSWORD})
    assert r.status_code == 200 and r.json()["mfa_required"] and not r.json()["mfa_ok"]
    assert remote.get("/api/v1/cases").status_code == 401  # nothing before the second factor
    assert remote.post("/api/v1/auth/mfa", json={"code": "123456"}).status_code == 401
    used = totp_now(enrol["secret"], world.clock.now())
    replay = remote.post("/api/v1/auth/mfa", json={"code": used})  # the code that confirmed enrolment
    assert replay.status_code == 401 and "already used" in replay.json()["message"]
    world.clock.advance(timedelta(seconds=30))
    fresh = totp_now(enrol["secret"], world.clock.now())
    assert remote.post("/api/v1/auth/mfa", json={"code": fresh}).status_code == 200
    assert remote.get("/api/v1/cases").status_code == 200
    other = world.client(ip="203.0.113.98")  # the same code again, on another session: refused (C4)
    other.post("/api/v1/auth/login", json={"username": u["username"], "password": PASSWORD})
    assert other.post("/api/v1/auth/mfa", json={"code": fresh}).status_code == 401


def test_c4_remote_without_enrolled_factor_refused(world: World) -> None:
    u = world.user("investigator")
    r = world.client(ip="203.0.113.99").post("/api/v1/auth/login", json={"username": u["username"], "password": PASSWORD})
    assert r.status_code == 403 and r.json()["rule"] == "C4"


def test_c4_workstation_restriction(world: World) -> None:
    _, taru = world.as_role("taru", "TARU")
    r = taru.put("/api/v1/settings/network", json={"facility_networks": ["127.0.0.0/8", "10.20.0.0/16"],
                                                    "workstations": ["127.0.0.1"], "restrict_workstations": True})
    assert r.status_code == 200
    u = world.user("investigator")
    refused = world.client(ip="10.20.5.5").post("/api/v1/auth/login", json={"username": u["username"], "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["rule"] == "C4"
    assert world.client(ip="127.0.0.1").post("/api/v1/auth/login", json={"username": u["username"], "password": PASSWORD}).status_code == 200


def test_session_idle_timeout_and_cookie_flags(world: World) -> None:
    u = world.user("investigator")
    c = world.client()
    r = c.post("/api/v1/auth/login", json={"username": u["username"], "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert c.get("/api/v1/auth/me").status_code == 200
    world.clock.advance(timedelta(minutes=31))
    assert c.get("/api/v1/auth/me").status_code == 401


def test_scoped_api_tokens(ready: Ready, world: World) -> None:
    tok = ready.taru.post("/api/v1/auth/tokens", json={"name": "ci", "scopes": ["cases:read"]}).json()
    bearer = world.client()
    bearer.headers["Authorization"] = f"Bearer {tok['token']}"
    assert bearer.get(f"/api/v1/cases/{ready.case['id']}").status_code == 200
    r = bearer.post("/api/v1/cases", json={"complaint_number": "2026-999", "title": "x"})
    assert r.status_code == 403 and "scope" in r.json()["message"]
    bogus = world.client()
    bogus.headers["Authorization"] = "Bearer calea_nope"
    assert bogus.get("/api/v1/cases").status_code == 401
    bad_scope = ready.taru.post("/api/v1/auth/tokens", json={"name": "x", "scopes": ["root"]})
    assert bad_scope.status_code == 400


def test_error_shape_and_bad_input(world: World) -> None:
    _, taru = world.as_role("taru", "TARU")
    r = taru.post("/api/v1/cases", json={"title": "no complaint"})
    assert r.status_code == 400 and set(r.json()) >= {"error", "message"} and r.json()["field"] == "complaint_number"
    r = taru.post("/api/v1/cases", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_input"
    assert taru.get("/api/v1/cases/nope").status_code == 404
    assert world.client().get("/api/v1/cases").status_code == 401


def test_document_upload_refuses_non_documents_and_keeps_hash(ready: Ready) -> None:
    import io

    r = ready.taru.post(f"/api/v1/cases/{ready.case['id']}/documents", files={"file": ("x.exe", io.BytesIO(b"MZ\x90\x00"), "application/octet-stream")})
    assert r.status_code == 400 and r.json()["rule"] == "A9"
    docs = ready.taru.get(f"/api/v1/cases/{ready.case['id']}/documents").json()
    got = ready.taru.get(f"/api/v1/documents/{docs[0]['id']}")
    import hashlib

    assert hashlib.sha256(got.content).hexdigest() == docs[0]["sha256"] == got.headers["x-content-sha256"]


def test_c5_every_request_audited_and_chain_verifies(ready: Ready, world: World) -> None:
    ready.taru.get(f"/api/v1/cases/{ready.case['id']}", headers={"X-Calea-Purpose": "Prepare the carrier notice"})
    events = ready.taru.get("/api/v1/audit", params={"case_id": ready.case["id"]}).json()
    reads = [e for e in events if e["action"] == "case.read" and e["purpose"] == "Prepare the carrier notice"]
    assert reads and reads[0]["case_id"] == ready.case["id"]
    api = [e for e in events if e["action"].startswith("api GET /api/v1/cases/{case_id}") and e["purpose"]]
    assert api and api[0]["purpose"] == "Prepare the carrier notice" and api[0]["ip"] == "127.0.0.1"
    v = ready.taru.get("/api/v1/audit/verify").json()
    assert v["ok"] and v["rows"] > 10


def test_c5_altered_audit_row_named_by_cli(ready: Ready, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from calea.cli import app

    monkeypatch.setenv("CALEA_HOME", str(world.svc.settings.home))
    monkeypatch.setenv("CALEA_DATABASE_URL", world.svc.settings.database_url)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "chain intact" in ok.output
    with world.svc.db.write() as conn:
        conn.execute(update(audit_events).where(audit_events.c.seq == 7).values(outcome="refused"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "seq=7" in bad.output and "altered" in bad.output
