"""MMS PDUs in the OMA binary encapsulation: the payload of a TS 33.108 MMS CC-PDU.

SPEC: OMA-TS-MMS_ENC-V1_3 clause 7 (header fields, assigned numbers 7.4, message types),
WAP-230-WSP clause 8.4.2 (basic rules: Short-integer, Long-integer, Uintvar, Value-length,
Text-string, Quoted-string, Encoded-string-value, Content-type-value with parameters) and
clause 8.5 (multipart: entries of headers length, data length, content type, headers,
data).  `parse_pdu` decodes what a lawful-intercept review needs -- message type,
transaction and message ids, version, date, From / To / Cc / Bcc, Subject, content type
and the body parts -- and skips every other header by the generic WSP value grammar.
`build_pdu` writes the same subset (simulator and tests).

Rule A6: addressing (From/To/Cc/Bcc, ids, date, message type) is call-identifying;
Subject and the parts are content -- `calea.handover.mms` keeps them apart.
Errors: `MmsFormatError` (a ValueError) for bytes that are not such a PDU.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone

MESSAGE_TYPES = {0x80: "m-send-req", 0x81: "m-send-conf", 0x82: "m-notification-ind", 0x83: "m-notifyresp-ind",
                 0x84: "m-retrieve-conf", 0x85: "m-acknowledge-ind", 0x86: "m-delivery-ind", 0x87: "m-read-rec-ind",
                 0x88: "m-read-orig-ind", 0x89: "m-forward-req", 0x8A: "m-forward-conf"}
CONTENT_TYPES = {0x00: "*/*", 0x01: "text/*", 0x02: "text/html", 0x03: "text/plain", 0x06: "text/x-vcalendar",
                 0x07: "text/x-vcard", 0x0C: "multipart/mixed", 0x0F: "multipart/alternative", 0x1C: "image/*",
                 0x1D: "image/gif", 0x1E: "image/jpeg", 0x1F: "image/tiff", 0x20: "image/png",
                 0x21: "image/vnd.wap.wbmp", 0x23: "application/vnd.wap.multipart.mixed",
                 0x26: "application/vnd.wap.multipart.alternative", 0x27: "application/xml", 0x28: "text/xml",
                 0x33: "application/vnd.wap.multipart.related", 0x3E: "application/vnd.wap.mms-message"}
CHARSETS = {3: "us-ascii", 4: "iso-8859-1", 106: "utf-8", 1000: "utf-16-be", 1015: "utf-16"}
_CONTENT_CODES = {v: k for k, v in CONTENT_TYPES.items()}
_TYPE_CODES = {v: k for k, v in MESSAGE_TYPES.items()}
# header field assigned numbers (OMA MMS ENC 7.4), without the high bit
BCC, CC, CONTENT_TYPE, DATE, FROM, MESSAGE_ID, MESSAGE_TYPE, VERSION, SUBJECT, TO, TRANSACTION_ID = (
    0x01, 0x02, 0x04, 0x05, 0x09, 0x0B, 0x0C, 0x0D, 0x16, 0x17, 0x18)
_WSP_CONTENT_LOCATION, _WSP_CONTENT_ID = 0x0E, 0x40
_P_CHARSET, _P_NAME, _P_FILENAME, _P_TYPE, _P_START, _P_NAME14, _P_FILENAME14, _P_START14 = (
    0x01, 0x05, 0x06, 0x09, 0x0A, 0x17, 0x18, 0x19)
MAX_PARTS = 256


class MmsFormatError(ValueError):
    pass


@dataclass(frozen=True)
class MmsPart:
    media_type: str
    data: bytes
    name: str | None = None  # Content-Location, else the content type's name parameter
    content_id: str | None = None
    charset: str | None = None


@dataclass(frozen=True)
class MmsPdu:
    message_type: str
    transaction_id: str | None = None
    version: str | None = None
    message_id: str | None = None
    date: datetime | None = None
    sender: str | None = None  # From; "insert-address" when the relay inserts it
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str | None = None  # content (A6)
    content_type: str | None = None
    parts: tuple[MmsPart, ...] = field(default=())  # content (A6)


class _Reader:
    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def more(self) -> bool:
        return self.pos < self.end

    def octet(self) -> int:
        if self.pos >= self.end:
            raise MmsFormatError("truncated MMS PDU")
        self.pos += 1
        return self.data[self.pos - 1]

    def peek(self) -> int:
        if self.pos >= self.end:
            raise MmsFormatError("truncated MMS PDU")
        return self.data[self.pos]

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise MmsFormatError("a length runs past the PDU")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def uintvar(self) -> int:
        value = 0
        for _ in range(5):
            o = self.octet()
            value = (value << 7) | (o & 0x7F)
            if not o & 0x80:
                return value
        raise MmsFormatError("uintvar longer than 5 octets")

    def value_length(self) -> int:
        o = self.octet()
        if o <= 30:
            return o
        if o == 31:
            return self.uintvar()
        raise MmsFormatError("expected a value length")

    def text(self) -> bytes:
        if self.peek() in (0x7F, 0x22):  # Quote / quoted string
            self.pos += 1
        nul = self.data.find(b"\0", self.pos, self.end)
        if nul < 0:
            raise MmsFormatError("unterminated text string")
        out, self.pos = self.data[self.pos:nul], nul + 1
        return out

    def integer(self) -> int:
        o = self.octet()
        if o & 0x80:
            return o & 0x7F
        if o > 8:
            raise MmsFormatError("long integer too long")
        return int.from_bytes(self.take(o), "big")

    def skip_value(self) -> None:
        o = self.peek()
        if o <= 31:
            self.take(self.value_length())
        elif o < 0x80:
            self.text()
        else:
            self.pos += 1

    def encoded_string(self) -> str:
        o = self.peek()
        if o > 31:
            return self.text().decode("utf-8", "replace")
        end = self.value_length() + self.pos
        charset = self.integer()
        raw = _Reader(self.data, self.pos, end).text()
        self.pos = end
        return raw.decode(CHARSETS.get(charset, "utf-8"), "replace")

    def content_type(self) -> tuple[str, dict[str, str]]:
        o = self.peek()
        if o & 0x80:
            return CONTENT_TYPES.get(self.octet() & 0x7F, "application/octet-stream"), {}
        if o > 31:
            return self.text().decode("ascii", "replace").lower(), {}
        end = self.value_length() + self.pos
        inner = _Reader(self.data, self.pos, end)
        first = inner.peek()
        if first & 0x80 or first <= 30:
            media = CONTENT_TYPES.get(inner.integer(), "application/octet-stream")
        else:
            media = inner.text().decode("ascii", "replace").lower()
        params: dict[str, str] = {}
        while inner.more():
            _parameter(inner, params)
        self.pos = end
        return media, params


def _parameter(r: _Reader, params: dict[str, str]) -> None:
    o = r.peek()
    if not o & 0x80:  # untyped: token text, then an integer or a text value
        name = r.text().decode("ascii", "replace").lower()
        params[name] = str(r.integer()) if r.peek() & 0x80 or r.peek() <= 30 else r.text().decode("utf-8", "replace")
        return
    code = r.octet() & 0x7F
    if code == _P_CHARSET:
        value = r.integer()
        params["charset"] = CHARSETS.get(value, str(value))
    elif code in (_P_NAME, _P_NAME14, _P_FILENAME, _P_FILENAME14, _P_START, _P_START14):
        key = {_P_START: "start", _P_START14: "start"}.get(code, "name")
        params[key] = r.text().decode("utf-8", "replace")
    elif code == _P_TYPE:
        params["type"] = (CONTENT_TYPES.get(r.octet() & 0x7F, "") if r.peek() & 0x80
                          else r.text().decode("ascii", "replace"))
    elif code == 0x00:  # Q-value: a uintvar
        r.uintvar()
    else:
        r.skip_value()


def _date(r: _Reader) -> datetime:
    seconds = r.integer()
    return datetime.fromtimestamp(seconds, timezone.utc)


def _parts(r: _Reader) -> tuple[MmsPart, ...]:
    count = r.uintvar()
    if count > MAX_PARTS:
        raise MmsFormatError(f"{count} parts: more than {MAX_PARTS}")
    parts = []
    for _ in range(count):
        head_len, data_len = r.uintvar(), r.uintvar()
        head_end = r.pos + head_len
        if head_end > r.end:
            raise MmsFormatError("part headers run past the PDU")
        h = _Reader(r.data, r.pos, head_end)
        media, params = h.content_type()
        location = content_id = None
        while h.more():
            o = h.peek()
            if o & 0x80:
                code = h.octet() & 0x7F
                if code == _WSP_CONTENT_LOCATION:
                    location = h.text().decode("utf-8", "replace")
                elif code == _WSP_CONTENT_ID:
                    content_id = h.text().decode("utf-8", "replace").strip("<>")
                else:
                    h.skip_value()
            else:
                name, value = h.text().decode("ascii", "replace").lower(), h.text().decode("utf-8", "replace")
                location = value if name == "content-location" else location
                content_id = value.strip("<>") if name == "content-id" else content_id
        r.pos = head_end
        parts.append(MmsPart(media, r.take(data_len), location or params.get("name"), content_id, params.get("charset")))
    return tuple(parts)


def _is_multipart(media: str) -> bool:
    return media.startswith(("multipart/", "application/vnd.wap.multipart."))


def parse_pdu(data: bytes) -> MmsPdu:
    """Decode one MMS PDU; raises `MmsFormatError`."""
    r = _Reader(bytes(data))
    values: dict[str, object] = {"to": [], "cc": [], "bcc": []}
    try:
        while r.more():
            o = r.octet()
            if not o & 0x80:  # an application header: token text and text value
                r.pos -= 1
                r.text()
                r.text()
                continue
            code = o & 0x7F
            if code == CONTENT_TYPE:
                values["content_type"] = r.content_type()[0]
                if _is_multipart(str(values["content_type"])) and r.more():
                    values["parts"] = _parts(r)
                elif r.more():
                    values["parts"] = (MmsPart(str(values["content_type"]), r.take(r.end - r.pos)),)
                break
            if code == MESSAGE_TYPE:
                kind = r.octet()
                values["message_type"] = MESSAGE_TYPES.get(kind, f"unknown({kind:#x})")
            elif code in (TRANSACTION_ID, MESSAGE_ID):
                values["transaction_id" if code == TRANSACTION_ID else "message_id"] = r.text().decode("utf-8", "replace")
            elif code == VERSION:
                v = r.octet() & 0x7F
                values["version"] = f"{v >> 4}.{v & 0x0F}"
            elif code == DATE:
                values["date"] = _date(r)
            elif code == FROM:
                end = r.value_length() + r.pos
                token = r.octet()
                values["sender"] = r.encoded_string() if token == 0x80 else "insert-address"
                r.pos = end
            elif code in (TO, CC, BCC):
                values[{TO: "to", CC: "cc", BCC: "bcc"}[code]].append(r.encoded_string())  # type: ignore[attr-defined]
            elif code == SUBJECT:
                values["subject"] = r.encoded_string()
            else:
                r.skip_value()
    except (IndexError, OverflowError, OSError, ValueError, struct.error) as exc:
        raise MmsFormatError(str(exc)) from None
    if "message_type" not in values:
        raise MmsFormatError("no X-Mms-Message-Type")
    for key in ("to", "cc", "bcc"):
        values[key] = tuple(values[key])  # type: ignore[arg-type]
    return MmsPdu(**values)  # type: ignore[arg-type]


# --- building ---------------------------------------------------------------------------


def _uintvar(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _text(s: str) -> bytes:
    raw = s.encode("utf-8")
    return (b"\x7f" if raw[:1] and raw[0] >= 0x80 else b"") + raw + b"\0"


def _length(n: int) -> bytes:
    return bytes((n,)) if n <= 30 else b"\x1f" + _uintvar(n)


def _encoded(s: str) -> bytes:
    if s.isascii():
        return _text(s)
    body = b"\xea" + _text(s)  # charset utf-8 (106) as a short integer
    return _length(len(body)) + body


def _long(n: int) -> bytes:
    raw = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    return bytes((len(raw),)) + raw


def _content_type(media: str, params: list[bytes]) -> bytes:
    code = _CONTENT_CODES.get(media)
    head = bytes((0x80 | code,)) if code is not None else _text(media)
    if not params:
        return head
    body = head + b"".join(params)
    return _length(len(body)) + body


def build_pdu(pdu: MmsPdu) -> bytes:
    """The binary PDU of `pdu` (the subset `parse_pdu` reads)."""
    out = bytearray((0x80 | MESSAGE_TYPE, _TYPE_CODES[pdu.message_type]))
    if pdu.transaction_id is not None:
        out += bytes((0x80 | TRANSACTION_ID,)) + _text(pdu.transaction_id)
    major, _, minor = (pdu.version or "1.2").partition(".")
    out += bytes((0x80 | VERSION, 0x80 | (int(major) << 4) | int(minor or 0)))
    if pdu.message_id is not None:
        out += bytes((0x80 | MESSAGE_ID,)) + _text(pdu.message_id)
    if pdu.date is not None:
        out += bytes((0x80 | DATE,)) + _long(int(pdu.date.timestamp()))
    if pdu.sender is not None:
        value = b"\x81" if pdu.sender == "insert-address" else b"\x80" + _encoded(pdu.sender)
        out += bytes((0x80 | FROM,)) + _length(len(value)) + value
    for code, addresses in ((TO, pdu.to), (CC, pdu.cc), (BCC, pdu.bcc)):
        for a in addresses:
            out += bytes((0x80 | code,)) + _encoded(a)
    if pdu.subject is not None:
        out += bytes((0x80 | SUBJECT,)) + _encoded(pdu.subject)
    media = pdu.content_type or CONTENT_TYPES[0x23]
    params = []
    if media == CONTENT_TYPES[0x33] and pdu.parts:
        params.append(bytes((0x80 | _P_TYPE,)) + _text(pdu.parts[0].media_type))
    out += bytes((0x80 | CONTENT_TYPE,)) + _content_type(media, params)
    out += _uintvar(len(pdu.parts))
    for part in pdu.parts:
        part_params = []
        if part.charset:
            code = {v: k for k, v in CHARSETS.items()}.get(part.charset, 106)
            part_params.append(bytes((0x80 | _P_CHARSET,)) + (bytes((0x80 | code,)) if code < 128 else _long(code)))
        if part.name:
            part_params.append(bytes((0x80 | _P_NAME,)) + _text(part.name))
        headers = _content_type(part.media_type, part_params)
        if part.name:
            headers += bytes((0x80 | _WSP_CONTENT_LOCATION,)) + _text(part.name)
        if part.content_id:
            headers += bytes((0x80 | _WSP_CONTENT_ID,)) + b"\x22" + f"<{part.content_id}>".encode() + b"\0"
        out += _uintvar(len(headers)) + _uintvar(len(part.data)) + headers + part.data
    return bytes(out)
