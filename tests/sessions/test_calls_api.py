"""Calls, pen-register events, CSV exports and line sheets through the API: grant and purpose
(C2, C5), content withheld from roles that read none (C1, A6), sign-off rules, the PDF."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from calea.db.schema import audit_events, store_events
from calea.services import grants, users
from calea.services.calls import CALL_CSV, EVENT_CSV, cell
from calea.services.line_sheets import signed_digest
from calea.store.verify import verify_store
from calea.web.api import calls as calls_api
from calea.web.app import create_app
from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.sessions.calls_helpers import PEER, TARGET_NUMBER, Delivered, call_event, deliver

PASSWORD = "Correct-Horse-42"
WHY = {"X-Calea-Purpose": "Wire room: identify the callers of the target"}
SYNOPSIS = "Target tells UM-1 the boat is in at pier 4 and to bring the rest tomorrow."


class World:
    def __init__(self, setup: Setup, d: Delivered) -> None:  # noqa: F811
        self.setup, self.d = setup, d
        self.app = create_app(setup.svc)
        if not any(getattr(r, "path", "") == "/api/v1/cases/{case_id}/calls" for r in self.app.routes):
            self.app.include_router(calls_api.router, prefix="/api/v1")  # until app.py includes it

    def user(self, name: str, role: str, *, grant: bool = True) -> TestClient:
        u = users.create_user(self.setup.svc, None, username=name, password=PASSWORD, role=role,
                              unit="Narcotics Division", display_name=f"Det. {name.title()}")
        if grant:
            grants.create_grant(self.setup.svc, self.setup.taru, self.d.case_id, {
                "user_id": u["id"], "authority_id": self.d.ctx["authority"]["id"], "purpose": "Wire room monitoring"})
        c = TestClient(self.app, client=("127.0.0.1", 5000))
        assert c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD}).status_code == 200
        return c

    def taru(self) -> TestClient:
        c = TestClient(self.app, client=("127.0.0.1", 5000))
        assert c.post("/api/v1/auth/login", json={"username": "taru.intake", "password": PASSWORD}).status_code == 200
        return c


CALLS = [call_event(1.0, "in", "answered", dtmf_after="12#"), call_event(20.0, "out", "busy"),
         call_event(40.0, "out", "no-answer"), call_event(60.0, "in", "cancelled")]


@pytest.fixture
def world(setup: Setup) -> World:  # noqa: F811
    return World(setup, deliver(setup, "ts101671-hi2", CALLS))


def test_calls_need_a_grant_and_a_purpose(world: World) -> None:
    case = world.d.case_id
    det = world.user("det", "investigator", grant=False)
    r = det.get(f"/api/v1/cases/{case}/calls", headers=WHY)
    assert r.status_code == 403 and r.json()["rule"] == "C2"
    det = world.user("det2", "investigator")
    r = det.get(f"/api/v1/cases/{case}/calls")
    assert r.status_code == 403 and r.json()["rule"] == "C5"
    listed = det.get(f"/api/v1/cases/{case}/calls", headers=WHY).json()["calls"]
    assert [c["outcome"] for c in listed] == ["cancelled", "no-answer", "busy", "answered"]  # newest first
    answered = listed[-1]
    assert answered["digits_after"] == "12#" and answered["calling"] == PEER  # content under a warrant (A2)
    one = det.get(f"/api/v1/calls/{answered['id']}", params={"purpose": "check the digits"}).json()
    assert [e["name"] for e in one["events"]] == ["setup", "answer", "digits", "release"]
    assert one["events"][2]["digits_kind"] == "post-cut-through"
    only_out = det.get(f"/api/v1/cases/{case}/calls", headers=WHY, params={"direction": "outgoing"}).json()["calls"]
    assert {c["collection"] for c in only_out} == {"pen-register"} and len(only_out) == 2
    # taru reads call-identifying data with a purpose, never content (C1)
    taru = world.taru()
    assert taru.get(f"/api/v1/cases/{case}/calls").json()["rule"] == "C5"
    seen = taru.get(f"/api/v1/cases/{case}/calls", headers=WHY).json()["calls"]
    assert len(seen) == 4 and all(c["digits_after"] is None for c in seen)
    ev = taru.get(f"/api/v1/calls/{answered['id']}", headers=WHY).json()["events"]
    assert [e["digits"] for e in ev if e["name"] == "digits"] == [None]
    vendor = world.user("vend", "vendor", grant=False)
    assert vendor.get(f"/api/v1/cases/{case}/calls", headers=WHY).status_code == 403
    with world.setup.svc.db.read() as conn:  # C5: the read is audited with its purpose
        reads = conn.execute(select(audit_events.c.purpose).where(audit_events.c.action == "calls.read")).scalars().all()
    assert WHY["X-Calea-Purpose"] in reads and "check the digits" in reads


def parse_csv(r: Any) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(r.text)))


def test_csv_exports(world: World) -> None:
    case = world.d.case_id
    det = world.user("det", "investigator")
    assert det.get(f"/api/v1/cases/{case}/calls.csv").status_code == 403  # no purpose, no bytes (C5)
    table = parse_csv(det.get(f"/api/v1/cases/{case}/calls.csv", headers=WHY))
    assert tuple(table[0]) == CALL_CSV and len(table) == 5
    first = dict(zip(table[0], table[1]))
    assert (first["direction"], first["collection"], first["calling"], first["called"]) == \
        ("incoming", "trap-and-trace", PEER, TARGET_NUMBER)
    assert first["outcome"] == "answered" and first["digits_after"] == "12#" and first["cell"] == "310-410-6699-15437"
    assert first["started_at"].endswith("Z") and float(first["duration_s"]) == pytest.approx(8.0, abs=0.05)
    assert [dict(zip(table[0], row))["outcome"] for row in table[1:]] == ["answered", "busy", "no-answer", "cancelled"]
    events = parse_csv(det.get(f"/api/v1/cases/{case}/pen-register.csv", headers=WHY))
    assert tuple(events[0]) == EVENT_CSV
    names = [dict(zip(events[0], row))["event"] for row in events[1:]]
    assert names.count("setup") == 4 and names.count("release") == 4 and "digits" not in names  # A6
    assert "12#" not in "".join(",".join(r) for r in events)
    taru_csv = parse_csv(world.taru().get(f"/api/v1/cases/{case}/calls.csv", headers=WHY))
    assert all(dict(zip(taru_csv[0], row))["digits_after"] == "" for row in taru_csv[1:])
    pen = det.get(f"/api/v1/cases/{case}/pen-register", headers=WHY).json()["events"]
    assert len(pen) == len(events) - 1 and pen[0]["event"] == "setup"


@pytest.mark.parametrize("value,text", [("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("+12125550100", "+12125550100"),
                                        ("-x", "'-x"), ("@SUM(1)", "'@SUM(1)"), (None, ""), (True, "true")])
def test_csv_cells(value: Any, text: str) -> None:
    assert cell(value) == text


def test_line_sheet_sign_off(world: World) -> None:
    case = world.d.case_id
    det, det2 = world.user("monitor", "investigator"), world.user("other", "investigator")
    sup1, sup2 = world.user("sarge", "supervisor"), world.user("lieutenant", "supervisor")
    call_ids = [c["id"] for c in det.get(f"/api/v1/cases/{case}/calls", headers=WHY).json()["calls"]]
    body = {"call_id": call_ids[-1], "synopsis": SYNOPSIS, "pertinence": "pertinent",
            "participants": ["TARGET", "UM-1"], "language": "English"}
    assert det.post(f"/api/v1/cases/{case}/line-sheets", json=body).status_code == 403  # no purpose (C5)
    bad = det.post(f"/api/v1/cases/{case}/line-sheets", json={**body, "pertinence": "maybe"}, headers=WHY)
    assert bad.status_code == 400
    r = det.post(f"/api/v1/cases/{case}/line-sheets", json=body, headers=WHY)
    assert r.status_code == 201, r.text
    sheet = r.json()
    assert sheet["status"] == "draft" and sheet["monitor_name"] == "Det. Monitor" and sheet["call"]["id"] == call_ids[-1]
    sid = sheet["id"]
    assert det2.patch(f"/api/v1/line-sheets/{sid}", json={"language": "Spanish"}, headers=WHY).json()["rule"] == "C1"
    assert det.patch(f"/api/v1/line-sheets/{sid}", json={"language": "English, Spanish"},
                     headers=WHY).json()["version"] == 2
    # only a supervisor reviews (C1) ...
    r = det2.post(f"/api/v1/line-sheets/{sid}/review", json={"decision": "sign"}, headers=WHY)
    assert r.status_code == 403 and r.json()["rule"] == "C1"
    # ... and never the monitor who wrote the sheet
    own = sup1.post(f"/api/v1/cases/{case}/line-sheets", headers=WHY, json={**body, "call_id": call_ids[0],
                                                                             "pertinence": "non-pertinent"}).json()
    r = sup1.post(f"/api/v1/line-sheets/{own['id']}/review", json={"decision": "sign"}, headers=WHY)
    assert r.status_code == 403 and r.json()["rule"] == "C1"
    assert sup2.post(f"/api/v1/line-sheets/{sid}/review", json={"decision": "return"}, headers=WHY).status_code == 400
    back = sup2.post(f"/api/v1/line-sheets/{sid}/review", json={"decision": "return", "note": "Name UM-1's phone."},
                     headers=WHY).json()
    assert back["status"] == "returned" and back["review_note"] == "Name UM-1's phone."
    fixed = det.patch(f"/api/v1/line-sheets/{sid}", json={"participants": ["TARGET", f"UM-1 ({PEER})"]},
                      headers=WHY).json()
    assert fixed["status"] == "draft" and fixed["version"] == 3
    signed = sup2.post(f"/api/v1/line-sheets/{sid}/review", json={"decision": "sign"}, headers=WHY).json()
    assert signed["status"] == "signed" and signed["signed_by_name"] == "Det. Lieutenant"
    assert isinstance(signed["signed_leaf"], int)
    with world.setup.svc.db.read() as conn:
        ev = conn.execute(select(store_events).where(store_events.c.kind == "line-sheet-signoff")).mappings().one()
        from calea.db.schema_calls import line_sheets

        row = conn.execute(select(line_sheets).where(line_sheets.c.id == sid)).mappings().one()
    assert ev["leaf_index"] == signed["signed_leaf"] and ev["body"]["sha256"] == signed_digest(row) == signed["signed_sha256"]
    assert verify_store(world.setup.svc).ok  # the sign-off is a leaf of the case's signed log (D1)
    assert det.patch(f"/api/v1/line-sheets/{sid}", json={"language": "x"}, headers=WHY).status_code == 409
    assert sup1.post(f"/api/v1/line-sheets/{sid}/review", json={"decision": "sign"}, headers=WHY).status_code == 409
    listed = det.get(f"/api/v1/cases/{case}/line-sheets", headers=WHY).json()
    assert [s["status"] for s in listed] == ["signed", "draft"]
    r = world.taru().get(f"/api/v1/cases/{case}/line-sheets", headers=WHY)  # summaries of content (C1)
    assert r.status_code == 403 and r.json()["rule"] == "C1"


def pdf_text(data: bytes) -> str:
    """The text of a PDF: poppler's pdftotext when installed, else the literal strings of
    the (Flate-compressed) content streams, which is what core-font text is."""
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:  # (the end-of-line before `endstream` is left to the decompressor: the data may end in a CR byte)
            body = zlib.decompressobj().decompress(m.group(1))
        except zlib.error:
            body = m.group(1)
        for s in re.finditer(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", body):
            out.append(re.sub(rb"\\(.)", rb"\1", s.group(1)).decode("latin-1"))
    return "\n".join(out)


def test_line_sheets_pdf(world: World) -> None:
    case = world.d.case_id
    det, sup = world.user("monitor", "investigator"), world.user("lieutenant", "supervisor")
    call = det.get(f"/api/v1/cases/{case}/calls", headers=WHY).json()["calls"][-1]
    sid = det.post(f"/api/v1/cases/{case}/line-sheets", headers=WHY, json={
        "call_id": call["id"], "synopsis": SYNOPSIS, "pertinence": "pertinent", "participants": ["TARGET", "UM-1"],
        "language": "English"}).json()["id"]
    sup.post(f"/api/v1/line-sheets/{sid}/review", json={"decision": "sign"}, headers=WHY)
    day = call["started_at"][:10]
    r = det.get(f"/api/v1/cases/{case}/line-sheets.pdf", params={"day": day}, headers=WHY)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    text = " ".join(pdf_text(r.content).split())
    assert SYNOPSIS in text and "PERTINENT" in text and "signed by Det. Lieutenant" in text
    assert f"Line sheets - {day}" in text and PEER in text
    period = det.get(f"/api/v1/cases/{case}/line-sheets.pdf", headers=WHY,
                     params={"authority_id": world.d.ctx["authority"]["id"]})
    assert period.status_code == 200 and SYNOPSIS in " ".join(pdf_text(period.content).split())
    empty = det.get(f"/api/v1/cases/{case}/line-sheets.pdf", params={"day": "2020-01-01"}, headers=WHY)
    assert "No line sheets in this period." in pdf_text(empty.content)
    assert det.get(f"/api/v1/cases/{case}/line-sheets.pdf", headers=WHY).status_code == 400
    assert world.taru().get(f"/api/v1/cases/{case}/line-sheets.pdf", params={"day": day}, headers=WHY).status_code == 403


def test_no_line_sheet_under_prtt(setup: Setup) -> None:  # noqa: F811
    """A6: a PRTT order yields calls (call-identifying) and no content to summarise."""
    w = World(setup, deliver(setup, "pcesp", [call_event(1.0, "out", dtmf_after="99")], kind="prtt"))
    det = w.user("monitor", "investigator")
    (call,) = det.get(f"/api/v1/cases/{w.d.case_id}/calls", headers=WHY).json()["calls"]
    assert call["outcome"] == "answered" and call["collection"] == "pen-register" and call["digits_after"] is None
    r = det.post(f"/api/v1/cases/{w.d.case_id}/line-sheets", headers=WHY,
                 json={"call_id": call["id"], "synopsis": "x", "pertinence": "pertinent"})
    assert r.status_code == 422 and r.json()["rule"] == "A6"


def test_quarantined_calls_only_for_taru_and_auditor(world: World) -> None:
    """B3: once the intercept is quarantined its calls are hidden from investigators."""
    from sqlalchemy import update

    from calea.db.schema import intercepts

    case = world.d.case_id
    det = world.user("det", "investigator")
    call_id = det.get(f"/api/v1/cases/{case}/calls", headers=WHY).json()["calls"][0]["id"]
    with world.setup.svc.db.write() as conn:
        conn.execute(update(intercepts).values(quarantined_at=world.setup.clock.now()))
    assert det.get(f"/api/v1/cases/{case}/calls", headers=WHY).json()["calls"] == []
    r = det.get(f"/api/v1/calls/{call_id}", headers=WHY)
    assert r.status_code == 403 and r.json()["rule"] == "B3"
    assert parse_csv(det.get(f"/api/v1/cases/{case}/calls.csv", headers=WHY)) == [list(CALL_CSV)]
    auditor = world.user("aud", "auditor", grant=False)
    assert len(auditor.get(f"/api/v1/cases/{case}/calls", headers=WHY).json()["calls"]) == 4
    assert world.taru().get(f"/api/v1/calls/{call_id}", headers=WHY).status_code == 200
