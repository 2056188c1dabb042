"""Value decoders of `ts101671_asn1`: one small closure per primitive ASN.1 type.

Each decoder takes `(buf, key, value_start, value_end)` of a TLV whose tag has already
matched and returns pycrate's value shape; it raises `MalformedRecord` for a value that
breaks its type or root constraint, and `Unsupported` for valid encodings the fast path
leaves to pycrate.
"""

from __future__ import annotations

from typing import Any, Callable

from pycrate_asn1rt.asnobj import ASN1Obj

from calea.handover import ber
from calea.handover.errors import MalformedRecord

# A decoder receives (buf, key, value_start, value_end) of a TLV whose tag already matched.
Decoder = Callable[[bytes, int, int, int], Any]


class Unsupported(Exception):
    """Valid BER the fast path does not decode itself: defer to pycrate."""


def keys(tag: tuple[int, int]) -> tuple[int, int]:
    """(primitive key, constructed key) of a pycrate `(class, number)` tag."""
    cl, number = tag
    return ber.tag_key(cl, False, number), ber.tag_key(cl, True, number)


def read(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """`ber.read_tlv` with a shortcut for the common one-octet tag and short length."""
    if pos + 1 < end:
        first = buf[pos]
        length = buf[pos + 1]
        if first & 0x1F != 0x1F and length < 0x80:
            value_end = pos + 2 + length
            if value_end <= end:
                return first, pos + 2, value_end
    return ber.read_tlv(buf, pos, end)


def malformed(obj: ASN1Obj, what: str) -> MalformedRecord:
    return MalformedRecord("asn1-invalid", f"{obj.fullname()}: {what}")


def size_check(obj: ASN1Obj) -> tuple[int, int] | None:
    const = getattr(obj, "_const_sz", None)
    if const is None or const.ext is not None or const.lb is None or const.ub is None:
        return None
    return const.lb, const.ub


def value_check(obj: ASN1Obj) -> tuple[int, int] | None:
    const = getattr(obj, "_const_val", None)
    if const is None or const.ext is not None or getattr(const, "lb", None) is None:
        return None
    return const.lb, const.ub


def segmented(buf: bytes, key: int, vs: int, ve: int) -> Any:
    raise Unsupported("constructed (segmented) encoding of a string")


def defer(buf: bytes, key: int, vs: int, ve: int) -> Any:
    raise Unsupported("type decoded by pycrate only")


def octets(obj: ASN1Obj) -> Decoder:
    if getattr(obj, "_const_cont", None) is not None:
        return defer
    size = size_check(obj)
    if size is None:
        return lambda buf, key, vs, ve: buf[vs:ve]
    lb, ub = size

    def dec(buf: bytes, key: int, vs: int, ve: int) -> bytes:
        if not lb <= ve - vs <= ub:
            raise malformed(obj, "size out of constraint")
        return buf[vs:ve]

    return dec


def string(obj: ASN1Obj) -> Decoder:
    codec = obj._codec
    if not isinstance(codec, str):
        return defer
    lb, ub = size_check(obj) or (0, 1 << 62)

    def dec(buf: bytes, key: int, vs: int, ve: int) -> str:
        try:
            text = buf[vs:ve].decode(codec)
        except UnicodeDecodeError:
            raise malformed(obj, f"invalid {codec} character") from None
        if not lb <= len(text) <= ub:
            raise malformed(obj, "size out of constraint")
        return text

    return dec


def time_value(obj: ASN1Obj) -> Decoder:
    match = obj._ASN_RE.fullmatch
    upper = obj.TYPE == "UTCTime"

    def dec(buf: bytes, key: int, vs: int, ve: int) -> tuple[str | None, ...]:
        try:
            text = '"' + buf[vs:ve].decode("ascii") + '"'
        except UnicodeDecodeError:
            raise malformed(obj, "time is not ASCII") from None
        m = match(text.upper() if upper else text)
        if m is None:
            raise malformed(obj, "invalid time")
        groups: tuple[str | None, ...] = m.groups()
        return groups

    return dec


def integer(obj: ASN1Obj) -> Decoder:
    lb, ub = value_check(obj) or (-(1 << 1024), 1 << 1024)

    def dec(buf: bytes, key: int, vs: int, ve: int) -> int:
        if ve <= vs:
            raise malformed(obj, "empty INTEGER")
        if ve - vs > 64:
            raise malformed(obj, "INTEGER longer than 64 octets")
        value = int.from_bytes(buf[vs:ve], "big", signed=True)
        if not lb <= value <= ub:
            raise malformed(obj, "value out of constraint")
        return value

    return dec


def enumerated(obj: ASN1Obj) -> Decoder:
    names: dict[int, str] = {int(number): str(name) for name, number in obj._cont.items()}
    by_octets = {ber.encode_integer(number): name for number, name in names.items()}
    extensible = obj._ext is not None

    def dec(buf: bytes, key: int, vs: int, ve: int) -> str:
        name = by_octets.get(buf[vs:ve])
        if name is not None:
            return name
        if ve <= vs or ve - vs > 8:
            raise malformed(obj, "bad ENUMERATED length")
        number = int.from_bytes(buf[vs:ve], "big", signed=True)
        name = names.get(number)
        if name is not None:
            return name
        if extensible:
            return f"_ext_{number}"
        raise malformed(obj, f"unknown value {number}")

    return dec


def null(buf: bytes, key: int, vs: int, ve: int) -> int:
    if ve != vs:
        raise MalformedRecord("asn1-invalid", "NULL with content")
    return 0


def boolean(buf: bytes, key: int, vs: int, ve: int) -> bool:
    if ve - vs != 1:
        raise MalformedRecord("asn1-invalid", "BOOLEAN of length other than 1")
    return buf[vs] != 0


def oid(buf: bytes, key: int, vs: int, ve: int) -> tuple[int, ...]:
    if ve <= vs or buf[ve - 1] & 0x80:
        raise MalformedRecord("asn1-invalid", "bad OBJECT IDENTIFIER")
    arcs: list[int] = []
    current = 0
    for octet in buf[vs:ve]:
        current = (current << 7) | (octet & 0x7F)
        if not octet & 0x80:
            arcs.append(current)
            current = 0
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return tuple(head + arcs[1:])


SIMPLE: dict[str, Decoder] = {"NULL": null, "BOOLEAN": boolean, "OBJECT IDENTIFIER": oid}
CONSTRUCTED = ("SEQUENCE", "SEQUENCE OF", "SET OF", "CHOICE")


def inner(buf: bytes, vs: int, ve: int) -> tuple[int, int, int]:
    """The single TLV a constructed value must hold (explicit tag, CHOICE)."""
    key, ivs, ive = read(buf, vs, ve)
    if ive != ve:
        raise MalformedRecord("asn1-invalid", "explicit tag or CHOICE holds more than one TLV", ive)
    return key, ivs, ive
