"""SIP messages carried in TS 102 232-5 iPMMIRI: call-identifying facts vs. content.

SPEC: RFC 3261 (SIP), RFC 4566 (SDP); ETSI TS 102 232-5 clause 5 (sIPMessage).

Rule A6 split, per message:
* `fields["sip"]`: start line (method / status), Call-ID, From, To, CSeq, Contact,
  P-Asserted-Identity and a short list of other routing/identity headers, the names of all
  headers present, the body's content type and length, and an SDP body parsed into
  origin / connection / media (addresses, ports, codecs, direction: what a recorder needs
  to place the target's channel).  Credentials (Authorization, Proxy-Authorization) and
  free-text headers (Subject, ...) are not copied.
* `content`: any other body -- the text of a MESSAGE, an INFO with DTMF digits
  (post-cut-through digits), a multipart body -- is content, never a field.
Never raises: a non-SIP or truncated payload gives fewer facts.
"""

from __future__ import annotations

import re
from typing import Any

from calea.handover.model import ContentKind, ContentPart

_COMPACT = {"i": "call-id", "f": "from", "t": "to", "m": "contact", "v": "via",
            "c": "content-type", "l": "content-length", "k": "supported", "e": "content-encoding"}
_KEPT = {
    "via": "Via", "from": "From", "to": "To", "call-id": "Call-ID", "cseq": "CSeq",
    "contact": "Contact", "p-asserted-identity": "P-Asserted-Identity",
    "p-preferred-identity": "P-Preferred-Identity", "remote-party-id": "Remote-Party-ID",
    "diversion": "Diversion", "history-info": "History-Info", "referred-by": "Referred-By",
    "refer-to": "Refer-To", "reason": "Reason", "route": "Route", "record-route": "Record-Route",
    "max-forwards": "Max-Forwards", "user-agent": "User-Agent", "server": "Server",
    "expires": "Expires", "event": "Event", "content-type": "Content-Type",
    "content-length": "Content-Length", "allow": "Allow", "supported": "Supported",
}
_DIGIT_TYPES = {"application/dtmf-relay", "application/dtmf", "audio/telephone-event"}
_LINES = re.compile(r"\r?\n")
_TAG = re.compile(r";\s*tag\s*=\s*([^;\s,]+)", re.IGNORECASE)
_MAX_HEADERS = 200


