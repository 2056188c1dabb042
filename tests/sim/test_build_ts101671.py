"""TS 101 671 HI2 output: the project's decoder and, independently, pycrate's compiled
HI2Operations module read the same calls and SMS."""

from __future__ import annotations

from pycrate_asn1dir import LIETSI

from calea.handover import ts101671
from calea.handover.model import ContentKind
from calea.sim.build import build
from calea.sim.plan import Plan
from calea.sim.scenario import Scenario

from .conftest import START


def _unwrap_rose(record: bytes) -> tuple[int, bytes]:
    """(invokeId, IRIsContent) of a ROSE Invoke [1] { INTEGER, OID opcode, argument }."""
    assert record[0] == 0xA1
    pos = 2 if record[1] < 0x80 else 2 + (record[1] & 0x7F)
    assert record[pos] == 0x02
    invoke_id = int.from_bytes(record[pos + 2 : pos + 2 + record[pos + 1]], "big", signed=True)
    pos += 2 + record[pos + 1]
    assert record[pos] == 0x06  # sending-of-IRI opcode
    assert record[pos + 2 : pos + 2 + record[pos + 1]] == bytes.fromhex("0400020201 0101".replace(" ", ""))
    pos += 2 + record[pos + 1]
    return invoke_id, record[pos:]


def _by_cin(plan: Plan) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for r in plan.records():
        (d,) = ts101671.decode(r.data)
        assert d.liid == "LI-VOIP-1" and d.sequence == r.sequence
        out.setdefault(d.cin or "", []).append(d)
    return out


def test_calls_and_sms_decode(plans: dict[str, Plan]) -> None:
    plan = plans["ts101671-hi2"]
    assert plan.hi3 == () and plan.hi3_transport == "none"
    assert plan.skipped == {"IpSession": 1, "WebVisits": 1}
    streams = list(_by_cin(plan).values())
    types = [[d.fields["iri_type"] for d in s] for s in streams]  # type: ignore[attr-defined]
    assert types == [["begin", "continue", "continue", "end"], ["begin", "end"], ["begin", "end"],
                     ["begin", "end"], ["begin", "continue", "continue", "end"], ["report"], ["report"]]
    for stream in streams:
        assert [d.sequence for d in stream] == list(range(len(stream)))  # type: ignore[attr-defined]
    begin = streams[0][0].fields  # type: ignore[attr-defined]
    assert begin["direction"] == "terminating-Target" and begin["call_state"] == "setUpInProcess"
    assert begin["location"]["cell"]["mcc"] == "310" and begin["location"]["geo"]["latitude"] == 40.7128
    target, peer = begin["parties"]
    assert target["sip_uri"] == "sip:+12125550100@example.net" and target["msisdn"]["e164"] == "+12125550100"
    assert peer["calling_number"]["e164"] == "+12125550199"
    assert [s[-1].fields["release_cause"]["cause"] for s in streams[:5]] == [16, 17, 19, 31, 16]  # type: ignore[attr-defined]
    digits = streams[0][2]
    assert digits.content[0].kind is ContentKind.POST_CUT_THROUGH_DIGITS  # type: ignore[attr-defined]
    assert digits.content[0].data == b"15#"  # type: ignore[attr-defined]
    sms = streams[5][0]
    assert sms.content[0].kind is ContentKind.MESSAGE_BODY  # type: ignore[attr-defined]
    assert "Meet me at the usual place" in sms.content[0].data.decode()  # type: ignore[attr-defined]


def test_pycrate_reads_the_same_records(plans: dict[str, Plan]) -> None:
    pdu = LIETSI.HI2Operations.IRIsContent
    seen = []
    for r in plans["ts101671-hi2"].records():
        invoke_id, argument = _unwrap_rose(r.data)
        assert invoke_id == r.sequence
        pdu.from_ber(argument)
        kind, (record, params) = pdu.get_val()
        assert kind == "iRIContent"
        assert params["lawfulInterceptionIdentifier"] == b"LI-VOIP-1"
        assert params["communicationIdentifier"]["network-Identifier"]["operator-Identifier"] == b"DEMOT"
        assert params["locationOfTheTarget"]["globalCellID"]
        seen.append((record, sorted(p["party-Qualifier"] for p in params["partyInformation"])))
        if "sMS" in params:
            assert params["sMS"]["sMS-Contents"]["content"]
    assert seen[0] == ("iRI-Begin-record", ["originating-Party", "terminating-Party"])
    assert seen[-1][0] == "iRI-Report-record"


def test_bare_envelope_is_plain_iriscontent(scenario: Scenario) -> None:
    plan = build(scenario, "ts101671-hi2", now=START, envelope="none")
    pdu = LIETSI.HI2Operations.IRIsContent
    for r in plan.records():
        assert r.data[0] in (0xA1, 0xA2, 0xA3, 0xA4)
        pdu.from_ber(r.data)
        assert pdu.get_val()[1][1]["lawfulInterceptionIdentifier"] == b"LI-VOIP-1"
        (d,) = ts101671.decode(r.data)
        assert d.sequence is None
