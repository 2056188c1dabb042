"""PacketCable ES output: CDC messages read by the project's decoder and by pycrate's
compiled PCESP module; CCC datagrams tie to the LIID through the CCOpen's CCC id."""

from __future__ import annotations

from datetime import datetime, timezone

from pycrate_asn1dir import LIETSI

from calea.handover import pcesp
from calea.handover.model import ContentKind
from calea.sim.plan import Plan

from .helpers import ipv4_ok, rtp, split, transport_ok

RECEIVED = datetime(2026, 1, 5, 9, 0, 30, tzinfo=timezone.utc)


def test_cdc_messages_per_call(plans: dict[str, Plan]) -> None:
    plan = plans["pcesp"]
    assert plan.hi3_transport == "udp"
    assert plan.skipped == {"Sms": 2, "IpSession": 1, "WebVisits": 1}
    calls: dict[str | None, list[str]] = {}
    for r in plan.records("hi2"):
        d = pcesp.decode_cdc(r.data)
        assert d.liid == "LI-VOIP-1" and d.fields["protocol_version"] == "v4"
        assert d.fields["message"] == r.label
        key = d.fields.get("call_id") or d.fields.get("ccc", {}).get("combined")
        calls.setdefault(r.cin, []).append(d.fields["message"])
        if d.fields["message"] == "dialeddigitextraction":
            assert d.content[0].kind is ContentKind.POST_CUT_THROUGH_DIGITS
        assert key
    answered = ["ccopen", "answer", "dialeddigitextraction", "release", "ccclose"]
    assert list(calls.values()) == [
        ["terminationattempt", "networksignal", *answered],  # incoming (alerting), answered, the target keys digits
        ["origination", "networksignal", "release"],  # busy: busy tone
        ["terminationattempt", "networksignal", "networksignal", "release"],  # no answer: alerting, tones off
        ["origination", "networksignal", "release"],  # cancelled: ringback, then only the release
        ["origination", *answered],  # early media (CCOpen at 183, no ringback), answered
    ]


def test_network_signals_tell_the_outcome(plans: dict[str, Plan]) -> None:
    """PKT-SP-ES-DCI Release has no cause: the NetworkSignals before it say what happened.
    (signal, party signalled) per call, in order."""
    signals: dict[str | None, list[tuple[str, str]]] = {}
    for r in plans["pcesp"].records("hi2"):
        d = pcesp.decode_cdc(r.data)
        if d.fields["message"] == "networksignal":
            what = d.fields.get("audible_signal") or d.fields.get("alerting_signal")
            signals.setdefault(r.cin, []).append((what, d.fields["signaled_to"]["dn"]))
    me = "12125550100"
    assert list(signals.values()) == [
        [("alertingPattern0", me)],  # the target's phone rings
        [("busyTone", me)],  # the target called a busy line
        [("alertingPattern0", me), ("tonesOff", "17185550142")],  # no-answer timer: the caller's ringback stops
        [("ringbackTone", me)],  # cancelled: the target hangs up while it rings back
    ]


def test_pycrate_reads_cdc(plans: dict[str, Plan]) -> None:
    pdu = LIETSI.PCESP.CdcPdu
    names = []
    for r in plans["pcesp"].records("hi2"):
        pdu.from_ber(r.data)
        value = pdu.get_val()
        name, body = value["message"]
        assert value["protocolVersion"] == "v4" and body["caseId"] == "LI-VOIP-1"
        assert body["accessingElementId"] == "sim-cms-01"
        names.append(name)
        if name == "networksignal":  # PCESP NetworkSignal: pycrate has it (AudibleSignal / AlertingSignal)
            assert {"subjectAudibleSignal", "alertingSignal"} & set(body) and body["signaledToPartyId"]["dn"]
            assert body["callId"]["systemidentity"] == "sim-cms-01"
        if name == "ccopen":
            assert body["cCCId"][0] == "combCCC" and len(body["cCCId"][1]) == 8
            assert "m=audio" in body["subject"] and "m=audio" in body["associate"]
    assert names.count("ccopen") == names.count("ccclose") == 2
    assert names.count("networksignal") == 5


def test_ccc_datagrams_map_to_the_case(plans: dict[str, Plan]) -> None:
    plan = plans["pcesp"]
    ccc_map: dict[int, str] = {}
    for r in plan.records("hi2"):
        d = pcesp.decode_cdc(r.data)
        if d.fields["message"] == "ccopen":
            ccc_map[d.fields["ccc"]["combined_id"]] = d.liid
    datagrams = plan.records("hi3")
    assert len(datagrams) > 300 and {r.kind for r in datagrams} == {"ccc"}
    per_ccc: dict[str | None, int] = {}
    for r in datagrams:
        d = pcesp.decode_ccc(r.data, ccc_map, RECEIVED)
        assert d.liid == "LI-VOIP-1" and "unmapped_ccc" not in d.fields
        assert d.fields["protocol"] == 17 and d.fields["rtp"]["payload_type"] in (0, 101)
        assert d.cin == r.cin
        per_ccc[d.cin] = per_ccc.get(d.cin, 0) + 1
    assert len(per_ccc) == 2


def test_ccc_carries_rfc4733_digits_before_and_after_answer(plans: dict[str, Plan]) -> None:
    """The CCC datagrams carry the RTP's RFC 4733 events (read here without project code):
    the calling-card digits of early media before the CDC Answer, the menu digits after."""
    plan = plans["pcesp"]
    ccc_call = {}
    answered_at = {}
    for r in plan.records("hi2"):
        d = pcesp.decode_cdc(r.data)
        if d.fields["message"] == "ccopen":
            ccc_call[d.fields["ccc"]["combined"]] = r.cin
        if d.fields["message"] == "answer":
            answered_at[r.cin] = r.at
    ends: dict[tuple[str | None, int], list[tuple[float, str, int]]] = {}
    for r in plan.records("hi3"):
        assert int.from_bytes(r.data[:4], "big") == int(str(r.cin), 16)
        packet = r.data[4:]
        assert ipv4_ok(packet) and transport_ok(packet)
        pt, marker, _seq, ts, ssrc, payload = rtp(split(packet)[5])
        if pt == 101 and payload[1] & 0x80:  # an end packet (E bit)
            ends.setdefault((r.cin, ssrc), []).append((r.at, "0123456789*#ABCD"[payload[0]], ts))
    keyed = {}
    for (ccc, _), packets in ends.items():
        assert all(packets[i][1:] == packets[i + 1][1:] == packets[i + 2][1:] for i in range(0, len(packets), 3))
        call = ccc_call[ccc]
        digits = "".join(p[1] for p in packets[::3])
        early = "".join(p[1] for p in packets[::3] if p[0] < answered_at[call])
        keyed[digits] = early
    assert keyed == {"15#": "", "429": "42"}
