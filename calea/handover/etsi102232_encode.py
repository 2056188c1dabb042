"""Encoders of TS 102 232-1 PS-PDUs in OpenLI's tag layout (for the carrier simulator
and tests): `decode(encode_ps_pdu(h, p))` gives back `h` and `p`, and re-encoding a
decoded OpenLI record reproduces it byte for byte (up to OpenLI's occasional non-minimal
outer length: the encoders always write minimal definite lengths).

Misuse (an unknown enumerated name, an impossible address, a header kind that
contradicts the payload) raises `CodecUsageError`.
"""

from __future__ import annotations

from typing import Any, Mapping

from calea.handover.ber import (
    ctx,
    encode_identifier,
    encode_length,
    read_tlv,
    encode_generalized_time,
    encode_integer,
    encode_oid,
    encode_relative_oid,
    from_epoch_us,
    tlv,
)
from calea.handover.errors import CodecUsageError
from calea.handover.etsi102232_packets import ip_binary
from calea.handover.etsi102232_types import (
    CHECK_TYPES, DATA_TYPES, DIRECTIONS, FRAME_TYPES, GENERALIZED_TIMESTAMP, HASH_ALGORITHMS,
    IP_ASSIGNMENTS, IP_TYPES, IPCC_OID, IPIRI_FIELDS, IPIRI_OID, IPIRI_TAGS, IPMMCC_OID,
    IPMMIRI_OID, IRI_TYPES, LI_PS_DOMAIN_ID, MMCC_PROTOCOLS, IPCC, IPIRI, IPMMCC, IPMMIRI,
    IntegrityCheck, KeepAlive, KeepAliveResponse, Payload, PSHeader, parse_iso, value_of,
)
from calea.handover.model import RecordKind

_KINDS: dict[type, RecordKind] = {
    KeepAlive: RecordKind.KEEPALIVE, KeepAliveResponse: RecordKind.KEEPALIVE_RESPONSE,
    IPMMIRI: RecordKind.IRI, IPIRI: RecordKind.IRI, IPMMCC: RecordKind.CC, IPCC: RecordKind.CC,
    IntegrityCheck: RecordKind.INTEGRITY_CHECK,
}


def kind_of(payload: Payload) -> RecordKind:
    try:
        return _KINDS[type(payload)]
    except KeyError:
        raise CodecUsageError(f"not a PS-PDU payload: {type(payload).__name__}") from None


def encode_ps_pdu(
    header: PSHeader,
    payload: Payload,
    *,
    domain_id: str = LI_PS_DOMAIN_ID,
    lengths: str = "minimal",
) -> bytes:
    """One PS-PDU: `pSHeader [1]` from `header` (its `kind` must be None or match the
    payload) and `payload [2]`.

    `lengths="minimal"` writes minimal definite lengths; `lengths="openli"` writes every
    length of 128 or more in two octets (`82 00 f1`), as libwandder does, so that a
    simulator's bytes equal OpenLI's."""
    kind = kind_of(payload)
    if header.kind is not None and header.kind is not kind:
        raise CodecUsageError(f"header says {header.kind}, payload is {kind}")
    if lengths not in ("minimal", "openli"):
        raise CodecUsageError(f"lengths is 'minimal' or 'openli', not {lengths!r}")
    try:
        record = tlv(0x30, encode_header(header, domain_id), tlv(0xA2, _payload(payload)))
    except (ValueError, TypeError, OverflowError, AttributeError, KeyError) as exc:
        raise CodecUsageError(f"cannot encode: {exc}") from None
    return _openli_lengths(record, 0, len(record)) if lengths == "openli" else record


def _openli_lengths(buf: bytes, start: int, end: int) -> bytes:
    """Re-encode the TLVs of `buf[start:end]` with libwandder's length form."""
    out = bytearray()
    pos = start
    while pos < end:
        key, vs, ve = read_tlv(buf, pos, end)
        first = key if key < 256 else key >> 32
        value = _openli_lengths(buf, vs, ve) if first & 0x20 else buf[vs:ve]
        size = len(value)
        out += encode_identifier(key)
        if 0x80 <= size < 0x10000:
            out += b"\x82" + size.to_bytes(2, "big")
        else:
            out += encode_length(size)
        out += value
        pos = ve
    return bytes(out)


