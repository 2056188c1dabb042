"""TS 102 232 encoders round-trip through read_header / decode; malformed input raises
MalformedRecord with a reason; content is kept apart from fields (rule A6); the
interception time is the carrier's stamp (rule A8)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from calea.handover import ber
from calea.handover import etsi102232 as etsi
from calea.handover.errors import CodecUsageError, MalformedRecord
from calea.handover.etsi102232_fast import fast_scan
from calea.handover.etsi102232_header import _scan
from calea.handover.model import Channel, ContentKind, Delivery, RecordKind

T = datetime(2025, 6, 2, 14, 0, 18, 250000, tzinfo=timezone.utc)
HEADER = etsi.PSHeader(
    liid="LIID-1", sequence=7, cin=12345, operator_id="OP", network_element_id="NE-1",
    authorization_country_code="US", delivery_country_code="US", interception_point_id="ip1",
    timestamp_us=ber.to_epoch_us(T), timestamp_qualifier=1,
)
SIP_MESSAGE = (
    b"MESSAGE sip:bob@example.net SIP/2.0\r\nFrom: <sip:alice@example.net>;tag=1\r\n"
    b"To: <sip:bob@example.net>\r\nCall-ID: abc@host\r\nCSeq: 5 MESSAGE\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
)
UDP_RTP = bytes.fromhex(
    "4500002c000000004011000ac6336414cb007132"  # IPv4 198.51.100.20 -> 203.0.113.50, UDP
    "9c40c35000180000"  # 40000 -> 50000
    "80001234000000a0deadbeef" "0102030405060708"  # RTP v2 pt 0 seq 0x1234 ssrc 0xdeadbeef
)


def roundtrip(payload: etsi.Payload, header: etsi.PSHeader = HEADER) -> tuple[etsi.PSHeader, Delivery]:
    record = etsi.encode_ps_pdu(header, payload)
    got = etsi.read_header(record)
    assert got == header._replace(kind=etsi.kind_of(payload))
    assert etsi.read_header(etsi.encode_ps_pdu(header, payload, lengths="openli")) == got
    delivery = etsi.decode(record)
    assert json.loads(json.dumps(delivery.fields)) == delivery.fields
    return got, delivery


def test_header_round_trip_and_generalized_time() -> None:
    got, d = roundtrip(etsi.KeepAlive())
    assert got.kind is RecordKind.KEEPALIVE and got.timestamp == T
    gt = HEADER._replace(timestamp_field="timeStamp", cin=None, interception_point_id=None)
    got, d = roundtrip(etsi.KeepAlive(), gt)
    assert got.timestamp == T and got.timestamp_field == "timeStamp" and d.cin is None
    bare = etsi.PSHeader(liid="X", sequence=0, operator_id="")
    got, d = roundtrip(etsi.KeepAliveResponse(), bare)
    assert got.timestamp is None and d.intercepted_at is None and d.kind is RecordKind.KEEPALIVE_RESPONSE


def test_big_and_negative_numbers_take_the_generic_path() -> None:
    for header in (
        HEADER._replace(sequence=2**40, cin=2**35),
        HEADER._replace(sequence=-1, cin=-5),
        HEADER._replace(timestamp_us=ber.to_epoch_us(datetime(2100, 1, 1, tzinfo=timezone.utc))),
        HEADER._replace(liid="L" * 200),
    ):
        roundtrip(etsi.KeepAlive(), header)


def test_ipmmiri_sip_message_body_is_content() -> None:
    """A6: a MESSAGE body is content (MESSAGE_BODY), never a field."""
    _, d = roundtrip(etsi.IPMMIRI("begin", SIP_MESSAGE, "198.51.100.20", "2001:db8::1"))
    assert d.kind is RecordKind.IRI and d.channel is Channel.HI2
    assert d.fields["iri"]["type"] == "begin"
    assert d.fields["ip"] == {"src": "198.51.100.20", "dst": "2001:db8::1"}
    assert d.fields["iri"]["destination_address"]["prefix_length"] == 128
    assert d.fields["sip"]["call_id"] == "abc@host" and d.fields["sip"]["method"] == "MESSAGE"
    (part,) = d.content
    assert part == etsi.decode(etsi.encode_ps_pdu(HEADER, etsi.IPMMIRI("begin", SIP_MESSAGE))).content[0]
    assert part.kind is ContentKind.MESSAGE_BODY and part.data == b"hello"
    assert "hello" not in json.dumps(d.fields)


def test_ipmmiri_original_packet_gives_ports() -> None:
    udp = bytearray(UDP_RTP[:28])
    udp[20:24] = (5060).to_bytes(2, "big") * 2
    packet = bytes(udp) + SIP_MESSAGE.replace(b"text/plain", b"application/dtmf-relay")
    _, d = roundtrip(etsi.IPMMIRI("continue", original_ip_packet=packet))
    assert d.fields["iri"]["message"] == "originalIPMMMessage"
    assert (d.fields["ip"]["src_port"], d.fields["ip"]["dst_port"]) == (5060, 5060)
    assert d.content[0].kind is ContentKind.POST_CUT_THROUGH_DIGITS


def test_ipmmcc_rtp_facts_and_audio_content() -> None:
    _, d = roundtrip(etsi.IPMMCC("toTarget", UDP_RTP, stream_identifier=b"s1"))
    assert d.channel is Channel.HI3 and d.fields["cc"]["direction"] == "toTarget"
    assert d.fields["cc"]["stream_identifier"] == "s1"
    assert d.fields["ip"]["src_port"] == 40000 and d.fields["ip"]["dst"] == "203.0.113.50"
    assert d.fields["rtp"] == {"payload_type": 0, "marker": False, "sequence": 0x1234,
                               "timestamp": 0xA0, "ssrc": 0xDEADBEEF}
    assert d.content[0].kind is ContentKind.AUDIO and d.content[0].data == UDP_RTP
    _, rtp_only = roundtrip(etsi.IPMMCC("indeterminate", UDP_RTP[28:], frame_type="rtpFrame"))
    assert rtp_only.fields["rtp"]["ssrc"] == 0xDEADBEEF
    _, msrp = roundtrip(etsi.IPMMCC("fromTarget", b"MSRP a SEND", frame_type="tcpFrame", protocol="mSRP"))
    assert msrp.content[0].kind is ContentKind.MESSAGE_BODY


def test_ipcc_and_ipiri() -> None:
    _, d = roundtrip(etsi.IPCC("fromTarget", UDP_RTP))
    assert d.fields["cc"]["contents"] == "iPCC" and d.fields["ip"]["protocol"] == 17
    assert d.content[0].kind is ContentKind.IP_PAYLOAD
    contents = {
        "accessEventType": "accessAccept", "targetUsername": "target1",
        "internetAccessType": "xDSL", "iPVersion": "iPV6",
        "targetIPAddress": {"type": "IPv6", "address": "2001:db8::7", "assignment": "dynamic",
                            "prefix_length": 64},
        "startTime": "2025-06-02T14:00:16.049000Z", "rawAAAData": "0102",
        "pOPIdentifier": {"printableIDType": "bras-7"}, "authenticationType": "radiusAAA",
        "additionalIPAddress": {"type": "IPv4", "address": "not-an-address"},
        "[30]": "ff",
    }
    _, d = roundtrip(etsi.IPIRI("report", contents))
    assert d.fields["ip_access"] == contents and d.content == ()


def test_integrity_check() -> None:
    payload = etsi.IntegrityCheck((1, 2, 3, 1000), b"\x01" * 32, data_type="iRI")
    _, d = roundtrip(payload)
    assert d.kind is RecordKind.INTEGRITY_CHECK
    assert d.fields["tri"]["integrity_check"] == {
        "included_sequence_numbers": [1, 2, 3, 1000], "check_type": "hash", "data_type": "iRI",
        "check_value": "01" * 32, "hash_algorithm": "sHA-256",
    }
    long = etsi.IntegrityCheck(tuple(range(100)), b"\x02" * 64, "signature", "cC", None)
    assert etsi.decode(etsi.encode_ps_pdu(HEADER, long)).fields["tri"]["integrity_check"]["check_type"] == "signature"
    # older OpenLI wrapped the sequence numbers in a universal SEQUENCE
    inner = ber.tlv(0xA0, ber.tlv(0xA0, ber.tlv(0x30, ber.tlv(0x02, b"\x07"))), ber.tlv(0x81, b"\x01"),
                    ber.tlv(0x82, b"\x02"), ber.tlv(0x83, b"\xaa"))
    record = ber.tlv(0x30, etsi.encode_header(HEADER), ber.tlv(0xA2, ber.tlv(0xA2, inner)))
    assert etsi.decode(record).fields["tri"]["integrity_check"]["included_sequence_numbers"] == [7]


def test_payload_stamp_wins_for_intercepted_at() -> None:
    """A8: the payload's own timestamp (when present) is the interception time."""
    later = datetime(2025, 6, 2, 14, 0, 19, tzinfo=timezone.utc)
    iri = ber.tlv(0x30, ber.tlv(0x80, b"\x04"), ber.tlv(0x81, ber.encode_generalized_time(later)),
                  ber.tlv(0xA2, ber.tlv(0xA5, b"")), ber.tlv(0x84, b"\x01"))
    record = ber.tlv(0x30, etsi.encode_header(HEADER), ber.tlv(0xA2, ber.tlv(0xA0, iri)))
    d = etsi.decode(record)
    assert d.intercepted_at == later and d.fields["header"]["timestamp"] == "2025-06-02T14:00:18.250000Z"
    assert d.fields["iri"]["contents"] == "[5]" and d.content[0].kind is ContentKind.IP_PAYLOAD  # unknown: content
    assert d.fields["iri"]["timestamp_qualifier"] == "timeOfInterception"


