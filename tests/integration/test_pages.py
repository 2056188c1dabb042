"""The server-rendered console: every flow through plain HTML forms (no script), with the
refusals shown on the page with their rule id and recorded in the audit log (C5)."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from calea.db.schema import audit_events
from calea.db.schema import users as users_t
from calea.services import passwords
from tests.integration.conftest import PASSWORD, PDF, TARGET, Ready, World, authority_body, iso, upload


def sign_in(world: World, user: dict[str, Any]) -> TestClient:
    """Sign in through the HTML form, as a browser does."""
    client = world.client()
    r = client.post("/login", data={"username": user["username"], "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def local(dt: Any) -> str:
    """The value a `datetime-local` input sends (read as UTC)."""
    return str(dt.strftime("%Y-%m-%dT%H:%M"))


def post(client: TestClient, url: str, data: dict[str, Any], **kw: Any) -> Any:
    return client.post(url, data=data, follow_redirects=False, **kw)


def open_case(client: TestClient, number: str = "2026-000777", **extra: Any) -> str:
    r = post(client, "/cases", {"complaint_number": number, "title": "Operation Harbour", "unit": "Narcotics Division", **extra})
    assert r.status_code == 303, r.text
    match = re.match(r"^/cases/([0-9a-f-]{36})\?ok=case\.opened$", r.headers["location"])
    assert match, r.headers["location"]
    return match.group(1)


def authority_form(now: Any, days: int, **extra: Any) -> dict[str, str]:
    form = {
        "kind": "eavesdropping", "court_level": "state", "court": "Supreme Court, New York County",
        "judge": "Hon. A. Justice", "docket": "EW-2026-0099", "issued_at": local(now), "effective_at": "",
        "expires_at": local(now + timedelta(days=days)), "identifiers": "e164:+12125550100\nimsi:310150123456789",
        "offenses": "PL 220.43 criminal sale of a controlled substance", "document_id": "",
    }
    form.update(extra)
    return form


def not_the_code(secret: str, world: World) -> str:
    """A six-digit code the TOTP check (±1 step) does not accept now."""
    now = world.clock.now()
    valid = {passwords.totp_now(secret, now + timedelta(seconds=s)) for s in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def audit_rows(world: World, **where: Any) -> list[dict[str, Any]]:
    q = select(audit_events).order_by(audit_events.c.seq)
    for k, v in where.items():
        q = q.where(getattr(audit_events.c, k) == v)
    with world.svc.db.read() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


# -- sign-in ------------------------------------------------------------------------------

def test_sign_in_through_the_form_lands_on_the_console(world: World) -> None:
    user = world.user("investigator")
    client = world.client()
    page = client.get("/login")
    assert page.status_code == 200
    assert 'action="/login"' in page.text and "<script" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]

    bad = post(client, "/login", {"username": user["username"], "password": "wrong-password-1A"})
    assert bad.status_code == 401 and "wrong username or password" in bad.text
    assert audit_rows(world, action="page POST /login", outcome="refused")

    ok = post(client, "/login", {"username": user["username"], "password": PASSWORD})
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and home.url.path == "/cases"
    assert user["username"] in home.text and 'href="/audit"' not in home.text  # nav by role


def test_second_factor_enrolment_and_sign_in_through_the_forms(world: World) -> None:
    user = world.user("investigator")
    client = sign_in(world, user)
    assert "Enrol now" in client.get("/account/mfa").text
    page = client.post("/account/mfa/start")
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page.text)
    assert page.status_code == 200 and "<svg" in page.text and secret
    wrong = post(client, "/account/mfa/confirm", {"code": not_the_code(secret.group(1), world)})
    assert wrong.status_code == 400 and "Rule C4:" in wrong.text
    client.post("/account/mfa/start")  # a fresh secret after the failed attempt
    with world.svc.db.read() as conn:
        fresh = conn.execute(select(users_t.c.totp_secret).where(users_t.c.id == user["id"])).scalar()
    code = passwords.totp_now(fresh, world.clock.now())
    r = post(client, "/account/mfa/confirm", {"code": code})
    assert r.status_code == 303 and r.headers["location"] == "/account/mfa?ok=mfa.enrolled"
    assert "Second factor enrolled." in client.get(r.headers["location"]).text

    again = world.client()
    r = post(again, "/login", {"username": user["username"], "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/mfa"
    r = again.get("/cases", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/mfa"  # no page before the second factor
    assert post(again, "/mfa", {"code": not_the_code(fresh, world)}).status_code == 401
    world.clock.advance(timedelta(seconds=30))  # the enrolment code is never accepted again (C4)
    r = post(again, "/mfa", {"code": passwords.totp_now(fresh, world.clock.now())})
    assert r.status_code == 303
    assert again.get("/cases").status_code == 200


def test_pages_need_a_session_and_refuse_api_tokens(world: World) -> None:
    anonymous = world.client()
    r = anonymous.get("/cases/anything", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    user, api = world.as_role("taru", "Technical Assistance Response Unit")
    token = api.post("/api/v1/auth/tokens", json={"name": "ci", "scopes": ["alerts:read"]}).json()["token"]
    bearer = world.client()
    r = bearer.get("/users", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 403 and "Rule" in r.text and "C1" in r.text


# -- cases --------------------------------------------------------------------------------

def test_open_a_case_through_the_form(world: World) -> None:
    client = sign_in(world, world.user("investigator"))
    case_id = open_case(client)
    page = client.get(f"/cases/{case_id}?ok=case.opened")
    assert page.status_code == 200
    assert "Case opened." in page.text and "2026-000777" in page.text and "Operation Harbour" in page.text
    assert "awaiting supervisor approval" in page.text
    assert client.get("/cases").text.count(f"/cases/{case_id}") == 1


def test_political_activity_outside_intelligence_is_refused_on_the_page(world: World) -> None:
    client = sign_in(world, world.user("investigator"))
    r = post(client, "/cases", {"complaint_number": "2026-000888", "title": "Rally", "unit": "Narcotics Division",
                                "political_activity": "on"})
    assert r.status_code == 422
    assert "Rule B5:" in r.text
    assert 'value="2026-000888"' in r.text  # what was typed is kept
    refused = audit_rows(world, action="page POST /cases", outcome="refused")
    assert refused and "B5" in (refused[-1]["detail"] or "")


def test_supervisor_approves_through_the_form(world: World) -> None:
    investigator = sign_in(world, world.user("investigator"))
    case_id = open_case(investigator)
    assert "Approve use of the system" not in investigator.get(f"/cases/{case_id}").text
    supervisor = sign_in(world, world.user("supervisor"))
    empty = post(supervisor, f"/cases/{case_id}/approval", {"reasons": ""})
    assert empty.status_code in (400, 422) and "flash error" in empty.text
    r = post(supervisor, f"/cases/{case_id}/approval", {"reasons": "Probable cause shown in the affidavit of Det. Roe."})
    assert r.status_code == 303 and r.headers["location"].endswith("#approval")
    page = supervisor.get(r.headers["location"])
    assert "Probable cause shown in the affidavit" in page.text and "approved for use" in page.text


# -- documents and authorities ------------------------------------------------------------

def test_upload_a_document_through_the_form(world: World) -> None:
    client = sign_in(world, world.user("investigator"))
    case_id = open_case(client)
    r = client.post(f"/cases/{case_id}/documents", data={"description": "Signed warrant"},
                    files={"file": ("warrant.pdf", io.BytesIO(PDF), "application/pdf")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    sha = hashlib.sha256(PDF).hexdigest()
    assert "warrant.pdf" in page.text and sha in page.text and "Signed warrant" in page.text
    doc_id = re.search(r'href="/api/v1/documents/([0-9a-f-]{36})"', page.text)
    assert doc_id
    download = client.get(f"/api/v1/documents/{doc_id.group(1)}")
    assert download.status_code == 200 and download.content == PDF

    wrong = client.post(f"/cases/{case_id}/documents", files={"file": ("notes.txt", io.BytesIO(b"hello"), "text/plain")},
                        follow_redirects=False)
    assert wrong.status_code == 400 and "Rule A9:" in wrong.text


def test_a_31_day_warrant_is_refused_with_rule_a2_and_the_form_is_kept(world: World) -> None:
    client = sign_in(world, world.user("taru", "Technical Assistance Response Unit"))
    case_id = open_case(client)
    now = world.clock.now()
    r = post(client, f"/cases/{case_id}/authorities", authority_form(now, 31))
    assert r.status_code == 422
    assert "Rule A2:" in r.text and "an eavesdropping warrant lasts at most 30 days" in r.text
    assert 'value="EW-2026-0099"' in r.text and "<details class=\"form-panel\" open>" in r.text
    assert "No authority recorded." in r.text
    refused = audit_rows(world, action="page POST /cases/{case_id}/authorities", outcome="refused")
    assert refused and refused[-1]["case_id"] == case_id and "[rule A2]" in (refused[-1]["detail"] or "")

    ok = post(client, f"/cases/{case_id}/authorities", authority_form(now, 30))
    assert ok.status_code == 303 and ok.headers["location"].endswith("#authorities")
    page = client.get(ok.headers["location"])
    assert "Authority recorded." in page.text and "EW-2026-0099" in page.text
    assert "+12125550100" in page.text and "in force" in page.text
    assert "missing" in page.text  # no court document yet


def test_bad_identifier_lines_are_refused_with_rule_a7(world: World) -> None:
    client = sign_in(world, world.user("investigator"))
    case_id = open_case(client)
    r = post(client, f"/cases/{case_id}/authorities", authority_form(world.clock.now(), 20, identifiers="+12125550100"))
    assert r.status_code == 400 and "Rule A7:" in r.text


def test_extension_and_attach_document_and_terminate(ready: Ready, world: World) -> None:
    taru = ready.taru
    case_id = ready.case["id"]
    parent = ready.authority
    now = world.clock.now()
    too_long = post(taru, f"/cases/{case_id}/authorities/{parent['id']}/extend", {
        "judge": "Hon. B. Justice", "docket": "EW-2026-0042-X1", "issued_at": local(now + timedelta(days=29)),
        "expires_at": local(now + timedelta(days=61)), "findings": "Continued probable cause.", "document_id": ""})
    assert too_long.status_code == 422 and "Rule A5:" in too_long.text
    r = post(taru, f"/cases/{case_id}/authorities/{parent['id']}/extend", {
        "judge": "Hon. B. Justice", "docket": "EW-2026-0042-X1", "issued_at": local(now + timedelta(days=29)),
        "expires_at": local(now + timedelta(days=60)), "findings": "Continued probable cause.", "document_id": ""})
    assert r.status_code == 303, r.text
    page = taru.get(r.headers["location"]).text
    assert "Extension recorded (A5)." in page and "EW-2026-0042-X1" in page and "scheduled" in page

    ext_id = re.search(r'/authorities/([0-9a-f-]{36})/document"', page)
    assert ext_id  # the extension has no document yet: the attach form is offered
    doc = upload(taru, case_id, name="extension.pdf")
    r = post(taru, f"/cases/{case_id}/authorities/{ext_id.group(1)}/document", {"document_id": doc["id"]})
    assert r.status_code == 303, r.text
    again = post(taru, f"/cases/{case_id}/authorities/{ext_id.group(1)}/document", {"document_id": doc["id"]})
    assert again.status_code == 409 and "Rule A9:" in again.text

    r = post(taru, f"/cases/{case_id}/authorities/{parent['id']}/terminate", {"reason": "Target arrested."})
    assert r.status_code == 303
    assert "terminated" in taru.get(r.headers["location"]).text


# -- exigent declarations -----------------------------------------------------------------

def _findings(**override: str) -> dict[str, str]:
    form = {
        "crime_answered": "on", "crime_justification": "Kidnapping in progress, ransom call received at 09:10.",
        "emergency_answered": "on", "emergency_justification": "The victim, a child, is held at an unknown location.",
        "danger_answered": "on", "danger_justification": "The caller threatened to kill the child within hours.",
        "prevention_answered": "on", "prevention_justification": "Locating the phone is to save the child's life.",
    }
    form.update(override)
    return form


def test_exigent_declaration_through_the_form(world: World) -> None:
    investigator = sign_in(world, world.user("investigator"))
    case_id = open_case(investigator)
    page = investigator.get(f"/cases/{case_id}").text
    assert "The possibility that a suspect may flee is not, by itself, an exigent circumstance." in page
    base = {"kind": "emergency_eavesdropping", "court_level": "state", "identifiers": "e164:+12125550100",
            "offenses": "PL 135.25 kidnapping in the first degree"}
    flight = _findings(crime_justification="The suspect may flee the state tonight.",
                       emergency_justification="He could flee before we arrest him.",
                       danger_justification="Flight to another country is possible.",
                       prevention_justification="We must stop his escape from the jurisdiction.")
    r = post(investigator, f"/cases/{case_id}/declarations", {**base, **flight})
    assert r.status_code == 422 and "Rule B2:" in r.text and "possible flight" in r.text
    unanswered = post(investigator, f"/cases/{case_id}/declarations", {**base, **_findings(danger_answered="")})
    assert unanswered.status_code == 422 and "Rule B2:" in unanswered.text and "danger" in unanswered.text

    r = post(investigator, f"/cases/{case_id}/declarations", {**base, **_findings()})
    assert r.status_code == 303, r.text
    page = investigator.get(r.headers["location"]).text
    assert "awaiting supervisor" in page and "Emergency eavesdropping" in page
    decl = re.search(r'/declarations/([0-9a-f-]{36})/approve"', page)
    assert decl is None  # an investigator does not approve

    supervisor = sign_in(world, world.user("supervisor"))
    page = supervisor.get(f"/cases/{case_id}").text
    decl = re.search(r'/declarations/([0-9a-f-]{36})/approve"', page)
    assert decl
    r = post(supervisor, f"/cases/{case_id}/declarations/{decl.group(1)}/approve", {})
    assert r.status_code == 303
    assert "Exigent declaration approved (B2)." in supervisor.get(r.headers["location"]).text


# -- intercepts ---------------------------------------------------------------------------

def test_create_and_activate_an_intercept_through_the_forms(ready: Ready, world: World) -> None:
    taru = sign_in(world, world.user("taru", "Technical Assistance Response Unit"))
    case_id = ready.case["id"]
    page = taru.get(f"/cases/{case_id}").text
    assert f'<option value="{ready.carrier["id"]}"' in page
    uncovered = post(taru, f"/cases/{case_id}/intercepts", {"carrier_id": ready.carrier["id"], "liid": "NYPD-0002",
                                                             "identifiers": "e164:+12125559999"})
    assert uncovered.status_code == 422 and "Rule A7:" in uncovered.text
    r = post(taru, f"/cases/{case_id}/intercepts", {"carrier_id": ready.carrier["id"], "liid": "NYPD-0002",
                                                     "identifiers": f"e164:{TARGET['value']}"})
    assert r.status_code == 303, r.text
    page = taru.get(r.headers["location"]).text
    assert "NYPD-0002" in page and "pending" in page
    ids = re.findall(r'/intercepts/([0-9a-f-]{36})/activate"', page)
    mine = [i for i in ids if i != ready.intercept["id"]]
    assert len(mine) == 1
    r = post(taru, f"/cases/{case_id}/intercepts/{mine[0]}/activate", {"next": ""})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/cases/{case_id}?ok=intercept.activated")
    page = taru.get(r.headers["location"]).text
    assert "Intercept activated" in page and f"/api/v1/intercepts/{mine[0]}/package" in page
    package = taru.get(f"/api/v1/intercepts/{mine[0]}/package")
    assert package.status_code == 200 and package.content[:2] == b"PK"

    r = post(taru, f"/cases/{case_id}/intercepts/{mine[0]}/package", {"event": "acknowledged", "next": ""})
    assert r.status_code == 409 and "Rule B4:" in r.text
    r = post(taru, f"/cases/{case_id}/intercepts/{mine[0]}/package", {"event": "sent", "next": "/intercepts"})
    assert r.status_code == 303 and r.headers["location"].startswith("/intercepts?ok=package.sent")
    listing = taru.get("/intercepts").text
    assert "NYPD-0002" in listing and "Mark acknowledged" in listing and ready.case["complaint_number"] in listing
    r = post(taru, f"/cases/{case_id}/intercepts/{mine[0]}/package", {"event": "acknowledged", "next": "/intercepts"})
    assert r.status_code == 303
    r = post(taru, f"/cases/{case_id}/intercepts/{mine[0]}/deactivate", {"reason": "Order ended early.", "next": "//evil.example"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/cases/{case_id}?ok=intercept.deactivated")


def test_activation_without_supervisor_approval_is_refused_with_rule_b6(world: World) -> None:
    taru = sign_in(world, world.user("taru", "Technical Assistance Response Unit"))
    case_id = open_case(taru)
    doc = upload(taru, case_id)
    r = post(taru, f"/cases/{case_id}/authorities", authority_form(world.clock.now(), 30, document_id=doc["id"]))
    assert r.status_code == 303
    r = post(taru, "/carriers", {"name": "MetroTel", "formats": "etsi-102232", "addresses": "203.0.113.0/24"})
    assert r.status_code == 303
    carrier_id = re.search(r'<option value="([0-9a-f-]{36})"\s*>MetroTel', taru.get(f"/cases/{case_id}").text)
    assert carrier_id
    r = post(taru, f"/cases/{case_id}/intercepts", {"carrier_id": carrier_id.group(1), "liid": "NYPD-0100",
                                                     "identifiers": "e164:+12125550100"})
    assert r.status_code == 303
    icpt = re.search(r'/intercepts/([0-9a-f-]{36})/activate"', taru.get(f"/cases/{case_id}").text)
    assert icpt
    r = post(taru, f"/cases/{case_id}/intercepts/{icpt.group(1)}/activate", {"next": "/intercepts"})
    assert r.status_code == 422 and "Rule B6:" in r.text and "<h1>Intercepts</h1>" in r.text


# -- users, grants, access ----------------------------------------------------------------

def test_create_a_user_and_grant_access_through_the_forms(ready: Ready, world: World) -> None:
    taru = sign_in(world, world.user("taru", "Technical Assistance Response Unit"))
    r = post(taru, "/users", {"username": "det.roe", "display_name": "Det. J. Roe", "password": PASSWORD,
                              "role": "investigator", "unit": "Narcotics Division", "agency": ""})
    assert r.status_code == 303, r.text
    users_page = taru.get(r.headers["location"]).text
    assert "User created." in users_page and "det.roe" in users_page
    dup = post(taru, "/users", {"username": "det.roe", "password": PASSWORD, "role": "investigator", "unit": "X"})
    assert dup.status_code == 409 and "Rule C1:" in dup.text

    case_id = ready.case["id"]
    roe = {"username": "det.roe"}
    roe_client = sign_in(world, roe)
    assert roe_client.get(f"/cases/{case_id}").status_code == 403

    page = taru.get(f"/cases/{case_id}").text
    user_id = re.search(r'<option value="([0-9a-f-]{36})"\s*>det\.roe', page)
    assert user_id, "det.roe is offered in the grant form"
    short = post(taru, f"/cases/{case_id}/grants", {"user_id": user_id.group(1), "authority_id": ready.authority["id"],
                                                     "purpose": "x", "ends_at": "", "court_order": ""})
    assert short.status_code == 422 and "Rule C2:" in short.text
    r = post(taru, f"/cases/{case_id}/grants", {"user_id": user_id.group(1), "authority_id": ready.authority["id"],
                                                 "purpose": "Monitoring under warrant EW-2026-0042",
                                                 "ends_at": local(world.clock.now() + timedelta(days=90)), "court_order": ""})
    assert r.status_code == 303, r.text
    page = taru.get(r.headers["location"]).text
    assert "Access granted" in page and "Monitoring under warrant EW-2026-0042" in page
    assert iso(world.clock.now() + timedelta(days=30))[:16].replace("T", " ") in page  # cut to the warrant (C2)

    seen = roe_client.get(f"/cases/{case_id}")
    assert seen.status_code == 200 and "Your access" in seen.text and "Grant access" not in seen.text

    grant_id = re.search(r'/grants/([0-9a-f-]{36})/revoke"', page)
    assert grant_id
    r = post(taru, f"/cases/{case_id}/grants/{grant_id.group(1)}/revoke", {"reason": "Reassigned."})
    assert r.status_code == 303
    assert roe_client.get(f"/cases/{case_id}").status_code == 403


def test_offboard_and_unlock_through_the_users_page(world: World) -> None:
    taru = sign_in(world, world.user("taru", "Technical Assistance Response Unit"))
    target = world.user("investigator")
    victim = sign_in(world, target)
    r = post(taru, f"/users/{target['id']}/offboard", {"mode": "transfer", "new_unit": "", "reason": ""})
    assert r.status_code == 400 and "new unit" in r.text
    r = post(taru, f"/users/{target['id']}/offboard", {"mode": "transfer", "new_unit": "Homicide", "reason": "Transfer"})
    assert r.status_code == 303
    assert victim.get("/cases", follow_redirects=False).status_code == 303  # session ended (C3)
    r = post(taru, f"/users/{target['id']}/unlock", {"reset_mfa": "1"})
    assert r.status_code == 303 and r.headers["location"] == "/users?ok=user.mfa_reset"
    assert "Homicide" in taru.get("/users").text


def test_investigator_without_grant_gets_a_403_page(ready: Ready, world: World) -> None:
    outsider = sign_in(world, world.user("investigator"))
    r = outsider.get(f"/cases/{ready.case['id']}")
    assert r.status_code == 403
    assert "Access refused" in r.text and "C2" in r.text and "no active grant for this case" in r.text
    assert "Operation Test" not in r.text
    refused = audit_rows(world, action="page GET /cases/{case_id}", outcome="refused")
    assert refused and refused[-1]["case_id"] == ready.case["id"]


def test_case_page_reads_are_audited_through_the_services(ready: Ready, world: World) -> None:
    supervisor = sign_in(world, world.user("supervisor"))
    before = {r["seq"] for r in audit_rows(world, case_id=ready.case["id"])}
    assert supervisor.get(f"/cases/{ready.case['id']}").status_code == 200
    new = [r["action"] for r in audit_rows(world, case_id=ready.case["id"]) if r["seq"] not in before]
    assert {"case.read", "document.list", "authority.list", "intercept.list"} <= set(new)


# -- administration -----------------------------------------------------------------------

def test_carriers_network_and_alerts_pages(world: World) -> None:
    taru = sign_in(world, world.user("taru", "Technical Assistance Response Unit"))
    bad = post(taru, "/carriers", {"name": "BadTel", "formats": "etsi-102232", "addresses": "not-an-ip"})
    assert bad.status_code == 400 and "not an IP address" in bad.text and "BadTel" in bad.text
    r = taru.post("/carriers", data={"name": "CityCell", "formats": ["etsi-102232", "pcesp"], "addresses": "198.51.100.0/24",
                                     "hi2_port": "6001", "hi3_port": "6002"}, follow_redirects=False)
    assert r.status_code == 303
    page = taru.get("/carriers").text
    assert "CityCell" in page and "pcesp" in page and "198.51.100.0/24" in page

    r = post(taru, "/settings/network", {"facility_networks": "10.0.0.0/8\n127.0.0.0/8", "workstations": "",
                                         "restrict_workstations": "on"})
    assert r.status_code == 400 and "Rule C4:" in r.text
    r = post(taru, "/settings/network", {"facility_networks": "10.0.0.0/8\n127.0.0.0/8", "workstations": "127.0.0.1"})
    assert r.status_code == 303
    assert "10.0.0.0/8" in taru.get("/settings/network").text

    with world.svc.db.write() as conn:
        world.svc.alert(conn, "delivery.unauthorized", "delivery for an unknown LIID", rule="A7")
    page = taru.get("/alerts?open=1").text
    assert "delivery for an unknown LIID" in page
    alert_id = re.search(r'/alerts/([0-9a-f-]{36})/acknowledge"', page)
    assert alert_id
    r = post(taru, f"/alerts/{alert_id.group(1)}/acknowledge", {})
    assert r.status_code == 303
    assert "delivery for an unknown LIID" not in taru.get("/alerts?open=1").text


def test_admin_pages_are_refused_to_other_roles(world: World) -> None:
    investigator = sign_in(world, world.user("investigator"))
    for path in ("/users", "/carriers", "/intercepts", "/intake", "/settings/network", "/audit", "/alerts"):
        r = investigator.get(path)
        assert r.status_code == 403, path
        assert "C1" in r.text
    vendor = sign_in(world, world.user("vendor", "Vendor Support"))
    assert vendor.get("/", follow_redirects=True).url.path == "/system"


# -- audit --------------------------------------------------------------------------------

def test_audit_page_lists_filters_and_verifies(ready: Ready, world: World) -> None:
    auditor = sign_in(world, world.user("auditor", "Internal Affairs Bureau"))
    page = auditor.get("/audit")
    assert page.status_code == 200
    assert "case.open" in page.text and "authority.record" in page.text
    seqs = [int(s) for s in re.findall(r'<td class="num muted">(\d+)</td>', page.text)]
    assert seqs and seqs == sorted(seqs, reverse=True)  # newest first

    outsider = sign_in(world, world.user("investigator"))
    outsider.get(f"/cases/{ready.case['id']}")
    refused = auditor.get("/audit", params={"outcome": "refused", "case": ready.case["complaint_number"]}).text
    assert "page GET /cases/{case_id}" in refused and "case.open" not in refused
    since = auditor.get("/audit", params={"since": local(world.clock.now() + timedelta(hours=1))}).text
    assert "No event matches." in since

    verified = auditor.get("/audit", params={"verify": "1"})
    assert "Chain intact" in verified.text
    assert audit_rows(world, action="audit.verify")


def test_no_page_carries_script(ready: Ready, world: World) -> None:
    taru = sign_in(world, world.user("taru", "Technical Assistance Response Unit"))
    for path in ("/cases", f"/cases/{ready.case['id']}", "/intercepts", "/carriers", "/intake", "/users", "/alerts", "/audit",
                 "/settings/network", "/system", "/account/mfa"):
        r = taru.get(path)
        assert r.status_code == 200, path
        assert "<script" not in r.text.lower() and " on" + "click=" not in r.text.lower(), path
        assert re.findall(r'(?:href|src)="(https?:)?//', r.text) == [], path  # every asset local (F3)
    css = taru.get("/static/calea.css")
    assert css.status_code == 200 and "@import" not in css.text and "url(" not in css.text


def test_the_form_and_the_api_record_the_same_authority(world: World) -> None:
    """The API and the form record the same authority (same service)."""
    _, api = world.as_role("taru", "Technical Assistance Response Unit")
    case = api.post("/api/v1/cases", json={"complaint_number": "2026-009999", "title": "Twin"}).json()
    form_client = sign_in(world, world.user("taru", "Technical Assistance Response Unit"))
    now = world.clock.now()
    assert post(form_client, f"/cases/{case['id']}/authorities", authority_form(now, 30, docket="FORM-1")).status_code == 303
    assert api.post(f"/api/v1/cases/{case['id']}/authorities", json=authority_body(now, docket="API-1")).status_code == 201
    rows = api.get(f"/api/v1/cases/{case['id']}/authorities").json()
    by_docket = {a["docket"]: a for a in rows}
    assert by_docket["FORM-1"]["expires_at"] == by_docket["API-1"]["expires_at"]
    assert by_docket["FORM-1"]["effective_at"] == by_docket["API-1"]["effective_at"]