def encode_keepalive(header: PSHeader) -> bytes:
    """A keep-alive as OpenLI's mediator sends it (CIN 0 by convention)."""
    return encode_ps_pdu(header, KeepAlive())


def _enum(key: int, table: Mapping[int, str], name: str | int) -> bytes:
    return tlv(key, encode_integer(value_of(table, name)))


def _text(key: int, value: str | None) -> bytes:
    return b"" if value is None else tlv(key, value.encode("utf-8"))


def encode_header(h: PSHeader, domain_id: str = LI_PS_DOMAIN_ID) -> bytes:
    network = tlv(0xA0, tlv(0x80, (h.operator_id or "").encode()), _text(0x81, h.network_element_id))
    cin = b"" if h.cin is None else tlv(0x81, encode_integer(h.cin))
    parts = [
        tlv(0x80, encode_oid(domain_id)),
        tlv(0x81, h.liid.encode("utf-8")),
        _text(0x82, h.authorization_country_code),
        tlv(0xA3, network, cin, _text(0x82, h.delivery_country_code)),
        tlv(0x84, encode_integer(h.sequence)),
    ]
    micro = h.timestamp_us is not None and h.timestamp_field != GENERALIZED_TIMESTAMP
    if h.timestamp_us is not None and not micro:
        parts.append(tlv(0x85, encode_generalized_time(from_epoch_us(h.timestamp_us))))
    parts.append(_text(0x86, h.interception_point_id))
    if micro and h.timestamp_us is not None:
        secs, micros = divmod(h.timestamp_us, 1_000_000)
        parts.append(tlv(0xA7, tlv(0x80, encode_integer(secs)), tlv(0x81, encode_integer(micros))))
    if h.timestamp_qualifier is not None:
        parts.append(tlv(0x88, encode_integer(h.timestamp_qualifier)))
    return tlv(0xA1, *parts)


def encode_ip_address(value: str | Mapping[str, Any]) -> bytes:
    """TS 102 232-1 IPAddress contents from an address text (OpenLI's defaults:
    assignment notKnown, /32 mask or /128 prefix) or from a decoded IPAddress dict."""
    if isinstance(value, str):
        binary = ip_binary(value)
        v4 = len(binary) == 4
        value = {"type": "IPv4" if v4 else "IPv6", "address": value, "assignment": "notKnown",
                 **({"subnet_mask": "255.255.255.255"} if v4 else {"prefix_length": 128})}
    out = []
    if "type" in value:
        out.append(_enum(0x81, IP_TYPES, value["type"]))
    if "address" in value:
        address = value["address"]
        try:
            choice = tlv(0x81, ip_binary(address))
        except ValueError:
            choice = tlv(0x82, address.encode("ascii"))
        out.append(tlv(0xA2, choice))
    if "assignment" in value:
        out.append(_enum(0x83, IP_ASSIGNMENTS, value["assignment"]))
    if "prefix_length" in value:
        out.append(tlv(0x84, encode_integer(value["prefix_length"])))
    if "subnet_mask" in value:
        out.append(tlv(0x85, ip_binary(value["subnet_mask"])))
    return b"".join(out)


