"""The builder's ETSI TS 102 232 output round-trips through the project's decoder, with
OpenLI's numbering, IRI types and tag layout (checked structurally, independently)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import pytest

from calea.handover import etsi102232
from calea.handover.model import Channel, ContentKind, RecordKind
from calea.sim.build import build, cin_of
from calea.sim.plan import Drop, Plan
from calea.sim.scenario import Carrier, Idle, Reconnect, Scenario

from .conftest import SHARED, START


def _tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag octet, value start, value end): an independent definite-length BER reader."""
    tag = buf[pos]
    assert tag & 0x1F != 0x1F, "no multi-octet tags in these records"
    length = buf[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        assert 1 <= count <= 4
        length = int.from_bytes(buf[start : start + count], "big")
        start += count
    return tag, start, start + length


def _walk(buf: bytes, pos: int, end: int, depth: int = 0) -> int:
    """Every TLV inside ends exactly at its container's end; returns the TLV count."""
    count = 0
    while pos < end:
        tag, start, stop = _tlv(buf, pos)
        assert stop <= end
        if tag & 0x20 and depth < 12:
            count += _walk(buf, start, stop, depth + 1)
        count += 1
        pos = stop
    assert pos == end
    return count


def test_every_record_decodes_with_its_header(plans: dict[str, Plan]) -> None:
    plan = plans["etsi-102232"]
    liids = {"LI-VOIP-1", "LI-IP-1", "LI-WEB-1"}
    for channel, steps in (("hi2", plan.hi2), ("hi3", plan.hi3)):
        for record in plan.records(channel):
            d = etsi102232.decode(record.data, Channel(channel))
            assert d.sequence == record.sequence and d.cin == record.cin
            if record.kind == "keepalive":
                assert d.kind is RecordKind.KEEPALIVE and d.liid == "calea-sim" and d.cin == "0"
                continue
            assert d.liid == record.liid and d.liid in liids
            assert d.kind is (RecordKind.IRI if channel == "hi2" else RecordKind.CC)
            expected_us = int(START.timestamp() * 1_000_000) + round(record.at * 1_000_000)
            assert d.fields["header"]["timestamp_qualifier"] == "timeOfInterception"
            assert int(d.intercepted_at.timestamp() * 1_000_000) == pytest.approx(expected_us, abs=1)
            assert d.fields["header"]["operator_id"] == "DEMOTEL"


def test_structure_is_openli_tag_layout(plans: dict[str, Plan]) -> None:
    for record in plans["etsi-102232"].records():
        data = record.data
        tag, start, end = _tlv(data, 0)
        assert tag == 0x30 and end == len(data)
        header_tag, hs, he = _tlv(data, start)
        assert header_tag == 0xA1
        assert data[hs : hs + 9] == bytes.fromhex("800704000202050111")  # li-psDomainId [0]
        payload_tag, ps, pe = _tlv(data, he)
        assert payload_tag == 0xA2 and pe == end
        inner, _, _ = _tlv(data, ps)
        assert inner == {"iri": 0xA0, "cc": 0xA1, "keepalive": 0xA2}[record.kind]
        assert _walk(data, start, end) > 10


def test_sequence_numbers_count_per_stream_from_zero(plans: dict[str, Plan]) -> None:
    plan = plans["etsi-102232"]
    for channel in ("hi2", "hi3"):
        streams: dict[tuple[str, str | None], list[int]] = defaultdict(list)
        for r in plan.records(channel):
            streams[(r.liid, r.cin)].append(r.sequence or 0)
        for (liid, cin), numbers in streams.items():
            first = 1 if liid == "calea-sim" else 0
            assert numbers == list(range(first, first + len(numbers))), (channel, liid, cin)
        cins = {cin for (liid, cin) in streams if liid == "LI-VOIP-1"}
        assert len(cins) == (7 if channel == "hi2" else 2)  # 5 calls + 2 SMS; media of 2 answered calls


def _dialogs(plan: Plan) -> list[list[tuple[str, str]]]:
    """(label, IRI type) per VoIP CIN, in delivery order."""
    out: dict[str | None, list[tuple[str, str]]] = {}
    for r in plan.records("hi2"):
        if r.liid == "LI-VOIP-1":
            d = etsi102232.decode(r.data)
            out.setdefault(r.cin, []).append((r.label, d.fields["iri"]["type"]))
    return list(out.values())


def test_iri_types_follow_openli(plans: dict[str, Plan]) -> None:
    answered, busy, no_answer, cancelled, early, sms_in, sms_out = _dialogs(plans["etsi-102232"])
    assert answered == [("INVITE", "begin"), ("100", "continue"), ("180", "continue"), ("200", "continue"),
                        ("ACK", "continue"), ("BYE", "continue"), ("200", "end")]
    assert busy == [("INVITE", "begin"), ("100", "continue"), ("486", "end"), ("ACK", "report")]
    assert no_answer == [("INVITE", "begin"), ("100", "continue"), ("180", "continue"), ("480", "end"),
                         ("ACK", "report")]
    assert cancelled == [("INVITE", "begin"), ("100", "continue"), ("180", "continue"), ("CANCEL", "continue"),
                         ("200", "end"), ("487", "report"), ("ACK", "report")]
    assert [label for label, _ in early][:3] == ["INVITE", "100", "183"]
    assert sms_in == sms_out == [("MESSAGE", "begin"), ("200", "end")]


def test_sip_signalling_and_message_body(plans: dict[str, Plan]) -> None:
    records = [etsi102232.decode(r.data) for r in plans["etsi-102232"].records("hi2") if r.liid == "LI-VOIP-1"]
    invite = records[0].fields
    assert invite["sip"]["method"] == "INVITE"
    assert invite["sip"]["to"]["uri"] == "sip:+12125550100@example.net"
    assert invite["sip"]["sdp"]["media"][0]["formats"] == ["0", "101"]
    assert invite["iri"]["source_address"]["address"] == "203.0.113.10"
    assert invite["iri"]["destination_address"]["address"] == "198.51.100.20"
    messages = [d for d in records if d.fields["sip"].get("method") == "MESSAGE"]
    assert [d.content[0].data for d in messages] == [b"Meet me at the usual place at 5pm.", b"OK, see you there."]
    assert all(d.content[0].kind is ContentKind.MESSAGE_BODY for d in messages)
    call_ids = {d.fields["sip"]["call_id"] for d in records}
    assert len(call_ids) == 7


def test_ip_session_iri_and_cc(plans: dict[str, Plan]) -> None:
    plan = plans["etsi-102232"]
    iri = [etsi102232.decode(r.data) for r in plan.records("hi2") if r.liid == "LI-IP-1"]
    assert [d.fields["iri"]["type"] for d in iri] == ["begin", "end"]
    begin, end = (d.fields["ip_access"] for d in iri)
    assert begin["accessEventType"] == "accessAccept" and begin["targetIPAddress"]["address"] == "198.51.100.77"
    assert begin["targetUsername"] == "target1" and begin["startTime"] == "2026-01-05T09:00:02.000000Z"
    assert end["accessEventType"] == "accessEnd" and end["octetsTransmitted"] > 0 and end["octetsReceived"] > 0
    cc = [etsi102232.decode(r.data, Channel.HI3) for r in plan.records("hi3") if r.liid == "LI-IP-1"]
    assert {d.cin for d in cc} == {iri[0].cin}
    assert {d.fields["cc"]["contents"] for d in cc} == {"iPCC"}
    assert all(d.content[0].kind is ContentKind.IP_PAYLOAD for d in cc)
    directions = {(d.fields["cc"]["direction"], d.fields["ip"]["src"]) for d in cc}
    assert ("fromTarget", "198.51.100.77") in directions and all(
        (src == "198.51.100.77") == (direction == "fromTarget") for direction, src in directions)


def test_keepalives_fill_idle_time_and_match_openli_bytes() -> None:
    """A keep-alive with OpenLI's header values is byte for byte the one OpenLI sent."""
    carrier = Carrier(operator_id="EXAMPLETEL", network_element="med-6001", keepalive_liid="openli-1.1.20")
    start = START.fromtimestamp(1795813972.760322 - 5.0, START.tzinfo)
    plan = build(Scenario((), (Idle(0.0, 16.0),), start=start, carrier=carrier), "etsi-102232")
    kas = plan.records("hi2")
    assert [(r.at, r.sequence) for r in kas] == [(5.0, 1), (10.0, 2), (15.0, 3)]
    assert [r.sequence for r in plan.records("hi3")] == [1, 2, 3]
    vector = SHARED / "vectors" / "openli-1.1.20-voip-ip" / "hi2-NYPD.ber"
    if not vector.exists():
        pytest.skip("OpenLI vectors not available")
    assert kas[0].data == vector.read_bytes()[:90]


def test_reconnect_markers_and_skips(scenario: Scenario) -> None:
    events = (*scenario.events, Reconnect(5.0, "both", 4, partial=True))
    plan = build(replace(scenario, events=events), "etsi-102232")
    drops = [s for s in (*plan.hi2, *plan.hi3) if isinstance(s, Drop)]
    assert [(d.channel, d.resend, d.partial) for d in drops] == [("hi2", 4, True), ("hi3", 4, True)]
    assert all(s.at <= 5.0 for s in plan.hi3[: plan.hi3.index(drops[1])])
    assert all(s.at >= 5.0 for s in plan.hi3[plan.hi3.index(drops[1]):])
    assert plan.skipped == {}


def test_cins_differ_between_runs(scenario: Scenario) -> None:
    first = {r.cin for r in build(scenario, "etsi-102232").records("hi2") if r.liid != "calea-sim"}
    later = {r.cin for r in build(scenario.shifted(1), "etsi-102232").records("hi2") if r.liid != "calea-sim"}
    assert first and not first & later
    assert cin_of(1, START, "L", "call0") == cin_of(1, START, "L", "call0") != cin_of(2, START, "L", "call0")
