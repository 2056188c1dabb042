"""D2: FIFO purge takes what was made from the purged data too -- call recordings (files and
rows), calls, IP flows, messages and their parts -- in the purge's transaction; data of a
held or active intercept keeps all of it; capacity counts the derived files; the signed
purge record lists what went; `calea verify` passes afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from calea.db.schema import content_items, segments, store_events
from calea.db.schema_calls import call_events, calls
from calea.db.schema_ip import ip_flows, messages
from calea.db.schema_recordings import recordings
from calea.intake.pipeline import Intake
from calea.services import retention
from calea.services.traffic_index import catch_up
from calea.sessions.calls_store import subscribe
from calea.sim.build import build
from calea.sim.scenario import scenario_from_dict
from calea.store.retention import SegmentInfo, _segment_infos, enforce_capacity, finish_purges, select_purge, store_usage
from calea.store.verify import verify_store
from tests.intake.conftest import Setup
from tests.sessions.recording_helpers import Clock, recorder_for
from tests.sessions.traffic_helpers import feed

T = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
D = timedelta(days=1)
H = timedelta(hours=1)


def _identifiers(n: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    number = f"+1212555{n:04d}"
    return ([{"kind": "sip_uri", "value": f"sip:{number}@example.net"}, {"kind": "e164", "value": number}],
            [{"kind": "ip", "value": f"198.51.100.{n}"}])


def _world(setup: Setup, prefix: str, n: int, *, start: datetime, days: int) -> dict[str, Any]:
    """A VoIP target and a broadband target (each its own case) under eavesdropping warrants."""
    voip_ids, ip_ids = _identifiers(n)
    voip = setup.intercept(f"{prefix}-VOIP", voip_ids, start=start, days=days)
    ip = setup.intercept(f"{prefix}-IP", ip_ids, start=start, days=days)
    return {"prefix": prefix, "n": n, "voip": voip, "ip": ip, "cases": [voip["case"]["id"], ip["case"]["id"]]}


def _scenario(w: dict[str, Any]) -> Any:
    n = w["n"]
    number = f"+1212555{n:04d}"
    voip, ip = f"{w['prefix']}-VOIP", f"{w['prefix']}-IP"
    return scenario_from_dict({
        "seed": n, "carrier": {"keepalive_interval": 0},  # each world its own audio, ports, pictures
        "targets": [{"liid": voip, "sip_uri": f"sip:{number}@example.net", "e164": number},
                    {"liid": ip, "ip": f"198.51.100.{n}", "username": "target"}],
        "events": [
            {"type": "call", "liid": voip, "at": 1.0, "direction": "in", "ring": 1.0, "duration": 4.0, "dtmf_after": "42"},
            {"type": "ip_session", "liid": ip, "at": 2.0, "http_host": "www.example.com", "tls_host": "mail.example.org"},
            {"type": "sms", "liid": voip, "at": 9.0, "text": f"Boat {n} is in at pier 4."},
            {"type": "mms", "liid": voip, "at": 11.0, "to": [number], "subject": f"Pier {n}", "text": f"Place {n}.",
             "image": {"width": 8, "height": 8, "seed": n}},
        ]})


def _deliver(setup: Setup, worlds: list[dict[str, Any]], at: datetime) -> None:
    """Each world's traffic, intercepted (and received) around `at`: calls with recordings,
    an SMS, an MMS, an IP session; then the calls, flows and message indexes."""
    saved = setup.clock.now()
    setup.clock.set(at)
    intake = Intake(setup.svc)
    recorder = recorder_for(setup.svc, intake, Clock())
    subscribe(intake)
    try:
        for w in worlds:
            for fmt in ("etsi-102232", "3gpp-mms"):
                feed(intake, build(_scenario(w), fmt, now=at - timedelta(minutes=1)))
        recorder.close_all("shutdown")
    finally:
        intake.writer.close()
    catch_up(setup.svc)
    setup.clock.set(saved)


def _derived(svc: Any, case_ids: list[str]) -> dict[str, Any]:
    """What the store holds that was made from a case's data, and the files it names."""
    with svc.db.read() as conn:
        def count(table: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table).where(table.c.case_id.in_(case_ids))).scalar())

        recs = conn.execute(select(recordings).where(recordings.c.case_id.in_(case_ids))).mappings().all()
        shas = set(conn.execute(select(content_items.c.sha256).where(content_items.c.case_id.in_(case_ids))).scalars())
        segs = conn.execute(select(segments.c.path).where(segments.c.case_id.in_(case_ids))).scalars().all()
        names = conn.execute(select(ip_flows.c.sni, ip_flows.c.http_host).where(ip_flows.c.case_id.in_(case_ids))).all()
        out = {"recordings": len(recs), "calls": count(calls), "call_events": count(call_events), "flows": count(ip_flows),
               "messages": count(messages), "content_items": count(content_items),
               "names": sorted(x for row in names for x in row if x)}
    files = shas | {sha for r in recs for sha in (r["master_sha256"], r["rendition_sha256"], r["peaks_sha256"])}
    out["files"] = files
    out["files_on_disk"] = sum(svc.content.path(s).exists() for s in files)
    out["segments_on_disk"] = sum(svc.store_writer().files.path(p).exists() for p in segs)
    out["recording_ids"] = sorted(r["id"] for r in recs)
    out["recording_bytes"] = sum(r["master_size"] + r["rendition_size"] + r["peaks_size"] for r in recs)
    return out


