"""The optimised SIP IRI decode path equals the plain one, value for value and key order
for key order: `parse_sip` / `parse_sdp` against the straightforward parser they replaced
(kept here as the reference), the straight-line `sip_iri` against the generic
`iri_payload`, and the helpers behind them (`ip_text`, `iso_us`, the header memo of
`scan`, the li-psDomainId shortcut, the bounded caches)."""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calea.handover import ber
from calea.handover import etsi102232 as etsi
from calea.handover import etsi102232_decode as decode_mod
from calea.handover import etsi102232_header as header_mod
from calea.handover import etsi102232_payloads as payloads
from calea.handover import etsi102232_sip as sip_mod
from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232_packets import ip_text
from calea.handover.etsi102232_types import iso, iso_us
from calea.handover.model import ContentKind, ContentPart, RecordKind

from .conftest import OPENLI_VECTORS, split_stream

# --- the reference: the plain parser the optimised one replaced ----------------------------

_LINES = re.compile(r"\r?\n")
_TAG = re.compile(r";\s*tag\s*=\s*([^;\s,]+)", re.IGNORECASE)


def _ref_number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def ref_name_addr(value: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lt = value.find("<")
    if lt >= 0:
        gt = value.find(">", lt)
        display = value[:lt].strip().strip('"').strip()
        if display:
            out["display_name"] = display
        out["uri"] = value[lt + 1 : gt if gt > lt else len(value)].strip()
        params = value[gt + 1 :] if gt > lt else ""
    else:
        uri, _, rest = value.strip().partition(";")
        out["uri"] = uri.strip()
        params = ";" + rest
    tag = _TAG.search(params)
    if tag:
        out["tag"] = tag.group(1)
    return out


def ref_parse_sdp(body: bytes) -> dict[str, Any]:
    sdp: dict[str, Any] = {}
    media: list[dict[str, Any]] = []
    target = sdp
    for line in _LINES.split(body.decode("utf-8", "replace")):
        if len(line) < 2 or line[1] != "=":
            continue
        key, value = line[0], line[2:].strip()
        if key == "o":
            parts = value.split()
            if len(parts) == 6:
                sdp["origin"] = dict(zip(
                    ("username", "session_id", "version", "network_type", "address_type", "address"),
                    parts))
        elif key == "c":
            parts = value.split()
            if len(parts) >= 3:
                target["connection"] = {"address_type": parts[1], "address": parts[2].split("/")[0]}
        elif key == "m":
            parts = value.split()
            if len(parts) >= 3:
                port = parts[1].split("/")[0]
                number = _ref_number(port)
                target = {"media": parts[0], "port": port if number is None else number,
                          "protocol": parts[2], "formats": parts[3:]}
                media.append(target)
        elif key == "a":
            name, _, arg = value.partition(":")
            if name in ("sendrecv", "sendonly", "recvonly", "inactive"):
                target["direction"] = name
            elif name == "rtpmap" and arg:
                fmt, _, encoding = arg.partition(" ")
                target.setdefault("rtpmap", {})[fmt] = encoding.strip()
            elif name in ("ptime", "rtcp", "label", "mid"):
                target[name] = arg
    if media:
        sdp["media"] = media
    return sdp


def ref_parse_sip(data: bytes) -> tuple[dict[str, Any], tuple[ContentPart, ...]]:
    compact, kept_names = sip_mod._COMPACT, sip_mod._KEPT
    cut, sep = data.find(b"\r\n\r\n"), 4
    if cut < 0:
        cut, sep = data.find(b"\n\n"), 2
    head, body = (data, b"") if cut < 0 else (data[:cut], data[cut + sep :])
    lines = _LINES.split(head.decode("utf-8", "backslashreplace"))
    sip: dict[str, Any] = {"length": len(data), "start_line": lines[0][:1024]}
    first = lines[0].split(" ", 2)
    if first[0].startswith("SIP/") and len(first) >= 2:
        status = _ref_number(first[1])
        if status is not None:
            sip["status_code"] = status
        if len(first) == 3:
            sip["reason"] = first[2]
    elif len(first) == 3 and first[2].startswith("SIP/"):
        sip["method"] = first[0]
        sip["request_uri"] = first[1]
    unfolded: list[str] = []
    for line in lines[1:201]:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        elif line:
            unfolded.append(line)
    headers: dict[str, list[str]] = {}
    names: list[str] = []
    for line in unfolded:
        raw_name, colon, value = line.partition(":")
        if not colon:
            continue
        name = raw_name.strip().lower()
        name = compact.get(name, name)
        names.append(kept_names.get(name, raw_name.strip()))
        if name in kept_names:
            headers.setdefault(kept_names[name], []).append(value.strip())
    sip["header_names"] = names
    sip["headers"] = headers
    one = {k: v[0] for k, v in headers.items()}
    if "Call-ID" in one:
        sip["call_id"] = one["Call-ID"]
    for key, header in (("from", "From"), ("to", "To")):
        if header in one:
            sip[key] = ref_name_addr(one[header])
    if "CSeq" in one:
        number, _, method = one["CSeq"].partition(" ")
        cseq = _ref_number(number)
        sip["cseq"] = {"number": number if cseq is None else cseq, "method": method.strip()}
    for key, header in (("contact", "Contact"), ("p_asserted_identity", "P-Asserted-Identity")):
        if header in headers:
            sip[key] = [ref_name_addr(v)["uri"] for value in headers[header] for v in value.split(",") if v.strip()]
    content_type = one.get("Content-Type", "")
    declared = _ref_number(one.get("Content-Length", "").strip())
    if declared is not None and declared < len(body):
        body = body[:declared]
    if not body:
        return sip, ()
    media_type = content_type.split(";")[0].strip().lower()
    sip["content_type"] = content_type or None
    sip["body_length"] = len(body)
    if media_type == "application/sdp":
        sip["sdp"] = ref_parse_sdp(body)
        return sip, ()
    digits = {"application/dtmf-relay", "application/dtmf", "audio/telephone-event"}
    kind = ContentKind.POST_CUT_THROUGH_DIGITS if media_type in digits else ContentKind.MESSAGE_BODY
    part = ContentPart(kind, bytes(body), content_type or "application/octet-stream", "sip-body")
    return sip, (part,)


def _same(got: Any, want: Any) -> None:
    """Equal, and equal as JSON text (so dict key order and list-vs-tuple count too)."""
    assert got == want
    assert json.dumps(got, default=repr) == json.dumps(want, default=repr)


# --- parse_sip / parse_sdp ----------------------------------------------------------------

_FRAGMENTS = [
    "INVITE sip:a@b SIP/2.0", "SIP/2.0 200 OK", "SIP/2.0 ² OK", "SIP/2.0", "BYE sip:x SIP/2.0 extra",
    "CSeq: 1 BYE", "CSeq:  7  INVITE ", "CSeq: x", "Content-Length: 3", "Content-Length: 0", "l: 5",
    "Content-Length: 99999999999999999999999", "Content-Type: application/sdp", "c: application/SDP ; x=1",
    "Content-Type: text/plain", "Content-Type: application/dtmf-relay", "Content-Type:",
    'From: "x" <sip:x@y>;tag=1', "From: x <sip:x@y;tag=3>;TAG = 9", "f: Bob <sip:b@c>;tag=a-b.c",
    "To: sip:z@w;tag=2", "To: <sip:z@w", "t: \"A\" <sip:a@b>; tag=;tag=q", "To: <sip:q@r>;tag=\u00e9\u00e8",
    "Contact: <a>, <b>", "m: <sip:c@d>;expires=3, sip:e@f;q=1", "Contact: *", "Contact:",
    "P-Asserted-Identity: <tel:+1>", "P-Asserted-Identity: ,", "P-Asserted-Identity: <sip:a@b>, <tel:+2>",
    " folded", "\tfolded two", "  : colon in fold", "i: call", "Call-ID: x@y", "call-id :  z ",
    "Via: SIP/2.0/UDP h", "v: SIP/2.0/TCP h", "X-Custom: 1", "Proxy-Authorization: secret", "Subject: hi",
    "", "m=audio 49170/2 RTP/AVP 0 8", "m=video x RTP/AVP", "m=a b", "c=IN IP4 1.2.3.4/127", "c=IN IP4",
    "a=rtpmap:0 PCMU/8000", "a=rtpmap:8", "a=rtpmap:", "a=sendonly", "a=ptime:20", "a=mid", "a=mid:\r",
    "o=- 1 1 IN IP4 1.2.3.4", "o=a b", "v=0", "s=-", " m=x y z", "noheader", ":", "a=\x0b", "Max-Forwards:70",
    "\u2028Via: x", "Via\r: y",
]
_EOLS = ["\r\n", "\n", "\r", "\r\r\n", "\n\r"]


@st.composite
def sip_messages(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=12)), max_size=14))
    if draw(st.booleans()):  # one line end everywhere (the usual case) ...
        eol = draw(st.sampled_from(_EOLS[:2]))
        text = "".join(line + eol for line in lines)
    else:  # ... or any mix
        text = "".join(line + draw(st.sampled_from(_EOLS)) for line in lines)
    return text.encode("utf-8", "surrogatepass") + draw(st.binary(max_size=12))


