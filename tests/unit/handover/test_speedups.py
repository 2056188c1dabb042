"""The C versions of the hot header reader and timestamp conversion (calea/handover/_speedups.c)
answer exactly what the Python reference answers: on the OpenLI vectors, on records built
from random header values, and on mutated records."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calea.handover import etsi102232 as etsi
from calea.handover import native
from calea.handover.ber import py_from_epoch_us
from calea.handover.etsi102232_fast import py_fast_scan
from calea.handover.etsi102232_header import _scan

from .conftest import OPENLI_VECTORS, split_stream
from .test_etsi102232_fuzz import mutated

speedups = native.speedups
needs_native = pytest.mark.skipif(speedups is None, reason="calea.handover._speedups not built (CALEA_PURE_PYTHON set?)")


def test_native_module_is_built() -> None:
    """`pip install` builds it wherever there is a C compiler (this machine and CI have one)."""
    if os.environ.get("CALEA_PURE_PYTHON"):
        pytest.skip("CALEA_PURE_PYTHON=1: the Python versions are asked for")
    assert speedups is not None


def _python(data: bytes) -> object:
    try:
        return py_fast_scan(data)
    except IndexError:
        return None


def _same(data: bytes) -> None:
    assert speedups is not None
    fast = speedups.fast_scan(data)
    ref = _python(data)
    if fast is None and ref is not None:
        # the one case the C version leaves to the generic path: a 9-octet sequence number
        assert not -(1 << 63) <= ref[0].sequence < (1 << 63)  # type: ignore[index]
        assert _scan(data, 1 << 20) == ref
    else:
        assert fast == ref
        if fast is not None:
            assert type(fast[0]) is etsi.PSHeader and fast[0].kind is ref[0].kind  # type: ignore[index]


@needs_native
def test_openli_records_read_the_same() -> None:
    seen = 0
    for name in ("hi2-NYPD.ber", "hi3-NYPD.ber"):
        path = OPENLI_VECTORS / name
        if not path.exists():
            pytest.skip("OpenLI vectors not found")
        for _, record in split_stream(path.read_bytes()):
            assert speedups.fast_scan(record) is not None  # OpenLI's layout is the fast path's
            _same(record)
            seen += 1
    assert seen > 100


_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=1, max_size=20)


@st.composite
def headers(draw: st.DrawFn) -> etsi.PSHeader:
    return etsi.PSHeader(
        liid=draw(_TEXT), sequence=draw(st.one_of(st.integers(0, 300), st.integers(-(1 << 70), 1 << 70))),
        cin=draw(st.one_of(st.none(), st.integers(-(1 << 31), 1 << 31))),
        operator_id=draw(_TEXT), network_element_id=draw(st.one_of(st.none(), _TEXT)),
        authorization_country_code=draw(st.one_of(st.none(), st.just("US"))),
        delivery_country_code=draw(st.one_of(st.none(), st.just("DE"))),
        interception_point_id=draw(st.one_of(st.none(), _TEXT)),
        timestamp_us=draw(st.integers(0, 253402300799_999_999)),
        timestamp_qualifier=draw(st.one_of(st.none(), st.integers(0, 3))),
    )


_PAYLOADS = [etsi.KeepAlive(), etsi.IPMMCC("fromTarget", bytes(range(200))),
             etsi.IPMMIRI("begin", b"INVITE sip:a@b SIP/2.0\r\n\r\n", "192.0.2.1", "192.0.2.2"),
             etsi.IntegrityCheck((1, 2), b"\x00" * 8)]


@needs_native
@given(headers(), st.sampled_from(_PAYLOADS))
@settings(max_examples=400, deadline=None)
def test_generated_records_read_the_same(header: etsi.PSHeader, payload: object) -> None:
    try:
        record = etsi.encode_ps_pdu(header, payload)  # type: ignore[arg-type]
    except Exception:  # values the encoder refuses (out of the standard's ranges)
        return
    _same(record)


@needs_native
@given(mutated())
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_records_read_the_same(data: bytes) -> None:
    _same(data)


@needs_native
@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_random_bytes_read_the_same(data: bytes) -> None:
    _same(data)
    assert speedups.fast_scan(bytearray(data)) is None  # only exact bytes take the fast path


@needs_native
@given(st.integers(-62135596800_000_000, 253402300800_000_000 - 1))
@settings(max_examples=500, deadline=None)
def test_timestamps_convert_the_same(us: int) -> None:
    """Rule A8: the carrier's stamp, to the microsecond, either way."""
    assert speedups.utc_from_us(us) == py_from_epoch_us(us)
    assert speedups.utc_from_us(us).tzinfo is timezone.utc


@needs_native
def test_timestamps_out_of_range_raise_like_python() -> None:
    for us in (-62135596800_000_001, 253402300800_000_000, 1 << 80):
        with pytest.raises(OverflowError):
            speedups.utc_from_us(us)
        with pytest.raises(OverflowError):
            py_from_epoch_us(us)
    assert speedups.utc_from_us(0) == datetime(1970, 1, 1, tzinfo=timezone.utc)
