"""The C version of the usual SIP IRI reader (`sip_iri` in calea/handover/_speedups.c) answers
exactly what the Python reference (`etsi102232_payloads._sip_iri_py`) answers -- the same
payload fields (dicts, key order, value types, the same canonical bytes) and the same SIP
content parts -- or None (not the usual record: the reference decides; whenever the
reference answers None, so does C).  Compared on every SIP IRI record the simulator builds,
the OpenLI vectors, generated records (IPv4 / IPv6 / text addresses, every IRI type, any
SIP text) and mutated records, on which C must never raise nor crash."""

from __future__ import annotations

import functools
import ipaddress
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.leaks import assert_no_leak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calea.handover import etsi102232 as etsi
from calea.handover import etsi102232_decode as decode_mod
from calea.handover import etsi102232_header as header_mod
from calea.handover import etsi102232_payloads as payloads
from calea.handover import etsi102232_sip as sip_mod
from calea.handover import native
from calea.handover.ber import encode_integer, encode_relative_oid, read_tlv
from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232_types import (
    IP_ASSIGNMENTS,
    IP_TYPES,
    IPMMIRI_OID,
    IRI_TYPES,
)
from calea.handover.model import Channel, ContentKind, ContentPart
from calea.sim.build import build
from calea.sim.scenario import Call, Scenario, Sms, load_demo_scenario, load_scenario
from calea.store.leaves import canonical

from .conftest import OPENLI_VECTORS, REPO_ROOT, split_stream
from .test_sip_speedups import _identical, _sim_messages, usual_messages

speedups = native.speedups
needs_native = pytest.mark.skipif(speedups is None or not hasattr(speedups, "sip_iri"),
                                  reason="calea.handover._speedups not built (CALEA_PURE_PYTHON set?)")
_START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
_HEADER = etsi.PSHeader(liid="IRI-1", sequence=5, cin=7, operator_id="OP", network_element_id="NE",
                        timestamp_us=1_767_603_600_000_000)


def _locate(record: bytes) -> tuple[int, int] | None:
    """(q, e) of the iRIPayloadSequence value of a record, as `_decode` hands it to sip_iri."""
    try:
        _, pstart, pend = header_mod.scan(record)
        tag, q, e = read_tlv(record, pstart, pend)
    except (MalformedRecord, IndexError):
        return None
    return (q, e) if tag == 0xA0 else None


def _canonical(fields: Any) -> bytes | str:
    """The leaf bytes of the fields, or why there are none (an iPv6PrefixLength beyond 64
    bits, from generated records)."""
    try:
        return canonical(fields)
    except TypeError as exc:
        return str(exc)


def _check(rec: bytes, q: int, e: int, *, usual: bool = False) -> bool:
    """C against Python on rec[q:e]; True when C answered."""
    assert speedups is not None
    want_parts: list[ContentPart] = []
    want = payloads._sip_iri_py(rec, q, e, want_parts)
    fast = speedups.sip_iri(rec, q, e, payloads.parse_sip)
    if want is None:
        assert fast is None, (rec[q:e], fast)
    if fast is None:
        assert not usual, f"the usual record left the fast path: {rec[q:e]!r}"
    else:
        assert type(fast) is tuple and len(fast) == 2
        fields, parts = fast
        assert want is not None
        _identical(fields, want)
        assert _canonical(fields) == _canonical(want)
        assert type(parts) is tuple
        _identical(list(parts), want_parts)
    # the dispatcher the decoder calls answers what the reference answers
    got_parts: list[ContentPart] = []
    got = payloads.sip_iri(rec, q, e, got_parts)
    assert got == want and got_parts == want_parts
    if got is not None:
        assert _canonical(got) == _canonical(want)
    return fast is not None


def _check_record(record: bytes, *, usual: bool = False) -> bool:
    where = _locate(record)
    assert where is not None
    return _check(record, *where, usual=usual)


