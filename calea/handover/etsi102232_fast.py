"""The optimistic fast path of `read_header` (TS 102 232-1 PSHeader), for the usual layout.

Every HI3 record goes through `read_header`, so it must run at several hundred thousand
records per second per core in CPython, which means a few hundred bytecodes per record.
`fast_scan` gets there by

* reading straight-line code for the layout OpenLI (and most mediators) write: short
  lengths inside the PSHeader, elements in tag order, microSecondTimeStamp;
* caching the decoded *static prefix* of the PSHeader (li-psDomainId, LIID, country,
  communicationIdentifier: identical for all records of one LIID and CIN) by its bytes,
  in a small bounded dict;
* answering None (never guessing) for anything else; the caller then takes the exact
  generic path of `etsi102232_header`, which also produces the precise error.

It is exact whenever it answers: every length octet it reads is checked to be short form
(`bad` collects them), each container is checked to be tiled exactly by its children,
and a cached prefix was validated by a full parse of exactly those bytes.
"""

from __future__ import annotations

import struct

from calea.handover import native as _native
from calea.handover.ber import read_tlv
from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232_types import MICROSECOND_TIMESTAMP, PSHeader
from calea.handover.model import RecordKind

_MAX_SECONDS = 253402300800  # 10000-01-01T00:00:00Z
_CC, _IRI, _OTHER = RecordKind.CC, RecordKind.IRI, RecordKind.OTHER
_TRI = {0x83: RecordKind.KEEPALIVE, 0x84: RecordKind.KEEPALIVE_RESPONSE, 0xA0: RecordKind.INTEGRITY_CHECK}
_U32 = struct.Struct(">I").unpack_from
_new = tuple.__new__

PREFIX_CACHE_SIZE = 1024
_Prefix = tuple[str, "int | None", str, "str | None", "str | None", "str | None"]
_prefixes: dict[bytes, _Prefix | tuple[()]] = {}  # () marks a prefix for the generic path


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def parse_prefix(raw: bytes) -> _Prefix | None:
    """Exact decode of the PSHeader elements before sequenceNumber [4]: li-psDomainId [0]
    (skipped), LIID [1], authorizationCountryCode [2], communicationIdentifier [3].
    None when the bytes are anything else (the generic path then decides)."""
    liid = acc = dcc = ne = op = None
    cin: int | None = None
    try:
        p, end, last = 0, len(raw), -1
        while p < end:
            tag, q, e = read_tlv(raw, p, end)
            if tag not in (0x80, 0x81, 0x82, 0xA3) or tag & 0x1F <= last:
                return None
            last = tag & 0x1F
            if tag == 0x81:
                liid = raw[q:e].decode()
            elif tag == 0x82:
                acc = _text(raw[q:e])
            elif tag == 0xA3:
                c, seen = q, -1
                while c < e:
                    t2, cq, ce = read_tlv(raw, c, e)
                    if t2 not in (0xA0, 0x81, 0x82) or t2 & 0x1F <= seen:
                        return None
                    seen = t2 & 0x1F
                    if t2 == 0xA0:
                        d = cq
                        while d < ce:
                            t3, dq, de = read_tlv(raw, d, ce)
                            if t3 == 0x80 and op is None:
                                op = _text(raw[dq:de])
                            elif t3 == 0x81 and op is not None and ne is None:
                                ne = _text(raw[dq:de])
                            else:
                                return None
                            d = de
                    elif t2 == 0x81:
                        if not 0 < ce - cq <= 9:
                            return None
                        cin = int.from_bytes(raw[cq:ce], "big", signed=True)
                    else:
                        dcc = _text(raw[cq:ce])
                    c = ce
            p = e
    except (MalformedRecord, UnicodeDecodeError):
        return None
    if liid is None or op is None:
        return None
    return liid, cin, op, ne, acc, dcc


