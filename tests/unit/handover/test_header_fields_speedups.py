"""The C version of the PSHeader facts of a decoded record (`header_fields` in
calea/handover/_speedups.c) answers exactly what the Python reference
(`etsi102232_decode._header_fields_py`) answers -- the same dict (key order, value types,
values, the same canonical bytes) -- or None (the reference decides; whenever the reference
raises, C answers None).  Compared on every OpenLI vector record, the simulator's records,
generated PSHeaders (any LIID, sequence number, CIN, ids, optional elements, both timestamp
elements over years 1..9999, any qualifier, other PS domain ids, other layouts) and mutated
records, on which C must never raise nor crash."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from calea.handover import etsi102232 as etsi
from calea.handover import etsi102232_decode as decode_mod
from calea.handover import native
from calea.handover.ber import encode_oid, py_from_epoch_us, read_tlv
from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232_types import (
    GENERALIZED_TIMESTAMP,
    MICROSECOND_TIMESTAMP,
    TIMESTAMP_QUALIFIERS,
    PSHeader,
    iso,
    iso_us,
)
from calea.sim.build import build
from calea.store.leaves import canonical
from tests.leaks import assert_no_leak

from .conftest import OPENLI_VECTORS, REPO_ROOT, split_stream
from .test_sip_iri_speedups import _START, _scenarios
from .test_sip_speedups import _identical

speedups = native.speedups
needs_native = pytest.mark.skipif(speedups is None or not hasattr(speedups, "header_fields"),
                                  reason="calea.handover._speedups not built (CALEA_PURE_PYTHON set?)")

MIN_US = -62_135_596_800 * 1_000_000  # 0001-01-01T00:00:00Z
MAX_US = 253_402_300_800 * 1_000_000  # 10000-01-01T00:00:00Z
_HEADER = PSHeader(liid="HDR-1", sequence=5, cin=7, operator_id="OP", network_element_id="NE",
                   timestamp_us=1_767_603_600_000_000, timestamp_qualifier=1)
_SIP = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n"


def _canonical(fields: Any) -> bytes | str:
    """The leaf bytes of the fields, or why there are none (a number beyond 64 bits)."""
    try:
        return canonical(fields)
    except TypeError as exc:
        return str(exc)


def _scanned(rec: bytes) -> PSHeader | None:
    try:
        return etsi.scan(rec)[0]
    except MalformedRecord:
        return None


def _check(rec: Any, header: Any, *, usual: bool = False) -> bool:
    """C against Python on one (record, header); True when C answered."""
    assert speedups is not None
    try:
        want: Any = decode_mod._header_fields_py(rec, header)
    except Exception as exc:  # noqa: BLE001 -- the reference's own error: C must leave it to Python
        want = exc
    fast = speedups.header_fields(rec, header)
    if isinstance(want, Exception):
        assert fast is None, (rec, header, fast, want)
    if fast is None:
        assert not usual, f"the usual record left the fast path: {rec!r} {header!r}"
    else:
        assert type(fast) is dict
        _identical(fast, want)
        assert list(fast) == list(want) == list(decode_mod._HEADER_KEYS)
        assert _canonical(fast) == _canonical(want)
    # the dispatcher the decoder calls answers (or raises) what the reference does
    if isinstance(want, Exception):
        with pytest.raises(type(want)):
            decode_mod._header_fields(rec, header)
    else:
        got = decode_mod._header_fields(rec, header)
        _identical(got, want)
    return fast is not None


def _check_record(rec: bytes, *, usual: bool = False) -> bool:
    header = _scanned(rec)
    assert header is not None
    return _check(rec, header, usual=usual)


def test_native_header_fields_is_built() -> None:
    if os.environ.get("CALEA_PURE_PYTHON"):
        pytest.skip("CALEA_PURE_PYTHON=1: the Python versions are asked for")
    assert speedups is not None and hasattr(speedups, "header_fields")
    assert decode_mod._header_fields is not decode_mod._header_fields_py  # the dispatcher


def test_pure_python_reads_with_the_reference() -> None:
    code = ("from calea.handover import etsi102232_decode as m; "
            "assert m._header_fields is m._header_fields_py and m._fast is None")
    env = {**os.environ, "CALEA_PURE_PYTHON": "1"}
    subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, check=True)


def test_keys_are_the_references() -> None:
    rec = etsi.encode_ps_pdu(_HEADER, etsi.KeepAlive())
    assert tuple(decode_mod._header_fields_py(rec, etsi.scan(rec)[0])) == decode_mod._HEADER_KEYS


# --- (a) the OpenLI vectors ------------------------------------------------------------------


@functools.cache
def _openli_records() -> list[bytes]:
    out: list[bytes] = []
    for name in ("hi2-NYPD.ber", "hi3-NYPD.ber", "hi2-NYPD.ka-responses.ber", "hi3-NYPD.ka-responses.ber"):
        path = OPENLI_VECTORS / name
        if path.exists():
            out += [r for _, r in split_stream(path.read_bytes())]
    return out


@needs_native
def test_openli_records_read_the_same() -> None:
    records = _openli_records()
    if not records:
        pytest.skip("OpenLI vectors not found")
    for record in records:
        _check_record(record, usual=True)  # every OpenLI header is the usual one


@needs_native
def test_openli_records_decode_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    records = _openli_records()[::4]
    if not records:
        pytest.skip("OpenLI vectors not found")
    fast = [etsi.decode(r) for r in records]
    monkeypatch.setattr(decode_mod, "_header_fields", decode_mod._header_fields_py)
    for record, got in zip(records, fast):
        want = etsi.decode(record)
        _identical(got.fields, want.fields)
        assert canonical(got.fields) == canonical(want.fields) and got.content == want.content


# --- (b) the simulator --------------------------------------------------------------------------


@functools.cache
def _sim_records() -> list[bytes]:
    """Every HI2 and HI3 record of the demo and calls scenarios (their IPv4-proxy variants:
    the headers do not depend on the proxy)."""
    out: list[bytes] = []
    for scenario in _scenarios()[::2]:
        plan = build(scenario, "etsi-102232", now=_START)
        for channel in ("hi2", "hi3"):
            out += [r.data for r in plan.records(channel)]
    return out


@needs_native
def test_simulator_records_read_the_same() -> None:
    records = _sim_records()
    assert len(records) > 100
    for record in records:
        _check_record(record, usual=True)


@needs_native
def test_simulator_records_decode_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    records = _sim_records()[::7]
    fast = [etsi.decode(r) for r in records]
    monkeypatch.setattr(decode_mod, "_header_fields", decode_mod._header_fields_py)
    for record, got in zip(records, fast):
        want = etsi.decode(record)
        _identical(got.fields, want.fields)
        assert canonical(got.fields) == canonical(want.fields) and got.content == want.content


# --- (c) generated headers ------------------------------------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)
_OPTIONAL_TEXT = st.one_of(st.none(), _TEXT)
_INT64 = st.integers(-(1 << 63), (1 << 63) - 1)
_EDGES = [MIN_US, MIN_US + 999_999, MIN_US + 1_000_000, -1_000_001, -1_000_000, -999_999, -1, 0, 1, 999_999,
          1_000_000, 951_782_400_000_000, 4_107_542_399_999_999, MAX_US - 1_000_000, MAX_US - 1]
_STAMPS = st.one_of(st.integers(MIN_US, MAX_US - 1), st.sampled_from(_EDGES),
                    st.integers(MIN_US // 1_000_000, MAX_US // 1_000_000 - 1).flatmap(
                        lambda s: st.sampled_from([s * 1_000_000, s * 1_000_000 + 999_999])))
_QUALIFIERS = st.one_of(st.none(), st.sampled_from(sorted(TIMESTAMP_QUALIFIERS)), st.integers(-300, 300),
                        _INT64, st.integers(-(1 << 71), (1 << 71) - 1))


@st.composite
def oids(draw: st.DrawFn) -> str:
    """A PS domain id: OpenLI's mostly, else any the encoder writes (arcs up to 2**64, so
    some sub-identifiers are over 9 octets and decode_oid refuses them)."""
    if draw(st.booleans()):
        return etsi.LI_PS_DOMAIN_ID
    first = draw(st.integers(0, 2))
    second = draw(st.integers(0, 39) if first < 2 else st.one_of(st.integers(0, 200), st.integers(0, 1 << 62)))
    rest = draw(st.lists(st.one_of(st.integers(0, 300), st.integers(0, (1 << 63) - 1), st.integers(0, 1 << 64)),
                         max_size=20))
    return ".".join(map(str, [first, second, *rest]))


_PAYLOADS = st.sampled_from([etsi.KeepAlive(), etsi.KeepAliveResponse(),
                             etsi.IPMMIRI("continue", _SIP, "198.51.100.20", "203.0.113.10"),
                             etsi.IPMMCC("fromTarget", bytes(range(40)))])


@st.composite
def headers(draw: st.DrawFn) -> PSHeader:
    field = draw(st.sampled_from([MICROSECOND_TIMESTAMP, GENERALIZED_TIMESTAMP]))
    stamp = draw(st.one_of(st.none(), _STAMPS))
    if stamp is not None and field == MICROSECOND_TIMESTAMP:
        stamp = abs(stamp) % MAX_US  # a microSecondTimeStamp is after 1970
    return PSHeader(
        liid=draw(_TEXT),
        sequence=draw(st.one_of(st.integers(0, 255), st.integers(0, (1 << 63) - 1), _INT64)),
        cin=draw(st.one_of(st.none(), st.integers(0, 1 << 32), _INT64)),
        operator_id=draw(_OPTIONAL_TEXT),
        network_element_id=draw(_OPTIONAL_TEXT),
        authorization_country_code=draw(st.one_of(st.none(), st.sampled_from(["US", "DE", "GB"]), _TEXT)),
        delivery_country_code=draw(st.one_of(st.none(), st.sampled_from(["US", "DE"]), _TEXT)),
        interception_point_id=draw(_OPTIONAL_TEXT),
        timestamp_us=stamp,
        timestamp_field=field,
        timestamp_qualifier=draw(_QUALIFIERS),
    )


@needs_native
@given(headers(), oids(), _PAYLOADS, st.sampled_from(["minimal", "openli"]))
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(_HEADER._replace(timestamp_us=MIN_US, timestamp_field=GENERALIZED_TIMESTAMP), etsi.LI_PS_DOMAIN_ID,
         etsi.KeepAlive(), "minimal")
@example(_HEADER._replace(timestamp_us=MAX_US - 1, timestamp_field=GENERALIZED_TIMESTAMP), etsi.LI_PS_DOMAIN_ID,
         etsi.KeepAlive(), "openli")
@example(_HEADER._replace(timestamp_us=MAX_US - 1), etsi.LI_PS_DOMAIN_ID, etsi.KeepAlive(), "minimal")
@example(_HEADER._replace(timestamp_us=0, timestamp_qualifier=None), "2.999.1", etsi.KeepAlive(), "minimal")
def test_generated_headers_read_the_same(header: PSHeader, oid: str, payload: Any, lengths: str) -> None:
    record = etsi.encode_ps_pdu(header, payload, domain_id=oid, lengths=lengths)
    scanned = etsi.scan(record)[0]
    assert scanned.timestamp_us == header.timestamp_us
    arcs = [int(a) for a in oid.split(".")]
    usual = (
        len(encode_oid(oid)) < 0x80  # a short form
        and all(a < 1 << 63 for a in [arcs[0] * 40 + arcs[1], *arcs[2:]])  # sub-identifiers of at most 9 octets
        and (header.timestamp_qualifier is None or -(1 << 63) <= header.timestamp_qualifier < 1 << 63)
    )
    _check(record, scanned, usual=usual)
    _check(record, header, usual=usual)  # the header tuple as given


@needs_native
@given(_STAMPS)
@settings(max_examples=3000, deadline=None)
def test_every_timestamp_is_iso_us(stamp: int) -> None:
    """Any stamp of years 1..9999 as iso_us writes it (and as the pure Python datetime
    arithmetic does, in case iso_us runs on the C utc_from_us)."""
    assert speedups is not None
    rec = etsi.encode_ps_pdu(_HEADER, etsi.KeepAlive())
    text = iso(py_from_epoch_us(stamp))
    assert iso_us(stamp) == text
    for field in (MICROSECOND_TIMESTAMP, GENERALIZED_TIMESTAMP):
        fields = speedups.header_fields(rec, _HEADER._replace(timestamp_us=stamp, timestamp_field=field))
        assert fields is not None and fields["timestamp"] == text and fields["timestamp_field"] == field
        assert _check(rec, _HEADER._replace(timestamp_us=stamp, timestamp_field=field), usual=True)


@needs_native
def test_timestamps_beyond_the_years_go_to_python() -> None:
    rec = etsi.encode_ps_pdu(_HEADER, etsi.KeepAlive())
    for stamp in (MIN_US - 1, MIN_US - 1_000_000, MAX_US, MAX_US + 1, 1 << 63, -(1 << 63), 1 << 80, -(1 << 80)):
        assert not _check(rec, _HEADER._replace(timestamp_us=stamp))  # the reference raises OverflowError
    for stamp in (1.5, True, "1", 10**6 * 1.0):  # not an int: the reference decides
        assert not _check(rec, _HEADER._replace(timestamp_us=stamp))
    assert _check(rec, _HEADER._replace(timestamp_us=None, timestamp_field="x"), usual=True)


@needs_native
def test_every_qualifier() -> None:
    assert speedups is not None
    rec = etsi.encode_ps_pdu(_HEADER, etsi.KeepAlive())
    for q in [*range(-300, 300), (1 << 63) - 1, -(1 << 63), None]:
        assert _check(rec, _HEADER._replace(timestamp_qualifier=q), usual=True)
    for q in (1 << 63, -(1 << 63) - 1, 1 << 71, 1.0, True, "1"):
        assert not _check(rec, _HEADER._replace(timestamp_qualifier=q))
    fields = speedups.header_fields(rec, _HEADER._replace(timestamp_qualifier=9))
    assert fields is not None and fields["timestamp_qualifier"] == "unknown(9)"


@needs_native
def test_configure_header_checks_its_tables() -> None:
    assert speedups is not None
    rec = etsi.encode_ps_pdu(_HEADER, etsi.KeepAlive())
    keys = decode_mod._HEADER_KEYS
    try:
        for bad in ((keys[:-1], TIMESTAMP_QUALIFIERS), (keys + ("x",), TIMESTAMP_QUALIFIERS),
                    ((keys[0],) * 12, TIMESTAMP_QUALIFIERS), (list(keys), TIMESTAMP_QUALIFIERS),
                    ((1,) + keys[1:], TIMESTAMP_QUALIFIERS), (keys, list(TIMESTAMP_QUALIFIERS.items()))):
            with pytest.raises((TypeError, ValueError)):
                speedups.configure_header(*bad)
            assert _check(rec, _HEADER, usual=True)  # a refused configuration changes nothing
        # other names in, other names out; names name_of would not use go to Python
        speedups.configure_header(tuple(k.upper() for k in keys), {1: "ONE", 2: "", 3: 3})
        fields = speedups.header_fields(rec, _HEADER)
        assert fields is not None and list(fields) == [k.upper() for k in keys]
        assert fields["TIMESTAMP_QUALIFIER"] == "ONE" and fields["LIID"] == "HDR-1"
        for q in (2, 3):
            assert speedups.header_fields(rec, _HEADER._replace(timestamp_qualifier=q)) is None
        assert speedups.header_fields(rec, _HEADER._replace(timestamp_qualifier=0))["TIMESTAMP_QUALIFIER"] == \
            "unknown(0)"
    finally:
        speedups.configure_header(keys, TIMESTAMP_QUALIFIERS)
    assert _check(rec, _HEADER, usual=True)


class _OwnIter(tuple):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        return iter(("other",) * 12)


@needs_native
def test_odd_calls() -> None:
    assert speedups is not None
    rec = etsi.encode_ps_pdu(_HEADER, etsi.KeepAlive())
    header = etsi.scan(rec)[0]
    assert _check(rec, header, usual=True)
    assert _check(rec, tuple(header), usual=True)
    for odd_rec in (bytearray(rec), memoryview(rec), rec.decode("latin-1"), None):
        assert speedups.header_fields(odd_rec, header) is None  # only exact bytes
    for odd in (list(header), tuple(header)[:11], tuple(header) + (None,), _OwnIter(header), None, 5):
        assert speedups.header_fields(rec, odd) is None
    with pytest.raises(TypeError):
        speedups.header_fields(rec)
    with pytest.raises(TypeError):
        speedups.header_fields(rec, header, None)
    with pytest.raises(TypeError):
        speedups.header_fields(rec, header=header)
    # the values are the header's own objects
    fields = speedups.header_fields(rec, header)
    assert fields is not None and fields["liid"] is header.liid and fields["timestamp_field"] is header.timestamp_field
    assert fields["li_ps_domain_id"] == etsi.LI_PS_DOMAIN_ID
    fields["liid"] = "changed"  # a fresh dict each time
    assert speedups.header_fields(rec, header)["liid"] == "HDR-1"


# --- (d) other layouts: where li-psDomainId is, its length form, its value ----------------------


def _t(tag: bytes, value: bytes, form: str = "short") -> bytes:
    n = len(value)
    if form == "short" and n < 0x80:
        length = bytes((n,))
    elif form in ("short", "81") and n < 0x100:
        length = bytes((0x81, n))
    elif form in ("short", "81", "82"):
        length = bytes((0x82, n >> 8, n & 0xFF))
    else:  # "84": non-minimal, four octets
        length = b"\x84" + n.to_bytes(4, "big")
    return tag + length + value


def _elements(record: bytes) -> tuple[list[bytes], bytes]:
    """The PSHeader elements (whole TLVs) and the payload TLV of a minimal-length record."""
    _, p, end = read_tlv(record, 0, len(record))
    _, hq, he = read_tlv(record, p, end)
    out = []
    pos = hq
    while pos < he:
        _, _, e = read_tlv(record, pos, he)
        out.append(record[pos:e])
        pos = e
    return out, record[he:end]


@st.composite
def layouts(draw: st.DrawFn) -> bytes:
    header = draw(headers())
    record = etsi.encode_ps_pdu(header, etsi.KeepAlive())
    elements, payload = _elements(record)
    domain = elements[0]
    how = draw(st.sampled_from(["value", "long", "high-tag", "drop", "move", "twice", "forms", "forms"]))
    if how == "value":  # any value: decode_oid's refusals and odd OIDs
        value = draw(st.one_of(st.binary(max_size=20), st.binary(min_size=120, max_size=140),
                               st.sampled_from([b"", b"\x80", b"\x80\x01", b"\x81", b"\x2b\x80\x01", b"\x00",
                                                b"\x7f", b"\xff" * 8 + b"\x7f", b"\xff" * 9 + b"\x7f",
                                                b"\x81\x80\x80\x80\x80\x80\x80\x80\x00"])))
        elements[0] = _t(b"\x80", value)
    elif how == "long":
        elements[0] = _t(b"\x80", domain[2:], draw(st.sampled_from(["81", "82", "84"])))
    elif how == "high-tag":  # [0] in the high-tag-number form
        elements[0] = b"\x9f\x00" + domain[1:]
    elif how == "drop":
        del elements[0]
    elif how == "move":
        elements.insert(1, elements.pop(0))
    elif how == "twice":
        elements.insert(0, _t(b"\x80", encode_oid("1.2.3")))
    forms = [draw(st.sampled_from(["short", "81", "82", "84"])) for _ in range(3)]
    return _t(b"\x30", _t(b"\xa1", b"".join(elements), forms[0]) + _t(b"\xa2", payload[2:], forms[1]), forms[2])


@needs_native
@given(layouts())
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_other_layouts_read_the_same_or_go_to_python(record: bytes) -> None:
    header = _scanned(record)
    if header is not None:
        _check(record, header)
    _check(record, _HEADER)


# --- (e) mutated records ------------------------------------------------------------------------


@functools.cache
def _seeds() -> list[bytes]:
    own = [etsi.encode_ps_pdu(_HEADER._replace(timestamp_field=field, interception_point_id=ipid),
                              payload, lengths=lengths)
           for field in (MICROSECOND_TIMESTAMP, GENERALIZED_TIMESTAMP) for ipid in (None, "ip-1")
           for payload in (etsi.KeepAlive(), etsi.IPMMIRI("begin", _SIP, "192.0.2.1", "192.0.2.2"))
           for lengths in ("minimal", "openli")]
    return own + _openli_records()[:60:6] + _sim_records()[:40:8]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, PSHeader]:
    """A valid record with octets changed, inserted or deleted, mostly in its PSHeader; and
    its seed's header."""
    record = draw(st.sampled_from(_seeds()))
    header = etsi.scan(record)[0]
    data = bytearray(record)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        top = len(data) - 1 if not draw(st.integers(0, 3)) else min(len(data) - 1, 40)
        pos = draw(st.integers(0, top))
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete", "length"]))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[pos] = draw(st.sampled_from([0x00, 0x01, 0x06, 0x2B, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x9F,
                                              0xA0, 0xA1, 0xA2, 0xFF]))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        else:
            data[pos : pos + 1] = bytes([0x82, 0x00, data[pos]])
    return bytes(data), header