def test_native_sip_iri_is_built() -> None:
    if os.environ.get("CALEA_PURE_PYTHON"):
        pytest.skip("CALEA_PURE_PYTHON=1: the Python versions are asked for")
    assert speedups is not None and hasattr(speedups, "sip_iri")
    assert payloads.sip_iri is not payloads._sip_iri_py  # the dispatcher
    assert decode_mod.sip_iri is payloads.sip_iri


def test_pure_python_reads_with_the_reference() -> None:
    code = "from calea.handover import etsi102232_payloads as m; assert m.sip_iri is m._sip_iri_py"
    env = {**os.environ, "CALEA_PURE_PYTHON": "1"}
    subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, check=True)


# --- building records -------------------------------------------------------------------------


def _length(n: int, form: str) -> bytes:
    """A definite length in the form the fast path accepts: short, 0x81 or 0x82."""
    if form == "short" and n < 0x80:
        return bytes((n,))
    if form == "81" and n < 0x100:
        return bytes((0x81, n))
    if form in ("short", "81", "82"):
        return bytes((0x82, n >> 8, n & 0xFF))
    raise AssertionError(form)


def _t(tag: int, value: bytes, form: str = "short") -> bytes:
    return bytes((tag,)) + _length(len(value), form) + value


def iri_value(iri_type: int, src: bytes, dst: bytes, sip: bytes, oid: bytes | None = None,
              forms: tuple[str, ...] = ("short",) * 6) -> bytes:
    """The value of iRIPayloadSequence [0] in the usual layout, with the given length forms
    of (IRIPayload, iRIContents, iPMMIRI, iPMMIRIContents, sIPMessage, sIPContent)."""
    oid = encode_relative_oid(IPMMIRI_OID) if oid is None else oid
    message = _t(0xA0, src) + _t(0xA1, dst) + _t(0x82, sip, forms[5])
    body = _t(0x80, oid) + _t(0xA1, _t(0xA1, message, forms[4]), forms[3])
    item = _t(0x80, bytes((iri_type,))) + _t(0xA2, _t(0xAB, body, forms[2]), forms[1])
    return _t(0x30, item, forms[0])


def address(text: str) -> bytes:
    return etsi.encode_ip_address(text)


def _check_value(value: bytes, *, usual: bool = False, before: bytes = b"\xa0\x00", after: bytes = b"") -> bool:
    rec = before + value + after
    return _check(rec, len(before), len(before) + len(value), usual=usual)


# --- (a) the simulator ---------------------------------------------------------------------


def _scenarios() -> list[Scenario]:
    """The demo and the calls scenarios, every call as every outcome in both directions
    (with digits), every SMS with other texts, with an IPv4 and an IPv6 SIP proxy."""
    out: list[Scenario] = []
    for base in (load_demo_scenario(), load_scenario(REPO_ROOT / "calea" / "sim" / "scenarios" / "calls.toml")):
        events: list[Any] = []
        for event in base.events:
            events.append(event)
            if isinstance(event, Call):
                events += [Call(event.liid, event.at, direction, event.peer, outcome, dtmf_before="1",
                                dtmf_after="2", hangup="peer" if outcome == "answered" else "target")
                           for direction in ("in", "out") for outcome in ("answered", "busy", "no-answer",
                                                                        "cancelled")]
            elif isinstance(event, Sms):
                events += [Sms(event.liid, event.at, event.direction, event.peer, text)
                           for text in ("h\u00e9llo \u2603", "")]
        scenario = replace(base, events=tuple(events))
        out += [scenario, replace(scenario, carrier=replace(scenario.carrier, proxy="2001:db8::10"))]
    return out


@functools.cache
def _sim_records() -> list[bytes]:
    out: list[bytes] = []
    for scenario in _scenarios():
        plan = build(scenario, "etsi-102232", now=_START)
        out += [r.data for r in plan.records("hi2") if _locate(r.data) is not None]
    return out


