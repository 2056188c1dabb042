"""Intake over real sockets: many LIIDs interleaved, gaps, malformed PDUs, the window to the
second, quarantine after a missed emergency deadline (A7, A8, B3), and the API's view."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from calea.db.schema import alerts, cc_chunks, iri_records, malformed, refusals, store_events
from calea.handover.etsi102232 import IPMMCC, IPMMIRI, PSHeader, encode_ps_pdu
from calea.intake.pipeline import GAP_GRACE
from calea.store.verify import verify_store
from tests.intake.conftest import RunningIntake, Setup

T = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
PHONE = [{"kind": "e164", "value": "+12125550100"}]
SIP = b"INVITE sip:+12125550100@example.net SIP/2.0\r\nCall-ID: abc@example.net\r\nFrom: <sip:+13105550123@example.net>;tag=1\r\nTo: <sip:+12125550100@example.net>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"


def iri(liid: str, seq: int, at: datetime, cin: int = 7) -> bytes:
    h = PSHeader(liid=liid, sequence=seq, cin=cin, operator_id="EXAMPLETEL", network_element_id="med-1",
                 timestamp_us=int(at.timestamp() * 1_000_000))
    return encode_ps_pdu(h, IPMMIRI("begin" if seq == 0 else "continue", SIP, "198.51.100.20", "203.0.113.10"))


def cc(liid: str, seq: int, at: datetime, cin: int = 7) -> bytes:
    h = PSHeader(liid=liid, sequence=seq, cin=cin, operator_id="EXAMPLETEL", network_element_id="med-1",
                 timestamp_us=int(at.timestamp() * 1_000_000))
    return encode_ps_pdu(h, IPMMCC("fromTarget", bytes(200)))


def push(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        while s.recv(65536):
            pass


def test_many_liids_interleaved(setup: Setup, running: RunningIntake) -> None:
    setup.clock.set(T)
    liids = [f"L{i:02d}" for i in range(8)]
    cases = {}
    for i, liid in enumerate(liids):
        ident = [{"kind": "e164", "value": f"+1212555{i:04d}"}]
        cases[liid] = setup.intercept(liid, ident)["case"]["id"]
    running.intake.refresh_snapshot()
    stream = b"".join(cc(liid, seq, T + timedelta(milliseconds=seq)) for seq in range(50) for liid in liids)
    push(running.ports["hi3"], stream)
    running.settle(1)
    with setup.svc.db.read() as conn:
        per = dict(conn.execute(select(cc_chunks.c.liid, func.sum(cc_chunks.c.count)).group_by(cc_chunks.c.liid)).all())
    assert per == {liid: 50 for liid in liids}
    report = verify_store(setup.svc)
    assert report.ok and {report.leaves[cases[liid]] for liid in liids} == {50}


def test_gap_reported_with_missing_ranges(setup: Setup, running: RunningIntake) -> None:
    setup.clock.set(T)
    setup.intercept("GAP-1", PHONE)
    running.intake.refresh_snapshot()
    seqs = [0, 1, 2, 5, 6, 9]
    push(running.ports["hi2"], b"".join(iri("GAP-1", s, T) for s in seqs))
    running.settle(1)
    state = running.intake.stats.streams[("GAP-1", "7", "hi2")]
    assert state.gaps == [[3, 4], [7, 8]] and state.missing == 4
    push(running.ports["hi2"], iri("GAP-1", 3, T))  # a late arrival closes part of the gap
    running.settle(2)
    assert running.intake.stats.streams[("GAP-1", "7", "hi2")].gaps == [[4, 4], [7, 8]]
    # still open once the grace has passed: alerted, with what is still missing (D1)
    setup.clock.advance(GAP_GRACE)
    deadline = time.monotonic() + 10
    found: list[Any] = []
    while not found and time.monotonic() < deadline:
        time.sleep(0.05)
        with setup.svc.db.read() as conn:
            found = conn.execute(select(alerts.c.details).where(alerts.c.kind == "intake.gap")).scalars().all()
    assert found == [{"liid": "GAP-1", "missing": 3, "stream_count": 1,
                      "streams": [{"channel": "hi2", "cin": "7", "ranges": [[4, 4], [7, 8]]}]}]


def test_malformed_pdu_quarantined_and_following_ones_stored(setup: Setup, running: RunningIntake) -> None:
    setup.clock.set(T)
    setup.intercept("MAL-1", PHONE)
    running.intake.refresh_snapshot()
    good = iri("MAL-1", 0, T)
    broken = b"\x30\x06\xa1\x04\x80\x02\x04\x00"  # a PS-PDU whose header is truncated garbage
    push(running.ports["hi2"], good + broken + iri("MAL-1", 1, T) + iri("MAL-1", 2, T))
    running.settle(1)
    with setup.svc.db.read() as conn:
        bad = conn.execute(select(malformed.c.reason, malformed.c.size, malformed.c.sha256)).all()
        assert conn.execute(select(func.count()).select_from(iri_records)).scalar() == 3
    assert len(bad) == 1 and bad[0].size == len(broken) and bad[0].reason
    assert setup.svc.content.get(bad[0].sha256) == broken  # kept, with its reason, for review


def test_unframeable_stream_closes_after_storing_what_came_before(setup: Setup, running: RunningIntake) -> None:
    setup.clock.set(T)
    setup.intercept("MAL-2", PHONE)
    running.intake.refresh_snapshot()
    push(running.ports["hi2"], iri("MAL-2", 0, T) + b"\x04\x84\xff\xff\xff\xff" + b"x" * 50)
    running.settle(1)
    with setup.svc.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(iri_records)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(malformed)).scalar() == 1
    conn_info = list(running.registry.connections.values())[0]
    assert conn_info.state == "closed" and "malformed" in (conn_info.error or "")


def test_window_to_the_second(setup: Setup, running: RunningIntake) -> None:
    """A8: a delivery stamped one second after expiry is refused; the last second is kept."""
    start = T - timedelta(days=29, hours=23)
    ctx = setup.intercept("WIN-1", PHONE, start=start, days=30)
    end = start + timedelta(days=30)
    setup.clock.set(end + timedelta(seconds=2))
    running.intake.refresh_snapshot()
    push(running.ports["hi2"], iri("WIN-1", 0, end - timedelta(seconds=1)) + iri("WIN-1", 1, end + timedelta(seconds=1)))
    running.settle(1)
    with setup.svc.db.read() as conn:
        kept = conn.execute(select(iri_records.c.seq, iri_records.c.late)).all()
        refused = conn.execute(select(refusals.c.seq, refusals.c.rule, refusals.c.liid)).all()
        alert = conn.execute(select(alerts.c.rule, alerts.c.details).where(alerts.c.kind == "intake.unauthorized_delivery")).all()
    assert [(k.seq, k.late) for k in kept] == [(0, True)]  # inside the window, arrived after it closed: late (A8)
    assert [(r.seq, r.rule) for r in refused] == [(1, "A8")]
    assert alert and alert[0].rule == "A8" and alert[0].details["liid"] == "WIN-1"
    assert ctx["case"]["id"]


def test_unknown_liid_refused_and_alerted_with_metadata_only(setup: Setup, running: RunningIntake) -> None:
    setup.clock.set(T)
    running.intake.refresh_snapshot()
    push(running.ports["hi2"], iri("NOBODY", 0, T))
    running.settle(1)
    with setup.svc.db.read() as conn:
        r = conn.execute(select(refusals)).mappings().one()
        a = conn.execute(select(alerts)).mappings().one()
        assert conn.execute(select(func.count()).select_from(iri_records)).scalar() == 0
    assert r["rule"] == "A7" and r["liid"] == "NOBODY" and a["rule"] == "A7"
    assert "INVITE" not in str(dict(r)) and "INVITE" not in str(dict(a))  # metadata only


def test_b3_quarantine_marks_stored_data_and_signs_it(setup: Setup, running: RunningIntake) -> None:
    from calea.services import authorities, cases, intercepts
    from calea.services.scheduler import enforce_deadlines
    from calea.domain.access import Role
    from calea.services.context import Actor
    from calea.services import users

    setup.clock.set(T)
    inv = users.create_user(setup.svc, None, username="inv.b3", password="Correct-Horse-42", role="investigator", unit="Narcotics Division")
    sup = users.create_user(setup.svc, None, username="sup.b3", password="Correct-Horse-42", role="supervisor", unit="Narcotics Division")
    inv_a = Actor(inv["id"], "inv.b3", Role.INVESTIGATOR, "Narcotics Division")
    sup_a = Actor(sup["id"], "sup.b3", Role.SUPERVISOR, "Narcotics Division")
    case = cases.open_case(setup.svc, inv_a, complaint_number="2026-B3", title="Hostage")
    j = "Armed hostage taking, threat to kill the victim tonight."
    decl = authorities.declare_exigency(setup.svc, inv_a, case["id"], {
        "kind": "emergency_eavesdropping", "court_level": "state", "identifiers": PHONE, "offenses": ["PL 135.25"],
        "findings": {k: {"answered": True, "justification": j} for k in ("crime", "emergency", "danger", "prevention")}})
    cases.approve_case(setup.svc, sup_a, case["id"], reasons="Imminent danger to life.")
    authorities.approve_declaration(setup.svc, sup_a, decl["id"])
    icpt = intercepts.create_intercept(setup.svc, setup.taru, case["id"], {"carrier_id": setup.carrier_id, "liid": "EX-B3", "identifiers": PHONE})
    intercepts.activate(setup.svc, setup.taru, icpt["id"])
    running.intake.refresh_snapshot()
    push(running.ports["hi3"], b"".join(cc("EX-B3", s, T + timedelta(seconds=s)) for s in range(10)))
    running.settle(1)
    due = T + timedelta(hours=24)
    setup.clock.set(due)
    assert enforce_deadlines(setup.svc)
    with setup.svc.db.read() as conn:
        assert conn.execute(select(cc_chunks.c.quarantined)).scalars().all() == [True]
        ev = conn.execute(select(store_events.c.body).where(store_events.c.kind == "quarantine")).scalar_one()
    assert ev["rule"] == "B3" and ev["rows"]["cc_chunks"] == 1
    running.intake.refresh_snapshot()
    push(running.ports["hi3"], cc("EX-B3", 10, due))  # at the deadline, to the second: refused
    running.settle(2)
    with setup.svc.db.read() as conn:
        assert conn.execute(select(refusals.c.rule).where(refusals.c.liid == "EX-B3")).scalars().all() == ["B3"]
    assert verify_store(setup.svc).ok


def test_cc_without_any_time_stamp_refused_and_the_batch_stored(setup: Setup, running: RunningIntake) -> None:
    """A8: a record with no interception time at all is refused (with its metadata) -- and the
    records around it in the same batch are stored all the same."""
    setup.clock.set(T)
    setup.intercept("NOTS-1", PHONE)
    running.intake.refresh_snapshot()
    unstamped = encode_ps_pdu(PSHeader(liid="NOTS-1", sequence=5, cin=7, operator_id="EXAMPLETEL"), IPMMCC("fromTarget", bytes(200)))
    push(running.ports["hi3"], b"".join(cc("NOTS-1", s, T) for s in range(5)) + unstamped
         + b"".join(cc("NOTS-1", s, T) for s in range(6, 10)))
    running.settle(1)
    with setup.svc.db.read() as conn:
        assert conn.execute(select(func.sum(cc_chunks.c.count)).where(cc_chunks.c.liid == "NOTS-1")).scalar() == 9
        refused = conn.execute(select(refusals.c.rule, refusals.c.seq).where(refusals.c.liid == "NOTS-1")).all()
    assert [(r.rule, r.seq) for r in refused] == [("A8", 5)]


def test_a_record_that_breaks_the_pipeline_is_quarantined_and_its_batch_stored(setup: Setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Bad input loses nothing: should judging one record raise (a defect, not a codec error),
    its batch is taken again in halves, every other record is stored, and that one is kept in
    quarantine with the error as its reason."""
    from calea.handover.model import Channel
    from calea.intake.pipeline import Intake, Received
    from calea.store.streams import StreamState

    setup.clock.set(T)
    setup.intercept("BUG-1", PHONE)
    intake = Intake(setup.svc)
    observe = StreamState.observe

    def broken(self, seq):  # type: ignore[no-untyped-def]
        if seq == 13:
            raise RuntimeError("defect on record 13")
        return observe(self, seq)

    monkeypatch.setattr(StreamState, "observe", broken)
    batch = [Received(iri("BUG-1", s, T), Channel.HI2, "etsi-102232", "t", T) for s in range(40)]
    intake._process_or_salvage(batch)
    with setup.svc.db.read() as conn:
        seqs = sorted(conn.execute(select(iri_records.c.seq).where(iri_records.c.liid == "BUG-1")).scalars())
        bad = conn.execute(select(malformed.c.reason, malformed.c.message, malformed.c.sha256)).all()
    assert seqs == [s for s in range(40) if s != 13]
    assert [(b.reason, b.message) for b in bad] == [("processing-error", "RuntimeError: defect on record 13")]
    assert setup.svc.content.get(bad[0].sha256) == batch[13].record
    c = intake.stats.counters
    assert (c.received, c.stored, c.malformed) == (40, 39, 1)
    intake.writer.close()
    assert verify_store(setup.svc).ok