@needs_native
@given(mutated())
@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_records_read_the_same_or_go_to_python(case: tuple[bytes, PSHeader]) -> None:
    rec, seed_header = case
    _check(rec, seed_header)  # any bytes with any header: never raises, equal when it answers
    header = _scanned(rec)
    if header is not None:
        _check(rec, header)
        try:
            etsi.decode(rec)
        except MalformedRecord:
            pass


@needs_native
def test_truncations_never_raise() -> None:
    for record in _seeds():
        header = etsi.scan(record)[0]
        for cut in range(len(record) + 1):
            _check(record[:cut], header)


@needs_native
@given(st.binary(max_size=200))
@settings(max_examples=1000, deadline=None)
def test_any_bytes_never_raise(data: bytes) -> None:
    _check(data, _HEADER)
    _check(b"\x30" + data, _HEADER)


# --- no leaks ---------------------------------------------------------------------------------


@needs_native
def test_no_leaks() -> None:
    """300k calls on records C answers (two PS domains in turn, so the domain cache changes;
    both timestamp elements; known and unknown qualifiers) and on records and headers C
    leaves to Python (a bad OID, a long form, no domain, a stamp beyond year 9999, a huge
    qualifier, not a tuple, not bytes): memory and the shared objects' counts stay put."""
    assert speedups is not None
    liid, ipid = "LEAK-1", "ip-9"
    base = _HEADER._replace(liid=liid, interception_point_id=ipid)
    keep = etsi.KeepAlive()
    usual = etsi.encode_ps_pdu(base, keep)
    other = etsi.encode_ps_pdu(base, keep, domain_id="1.3.6.1.4.1.99999.1")
    general = etsi.encode_ps_pdu(base._replace(timestamp_field=GENERALIZED_TIMESTAMP), keep)
    elements, payload = _elements(usual)
    bad_oid = _t(b"\x30", _t(b"\xa1", _t(b"\x80", b"\x80\x01") + b"".join(elements[1:])) + payload)
    long_form = _t(b"\x30", _t(b"\xa1", _t(b"\x80", elements[0][2:], "81") + b"".join(elements[1:])) + payload)
    headers_ = [etsi.scan(r)[0] for r in (usual, other, general)]
    unknown = headers_[0]._replace(timestamp_qualifier=77)
    calls: list[tuple[Any, Any]] = [(usual, headers_[0]), (other, headers_[1]), (general, headers_[2]),
                                    (usual, unknown), (bad_oid, headers_[0]), (long_form, headers_[0]),
                                    (usual, headers_[0]._replace(timestamp_us=MAX_US)),
                                    (usual, headers_[0]._replace(timestamp_qualifier=1 << 70)),
                                    (usual, list(headers_[0])), (bytearray(usual), headers_[0])]
    answered = [speedups.header_fields(r, h) is not None for r, h in calls]
    assert answered == [True] * 4 + [False] * 6
    shared = [None, liid, ipid, MICROSECOND_TIMESTAMP, GENERALIZED_TIMESTAMP, *TIMESTAMP_QUALIFIERS.values(),
              *headers_, unknown, usual, other, bad_oid, *decode_mod._HEADER_KEYS]

    def run(times: int) -> None:
        for _ in range(times):
            for r, h in calls:
                speedups.header_fields(r, h)

    assert_no_leak(run, shared, warmup=2000, rounds=300_000 // len(calls), traced_warmup=50, traced_rounds=3000)