@functools.cache
def _sim_sip_records() -> list[bytes]:
    """Every SIP message of the simulator, as the bench's IPMMIRI record (IPv4 and IPv6)."""
    out = []
    for i, data in enumerate(_sim_messages()):
        src, dst = ("198.51.100.20", "203.0.113.10") if i % 2 else ("2001:db8::20", "2001:db8::10")
        out.append(etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI("continue", data, src, dst),
                                      lengths="openli" if i % 3 else "minimal"))
    return out


@needs_native
def test_simulator_records_take_the_fast_path() -> None:
    usual = 0
    for record in _sim_records():  # the simulator's SIP IRI is the usual record, IPv6 proxy and all
        ref = payloads._sip_iri_py(record, *_locate(record), [])  # type: ignore[misc]
        usual += _check_record(record, usual=ref is not None)
    assert usual > 100
    for record in _sim_sip_records():
        _check_record(record, usual=True)


def test_simulator_records_decode_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole-record decode, by the dispatcher and by the reference alone."""
    records = _sim_records()[::3] + _sim_sip_records()[::5]
    fast = [etsi.decode(r, Channel.HI2) for r in records]
    monkeypatch.setattr(decode_mod, "sip_iri", payloads._sip_iri_py)
    for record, got in zip(records, fast):
        want = etsi.decode(record, Channel.HI2)
        _identical(got.fields, want.fields)
        assert canonical(got.fields) == canonical(want.fields)
        assert got.content == want.content


# --- (b) the OpenLI vectors ------------------------------------------------------------------


@functools.cache
def _openli_records() -> list[bytes]:
    path = OPENLI_VECTORS / "hi2-NYPD.ber"
    if not path.exists():
        return []
    return [r for _, r in split_stream(path.read_bytes()) if _locate(r) is not None]


@needs_native
def test_openli_records_read_the_same() -> None:
    records = _openli_records()
    if not records:
        pytest.skip("OpenLI vectors not found")
    taken = 0
    for record in records:
        usual = payloads._sip_iri_py(record, *_locate(record), []) is not None  # type: ignore[misc]
        taken += _check_record(record, usual=usual)  # OpenLI's SIP IRI is the usual record
    assert taken > 5
    for record in records:
        q, e = _locate(record)  # type: ignore[misc]
        for cut in range(q, e, 5):  # the payload cut short, or the record around it
            _check(record, q, cut)
            _check(record[:cut], q, cut)
        _check(record, q, len(record))


@needs_native
def test_openli_records_decode_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    records = _openli_records()
    if not records:
        pytest.skip("OpenLI vectors not found")
    fast = [etsi.decode(r, Channel.HI2) for r in records]
    monkeypatch.setattr(decode_mod, "sip_iri", payloads._sip_iri_py)
    for record, got in zip(records, fast):
        want = etsi.decode(record, Channel.HI2)
        _identical(got.fields, want.fields)
        assert canonical(got.fields) == canonical(want.fields) and got.content == want.content


# --- the tables: one source of truth, and the calls -------------------------------------------


@needs_native
def test_every_enumerated_value() -> None:
    sip = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n"
    for iri_type in range(256):
        value = iri_value(iri_type, address("192.0.2.1"), address("192.0.2.2"), sip)
        assert _check_value(value) == (iri_type in IRI_TYPES)
    for table, tag, key in ((IP_TYPES, 0x81, "type"), (IP_ASSIGNMENTS, 0x83, "assignment")):
        for number in range(-130, 260):
            encoded = _t(tag, encode_integer(number))
            value = iri_value(3, encoded + _t(0xA2, _t(0x81, bytes(4))), address("192.0.2.2"), sip)
            known = number in table and len(encode_integer(number)) == 1
            assert _check_value(value, usual=known) == known
            if known:
                assert speedups is not None
                fields, _ = speedups.sip_iri(b"\xa0\x00" + value, 2, 2 + len(value), payloads.parse_sip)
                assert fields["iri"]["source_address"][key] == table[number]


@needs_native
def test_configure_iri_checks_its_tables() -> None:
    assert speedups is not None
    value = iri_value(1, address("192.0.2.1"), address("192.0.2.2"), b"BYE sip:a@b SIP/2.0\r\n\r\n")
    try:
        for bad in (({1: "begin", 256: "x"}, IP_TYPES, IP_ASSIGNMENTS), ({1: 1}, IP_TYPES, IP_ASSIGNMENTS),
                    (IRI_TYPES, {"0": "IPv4"}, IP_ASSIGNMENTS), (IRI_TYPES, IP_TYPES, [])):
            with pytest.raises((ValueError, TypeError)):
                speedups.configure_iri(*bad, sip_mod.parse_sip, sip_mod._parse_sip_py)
            with pytest.raises(RuntimeError):
                speedups.sip_iri(b"\xa0\x00" + value, 2, 2 + len(value), payloads.parse_sip)
        with pytest.raises(TypeError):
            speedups.configure_iri(IRI_TYPES, IP_TYPES, IP_ASSIGNMENTS, None, sip_mod._parse_sip_py)
        # other names in, other names out (and the address cache is emptied)
        speedups.configure_iri({1: "BEGIN"}, {0: "v4"}, {3: ""}, sip_mod.parse_sip, sip_mod._parse_sip_py)
        assert speedups.sip_iri(b"\xa0\x00" + value, 2, 2 + len(value), payloads.parse_sip) is None  # "" unknown
        bare = _t(0x81, b"\x00") + _t(0xA2, _t(0x81, bytes((192, 0, 2, 1))))  # no iP-assignment
        v2 = iri_value(1, bare, bare, b"")
        found = speedups.sip_iri(b"\xa0\x00" + v2, 2, 2 + len(v2), payloads.parse_sip)
        assert found is not None and found[0]["iri"]["type"] == "BEGIN"
        assert found[0]["iri"]["source_address"] == {"type": "v4", "address": "192.0.2.1"}
    finally:
        speedups.configure_iri(IRI_TYPES, IP_TYPES, IP_ASSIGNMENTS, sip_mod.parse_sip, sip_mod._parse_sip_py)
    assert _check_value(value, usual=True)


@needs_native
def test_odd_calls() -> None:
    assert speedups is not None
    value = iri_value(1, address("192.0.2.1"), address("192.0.2.2"), b"BYE sip:a@b SIP/2.0\r\n\r\n")
    rec = b"\xa0\x00" + value
    n = len(rec)
    assert speedups.sip_iri(rec, 2, n, payloads.parse_sip) is not None
    for q, e in ((2, n + 1), (-1, n), (n, n), (3, 2), (2, 2), (0, n), (2, n - 1), (n + 5, n + 9), (2, 1 << 62)):
        assert speedups.sip_iri(rec, q, e, payloads.parse_sip) is None
    for data in (bytearray(rec), memoryview(rec), rec.decode("latin-1")):
        assert speedups.sip_iri(data, 2, n, payloads.parse_sip) is None  # only exact bytes
    with pytest.raises(TypeError):
        speedups.sip_iri(rec, 2, n)
    with pytest.raises(TypeError):
        speedups.sip_iri(rec, "2", n, payloads.parse_sip)
    with pytest.raises(TypeError):  # the parser must answer (sip, parts)
        speedups.sip_iri(rec, 2, n, lambda data: None)
    with pytest.raises(ZeroDivisionError):  # its errors are the caller's, as in the reference
        speedups.sip_iri(rec, 2, n, lambda data: 1 / 0)


@needs_native
def test_the_callers_parse_sip_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference calls its module's parse_sip: so does C (a test's stand-in sees the SIP)."""
    sip = b"BYE sip:a@b SIP/2.0\r\nCall-ID: z\r\n\r\n"
    record = etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI("end", sip, "192.0.2.1", "192.0.2.2"))
    seen: list[bytes] = []
    real = payloads.parse_sip

    def recording(data: bytes) -> Any:
        seen.append(data)
        return real(data)

    monkeypatch.setattr(payloads, "parse_sip", recording)
    delivery = etsi.decode(record, Channel.HI2)
    assert seen == [sip] and delivery.fields["sip"]["call_id"] == "z"
    # SIP the C parser leaves to Python (a folded line): the reference parser, no second walk
    folded = b"BYE sip:a@b SIP/2.0\r\nCall-ID: z\r\n more\r\n\r\n"
    assert sip_mod._fast is not None and sip_mod._fast.parse_sip(folded) is None
    monkeypatch.undo()
    assert _check_record(etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI("end", folded, "192.0.2.1", "192.0.2.2")),
                         usual=True)


