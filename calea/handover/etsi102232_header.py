"""ETSI TS 102 232-1 PS-PDU header: the fast path every received record takes.

SPEC: ETSI TS 102 232-1 (LI-PS-PDU), clause 5 and annex A.  Tags as OpenLI writes them
(see ../shared/vectors/openli-1.1.20-voip-ip/README.md):

    PS-PDU ::= SEQUENCE { pSHeader [1] PSHeader, payload [2] Payload }
    PSHeader ::= SEQUENCE {
        li-psDomainId [0] OID, lawfulInterceptionIdentifier [1] OCTET STRING,
        authorizationCountryCode [2] PrintableString OPTIONAL,
        communicationIdentifier [3] SEQUENCE {
            networkIdentifier [0] SEQUENCE { operatorIdentifier [0], networkElementIdentifier [1] },
            communicationIdentityNumber [1] INTEGER OPTIONAL, deliveryCountryCode [2] OPTIONAL },
        sequenceNumber [4] INTEGER, timeStamp [5] GeneralizedTime OPTIONAL,
        interceptionPointID [6] OPTIONAL, microSecondTimeStamp [7] { seconds [0], microSeconds [1] },
        timeStampQualifier [8] ENUMERATED OPTIONAL }
    Payload ::= CHOICE { iRIPayloadSequence [0], cCPayloadSequence [1], tRIPayload [2], ... }
    TRIPayload ::= CHOICE { integrityCheck [0], ..., keep-alive [3] NULL, keep-alive-response [4] NULL, ... }

`read_header` decodes the header and classifies the payload without decoding it.  Every
HI3 record goes through it (target: >= 300k records/s on one core), so it first tries the
optimistic straight-line decoder of `etsi102232_fast` and falls back to the exact generic
decoder here (`_scan`: any element order, long forms, GeneralizedTime stamps, precise
errors).  The header timestamp is the carrier's interception stamp (rule A8).
"""

from __future__ import annotations

from calea.handover.ber import (
    DEFAULT_MAX_RECORD_SIZE,
    decode_generalized_time,
    read_tlv,
    to_epoch_us,
)
from calea.handover.errors import CodecUsageError, MalformedRecord
from calea.handover.etsi102232_fast import fast_scan
from calea.handover.etsi102232_types import (
    GENERALIZED_TIMESTAMP,
    MICROSECOND_TIMESTAMP,
    PSHeader,
)
from calea.handover.model import RecordKind

_MAX_SECONDS = 253402300800  # 10000-01-01T00:00:00Z


def _int(rec: bytes, start: int, end: int) -> int:
    size = end - start
    if size == 1:
        value = rec[start]
        return value if value < 0x80 else value - 256
    if size == 0:
        raise MalformedRecord("ber-empty-integer", "INTEGER with no content octets", start)
    if size > 9:
        raise MalformedRecord("ber-integer-too-long", f"INTEGER of {size} octets", start)
    return int.from_bytes(rec[start:end], "big", signed=True)


