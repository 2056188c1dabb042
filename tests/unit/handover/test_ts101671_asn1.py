"""The schema-driven BER decoder against pycrate (the reference), and the mapping of
every third-party and Python exception to `MalformedRecord` at the codec boundary."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrate_asn1dir import LIETSI
from pycrate_asn1rt.err import ASN1BERDecodeErr, ASN1ObjErr
from pycrate_core.charpy import CharpyErr
from pycrate_core.utils import PycrateErr

from calea.handover import pcesp_encode as pe
from calea.handover.errors import CodecUsageError, MalformedRecord
from calea.handover.ts101671_asn1 import SchemaDecoder, pycrate_decode, pycrate_encode
from calea.handover.ts101671_encode import Cell, Iri, Party, Sms, encode, encode_sequence

ETSI = LIETSI.HI2Operations
IRIS = ETSI.IRIsContent
CDC = LIETSI.PCESP.CdcPdu
T0 = datetime(2020, 1, 1, tzinfo=timezone.utc)

digits = st.text(alphabet="0123456789", min_size=4, max_size=15)
times = st.integers(0, 10 * 365 * 86400 * 1000).map(lambda ms: T0 + timedelta(milliseconds=ms))
parties = st.builds(
    Party,
    qualifier=st.sampled_from(["originating-Party", "terminating-Party", "forwarded-to-Party"]),
    msisdn=st.none() | digits, imsi=st.none() | st.text("0123456789", min_size=6, max_size=15),
    imei=st.none() | st.text("0123456789", min_size=15, max_size=16),
    calling_number=st.none() | digits, called_number=st.none() | digits,
    sip_uri=st.none() | st.just("sip:x@example.org"), keypad=st.none() | st.text("0123456789*#", min_size=1,
                                                                                  max_size=8),
)
cells = st.builds(Cell, mcc=st.text("0123456789", min_size=3, max_size=3),
                  mnc=st.text("0123456789", min_size=2, max_size=3), lac=st.integers(0, 0xFFFF),
                  ci=st.integers(0, 0xFFFF), latitude=st.none() | st.floats(-89, 89),
                  longitude=st.none() | st.floats(-179, 179), azimuth=st.none() | st.integers(0, 359))
texts = st.text(alphabet=st.characters(max_codepoint=0x7FF, exclude_categories=["Cs"]), max_size=60)
smses = st.builds(Sms, text=texts, peer=st.builds(lambda d: "+" + d, digits), from_target=st.booleans(),
                  sent_at=st.none() | times, service_centre=st.none() | digits)
iris = st.builds(
    Iri,
    iri_type=st.sampled_from(["begin", "continue", "end", "report"]),
    liid=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC-_.0123456789", min_size=1, max_size=25),
    at=times, cin=st.none() | st.text("0123456789", min_size=1, max_size=8),
    network_element=st.none() | digits,
    direction=st.none() | st.sampled_from(["originating-Target", "terminating-Target", "not-Available"]),
    call_state=st.none() | st.sampled_from(["idle", "setUpInProcess", "connected"]),
    parties=st.lists(parties, max_size=4).map(tuple), cell=st.none() | cells, sms=st.none() | smses,
    release_cause=st.none() | st.integers(0, 127),
    module=st.sampled_from(["etsi-hi2", "3gpp-cs"]),
)


@given(iris)
@settings(max_examples=200, deadline=None)
def test_fast_decoder_equals_pycrate_on_iri(iri: Iri) -> None:
    record = encode(iri)
    pdu = LIETSI.HI2Operations.IRIsContent
    if iri.module == "3gpp-cs":
        from pycrate_asn1dir import LI3GPP

        pdu = LI3GPP.UmtsCS_HI2Operations.UmtsCS_IRIsContent
    assert SchemaDecoder(pdu).decode(record) == pycrate_decode(pdu, record)


@given(st.lists(iris.filter(lambda i: i.module == "etsi-hi2"), min_size=1, max_size=3))
@settings(max_examples=50, deadline=None)
def test_fast_decoder_equals_pycrate_on_sequences(items: list[Iri]) -> None:
    record = encode_sequence(items)
    assert SchemaDecoder(IRIS).decode(record) == pycrate_decode(IRIS, record)


call_ids = st.builds(pe.CallIdentity, sequence=st.text("0123456789,", min_size=1, max_size=25),
                     system=st.text("ABCXYZ-0123456789", min_size=1, max_size=15))
dns = st.text("0123456789", min_size=1, max_size=15)
cdc_records = st.one_of(
    st.builds(pe.origination, st.just("C-1"), st.just("AE"), times, call_ids, dns, st.none() | dns, dns),
    st.builds(pe.termination_attempt, st.just("C-1"), st.just("AE"), times, call_ids, st.none() | dns, dns),
    st.builds(pe.answer, st.just("C-1"), st.just("AE"), times, call_ids, st.none() | dns),
    st.builds(pe.release, st.just("C-1"), st.just("AE"), times, call_ids),
    st.builds(pe.cc_open, st.just("C-1"), st.just("AE"), times, st.lists(call_ids, min_size=1, max_size=3),
              st.integers(0, 2**32 - 1) | st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
              st.sampled_from(["downstream", "upstream", "downstream-and-upstream"]),
              st.none() | st.just("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n")),
    st.builds(pe.cc_close, st.just("C-1"), st.just("AE"), times, st.integers(0, 2**32 - 1)),
    st.builds(pe.redirection, st.just("C-1"), st.just("AE"), times, call_ids, dns, st.none() | call_ids,
              st.none() | dns),
    st.builds(pe.dialed_digit_extraction, st.just("C-1"), st.just("AE"), times, call_ids,
              st.text("0123456789*#ABCD", min_size=1, max_size=32)),
    st.builds(pe.subject_signal, st.just("C-1"), st.just("AE"), times, st.none() | call_ids, dns,
              st.none() | dns, st.none() | st.just("*66")),
    st.builds(pe.service_instance, st.just("C-1"), st.just("AE"), times, call_ids, st.just("3-way-call")),
)


@given(cdc_records)
@settings(max_examples=200, deadline=None)
def test_fast_decoder_equals_pycrate_on_cdc(record: bytes) -> None:
    assert SchemaDecoder(CDC).decode(record) == pycrate_decode(CDC, record)


# --- rules of the fast decoder ---------------------------------------------------------------


def tlv(tag: int, *parts: bytes) -> bytes:
    body = b"".join(parts)
    assert len(body) < 128
    return bytes((tag, len(body))) + body


LIID = tlv(0x81, b"LI")
CID = tlv(0xA2, tlv(0xA1, tlv(0x80, b"OP")))
TS = tlv(0xA3, tlv(0x81, b"260101120000Z"))


def params(*parts: bytes, tag: int = 0xA1) -> bytes:
    return tlv(tag, *parts)


def test_minimal_record() -> None:
    value = SchemaDecoder(IRIS).decode(params(LIID, CID, TS))
    assert value == ("iRIContent", ("iRI-Begin-record", {
        "lawfulInterceptionIdentifier": b"LI",
        "communicationIdentifier": {"network-Identifier": {"operator-Identifier": b"OP"}},
        "timeStamp": ("utcTime", ("26", "01", "01", "12", "00", "00", "Z"))}))


def test_unknown_extension_component_is_skipped() -> None:
    unknown = b"\x9f\x63\x01\x00"  # [99] primitive: a component of a newer module version
    value = SchemaDecoder(IRIS).decode(params(LIID, CID, TS, unknown, tlv(0x84, b"\x01")))
    assert value[1][1]["intercepted-Call-Direct"] == "originating-Target"


@pytest.mark.parametrize(("record", "fault"), [
    (params(CID, LIID, TS), "out of order"),
    (params(LIID, LIID, CID, TS), "out of order or repeated"),
    (params(LIID, TS), "missing mandatory component communicationIdentifier"),
    (params(tlv(0x81, b"X" * 26), CID, TS), "size out of constraint"),
    (params(tlv(0x81, b""), CID, TS), "size out of constraint"),
    (params(LIID, CID, tlv(0xA3, tlv(0xA0, tlv(0x80, b"20260101120000Z"), tlv(0x81, b"\x00"),
                                         tlv(0x82, b"\x00")))), "unknown component"),
    (params(LIID, CID, tlv(0xA3, tlv(0x81, b"2601011200Z!"))), "invalid time"),
    (params(LIID, CID, TS, tlv(0x84, b"")), "bad ENUMERATED length"),
    (params(LIID, CID, tlv(0xA3, tlv(0x82, b"x"))), "unknown CHOICE alternative"),
    (params(LIID, tlv(0x82, b""), TS), "primitive encoding of a constructed type"),
    (params(LIID, CID, TS, tlv(0xA9, tlv(0x04, b"x"))), "element of the wrong type"),
])
def test_schema_violations(record: bytes, fault: str) -> None:
    with pytest.raises(MalformedRecord) as err:
        SchemaDecoder(IRIS).decode(record)
    assert err.value.reason == "asn1-invalid"
    assert fault in err.value.message


@pytest.mark.parametrize(("record", "reason"), [
    (b"\xa1\x80" + LIID + CID + TS + b"\x00\x00", "ber-indefinite-length"),
    (params(LIID, CID, TS)[:-1], "ber-length-overflow"),
    (params(LIID, CID, TS) + b"\x00", "trailing-bytes"),
    (params(LIID, CID, TS, tag=0xA7), "asn1-unexpected-tag"),
    (b"\xa1\x04\x81\x05LI", "ber-length-overflow"),  # inner length past its container
])
def test_framing_violations(record: bytes, reason: str) -> None:
    with pytest.raises(MalformedRecord) as err:
        SchemaDecoder(IRIS).decode(record)
    assert err.value.reason == reason


def test_truncated_inner_octet_string_refused_where_pycrate_is_lenient() -> None:
    record = bytearray(params(LIID, CID, TS))
    record[3] = 5  # LIID claims 5 octets; the outer lengths are intact
    with pytest.raises(MalformedRecord):
        SchemaDecoder(IRIS).decode(bytes(record))
    with pytest.raises(MalformedRecord):
        pycrate_decode(IRIS, bytes(record))  # the structural check runs before pycrate


def test_what_the_fast_path_leaves_to_pycrate() -> None:
    # a segmented (constructed) OCTET STRING and an unknown CHOICE extension
    segmented = tlv(0xA1, tlv(0x04, b"L"), tlv(0x04, b"I"))
    value = SchemaDecoder(IRIS).decode(params(segmented, CID, TS))
    assert value[1][1]["lawfulInterceptionIdentifier"] == b"LI"
    element = tlv(0xA1, tlv(0x80, b"OP"), tlv(0x89, b"\x01"))  # network-Element-Identifier [9]
    record = params(LIID, tlv(0xA2, element), TS)
    assert SchemaDecoder(IRIS).decode(record) == pycrate_decode(IRIS, record)


# --- exception mapping at the boundary ----------------------------------------------------


class _Raising:
    """A stand-in for a pycrate object whose codec raises `exc`."""

    _name = "Fake"

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def from_ber(self, record: bytes) -> None:
        raise self.exc

    def set_val(self, value: Any) -> None:
        raise self.exc

    def fullname(self) -> str:
        return "Fake"


MAPPED = [PycrateErr("x"), ASN1BERDecodeErr("x"), ASN1ObjErr("x"), CharpyErr("x"), ValueError("x"),
          IndexError("x"), KeyError("x"), TypeError("x"), OverflowError("x"), AssertionError("x"),
          AttributeError("x"), RecursionError("x"), UnicodeDecodeError("ascii", b"\xff", 0, 1, "x"),
          ZeroDivisionError("x")]


@pytest.mark.parametrize("exc", MAPPED, ids=lambda e: type(e).__name__)
def test_every_pycrate_and_python_error_is_mapped(exc: BaseException) -> None:
    with pytest.raises(MalformedRecord) as err:
        pycrate_decode(_Raising(exc), params(LIID, CID, TS))
    assert err.value.reason == "asn1-invalid"
    assert type(exc).__name__ in err.value.message
    with pytest.raises(CodecUsageError):
        pycrate_encode(_Raising(exc), {})


def test_real_pycrate_error_is_mapped() -> None:
    with pytest.raises(MalformedRecord) as err:
        pycrate_decode(IRIS, params(LIID, TS))  # pycrate: missing mandatory component
    assert "ASN1BERDecodeErr" in err.value.message


def test_encoder_rejects_impossible_values() -> None:
    with pytest.raises(CodecUsageError):
        encode(Iri("begin", "L" * 26, T0))
    with pytest.raises(CodecUsageError):
        encode(Iri("begin", "LI", T0.replace(tzinfo=None)))
    with pytest.raises(CodecUsageError):
        encode(Iri("middle", "LI", T0))


# --- round trip of random IRIs through our encoder and the whole codec ------------------------


@given(iris)
@settings(max_examples=200, deadline=None)
def test_round_trip_of_random_iris(iri: Iri) -> None:
    from calea.handover import ts101671
    from calea.handover.model import ContentKind

    (d,) = ts101671.decode(encode(iri))
    assert (d.liid, d.intercepted_at, d.fields["iri_type"]) == (iri.liid, iri.at, iri.iri_type)
    assert d.cin == (f"{iri.operator}:{iri.network_element or ''}:{iri.cin}" if iri.cin else None)
    assert [p["qualifier"] for p in d.fields.get("parties", [])] == [p.qualifier for p in iri.parties]
    for got, sent in zip(d.fields.get("parties", []), iri.parties):
        assert got.get("imsi") == sent.imsi
        assert got.get("msisdn", {}).get("digits") == sent.msisdn
        assert got.get("calling_number", {}).get("digits") == sent.calling_number
        assert got.get("called_number", {}).get("digits") == sent.called_number
    if iri.cell:
        cell = d.fields["location"]["cell"]
        assert (cell["mcc"], cell["mnc"], cell["lac"], cell["ci"]) == (iri.cell.mcc, iri.cell.mnc, iri.cell.lac,
                                                                       iri.cell.ci)
    texts = [p.data.decode() for p in d.content if p.kind is ContentKind.MESSAGE_BODY]
    assert texts == ([iri.sms.text] if iri.sms else [])
    keyed = "".join(p.keypad or "" for p in iri.parties)
    digits = [p.data.decode() for p in d.content if p.kind is ContentKind.POST_CUT_THROUGH_DIGITS]
    if keyed and iri.iri_type == "begin" and iri.call_state != "connected":
        assert d.fields["keypad_digits"] == keyed and digits == []
    else:
        assert digits == ([keyed] if keyed else []) and "keypad_digits" not in d.fields