# --- (c) generated records ---------------------------------------------------------------------

_ADDRESSES = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6),
                       st.sampled_from(["::", "::1", "::ffff:1.2.3.4", "::1.2.3.4", "64:ff9b::1.2.3.4",
                                        "2001:db8::", "fe80::1:0:0:0", "0:1:0:1:0:1:0:1", "0.0.0.0",
                                        "255.255.255.255"]).map(ipaddress.ip_address))


@st.composite
def ip_address_values(draw: st.DrawFn) -> bytes:
    """An IPAddress value: the encoder's, or elements in any order, count and form."""
    if draw(st.booleans()):
        return address(str(draw(_ADDRESSES)))
    elements = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["type", "binary", "text", "assignment", "prefix", "mask"] * 3
                                    + ["other", "choice"]))
        if kind in ("type", "assignment"):
            known = sorted(IP_TYPES if kind == "type" else IP_ASSIGNMENTS)
            number = draw(st.one_of(st.sampled_from(known), st.sampled_from(known), st.integers(-2, 4),
                                    st.integers(-200, 300)))
            elements.append(_t(0x81 if kind == "type" else 0x83, encode_integer(number)))
        elif kind == "binary":
            raw = draw(st.one_of(_ADDRESSES.map(lambda a: a.packed), _ADDRESSES.map(lambda a: a.packed),
                                 st.binary(max_size=20)))
            elements.append(_t(0xA2, _t(0x81, raw)))
        elif kind == "text":
            text = draw(st.one_of(st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),
                                  st.binary(max_size=20)))
            elements.append(_t(0xA2, _t(0x82, text)))
        elif kind == "prefix":
            elements.append(_t(0x84, draw(st.one_of(st.integers(0, 128).map(encode_integer),
                                                   st.integers(-(1 << 70), 1 << 70).map(encode_integer),
                                                   st.binary(max_size=10)))))
        elif kind == "mask":
            elements.append(_t(0x85, draw(st.one_of(_ADDRESSES.map(lambda a: a.packed), st.binary(max_size=17)))))
        elif kind == "choice":  # another alternative, trailing octets, a long form, nothing
            elements.append(_t(0xA2, draw(st.sampled_from([b"", b"\x81", b"\x81\x04\x01\x02\x03\x04\x00",
                                                          b"\x80\x02ab", b"\x81\x81\x04\x01\x02\x03\x04",
                                                          b"\x9f\x01\x04\x01\x02\x03\x04", b"\x81\x05\x01"]))))
        else:
            elements.append(draw(st.sampled_from([b"\x86\x01\x00", b"\xa7\x00", b"\x9f\x21\x01\x00",
                                                  b"\x81\x81\x01\x00", b"\x00\x00", b"\x81"])))
    data = b"".join(elements)
    return data[:127]


