"""PacketCable Electronic Surveillance (PCESP): CDC messages -> `Delivery`.

SPEC: PacketCable Electronic Surveillance Delivery Function to Collection Function
Interface (PKT-SP-ES-DCI), ASN.1 module `PCESP` (version 4), as shipped compiled by
pycrate (`pycrate_asn1dir.LIETSI.PCESP`).

Call-data channel (CDC): a TCP stream of BER `CdcPdu` records (split by their outer
length by the shared splitter); `decode_cdc()` handles one record:
format `pcesp-cdc`, channel HI2, kind IRI, LIID = `caseId`, `intercepted_at` =
`eventTime`, `cin` = the call identity `systemidentity:sequencenumber` (for CCOpen the
first call of `ccOpenTime`, for Redirection the old call; CCClose names no call: None).
`fields["message"]` is the CHOICE name (`origination`, `answer`, `ccopen`, ...).

NetworkSignal (a signal the network applies to a party of the call): `audible_signal`
(`subjectAudibleSignal`, an `AudibleSignal` name: ringbackTone, busyTone, reorderTone,
tonesOff, ...), `alerting_signal` (`AlertingSignal`: alertingPattern0..9,
callWaitingPattern1..4, bargeInTone), `terminal_display` (`TerminalDisplayInfo`),
`other_signal` (free text) and `signaled_to` (the party it is applied to) -- all
call-identifying signalling (A1).  Release has no cause field in either PCESP version
(v3, v4: caseId, accessingElementId, eventTime, callId only), so nothing says why a call
ended; `calea.sessions.call_cdc` reads the outcome from the NetworkSignals before it.

EventTime is a GeneralizedTime; PKT-SP-ES-DCI stamps are UTC, so a time without zone is
taken as UTC and flagged `fields["event_time_zone"] = "assumed-utc"`.

Content (rule A6), interpretation:

* `DialedDigitExtraction.digits` are the digits the subject dialled after the call was
  cut through (the message exists for post-cut-through dialled digit extraction) ->
  `ContentKind.POST_CUT_THROUGH_DIGITS`.
* `SubjectSignal.signal.dialedDigits` with a `callId` are digits dialled during a call
  -> also `POST_CUT_THROUGH_DIGITS` (the safe side of A6); without a `callId` they are
  out-of-call dialling (feature codes) and stay in `fields`.
* `Origination.input` (`userinput` / `translationinput`) is the dialled number of the
  call set-up: call-identifying, in `fields["dialed_digits"]`.
* SDP (`subject` / `associate`) is signalling (media addresses, codecs): fields.

The call-content channel (CCC) is in `pcesp_ccc` (`decode_ccc`).
Only `MalformedRecord` leaves `decode_cdc()`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pycrate_asn1dir import LIETSI

from calea.handover.errors import MalformedRecord
from calea.handover.model import Channel, ContentKind, ContentPart, Delivery, RecordKind
from calea.handover.pcesp_ccc import ccc_id_value, decode_ccc, encode_ccc
from calea.handover.ts101671_asn1 import SchemaDecoder

__all__ = ["FORMAT_CDC", "decode_cdc", "decode_ccc", "encode_ccc", "call_id_key"]

FORMAT_CDC = "pcesp-cdc"
_DECODER = SchemaDecoder(LIETSI.PCESP.CdcPdu)
_PARTY_FIELDS = ("dn", "userProvided", "ipAddress", "trunkId", "genericAddress",
                 "genericDigits", "genericName", "port", "context")
_PARTY_KEYS = {"answering": "answering", "calling": "calling", "called": "called",
               "redirectedto": "redirected_to", "redirectedfrom": "redirected_from",
               "firstCallCalling": "first_call_calling", "secondCallCalling": "second_call_calling",
               "signaledToPartyId": "signaled_to", "signaledFromPartyId": "signaled_from"}
_ENUMS = {"flowDirection": "flow_direction", "resourceState": "resource_state",
          "alertingSignal": "alerting_signal", "subjectAudibleSignal": "audible_signal"}
_TEXTS = {"accessingElementId": "accessing_element", "transitCarrierId": "transit_carrier",
          "serviceName": "service_name", "other": "other_signal", "subject": "sdp_subject",
          "associate": "sdp_associate"}


def call_id_key(call_id: Any) -> str | None:
    """`systemidentity:sequencenumber` of a `CallId` value."""
    if not isinstance(call_id, dict):
        return None
    return f"{call_id.get('systemidentity', '')}:{call_id.get('sequencenumber', '')}"


def event_time(gen: Any) -> tuple[datetime, bool]:
    """(UTC instant, zone assumed) of a pycrate GeneralizedTime value."""
    year, month, day, hour, minute, second, fraction, zone = gen
    micro = int((fraction or "0")[:6].ljust(6, "0")) if second is not None else 0
    stamp = datetime(int(year), int(month), int(day), int(hour), int(minute or 0),
                     int(second or 0), micro, tzinfo=timezone.utc)
    if zone in (None, "Z"):
        return stamp, zone is None
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0))
    return stamp - offset if zone[0] == "+" else stamp + offset, False


def party_id(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {name: str(value[name]) for name in _PARTY_FIELDS if name in value}


def ccc_id(value: Any) -> dict[str, Any]:
    """A `CCCId` CHOICE: combined or separate transmit/receive CCC identifiers, each
    also as its 32-bit value (the 8-hex-digit text of the CCC datagram header)."""
    form, inner = value if isinstance(value, tuple) else ("", value)
    if form == "combCCC":
        return {"combined": str(inner), "combined_id": ccc_id_value(str(inner))}
    if form == "sepCCCpair" and isinstance(inner, dict):
        xmit, recv = str(inner.get("sepXmitCCC", "")), str(inner.get("sepRecvCCC", ""))
        return {"transmit": xmit, "transmit_id": ccc_id_value(xmit),
                "receive": recv, "receive_id": ccc_id_value(recv)}
    return {}


def _conference(value: Any) -> list[dict[str, Any]]:
    out = []
    for item in value if isinstance(value, list) else ():
        entry: dict[str, Any] = {"parties": [party_id(p) for p in item.get("partyId", ())]}
        if "cCCId" in item:
            entry["ccc"] = ccc_id(item["cCCId"])
        out.append(entry)
    return out


def _redirected_from(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "lastRedirecting" in value:
        out["last_redirecting"] = party_id(value["lastRedirecting"])
    if "originalCalled" in value:
        out["original_called"] = party_id(value["originalCalled"])
    if "numRedirections" in value:
        out["count"] = value["numRedirections"]
    return out


def _fields(name: str, body: dict[str, Any]) -> tuple[dict[str, Any], list[ContentPart], str | None]:
    fields: dict[str, Any] = {"message": name}
    content: list[ContentPart] = []
    cin: str | None = None
    for key, value in body.items():
        if key in ("caseId", "eventTime"):
            continue
        if key in ("callId", "old"):
            cin = call_id_key(value)
            fields["call_id" if key == "callId" else "old_call_id"] = cin
        elif key in ("new", "relatedCallId"):
            fields["new_call_id" if key == "new" else "related_call_id"] = call_id_key(value)
        elif key in _PARTY_KEYS:
            fields[_PARTY_KEYS[key]] = party_id(value)
        elif key in _ENUMS:
            fields[_ENUMS[key]] = str(value)
        elif key in _TEXTS:
            fields[_TEXTS[key]] = str(value)
        elif key == "input":
            fields["dialed_digits"] = {"source": value[0], "digits": str(value[1])}
        elif key == "ccOpenOption":
            calls = [call_id_key(c) for c in value[1]] if value[0] == "ccOpenTime" else []
            fields["call_ids"] = calls
            cin = calls[0] if calls else None
        elif key == "cCCId":
            fields["ccc"] = ccc_id(value)
        elif key == "redirectedFromInfo":
            fields["redirected_from_info"] = _redirected_from(value)
        elif key == "terminalDisplayInfo":
            fields["terminal_display"] = {k: str(v) for k, v in value.items()}
        elif key in ("communicating", "removed", "joined"):
            fields[key] = _conference(value)
        elif key == "digits":
            content.append(_digits(str(value)))
        elif key == "signal":
            fields["signal"] = _signal(value, "callId" in body, content)
    return fields, content, cin


def _digits(digits: str) -> ContentPart:
    return ContentPart(ContentKind.POST_CUT_THROUGH_DIGITS, digits.encode("ascii", "replace"),
                       "text/plain; charset=us-ascii", "dialed-digits")


def _signal(value: dict[str, Any], in_call: bool, content: list[ContentPart]) -> dict[str, str]:
    out = {}
    for key, item in value.items():
        if key == "dialedDigits" and in_call:
            content.append(_digits(str(item)))
        else:
            out[key] = str(item)
    return out


def decode_cdc(record: bytes) -> Delivery:
    """One CDC message (`CdcPdu`)."""
    record = bytes(record)
    pdu = _DECODER.decode(record)
    name, body = pdu["message"]
    if not isinstance(body, dict) or "caseId" not in body:
        raise MalformedRecord("pcesp-reserved-message", f"CDC message {name} carries no case")
    try:
        at, assumed = event_time(body["eventTime"])
        fields, content, cin = _fields(name, body)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise MalformedRecord("pcesp-invalid-field", f"{type(exc).__name__}: {exc}") from None
    fields["protocol_version"] = str(pdu["protocolVersion"])
    if assumed:
        fields["event_time_zone"] = "assumed-utc"
    return Delivery(
        format=FORMAT_CDC,
        channel=Channel.HI2,
        kind=RecordKind.IRI,
        liid=str(body["caseId"]),
        intercepted_at=at,
        raw=record,
        cin=cin,
        sequence=None,
        fields=fields,
        content=tuple(content),
    )