def _ipiri_contents(contents: Mapping[str, Any]) -> bytes:
    items = []
    for name, value in contents.items():
        if name.startswith("[") and name.endswith("]"):
            number = int(name[1:-1])
            items.append((number, tlv(ctx(number), bytes.fromhex(value))))
            continue
        if name not in IPIRI_TAGS:
            raise ValueError(f"unknown IPIRIContents field {name!r}")
        number = IPIRI_TAGS[name]
        _, codec, table = IPIRI_FIELDS[number]
        prim, cons = ctx(number), ctx(number, constructed=True)
        if codec == "enum" and table is not None:
            encoded = _enum(prim, table, value)
        elif codec == "text":
            encoded = tlv(prim, value.encode("utf-8"))
        elif codec == "int":
            encoded = tlv(prim, encode_integer(value))
        elif codec == "time":
            encoded = tlv(prim, encode_generalized_time(parse_iso(value)))
        elif codec == "ip":
            encoded = tlv(cons, encode_ip_address(value))
        elif codec == "popid":
            if "printableIDType" in value:
                inner = tlv(0x80, value["printableIDType"].encode("utf-8"))
            elif "macAddressType" in value:
                inner = tlv(0x81, bytes.fromhex(value["macAddressType"]))
            else:
                inner = tlv(0xA2, encode_ip_address(value["ipAddressType"]))
            encoded = tlv(cons, inner)
        else:
            encoded = tlv(prim, bytes.fromhex(value))
        items.append((number, encoded))
    return b"".join(encoded for _, encoded in sorted(items, key=lambda item: item[0]))


def _iri(iri_type: str, contents_choice: bytes) -> bytes:
    item = tlv(0x30, _enum(0x80, IRI_TYPES, iri_type), tlv(0xA2, contents_choice))
    return tlv(0xA0, item)


def _cc(direction: str, contents_choice: bytes) -> bytes:
    item = tlv(0x30, _enum(0x80, DIRECTIONS, direction), tlv(0xA2, contents_choice))
    return tlv(0xA1, item)


def _payload(payload: Payload) -> bytes:
    if isinstance(payload, KeepAlive):
        return tlv(0xA2, tlv(0x83, b""))
    if isinstance(payload, KeepAliveResponse):
        return tlv(0xA2, tlv(0x84, b""))
    if isinstance(payload, IPMMIRI):
        if payload.original_ip_packet is not None:
            message = tlv(0x80, payload.original_ip_packet)
        else:
            message = tlv(
                0xA1,
                b"" if payload.source_address is None else tlv(0xA0, encode_ip_address(payload.source_address)),
                b"" if payload.destination_address is None
                else tlv(0xA1, encode_ip_address(payload.destination_address)),
                b"" if payload.sip_content is None else tlv(0x82, payload.sip_content),
            )
        body = tlv(0xAB, tlv(0x80, encode_relative_oid(IPMMIRI_OID)), tlv(0xA1, message))
        return _iri(payload.iri_type, body)
    if isinstance(payload, IPIRI):
        body = tlv(0xA2, tlv(0x80, encode_relative_oid(IPIRI_OID)), tlv(0xA1, _ipiri_contents(payload.contents)))
        return _iri(payload.iri_type, body)
    if isinstance(payload, IPMMCC):
        body = tlv(
            0xAC,
            tlv(0x80, encode_relative_oid(IPMMCC_OID)),
            tlv(0x81, payload.contents),
            _enum(0x82, FRAME_TYPES, payload.frame_type),
            b"" if payload.stream_identifier is None else tlv(0x83, payload.stream_identifier),
            b"" if payload.protocol is None else _enum(0x84, MMCC_PROTOCOLS, payload.protocol),
        )
        return _cc(payload.direction, body)
    if isinstance(payload, IPCC):
        body = tlv(0xA2, tlv(0x80, encode_relative_oid(IPCC_OID)), tlv(0xA1, tlv(0x80, payload.packet)))
        return _cc(payload.direction, body)
    if isinstance(payload, IntegrityCheck):
        numbers = b"".join(tlv(0x02, encode_integer(n)) for n in payload.included_sequence_numbers)
        check = tlv(
            0xA0,
            tlv(0xA0, numbers),
            _enum(0x81, CHECK_TYPES, payload.check_type),
            _enum(0x82, DATA_TYPES, payload.data_type),
            tlv(0x83, payload.check_value),
            b"" if payload.hash_algorithm is None else _enum(0x84, HASH_ALGORITHMS, payload.hash_algorithm),
        )
        return tlv(0xA2, check)
    raise CodecUsageError(f"not a PS-PDU payload: {type(payload).__name__}")
