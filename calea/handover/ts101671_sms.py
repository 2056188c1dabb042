"""SMS TPDUs (3GPP TS 23.040) inside an IRI `SMS-report`: addressing apart from text.

The IRI carries the SMS "in the format defined for the SMS mobile", i.e. the whole
TPDU.  Its header is call-identifying (the other party's number, the service centre
time stamp, the data coding); its user data is content (rule A6).  `parse_tpdu()` keeps
the two apart: `SmsParts.fields` is metadata only, `SmsParts.text` / `user_data` is
content.  The multipart header (TS 23.040 9.2.3.24: concatenation, application ports)
is reported as metadata so that sessions can join parts; other header elements stay in
the content.

Direction: TP-MTI 0 is SMS-DELIVER towards the mobile and SMS-DELIVER-REPORT from it,
1 is SMS-SUBMIT from the mobile; the IRI's `initiator` (target / server) says which side
sent the TPDU, and a TPDU is parsed as SUBMIT (mobile sent it) or DELIVER (network sent
it) accordingly; without an initiator, TP-MTI alone decides.

`parse_tpdu()` never raises: a TPDU it cannot parse is returned whole as content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from calea.handover.ts101671_numbers import encode_tbcd, tbcd_digits

# GSM 03.38 / TS 23.038 default alphabet and its extension table (after 0x1B).
GSM7 = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~",
            0x3E: "]", 0x40: "|", 0x65: "€"}
_GSM7_INDEX = {c: i for i, c in enumerate(GSM7) if i != 0x1B}
_GSM7_EXT_INDEX = {c: i for i, c in GSM7_EXT.items()}
_TON = {0: "unknown", 1: "international", 2: "national", 3: "network-specific",
        4: "subscriber", 5: "alphanumeric", 6: "abbreviated"}


@dataclass
class SmsParts:
    fields: dict[str, Any] = field(default_factory=dict)
    text: str | None = None  # decoded user text (content)
    user_data: bytes | None = None  # undecodable user data (content)
    unparsed: bytes | None = None  # the whole TPDU when the header could not be parsed


class _Short(Exception):
    pass


def unpack_septets(data: bytes, count: int, skip_bits: int = 0) -> list[int]:
    bits = int.from_bytes(data, "little")
    return [(bits >> (skip_bits + 7 * i)) & 0x7F for i in range(count)
            if skip_bits + 7 * i + 7 <= 8 * len(data)]


def pack_septets(septets: list[int], skip_bits: int = 0) -> bytes:
    bits = 0
    for i, s in enumerate(septets):
        bits |= s << (skip_bits + 7 * i)
    size = (skip_bits + 7 * len(septets) + 7) // 8
    return bits.to_bytes(size, "little")


def gsm7_decode(septets: list[int]) -> str:
    out = []
    escape = False
    for s in septets:
        if escape:
            out.append(GSM7_EXT.get(s, " "))
            escape = False
        elif s == 0x1B:
            escape = True
        else:
            out.append(GSM7[s])
    return "".join(out)


def gsm7_encode(text: str) -> list[int] | None:
    """Septets of `text`, or None when it needs UCS-2."""
    out: list[int] = []
    for c in text:
        if c in _GSM7_INDEX:
            out.append(_GSM7_INDEX[c])
        elif c in _GSM7_EXT_INDEX:
            out.extend((0x1B, _GSM7_EXT_INDEX[c]))
        else:
            return None
    return out


def _alphabet(dcs: int) -> str:
    """'gsm7', '8bit' or 'ucs2' from TP-DCS (TS 23.038 clause 4)."""
    group = dcs >> 4
    if group <= 7:  # general data coding (bit 5: compressed)
        if dcs & 0x20:
            return "8bit"
        return ("gsm7", "8bit", "ucs2", "8bit")[(dcs >> 2) & 0x03]
    if group in (0x0C, 0x0D):
        return "gsm7"
    if group == 0x0E:
        return "ucs2"
    if group == 0x0F:
        return "8bit" if dcs & 0x04 else "gsm7"
    return "8bit"


def _take(data: bytes, pos: int, size: int) -> bytes:
    if pos + size > len(data):
        raise _Short
    return data[pos:pos + size]


def _address(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    """TP-OA / TP-DA / TP-RA (TS 23.040 9.1.2.5): digit count, TOA, semi-octets."""
    count, toa = _take(data, pos, 2)
    body = _take(data, pos + 2, (count + 1) // 2)
    ton = (toa >> 4) & 0x07
    info: dict[str, Any] = {"type": _TON.get(ton, f"reserved-{ton}"), "plan": toa & 0x0F}
    if ton == 5:
        info["digits"] = gsm7_decode(unpack_septets(body, count * 4 // 7))
    else:
        info["digits"] = tbcd_digits(body)[:count]
        if ton == 1 and info["digits"].isdigit():
            info["e164"] = "+" + info["digits"]
    return info, pos + 2 + len(body)


def _scts(raw: bytes) -> str | None:
    """TP-SCTS (TS 23.040 9.2.3.11) as an ISO 8601 UTC instant."""
    yy, mo, dd, hh, mi, ss = [((o & 0x0F) * 10 + (o >> 4)) for o in raw[:6]]
    tz = raw[6]
    quarters = (tz & 0x07) * 10 + (tz >> 4)
    offset = timedelta(minutes=15 * quarters) * (-1 if tz & 0x08 else 1)
    try:
        local = datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=timezone(offset))
    except ValueError:
        return None
    return local.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _user_header(header: bytes, fields: dict[str, Any]) -> None:
    pos = 0
    while pos + 2 <= len(header):
        iei, size = header[pos], header[pos + 1]
        value = header[pos + 2:pos + 2 + size]
        if iei == 0x00 and size == 3:
            fields["concatenated"] = {"reference": value[0], "total": value[1], "part": value[2]}
        elif iei == 0x08 and size == 4:
            fields["concatenated"] = {"reference": int.from_bytes(value[:2], "big"),
                                      "total": value[2], "part": value[3]}
        elif iei in (0x04, 0x05) and size in (2, 4):
            half = size // 2
            fields["ports"] = {"destination": int.from_bytes(value[:half], "big"),
                               "source": int.from_bytes(value[half:], "big")}
        pos += 2 + size


def _user_data(data: bytes, pos: int, first: int, dcs: int, parts: SmsParts) -> None:
    udl = _take(data, pos, 1)[0]
    ud = data[pos + 1:]
    alphabet = _alphabet(dcs)
    parts.fields["alphabet"] = alphabet
    header_len = 0
    if first & 0x40 and ud:  # TP-UDHI
        header_len = ud[0] + 1
        _user_header(ud[1:header_len], parts.fields)
    if alphabet == "gsm7":
        skip = ((header_len * 8 + 6) // 7) * 7 if header_len else 0
        parts.text = gsm7_decode(unpack_septets(ud, udl - skip // 7, skip))
        parts.fields["length"] = udl
        return
    body = ud[header_len:udl]
    parts.fields["length"] = udl
    if alphabet == "ucs2":
        parts.text = body.decode("utf-16-be", "replace")
    else:
        parts.user_data = body


def parse_tpdu(data: bytes, from_mobile: bool | None) -> SmsParts:
    parts = SmsParts()
    try:
        _parse(data, from_mobile, parts)
    except (_Short, IndexError, ValueError):
        return SmsParts(fields={"tpdu": "unparsed"}, unparsed=data)
    return parts


def _parse(data: bytes, from_mobile: bool | None, parts: SmsParts) -> None:
    first = _take(data, 0, 1)[0]
    mti = first & 0x03
    f = parts.fields
    if mti == 1 and from_mobile is not False:
        f["tpdu"] = "sms-submit"
        f["message_reference"] = _take(data, 1, 1)[0]
        f["destination"], pos = _address(data, 2)
        f["protocol_id"], dcs = _take(data, pos, 2)
        f["data_coding"] = dcs
        vpf = (first >> 3) & 0x03
        pos += 2 + {0: 0, 2: 1}.get(vpf, 7)
        _user_data(data, pos, first, dcs, parts)
    elif mti == 0 and from_mobile is not True:
        f["tpdu"] = "sms-deliver"
        f["originator"], pos = _address(data, 1)
        f["protocol_id"], dcs = _take(data, pos, 2)
        f["data_coding"] = dcs
        f["service_centre_time"] = _scts(_take(data, pos + 2, 7))
        _user_data(data, pos + 9, first, dcs, parts)
    elif mti == 2 and from_mobile is not True:
        f["tpdu"] = "sms-status-report"
        f["message_reference"] = _take(data, 1, 1)[0]
        f["recipient"], pos = _address(data, 2)
        f["service_centre_time"] = _scts(_take(data, pos, 7))
        f["discharge_time"] = _scts(_take(data, pos + 7, 7))
        f["status"] = _take(data, pos + 14, 1)[0]
    else:
        names = {(0, True): "sms-deliver-report", (1, False): "sms-submit-report",
                 (2, True): "sms-command"}
        f["tpdu"] = names.get((mti, bool(from_mobile)), "reserved")
        if len(data) > 1:
            parts.unparsed = data  # reports and commands may carry user data: content


# --- building TPDUs (simulator) ---------------------------------------------------------


def _encode_address(digits: str) -> bytes:
    international = digits.startswith("+")
    digits = digits.lstrip("+")
    return bytes((len(digits), 0x91 if international else 0x81)) + encode_tbcd(digits)


def _encode_scts(stamp: datetime) -> bytes:
    stamp = stamp.astimezone(timezone.utc)
    values = (stamp.year % 100, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second, 0)
    return bytes((v % 10) << 4 | (v // 10) for v in values)


def _encode_user_data(text: str) -> tuple[int, bytes]:
    """(TP-DCS, TP-UDL + TP-UD) in GSM 7-bit when possible, else UCS-2."""
    septets = gsm7_encode(text)
    if septets is not None and len(septets) <= 160:
        return 0x00, bytes((len(septets),)) + pack_septets(septets)
    body = text.encode("utf-16-be")[:140]
    return 0x08, bytes((len(body),)) + body


def build_submit(text: str, destination: str, reference: int = 0) -> bytes:
    """SMS-SUBMIT (mobile to service centre), no validity period."""
    dcs, ud = _encode_user_data(text)
    return bytes((0x01, reference & 0xFF)) + _encode_address(destination) + bytes((0, dcs)) + ud


def build_deliver(text: str, originator: str, sent_at: datetime) -> bytes:
    """SMS-DELIVER (service centre to mobile)."""
    dcs, ud = _encode_user_data(text)
    return (bytes((0x04,)) + _encode_address(originator) + bytes((0, dcs))
            + _encode_scts(sent_at) + ud)