@given(sip_messages())
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_parse_sip_equals_the_reference(data: bytes) -> None:
    got, got_parts = sip_mod.parse_sip(data)
    want, want_parts = ref_parse_sip(data)
    _same(got, want)
    assert got_parts == want_parts
    _same(sip_mod.parse_sdp(data), ref_parse_sdp(data))


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_parse_sip_equals_the_reference_on_any_bytes(data: bytes) -> None:
    got, got_parts = sip_mod.parse_sip(data)
    want, want_parts = ref_parse_sip(data)
    _same(got, want)
    assert got_parts == want_parts


def test_parse_sip_folded_headers_and_header_limit() -> None:
    folded = (b"INVITE sip:a@b SIP/2.0\r\n Via: first line is not a fold\r\nSubject: a\r\n b\r\n"
              b"From: <sip:x@y>\r\n\t;tag=77\r\nContact: <sip:c@d>,\r\n <sip:e@f>\r\n\r\n")
    for data in (folded, folded.replace(b"\r\n", b"\n")):
        got, _ = sip_mod.parse_sip(data)
        _same(got, ref_parse_sip(data)[0])
        assert got["from"] == {"uri": "sip:x@y", "tag": "77"} and got["contact"] == ["sip:c@d", "sip:e@f"]
    many = b"OPTIONS sip:a@b SIP/2.0\r\n" + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(300)) + b"Call-ID: late\r\n"
    got, _ = sip_mod.parse_sip(many)
    _same(got, ref_parse_sip(many)[0])
    assert len(got["header_names"]) == 200 and "call_id" not in got