def test_select_purge_credits_the_files_that_go_with_a_segment() -> None:
    """D2: a segment's message parts and recordings count toward what its purge frees."""
    segs = [SegmentInfo(f"s{i}", "c", 100, T + timedelta(hours=i), True, True, False, False, derived=300) for i in range(3)]
    chosen, _ = select_purge(segs, used=1200, capacity=850)
    assert [s.id for s in chosen] == ["s0"]  # 100 bytes of segment + 300 of files made from it
    plain = [SegmentInfo(s.id, s.case_id, s.size, s.created_at, True, True, False, False) for s in segs]
    assert len(select_purge(plain, used=1200, capacity=850)[0]) == 3


def test_purge_takes_recordings_calls_flows_and_messages_of_old_data_only(setup: Setup) -> None:
    setup.clock.set(T)
    old = _world(setup, "OLD", 11, start=T - 20 * D, days=10)
    held = _world(setup, "HELD", 12, start=T - 20 * D, days=10)
    live = _world(setup, "LIVE", 13, start=T - D, days=30)
    _deliver(setup, [old, held], T - 15 * D)
    _deliver(setup, [live], T - 2 * H)
    before = {w["prefix"]: _derived(setup.svc, w["cases"]) for w in (old, held, live)}
    for b in before.values():  # each world made everything the purge must consider
        assert b["recordings"] == 1 and b["calls"] >= 1 and b["flows"] == 5 and b["messages"] == 2  # 4 of the session, 1 of RTP
        assert b["names"] == ["mail.example.org", "www.example.com"] and b["files_on_disk"] == len(b["files"]) > 3
    for w in (old, held):
        for case_id in w["cases"]:
            retention.record_export(setup.svc, setup.taru, case_id, until=T.isoformat(), reference="EXP-7")
    for case_id in held["cases"]:
        retention.place_hold(setup.svc, setup.taru, case_id, "Court order: preserve pending appeal")
    used = store_usage(setup.svc)
    report = enforce_capacity(setup.svc, setup.svc.store_writer(), capacity=1)  # everything that may go, goes

    after = {w["prefix"]: _derived(setup.svc, w["cases"]) for w in (old, held, live)}
    gone = after["OLD"]
    assert (gone["recordings"], gone["calls"], gone["call_events"], gone["flows"], gone["messages"],
            gone["content_items"], gone["names"]) == (0, 0, 0, 0, 0, 0, [])
    assert gone["files_on_disk"] == 0 and gone["segments_on_disk"] == 0  # FLAC, Opus, peaks, MMS parts, digits
    for kept in ("HELD", "LIVE"):  # a legal hold, an active intercept: everything stays
        assert {k: v for k, v in after[kept].items()} == {k: v for k, v in before[kept].items()}
    assert {s["reason"] for s in report["skipped"]} == {"under legal hold", "an intercept of this data is still active"}
    # capacity: the recordings and parts were counted, and their purge freed them
    assert used - store_usage(setup.svc) == report["freed"] >= before["OLD"]["recording_bytes"] > 0
    # the signed record lists what went
    with setup.svc.db.read() as conn:
        bodies = conn.execute(select(store_events.c.body).where(store_events.c.kind == "purge",
                                                                store_events.c.case_id.in_(old["cases"]))).scalars().all()
    assert bodies and all(b["rule"] == "D2" and b["leaves"] for b in bodies)
    assert sorted(r for b in bodies for r in b["recordings"]) == before["OLD"]["recording_ids"]
    assert sum(b["derived"]["flows_removed"] for b in bodies) == 5
    assert sum(b["derived"]["messages_removed"] for b in bodies) >= 2  # (an MMS made again from its other half, then gone too)
    assert sum(b["derived"]["calls_removed"] for b in bodies) == before["OLD"]["calls"]
    assert sum(b["content"]["items"] for b in bodies) == before["OLD"]["content_items"]
    result = verify_store(setup.svc)
    assert result.ok, result.problems
    assert catch_up(setup.svc) == {"cc": 0, "iri": 0}
    assert enforce_capacity(setup.svc, setup.svc.store_writer(), capacity=1)["purged"] == []  # nothing more may go


