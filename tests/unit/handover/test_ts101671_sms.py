"""SMS TPDUs in an IRI SMS-report: header = metadata, user data = content (rule A6)."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from calea.handover import ts101671_sms as sms

T = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)

# SMS-DELIVER from +31641600986, GSM 7-bit "How are you?" (the classic published example,
# with its time-zone octet written per TS 23.040 9.2.3.11: 0x80 = +8 quarters = +02:00;
# the example's own 0x08 would be -00:00 by the spec's semi-octet order).
DELIVER_HEX = "040B911346610089F60000208062917314800CC8F71D14969741F977FD07"


def test_published_deliver() -> None:
    parts = sms.parse_tpdu(bytes.fromhex(DELIVER_HEX), from_mobile=False)
    assert parts.text == "How are you?"
    assert parts.fields["tpdu"] == "sms-deliver"
    assert parts.fields["originator"] == {"type": "international", "plan": 1, "digits": "31641600986",
                                          "e164": "+31641600986"}
    assert parts.fields["service_centre_time"] == "2002-08-26T17:37:41Z"
    assert parts.fields["alphabet"] == "gsm7"
    assert parts.user_data is None and parts.unparsed is None


def test_text_never_in_fields() -> None:
    tpdu = sms.build_submit("secret text", "+4930123456")
    parts = sms.parse_tpdu(tpdu, from_mobile=True)
    assert parts.text == "secret text"
    assert "secret" not in repr(parts.fields)


@given(st.text(alphabet=st.sampled_from(sms.GSM7.replace("\x1b", "") + "€[]{}^~|\\"), max_size=60),
       st.booleans())
@settings(max_examples=200, deadline=None)
def test_gsm7_round_trip(text: str, submit: bool) -> None:
    if submit:
        parts = sms.parse_tpdu(sms.build_submit(text, "+12025550100"), from_mobile=True)
        assert parts.fields["destination"]["e164"] == "+12025550100"
    else:
        parts = sms.parse_tpdu(sms.build_deliver(text, "+12025550100", T), from_mobile=False)
        assert parts.fields["service_centre_time"] == "2024-05-06T07:08:09Z"
    assert parts.fields["alphabet"] == "gsm7"
    assert parts.text == text


@given(st.text(alphabet=st.characters(min_codepoint=0x400, max_codepoint=0x4FF), min_size=1, max_size=60))
@settings(max_examples=100, deadline=None)
def test_ucs2_round_trip(text: str) -> None:
    parts = sms.parse_tpdu(sms.build_submit(text, "12345"), from_mobile=True)
    assert parts.fields["alphabet"] == "ucs2"
    assert parts.fields["destination"]["type"] == "unknown"
    assert parts.text == text


def test_concatenated_gsm7_with_header() -> None:
    header = bytes.fromhex("050003A70201")  # 8-bit reference 0xA7, 2 parts, part 1
    septets = sms.gsm7_encode("Part one")
    assert septets is not None
    # header is 6 octets = 48 bits, padded to 49 bits (7 septets)
    ud = header + sms.pack_septets(septets, skip_bits=1)
    tpdu = bytes((0x41, 0x00)) + bytes.fromhex("0B91") + bytes.fromhex("2143658709F1") + b"\x00\x00"
    tpdu += bytes((7 + len(septets),)) + ud
    parts = sms.parse_tpdu(tpdu, from_mobile=True)
    assert parts.fields["concatenated"] == {"reference": 0xA7, "total": 2, "part": 1}
    assert parts.text == "Part one"


def test_eight_bit_user_data_and_ports() -> None:
    header = bytes.fromhex("060504" "0B84" "23F0")  # application ports 2948 <- 9200 (WAP push)
    body = b"\x01\x06binary"
    tpdu = bytes((0x44,)) + bytes.fromhex("0B91") + bytes.fromhex("2143658709F1") + b"\x00\x04"
    tpdu += bytes.fromhex("42500291000000") + bytes((len(header) + len(body),)) + header + body
    parts = sms.parse_tpdu(tpdu, from_mobile=False)
    assert parts.fields["ports"] == {"destination": 2948, "source": 9200}
    assert parts.user_data == body and parts.text is None


def test_alphanumeric_originator() -> None:
    name = sms.pack_septets(sms.gsm7_encode("Bank") or [])
    tpdu = bytes((0x04, 7, 0xD0)) + name + b"\x00\x00" + bytes.fromhex("42500291000000") + b"\x02" + \
        sms.pack_septets(sms.gsm7_encode("Hi") or [])
    parts = sms.parse_tpdu(tpdu, from_mobile=False)
    assert parts.fields["originator"]["type"] == "alphanumeric"
    assert parts.fields["originator"]["digits"] == "Bank"
    assert parts.text == "Hi"


def test_status_report_is_metadata_only() -> None:
    tpdu = bytes((0x06, 0x11)) + bytes.fromhex("0B91") + bytes.fromhex("2143658709F1")
    tpdu += bytes.fromhex("42500291000000") * 2 + b"\x00"
    parts = sms.parse_tpdu(tpdu, from_mobile=False)
    assert parts.fields["tpdu"] == "sms-status-report"
    assert parts.fields["recipient"]["digits"] == "12345678901"
    assert parts.fields["status"] == 0
    assert parts.text is None and parts.user_data is None and parts.unparsed is None


def test_unparseable_tpdu_is_kept_whole_as_content() -> None:
    parts = sms.parse_tpdu(b"\x01\x00\x0b", from_mobile=True)  # address runs past the end
    assert parts.fields == {"tpdu": "unparsed"}
    assert parts.unparsed == b"\x01\x00\x0b"
    command = sms.parse_tpdu(b"\x02\x00\x00\x00", from_mobile=True)
    assert command.fields["tpdu"] == "sms-command" and command.unparsed is not None


@given(st.binary(max_size=200), st.sampled_from([True, False, None]))
@settings(max_examples=200, deadline=None)
def test_parse_never_raises(data: bytes, from_mobile: bool | None) -> None:
    parts = sms.parse_tpdu(data, from_mobile)
    assert isinstance(parts.fields, dict)