def test_name_addr_equals_the_reference() -> None:
    for value in ('"Alice" <sip:a@b>;tag=x', "<sip:a@b>", "sip:a@b;tag=1;x=2", "<sip:a@b", ">a<sip:b>;TAG=z",
                  "Bob <sip:b@c> ; tag = 9 ; x", "<sip:a@b>;tag=", "<sip:a@b>;tag=;tag=r", ""):
        _same(sip_mod.name_addr(value), ref_name_addr(value))


def test_header_name_cache_is_bounded() -> None:
    for i in range(3 * sip_mod._NAME_CACHE_SIZE):
        sip_mod.parse_sip(b"INVITE sip:a@b SIP/2.0\r\nX-Flood-%d: 1\r\n" % i)
    sip_mod.parse_sip(b"INVITE sip:a@b SIP/2.0\r\n" + b"Y" * 5000 + b": 1\r\n")
    assert len(sip_mod._names) <= sip_mod._NAME_CACHE_SIZE
    assert all(len(name) <= sip_mod._NAME_CACHE_KEY_MAX for name in sip_mod._names)


# --- sip_iri (straight-line) against iri_payload (generic) --------------------------------

_T = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
_HEADER = etsi.PSHeader(liid="REF-1", sequence=5, cin=7, operator_id="OP", network_element_id="NE",
                        timestamp_us=ber.to_epoch_us(_T))
_INVITE = (b"INVITE sip:+12125550100@example.net SIP/2.0\r\nFrom: <sip:+13105550123@example.net>;tag=1928\r\n"
           b"To: <sip:+12125550100@example.net>\r\nCall-ID: a84b@example.net\r\nCSeq: 1 INVITE\r\n"
           b"Content-Type: application/sdp\r\nContent-Length: 49\r\n\r\n"
           b"v=0\r\nc=IN IP4 203.0.113.50\r\nm=audio 50000 RTP/AVP 0\r\n")
