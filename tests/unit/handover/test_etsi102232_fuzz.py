"""Fuzzing the TS 102 232 codec: random bytes and mutated real records give a result or
`MalformedRecord`, nothing else, in bounded time; the fast header path never disagrees
with the exact generic path."""

from __future__ import annotations

import time
from typing import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calea.handover import ber
from calea.handover import etsi102232 as etsi
from calea.handover.errors import CodecUsageError, MalformedRecord
from calea.handover.etsi102232_fast import fast_scan
from calea.handover.etsi102232_header import _scan
from calea.handover.model import RecordKind

from .conftest import OPENLI_VECTORS, split_stream

_HEADER = etsi.PSHeader(liid="FUZZ", sequence=3, cin=9, operator_id="OP", network_element_id="NE",
                        authorization_country_code="US", delivery_country_code="US",
                        interception_point_id="p", timestamp_us=1_748_872_818_000_000, timestamp_qualifier=1)
_ICMP = bytes.fromhex("4500001c0000000040010000c0000201c0000202") + bytes(8)
_SIP = b"INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nm=audio 4 RTP/AVP 0\r\n"


def _seeds() -> list[bytes]:
    seeds = [
        etsi.encode_ps_pdu(_HEADER, etsi.KeepAlive()),
        etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI("begin", _SIP, "192.0.2.1", "192.0.2.2")),
        etsi.encode_ps_pdu(_HEADER, etsi.IPMMCC("fromTarget", bytes(40))),
        etsi.encode_ps_pdu(_HEADER, etsi.IPCC("toTarget", _ICMP)),
        etsi.encode_ps_pdu(_HEADER, etsi.IPIRI("end", {"accessEventType": "accessEnd", "targetUsername": "u",
                                                       "startTime": "2025-06-02T14:00:16.049000Z"})),
        etsi.encode_ps_pdu(_HEADER, etsi.IntegrityCheck((1, 2), b"\x00" * 8)),
    ]
    for name in ("hi2-NYPD.ber", "hi3-NYPD.ber"):
        path = OPENLI_VECTORS / name
        if path.exists():
            records = [r for _, r in split_stream(path.read_bytes())]
            seeds.extend(records[:: 7 if name.startswith("hi3") else 1])
    return seeds


SEEDS = _seeds()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete", "length"]))
        pos = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if not data:
            break
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif op == "set":
            data[pos] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0x85, 0x9F, 0xFF]))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(min_value=1, max_value=8))]
        else:  # rewrite a length octet into long form
            data[pos : pos + 1] = bytes([0x82, 0x00, data[pos]])
    return bytes(data)


def _only_malformed(call: Callable[[bytes], object], data: bytes) -> object | None:
    started = time.perf_counter()
    try:
        return call(data)
    except MalformedRecord as exc:
        assert exc.reason and isinstance(exc.reason, str)
        return None
    finally:
        assert time.perf_counter() - started < 1.0


def _check(data: bytes) -> None:
    header = _only_malformed(etsi.read_header, data)
    delivery = _only_malformed(etsi.decode, data)
    if delivery is not None:
        assert header is not None and header.kind is delivery.kind  # type: ignore[attr-defined]
    if header is None:
        assert delivery is None
    fast = None
    try:
        fast = fast_scan(data) if len(data) > 2 else None
    except IndexError:
        pass
    if fast is not None:
        assert fast == _scan(data, 1 << 20)
    try:
        response = _only_malformed(etsi.keepalive_response, data)
    except CodecUsageError:
        assert header is not None and header.kind is not RecordKind.KEEPALIVE  # type: ignore[attr-defined]
    else:
        if response is not None:
            assert etsi.read_header(response).kind is RecordKind.KEEPALIVE_RESPONSE  # type: ignore[arg-type]


@given(st.binary(max_size=600))
@settings(max_examples=300, deadline=None)
def test_random_bytes(data: bytes) -> None:
    _check(data)


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_random_bytes_behind_a_pdu_header(data: bytes) -> None:
    _check(ber.tlv(0x30, data))


@given(mutated())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_records(data: bytes) -> None:
    _check(data)


_SIP_LINES = st.sampled_from([
    "INVITE sip:a@b SIP/2.0", "SIP/2.0 200 OK", "SIP/2.0 ² OK", "CSeq: ² INVITE", "CSeq: 1 BYE",
    "Content-Length: 3", "Content-Length: 99999999999999999999999", "Content-Type: application/sdp",
    "Content-Type: text/plain", "From: \"x\" <sip:x@y;tag=1", "To: sip:z@w;tag=2", "Contact: <a>, <b>",
    " folded", "i: call", "m=audio ² RTP/AVP 0", "c=IN IP4", "a=rtpmap:0", "o=- 1 1 IN IP4 1.2.3.4",
    "", "\x00\xff", "l: 1" + "9" * 5000,
])


@given(st.lists(_SIP_LINES, max_size=12), st.sampled_from(["\r\n", "\n"]), st.binary(max_size=20))
@settings(max_examples=300, deadline=None)
def test_sip_parser_never_raises(lines: list[str], eol: str, tail: bytes) -> None:
    from calea.handover.etsi102232_sip import parse_sdp, parse_sip

    data = eol.join(lines).encode("utf-8", "surrogateescape") + tail
    sip, parts = parse_sip(data)
    assert isinstance(sip["start_line"], str) and sip["length"] == len(data)
    assert all(part.data for part in parts)
    parse_sdp(data)


def test_every_truncation_and_length_octet_of_the_seeds() -> None:
    """Deterministic sweep: each prefix of each synthetic seed, and each byte set to a
    length-ish value (0x80 indefinite, 0x81/0x82/0x84 long forms, 0xff reserved)."""
    for seed in SEEDS[:6]:
        for cut in range(len(seed)):
            _check(seed[:cut])
        for pos in range(len(seed)):
            for value in (0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF):
                data = bytearray(seed)
                data[pos] = value
                _check(bytes(data))
