"""Minimal, fast BER (ITU-T X.690) TLV reading and writing for the handover codecs.

Rules this module enforces (a violation raises `MalformedRecord` with the reason shown):

* Tags: any class, primitive or constructed, multi-byte tag numbers up to 4 subsequent
  octets ("ber-tag-too-long").  A tag is handled as one int, its *key*: the identifier
  octet itself for numbers 0..30 (so `0xa1` is [1] constructed, context class), and
  `(first_octet << 32) | number` for high numbers.  `tag_key()` builds keys.
* Lengths: definite only.  Short and long form, including non-minimal long form
  (`30 82 00 5a` is accepted: OpenLI writes it).  At most 4 length octets
  ("ber-length-octets"); the indefinite form `0x80` is **rejected**
  ("ber-indefinite-length": TS 102 232-1 handover uses definite lengths and a stream
  splitter cannot frame indefinite records without parsing them); `0xff` is reserved
  ("ber-reserved-length"); a value running past its parent ("ber-length-overflow");
  a truncated header ("ber-truncated").
* Bounds: nesting depth at most `MAX_DEPTH` (32) in `parse` ("ber-too-deep"); record size
  at most `DEFAULT_MAX_RECORD_SIZE` (1 MiB) unless the caller says otherwise (checked by
  the framing and codec layers: "record-too-large").

Encoders always write minimal definite lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Iterator

from calea.handover.errors import MalformedRecord

MAX_LENGTH_OCTETS = 4
MAX_TAG_OCTETS = 4
MAX_DEPTH = 32
DEFAULT_MAX_RECORD_SIZE = 1 << 20

UNIVERSAL, APPLICATION, CONTEXT, PRIVATE = 0, 1, 2, 3

# Universal tag keys (identifier octets).
BOOLEAN = 0x01
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
ENUMERATED = 0x0A
UTF8_STRING = 0x0C
RELATIVE_OID = 0x0D
SEQUENCE = 0x30  # constructed
SET = 0x31
PRINTABLE_STRING = 0x13
IA5_STRING = 0x16
GENERALIZED_TIME = 0x18

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tag_key(tag_class: int, constructed: bool, number: int) -> int:
    """The int key of a tag, as `read_tlv` returns it."""
    if not 0 <= tag_class <= 3 or number < 0 or number >= 1 << (7 * MAX_TAG_OCTETS):
        raise ValueError(f"impossible tag: class {tag_class} number {number}")
    first = (tag_class << 6) | (0x20 if constructed else 0)
    if number < 31:
        return first | number
    return ((first | 0x1F) << 32) | number


def ctx(number: int, constructed: bool = False) -> int:
    """Key of a context-specific tag `[number]`."""
    return tag_key(CONTEXT, constructed, number)


def split_key(key: int) -> tuple[int, bool, int]:
    """(class, constructed, number) of a tag key."""
    first = key if key < 256 else key >> 32
    number = key & 0x1F if key < 256 else key & 0xFFFFFFFF
    return first >> 6, bool(first & 0x20), number


def read_tlv(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Read one TLV header at `pos`, inside `buf[:end]`.

    Returns `(tag_key, value_start, value_end)`; `value_end <= end` is guaranteed.
    """
    if pos + 1 < end:  # fast path: one-octet tag, length in at most 3 octets
        first = buf[pos]
        length = buf[pos + 1]
        if first & 0x1F != 0x1F:
            if length < 0x80:
                if pos + 2 + length <= end:
                    return first, pos + 2, pos + 2 + length
            elif length == 0x81 and pos + 2 < end:
                length = buf[pos + 2]
                if pos + 3 + length <= end:
                    return first, pos + 3, pos + 3 + length
            elif length == 0x82 and pos + 3 < end:
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                if pos + 4 + length <= end:
                    return first, pos + 4, pos + 4 + length
    return _read_tlv(buf, pos, end)