def test_keepalive_response_misuse() -> None:
    with pytest.raises(CodecUsageError):
        etsi.keepalive_response(etsi.encode_ps_pdu(HEADER, etsi.IPCC("fromTarget", b"")))
    with pytest.raises(MalformedRecord):
        etsi.keepalive_response(b"\x30\x00")


def test_encoder_misuse() -> None:
    with pytest.raises(CodecUsageError):
        etsi.encode_ps_pdu(HEADER._replace(kind=RecordKind.CC), etsi.KeepAlive())
    with pytest.raises(CodecUsageError):
        etsi.encode_ps_pdu(HEADER, etsi.IPCC("sideways", b""))
    with pytest.raises(CodecUsageError):
        etsi.encode_ps_pdu(HEADER, etsi.IPIRI("begin", {"noSuchField": 1}))
    with pytest.raises(CodecUsageError):
        etsi.encode_ps_pdu(HEADER, object())  # type: ignore[arg-type]
    with pytest.raises(CodecUsageError):
        etsi.encode_ps_pdu(HEADER, etsi.KeepAlive(), lengths="short")
    with pytest.raises(CodecUsageError):
        etsi.read_header("not bytes")  # type: ignore[arg-type]
    with pytest.raises(CodecUsageError):
        etsi.decode(None)  # type: ignore[arg-type]


