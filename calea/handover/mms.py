"""3GPP TS 33.108 MMS handover: HI2 IRI (MmsHI2Operations) and HI3 CC-PDUs (Mms-HI3-PS).

SPEC: 3GPP TS 33.108 clause 15 and annex B (MmsHI2Operations hi2mms(16), Mms-HI3-PS
hi3mms(17)); the HI3 payload is an MMS PDU in the OMA binary encapsulation
(`calea.handover.mms_pdu`).  pycrate's compiled modules (`pycrate_asn1dir.LI3GPP`
`MmsHI2Operations`, `Mms_HI3_PS`) drive the BER decoding through `SchemaDecoder`.

    decode(record, Channel.HI2)  -> [Delivery, ...]   # one per MmsIRIContent (IRISequence: n)
    decode(record, Channel.HI3)  -> [Delivery]        # one CC-PDU

Format "3gpp-mms".  Rule A6 split:
* HI2 `fields["mms"]`: the MMS event, parties (target identities, To / Cc / Bcc / From),
  service centre, ids (transaction, message, correlation), times, class, priority,
  status, size and content type -- what TS 33.108 defines as IRI; any other parameter
  is left out (`mMSAttributes.attributeContent` is content).
* HI3: the MMSLIC header and the PDU's addressing go to `fields["mms"]`; the Subject and
  every body part (text, SMIL, image, audio, video, vCard) are content parts of kind
  `MMS_PART`, one per part, with their media type and name.  The HI3 delivery has kind
  IRI (an index record with fields and parts, on channel HI3), because the store keeps
  CC records as bare packet runs without fields or parts.
`cin` is the MMS correlation number (hex), which ties an HI2 report to its HI3 PDU.
Only `MalformedRecord` leaves `decode()`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pycrate_asn1dir import LI3GPP

from calea.handover import ber
from calea.handover import ts101671_parties as pty
from calea.handover.errors import MalformedRecord
from calea.handover.mms_pdu import MmsFormatError, MmsPdu, parse_pdu
from calea.handover.model import Channel, ContentKind, ContentPart, Delivery, RecordKind
from calea.handover.ts101671_asn1 import SchemaDecoder
from calea.handover.ts101671_fields import iso, time_stamp

FORMAT = "3gpp-mms"
HI2_OID_PREFIX = (0, 4, 0, 2, 2, 4, 16)
HI3_OID_PREFIX = (0, 4, 0, 2, 2, 4, 17)
IRI_TYPES = {"iRI-Begin-record": "begin", "iRI-End-record": "end", "iRI-Continue-record": "continue",
             "iRI-Report-record": "report"}
_HI2 = SchemaDecoder(LI3GPP.MmsHI2Operations.MmsIRIsContent)
_HI3 = SchemaDecoder(LI3GPP.Mms_HI3_PS.CC_PDU)
_IDENTITIES = {"mSISDN": "msisdn", "mMSAddress": "mms_address", "mMSAddressNonLocalID": "mms_address_non_local",
               "e-Mail": "email", "e164-Format": "e164", "alphanum-Shortcode": "alphanumeric_shortcode",
               "num-Shortcode": "numeric_shortcode", "iMSI": "imsi"}
_PLAIN = {"mMSVersion": "version", "transactionID": "transaction_id", "messageID": "message_id",
          "messageSize": "message_size", "mMSevent": "event", "mMSStatus": "status", "mMState": "state",
          "priority": "priority", "deliveryReport": "delivery_report", "readReport": "read_report",
          "senderVisibility": "sender_visibility", "storeStatus": "store_status", "mMSMessageCount": "message_count",
          "contentClass": "content_class", "cancelID": "cancel_id", "replaceID": "replace_id"}
_TIMES = {"mMSDateTime": "date", "expiry": "expiry", "desiredDeliveryTime": "desired_delivery_time",
          "mMSForwardReqDateTime": "forward_request_time"}


def decode(record: bytes, channel: Channel | None = None) -> list[Delivery]:
    try:
        return _decode(bytes(record), channel)
    except MalformedRecord:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise MalformedRecord("mms-invalid-field", f"{type(exc).__name__}: {exc}") from None


def _decode(record: bytes, channel: Channel | None) -> list[Delivery]:
    key, vs, ve = ber.read_tlv(record, 0, len(record))
    if channel is None:
        channel = Channel.HI3 if key == 0x30 and _first_oid(record, vs, ve)[:7] == HI3_OID_PREFIX else Channel.HI2
    if channel is Channel.HI3:
        return [_cc_pdu(record)]
    value = _HI2.decode(record)
    form, content = value
    if form == "mmsiRIContent":
        return [_iri(record, content, None)]
    elements, pos = [], vs
    while pos < ve:
        _, _, end = ber.read_tlv(record, pos, ve)
        elements.append(record[pos:end])
        pos = end
    if not elements or len(elements) != len(content):
        raise MalformedRecord("mms-empty-sequence", "MmsIRISequence without IRIs")
    return [_iri(raw, item, (i, len(elements))) for i, (raw, item) in enumerate(zip(elements, content))]


def _first_oid(record: bytes, vs: int, ve: int) -> tuple[int, ...]:
    """The OID that opens the first inner SEQUENCE (MMSLIC-header / IRI-Parameters)."""
    try:
        _, hq, he = ber.read_tlv(record, vs, ve)
        tag, oq, oe = ber.read_tlv(record, hq, he)
        return tuple(int(a) for a in ber.decode_oid(record[oq:oe]).split(".")) if tag == 0x80 else ()
    except (MalformedRecord, ValueError):
        return ()


def _text(raw: Any) -> str:
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", "replace")
        return text if text.isprintable() else raw.hex()
    return str(raw)


def _encoded(value: Any) -> str:
    """EncodedString: text [1] UTF8String | encodedTextString [2] {stringType, actualString}."""
    form, inner = pty.choice(value)
    if form == "encodedTextString" and isinstance(inner, dict):
        return _text(inner.get("actualString", b""))
    return _text(inner)


def _party(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(value, dict):
        return out
    if "party-Qualifier" in value:
        out["qualifier"] = str(value["party-Qualifier"])
    for name, item in (value.get("partyIdentity") or {}).items():
        if name == "iPAddress":
            out["ip_address"] = pty.ip_address(item)
        elif name in _IDENTITIES:
            out[_IDENTITIES[name]] = _text(item)
    return out


def _parties(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in (("toAddresses", "to"), ("cCAddresses", "cc"), ("bCCAddresses", "bcc")):
        if key in value:
            out[name] = [_encoded(a) for a in value[key]]
    if "fromAddresses" in value:
        out["from"] = [("insert-address" if form == "insertToken" else _encoded(inner))
                       for form, inner in (pty.choice(a) for a in value["fromAddresses"])]
    return out


def _generalized(value: Any) -> str | None:
    """A GeneralizedTime (pycrate tuple) as ISO 8601: UTC when it has a zone, else the
    local time as written (no zone: the operator's local time)."""
    if not (isinstance(value, tuple) and len(value) == 8):
        return None
    year, mo, dd, hh, mi, ss, frac, tz = value
    micro = int(frac[:6].ljust(6, "0")) if frac else 0
    stamp = datetime(int(year), int(mo), int(dd), int(hh), int(mi or 0), int(ss or 0), micro)
    if not tz:
        return stamp.isoformat()
    if tz != "Z":
        sign = -1 if tz[0] == "-" else 1
        offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5] or 0)) * sign
        stamp = stamp - offset
    return iso(stamp.replace(tzinfo=timezone.utc))


