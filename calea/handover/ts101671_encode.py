"""Building TS 101 671 / TS 33.108 HI2 IRI records (for the carrier simulator and tests).

`encode(Iri(...))` returns one BER `IRIsContent` record (an `IRIContent`), encoded by
pycrate from the compiled module, so what the simulator sends is what a standard encoder
writes.  `encode_sequence()` aggregates several IRIs into one `IRISequence` record.
Convenience builders produce the usual scenarios: `call()` (Begin at set-up, Continue at
answer, End at release), `sms_report()` and `location_report()`; `encode_invoke()` wraps
a record in the ROSE Invoke of `sending-of-IRI` (TS 101 671 annex C delivery).

Times are written as `localTime` GeneralizedTime with a `Z` zone (an absolute UTC time,
millisecond precision kept).  Numbers are ISUP international numbers, MSISDN a MAP
AddressString, IMSI / IMEI TBCD-STRINGs.  A value the module cannot hold (a LIID over
25 octets, a communication-Identity-Number over 8) raises `CodecUsageError`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from pycrate_asn1dir import LI3GPP, LIETSI

from calea.handover import ts101671_numbers as num
from calea.handover.errors import CodecUsageError
from calea.handover.ts101671_asn1 import pycrate_encode
from calea.handover.ts101671_sms import build_deliver, build_submit

_RECORDS = {"begin": "iRI-Begin-record", "continue": "iRI-Continue-record",
            "end": "iRI-End-record", "report": "iRI-Report-record"}
_ETSI = LIETSI.HI2Operations
_CS = LI3GPP.UmtsCS_HI2Operations


@dataclass(frozen=True)
class Party:
    qualifier: str = "originating-Party"  # terminating-Party, forwarded-to-Party
    msisdn: str | None = None  # digits without "+"
    imsi: str | None = None
    imei: str | None = None
    calling_number: str | None = None  # international digits, ISUP format
    called_number: str | None = None
    sip_uri: str | None = None
    tel_uri: str | None = None
    keypad: str | None = None  # DSS1 Keypad facility digits


@dataclass(frozen=True)
class Cell:
    mcc: str
    mnc: str
    lac: int
    ci: int
    latitude: float | None = None
    longitude: float | None = None
    azimuth: int | None = None


@dataclass(frozen=True)
class Sms:
    text: str
    peer: str  # the other party, "+<digits>" when international
    from_target: bool  # True: the target sent it (SMS-SUBMIT); False: it received it
    sent_at: datetime | None = None  # service-centre time stamp of an SMS-DELIVER
    service_centre: str | None = None  # digits


@dataclass(frozen=True)
class Iri:
    iri_type: str  # begin / continue / end / report
    liid: str
    at: datetime
    cin: str | None = None  # communication-Identity-Number, ASCII digits (1..8)
    operator: str = "CALEA"
    network_element: str | None = None  # E.164 digits of the reporting node
    direction: str | None = None  # originating-Target / terminating-Target
    call_state: str | None = None  # setUpInProcess / connected / idle
    parties: tuple[Party, ...] = ()
    cell: Cell | None = None
    sms: Sms | None = None
    release_cause: int | None = None  # Q.850 cause value
    nature: str | None = None  # e.g. gSM-ISDN-PSTN-circuit-call, gSM-SMS-Message
    module: str = "etsi-hi2"  # or "3gpp-cs"
    cs_event: str | None = None  # umts-Cs-Event name (3gpp-cs only)


def _time(at: datetime) -> tuple[str, Any]:
    if at.tzinfo is None:
        raise CodecUsageError("IRI time must be an aware datetime")
    utc = at.astimezone(timezone.utc)
    gen = (f"{utc.year:04d}", f"{utc.month:02d}", f"{utc.day:02d}", f"{utc.hour:02d}",
           f"{utc.minute:02d}", f"{utc.second:02d}",
           f"{utc.microsecond:06d}" if utc.microsecond else None, "Z")
    return ("localTime", {"generalizedTime": gen, "winterSummerIndication": "notProvided"})


def _party(p: Party) -> dict[str, Any]:
    ident: dict[str, Any] = {}
    if p.imei:
        # TS 29.002 IMEI: 14 digits, then the SVN or (without SVN) a 0 digit and a filler
        ident["imei"] = num.encode_tbcd(p.imei if len(p.imei) == 16 else p.imei[:14] + "0")
    if p.imsi:
        ident["imsi"] = num.encode_tbcd(p.imsi)
    if p.calling_number:
        ident["callingPartyNumber"] = ("iSUP-Format", num.encode_isup_number(p.calling_number))
    if p.called_number:
        ident["calledPartyNumber"] = ("iSUP-Format", num.encode_isup_number(p.called_number, calling=False))
    if p.msisdn:
        ident["msISDN"] = num.encode_map_address(p.msisdn)
    if p.sip_uri:
        ident["sip-uri"] = p.sip_uri.encode()
    if p.tel_uri:
        ident["tel-url"] = p.tel_uri.encode()
    value: dict[str, Any] = {"party-Qualifier": p.qualifier, "partyIdentity": ident}
    if p.keypad:
        element = bytes((0x2C, len(p.keypad))) + p.keypad.encode("ascii")
        value["services-Information"] = {"dSS1-parameters-codeset-0": [element]}
    return value


def _cell(c: Cell) -> dict[str, Any]:
    value: dict[str, Any] = {"globalCellID": num.encode_global_cell_id(c.mcc, c.mnc, c.lac, c.ci)}
    if c.latitude is not None and c.longitude is not None:
        geo: dict[str, Any] = {"latitude": num.encode_geo(c.latitude, True),
                               "longitude": num.encode_geo(c.longitude, False)}
        if c.azimuth is not None:
            geo["azimuth"] = c.azimuth
        value["gsmLocation"] = ("geoCoordinates", geo)
    return value


def _comm_id(iri: Iri) -> dict[str, Any]:
    network: dict[str, Any] = {"operator-Identifier": iri.operator.encode()}
    if iri.network_element:
        network["network-Element-Identifier"] = ("e164-Format", num.encode_isup_number(iri.network_element))
    value: dict[str, Any] = {"network-Identifier": network}
    if iri.cin is not None:
        value["communication-Identity-Number"] = iri.cin.encode()
    return value


def _sms(iri: Iri, sms: Sms) -> dict[str, Any]:
    if sms.from_target:
        tpdu = build_submit(sms.text, sms.peer)
    else:
        tpdu = build_deliver(sms.text, sms.peer, sms.sent_at or iri.at)
    if iri.module == "3gpp-cs":
        return {"sMS-Contents": {"sms-initiator": "target" if sms.from_target else "server",
                                 "transfer-status": "succeed-transfer", "content": tpdu}}
    return {"communicationIdentifier": _comm_id(iri), "timeStamp": _time(iri.at),
            "sMS-Contents": {"initiator": "target" if sms.from_target else "server",
                             "transfer-status": "succeed-transfer", "content": tpdu}}


def parameters(iri: Iri) -> dict[str, Any]:
    """The pycrate value of the record's `IRI-Parameters` (exposed for tests)."""
    if iri.module == "3gpp-cs":
        params: dict[str, Any] = {"hi2CSDomainId": _CS.hi2CSDomainId.get_val(), "iRIversion": "lastVersion"}
    elif iri.module == "etsi-hi2":
        params = {"domainID": _ETSI.hi2OperationId.get_val(), "iRIversion": "lastVersion"}
    else:
        raise CodecUsageError(f"cannot encode module {iri.module!r}")
    params["lawfulInterceptionIdentifier"] = iri.liid.encode()
    params["communicationIdentifier"] = _comm_id(iri)
    params["timeStamp"] = _time(iri.at)
    optional = {
        "intercepted-Call-Direct": iri.direction,
        "intercepted-Call-State": iri.call_state,
        "locationOfTheTarget": _cell(iri.cell) if iri.cell else None,
        "partyInformation": [_party(p) for p in iri.parties] or None,
        "release-Reason-Of-Intercepted-Call":
            num.encode_q850_cause(iri.release_cause) if iri.release_cause is not None else None,
        "nature-Of-The-intercepted-call": iri.nature,
        "sMS": _sms(iri, iri.sms) if iri.sms else None,
        "umts-Cs-Event": iri.cs_event if iri.module == "3gpp-cs" else None,
    }
    if iri.sms and iri.sms.service_centre:
        optional["serviceCenterAddress" if iri.module == "3gpp-cs" else "serverCenterAddress"] = {
            "party-Qualifier": "originating-Party" if not iri.sms.from_target else "terminating-Party",
            "partyIdentity": {"msISDN": num.encode_map_address(iri.sms.service_centre)}}
    params.update({k: v for k, v in optional.items() if v is not None})
    return params