def fast_scan(rec: bytes) -> tuple[PSHeader, int, int] | None:  # noqa: C901
    """(header, payload value start, payload value end), or None for the generic path.

    May raise IndexError on truncated input (the caller maps it to the generic path)."""
    n = len(rec)
    length = rec[1]
    if length < 0x80:
        p = 2
    elif length == 0x81:
        length, p = rec[2], 3
    elif length == 0x82:
        length, p = (rec[2] << 8) | rec[3], 4
    else:
        return None
    if p + length != n or rec[0] != 0x30 or rec[p] != 0xA1:
        return None
    bad = rec[p + 1]
    p += 2
    hend = p + bad
    # static prefix: hop to sequenceNumber [4], look the bytes before it up.
    q = p
    while rec[q] != 0x84:
        q += 2 + rec[q + 1]
        if q >= hend:
            return None
    key = rec[p:q]
    static = _prefixes.get(key)
    if static is None:
        static = parse_prefix(key) or ()
        if len(_prefixes) >= PREFIX_CACHE_SIZE:
            _prefixes.clear()
        _prefixes[key] = static
    if not static:
        return None
    liid, cin, op, ne, acc, dcc = static
    # sequenceNumber [4]
    bad |= rec[q + 1]
    p = q + 2 + rec[q + 1]
    if p - q == 3 and rec[q + 2] < 0x80:
        seq = rec[q + 2]
    elif 3 < p - q <= 11:
        seq = int.from_bytes(rec[q + 2 : p], "big", signed=True)
    else:
        return None
    ipid = qualifier = None
    if rec[p] == 0x86:  # interceptionPointID
        bad |= rec[p + 1]
        q = p + 2
        p = q + rec[p + 1]
        try:
            ipid = rec[q:p].decode()
        except UnicodeDecodeError:
            return None
    if rec[p] != 0xA7 or rec[p + 2] != 0x80:  # microSecondTimeStamp {seconds [0], ...}
        return None
    bad |= rec[p + 1] | rec[p + 3]
    tend = p + 2 + rec[p + 1]
    q = p + 4
    p = q + rec[p + 3]
    if p - q == 4 and p <= n and rec[q] < 0x80:
        secs = _U32(rec, q)[0]
    elif 0 < p - q <= 5 and rec[q] < 0x80:
        secs = int.from_bytes(rec[q:p], "big")
    else:
        return None
    if rec[p] != 0x81:
        return None
    bad |= rec[p + 1]
    q = p + 2
    p = q + rec[p + 1]
    if p - q == 1:
        micros = rec[q]
    elif 1 < p - q <= 3:
        micros = int.from_bytes(rec[q:p], "big")
    else:
        return None
    if p != tend or secs >= _MAX_SECONDS or micros >= 1_000_000 or rec[q] & 0x80:
        return None
    if rec[p] == 0x88:  # timeStampQualifier
        bad |= rec[p + 1]
        if rec[p + 1] != 1 or rec[p + 2] & 0x80:
            return None
        qualifier = rec[p + 2]
        p += 3
    if p != hend or bad & 0x80:
        return None
    # payload [2] (the rest of the PS-PDU) and the tag of its choice
    if rec[p] != 0xA2:
        return None
    length = rec[p + 1]
    if length < 0x80:
        p += 2
    elif length == 0x81:
        length, p = rec[p + 2], p + 3
    elif length == 0x82:
        length, p = (rec[p + 2] << 8) | rec[p + 3], p + 4
    else:
        return None
    pstart = p
    if p + length != n:
        return None
    tag = rec[p]
    length = rec[p + 1]
    if length < 0x80:
        q = p + 2
    elif length == 0x81:
        length, q = rec[p + 2], p + 3
    elif length == 0x82:
        length, q = (rec[p + 2] << 8) | rec[p + 3], p + 4
    else:
        return None
    if q + length != n:
        return None
    if tag == 0xA1:
        kind = _CC
    elif tag == 0xA0:
        kind = _IRI
    elif tag == 0xA2 and length >= 2:
        tri, size = rec[q], rec[q + 1]
        if tri & 0x1F == 0x1F or size >= 0x80 or q + 2 + size > n:
            return None
        kind = _TRI.get(tri, _OTHER)
    else:
        return None
    header = _new(
        PSHeader,
        (liid, seq, kind, cin, op, ne, acc, dcc, ipid, secs * 1_000_000 + micros,
         MICROSECOND_TIMESTAMP, qualifier),
    )
    return header, pstart, n


py_fast_scan = fast_scan  # the reference
if _native.speedups is not None:  # the same function in C (calea/handover/_speedups.c)
    _native.speedups.configure(_prefixes, parse_prefix, PSHeader, _CC, _IRI, _OTHER, RecordKind.KEEPALIVE,
                               RecordKind.KEEPALIVE_RESPONSE, RecordKind.INTEGRITY_CHECK, MICROSECOND_TIMESTAMP,
                               PREFIX_CACHE_SIZE)
    fast_scan = _native.speedups.fast_scan  # noqa: F811
