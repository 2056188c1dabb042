"""PCESP CDC messages: round trips, records built independently with pycrate, content
separation (rule A6: post-cut-through dialled digits)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from pycrate_asn1dir import LIETSI

from calea.handover import pcesp
from calea.handover import pcesp_encode as pe
from calea.handover.errors import CodecUsageError, MalformedRecord
from calea.handover.model import Channel, ContentKind, RecordKind

T = datetime(2026, 11, 27, 12, 0, 0, 125000, tzinfo=timezone.utc)
CALL = pe.CallIdentity("1795780800,42", "CMS-7")
CDC = LIETSI.PCESP.CdcPdu


def independent(message: str, body: dict[str, Any], version: str = "v4") -> bytes:
    CDC.set_val({"protocolVersion": version, "message": (message, body)})
    return bytes(CDC.to_ber())


def head(time: tuple[str | None, ...] = ("2026", "11", "27", "12", "00", "00", None, "Z")) -> dict[str, Any]:
    return {"caseId": "NYPD-CASE-9", "accessingElementId": "AE-1", "eventTime": time}


def test_call_flow_round_trip() -> None:
    records = pe.call_flow("CASE-1", "AE-1", CALL, "2125550100", "7185550199", 0x1A2B3C4D, T,
                           post_cut_through="4321#")
    decoded = [pcesp.decode_cdc(r) for r in records]
    assert [d.fields["message"] for d in decoded] == [
        "origination", "ccopen", "answer", "dialeddigitextraction", "release", "ccclose"]
    for d in decoded:
        assert (d.format, d.channel, d.kind, d.liid) == ("pcesp-cdc", Channel.HI2, RecordKind.IRI, "CASE-1")
        assert d.fields["accessing_element"] == "AE-1" and d.fields["protocol_version"] == "v4"
    origination, ccopen, answer, digits, release, ccclose = decoded
    assert origination.intercepted_at == T
    assert origination.cin == "CMS-7:1795780800,42" == release.cin == answer.cin == digits.cin
    assert origination.fields["calling"] == {"dn": "2125550100"}
    assert origination.fields["called"] == {"dn": "7185550199"}
    assert origination.fields["dialed_digits"] == {"source": "userinput", "digits": "7185550199"}
    assert origination.content == ()
    assert ccopen.fields["ccc"] == {"combined": "1A2B3C4D", "combined_id": 0x1A2B3C4D}
    assert ccopen.fields["call_ids"] == ["CMS-7:1795780800,42"] and ccopen.cin == origination.cin
    assert ccopen.fields["flow_direction"] == "downstream-and-upstream"
    assert answer.fields["answering"] == {"dn": "7185550199"}
    (part,) = digits.content
    assert (part.kind, part.data) == (ContentKind.POST_CUT_THROUGH_DIGITS, b"4321#")
    assert "4321" not in repr(digits.fields)
    assert ccclose.cin is None and ccclose.fields["ccc"]["combined_id"] == 0x1A2B3C4D


def test_other_builders_round_trip() -> None:
    new = pe.CallIdentity("1795780900,43", "CMS-7")
    d = pcesp.decode_cdc(pe.redirection("C", "AE", T, CALL, "5550001", new, "2125550100"))
    assert (d.cin, d.fields["redirected_to"], d.fields["new_call_id"], d.fields["redirected_from"]) == (
        "CMS-7:1795780800,42", {"dn": "5550001"}, "CMS-7:1795780900,43", {"dn": "2125550100"})
    d = pcesp.decode_cdc(pe.termination_attempt("C", "AE", T, CALL, "2125550100", "7185550199"))
    assert d.fields["calling"] == {"dn": "2125550100"} and d.fields["called"] == {"dn": "7185550199"}
    d = pcesp.decode_cdc(pe.service_instance("C", "AE", T, CALL, "call-waiting", "1", "2"))
    assert d.fields["service_name"] == "call-waiting"
    d = pcesp.decode_cdc(pe.cc_open("C", "AE", T, [CALL, new], (1, 0xFFFFFFFF), "upstream", "v=0"))
    assert d.fields["ccc"] == {"transmit": "00000001", "transmit_id": 1, "receive": "FFFFFFFF",
                               "receive_id": 0xFFFFFFFF}
    assert d.fields["call_ids"] == [CALL.key, new.key] and d.fields["sdp_subject"] == "v=0"


def test_subject_signal_digits_in_a_call_are_content_outside_a_call_are_fields() -> None:
    in_call = pcesp.decode_cdc(pe.subject_signal("C", "AE", T, CALL, "2125550100", dialed_digits="1234"))
    assert in_call.content[0].kind is ContentKind.POST_CUT_THROUGH_DIGITS
    assert in_call.content[0].data == b"1234" and "1234" not in repr(in_call.fields)
    idle = pcesp.decode_cdc(pe.subject_signal("C", "AE", T, None, "2125550100", dialed_digits="*67",
                                              feature_key="F1"))
    assert idle.content == () and idle.cin is None
    assert idle.fields["signal"] == {"dialedDigits": "*67", "featureKey": "F1"}


def test_independent_records() -> None:
    body = {**head(), "callId": {"sequencenumber": "1,1", "systemidentity": "SYS"},
            "calling": {"dn": "2125550100", "ipAddress": "192.0.2.1"}, "input": ("translationinput", "911"),
            "reserved0": 0, "transitCarrierId": "0288"}
    d = pcesp.decode_cdc(independent("origination", body, "v3"))
    assert d.liid == "NYPD-CASE-9" and d.cin == "SYS:1,1"
    assert d.intercepted_at == datetime(2026, 11, 27, 12, tzinfo=timezone.utc)
    assert d.fields["calling"] == {"dn": "2125550100", "ipAddress": "192.0.2.1"}
    assert d.fields["dialed_digits"] == {"source": "translationinput", "digits": "911"}
    assert d.fields["transit_carrier"] == "0288" and d.fields["protocol_version"] == "v3"
    body = {**head(), "callId": {"sequencenumber": "1,1", "systemidentity": "SYS"},
            "alertingSignal": "alertingPattern0",
            "terminalDisplayInfo": {"callingNumber": "2125550100", "callingName": "ACME"},
            "signaledToPartyId": {"dn": "7185550199"}}
    d = pcesp.decode_cdc(independent("networksignal", body))
    assert d.fields["alerting_signal"] == "alertingPattern0"
    assert d.fields["terminal_display"] == {"callingNumber": "2125550100", "callingName": "ACME"}
    body = {**head(), "callId": {"sequencenumber": "1,1", "systemidentity": "SYS"}, "communicating": [
        {"partyId": [{"dn": "1"}, {"dn": "2"}], "cCCId": ("combCCC", "0000000A")}]}
    d = pcesp.decode_cdc(independent("confpartychange", body))
    assert d.fields["communicating"] == [{"parties": [{"dn": "1"}, {"dn": "2"}],
                                          "ccc": {"combined": "0000000A", "combined_id": 10}}]


def test_network_signal_round_trip_and_pycrate() -> None:
    """NetworkSignal as the simulator builds it: the project's decoder and pycrate agree; the
    signal names are the ASN.1 enumerations; Release has nothing to say why (no cause)."""
    record = pe.network_signal("C", "AE", T, CALL, "7185550199", audible="busyTone", alerting="callWaitingPattern1",
                               display={"callingNumber": "2125550100"}, other="line busy")
    d = pcesp.decode_cdc(record)
    assert (d.cin, d.kind, d.content) == (CALL.key, RecordKind.IRI, ())
    assert d.fields["audible_signal"] == "busyTone" and d.fields["alerting_signal"] == "callWaitingPattern1"
    assert d.fields["signaled_to"] == {"dn": "7185550199"} and d.fields["other_signal"] == "line busy"
    assert d.fields["terminal_display"] == {"callingNumber": "2125550100"}
    CDC.from_ber(record)
    name, body = CDC.get_val()["message"]
    assert name == "networksignal" and body["subjectAudibleSignal"] == "busyTone"
    assert body["signaledToPartyId"] == {"dn": "7185550199"} and body["eventTime"][-1] == "Z"
    assert {"busyTone", "ringbackTone", "tonesOff", "reorderTone"} <= set(pe.AUDIBLE_SIGNALS)
    assert "alertingPattern0" in pe.ALERTING_SIGNALS
    assert set(LIETSI.PCESP.Release._cont) == {"caseId", "accessingElementId", "eventTime", "callId"}
    for bad in ({"audible": "fanfare"}, {"alerting": "loud"}, {}, {"display": {"colour": "red"}}):
        with pytest.raises(CodecUsageError):
            pe.network_signal("C", "AE", T, CALL, "1", **bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("time", "expected", "assumed"), [
    (("2026", "11", "27", "12", "00", "00", "5", "Z"), datetime(2026, 11, 27, 12, 0, 0, 500000), False),
    (("2026", "11", "27", "12", "00", "00", None, "-0500"), datetime(2026, 11, 27, 17), False),
    (("2026", "11", "27", "12", "00", "00", None, None), datetime(2026, 11, 27, 12), True),
])
def test_event_time(time: tuple[str | None, ...], expected: datetime, assumed: bool) -> None:
    body = {**head(time), "callId": {"sequencenumber": "1", "systemidentity": "S"}}
    d = pcesp.decode_cdc(independent("release", body))
    assert d.intercepted_at == expected.replace(tzinfo=timezone.utc)
    assert (d.fields.get("event_time_zone") == "assumed-utc") is assumed


@pytest.mark.parametrize(("record", "reason"), [
    (b"", "ber-truncated"),
    (b"\x30\x00", "asn1-invalid"),
    (b"\x31\x00", "asn1-unexpected-tag"),
    (b"\x30\x07\x80\x01\x04\xa1\x02\x84\x00", "pcesp-reserved-message"),
    (b"\x30\x05\x80\x01\x04\xa1\x00", "ber-truncated"),  # explicit [1] without its CHOICE
])
def test_malformed(record: bytes, reason: str) -> None:
    with pytest.raises(MalformedRecord) as err:
        pcesp.decode_cdc(record)
    assert err.value.reason == reason


def test_truncated_and_impossible_time() -> None:
    record = pe.release("C", "AE", T, CALL)
    for cut in range(1, len(record)):
        with pytest.raises(MalformedRecord):
            pcesp.decode_cdc(record[:cut])
    bad = independent("release", {**head(("2026", "02", "30", "12", "00", "00", None, "Z")),
                                  "callId": {"sequencenumber": "1", "systemidentity": "S"}})
    with pytest.raises(MalformedRecord) as err:
        pcesp.decode_cdc(bad)
    assert err.value.reason == "pcesp-invalid-field"