def test_partial_purge_makes_flows_messages_and_calls_again_from_what_remains(setup: Setup) -> None:
    """The same conversations an hour apart: purging the first hour's segments leaves the
    flows with the second hour's packets only, its message, its call and its recording."""
    setup.clock.set(T)
    w = _world(setup, "TWO", 21, start=T - 20 * D, days=10)
    first, second = T - 15 * D, T - 15 * D + H
    _deliver(setup, [w], first)
    _deliver(setup, [w], second)
    whole = _derived(setup.svc, w["cases"])
    with setup.svc.db.read() as conn:
        flows_before = {(f.server, f.server_port, f.client_port): f for f in conn.execute(select(ip_flows))}
    # what the first hour's segments free: their bytes, their records' parts, their recording
    first_hour = sum(s.size + s.derived for s in _segment_infos(setup.svc) if s.created_at < second)
    assert whole["recordings"] == 2 and whole["messages"] == 4 and whole["flows"] == 5  # the same 5-tuples twice
    for case_id in w["cases"]:
        retention.record_export(setup.svc, setup.taru, case_id, until=T.isoformat(), reference="EXP-8")
    used = store_usage(setup.svc)
    report = enforce_capacity(setup.svc, setup.svc.store_writer(), capacity=used - first_hour)
    assert len(report["purged"]) == 4  # HI2 and HI3 of both cases, first hour only
    left = _derived(setup.svc, w["cases"])
    assert left["recordings"] == 1 and left["messages"] == 2 and left["flows"] == 5
    assert left["names"] == ["mail.example.org", "www.example.com"]
    with setup.svc.db.read() as conn:
        flows_after = {(f.server, f.server_port, f.client_port): f for f in conn.execute(select(ip_flows))}
        recs = conn.execute(select(recordings.c.started_at)).scalars().all()
        msgs = conn.execute(select(messages.c.at)).scalars().all()
        call_starts = conn.execute(select(calls.c.started_at)).scalars().all()
    assert set(flows_after) == set(flows_before)
    for key, f in flows_after.items():
        b = flows_before[key]
        assert (f.packets_up * 2, f.packets_down * 2, f.bytes_up * 2, f.bytes_down * 2) == (
            b.packets_up, b.packets_down, b.bytes_up, b.bytes_down)
        assert f.first_at >= second - timedelta(minutes=2) and f.last_at == b.last_at
    assert all(t >= second - timedelta(minutes=2) for t in [*recs, *msgs, *call_starts]) and len(call_starts) >= 1
    result = verify_store(setup.svc)
    assert result.ok, result.problems
    assert catch_up(setup.svc) == {"cc": 0, "iri": 0}