_SIP = st.one_of(usual_messages().map(lambda m: m[0]), st.sampled_from(_sim_messages()[:50]),
                 st.binary(max_size=300))


@st.composite
def usual_values(draw: st.DrawFn) -> bytes:
    """The usual record, with the encoder's addresses."""
    forms = tuple(draw(st.sampled_from(["short", "81", "82"])) for _ in range(6))
    src, dst = (address(str(draw(_ADDRESSES))) for _ in range(2))
    return iri_value(draw(st.sampled_from(sorted(IRI_TYPES))), src, dst, draw(_SIP), forms=forms)


@st.composite
def any_values(draw: st.DrawFn) -> bytes:
    forms = tuple(draw(st.sampled_from(["short", "81", "82"])) for _ in range(6))
    oid = draw(st.one_of(st.just(None), st.just(None), st.binary(max_size=20),
                         st.lists(st.integers(0, (1 << 63) - 1), max_size=8).map(
                             lambda arcs: encode_relative_oid(".".join(map(str, arcs))) if arcs else b"")))
    iri_type = draw(st.one_of(st.sampled_from(sorted(IRI_TYPES)), st.integers(0, 255)))
    return iri_value(iri_type, draw(ip_address_values()), draw(ip_address_values()), draw(_SIP),
                     oid=oid, forms=forms)


