"""The legal core end to end over the API: B1–B6, A1–A5, C2 (each rule: accepted and refused)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from calea.db.schema import intercepts
from tests.integration.conftest import TARGET, Ready, World, authority_body, iso, upload

GOOD_FINDINGS = {
    "crime": {"answered": True, "justification": "Armed kidnapping of a child reported at 02:10."},
    "emergency": {"answered": True, "justification": "The child is held by the suspect right now."},
    "danger": {"answered": True, "justification": "The suspect threatened to kill the child by dawn."},
    "prevention": {"answered": True, "justification": "To locate and rescue the child, not to gather evidence."},
}


def test_full_flow_case_authority_document_intercept_investigator_grant(ready: Ready, world: World) -> None:
    r = ready.taru.post(f"/api/v1/intercepts/{ready.intercept['id']}/activate")
    assert r.status_code == 200 and r.json()["status"] == "active"
    pkg = ready.taru.get(f"/api/v1/intercepts/{ready.intercept['id']}/package")
    assert pkg.status_code == 200 and pkg.headers["content-type"] == "application/zip"
    import io
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(pkg.content)) as zf:  # B4: what the carrier needs
        manifest = json.loads(zf.read("manifest.json"))
        assert "authority.pdf" in zf.namelist()
    assert manifest["liid"] == "NYPD-0001" and manifest["identifiers"] == [TARGET]
    assert manifest["deliver"] == ["IRI", "CC"] and manifest["window"]["expires_at"]
    sent = ready.taru.post(f"/api/v1/intercepts/{ready.intercept['id']}/package", json={"event": "sent"})
    ack = ready.taru.post(f"/api/v1/intercepts/{ready.intercept['id']}/package", json={"event": "acknowledged"})
    assert sent.status_code == 200 and ack.json()["package_acknowledged_at"]
    inv = ready.taru.post("/api/v1/users", json={"username": "det.smith", "password": "Correct-Horse-42",
                                                 "role": "investigator", "unit": "Narcotics Division"})
    assert inv.status_code == 201, inv.text
    g = ready.taru.post(f"/api/v1/cases/{ready.case['id']}/grants", json={
        "user_id": inv.json()["id"], "authority_id": ready.authority["id"], "purpose": "Monitor the wire for Op Test"})
    assert g.status_code == 201, g.text
    det = world.client({"username": "det.smith"})
    assert det.get(f"/api/v1/cases/{ready.case['id']}").status_code == 200


def test_b4_package_refused_before_activation(ready: Ready) -> None:
    r = ready.taru.get(f"/api/v1/intercepts/{ready.intercept['id']}/package")
    assert r.status_code == 409 and r.json()["rule"] == "B4"


def test_b1_only_taru_activates_api(ready: Ready, world: World) -> None:
    _, inv = world.as_role("investigator")
    r = inv.post(f"/api/v1/intercepts/{ready.intercept['id']}/activate")
    assert r.status_code == 403


def test_a1_a2_windows_over_api(ready: Ready) -> None:
    now = ready.case["opened_at"]
    from datetime import datetime

    now = datetime.fromisoformat(str(now).replace("Z", "+00:00"))
    cid = ready.case["id"]
    bad_prtt = ready.taru.post(f"/api/v1/cases/{cid}/authorities", json=authority_body(now, kind="prtt", days=61))
    assert bad_prtt.status_code == 422 and bad_prtt.json()["rule"] == "A1"
    good_prtt = ready.taru.post(f"/api/v1/cases/{cid}/authorities", json=authority_body(now, kind="prtt", days=60))
    assert good_prtt.status_code == 201
    bad_w = ready.taru.post(f"/api/v1/cases/{cid}/authorities", json=authority_body(now, days=31))
    assert bad_w.status_code == 422 and bad_w.json()["rule"] == "A2"
    late = authority_body(now, days=20, effective_at=iso(now + timedelta(days=11)), expires_at=iso(now + timedelta(days=31)))
    r = ready.taru.post(f"/api/v1/cases/{cid}/authorities", json=late)
    assert r.status_code == 422 and r.json()["rule"] == "A2" and "10 days" in r.json()["message"]


def test_a5_extension_and_a4_never_extended(ready: Ready, world: World) -> None:
    parent = ready.authority
    from datetime import datetime

    end = datetime.fromisoformat(parent["expires_at"].replace("Z", "+00:00"))
    ok = ready.taru.post(f"/api/v1/authorities/{parent['id']}/extensions", json={
        "judge": "Hon. A. Justice", "docket": "EW-2026-0042-X1", "issued_at": iso(end - timedelta(days=2)),
        "expires_at": iso(end + timedelta(days=30)), "findings": "Interceptions so far show continuing conspiracy."})
    assert ok.status_code == 201, ok.text
    assert ok.json()["effective_at"] == parent["expires_at"] and ok.json()["rule"] == "A5"
    no_findings = ready.taru.post(f"/api/v1/authorities/{ok.json()['id']}/extensions", json={
        "judge": "J", "docket": "X2", "issued_at": iso(end), "expires_at": iso(end + timedelta(days=40)), "findings": ""})
    assert no_findings.status_code == 422 and no_findings.json()["rule"] == "A5"
    # an emergency eavesdropping authority (A4) is never extended
    _, inv = world.as_role("investigator", "Narcotics Division")
    case = inv.post("/api/v1/cases", json={"complaint_number": "2026-777", "title": "Kidnap"}).json()
    decl = inv.post(f"/api/v1/cases/{case['id']}/declarations", json={
        "kind": "emergency_eavesdropping", "findings": GOOD_FINDINGS, "identifiers": [TARGET], "offenses": ["PL 135.25"]})
    assert decl.status_code == 201, decl.text
    auth = decl.json()["authority"]
    assert auth["rule"] == "A4"
    r = inv.post(f"/api/v1/authorities/{auth['id']}/extensions", json={
        "judge": "J", "docket": "X", "issued_at": iso(world.clock.now()), "expires_at": iso(world.clock.now() + timedelta(days=40)),
        "findings": "Continued danger to the victim."})
    assert r.status_code == 422 and r.json()["rule"] == "A4"


def test_b2_flight_only_declaration_refused(world: World) -> None:
    _, inv = world.as_role("investigator")
    case = inv.post("/api/v1/cases", json={"complaint_number": "2026-778", "title": "Fugitive"}).json()
    flight = {k: {"answered": True, "justification": "The suspect may flee to another state."} for k in GOOD_FINDINGS}
    r = inv.post(f"/api/v1/cases/{case['id']}/declarations", json={
        "kind": "emergency_prtt", "findings": flight, "identifiers": [TARGET], "offenses": ["PL 160.15"]})
    assert r.status_code == 422 and r.json()["rule"] == "B2" and "flight" in r.json()["message"]


def test_b5_political_case_other_unit_refused(world: World) -> None:
    _, inv = world.as_role("investigator", "Narcotics Division")
    r = inv.post("/api/v1/cases", json={"complaint_number": "2026-900", "title": "Rally", "political_activity": True})
    assert r.status_code == 422 and r.json()["rule"] == "B5"
    _, intel = world.as_role("investigator", "Intelligence Division")
    ok = intel.post("/api/v1/cases", json={"complaint_number": "2026-901", "title": "Threat", "political_activity": True})
    assert ok.status_code == 201 and ok.json()["political_activity"] is True


def test_b1_exigent_activation_refused_until_declaration_approved(world: World) -> None:
    """Activation without the authority document is refused, even when exigent, until the
    declaration is approved (B1, B2, B6)."""
    _, taru = world.as_role("taru", "Technical Assistance Response Unit")
    _, inv = world.as_role("investigator")
    _, sup = world.as_role("supervisor")
    case = inv.post("/api/v1/cases", json={"complaint_number": "2026-555", "title": "Hostage"}).json()
    decl = inv.post(f"/api/v1/cases/{case['id']}/declarations", json={
        "kind": "emergency_eavesdropping", "court_level": "state", "findings": GOOD_FINDINGS,
        "identifiers": [TARGET], "offenses": ["PL 135.25 kidnapping"]}).json()
    assert sup.post(f"/api/v1/cases/{case['id']}/approval", json={"reasons": "Imminent danger to life."}).status_code == 200
    carrier = taru.post("/api/v1/carriers", json={"name": "Tel"}).json()
    icpt = taru.post(f"/api/v1/cases/{case['id']}/intercepts", json={"carrier_id": carrier["id"], "liid": "EX-1", "identifiers": [TARGET]}).json()
    refused = taru.post(f"/api/v1/intercepts/{icpt['id']}/activate")
    assert refused.status_code == 422 and refused.json()["rule"] == "B1"
    self_approve = inv.post(f"/api/v1/declarations/{decl['id']}/approve")
    assert self_approve.status_code == 403  # investigators cannot approve
    assert sup.post(f"/api/v1/declarations/{decl['id']}/approve").status_code == 200
    ok = taru.post(f"/api/v1/intercepts/{icpt['id']}/activate")
    assert ok.status_code == 200, ok.text
    auths = taru.get(f"/api/v1/cases/{case['id']}/authorities").json()
    assert auths[0]["deadline_at"] is not None  # A4 state: 24 h from first use
    due = datetime_of(auths[0]["deadline_at"])
    assert due - world.clock.now() == timedelta(hours=24)


def datetime_of(value: str):  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def test_b6_activation_refused_without_supervisor_approval(world: World) -> None:
    _, taru = world.as_role("taru", "Technical Assistance Response Unit")
    case = taru.post("/api/v1/cases", json={"complaint_number": "2026-556", "title": "Op", "unit": "Narcotics Division"}).json()
    doc = upload(taru, case["id"])
    taru.post(f"/api/v1/cases/{case['id']}/authorities", json=authority_body(world.clock.now(), document_id=doc["id"]))
    carrier = taru.post("/api/v1/carriers", json={"name": "Tel2"}).json()
    icpt = taru.post(f"/api/v1/cases/{case['id']}/intercepts", json={"carrier_id": carrier["id"], "liid": "B6-1", "identifiers": [TARGET]}).json()
    r = taru.post(f"/api/v1/intercepts/{icpt['id']}/activate")
    assert r.status_code == 422 and r.json()["rule"] == "B6"


def test_c2_grant_outliving_authority_cut(ready: Ready, world: World) -> None:
    inv = world.user("investigator")
    end = datetime_of(ready.authority["expires_at"])
    g = ready.taru.post(f"/api/v1/cases/{ready.case['id']}/grants", json={
        "user_id": inv["id"], "authority_id": ready.authority["id"], "purpose": "Wire room duty",
        "ends_at": iso(end + timedelta(days=90))})
    assert g.status_code == 201
    assert datetime_of(g.json()["ends_at"]) == end
    # after the authority ends, the grant no longer opens the case
    det = world.client(inv)
    assert det.get(f"/api/v1/cases/{ready.case['id']}").status_code == 200
    world.clock.set(end + timedelta(seconds=1))
    det = world.client(inv)
    assert det.get(f"/api/v1/cases/{ready.case['id']}").status_code == 403


def test_c6_external_grant_needs_court_order(ready: Ready, world: World) -> None:
    ext = world.user("external", agency="DEA New York")
    body = {"user_id": ext["id"], "authority_id": ready.authority["id"], "purpose": "Joint investigation"}
    r = ready.taru.post(f"/api/v1/cases/{ready.case['id']}/grants", json=body)
    assert r.status_code == 422 and r.json()["rule"] == "C6"
    ok = ready.taru.post(f"/api/v1/cases/{ready.case['id']}/grants", json={**body, "court_order": "Order 26-114 naming DEA NY"})
    assert ok.status_code == 201


def test_intercept_for_unnamed_identifier_refused(ready: Ready) -> None:
    r = ready.taru.post(f"/api/v1/cases/{ready.case['id']}/intercepts", json={
        "carrier_id": ready.carrier["id"], "liid": "NYPD-0002", "identifiers": [{"kind": "e164", "value": "+13105550123"}]})
    assert r.status_code == 422 and r.json()["rule"] == "A7"


def test_coverage_query(ready: Ready, world: World) -> None:
    ready.taru.post(f"/api/v1/intercepts/{ready.intercept['id']}/activate")
    now = world.clock.now()
    ok = ready.taru.post("/api/v1/coverage", json={"liid": "NYPD-0001", "intercepted_at": iso(now), "has_content": True})
    assert ok.json()["action"] == "store" and ok.json()["rule"] == "A2"
    unknown = ready.taru.post("/api/v1/coverage", json={"liid": "NOPE", "intercepted_at": iso(now)})
    assert unknown.json() == {**unknown.json(), "action": "refuse", "rule": "A7"}
    expired = ready.taru.post("/api/v1/coverage", json={"liid": "NYPD-0001",
                                                        "intercepted_at": iso(datetime_of(ready.authority["expires_at"]) + timedelta(seconds=1))})
    assert expired.json()["action"] == "refuse"
    with world.svc.db.read() as conn:
        assert conn.execute(select(intercepts.c.activated_at)).scalar() is not None