def _iri(raw: bytes, content: Any, aggregate: tuple[int, int] | None) -> Delivery:
    record_name, params = content
    iri_type = IRI_TYPES.get(record_name)
    if iri_type is None or not isinstance(params, dict):
        raise MalformedRecord("mms-unknown-record", f"unknown IRI record {record_name}")
    at, stamp_info = time_stamp(params["timeStamp"], None)
    mms: dict[str, Any] = {}
    for name, key in _PLAIN.items():
        if name in params:
            v = params[name]
            mms[key] = v if isinstance(v, (int, str, bool)) else _text(v)
    for name, key in _TIMES.items():
        if name in params:
            mms[key] = _generalized(params[name])
    if "partyInformation" in params:
        mms["parties"] = [_party(p) for p in params["partyInformation"]]
    if "serviceCenterAddress" in params:
        mms["service_centre"] = _party(params["serviceCenterAddress"])
    if "mMSParties" in params:
        mms.update(_parties(params["mMSParties"]))
    if "messageClass" in params:
        mms["message_class"] = str(pty.choice(params["messageClass"])[1])
    if "contentType" in params:
        mms["content_type"] = _text(params["contentType"])
    if "mMSCorrelationNumber" in params:
        mms["correlation"] = params["mMSCorrelationNumber"].hex()
    if "locationOfTheTarget" in params:
        mms["location"] = pty.location(params["locationOfTheTarget"])
    parts = []
    attrs = params.get("mMSAttributes")
    if attrs is not None and pty.choice(attrs)[0] == "attributeContent":  # content (A6)
        parts.append(ContentPart(ContentKind.MMS_PART, bytes(pty.choice(attrs)[1]), "application/octet-stream",
                                 "attributeContent"))
    fields: dict[str, Any] = {"module": "3gpp-mms", "iri_type": iri_type, "event": f"mms-{mms.get('event', iri_type)}",
                              "mms": mms}
    if stamp_info:
        fields["time_stamp"] = stamp_info
    if aggregate is not None:
        fields["aggregate"] = {"index": aggregate[0], "count": aggregate[1]}
    return Delivery(format=FORMAT, channel=Channel.HI2, kind=RecordKind.IRI,
                    liid=_text(params["lawfulInterceptionIdentifier"]), intercepted_at=at, raw=raw,
                    cin=mms.get("correlation"), fields=fields, content=tuple(parts))