@needs_native
@given(usual_values())
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_usual_records_read_the_same(value: bytes) -> None:
    _check_value(value)  # "::ffff:a.b.c.d" and the like go to Python (ipaddress writes them)


@needs_native
@given(st.sampled_from(sorted(IRI_TYPES)), st.ip_addresses(v=4), st.ip_addresses(v=4), _SIP,
       st.sampled_from(["minimal", "openli"]))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_ipv4_records_take_the_fast_path(iri_type: int, src: Any, dst: Any, sip: bytes, lengths: str) -> None:
    record = etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI(IRI_TYPES[iri_type], sip, str(src), str(dst)),
                                lengths=lengths)
    _check_record(record, usual=True)


@needs_native
@given(any_values())
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_records_read_the_same(value: bytes) -> None:
    _check_value(value)
    _check_value(value, before=b"\x30" * 3, after=b"\x00\x82\x01")


# --- (d) mutated records ---------------------------------------------------------------------


@functools.cache
def _seeds() -> list[bytes]:
    seeds = [etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI(kind, sip, src, dst), lengths=lengths)
             for kind, sip, src, dst in (("begin", _sim_messages()[0], "192.0.2.1", "198.51.100.7"),
                                         ("continue", _sim_messages()[-1], "2001:db8::1", "192.0.2.9"),
                                         ("report", b"MESSAGE sip:a@b SIP/2.0\r\nc: text/plain\r\n\r\nhi", "10.0.0.1",
                                          "fe80::1"))
             for lengths in ("minimal", "openli")]
    return seeds + _sim_records()[:40:4] + _openli_records()[:30:3]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, int, int]:
    """A valid record with octets changed, inserted or deleted, mostly in its payload; with
    the payload bounds the decoder would give, or the old ones moved along."""
    record = draw(st.sampled_from(_seeds()))
    q, e = _locate(record)  # type: ignore[misc]
    data = bytearray(record)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        low = q if draw(st.integers(0, 9)) else 0
        pos = draw(st.integers(min(low, len(data) - 1), len(data) - 1))
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete", "length"]))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[pos] = draw(st.sampled_from([0x00, 0x01, 0x04, 0x10, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85,
                                              0x9F, 0xA0, 0xA1, 0xA2, 0xAB, 0xFF]))
        elif op == "cut":
            del data[pos:]
            e = min(e, pos)
        elif op == "insert":
            extra = draw(st.binary(min_size=1, max_size=4))
            data[pos:pos] = extra
            e += len(extra) if pos < e else 0
        elif op == "delete":
            count = draw(st.integers(1, 8))
            gone = max(0, min(pos + count, e) - pos) if pos < e else 0
            del data[pos : pos + count]
            e -= gone
        else:
            data[pos : pos + 1] = bytes([0x82, 0x00, data[pos]])
            e += 2 if pos < e else 0
    rec = bytes(data)
    located = _locate(rec)
    if located is not None and draw(st.booleans()):
        return rec, *located
    return rec, q, max(q, min(e, len(rec)))


@needs_native
@given(mutated())
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_records_read_the_same_or_go_to_python(case: tuple[bytes, int, int]) -> None:
    rec, q, e = case
    _check(rec, q, e)
    if _locate(rec) is not None:
        try:
            etsi.decode(rec, Channel.HI2)
        except MalformedRecord:
            pass


