"""From one decoded `IRI-Parameters` value to call-identifying fields and content parts.

Content (rule A6) is everything a pen-register order may not keep:

* SMS user data: the text (or binary user data) of the TPDU in `sMS.sMS-Contents.content`
  and the `enhancedContent` -> `ContentKind.MESSAGE_BODY`.  The TPDU header (other
  party's number, service-centre time, coding, concatenation) stays in `fields`.
* Keypad digits (DSS1 Keypad facility in the parties' DSS1 parameters) ->
  `ContentKind.POST_CUT_THROUGH_DIGITS`, *unless* the record is an IRI-Begin of a call
  that is not yet connected (`intercepted-Call-State` absent or not `connected`): digits
  keyed during set-up are dialling, reported as `fields["keypad_digits"]`.
  Interpretation: a Continue/End/Report record follows call set-up, so its keypad digits
  are treated as post-cut-through (the safe side of rule A6).
* A SIP message (`sIPMessage`): the start line and headers are signalling (fields); a body
  of type `application/sdp` is session description (fields); any other body is content:
  DTMF bodies (`application/dtmf-relay`, `application/dtmf`) as post-cut-through digits,
  everything else (MESSAGE text, multipart) as a message body.

National parameters (`national-Parameters`, `national-HI2-ASN1parameters`) and the other
components this codec does not interpret are listed by name in `fields["ignored"]`,
never copied (their meaning is national and unknown here).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Callable

from calea.handover import ts101671_numbers as num
from calea.handover import ts101671_parties as pty
from calea.handover.model import ContentKind, ContentPart
from calea.handover.ts101671_sms import GSM7, parse_tpdu

UTC = timezone.utc
_DOMAIN_IDS = ("domainID", "hi2DomainId", "hi2CSDomainId", "hi2epsDomainId")


class Extracted:
    """What one IRI yields besides its LIID and time."""

    def __init__(self, iri_type: str, local_tz: tzinfo | None = None) -> None:
        self.local_tz = local_tz
        self.fields: dict[str, Any] = {"iri_type": iri_type}
        self.content: list[ContentPart] = []
        self.cin: str | None = None
        self.digits = pty.PartyDigits()
        self.ignored: list[str] = []


# --- time stamps (rule A8: an instant in UTC) ------------------------------------------


def _zone(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[3:5] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def time_stamp(value: Any, local_tz: tzinfo | None) -> tuple[datetime | None, dict[str, Any]]:
    """`TimeStamp` CHOICE -> (UTC instant or None, metadata).

    `utcTime` is UTCTime (two-digit year: 50..99 -> 19xx).  `localTime` holds a
    GeneralizedTime which may carry a zone (then it is absolute) or not (local time of the
    operator): a zoneless time is placed in `local_tz` using the winter/summer indication
    to pick the right side of a DST change; without `local_tz` the instant is unknown
    (None) and the text is kept in the metadata."""
    form, inner = pty.choice(value)
    info: dict[str, Any] = {}
    if form == "utcTime" and isinstance(inner, tuple) and len(inner) == 7:
        yy, mo, dd, hh, mi, ss, tz = inner
        year = int(yy) + (1900 if int(yy) >= 50 else 2000)
        stamp = datetime(year, int(mo), int(dd), int(hh), int(mi), int(ss or 0), tzinfo=_zone(tz))
        return stamp.astimezone(UTC), info
    if form != "localTime" or not isinstance(inner, dict):
        return None, {"unresolved": True}
    gen = inner.get("generalizedTime")
    season = str(inner.get("winterSummerIndication", "notProvided"))
    if not isinstance(gen, tuple) or len(gen) != 8:
        return None, {"unresolved": True}
    year, mo, dd, hh, mi, ss, frac, tz = gen
    micro = int(frac[:6].ljust(6, "0")) if frac and ss is not None else 0
    if tz == "Z":
        return datetime(int(year), int(mo), int(dd), int(hh), int(mi or 0), int(ss or 0), micro, UTC), info
    naive = datetime(int(year), int(mo), int(dd), int(hh), int(mi or 0), int(ss or 0), micro)
    zone = _zone(tz)
    if zone is not None:
        return naive.replace(tzinfo=zone).astimezone(UTC), info
    info = {"local": naive.isoformat(), "season": season}
    if local_tz is None:
        info["unresolved"] = True
        return None, info
    return _localize(naive, local_tz, season).astimezone(UTC), info


def _localize(naive: datetime, zone: tzinfo, season: str) -> datetime:
    for fold in (0, 1):
        candidate = naive.replace(tzinfo=zone, fold=fold)
        dst = bool(candidate.dst())
        if season == "notProvided" or dst == (season == "summerTime"):
            return candidate
    return naive.replace(tzinfo=zone)


def iso(stamp: datetime | None) -> str | None:
    return None if stamp is None else stamp.isoformat().replace("+00:00", "Z")


# --- SMS ------------------------------------------------------------------------------

_ENHANCED: dict[str, Callable[[bytes], str]] = {
    "gsm-7-bit-ascii": lambda b: "".join(GSM7[o & 0x7F] for o in b),
    "eight-bit-ascii": lambda b: b.decode("latin-1"),
    "ucs-2": lambda b: b.decode("utf-16-be", "replace"),
    "utf-8": lambda b: b.decode("utf-8", "replace"),
    "utf-16": lambda b: b.decode("utf-16", "replace"),
}


def _text_part(text: str, name: str) -> ContentPart:
    return ContentPart(ContentKind.MESSAGE_BODY, text.encode("utf-8"), "text/plain; charset=utf-8", name)


def _binary_part(data: bytes) -> ContentPart:
    return ContentPart(ContentKind.MESSAGE_BODY, data, "application/octet-stream", "sms-user-data")


def sms(value: Any, out: Extracted, local_tz: tzinfo | None) -> None:
    if not isinstance(value, dict):
        return
    meta: dict[str, Any] = {}
    if "communicationIdentifier" in value:
        meta["communication_identifier"] = pty.communication_identifier(value["communicationIdentifier"])[0]
    if "timeStamp" in value:
        meta["time_stamp"] = iso(time_stamp(value["timeStamp"], local_tz)[0])
    contents = value.get("sMS-Contents")
    if isinstance(contents, dict):
        initiator = contents.get("initiator", contents.get("sms-initiator"))
        if initiator is not None:
            meta["initiator"] = str(initiator)
        for name, key in (("transfer-status", "transfer_status"), ("other-message", "other_message")):
            if name in contents:
                meta[key] = str(contents[name])
        tpdu = contents.get("content")
        if isinstance(tpdu, bytes):
            from_mobile = {"target": True, "server": False}.get(str(initiator))
            parts = parse_tpdu(tpdu, from_mobile)
            meta.update(parts.fields)
            if parts.text is not None:
                out.content.append(_text_part(parts.text, "sms-text"))
            if parts.user_data is not None:
                out.content.append(_binary_part(parts.user_data))
            if parts.unparsed is not None:
                out.content.append(ContentPart(ContentKind.MESSAGE_BODY, parts.unparsed,
                                               "application/vnd.3gpp.sms", "sms-tpdu"))
        enhanced = contents.get("enhancedContent")
        if isinstance(enhanced, dict) and isinstance(enhanced.get("content"), bytes):
            encoding = str(enhanced.get("character-encoding", "other"))
            meta["enhanced_encoding"] = encoding
            decode = _ENHANCED.get(encoding)
            if decode is not None:
                out.content.append(_text_part(decode(enhanced["content"]), "sms-text"))
            else:
                out.content.append(_binary_part(enhanced["content"]))
    out.fields["sms"] = meta


# --- SIP ------------------------------------------------------------------------------

_DTMF_TYPES = ("application/dtmf-relay", "application/dtmf")


def sip_message(raw: Any, out: Extracted) -> None:
    if not isinstance(raw, bytes):
        return
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    lines = head.decode("utf-8", "backslashreplace").splitlines()
    meta: dict[str, Any] = {"start_line": lines[0] if lines else "", "headers": lines[1:]}
    ctype = ""
    for line in lines[1:]:
        name, _, val = line.partition(":")
        if name.strip().lower() in ("content-type", "c"):
            ctype = val.strip()
    base = ctype.split(";")[0].strip().lower()
    if body and base == "application/sdp":
        meta["sdp"] = body.decode("utf-8", "backslashreplace")
    elif body:
        kind = ContentKind.POST_CUT_THROUGH_DIGITS if base in _DTMF_TYPES else ContentKind.MESSAGE_BODY
        out.content.append(ContentPart(kind, body, ctype or "application/octet-stream", "sip-body"))
    out.fields["sip"] = meta


# --- the parameters -------------------------------------------------------------------


def _enum(key: str) -> Callable[[Any, Extracted], None]:
    def put(value: Any, out: Extracted) -> None:
        out.fields[key] = str(value)

    return put


def _duration(key: str) -> Callable[[Any, Extracted], None]:
    def put(value: Any, out: Extracted) -> None:
        if isinstance(value, bytes):
            out.fields[key] = num.bcd_duration(value)

    return put


def _comm_id(value: Any, out: Extracted) -> None:
    out.fields["communication_identifier"], out.cin = pty.communication_identifier(value)


def _correlation(value: Any, out: Extracted) -> None:
    if isinstance(value, bytes):
        out.fields["correlation_number"] = value.hex()
        out.cin = out.cin or value.hex()


def _cc_links(value: Any, out: Extracted) -> None:
    if not isinstance(value, dict):
        return
    links = {}
    for name, link in value.items():
        if not isinstance(link, dict):
            continue
        item: dict[str, Any] = {}
        if "cCLink-State" in link:
            item["state"] = str(link["cCLink-State"])
        if "release-Time" in link:
            item["release_time"] = iso(time_stamp(link["release-Time"], None)[0])
        if isinstance(link.get("release-Reason"), bytes):
            item["release_cause"] = num.q850_cause(link["release-Reason"])
        if "lEMF-Address" in link:
            item["lemf_address"] = num.party_number(link["lEMF-Address"], calling=False)
        links[name] = item
    out.fields["cc_links"] = links


def _put(key: str, convert: Callable[[Any], Any]) -> Callable[[Any, Extracted], None]:
    def put(value: Any, out: Extracted) -> None:
        out.fields[key] = convert(value)

    return put


def _parties(value: Any, out: Extracted) -> None:
    if isinstance(value, list):
        out.fields["parties"] = pty.parties(value, out.digits)


def _service_centre(value: Any, out: Extracted) -> None:
    out.fields["service_centre"] = pty.party(value, out.digits)


def _bytes(convert: Callable[[bytes], Any]) -> Callable[[Any], Any]:
    return lambda v: convert(v) if isinstance(v, bytes) else None


HANDLERS: dict[str, Callable[[Any, Extracted], None]] = {
    "iRIversion": _enum("iri_version"),
    "communicationIdentifier": _comm_id,
    "intercepted-Call-Direct": _enum("direction"),
    "initiator": _enum("direction"),
    "intercepted-Call-State": _enum("call_state"),
    "ringingDuration": _duration("ringing_duration_s"),
    "conversationDuration": _duration("conversation_duration_s"),
    "locationOfTheTarget": _put("location", pty.location),
    "partyInformation": _parties,
    "callContentLinkInformation": _cc_links,
    "release-Reason-Of-Intercepted-Call": _put("release_cause", _bytes(num.q850_cause)),
    "nature-Of-The-intercepted-call": _enum("nature"),
    "serverCenterAddress": _service_centre,
    "serviceCenterAddress": _service_centre,
    "cC-Link-Identifier": _put("cc_link_identifier", pty.text),
    "gPRSCorrelationNumber": _correlation,
    "ePSCorrelationNumber": _correlation,
    "gPRSevent": _enum("gprs_event"),
    "ePSevent": _enum("eps_event"),
    "iMSevent": _enum("ims_event"),
    "ldiEvent": _enum("ldi_event"),
    "umts-Cs-Event": _enum("umts_cs_event"),
    "sgsnAddress": _put("sgsn_address", pty.data_node_address),
    "ggsnAddress": _put("ggsn_address", pty.data_node_address),
    "sMSOriginatingAddress": _put("sms_originating_address", pty.data_node_address),
    "sMSTerminatingAddress": _put("sms_terminating_address", pty.data_node_address),
    "networkIdentifier": _put("network_identifier", pty.network_identifier),
    "servingSystem": _put("serving_system", pty.network_element),
    "servingSGSN-number": _put("serving_sgsn_number", _bytes(num.map_address)),
    "serving-System-Identifier": _put("serving_system_identifier", _bytes(bytes.hex)),
    "sIPMessage": sip_message,
}


def _skip(value: Any, out: Extracted) -> None:
    """LIID and time stamp: read by the caller."""


def _domain(value: Any, out: Extracted) -> None:
    out.fields["domain_id"] = ".".join(map(str, value))


HANDLERS.update({name: _domain for name in _DOMAIN_IDS})
HANDLERS.update({"lawfulInterceptionIdentifier": _skip, "timeStamp": _skip,
                 "sMS": lambda value, out: sms(value, out, out.local_tz)})


def extract(params: dict[str, Any], iri_type: str, local_tz: tzinfo | None) -> Extracted:
    """Fields and content of one IRI (LIID and time are read by the caller)."""
    out = Extracted(iri_type, local_tz)
    handlers = HANDLERS
    for name, value in params.items():
        handler = handlers.get(name)
        if handler is None:
            out.ignored.append(name)
        else:
            handler(value, out)
    _keypad(params, iri_type, out)
    if out.ignored:
        out.fields["ignored"] = out.ignored
    return out


def _keypad(params: dict[str, Any], iri_type: str, out: Extracted) -> None:
    keyed = "".join(out.digits.keypad)
    if not keyed:
        return
    connected = params.get("intercepted-Call-State") == "connected"
    if iri_type == "begin" and not connected:
        out.fields["keypad_digits"] = keyed
    else:
        out.content.append(ContentPart(ContentKind.POST_CUT_THROUGH_DIGITS, keyed.encode("ascii", "replace"),
                                       "text/plain; charset=us-ascii", "keypad-digits"))