def _number(text: str) -> int | None:
    """A small decimal number, or None (no unicode digits, no 5000-digit strings)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def name_addr(value: str) -> dict[str, Any]:
    """`"Alice" <sip:a@b>;tag=x` -> {"display_name": "Alice", "uri": "sip:a@b", "tag": "x"}."""
    out: dict[str, Any] = {}
    lt = value.find("<")
    if lt >= 0:
        gt = value.find(">", lt)
        display = value[:lt].strip().strip('"').strip()
        if display:
            out["display_name"] = display
        out["uri"] = value[lt + 1 : gt if gt > lt else len(value)].strip()
        params = value[gt + 1 :] if gt > lt else ""
    else:
        uri, _, rest = value.strip().partition(";")
        out["uri"] = uri.strip()
        params = ";" + rest
    tag = _TAG.search(params)
    if tag:
        out["tag"] = tag.group(1)
    return out


def parse_sdp(body: bytes) -> dict[str, Any]:
    """Origin, connection and media lines of an SDP body (no s=, i=, k=, a=crypto)."""
    sdp: dict[str, Any] = {}
    media: list[dict[str, Any]] = []
    target = sdp
    for line in _LINES.split(body.decode("utf-8", "replace")):
        if len(line) < 2 or line[1] != "=":
            continue
        key, value = line[0], line[2:].strip()
        if key == "o":
            parts = value.split()
            if len(parts) == 6:
                sdp["origin"] = dict(zip(
                    ("username", "session_id", "version", "network_type", "address_type", "address"),
                    parts))
        elif key == "c":
            parts = value.split()
            if len(parts) >= 3:
                target["connection"] = {"address_type": parts[1], "address": parts[2].split("/")[0]}
        elif key == "m":
            parts = value.split()
            if len(parts) >= 3:
                port = parts[1].split("/")[0]
                number = _number(port)
                target = {"media": parts[0], "port": port if number is None else number,
                          "protocol": parts[2], "formats": parts[3:]}
                media.append(target)
        elif key == "a":
            name, _, arg = value.partition(":")
            if name in ("sendrecv", "sendonly", "recvonly", "inactive"):
                target["direction"] = name
            elif name == "rtpmap" and arg:
                fmt, _, encoding = arg.partition(" ")
                target.setdefault("rtpmap", {})[fmt] = encoding.strip()
            elif name in ("ptime", "rtcp", "label", "mid"):
                target[name] = arg
    if media:
        sdp["media"] = media
    return sdp


def parse_sip(data: bytes) -> tuple[dict[str, Any], tuple[ContentPart, ...]]:
    """(`fields["sip"]`, content parts) of one SIP message."""
    cut, sep = data.find(b"\r\n\r\n"), 4
    if cut < 0:
        cut, sep = data.find(b"\n\n"), 2
    head, body = (data, b"") if cut < 0 else (data[:cut], data[cut + sep :])
    lines = _LINES.split(head.decode("utf-8", "backslashreplace"))
    sip: dict[str, Any] = {"length": len(data), "start_line": lines[0][:1024]}
    first = lines[0].split(" ", 2)
    if first[0].startswith("SIP/") and len(first) >= 2:
        status = _number(first[1])
        if status is not None:
            sip["status_code"] = status
        if len(first) == 3:
            sip["reason"] = first[2]
    elif len(first) == 3 and first[2].startswith("SIP/"):
        sip["method"] = first[0]
        sip["request_uri"] = first[1]
    unfolded: list[str] = []
    for line in lines[1 : _MAX_HEADERS + 1]:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        elif line:
            unfolded.append(line)
    headers: dict[str, list[str]] = {}
    names: list[str] = []
    for line in unfolded:
        raw_name, colon, value = line.partition(":")
        if not colon:
            continue
        name = raw_name.strip().lower()
        name = _COMPACT.get(name, name)
        names.append(_KEPT.get(name, raw_name.strip()))
        if name in _KEPT:
            headers.setdefault(_KEPT[name], []).append(value.strip())
    sip["header_names"] = names
    sip["headers"] = headers
    one = {k: v[0] for k, v in headers.items()}
    if "Call-ID" in one:
        sip["call_id"] = one["Call-ID"]
    for key, header in (("from", "From"), ("to", "To")):
        if header in one:
            sip[key] = name_addr(one[header])
    if "CSeq" in one:
        number, _, method = one["CSeq"].partition(" ")
        cseq = _number(number)
        sip["cseq"] = {"number": number if cseq is None else cseq, "method": method.strip()}
    for key, header in (("contact", "Contact"), ("p_asserted_identity", "P-Asserted-Identity")):
        if header in headers:
            sip[key] = [name_addr(v)["uri"] for value in headers[header] for v in value.split(",") if v.strip()]
    content_type = one.get("Content-Type", "")
    declared = _number(one.get("Content-Length", "").strip())
    if declared is not None and declared < len(body):
        body = body[:declared]
    if not body:
        return sip, ()
    media_type = content_type.split(";")[0].strip().lower()
    sip["content_type"] = content_type or None
    sip["body_length"] = len(body)
    if media_type == "application/sdp":
        sip["sdp"] = parse_sdp(body)
        return sip, ()
    kind = ContentKind.POST_CUT_THROUGH_DIGITS if media_type in _DIGIT_TYPES else ContentKind.MESSAGE_BODY
    part = ContentPart(kind, bytes(body), content_type or "application/octet-stream", "sip-body")
    return sip, (part,)