GOOD = etsi.encode_ps_pdu(HEADER, etsi.IPMMCC("fromTarget", UDP_RTP))


@pytest.mark.parametrize(
    ("record", "why"),
    [
        (b"", "not-a-ps-pdu"),
        (b"\x04\x00", "not-a-ps-pdu"),
        (GOOD[:-1], "ber-length-overflow"),
        (GOOD[:40], "ber-length-overflow"),
        (GOOD + b"\x00", "trailing-bytes"),
        (b"\x30\x80" + GOOD[2:] + b"\x00\x00", "ber-indefinite-length"),
        (b"\x30\x02\xa2\x00", "missing-ps-header"),
        (ber.tlv(0x30, ber.tlv(0xA1, ber.tlv(0x84, b"\x01")), ber.tlv(0xA2, b"\x83\x00")), "missing-liid"),
        (ber.tlv(0x30, ber.tlv(0xA1, ber.tlv(0x81, b"L")), ber.tlv(0xA2, b"\x83\x00")), "missing-sequence-number"),
        (ber.tlv(0x30, ber.tlv(0xA1, ber.tlv(0x81, b"\xff"), ber.tlv(0x84, b"\x01"))), "bad-liid"),
        (ber.tlv(0x30, etsi.encode_header(HEADER)), "missing-payload"),
        (ber.tlv(0x30, etsi.encode_header(HEADER), ber.tlv(0xA2, b"")), "empty-payload"),
        (ber.tlv(0x30, etsi.encode_header(HEADER), ber.tlv(0xA2, ber.tlv(0xA2, b""))), "empty-payload"),
        (ber.tlv(0x30, ber.tlv(0xA1, ber.tlv(0x81, b"L"), ber.tlv(0x84, b"")), b"\xa2\x02\x83\x00"),
         "ber-empty-integer"),
        (ber.tlv(0x30, ber.tlv(0xA1, ber.tlv(0x81, b"L"), ber.tlv(0x84, b"\x01"),
                               ber.tlv(0xA7, ber.tlv(0x80, b"\x01"))), b"\xa2\x02\x83\x00"), "bad-timestamp"),
    ],
)
def test_malformed_records(record: bytes, why: str) -> None:
    for call in (etsi.read_header, etsi.decode):
        with pytest.raises(MalformedRecord) as excinfo:
            call(record)
        assert excinfo.value.reason == why


