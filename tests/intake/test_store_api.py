"""The store through the API: reads of intercepted data need a grant and a purpose (C2, C5),
inclusion and consistency proofs verify against the signed tree head (D1)."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient

from calea.handover.model import Channel
from calea.intake.pipeline import Intake, Received
from calea.services import grants, users
from calea.store.merkle import leaf_hash, verify_checkpoint, public_keys
from calea.store.merkle.verify import verify_consistency, verify_inclusion
from calea.web.app import create_app
from tests.intake.conftest import Setup
from tests.intake.test_openli_streams import CALL_DAY, TARGET_SIP
from tests.intake.test_tamper import records


def test_records_and_proofs(setup: Setup) -> None:
    setup.clock.set(datetime(2025, 6, 2, 14, 5, tzinfo=timezone.utc))
    ctx = setup.intercept("NYPD-VOIP-0001", TARGET_SIP, start=CALL_DAY)
    case_id = ctx["case"]["id"]
    intake = Intake(setup.svc)
    now = setup.clock.now()
    hi2 = records("hi2-NYPD.ber")
    intake.process([Received(r, Channel.HI2, "etsi-102232", "t", now) for r in hi2[:20]])
    intake.writer.checkpoint(case_id, force=True)
    first_size = intake.writer.merkle_log(case_id).size
    intake.process([Received(r, Channel.HI2, "etsi-102232", "t", now) for r in hi2[20:]])
    intake.writer.close()
    app = create_app(setup.svc)
    det = users.create_user(setup.svc, None, username="det.api", password="Correct-Horse-42", role="investigator", unit="Narcotics Division")
    client = TestClient(app, client=("127.0.0.1", 5000))
    assert client.post("/api/v1/auth/login", json={"username": "det.api", "password": "Correct-Horse-42"}).status_code == 200
    assert client.get(f"/api/v1/cases/{case_id}/records", params={"purpose": "review"}).status_code == 403  # no grant (C2)
    grants.create_grant(setup.svc, setup.taru, case_id, {"user_id": det["id"], "authority_id": ctx["authority"]["id"], "purpose": "Wire room"})
    no_purpose = client.get(f"/api/v1/cases/{case_id}/records")
    assert no_purpose.status_code == 403 and no_purpose.json()["rule"] == "C5"
    r = client.get(f"/api/v1/cases/{case_id}/records", headers={"X-Calea-Purpose": "Identify the caller of call 1"})
    assert r.status_code == 200
    recs = r.json()["records"]
    assert len(recs) == 23 and {x["liid"] for x in recs} == {"NYPD-VOIP-0001"}
    audit = client.get("/api/v1/audit")
    assert audit.status_code == 403  # investigators do not read the audit log
    log = client.get(f"/api/v1/cases/{case_id}/log").json()
    assert log["size"] == 24 and log["tree_heads"]
    head = log["tree_heads"][0]
    cp = verify_checkpoint(head["checkpoint"], public_keys(setup.svc.settings.keys_dir), origin=f"calea/case/{case_id}")
    assert cp.size == 24 and cp.root_hash.hex() == log["root"]
    # inclusion of a stored record's leaf, recomputed from what the API returned
    rec = recs[-1]
    proof = client.get(f"/api/v1/cases/{case_id}/log/inclusion", params={"index": rec["leaf_index"], "size": 24}).json()
    verify_inclusion(bytes.fromhex(proof["leaf_hash"]), rec["leaf_index"], 24, [bytes.fromhex(p) for p in proof["proof"]], cp.root_hash)
    cons = client.get(f"/api/v1/cases/{case_id}/log/consistency", params={"first": first_size, "second": 24}).json()
    verify_consistency(first_size, 24, bytes.fromhex(cons["first_root"]), cp.root_hash, [bytes.fromhex(p) for p in cons["proof"]])
    bad = client.get(f"/api/v1/cases/{case_id}/log/inclusion", params={"index": 99, "size": 24})
    assert bad.status_code == 400
    assert leaf_hash(b"x") != bytes.fromhex(proof["leaf_hash"])


def test_intake_view_for_taru(setup: Setup) -> None:
    setup.clock.set(datetime(2025, 6, 2, 14, 5, tzinfo=timezone.utc))
    intake = Intake(setup.svc)
    intake.process([Received(r, Channel.HI2, "etsi-102232", "10.0.0.9:4000", setup.clock.now()) for r in records("hi2-NYPD.ber")[:12]])
    client = TestClient(create_app(setup.svc), client=("127.0.0.1", 5000))
    client.post("/api/v1/auth/login", json={"username": "taru.intake", "password": "Correct-Horse-42"})
    view = client.get("/api/v1/intake").json()
    # three streams, none with a gap: the streams listed are those with gaps (D1)
    assert view["stream_totals"] == {"streams": 3, "gapped": 0, "missing": 0} and view["streams"] == []
    assert view["refusals"] and all(r["rule"] == "A7" for r in view["refusals"])