def _pdu(module: str) -> Any:
    return _CS.UmtsCS_IRIsContent if module == "3gpp-cs" else _ETSI.IRIsContent


def encode(iri: Iri) -> bytes:
    """One IRI as a BER `IRIsContent` record."""
    if iri.iri_type not in _RECORDS:
        raise CodecUsageError(f"unknown IRI type {iri.iri_type!r}")
    return pycrate_encode(_pdu(iri.module), ("iRIContent", (_RECORDS[iri.iri_type], parameters(iri))))


def encode_sequence(iris: Sequence[Iri]) -> bytes:
    """Several IRIs of one module aggregated into one `IRISequence` record."""
    modules = {i.module for i in iris}
    if len(modules) != 1:
        raise CodecUsageError("an IRISequence holds IRIs of exactly one module")
    items = [(_RECORDS[i.iri_type], parameters(i)) for i in iris]
    return pycrate_encode(_pdu(modules.pop()), ("iRISequence", items))


SENDING_OF_IRI = (0, 4, 0, 2, 2, 1, 1, 1)  # global opcode {hi2DomainId sending-of-IRI(1) version1(1)}


def encode_invoke(record: bytes, invoke_id: int, opcode: tuple[int, ...] = SENDING_OF_IRI) -> bytes:
    """An IRIsContent record wrapped in a ROSE Invoke (X.880) of `sending-of-IRI`."""
    if not -(1 << 31) <= invoke_id < 1 << 31:
        raise CodecUsageError("invokeId out of range")
    arcs = [opcode[0] * 40 + opcode[1], *opcode[2:]]
    oid = b"".join(_base128(a) for a in arcs)
    body = _tlv(0x02, invoke_id.to_bytes((invoke_id.bit_length() + 8) // 8, "big", signed=True))
    return _tlv(0xA1, body + _tlv(0x06, oid) + record)


def _base128(arc: int) -> bytes:
    out = [arc & 0x7F]
    arc >>= 7
    while arc:
        out.append(0x80 | (arc & 0x7F))
        arc >>= 7
    return bytes(reversed(out))


def _tlv(tag: int, value: bytes) -> bytes:
    size = len(value)
    length = bytes((size,)) if size < 0x80 else bytes((0x80 | ((size.bit_length() + 7) // 8),)) + \
        size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag,)) + length + value


def call(liid: str, cin: str, target: Party, other: Party, cell: Cell, start: datetime,
         answered_after: float = 5.0, duration: float = 60.0, originating: bool = True,
         module: str = "etsi-hi2", post_cut_through: str | None = None) -> list[bytes]:
    """Begin (set-up), Continue (answer; with `post_cut_through` keypad digits) and End."""
    direction = "originating-Target" if originating else "terminating-Target"
    parties = (target, other)
    base = Iri("begin", liid, start, cin=cin, direction=direction, call_state="setUpInProcess",
               parties=parties, cell=cell, nature="gSM-ISDN-PSTN-circuit-call", module=module,
               cs_event="call-establishment" if module == "3gpp-cs" else None)
    answer_at = start + timedelta(seconds=answered_after)
    keyed = replace(target, keypad=post_cut_through) if post_cut_through else target
    answer = replace(base, iri_type="continue", at=answer_at, call_state="connected",
                     parties=(keyed, other), cs_event="answer" if module == "3gpp-cs" else None)
    end = replace(base, iri_type="end", at=answer_at + timedelta(seconds=duration), call_state="idle",
                  release_cause=16, cs_event="release" if module == "3gpp-cs" else None)
    return [encode(base), encode(answer), encode(end)]


def sms_report(liid: str, target: Party, sms: Sms, at: datetime, cell: Cell | None = None,
               module: str = "etsi-hi2", cin: str | None = None) -> bytes:
    """IRI-Report of an SMS sent or received by the target."""
    return encode(Iri("report", liid, at, cin=cin, parties=(target,), cell=cell, sms=sms,
                      direction="originating-Target" if sms.from_target else "terminating-Target",
                      nature="gSM-SMS-Message", module=module,
                      cs_event="sMS" if module == "3gpp-cs" else None))


def location_report(liid: str, target: Party, cell: Cell, at: datetime,
                    module: str = "etsi-hi2") -> bytes:
    """IRI-Report of a location update of the target."""
    return encode(Iri("report", liid, at, parties=(target,), cell=cell, module=module,
                      cs_event="location-update" if module == "3gpp-cs" else None))