def test_oversize_record() -> None:
    with pytest.raises(MalformedRecord, match="record-too-large"):
        etsi.read_header(GOOD, max_record_size=100)
    with pytest.raises(MalformedRecord, match="record-too-large"):
        etsi.decode(GOOD, max_record_size=100)
    huge = etsi.encode_ps_pdu(HEADER, etsi.IPCC("fromTarget", b"\x00" * (1 << 20)))
    with pytest.raises(MalformedRecord, match="record-too-large"):
        etsi.read_header(huge)


def test_malformed_payloads_raise_malformed_record() -> None:
    def with_payload(payload: bytes) -> bytes:
        return ber.tlv(0x30, etsi.encode_header(HEADER), ber.tlv(0xA2, payload))

    for payload, why in [
        (ber.tlv(0xA0, ber.tlv(0x04, b"")), "bad-payload-item"),
        (ber.tlv(0xA0, b""), "empty-payload"),
        (ber.tlv(0xA0, ber.tlv(0x30, ber.tlv(0xA2, ber.tlv(0xA5, b"")))), "missing-iri-type"),
        (ber.tlv(0xA1, ber.tlv(0x30, ber.tlv(0xA2, ber.tlv(0xAC, b"")))), "missing-mmcc-contents"),
        (ber.tlv(0xA1, ber.tlv(0x30, ber.tlv(0xA2, b""))), "empty-choice"),
        (ber.tlv(0xA2, ber.tlv(0x83, b"\x00")), "ber-bad-null"),
        (ber.tlv(0xA0, ber.tlv(0x30, ber.tlv(0x80, b""))), "ber-empty-integer"),
    ]:
        record = with_payload(payload)
        etsi.read_header(record)  # the header is fine
        with pytest.raises(MalformedRecord) as excinfo:
            etsi.decode(record)
        assert excinfo.value.reason == why, payload.hex()


def test_other_payloads_are_other() -> None:
    record = ber.tlv(0x30, etsi.encode_header(HEADER), ber.tlv(0xA2, ber.tlv(0xA4, b"\x01\x02")))
    d = etsi.decode(record)
    assert d.kind is RecordKind.OTHER and d.fields["payload"] == "encryptionContainer"
    assert d.content[0].data == b"\x01\x02"  # may hide CC: content, not a field (A6)
    padding = ber.tlv(0x30, etsi.encode_header(HEADER), ber.tlv(0xA2, ber.tlv(0xA2, ber.tlv(0x82, b"xx"))))
    assert etsi.decode(padding).fields["tri"] == {"type": "paddingPDU"}
    assert etsi.read_header(padding).kind is RecordKind.OTHER


def test_fast_path_and_generic_path_agree(all_records: list[bytes]) -> None:
    for record in all_records[:60] + [etsi.encode_ps_pdu(HEADER, etsi.KeepAlive())]:
        fast = fast_scan(record)
        assert fast is not None and fast == _scan(record, 1 << 20)


def test_deep_nesting_is_bounded() -> None:
    """The decoder only descends along the TS 102 232 schema (a fixed, shallow depth);
    deeper unknown structure stays undecoded content, and the generic `ber.parse` refuses
    nesting beyond 32 levels."""
    deep = b"\x05\x00"
    for _ in range(40):
        deep = ber.tlv(0x30, deep)
    iri = ber.tlv(0x30, ber.tlv(0x80, b"\x01"), ber.tlv(0xA2, ber.tlv(0xA9, deep)))
    record = ber.tlv(0x30, etsi.encode_header(HEADER), ber.tlv(0xA2, ber.tlv(0xA0, iri)))
    d = etsi.decode(record)
    assert d.fields["iri"]["contents"] == "[9]" and d.content[0].data == deep
    with pytest.raises(MalformedRecord) as excinfo:
        ber.parse(record)
    assert excinfo.value.reason == "ber-too-deep"