_MESSAGE = (b"MESSAGE sip:bob@example.net SIP/2.0\r\nFrom: <sip:alice@example.net>;tag=1\r\n"
            b"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")


def _both(record: bytes) -> tuple[Any, Any]:
    """(sip_iri's answer, iri_payload's answer or the MalformedRecord reason) for a record."""
    _, pstart, pend = header_mod.scan(record)
    tag, q, e = ber.read_tlv(record, pstart, pend)
    assert tag == 0xA0
    fast_parts: list[ContentPart] = []
    fast = payloads.sip_iri(record, q, e, fast_parts)
    try:
        item_tag, iq, ie = ber.read_tlv(record, q, e)
        if item_tag != 0x30 or ie != e:
            generic: Any = "not one item"
        else:
            parts: list[ContentPart] = []
            fields, stamp = payloads.iri_payload(record, iq, ie, parts)
            generic = (fields, stamp, parts)
    except MalformedRecord as exc:
        generic = exc.reason
    return (None if fast is None else (fast, None, fast_parts)), generic


@pytest.mark.parametrize("sip", [_INVITE, _MESSAGE, _INVITE + b"x" * 90, _INVITE * 200, b"", b"X"])
@pytest.mark.parametrize("src,dst", [("198.51.100.20", "203.0.113.10"), ("2001:db8::1", "::ffff:192.0.2.1")])
@pytest.mark.parametrize("lengths", ["minimal", "openli"])
def test_sip_iri_equals_iri_payload(sip: bytes, src: str, dst: str, lengths: str) -> None:
    record = etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI("begin", sip, src, dst), lengths=lengths)
    fast, generic = _both(record)
    assert fast is not None  # the fast path took it
    _same(fast[0], generic[0])
    assert fast[1:] == generic[1:]
    assert etsi.decode(record).fields == {"header": etsi.decode(record).fields["header"], **generic[0]}


def test_other_iri_layouts_take_the_generic_path() -> None:
    for payload in (etsi.IPMMIRI("end", _INVITE, None, "192.0.2.1"),  # no source address
                    etsi.IPMMIRI("end", None, "192.0.2.1", "192.0.2.2"),  # no SIP
                    etsi.IPMMIRI("report", original_ip_packet=bytes(40)),
                    etsi.IPIRI("end", {"accessEventType": "accessEnd"})):
        record = etsi.encode_ps_pdu(_HEADER, payload)
        fast, _ = _both(record)
        assert fast is None
        etsi.decode(record)


def _openli_iri() -> list[bytes]:
    path = OPENLI_VECTORS / "hi2-NYPD.ber"
    seeds = [etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI("continue", s, "192.0.2.1", "2001:db8::2"), lengths=lengths)
             for s in (_INVITE, _MESSAGE) for lengths in ("minimal", "openli")]
    if path.exists():
        seeds += [r for _, r in split_stream(path.read_bytes()) if etsi.read_header(r).kind is RecordKind.IRI]
    return seeds


_SEEDS = _openli_iri()


@st.composite
def mutated_iri(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        pos = draw(st.integers(min_value=0, max_value=len(data) - 1))
        op = draw(st.sampled_from(["set", "flip", "insert", "delete"]))
        if op == "set":
            data[pos] = draw(st.sampled_from([0x00, 0x01, 0x04, 0x7F, 0x80, 0x81, 0x82, 0x83, 0xA0, 0xA1, 0xFF]))
        elif op == "flip":
            data[pos] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=3))
        else:
            del data[pos : pos + draw(st.integers(min_value=1, max_value=3))]
    return bytes(data)


@given(mutated_iri())
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_sip_iri_never_disagrees_with_the_generic_path(record: bytes) -> None:
    try:
        _, pstart, pend = header_mod.scan(record)
        tag, _, _ = ber.read_tlv(record, pstart, pend)
    except MalformedRecord:
        return
    if tag != 0xA0:
        return
    fast, generic = _both(record)
    if fast is not None:  # whenever the fast path answers, the generic one agrees
        assert not isinstance(generic, str), generic
        _same(fast[0], generic[0])
        assert fast[1:] == generic[1:]


# --- helpers -------------------------------------------------------------------------------


@given(st.binary(min_size=16, max_size=16))
@settings(max_examples=500, deadline=None)
def test_ip_text_ipv6_equals_ipaddress(raw: bytes) -> None:
    assert ip_text(raw) == str(ipaddress.IPv6Address(raw))