def _lenient(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _overflow(pos: int) -> MalformedRecord:
    return MalformedRecord("ber-length-overflow", "value runs past its container", pos)


def scan(
    record: bytes, max_record_size: int = DEFAULT_MAX_RECORD_SIZE
) -> tuple[PSHeader, int, int]:
    """Decode the PSHeader; return it with the value range of the payload [2] element.

    Raises `MalformedRecord` (only) for anything malformed."""
    if type(record) is bytes and 2 < len(record) <= max_record_size:
        try:
            found = fast_scan(record)  # the C version never raises; the Python one may on truncation
        except IndexError:
            found = None
        if found is not None:
            return found
    try:
        return _scan(record, max_record_size)
    except IndexError:
        raise MalformedRecord("ber-truncated", "record ends inside a TLV header") from None


def read_header(record: bytes, max_record_size: int = DEFAULT_MAX_RECORD_SIZE) -> PSHeader:
    """Decode the PSHeader of one PS-PDU and classify its payload, without decoding it.

    Raises `MalformedRecord` (only) for anything malformed."""
    return scan(record, max_record_size)[0]


def _scan(rec: bytes, max_record_size: int) -> tuple[PSHeader, int, int]:  # noqa: C901
    if type(rec) is not bytes:
        if not isinstance(rec, (bytearray, memoryview)):
            raise CodecUsageError(f"a record is bytes, not {type(rec).__name__}")
        rec = bytes(rec)
    n = len(rec)
    if n > max_record_size:
        raise MalformedRecord("record-too-large", f"record of {n} bytes", 0)
    if n < 2 or rec[0] != 0x30:
        raise MalformedRecord("not-a-ps-pdu", "a PS-PDU starts with a SEQUENCE (0x30)", 0)
    _, p, end = read_tlv(rec, 0, n)
    if end != n:
        raise MalformedRecord("trailing-bytes", f"{n - end} bytes after the PS-PDU", end)
    if p >= end:
        raise MalformedRecord("missing-ps-header", "empty PS-PDU", p)
    # pSHeader [1]
    t = rec[p]
    length = rec[p + 1]
    if t != 0xA1:
        raise MalformedRecord("missing-ps-header", "PS-PDU does not start with pSHeader [1]", p)
    if length & 0x80:
        _, p, hend = read_tlv(rec, p, end)
    else:
        p += 2
        hend = p + length
        if hend > end:
            raise _overflow(p - 2)
    body_start = hend
    liid: str | None = None
    seq: int | None = None
    cin: int | None = None
    op = ne = acc = dcc = ipid = None
    ts_us: int | None = None
    ts_field = MICROSECOND_TIMESTAMP
    qualifier: int | None = None
    while p < hend:
        t = rec[p]
        length = rec[p + 1]
        if length & 0x80 or t & 0x1F == 0x1F:
            t, q, e = read_tlv(rec, p, hend)
        else:
            q = p + 2
            e = q + length
            if e > hend:
                raise _overflow(p)
        if t == 0x81:
            try:
                liid = rec[q:e].decode()
            except UnicodeDecodeError:
                raise MalformedRecord("bad-liid", "LIID is not UTF-8 text", q) from None
        elif t == 0x84:
            seq = rec[q] if e - q == 1 and rec[q] < 0x80 else _int(rec, q, e)
        elif t == 0xA3:  # communicationIdentifier
            c = q
            while c < e:
                t2 = rec[c]
                length = rec[c + 1]
                if length & 0x80 or t2 & 0x1F == 0x1F:
                    t2, cq, ce = read_tlv(rec, c, e)
                else:
                    cq = c + 2
                    ce = cq + length
                    if ce > e:
                        raise _overflow(c)
                if t2 == 0xA0:  # networkIdentifier
                    d = cq
                    while d < ce:
                        t3 = rec[d]
                        length = rec[d + 1]
                        if length & 0x80 or t3 & 0x1F == 0x1F:
                            t3, dq, de = read_tlv(rec, d, ce)
                        else:
                            dq = d + 2
                            de = dq + length
                            if de > ce:
                                raise _overflow(d)
                        if t3 == 0x80:
                            try:
                                op = rec[dq:de].decode()
                            except UnicodeDecodeError:
                                op = _lenient(rec[dq:de])
                        elif t3 == 0x81:
                            try:
                                ne = rec[dq:de].decode()
                            except UnicodeDecodeError:
                                ne = _lenient(rec[dq:de])
                        d = de
                elif t2 == 0x81:
                    cin = _int(rec, cq, ce)
                elif t2 == 0x82:
                    try:
                        dcc = rec[cq:ce].decode()
                    except UnicodeDecodeError:
                        dcc = _lenient(rec[cq:ce])
                c = ce
        elif t == 0xA7:  # microSecondTimeStamp
            secs = micros = None
            d = q
            while d < e:
                t3 = rec[d]
                length = rec[d + 1]
                if length & 0x80 or t3 & 0x1F == 0x1F:
                    t3, dq, de = read_tlv(rec, d, e)
                else:
                    dq = d + 2
                    de = dq + length
                    if de > e:
                        raise _overflow(d)
                if t3 == 0x80:
                    secs = _int(rec, dq, de)
                elif t3 == 0x81:
                    micros = _int(rec, dq, de)
                d = de
            if secs is None or micros is None:
                raise MalformedRecord("bad-timestamp", "microSecondTimeStamp lacks a part", q)
            if not 0 <= secs < _MAX_SECONDS or not 0 <= micros < 1_000_000:
                raise MalformedRecord("bad-timestamp", "microSecondTimeStamp out of range", q)
            ts_us = secs * 1_000_000 + micros
            ts_field = MICROSECOND_TIMESTAMP
        elif t == 0x82:
            try:
                acc = rec[q:e].decode()
            except UnicodeDecodeError:
                acc = _lenient(rec[q:e])
        elif t == 0x86:
            try:
                ipid = rec[q:e].decode()
            except UnicodeDecodeError:
                ipid = _lenient(rec[q:e])
        elif t == 0x88:
            qualifier = _int(rec, q, e)
        elif t == 0x85 and ts_us is None:
            ts_us = to_epoch_us(decode_generalized_time(rec[q:e]))
            ts_field = GENERALIZED_TIMESTAMP
        p = e
    if liid is None:
        raise MalformedRecord("missing-liid", "PSHeader has no lawfulInterceptionIdentifier", 0)
    if seq is None:
        raise MalformedRecord("missing-sequence-number", "PSHeader has no sequenceNumber", 0)
    # payload [2]: find it after the header, classify its first choice.
    p = body_start
    while True:
        if p >= end:
            raise MalformedRecord("missing-payload", "PS-PDU has no payload [2]", p)
        t, q, e = read_tlv(rec, p, end)
        if t == 0xA2:
            break
        p = e
    pstart, pend = q, e
    if q >= e:
        raise MalformedRecord("empty-payload", "payload [2] is empty", q)
    t = rec[q]
    length = rec[q + 1]
    if length & 0x80 or t & 0x1F == 0x1F:
        t, cq, ce = read_tlv(rec, q, e)
    else:
        cq = q + 2
        ce = cq + length
        if ce > e:
            raise _overflow(q)
    if t == 0xA1:
        kind = RecordKind.CC
    elif t == 0xA0:
        kind = RecordKind.IRI
    elif t == 0xA2:  # tRIPayload
        if cq >= ce:
            raise MalformedRecord("empty-payload", "tRIPayload [2] is empty", cq)
        t, _, _ = read_tlv(rec, cq, ce)
        if t == 0x83:
            kind = RecordKind.KEEPALIVE
        elif t == 0x84:
            kind = RecordKind.KEEPALIVE_RESPONSE
        elif t == 0xA0:
            kind = RecordKind.INTEGRITY_CHECK
        else:
            kind = RecordKind.OTHER
    else:
        kind = RecordKind.OTHER
    header = PSHeader(
        liid, seq, kind, cin, op, ne, acc, dcc, ipid, ts_us, ts_field, qualifier
    )
    return header, pstart, pend


def keepalive_response(record: bytes) -> bytes:
    """The keep-alive-response OpenLI accepts for a keep-alive record: the same PS-PDU,
    byte for byte, with tRIPayload `keep-alive [3]` replaced by `keep-alive-response [4]`
    (so the sequence number and every other header field match).

    Raises `MalformedRecord` for a malformed record, `CodecUsageError` for a valid record
    that is not a keep-alive."""
    header, pstart, pend = scan(record)
    if header.kind is not RecordKind.KEEPALIVE:
        raise CodecUsageError(f"not a keep-alive but {header.kind}: no response")
    rec = bytes(record)
    _, tq, _ = read_tlv(rec, pstart, pend)  # tRIPayload
    if rec[tq] != 0x83:  # [3] written in the (non-canonical) high-tag-number form
        raise MalformedRecord("non-canonical-keepalive", "keep-alive tag not one octet", tq)
    return rec[:tq] + b"\x84" + rec[tq + 1 :]
