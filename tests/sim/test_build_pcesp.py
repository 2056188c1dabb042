"""PacketCable ES output: CDC messages read by the project's decoder and by pycrate's
compiled PCESP module; CCC datagrams tie to the LIID through the CCOpen's CCC id."""

from __future__ import annotations

from datetime import datetime, timezone

from pycrate_asn1dir import LIETSI

from calea.handover import pcesp
from calea.handover.model import ContentKind
from calea.sim.plan import Plan

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
        ["terminationattempt", *answered],  # incoming, answered, the target keys digits
        ["origination", "release"],  # busy
        ["terminationattempt", "release"],  # no answer
        ["origination", "release"],  # cancelled
        ["origination", *answered],  # early media (CCOpen at 183), answered
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
        if name == "ccopen":
            assert body["cCCId"][0] == "combCCC" and len(body["cCCId"][1]) == 8
            assert "m=audio" in body["subject"] and "m=audio" in body["associate"]
    assert names.count("ccopen") == names.count("ccclose") == 2


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