def test_files_left_by_a_crash_after_the_commit_are_finished(setup: Setup, monkeypatch: Any) -> None:
    """A crash between a purge's commit and its file deletions: the content items and the
    segments marked purged name what to delete, and `finish_purges` deletes it."""
    import pathlib

    import calea.store.retention as store_retention

    setup.clock.set(T)
    w = _world(setup, "CRASH", 31, start=T - 20 * D, days=10)
    _deliver(setup, [w], T - 15 * D)
    for case_id in w["cases"]:
        retention.record_export(setup.svc, setup.taru, case_id, until=T.isoformat(), reference="EXP-9")
    before = _derived(setup.svc, w["cases"])
    writer = setup.svc.store_writer()
    finish_purges(setup.svc, writer)  # (the start-up pass: nothing to finish yet)
    monkeypatch.setattr(store_retention, "_drop_purged_items", lambda svc: 0)  # the process dies after the commit...
    monkeypatch.setattr(pathlib.Path, "unlink", lambda self, missing_ok=False: None)  # ...before deleting a file
    enforce_capacity(setup.svc, writer, capacity=1)
    monkeypatch.undo()
    stale = _derived(setup.svc, w["cases"])
    assert stale["recordings"] == stale["calls"] == stale["flows"] == stale["messages"] == 0  # committed
    assert stale["files_on_disk"] == before["files_on_disk"] and stale["segments_on_disk"] == 4  # files left
    result = verify_store(setup.svc)
    assert result.ok, result.problems  # what the commit did is consistent and signed
    assert finish_purges(setup.svc, writer) == before["files_on_disk"] + 4
    done = _derived(setup.svc, w["cases"])
    assert done["files_on_disk"] == 0 and done["segments_on_disk"] == 0 and done["content_items"] == 0
    result = verify_store(setup.svc)
    assert result.ok, result.problems


def test_purge_under_prtt_takes_the_flows_of_header_records(setup: Setup) -> None:
    """A1/A6 data goes the same way: flows made from header records, and the messages'
    addressing, leave with the records they came from."""
    from tests.sessions.traffic_helpers import IP_TARGET, VOIP, demo_plan
    from tests.sessions.traffic_helpers import feed as feed_plan

    setup.clock.set(T)
    ip = setup.intercept("DEMO-IP-0001", IP_TARGET, kind="prtt", start=T - 20 * D, days=10)
    voip = setup.intercept("DEMO-VOIP-0001", VOIP, kind="prtt", start=T - 20 * D, days=10)
    setup.clock.set(T - 15 * D)
    intake = Intake(setup.svc)  # keeps header records under a PRTT order itself (A1/A6)
    try:
        feed_plan(intake, demo_plan(setup))
    finally:
        intake.writer.close()
    catch_up(setup.svc)
    setup.clock.set(T)
    cases = [ip["case"]["id"], voip["case"]["id"]]
    before = _derived(setup.svc, cases)
    with setup.svc.db.read() as conn:
        sources = set(conn.execute(select(ip_flows.c.source)).scalars())
    assert before["flows"] >= 4 and before["messages"] >= 1 and sources == {"header"}
    for case_id in cases:
        retention.record_export(setup.svc, setup.taru, case_id, until=T.isoformat(), reference="EXP-10")
    enforce_capacity(setup.svc, setup.svc.store_writer(), capacity=1)
    after = _derived(setup.svc, cases)
    assert (after["flows"], after["messages"], after["calls"], after["segments_on_disk"]) == (0, 0, 0, 0)
    result = verify_store(setup.svc)
    assert result.ok, result.problems


def test_a_recording_whose_call_content_went_while_it_was_open_is_not_stored(setup: Setup) -> None:
    """D2: a recording lives no longer than its source.  Call content purged while its call
    was still open in the recorder (the intercept no longer active) leaves nothing behind:
    no recording row, no file, and the log still verifies."""
    setup.clock.set(T)
    gone = _world(setup, "GONE", 14, start=T - 20 * D, days=10)
    at = T - 15 * D
    setup.clock.set(at)
    intake = Intake(setup.svc)
    recorder = recorder_for(setup.svc, intake, Clock())
    subscribe(intake)
    try:
        feed(intake, build(_scenario(gone), "etsi-102232", now=at - timedelta(minutes=1)))
        assert recorder.calls  # the calls' recordings are still open
        intake.writer.close()  # its segments closed (as an hour's rotation closes them), the recorder still open
        setup.clock.set(T)
        for case_id in gone["cases"]:
            retention.record_export(setup.svc, setup.taru, case_id, until=T.isoformat(), reference="EXP-9")
        report = enforce_capacity(setup.svc, setup.svc.store_writer(), capacity=1)
        assert report["purged"], report
        stored = recorder.close_all("shutdown")
    finally:
        intake.writer.close()
    assert stored == [] and recorder.counts["dropped_source_purged"] >= 1 and recorder.counts["recordings"] == 0
    left = _derived(setup.svc, gone["cases"])
    assert left["recordings"] == 0 and left["files_on_disk"] == len(left["files"])  # (no file without its row)
    result = verify_store(setup.svc)
    assert result.ok, result.problems
