"""The intake's hot paths for the usual ETSI IRI and CC records (`Intake.process`) stores exactly what
its general path stores: the same items (fields, content, rule, late, quarantine), the same
refusals (A7 unknown LIID, A8 outside the window), the same duplicates dropped, content under
a PRTT order suppressed the same way (A6), a truncated record quarantined the same way."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any

import pytest

from calea.handover.etsi102232 import IPIRI, IPMMCC, IPMMIRI, PSHeader, encode_ps_pdu
from calea.handover.model import Channel
from calea.intake import pipeline
from calea.intake.pipeline import Intake, Received
from calea.store.writer import BatchResult
from tests.intake.conftest import Setup

INVITE = (b"INVITE sip:+12125550100@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK776\r\n"
          b"From: <sip:+13105550123@example.net>;tag=1928\r\nTo: <sip:+12125550100@example.net>\r\n"
          b"Call-ID: lane-1@example.net\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 49\r\n\r\n"
          b"v=0\r\nc=IN IP4 203.0.113.50\r\nm=audio 50000 RTP/AVP 0\r\n")
MESSAGE = (b"MESSAGE sip:+12125550100@example.net SIP/2.0\r\nFrom: <sip:+13105550123@example.net>;tag=9\r\n"
           b"To: <sip:+12125550100@example.net>\r\nCall-ID: lane-2@example.net\r\nCSeq: 2 MESSAGE\r\n"
           b"Content-Type: text/plain\r\nContent-Length: 11\r\n\r\nmeet at six")


def _records(setup: Setup) -> list[bytes]:
    now = setup.clock.now()
    out = []
    for liid in ("LANE-W", "LANE-P", "LANE-X"):  # warrant, PRTT, unknown
        for seq, (payload, at) in enumerate([
            (IPMMIRI("begin", INVITE, "198.51.100.20", "203.0.113.10"), now - timedelta(minutes=5)),
            (IPMMIRI("continue", MESSAGE, "198.51.100.20", "203.0.113.10"), now - timedelta(minutes=4)),
            (IPIRI("end", {"accessEventType": "accessEnd", "targetUsername": "u"}), now - timedelta(minutes=3)),
            (IPMMIRI("report", INVITE, "2001:db8::1", "2001:db8::2"), now - timedelta(days=400)),  # outside the window
        ]):
            h = PSHeader(liid=liid, sequence=seq, cin=7, operator_id="EXAMPLETEL", network_element_id="med-1",
                         timestamp_us=int(at.timestamp() * 1_000_000))
            out.append(encode_ps_pdu(h, payload))
    return out + [out[0], out[5], out[1][:40]]  # two duplicates, one truncated record


def _run(setup: Setup, monkeypatch: pytest.MonkeyPatch, records: list[bytes], *, general: bool,
         channel: Channel = Channel.HI2) -> dict[str, Any]:
    intake = Intake(setup.svc)
    intake.stats.streams.clear()  # (the other run's stream state)
    stored: list[Any] = []

    def write(items: list[Any], refused: Any = (), bad: Any = (), stream_rows: Any = ()) -> BatchResult:
        stored.append((list(items), list(refused), list(bad)))
        return BatchResult(stored=len(items))

    monkeypatch.setattr(intake.writer, "write", write)
    with monkeypatch.context() as m:
        if general:
            m.setattr(pipeline, "fast_scan", lambda record: None)  # every record the general way
        now = setup.clock.now()
        intake.process([Received(r, channel, "etsi-102232", "peer", now) for r in records])
    (items, refused, bad), = stored
    return {"items": [asdict(replace(i, fields=dict(i.fields))) for i in items], "refused": [asdict(r) for r in refused],
            "bad": [(b.reason, b.data) for b in bad], "duplicates": intake.stats.counters.duplicates,
            "streams": {k: v.to_dict() for k, v in intake.stats.streams.items()}}


def test_the_iri_lane_stores_what_the_general_path_stores(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    setup.intercept("LANE-W", [{"kind": "e164", "value": "+12125550100"}])
    setup.intercept("LANE-P", [{"kind": "e164", "value": "+12125550100"}], kind="prtt")
    records = _records(setup)
    lane = _run(setup, monkeypatch, records, general=False)
    general = _run(setup, monkeypatch, records, general=True)
    assert lane == general
    # and it is the behaviour the rules ask for
    by_liid = {}
    for it in lane["items"]:
        by_liid.setdefault(it["liid"], []).append(it)
    assert [it["seq"] for it in by_liid["LANE-W"]] == [0, 1, 2]
    assert [len(it["content"]) for it in by_liid["LANE-W"]] == [0, 1, 0]  # the MESSAGE body is content
    prtt_message = by_liid["LANE-P"][1]
    assert prtt_message["content"] == () and prtt_message["suppressed"] and prtt_message["raw"] is None  # A6
    assert {r["rule"] for r in lane["refused"] if r["liid"] == "LANE-X"} == {"A7"}
    assert {(r["liid"], r["seq"]) for r in lane["refused"] if r["rule"] == "A8"} >= {("LANE-W", 3), ("LANE-P", 3)}
    assert lane["duplicates"] == 2 and len(lane["bad"]) == 1


def test_a_cc_record_the_scan_leaves_to_the_exact_reader_is_kept_the_same(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """CC records whose header only the exact reader reads (not the usual layout) take the
    same stream bookkeeping and gate as the scanned ones: the same items, refusals (A7, A8),
    content suppressed under PRTT (A6) and duplicates dropped."""
    setup.intercept("LANE-CW", [{"kind": "e164", "value": "+12125550100"}])
    setup.intercept("LANE-CP", [{"kind": "e164", "value": "+12125550100"}], kind="prtt")
    now = setup.clock.now()
    records = []
    for liid in ("LANE-CW", "LANE-CP", "LANE-CX"):
        for seq, at in enumerate([now - timedelta(minutes=2), now - timedelta(minutes=1), now - timedelta(days=400)]):
            h = PSHeader(liid=liid, sequence=seq, cin=3, operator_id="EXAMPLETEL", network_element_id="med-1",
                         timestamp_us=int(at.timestamp() * 1_000_000))
            records.append(encode_ps_pdu(h, IPMMCC("fromTarget", bytes(range(seq, seq + 60)))))
    records += [records[0], records[1]]  # resent
    lane = _run(setup, monkeypatch, records, general=False, channel=Channel.HI3)
    general = _run(setup, monkeypatch, records, general=True, channel=Channel.HI3)
    assert lane == general
    assert [(it["liid"], it["seq"]) for it in lane["items"] if it["raw"] is not None] == [("LANE-CW", 0), ("LANE-CW", 1)]
    assert {r["rule"] for r in lane["refused"] if r["liid"] == "LANE-CX"} == {"A7"}
    assert {(r["liid"], r["seq"]) for r in lane["refused"] if r["rule"] == "A8"} == {("LANE-CW", 2), ("LANE-CP", 2)}
    assert lane["duplicates"] == 2 and lane["streams"][("LANE-CW", "3", "hi3")]["received"] == 3


def test_a_batch_runs_with_the_collector_paused_and_leaves_it_on(setup: Setup) -> None:
    """The batch's objects are freed with it, by reference counting: the collector would only
    scan them while they live (bench/README.md), so it is off for the batch and on after."""
    import gc

    setup.intercept("LANE-W", [{"kind": "e164", "value": "+12125550100"}])
    intake = Intake(setup.svc)
    during: list[bool] = []
    intake.subscribers.append(lambda items: during.append(gc.isenabled()))
    assert gc.isenabled()
    try:
        result = intake.process([Received(r, Channel.HI2, "etsi-102232", "peer", setup.clock.now()) for r in _records(setup)[:2]])
    finally:
        intake.writer.close()
    assert result.stored == 2
    assert during == [False]
    assert gc.isenabled()
