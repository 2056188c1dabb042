"""TS 101 671 / TS 33.108 HI2 IRI codec: round trips, records built independently with
pycrate, content separation (rule A6), time stamps (rule A8)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pycrate_asn1dir import LI3GPP, LIETSI

from calea.handover import ts101671
from calea.handover.errors import MalformedRecord
from calea.handover.model import Channel, ContentKind, RecordKind
from calea.handover.ts101671_encode import Cell, Iri, Party, Sms, call, encode, encode_invoke, \
    encode_sequence, location_report, sms_report

T = datetime(2026, 11, 27, 12, 0, 0, 250000, tzinfo=timezone.utc)
TARGET = Party("originating-Party", msisdn="4915112345678", imsi="262011234567890",
               imei="35209900176148", calling_number="4915112345678")
OTHER = Party("terminating-Party", called_number="12125550100", sip_uri="sip:bob@example.net")
CELL = Cell("262", "01", 0x1234, 0x5678, latitude=52.52, longitude=13.405, azimuth=120)
ETSI = LIETSI.HI2Operations
GEN_T = ("2026", "11", "27", "12", "00", "00", None, "Z")


def one(record: bytes, **kwargs: Any) -> Any:
    deliveries = ts101671.decode(record, **kwargs)
    assert len(deliveries) == 1
    return deliveries[0]


def pycrate_record(pdu: Any, value: Any) -> bytes:
    """A record built directly with pycrate (independent of our encoder)."""
    pdu.set_val(value)
    return bytes(pdu.to_ber())


def etsi_params(**extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "domainID": (0, 4, 0, 2, 2, 1, 18),
        "lawfulInterceptionIdentifier": b"NYPD-42",
        "communicationIdentifier": {
            "communication-Identity-Number": b"778899",
            "network-Identifier": {"operator-Identifier": b"ACME",
                                   "network-Element-Identifier": ("iP-Format", bytes([192, 0, 2, 7]))}},
        "timeStamp": ("localTime", {"generalizedTime": GEN_T, "winterSummerIndication": "notProvided"}),
    }
    params.update(extra)
    return params


def etsi_record(kind: str = "iRI-Begin-record", **extra: Any) -> bytes:
    return pycrate_record(ETSI.IRIsContent, ("iRIContent", (kind, etsi_params(**extra))))


# --- round trips of everything the simulator encodes -------------------------------------


@pytest.mark.parametrize("module", ["etsi-hi2", "3gpp-cs"])
def test_call_round_trip(module: str) -> None:
    begin, answer, end = call("LI-1", "4711", TARGET, OTHER, CELL, T, module=module,
                              post_cut_through="1234#")
    d_begin, d_answer, d_end = (one(r) for r in (begin, answer, end))
    for d, kind in ((d_begin, "begin"), (d_answer, "continue"), (d_end, "end")):
        assert (d.format, d.channel, d.kind, d.liid) == ("ts101671-hi2", Channel.HI2, RecordKind.IRI, "LI-1")
        assert d.fields["iri_type"] == kind
        assert d.fields["module"] == module
        assert d.cin == "CALEA::4711"
        assert d.sequence is None
    assert d_begin.intercepted_at == T
    assert (d_end.intercepted_at - d_answer.intercepted_at).total_seconds() == 60
    assert d_begin.fields["direction"] == "originating-Target"
    assert d_begin.fields["call_state"] == "setUpInProcess"
    target, other = d_begin.fields["parties"]
    assert target["qualifier"] == "originating-Party"
    assert target["imsi"] == "262011234567890"
    assert target["imei"] == "352099001761480"  # 14 digits + 0 (no SVN), TS 29.002
    assert target["msisdn"]["e164"] == "+4915112345678"
    assert target["calling_number"]["e164"] == "+4915112345678"
    assert other["called_number"]["e164"] == "+12125550100"
    assert other["sip_uri"] == "sip:bob@example.net"
    assert d_begin.fields["location"]["cell"] == {"mcc": "262", "mnc": "01", "lac": 0x1234, "ci": 0x5678,
                                                  "hex": "62f21012345678"}
    assert d_begin.fields["location"]["geo"]["latitude"] == pytest.approx(52.52, abs=1e-5)
    assert d_begin.fields["location"]["geo"]["azimuth"] == 120
    assert d_end.fields["release_cause"] == {"coding": 0, "location": 0, "cause": 16}
    # post-cut-through digits of the answered call: content, not fields (rule A6)
    assert d_begin.content == () and d_end.content == ()
    (part,) = d_answer.content
    assert part.kind is ContentKind.POST_CUT_THROUGH_DIGITS and part.data == b"1234#"
    assert "1234#" not in repr(d_answer.fields)
    if module == "3gpp-cs":
        assert [d.fields["umts_cs_event"] for d in (d_begin, d_answer, d_end)] == \
            ["call-establishment", "answer", "release"]


@pytest.mark.parametrize("module", ["etsi-hi2", "3gpp-cs"])
@pytest.mark.parametrize("from_target", [True, False])
def test_sms_round_trip(module: str, from_target: bool) -> None:
    text = "Meet at 5, bring €20" if from_target else "Привет"
    record = sms_report("LI-1", TARGET, Sms(text, "+4930123456", from_target, sent_at=T,
                                            service_centre="491710760000"), T, CELL, module=module)
    d = one(record)
    assert d.fields["iri_type"] == "report" and d.fields["nature"] == "gSM-SMS-Message"
    meta = d.fields["sms"]
    assert meta["initiator"] == ("target" if from_target else "server")
    peer = meta["destination"] if from_target else meta["originator"]
    assert peer["e164"] == "+4930123456"
    assert meta["tpdu"] == ("sms-submit" if from_target else "sms-deliver")
    assert d.fields["service_centre"]["msisdn"]["digits"] == "491710760000"
    (part,) = d.content
    assert part.kind is ContentKind.MESSAGE_BODY
    assert part.data.decode("utf-8") == text
    assert text not in repr(d.fields)


@pytest.mark.parametrize("module", ["etsi-hi2", "3gpp-cs"])
def test_location_report_round_trip(module: str) -> None:
    d = one(location_report("LI-9", TARGET, CELL, T, module=module))
    assert d.fields["iri_type"] == "report"
    assert d.fields["location"]["cell"]["ci"] == 0x5678
    assert d.cin is None  # a report outside any call carries no communication number
    assert d.content == ()
    if module == "3gpp-cs":
        assert d.fields["umts_cs_event"] == "location-update"
        assert d.fields["domain_id"] == "0.4.0.2.2.4.3.16.0"


def test_aggregated_sequence_gives_one_delivery_per_iri() -> None:
    first, second = Iri("report", "LI-A", T, cell=CELL), Iri("begin", "LI-B", T, cin="1", parties=(TARGET,))
    record = encode_sequence([first, second])
    deliveries = ts101671.decode(record)
    assert [d.liid for d in deliveries] == ["LI-A", "LI-B"]
    assert [d.fields["aggregate"] for d in deliveries] == [{"index": 0, "count": 2}, {"index": 1, "count": 2}]
    # each raw is the byte-exact slice of its IRIContent, itself a valid record
    assert deliveries[0].raw + deliveries[1].raw in record
    assert deliveries[1].raw == encode(second)
    assert one(deliveries[0].raw).liid == "LI-A"


# --- records built independently with pycrate ----------------------------------------------


def test_independent_etsi_record_with_all_number_formats() -> None:
    parties = [
        {"party-Qualifier": "originating-Party", "partyIdentity": {
            "callingPartyNumber": ("dSS1-Format", b"\x11\x83" + b"4930123"),
            "tel-url": b"tel:+4930123", "party-Validity": "trusted"}},
        {"party-Qualifier": "forwarded-to-Party", "partyIdentity": {
            "calledPartyNumber": ("mAP-Format", bytes.fromhex("912143658709")),
            "e164-Format": bytes.fromhex("04132143")}},
    ]
    record = etsi_record("iRI-Begin-record", **{
        "intercepted-Call-Direct": "terminating-Target", "partyInformation": parties,
        "ringingDuration": bytes.fromhex("000012"), "conversationDuration": bytes.fromhex("000130"),
        "cC-Link-Identifier": b"42",
        "national-Parameters": [b"\x01secret-national"],
        "national-HI2-ASN1parameters": {"countryCode": "US"},
        "locationOfTheTarget": {"umtsLocation": ("point", {"geographicalCoordinates": {
            "latitudeSign": "south", "latitude": 4194304, "longitude": -4194304}})},
    })
    d = one(record)
    assert d.liid == "NYPD-42" and d.intercepted_at == datetime(2026, 11, 27, 12, tzinfo=timezone.utc)
    assert d.cin == "ACME:192.0.2.7:778899"
    assert d.fields["communication_identifier"] == {
        "operator": "ACME", "element": {"ip": {"address": "192.0.2.7"}}, "number": "778899"}
    calling, forwarded = d.fields["parties"]
    assert calling["calling_number"]["format"] == "dss1"
    assert calling["calling_number"]["e164"] == "+4930123"
    assert calling["tel_uri"] == "tel:+4930123" and calling["validity"] == "trusted"
    assert forwarded["qualifier"] == "forwarded-to-Party"
    assert forwarded["called_number"] == {"digits": "1234567890", "nature": "international", "plan": "isdn",
                                          "e164": "+1234567890", "format": "map"}
    assert forwarded["e164_number"]["digits"] == "1234"
    assert d.fields["ringing_duration_s"] == 12 and d.fields["conversation_duration_s"] == 90
    assert d.fields["cc_link_identifier"] == "42"
    assert d.fields["location"]["geo"] == {"latitude": -45.0, "longitude": -90.0}
    # national parameters: ignored by name, never copied
    assert d.fields["ignored"] == ["national-Parameters", "national-HI2-ASN1parameters"]
    assert "secret" not in repr(d.fields)


def test_keypad_digits_in_begin_are_dialling_and_after_connect_are_content() -> None:
    keypad = {"party-Qualifier": "originating-Party",
              "partyIdentity": {"imsi": bytes.fromhex("62021032547698f0")},
              "services-Information": {"dSS1-parameters-codeset-0": [b"\x2c\x03" + b"555"]}}
    setup = one(etsi_record("iRI-Begin-record", partyInformation=[keypad]))
    assert setup.fields["keypad_digits"] == "555" and setup.content == ()
    connected = one(etsi_record("iRI-Begin-record", partyInformation=[keypad],
                                **{"intercepted-Call-State": "connected"}))
    assert [p.kind for p in connected.content] == [ContentKind.POST_CUT_THROUGH_DIGITS]
    later = one(etsi_record("iRI-Continue-record", partyInformation=[keypad]))
    assert later.content[0].data == b"555" and "keypad_digits" not in later.fields


def test_enhanced_sms_content_and_utc_time() -> None:
    sms_value = {"communicationIdentifier": {"network-Identifier": {"operator-Identifier": b"ACME"}},
                 "timeStamp": ("utcTime", ("26", "11", "27", "11", "59", "00", "Z")),
                 "sMS-Contents": {"initiator": "target", "enhancedContent": {
                     "content": "héllo".encode("utf-16-be"), "character-encoding": "ucs-2"}}}
    record = etsi_record("iRI-Report-record", sMS=sms_value,
                         timeStamp=("utcTime", ("99", "12", "31", "23", "59", "59", "+0100")))
    d = one(record)
    assert d.intercepted_at == datetime(1999, 12, 31, 22, 59, 59, tzinfo=timezone.utc)
    assert d.fields["sms"]["time_stamp"] == "2026-11-27T11:59:00Z"
    assert d.fields["sms"]["enhanced_encoding"] == "ucs-2"
    assert [p.data for p in d.content] == ["héllo".encode()]


def test_sip_message_headers_are_fields_body_is_content() -> None:
    message = (b"MESSAGE sip:bob@example.net SIP/2.0\r\nFrom: <sip:alice@example.net>\r\n"
               b"Content-Type: text/plain\r\n\r\nsee you at the bridge")
    d = one(etsi_record("iRI-Report-record", sIPMessage=message))
    assert d.fields["sip"]["start_line"] == "MESSAGE sip:bob@example.net SIP/2.0"
    assert "From: <sip:alice@example.net>" in d.fields["sip"]["headers"]
    (part,) = d.content
    assert (part.kind, part.data, part.media_type) == (ContentKind.MESSAGE_BODY, b"see you at the bridge",
                                                       "text/plain")
    invite = b"INVITE sip:bob@x SIP/2.0\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n"
    assert one(etsi_record(sIPMessage=invite)).content == ()
    info = b"INFO sip:bob@x SIP/2.0\r\nc: application/dtmf-relay\r\n\r\nSignal=5\r\nDuration=160\r\n"
    assert one(etsi_record(sIPMessage=info)).content[0].kind is ContentKind.POST_CUT_THROUGH_DIGITS


def test_3gpp_ps_and_eps_modules() -> None:
    ps = LI3GPP.UmtsHI2Operations
    params = {"hi2DomainId": ps.hi2DomainId.get_val(), "lawfulInterceptionIdentifier": b"PS-1",
              "timeStamp": ("localTime", {"generalizedTime": GEN_T, "winterSummerIndication": "notProvided"}),
              "initiator": "originating-Target", "gPRSCorrelationNumber": bytes(range(8)),
              "gPRSevent": "pDPContextActivation",
              "partyInformation": [{
                  "party-Qualifier": "gPRS-Target",
                  "partyIdentity": {"imsi": bytes.fromhex("62021032547698f0")},
                  "services-Data-Information": {"gPRS-parameters": {
                      "pDP-address-allocated-to-the-target": ("ipAddress", {
                          "iP-type": "iPV4", "iP-value": ("iPBinaryAddress", bytes([10, 1, 2, 3]))}),
                      "aPN": b"\x08internet\x03mnc"}}}]}
    d = one(pycrate_record(ps.UmtsIRIsContent, ("umtsiRIContent", ("iRI-Begin-record", params))))
    assert d.fields["module"] == "3gpp-ps" and d.liid == "PS-1"
    assert d.cin == "0001020304050607" and d.fields["gprs_event"] == "pDPContextActivation"
    party = d.fields["parties"][0]
    assert party["pdp_address"] == {"address": "10.1.2.3"} and party["apn"] == "internet.mnc"
    eps = LI3GPP.EpsHI2Operations
    eparams = {"hi2epsDomainId": eps.hi2epsDomainId.get_val(), "lawfulInterceptionIdentifier": b"EPS-1",
               "timeStamp": ("utcTime", ("26", "11", "27", "12", "00", "00", "Z")),
               "ePSCorrelationNumber": b"\x01\x02", "ePSevent": "e-UTRANAttach"}
    d = one(pycrate_record(eps.EpsIRIsContent, ("epsiRIContent", ("iRI-Report-record", eparams))))
    assert (d.fields["module"], d.liid, d.cin, d.fields["eps_event"]) == ("3gpp-eps", "EPS-1", "0102",
                                                                          "e-UTRANAttach")


# --- time stamps (rule A8) ------------------------------------------------------------------


def _local(gen: tuple[Any, ...], season: str) -> bytes:
    return etsi_record(timeStamp=("localTime", {"generalizedTime": gen, "winterSummerIndication": season}))


def test_zoneless_local_time_needs_the_operator_zone() -> None:
    record = _local(("2026", "07", "01", "14", "00", "00", None, None), "summerTime")
    d = one(record)
    assert d.intercepted_at is None
    assert d.fields["time_stamp"] == {"local": "2026-07-01T14:00:00", "season": "summerTime",
                                      "unresolved": True}
    d = one(record, local_timezone=ZoneInfo("America/New_York"))
    assert d.intercepted_at == datetime(2026, 7, 1, 18, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("season", "utc_hour"), [("summerTime", 5), ("winterTime", 6)])
def test_ambiguous_local_time_uses_winter_summer_indication(season: str, utc_hour: int) -> None:
    # 2026-11-01 01:30 happens twice in New York (EDT then EST)
    record = _local(("2026", "11", "01", "01", "30", "00", None, None), season)
    d = one(record, local_timezone=ZoneInfo("America/New_York"))
    assert d.intercepted_at == datetime(2026, 11, 1, utc_hour, 30, tzinfo=timezone.utc)


def test_generalized_time_with_offset_and_fraction() -> None:
    d = one(_local(("2026", "11", "27", "12", "00", "00", "5", "+0130"), "notProvided"))
    assert d.intercepted_at == datetime(2026, 11, 27, 10, 30, 0, 500000, tzinfo=timezone.utc)
    assert "time_stamp" not in d.fields


# --- refused records ------------------------------------------------------------------------


def test_unknown_domain_is_refused() -> None:
    etsi_oid = b"\x80\x06\x04\x00\x02\x02\x01\x12"  # 0.4.0.2.2.1.18
    record = etsi_record().replace(etsi_oid, b"\x80\x06\x04\x00\x02\x02\x09\x01")
    with pytest.raises(MalformedRecord) as err:
        ts101671.decode(record)
    assert err.value.reason == "ts101671-unknown-domain"


def test_record_without_domain_id_is_read_as_etsi() -> None:
    params = etsi_params()
    del params["domainID"]
    d = one(pycrate_record(ETSI.IRIsContent, ("iRIContent", ("iRI-End-record", params))))
    assert d.fields["module"] == "etsi-hi2" and "domain_id" not in d.fields


@pytest.mark.parametrize(("record", "reason"), [
    (b"", "ber-truncated"),
    (b"\x04\x01A", "ts101671-unexpected-tag"),
    (b"\x30\x00", "ts101671-empty-sequence"),
    (b"\xa1\x00", "asn1-invalid"),  # no mandatory component
    (b"\x30\x02\x04\x00", "ts101671-unexpected-tag"),
])
def test_malformed_records(record: bytes, reason: str) -> None:
    with pytest.raises(MalformedRecord) as err:
        ts101671.decode(record)
    assert err.value.reason == reason


def test_truncated_and_trailing() -> None:
    record = encode(Iri("begin", "LI-1", T, cin="1", parties=(TARGET,), cell=CELL))
    for cut in (1, 2, len(record) // 2, len(record) - 1):
        with pytest.raises(MalformedRecord):
            ts101671.decode(record[:cut])
    with pytest.raises(MalformedRecord) as err:
        ts101671.decode(record + b"\x00")
    assert err.value.reason == "trailing-bytes"


def test_impossible_date_is_malformed() -> None:
    record = _local(("2026", "13", "40", "12", "00", "00", None, "Z"), "notProvided")
    with pytest.raises(MalformedRecord) as err:
        ts101671.decode(record)
    assert err.value.reason == "ts101671-invalid-field"


# --- ROSE envelope (TS 101 671 annex C) ---------------------------------------------------------


def test_rose_invoke_is_unwrapped() -> None:
    inner = encode(Iri("begin", "LI-R", T, cin="5", parties=(TARGET,)))
    record = encode_invoke(inner, 300)
    d = one(record)
    assert d.liid == "LI-R" and d.sequence == 300 and d.raw == record
    assert d.fields["rose"] == {"invoke_id": 300, "operation": "0.4.0.2.2.1.1.1"}
    aggregated = encode_invoke(encode_sequence([Iri("report", "A", T), Iri("report", "B", T)]), 7)
    deliveries = ts101671.decode(aggregated)
    assert [(d.liid, d.sequence) for d in deliveries] == [("A", 7), ("B", 7)]
    assert all(d.raw in aggregated and d.raw != aggregated for d in deliveries)


def test_rose_with_local_opcode_and_linked_id() -> None:
    inner = encode(Iri("report", "LI-R", T))
    body = b"\x02\x01\x05" + b"\x80\x01\x04" + b"\x02\x01\x01" + inner
    record = bytes((0xA1, 0x81, len(body))) + body
    d = one(record)
    assert d.sequence == 5 and d.fields["rose"]["operation"] == 1


@pytest.mark.parametrize("body", [
    b"\x02\x01\x05",  # invokeId only
    b"\x02\x01\x05\x04\x01\x00\x30\x00",  # opcode of the wrong type
    b"\x02\x00\x06\x01\x00\xa1\x00",  # empty invokeId
])
def test_bad_rose_envelopes(body: bytes) -> None:
    with pytest.raises(MalformedRecord) as err:
        ts101671.decode(bytes((0xA1, len(body))) + body)
    assert err.value.reason == "ts101671-bad-rose"
