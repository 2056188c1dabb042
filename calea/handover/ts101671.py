"""ETSI TS 101 671 / 3GPP TS 33.108 HI2: IRI records (calls, SMS, location) -> `Delivery`.

SPEC: ETSI TS 101 671 clause 10 and annex D (HI2Operations, `sending-of-IRI`);
3GPP TS 33.108 annex B (UmtsCS-HI2Operations, UmtsHI2Operations, EpsHI2Operations).

What a delivered record is
--------------------------
The `sending-of-IRI` operation's ARGUMENT is `IRIsContent`, so one record on an HI2 TCP
stream is one BER `IRIsContent` (split from the stream by its outer length):

* `IRIContent` (the untagged `iRIContent` alternative): one of
  `[1] iRI-Begin-record`, `[2] iRI-End-record`, `[3] iRI-Continue-record`,
  `[4] iRI-Report-record`, each an `IRI-Parameters` SEQUENCE;
* `IRISequence` (SEQUENCE OF IRIContent): optional aggregation of several IRIs.

`decode()` therefore returns a *list*: one `Delivery` per IRI.  For an aggregated record
each delivery's `raw` is the byte-exact slice of its own `IRIContent` (which is itself a
valid `IRIsContent` record) and `fields["aggregate"]` gives its index and the count.

Where the operation travels in ROSE (TS 101 671 annex C, ITU-T X.880), the record is a
ROS `invoke [1] { invokeId INTEGER, [linkedId], opcode, argument IRIsContent }`.  Its tag
[1] is the one of `iRI-Begin-record`; the two are told apart by the first inner TLV (an
INTEGER invokeId, or NULL for an absent one, never starts IRI-Parameters).  The envelope
is unwrapped: `sequence` is the invokeId, `fields["rose"]` holds invokeId and opcode,
and `raw` is the whole ROSE record (or, aggregated, each IRIContent's slice).
`sending-of-IRI` is a class 2 operation: nothing is returned on success.

The ASN.1 module is chosen by the domain OID that opens `IRI-Parameters` (prefix match,
so every version of a module is accepted):

| OID prefix          | module                                    | `fields["module"]` |
|---------------------|-------------------------------------------|--------------------|
| 0.4.0.2.2.1         | TS 101 671 HI2Operations (or no OID)      | `etsi-hi2`         |
| 0.4.0.2.2.4.3       | TS 33.108 UmtsCS-HI2Operations            | `3gpp-cs`          |
| 0.4.0.2.2.4.1       | TS 33.108 UmtsHI2Operations (PS domain)   | `3gpp-ps`          |
| 0.4.0.2.2.4.8       | TS 33.108 EpsHI2Operations                | `3gpp-eps`         |

Any other OID is refused (`MalformedRecord("ts101671-unknown-domain")`): decoding it with
the wrong module would silently misread its tags.

Delivery: format `ts101671-hi2`, channel HI2, kind IRI, LIID from
`lawfulInterceptionIdentifier`, `intercepted_at` from `timeStamp` (see
`ts101671_fields.time_stamp`: a zoneless local time needs `local_timezone`, else it is
None and flagged `fields["time_stamp"]["unresolved"]`), `cin` from the
`communicationIdentifier` (`operator:network-element:number`) or, in the PS/EPS
modules, the GPRS/EPS correlation number; `sequence` is the ROSE invokeId, else None
(IRI-Parameters carry no sequence number).  What goes to `fields` and what to `content`
is described in `ts101671_fields`.

Only `MalformedRecord` leaves `decode()`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import tzinfo
from typing import Any

from pycrate_asn1dir import LI3GPP, LIETSI

from calea.handover import ber
from calea.handover.errors import MalformedRecord
from calea.handover.model import Channel, Delivery, RecordKind
from calea.handover.ts101671_asn1 import SchemaDecoder
from calea.handover.ts101671_fields import extract, time_stamp

__all__ = ["FORMAT", "IRI_TYPES", "MODULES", "Module", "decode", "module_of"]

FORMAT = "ts101671-hi2"

IRI_TYPES = {
    "iRI-Begin-record": "begin",
    "iRI-Continue-record": "continue",
    "iRI-End-record": "end",
    "iRI-Report-record": "report",
}


@dataclass(frozen=True)
class Module:
    name: str
    oid_prefix: tuple[int, ...]
    pdu: Any  # the pycrate IRIsContent type of the module


MODULES = (
    Module("etsi-hi2", (0, 4, 0, 2, 2, 1), LIETSI.HI2Operations.IRIsContent),
    Module("3gpp-cs", (0, 4, 0, 2, 2, 4, 3), LI3GPP.UmtsCS_HI2Operations.UmtsCS_IRIsContent),
    Module("3gpp-ps", (0, 4, 0, 2, 2, 4, 1), LI3GPP.UmtsHI2Operations.UmtsIRIsContent),
    Module("3gpp-eps", (0, 4, 0, 2, 2, 4, 8), LI3GPP.EpsHI2Operations.EpsIRIsContent),
)
_DECODERS: dict[str, SchemaDecoder] = {}
_BY_OID: dict[bytes, Module] = {}  # domain OID contents -> module, filled as seen

_SEQUENCE = 0x30
_ROSE_INVOKE = 0xA1  # ROS invoke [1], the same tag as iRI-Begin-record
_INTEGER, _NULL, _OID_UNIVERSAL = 0x02, 0x05, 0x06
_IRI_TAGS = (0xA1, 0xA2, 0xA3, 0xA4)
_OID_TAG = 0x80


def decode(record: bytes, *, local_timezone: tzinfo | None = None) -> list[Delivery]:
    """All IRIs of one HI2 record (one for an `IRIContent`, n for an `IRISequence`)."""
    record = bytes(record)
    key, vs, ve = ber.read_tlv(record, 0, len(record))
    if ve != len(record):
        raise MalformedRecord("trailing-bytes", f"{len(record) - ve} octets after the record", ve)
    if key == _ROSE_INVOKE and vs < ve and record[vs] in (_INTEGER, _NULL):
        return _decode_invoke(record, vs, ve, local_timezone)
    return _decode_iris(record, key, vs, ve, local_timezone, _Envelope())


@dataclass(frozen=True)
class _Envelope:
    """What a ROSE Invoke around the IRIsContent adds (nothing for a bare record)."""

    raw: bytes | None = None
    invoke_id: int | None = None
    fields: dict[str, Any] | None = None


def _decode_iris(record: bytes, key: int, vs: int, ve: int, local_tz: tzinfo | None,
                 envelope: _Envelope) -> list[Delivery]:
    if key in _IRI_TAGS:
        return [_decode_one(record, local_tz, None, envelope)]
    if key != _SEQUENCE:
        raise MalformedRecord("ts101671-unexpected-tag", f"an IRIsContent cannot start with {key:#x}", 0)
    elements = []
    pos = vs
    while pos < ve:
        _, _, end = ber.read_tlv(record, pos, ve)
        elements.append(record[pos:end])
        pos = end
    if not elements:
        raise MalformedRecord("ts101671-empty-sequence", "IRISequence without IRIs", 0)
    sliced = _Envelope(None, envelope.invoke_id, envelope.fields)
    return [_decode_one(element, local_tz, (index, len(elements)), sliced)
            for index, element in enumerate(elements)]


def _decode_invoke(record: bytes, vs: int, ve: int, local_tz: tzinfo | None) -> list[Delivery]:
    """A ROSE Invoke (ITU-T X.880) of `sending-of-IRI`: `[1] { invokeId, [linkedId],
    opcode, argument }`; the argument is the IRIsContent."""
    tlvs = []
    pos = vs
    while pos < ve:
        key, cvs, cve = ber.read_tlv(record, pos, ve)
        tlvs.append((key, pos, cvs, cve))
        pos = cve
    if len(tlvs) > 1 and tlvs[1][0] in (0x80, 0x81):  # linkedId: present [0] / absent [1]
        del tlvs[1]
    if len(tlvs) != 3 or tlvs[1][0] not in (_INTEGER, _OID_UNIVERSAL):
        raise MalformedRecord("ts101671-bad-rose", "ROSE Invoke without opcode and argument", vs)
    (id_key, _, ivs, ive), (op_key, _, ovs, ove), (arg_key, arg_start, avs, ave) = tlvs
    if id_key == _INTEGER and not 0 < ive - ivs <= 8:
        raise MalformedRecord("ts101671-bad-rose", "bad invokeId", vs)
    invoke_id = int.from_bytes(record[ivs:ive], "big", signed=True) if id_key == _INTEGER else None
    operation: Any = (".".join(map(str, _oid_arcs(record[ovs:ove]))) if op_key == _OID_UNIVERSAL
                      else int.from_bytes(record[ovs:ove], "big", signed=True))
    rose = {"invoke_id": invoke_id, "operation": operation}
    argument = record[arg_start:ave]
    return _decode_iris(argument, arg_key, avs - arg_start, ave - arg_start, local_tz,
                        _Envelope(record, invoke_id, rose))


def module_of(element: bytes) -> Module:
    """The ASN.1 module of one `IRIContent`, from the domain OID that opens it."""
    key, vs, ve = ber.read_tlv(element, 0, len(element))
    if key not in _IRI_TAGS:
        raise MalformedRecord("ts101671-unexpected-tag", f"an IRIContent cannot start with {key:#x}", 0)
    if vs == ve:
        return MODULES[0]
    first, ovs, ove = ber.read_tlv(element, vs, ve)
    if first != _OID_TAG:
        return MODULES[0]
    oid = element[ovs:ove]
    module = _BY_OID.get(oid)
    if module is not None:
        return module
    arcs = _oid_arcs(oid)
    for module in MODULES:
        if arcs[: len(module.oid_prefix)] == module.oid_prefix:
            if len(_BY_OID) < 64:  # a carrier uses a handful of module versions
                _BY_OID[oid] = module
            return module
    raise MalformedRecord("ts101671-unknown-domain", f"unknown HI2 domain {'.'.join(map(str, arcs))}", vs)


def _oid_arcs(value: bytes) -> tuple[int, ...]:
    arcs, current = [], 0
    for octet in value:
        current = (current << 7) | (octet & 0x7F)
        if not octet & 0x80:
            arcs.append(current)
            current = 0
    if not arcs:
        return ()
    head = [arcs[0] // 40, arcs[0] % 40] if arcs[0] < 80 else [2, arcs[0] - 80]
    return tuple(head + arcs[1:])


def _decoder(module: Module) -> SchemaDecoder:
    dec = _DECODERS.get(module.name)
    if dec is None:
        dec = _DECODERS[module.name] = SchemaDecoder(module.pdu)
    return dec


def _decode_one(element: bytes, local_tz: tzinfo | None, aggregate: tuple[int, int] | None,
                envelope: _Envelope) -> Delivery:
    module = module_of(element)
    value = _decoder(module).decode(element)
    try:
        delivery = _delivery(envelope.raw or element, module, value, local_tz, aggregate)
    except MalformedRecord:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise MalformedRecord("ts101671-invalid-field", f"{type(exc).__name__}: {exc}") from None
    if envelope.fields is None:
        return delivery
    fields = {**delivery.fields, "rose": envelope.fields}
    return replace(delivery, sequence=envelope.invoke_id, fields=fields)


def _delivery(element: bytes, module: Module, value: Any, local_tz: tzinfo | None,
              aggregate: tuple[int, int] | None) -> Delivery:
    _, content = value  # (iRIContent alternative name, IRIContent)
    record_name, params = content
    iri_type = IRI_TYPES.get(record_name)
    if iri_type is None or not isinstance(params, dict):
        raise MalformedRecord("ts101671-unknown-record", f"unknown IRI record {record_name}")
    liid_raw = params["lawfulInterceptionIdentifier"]
    liid = liid_raw.decode("utf-8", "backslashreplace")
    at, stamp_info = time_stamp(params["timeStamp"], local_tz)
    out = extract(params, iri_type, local_tz)
    fields = out.fields
    fields["module"] = module.name
    if stamp_info:
        fields["time_stamp"] = stamp_info
    if aggregate is not None:
        fields["aggregate"] = {"index": aggregate[0], "count": aggregate[1]}
    return Delivery(
        format=FORMAT,
        channel=Channel.HI2,
        kind=RecordKind.IRI,
        liid=liid,
        intercepted_at=at,
        raw=element,
        cin=out.cin,
        sequence=None,
        fields=fields,
        content=tuple(out.content),
    )
