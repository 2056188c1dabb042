"""calea.handover.ber: TLV reading bounds, primitive values, minimal encoders."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calea.handover import ber
from calea.handover.errors import CodecUsageError, HandoverError, MalformedRecord

UTC = timezone.utc


def reason(excinfo: pytest.ExceptionInfo[MalformedRecord]) -> str:
    return excinfo.value.reason


def test_short_long_and_non_minimal_lengths() -> None:
    assert ber.read_tlv(b"\x81\x02ab", 0, 4) == (0x81, 2, 4)
    body = b"x" * 200
    assert ber.read_tlv(b"\x04\x81\xc8" + body, 0, 203) == (0x04, 3, 203)
    # OpenLI's non-minimal form 30 82 00 xx
    assert ber.read_tlv(b"\x30\x82\x00\x02\x05\x00", 0, 6) == (0x30, 4, 6)
    assert ber.read_tlv(b"\x04\x84\x00\x00\x00\x01z", 0, 7) == (0x04, 6, 7)


def test_multi_octet_tags() -> None:
    key, vs, ve = ber.read_tlv(b"\x9f\x81\x00\x01z", 0, 5)  # [128] primitive
    assert (key, vs, ve) == (ber.ctx(128), 4, 5)
    assert ber.split_key(key) == (ber.CONTEXT, False, 128)
    assert ber.encode_identifier(key) == b"\x9f\x81\x00"
    assert ber.read_tlv(b"\xbf\x1f\x00", 0, 3)[0] == ber.ctx(31, constructed=True)
    # a low number in the high-tag form is the same tag
    assert ber.read_tlv(b"\x9f\x03\x00", 0, 3)[0] == 0x83


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "ber-truncated"),
        (b"\x30", "ber-truncated"),
        (b"\x30\x80\x00\x00", "ber-indefinite-length"),
        (b"\x30\xff", "ber-reserved-length"),
        (b"\x30\x85\x00\x00\x00\x00\x01", "ber-length-octets"),
        (b"\x30\x82\x01", "ber-truncated"),
        (b"\x30\x05\x00", "ber-length-overflow"),
        (b"\x30\x82\x01\x00" + b"\x00" * 10, "ber-length-overflow"),
        (b"\x9f\x81\x81\x81\x81\x01\x00", "ber-tag-too-long"),
        (b"\x9f\x81", "ber-truncated"),
    ],
)
def test_bad_headers(data: bytes, why: str) -> None:
    with pytest.raises(MalformedRecord) as excinfo:
        ber.read_tlv(data, 0, len(data))
    assert reason(excinfo) == why
    assert excinfo.value.offset == 0


def test_value_must_fit_its_container() -> None:
    data = b"\x30\x03\x04\x05abcde"
    _, vs, ve = ber.read_tlv(data, 0, len(data))
    with pytest.raises(MalformedRecord, match="ber-length-overflow"):
        ber.read_tlv(data, vs, ve)


def test_parse_tree_and_depth_bound() -> None:
    (node,) = ber.parse(b"\x30\x07\x02\x01\x05\xa1\x02\x05\x00")
    assert node.constructed and node.tag_class == ber.UNIVERSAL and node.number == 16
    assert node.children[0].value == b"\x05" and node.children[1].children[0].key == ber.NULL
    with pytest.raises(MalformedRecord, match="ber-truncated"):
        ber.parse(b"\x30\x06\x02\x01\x05\xa1\x01\x00")
    deep = b"\x05\x00"
    for _ in range(40):
        deep = ber.tlv(0x30, deep)
    with pytest.raises(MalformedRecord) as excinfo:
        ber.parse(deep)
    assert reason(excinfo) == "ber-too-deep"
    ok = b"\x05\x00"
    for _ in range(ber.MAX_DEPTH - 1):
        ok = ber.tlv(0x30, ok)
    assert ber.parse(ok)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, -1, -128, -129, 2**31, 2**63 - 1, -(2**63)])
def test_integer_round_trip(value: int) -> None:
    encoded = ber.encode_integer(value)
    assert ber.decode_integer(encoded) == value
    assert len(encoded) == 1 or encoded[0] not in (0, 0xFF) or (encoded[0] ^ encoded[1]) & 0x80  # minimal


def test_integer_bounds() -> None:
    with pytest.raises(MalformedRecord, match="ber-empty-integer"):
        ber.decode_integer(b"")
    with pytest.raises(MalformedRecord, match="ber-integer-too-long"):
        ber.decode_integer(b"\x01" * 17)


def test_oids() -> None:
    assert ber.decode_oid(bytes.fromhex("04000202050111")) == "0.4.0.2.2.5.1.17"
    assert ber.encode_oid("0.4.0.2.2.5.1.17") == bytes.fromhex("04000202050111")
    assert ber.decode_relative_oid(b"\x05\x03\x0a\x01") == "5.3.10.1"
    assert ber.encode_relative_oid(".5.5.6.2") == b"\x05\x05\x06\x02"
    assert ber.decode_oid(ber.encode_oid("2.999.1")) == "2.999.1"
    assert ber.decode_oid(ber.encode_oid("1.2.840.113549")) == "1.2.840.113549"
    for bad in (b"", b"\x81", b"\x80\x01"):
        with pytest.raises(MalformedRecord, match="ber-bad-oid"):
            ber.decode_oid(bad)


def test_null_and_text() -> None:
    ber.decode_null(b"")
    with pytest.raises(MalformedRecord, match="ber-bad-null"):
        ber.decode_null(b"\x00")
    assert ber.decode_text("café".encode()) == "café"
    assert ber.decode_text(b"a\xffb") == "a\\xffb"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20250602140016.049Z", datetime(2025, 6, 2, 14, 0, 16, 49000, tzinfo=UTC)),
        ("20250602140016Z", datetime(2025, 6, 2, 14, 0, 16, tzinfo=UTC)),
        ("20250602140016,5Z", datetime(2025, 6, 2, 14, 0, 16, 500000, tzinfo=UTC)),
        ("202506021400Z", datetime(2025, 6, 2, 14, 0, tzinfo=UTC)),
        ("2025060214.5Z", datetime(2025, 6, 2, 14, 30, tzinfo=UTC)),
        ("20250602160016+0200", datetime(2025, 6, 2, 14, 0, 16, tzinfo=UTC)),
        ("20250602090016-0500", datetime(2025, 6, 2, 14, 0, 16, tzinfo=UTC)),
        ("20250602140016", datetime(2025, 6, 2, 14, 0, 16, tzinfo=UTC)),  # no zone: UTC
    ],
)
def test_generalized_time(text: str, expected: datetime) -> None:
    assert ber.decode_generalized_time(text.encode()) == expected


@pytest.mark.parametrize("text", ["", "2025", "20251302140016Z", "2025060214001xZ", "20250602140016+05", "\xe9"])
def test_bad_generalized_time(text: str) -> None:
    with pytest.raises(MalformedRecord, match="ber-bad-time"):
        ber.decode_generalized_time(text.encode("latin-1"))


def test_generalized_time_encoding_is_openli_style() -> None:
    stamp = datetime(2025, 6, 2, 14, 0, 45, tzinfo=UTC)
    assert ber.encode_generalized_time(stamp) == b"20250602140045.000Z"
    assert ber.encode_generalized_time(stamp.replace(microsecond=49000)) == b"20250602140045.049Z"
    assert ber.encode_generalized_time(stamp.replace(microsecond=123456)) == b"20250602140045.123456Z"
    with pytest.raises(ValueError):
        ber.encode_generalized_time(datetime(2025, 1, 1))


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
@settings(max_examples=200, deadline=None)
def test_time_round_trips(stamp: datetime) -> None:
    assert ber.decode_generalized_time(ber.encode_generalized_time(stamp)) == stamp
    assert ber.from_epoch_us(ber.to_epoch_us(stamp)) == stamp


def test_minimal_lengths() -> None:
    assert ber.encode_length(0) == b"\x00"
    assert ber.encode_length(127) == b"\x7f"
    assert ber.encode_length(128) == b"\x81\x80"
    assert ber.encode_length(256) == b"\x82\x01\x00"
    assert ber.tlv(0xA2, b"\x83\x00") == b"\xa2\x02\x83\x00"
    with pytest.raises(ValueError):
        ber.encode_length(1 << 32)


@given(st.integers(min_value=-(2**70), max_value=2**70))
@settings(max_examples=300, deadline=None)
def test_integer_property(value: int) -> None:
    assert ber.decode_integer(ber.encode_integer(value)) == value


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_parse_random_bytes_only_raises_malformed(data: bytes) -> None:
    try:
        nodes = ber.parse(data)
    except MalformedRecord as exc:
        assert exc.reason.startswith("ber-")
    else:
        assert isinstance(nodes, tuple)


def test_error_shapes() -> None:
    exc = MalformedRecord("ber-length-overflow", "value runs past its container", 12)
    assert repr(exc) == "MalformedRecord('ber-length-overflow', message='value runs past its container', offset=12)"
    assert str(exc) == "ber-length-overflow at offset 12: value runs past its container"
    assert exc.to_dict() == {
        "error": "MalformedRecord", "message": "value runs past its container",
        "reason": "ber-length-overflow", "offset": 12,
    }
    assert repr(MalformedRecord("x")) == "MalformedRecord('x')"
    assert isinstance(exc, HandoverError) and issubclass(CodecUsageError, HandoverError)
    assert not issubclass(CodecUsageError, MalformedRecord)
    assert repr(CodecUsageError("no")) == "CodecUsageError('no')"
    import pickle

    again = pickle.loads(pickle.dumps(exc))
    assert (again.reason, again.message, again.offset) == (exc.reason, exc.message, exc.offset)


def test_tag_key_bounds() -> None:
    with pytest.raises(ValueError):
        ber.tag_key(4, False, 1)
    assert ber.tag_key(ber.APPLICATION, True, 5) == 0x65
    assert ber.split_key(ber.tag_key(ber.PRIVATE, True, 1000)) == (ber.PRIVATE, True, 1000)
    assert timedelta(0) == timedelta()  # keep the import honest