def _read_tlv(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    if pos >= end:
        raise MalformedRecord("ber-truncated", "no room for a tag", pos)
    start = pos
    first = buf[pos]
    pos += 1
    if first & 0x1F == 0x1F:
        number = 0
        for count in range(MAX_TAG_OCTETS + 1):
            if pos >= end:
                raise MalformedRecord("ber-truncated", "tag runs past the end", start)
            if count == MAX_TAG_OCTETS:
                raise MalformedRecord("ber-tag-too-long", "tag number over 4 octets", start)
            octet = buf[pos]
            pos += 1
            number = (number << 7) | (octet & 0x7F)
            if not octet & 0x80:
                break
        key = (first & 0xE0) | number if number < 31 else (first << 32) | number
    else:
        key = first
    if pos >= end:
        raise MalformedRecord("ber-truncated", "no room for a length", start)
    length = buf[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise MalformedRecord("ber-indefinite-length", "indefinite length not supported", start)
        if count == 0x7F:
            raise MalformedRecord("ber-reserved-length", "length octet 0xff is reserved", start)
        if count > MAX_LENGTH_OCTETS:
            raise MalformedRecord("ber-length-octets", f"{count} length octets (max 4)", start)
        if pos + count > end:
            raise MalformedRecord("ber-truncated", "length runs past the end", start)
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    value_end = pos + length
    if value_end > end:
        raise MalformedRecord(
            "ber-length-overflow", f"value of {length} octets runs past its container", start
        )
    return key, pos, value_end


def iter_tlvs(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """The TLVs directly inside `buf[start:end]`, as `(tag_key, value_start, value_end)`."""
    pos = start
    while pos < end:
        key, vs, ve = read_tlv(buf, pos, end)
        yield key, vs, ve
        pos = ve


@dataclass(frozen=True, slots=True)
class Node:
    """One TLV of a generic `parse`: `value` for primitives, `children` for constructed."""

    key: int
    offset: int
    value: bytes | None
    children: tuple[Node, ...] = ()

    @property
    def tag_class(self) -> int:
        return split_key(self.key)[0]

    @property
    def constructed(self) -> bool:
        return split_key(self.key)[1]

    @property
    def number(self) -> int:
        return split_key(self.key)[2]


def parse(buf: bytes, max_depth: int = MAX_DEPTH) -> tuple[Node, ...]:
    """Generic parse of all TLVs in `buf` into a tree (for tools, tests and validation).

    Constructed values must consist of whole TLVs; nesting deeper than `max_depth`
    raises `MalformedRecord("ber-too-deep")`."""

    def level(start: int, end: int, depth: int) -> tuple[Node, ...]:
        if depth > max_depth and start < end:
            raise MalformedRecord("ber-too-deep", f"nesting deeper than {max_depth}", start)
        nodes = []
        pos = start
        while pos < end:
            key, vs, ve = read_tlv(buf, pos, end)
            first = key if key < 256 else key >> 32
            if first & 0x20:
                nodes.append(Node(key, pos, None, level(vs, ve, depth + 1)))
            else:
                nodes.append(Node(key, pos, bytes(buf[vs:ve])))
            pos = ve
        return tuple(nodes)

    return level(0, len(buf), 1)


# --- primitive values ------------------------------------------------------------------


def decode_integer(value: bytes, max_octets: int = 16) -> int:
    """INTEGER / ENUMERATED contents (two's complement, big-endian)."""
    if not value:
        raise MalformedRecord("ber-empty-integer", "INTEGER with no content octets")
    if len(value) > max_octets:
        raise MalformedRecord("ber-integer-too-long", f"INTEGER of {len(value)} octets")
    return int.from_bytes(value, "big", signed=True)


decode_enumerated = decode_integer


def decode_null(value: bytes) -> None:
    if value:
        raise MalformedRecord("ber-bad-null", "NULL with content octets")


def _subidentifiers(value: bytes) -> list[int]:
    arcs: list[int] = []
    current = 0
    count = 0
    for octet in value:
        if count == 0 and octet == 0x80:
            raise MalformedRecord("ber-bad-oid", "sub-identifier with leading 0x80")
        current = (current << 7) | (octet & 0x7F)
        count += 1
        if count > 9:
            raise MalformedRecord("ber-bad-oid", "sub-identifier too long")
        if not octet & 0x80:
            arcs.append(current)
            current = 0
            count = 0
    if count:
        raise MalformedRecord("ber-bad-oid", "last sub-identifier is unterminated")
    return arcs


@lru_cache(maxsize=256)
def decode_oid(value: bytes) -> str:
    """OBJECT IDENTIFIER contents as dotted text ("0.4.0.2.2.5.1.17")."""
    if not value:
        raise MalformedRecord("ber-bad-oid", "empty OBJECT IDENTIFIER")
    arcs = _subidentifiers(value)
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


@lru_cache(maxsize=256)
def decode_relative_oid(value: bytes) -> str:
    """RELATIVE-OID contents as dotted text without a leading dot ("5.3.10.1")."""
    return ".".join(str(a) for a in _subidentifiers(value))


def decode_text(value: bytes) -> str:
    """A character string (UTF8String, PrintableString, IA5String, textual OCTET STRING)
    as text; undecodable octets are escaped, never an error."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("utf-8", "backslashreplace")


def decode_generalized_time(value: bytes) -> datetime:
    """GeneralizedTime as an aware UTC datetime.

    Accepts `YYYYMMDDHH[MM[SS]][(.|,)fraction][Z|(+|-)hhmm]`; a value without a zone is
    taken as UTC (handover stamps are UTC in practice)."""
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedRecord("ber-bad-time", "GeneralizedTime is not ASCII") from None
    offset = timedelta(0)
    if text.endswith("Z"):
        text = text[:-1]
    elif len(text) > 5 and text[-5] in "+-":
        zone = text[-4:]
        if not zone.isdigit():
            raise MalformedRecord("ber-bad-time", f"bad zone in {value!r}")
        offset = timedelta(hours=int(zone[:2]), minutes=int(zone[2:]))
        if text[-5] == "-":
            offset = -offset
        text = text[:-5]
    fraction = ""
    for sep in ".,":
        if sep in text:
            text, fraction = text.split(sep, 1)
            break
    if not text.isdigit() or len(text) not in (10, 12, 14) or (fraction and not fraction.isdigit()):
        raise MalformedRecord("ber-bad-time", f"bad GeneralizedTime {value!r}")
    try:
        stamp = datetime(
            int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]),
            int(text[10:12] or 0), int(text[12:14] or 0), tzinfo=UTC,
        )
    except ValueError:
        raise MalformedRecord("ber-bad-time", f"impossible date {value!r}") from None
    if fraction:
        unit = {10: timedelta(hours=1), 12: timedelta(minutes=1)}.get(len(text), timedelta(seconds=1))
        digits = fraction[:9]
        stamp += unit * int(digits) / (10 ** len(digits))
    try:
        return stamp - offset
    except OverflowError:
        raise MalformedRecord("ber-bad-time", f"time out of range {value!r}") from None


# --- encoding --------------------------------------------------------------------------


def encode_identifier(key: int) -> bytes:
    if key < 256:
        return bytes((key,))
    first, number = key >> 32, key & 0xFFFFFFFF
    tail = [number & 0x7F]
    number >>= 7
    while number:
        tail.append(0x80 | (number & 0x7F))
        number >>= 7
    return bytes((first, *reversed(tail)))


def encode_length(length: int) -> bytes:
    """Minimal definite length octets."""
    if length < 0x80:
        return bytes((length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(raw) > MAX_LENGTH_OCTETS:
        raise ValueError(f"length {length} needs more than {MAX_LENGTH_OCTETS} octets")
    return bytes((0x80 | len(raw),)) + raw


def tlv(key: int, *content: bytes) -> bytes:
    """One TLV; several content arguments are concatenated (for constructed values)."""
    body = b"".join(content)
    return encode_identifier(key) + encode_length(len(body)) + body


def encode_integer(value: int) -> bytes:
    """Minimal two's complement contents of an INTEGER / ENUMERATED."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return value.to_bytes(size, "big", signed=True)


def _encode_arcs(arcs: list[int]) -> bytes:
    out = bytearray()
    for arc in arcs:
        if arc < 0:
            raise ValueError("negative OID arc")
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def encode_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"bad OBJECT IDENTIFIER {dotted!r}")
    return _encode_arcs([arcs[0] * 40 + arcs[1], *arcs[2:]])


def encode_relative_oid(dotted: str) -> bytes:
    return _encode_arcs([int(a) for a in dotted.strip(".").split(".")])


def encode_generalized_time(stamp: datetime) -> bytes:
    """`YYYYMMDDHHMMSS.fffZ` in UTC: milliseconds always, more digits only when needed
    (OpenLI's form, e.g. `20250602140045.000Z`)."""
    if stamp.tzinfo is None:
        raise ValueError("GeneralizedTime needs an aware datetime")
    stamp = stamp.astimezone(UTC)
    fraction = f"{stamp.microsecond:06d}"
    fraction = fraction[:3] if fraction.endswith("000") else fraction.rstrip("0")
    text = (
        f"{stamp.year:04d}{stamp.month:02d}{stamp.day:02d}"
        f"{stamp.hour:02d}{stamp.minute:02d}{stamp.second:02d}.{fraction}Z"
    )
    return text.encode("ascii")


def to_epoch_us(stamp: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    delta = stamp - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def py_from_epoch_us(micros: int) -> datetime:
    """Aware UTC datetime of microseconds since the Unix epoch."""
    return _EPOCH + timedelta(microseconds=micros)


from calea.handover.native import speedups as _speedups  # noqa: E402

from_epoch_us = py_from_epoch_us if _speedups is None else _speedups.utc_from_us