@needs_native
@given(st.binary(max_size=300), st.integers(0, 8))
@settings(max_examples=800, deadline=None)
def test_any_bytes_never_raise(data: bytes, q: int) -> None:
    _check(data, min(q, len(data)), len(data))
    _check(b"\x30" + data, 0, len(data) + 1)


# --- no leaks -------------------------------------------------------------------------------




@needs_native
def test_no_leaks() -> None:
    """300k calls on the usual INVITE (IPv4, IPv6), a MESSAGE (content part), folded SIP (the
    Python parser), a test's parse_sip, and records C leaves to Python at each step (a bad
    object id, an unknown type, a dotted IPv6, an odd length form, a truncated address):
    memory and the shared objects' reference counts stay put."""
    assert speedups is not None
    invite = next(m for m in _sim_messages() if m.startswith(b"INVITE"))
    message = b"MESSAGE sip:a@b SIP/2.0\r\nc: text/plain\r\n\r\nhello"
    folded = invite.replace(b"\r\nCall-ID", b"\r\n folded\r\nCall-ID")
    v4, v6 = address("192.0.2.1"), address("2001:db8::1")
    values = [iri_value(1, v4, v4, invite), iri_value(2, v6, v4, invite), iri_value(3, v4, v6, message),
              iri_value(4, v4, v4, folded), iri_value(1, v4 + b"\x86\x00", v4, b"", forms=("82",) * 6),
              iri_value(1, v4, v4, invite, oid=b"\x80\x01"), iri_value(9, v4, v4, invite),
              iri_value(1, address("::ffff:1.2.3.4"), v4, invite), iri_value(1, v4[:-1], v4, invite),
              iri_value(1, v4, b"\xa2\x01\x81", invite), iri_value(1, v4, v4 + b"\x84\x09" + bytes(9), invite)]
    recs = [(b"\xa0\x00" + v, 2, 2 + len(v)) for v in values]
    other = {0: (({"x": 1}, ()))}

    def stand_in(data: bytes) -> tuple[dict[str, Any], tuple[()]]:
        return other[0]

    answered = [speedups.sip_iri(r, q, e, payloads.parse_sip) is not None for r, q, e in recs]
    assert answered == [True] * 5 + [False] * 6
    shared = [None, (), IRI_TYPES[1], IRI_TYPES[4], IP_TYPES[0], IP_TYPES[1], IP_ASSIGNMENTS[3],
              ContentKind.MESSAGE_BODY, other[0], payloads.parse_sip, stand_in, sip_mod._parse_sip_py]

    def run(times: int) -> None:
        for _ in range(times):
            for r, q, e in recs:
                speedups.sip_iri(r, q, e, payloads.parse_sip)
            speedups.sip_iri(*recs[0], stand_in)

    assert_no_leak(run, shared, warmup=2000, rounds=300_000 // len(recs), traced_warmup=50, traced_rounds=2000)


@needs_native
def test_address_cache_hands_out_copies() -> None:
    assert speedups is not None
    value = iri_value(1, address("192.0.2.9"), address("192.0.2.9"), b"BYE sip:a@b SIP/2.0\r\n\r\n")
    rec = b"\xa0\x00" + value
    first, _ = speedups.sip_iri(rec, 2, len(rec), payloads.parse_sip)
    first["iri"]["source_address"]["address"] = "changed"
    again, _ = speedups.sip_iri(rec, 2, len(rec), payloads.parse_sip)
    assert again["iri"]["source_address"]["address"] == again["iri"]["destination_address"]["address"] == "192.0.2.9"
    assert again["iri"]["source_address"] is not again["iri"]["destination_address"]
    for i in range(3000):  # many addresses through the (direct-mapped) cache
        src = f"10.{i // 256 % 256}.{i % 256}.{i % 7}"
        v = iri_value(1, address(src), address("192.0.2.9"), b"")
        fields, _ = speedups.sip_iri(b"\xa0\x00" + v, 2, 2 + len(v), payloads.parse_sip)
        assert fields["ip"] == {"src": src, "dst": "192.0.2.9"}