def test_ip_text_special_addresses() -> None:
    for text in ("::", "::1", "::2:3", "::ffff:1.2.3.4", "::1.2.3.4", "64:ff9b::1.2.3.4", "2001:db8::",
                 "2001:db8:0:1:0:0:0:1", "fe80::1:0:0:0", "1:0:0:1:0:0:0:1", "0:1:0:1:0:1:0:1"):
        raw = ipaddress.IPv6Address(text).packed
        assert ip_text(raw) == str(ipaddress.IPv6Address(raw))
    for raw in (b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\xc0\x00\x02\x01"):
        assert ip_text(raw) == str(ipaddress.IPv4Address(raw))
    assert ip_text(b"\x01\x02\x03") is None


@given(st.integers(min_value=ber.to_epoch_us(datetime(1, 1, 1, tzinfo=timezone.utc)),
                   max_value=ber.to_epoch_us(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc))))
@settings(max_examples=500, deadline=None)
def test_iso_us_equals_iso(micros: int) -> None:
    assert iso_us(micros) == iso(ber.from_epoch_us(micros))


def test_scan_answers_from_the_last_read_header_only_for_that_record() -> None:
    one = etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI("begin", _INVITE, "192.0.2.1", "192.0.2.2"))
    two = etsi.encode_ps_pdu(_HEADER._replace(sequence=6), etsi.KeepAlive())
    etsi.read_header(one)
    assert header_mod.scan(one) == header_mod._scan(one, 1 << 20)
    assert header_mod.scan(two) == header_mod._scan(two, 1 << 20)  # not the remembered one
    assert header_mod.scan(bytes(bytearray(one))) == header_mod._scan(one, 1 << 20)  # equal bytes, other object
    with pytest.raises(MalformedRecord):
        header_mod.scan(one, max_record_size=len(one) - 1)  # the limit still applies
    etsi.read_header(two)
    assert etsi.decode(two).fields["tri"] == {"type": "keep-alive"}


def test_domain_shortcut_equals_the_generic_read() -> None:
    header = _HEADER._replace(interception_point_id="ip", authorization_country_code="US")
    for payload in (etsi.KeepAlive(), etsi.IPMMIRI("begin", _INVITE * 3, "192.0.2.1", "192.0.2.2")):
        for lengths in ("minimal", "openli"):
            record = etsi.encode_ps_pdu(header, payload, lengths=lengths)
            _, p, end = ber.read_tlv(record, 0, len(record))
            _, hq, he = ber.read_tlv(record, p, end)
            tag, q, e = ber.read_tlv(record, hq, he)
            assert tag == 0x80 and decode_mod._domain(record) == ber.decode_oid(record[q:e]) == etsi.LI_PS_DOMAIN_ID
    # a long-form li-psDomainId length takes the generic read
    record = etsi.encode_ps_pdu(header, etsi.KeepAlive())
    assert record[0] == 0x30 and record[1] < 0x7F and record[2] == 0xA1 and record[3] < 0x7F and record[4] == 0x80
    record = bytes([0x30, record[1] + 1, 0xA1, record[3] + 1, 0x80, 0x81]) + record[5:]
    assert decode_mod._domain(record) == etsi.LI_PS_DOMAIN_ID
    assert etsi.decode(record).fields["header"]["li_ps_domain_id"] == etsi.LI_PS_DOMAIN_ID


def test_address_cache_is_bounded_and_hands_out_copies() -> None:
    for i in range(2 * payloads._ADDRESS_CACHE_SIZE + 5):
        record = etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI("begin", _INVITE, f"10.{i // 256 % 256}.{i % 256}.1",
                                                          "192.0.2.2"))
        etsi.decode(record)
    assert len(payloads._addresses) <= payloads._ADDRESS_CACHE_SIZE
    record = etsi.encode_ps_pdu(_HEADER, etsi.IPMMIRI("begin", _INVITE, "192.0.2.9", "192.0.2.9"))
    first = etsi.decode(record).fields
    first["iri"]["source_address"]["address"] = "changed"
    again = etsi.decode(record).fields["iri"]
    assert again["source_address"]["address"] == again["destination_address"]["address"] == "192.0.2.9"
    assert again["source_address"] is not again["destination_address"]
