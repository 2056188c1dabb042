"""Building 3GPP TS 33.108 MMS records (for the simulator and tests), encoded by pycrate.

    encode_iri(MmsIri(...))           -> one BER MmsIRIsContent (an MmsIRIContent)
    encode_iri_sequence([...])        -> one MmsIRISequence
    encode_cc(MmsCc(...), pdu_bytes)  -> one BER CC-PDU (MMSLIC-header + MMS PDU payload)

Addresses follow OMA MMS ENC: `+12125550199/TYPE=PLMN`, `user@example.net`.  Times are
`localTime` GeneralizedTime with a `Z` zone (absolute UTC).  A value the module cannot
hold raises `CodecUsageError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from pycrate_asn1dir import LI3GPP

from calea.handover.errors import CodecUsageError
from calea.handover.ts101671_asn1 import pycrate_encode

HI2_DOMAIN = (0, 4, 0, 2, 2, 4, 16, 16, 0)
HI3_DOMAIN = (0, 4, 0, 2, 2, 4, 17, 16, 0)
_RECORDS = {"begin": "iRI-Begin-record", "end": "iRI-End-record", "continue": "iRI-Continue-record",
            "report": "iRI-Report-record"}


@dataclass(frozen=True)
class MmsIri:
    liid: str
    at: datetime
    correlation: bytes
    event: str = "send"  # MMSEvent: send, notification, retrieval, delivery, ...
    target: str | None = None  # the target's E.164 number ("+1...")
    sender: str | None = None  # From
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    transaction_id: str | None = None
    message_id: str | None = None
    content_type: str | None = None
    message_size: int | None = None
    version: int = 18  # MMS 1.2 as the header's short integer value
    iri_type: str = "report"


@dataclass(frozen=True)
class MmsCc:
    liid: str
    at: datetime
    correlation: bytes
    direction: str  # from-target / to-target / unknown
    transaction_id: str
    version: int = 18


def _time(at: datetime) -> tuple[str, Any]:
    if at.tzinfo is None:
        raise CodecUsageError("MMS record times must be aware datetimes")
    u = at.astimezone(timezone.utc)
    gen = (f"{u.year:04d}", f"{u.month:02d}", f"{u.day:02d}", f"{u.hour:02d}", f"{u.minute:02d}",
           f"{u.second:02d}", f"{u.microsecond:06d}" if u.microsecond else None, "Z")
    return ("localTime", {"generalizedTime": gen, "winterSummerIndication": "notProvided"})


def parameters(iri: MmsIri) -> dict[str, Any]:
    params: dict[str, Any] = {"hi2mmsDomainId": HI2_DOMAIN, "lawfulInterceptionIdentifier": iri.liid.encode(),
                              "timeStamp": _time(iri.at)}
    if iri.target:
        params["partyInformation"] = [{"party-Qualifier": "mMS-Target",
                                       "partyIdentity": {"e164-Format": iri.target.encode()}}]
    params["mMSevent"] = iri.event
    parties: dict[str, Any] = {}
    for key, values in (("toAddresses", iri.to), ("cCAddresses", iri.cc), ("bCCAddresses", iri.bcc)):
        if values:
            parties[key] = [("text", v) for v in values]
    if iri.sender:
        parties["fromAddresses"] = [("actualAddress", ("text", iri.sender))]
    if parties:
        params["mMSParties"] = parties
    params["mMSVersion"] = iri.version
    optional = {"transactionID": iri.transaction_id, "messageID": iri.message_id,
                "messageSize": iri.message_size, "mMSCorrelationNumber": iri.correlation,
                "contentType": iri.content_type.encode() if iri.content_type else None}
    params.update({k: v for k, v in optional.items() if v is not None})
    return params


def _content(iri: MmsIri) -> tuple[str, Any]:
    if iri.iri_type not in _RECORDS:
        raise CodecUsageError(f"unknown IRI type {iri.iri_type!r}")
    return (_RECORDS[iri.iri_type], parameters(iri))


def encode_iri(iri: MmsIri) -> bytes:
    return pycrate_encode(LI3GPP.MmsHI2Operations.MmsIRIsContent, ("mmsiRIContent", _content(iri)))


def encode_iri_sequence(iris: Sequence[MmsIri]) -> bytes:
    return pycrate_encode(LI3GPP.MmsHI2Operations.MmsIRIsContent, ("mmsIRISequence", [_content(i) for i in iris]))


def encode_cc(cc: MmsCc, pdu: bytes) -> bytes:
    header = {"hi3MmsDomainId": HI3_DOMAIN, "lIID": cc.liid.encode(), "mMSCorrelationNNumber": cc.correlation,
              "timeStamp": _time(cc.at), "t-PDU-direction": cc.direction, "mMSVersion": cc.version,
              "transactionID": cc.transaction_id}
    return pycrate_encode(LI3GPP.Mms_HI3_PS.CC_PDU, {"mmSLIC-header": header, "payload": pdu})