def _pdu_fields(pdu: MmsPdu) -> dict[str, Any]:
    """The addressing of an MMS PDU (A1): never its Subject or parts."""
    out: dict[str, Any] = {"message_type": pdu.message_type}
    for key in ("transaction_id", "version", "message_id", "sender", "content_type"):
        value = getattr(pdu, key)
        if value is not None:
            out["from" if key == "sender" else key] = [value] if key == "sender" else value
    if pdu.date is not None:
        out["date"] = iso(pdu.date)
    for key in ("to", "cc", "bcc"):
        if getattr(pdu, key):
            out[key] = list(getattr(pdu, key))
    return out


def pdu_parts(pdu: MmsPdu) -> list[ContentPart]:
    """The content of an MMS PDU (A6): the Subject, then each body part."""
    parts = []
    if pdu.subject is not None:
        parts.append(ContentPart(ContentKind.MMS_PART, pdu.subject.encode("utf-8"), "text/plain; charset=utf-8", "subject"))
    for i, p in enumerate(pdu.parts):
        media = p.media_type + (f"; charset={p.charset}" if p.charset and p.media_type.startswith("text/") else "")
        parts.append(ContentPart(ContentKind.MMS_PART, p.data, media, p.name or f"part-{i + 1}"))
    return parts


def _cc_pdu(record: bytes) -> Delivery:
    value = _HI3.decode(record)
    header = value["mmSLIC-header"]
    at, stamp_info = time_stamp(header["timeStamp"], None)
    mms: dict[str, Any] = {"correlation": header["mMSCorrelationNNumber"].hex(),
                           "direction": str(header["t-PDU-direction"]), "version": header["mMSVersion"],
                           "transaction_id": header["transactionID"]}
    if "ice-type" in header:
        mms["ice_type"] = str(header["ice-type"])
    payload: bytes = value["payload"]
    try:
        pdu = parse_pdu(payload)
    except MmsFormatError as exc:
        mms["pdu"] = {"unparsed": str(exc)[:200]}
        parts = [ContentPart(ContentKind.MMS_PART, payload, "application/vnd.wap.mms-message", "mms-pdu")]
    else:
        mms["pdu"] = _pdu_fields(pdu)
        parts = pdu_parts(pdu)
    fields: dict[str, Any] = {"module": "3gpp-mms-hi3", "event": "mms-cc", "mms": mms}
    if stamp_info:
        fields["time_stamp"] = stamp_info
    liid = header.get("lIID")
    return Delivery(format=FORMAT, channel=Channel.HI3, kind=RecordKind.IRI, liid=_text(liid) if liid else "",
                    intercepted_at=at, raw=record, cin=mms["correlation"], fields=fields, content=tuple(parts))
