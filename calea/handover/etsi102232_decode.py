"""Full decode of a TS 102 232-1 PS-PDU into a `Delivery` (format "etsi-102232").

SPEC: ETSI TS 102 232-1 (PS-PDU, IRIPayload, CCPayload, TRIPayload), -3 (iPIRI [2],
iPCC [2]), -5 (iPMMIRI [11], iPMMCC [12]).

Rule A6 -- content is separated from call-identifying information:
* `fields` (JSON-serialisable) holds the header, the IRI / CC / TRI facts, the SIP
  signalling (with SDP), the IP 5-tuple and RTP header facts of CC packets;
* `content` holds what only an eavesdropping warrant allows: CC packets (`iPPackets` ->
  IP_PAYLOAD, `mMCCContents` -> AUDIO, or MESSAGE_BODY for MSRP), SIP bodies other than
  SDP (a MESSAGE text -> MESSAGE_BODY, DTMF INFO -> POST_CUT_THROUGH_DIGITS), and --
  conservatively -- every IRI / CC alternative this decoder does not understand.
Rule A8 -- `intercepted_at` is the carrier's stamp: the payload's own timestamp when it
has one, else the PSHeader's.

Only `MalformedRecord` escapes for bad input (and `CodecUsageError` for a non-bytes record).
"""

from __future__ import annotations

from collections.abc import Callable

from calea.handover import native as _native
from calea.handover.ber import (
    DEFAULT_MAX_RECORD_SIZE,
    decode_enumerated,
    decode_integer,
    decode_null,
    decode_oid,
    decode_text,
    from_epoch_us,
    read_tlv,
    split_key,
)
from calea.handover.errors import CodecUsageError, MalformedRecord
from calea.handover.etsi102232_header import scan
from calea.handover.etsi102232_payloads import Fields, Parts, choice, cc_payload, iri_payload, sip_iri
from calea.handover.etsi102232_types import (
    CHECK_TYPES, DATA_TYPES, HASH_ALGORITHMS, PAYLOADS, TIMESTAMP_QUALIFIERS, TRI_PAYLOADS,
    PSHeader, iso_us, name_of,
)
from calea.handover.model import Channel, ContentKind, ContentPart, Delivery, RecordKind

FORMAT = "etsi-102232"


def decode(
    record: bytes,
    channel: Channel | None = None,
    *,
    max_record_size: int = DEFAULT_MAX_RECORD_SIZE,
    scanned: tuple[PSHeader, int, int] | None = None,
) -> Delivery:
    """Decode one whole PS-PDU.  `channel` is the connection it came on (HI2 / HI3); when
    None it is inferred (CC -> HI3, everything else -> HI2).  `scanned`: what `scan` (or
    `fast_scan`) answered for this very record, when the caller has it (the intake looks at
    the header first): the PSHeader is then not read a second time."""
    if not isinstance(record, (bytes, bytearray, memoryview)):
        raise CodecUsageError(f"a record is bytes, not {type(record).__name__}")
    rec = bytes(record)
    try:
        return _decode(rec, channel, max_record_size, scanned)
    except MalformedRecord:
        raise
    except (IndexError, ValueError, OverflowError, KeyError) as exc:
        raise MalformedRecord("malformed", f"{type(exc).__name__}: {exc}") from None


def _decode(rec: bytes, channel: Channel | None, max_record_size: int, scanned: tuple[PSHeader, int, int] | None) -> Delivery:
    header, pstart, pend = scanned or scan(rec, max_record_size)
    fields: Fields = {"header": _header_fields(rec, header)}
    parts: Parts = []
    stamp_us: int | None = None
    tag, q, e = read_tlv(rec, pstart, pend)
    if tag == 0xA0 and (item := sip_iri(rec, q, e, parts)) is not None:
        fields.update(item)  # the usual SIP IRI, by the fast path
    elif tag == 0xA0 or tag == 0xA1:  # iRIPayloadSequence / cCPayloadSequence
        one = iri_payload if tag == 0xA0 else cc_payload
        items: list[Fields] = []
        pos = q
        while pos < e:
            item_tag, iq, ie = read_tlv(rec, pos, e)
            if item_tag != 0x30:
                raise MalformedRecord("bad-payload-item", "payload item is not a SEQUENCE", pos)
            item_fields, item_stamp = one(rec, iq, ie, parts)
            items.append(item_fields)
            if stamp_us is None:
                stamp_us = item_stamp
            pos = ie
        if not items:
            raise MalformedRecord("empty-payload", "payload sequence is empty", q)
        fields.update(items[0])
        if len(items) > 1:
            fields["more_payloads"] = items[1:]
    elif tag == 0xA2:
        fields["tri"] = _tri_payload(rec, q, e)
    else:
        number = split_key(tag)[2]
        fields["payload"] = name_of(PAYLOADS, number)
        if number == 4:  # encryptionContainer: may hide CC; never a field (A6)
            parts.append(ContentPart(ContentKind.IP_PAYLOAD, rec[q:e], name="encryptionContainer"))
    if stamp_us is None:
        stamp_us = header.timestamp_us
    if channel is None:
        channel = Channel.HI3 if header.kind is RecordKind.CC else Channel.HI2
    elif type(channel) is not Channel:
        channel = Channel(channel)
    return Delivery(
        format=FORMAT,
        channel=channel,
        kind=header.kind or RecordKind.OTHER,
        liid=header.liid,
        intercepted_at=None if stamp_us is None else from_epoch_us(stamp_us),
        raw=rec,
        cin=None if header.cin is None else str(header.cin),
        sequence=header.sequence,
        fields=fields,
        content=tuple(parts),
    )


def _header_fields_py(rec: bytes, h: PSHeader) -> Fields:
    """`fields["header"]`: the PSHeader facts of a record `scan` read as `h` (the reference
    of the C version, see `_c_first_header_fields`)."""
    liid, sequence, _, cin, op, ne, acc, dcc, ipid, stamp, stamp_field, qualifier = h
    return {
        "li_ps_domain_id": _domain(rec),
        "liid": liid,
        "authorization_country_code": acc,
        "operator_id": op,
        "network_element_id": ne,
        "cin": cin,
        "delivery_country_code": dcc,
        "sequence": sequence,
        "interception_point_id": ipid,
        "timestamp": None if stamp is None else iso_us(stamp),
        "timestamp_field": None if stamp is None else stamp_field,
        "timestamp_qualifier": None if qualifier is None else name_of(TIMESTAMP_QUALIFIERS, qualifier),
    }


def _domain(rec: bytes) -> str | None:
    """li-psDomainId [0], when it is the first PSHeader element, of a record `scan` accepted
    (so: a PS-PDU SEQUENCE whose first element is pSHeader [1], a valid non-empty TLV)."""
    length = rec[1]
    p = 2 if length < 0x80 else 2 + (length & 0x7F)
    length = rec[p + 1]
    q = p + 2 if length < 0x80 else p + 2 + (length & 0x7F)
    if rec[q] == 0x80 and rec[q + 1] < 0x80:
        return decode_oid(rec[q + 2 : q + 2 + rec[q + 1]])
    _, p, end = read_tlv(rec, 0, len(rec))
    _, hq, he = read_tlv(rec, p, end)  # pSHeader
    tag, q, e = read_tlv(rec, hq, he)
    return decode_oid(rec[q:e]) if tag == 0x80 else None


# The C version (`header_fields` in calea/handover/_speedups.c) answers the usual record
# exactly as `_header_fields_py` does (the same dict, key order and values), and None for
# anything else, which `_header_fields_py` then decides
# (tests/unit/handover/test_header_fields_speedups.py compares the two).  The key names, in
# the order of `_header_fields_py`, and the qualifier names are passed in from here.
_HEADER_KEYS = (
    "li_ps_domain_id", "liid", "authorization_country_code", "operator_id", "network_element_id", "cin",
    "delivery_country_code", "sequence", "interception_point_id", "timestamp", "timestamp_field",
    "timestamp_qualifier",
)


def _c_first_header_fields(
    c_header_fields: Callable[[bytes, PSHeader], Fields | None],
) -> Callable[[bytes, PSHeader], Fields]:
    def _header_fields(rec: bytes, h: PSHeader) -> Fields:
        """`fields["header"]` (see `_header_fields_py`)."""
        found = c_header_fields(rec, h)
        return _header_fields_py(rec, h) if found is None else found

    return _header_fields


_fast = _native.speedups if _native.speedups is not None and hasattr(_native.speedups, "header_fields") else None
_header_fields = _header_fields_py
if _fast is not None:
    _fast.configure_header(_HEADER_KEYS, TIMESTAMP_QUALIFIERS)
    _header_fields = _c_first_header_fields(_fast.header_fields)


def _tri_payload(rec: bytes, q: int, e: int) -> Fields:
    t, vq, ve = choice(rec, q, e, "tRIPayload")
    number = split_key(t)[2]
    out: Fields = {"type": name_of(TRI_PAYLOADS, number)}
    if number in (1, 3, 4, 5, 6, 7, 11, 12, 13) and not t & 0x20:
        decode_null(rec[vq:ve])
    elif number == 0:
        out["integrity_check"] = _integrity_check(rec, vq, ve)
    elif number == 8:  # operatorLeaMessage { messagePriority [0], message [1] }
        pos = vq
        while pos < ve:
            ft, fq, fe = read_tlv(rec, pos, ve)
            if ft == 0x80:
                out["message_priority"] = decode_enumerated(rec[fq:fe])
            elif ft == 0x81:
                out["message"] = decode_text(rec[fq:fe])
            pos = fe
    return out


def _integrity_check(rec: bytes, q: int, e: int) -> Fields:
    out: Fields = {"included_sequence_numbers": []}
    pos = q
    while pos < e:
        t, vq, ve = read_tlv(rec, pos, e)
        if t == 0xA0:  # includedSequenceNumbers (older OpenLI wraps them in a SEQUENCE)
            if vq < ve and rec[vq] == 0x30:
                _, vq, ve = read_tlv(rec, vq, ve)
            inner = vq
            while inner < ve:
                it, iq, ie = read_tlv(rec, inner, ve)
                if it == 0x02:
                    out["included_sequence_numbers"].append(decode_integer(rec[iq:ie], 9))
                inner = ie
        elif t == 0x81:
            out["check_type"] = name_of(CHECK_TYPES, decode_enumerated(rec[vq:ve]))
        elif t == 0x82:
            out["data_type"] = name_of(DATA_TYPES, decode_enumerated(rec[vq:ve]))
        elif t == 0x83:
            out["check_value"] = rec[vq:ve].hex()
        elif t == 0x84:
            out["hash_algorithm"] = name_of(HASH_ALGORITHMS, decode_enumerated(rec[vq:ve]))
        pos = ve
    return out
