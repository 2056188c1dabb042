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
from collections.abc import Callable
from typing import Any

from calea.handover import native as _native
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
_SDP_DIRECTIONS = frozenset(("sendrecv", "sendonly", "recvonly", "inactive"))
_SDP_PLAIN = frozenset(("ptime", "rtcp", "label", "mid"))

# Performance (every SIP IRI takes this path; see tests/unit/handover/
# test_etsi102232_sip_reference.py, which holds this parser to the plain one): lines are
# split at LF without a regex (a CR left at a line end is white space the values are
# stripped of), a header name is classified once per spelling (small bounded cache),
# folded lines are looked for only when a line starts with white space, only kept
# header values are stripped, only the SDP lines that are kept are sliced.
_WSP = (" ", "\t")
_NAME_CACHE_SIZE = 1024
_NAME_CACHE_KEY_MAX = 64
_names: dict[str, tuple[str, str | None]] = {}  # name as written -> (listed name, kept name)


def _name_info(raw_name: str) -> tuple[str, str | None] | None:
    """(name listed in header_names, kept name or None) of a header name as written;
    None for a continuation line (leading white space)."""
    if raw_name[:1] in _WSP:
        return None
    stripped = raw_name.strip()
    name = stripped.lower()
    kept = _KEPT.get(_COMPACT.get(name, name))
    info = (kept or stripped, kept)
    if len(raw_name) <= _NAME_CACHE_KEY_MAX:
        if len(_names) >= _NAME_CACHE_SIZE:
            _names.clear()
        _names[raw_name] = info
    return info


def _split_lines(text: str) -> list[str]:
    """`_LINES.split(text)`, without the regex when every line end is CRLF or every one LF."""
    lines = text.split("\r\n")
    if len(lines) - 1 == text.count("\n"):
        return lines
    if "\r" not in text:
        return text.split("\n")
    return _LINES.split(text)


def _unfold(lines: list[str]) -> list[str]:
    unfolded: list[str] = []
    for line in lines:
        if line[:1] in _WSP and unfolded:
            unfolded[-1] += " " + line.strip()
        elif line:
            unfolded.append(line)
    return unfolded


def _headers(lines: list[str], names: list[str], headers: dict[str, list[str]]) -> None:
    """Add unfolded header lines to `names` / `headers` (the general path)."""
    for line in lines:
        raw_name, colon, value = line.partition(":")
        if not colon:
            continue
        info = _names.get(raw_name) or _name_info(raw_name)
        if info is None:  # a first line with leading white space: nothing to fold it into
            stripped = raw_name.strip()
            name = stripped.lower()
            kept = _KEPT.get(_COMPACT.get(name, name))
            info = (kept or stripped, kept)
        names.append(info[0])
        kept = info[1]
        if kept is not None:
            if kept in headers:
                headers[kept].append(value.strip())
            else:
                headers[kept] = [value.strip()]


def _number(text: str) -> int | None:
    """A small decimal number, or None (no unicode digits, no 5000-digit strings)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def name_addr(value: str) -> dict[str, Any]:
    """`"Alice" <sip:a@b>;tag=x` -> {"display_name": "Alice", "uri": "sip:a@b", "tag": "x"}."""
    out: dict[str, Any] = {}
    lt = value.find("<")
    if lt >= 0:
        gt = value.find(">", lt)
        if lt:
            display = value[:lt].strip().strip('"').strip()
            if display:
                out["display_name"] = display
        if gt > lt:
            out["uri"] = value[lt + 1 : gt].strip()
            params = value[gt + 1 :]
        else:
            out["uri"] = value[lt + 1 :].strip()
            return out  # no parameters, no tag
    else:
        uri, _, params = value.strip().partition(";")
        out["uri"] = uri.strip()
        params = ";" + params
    if "=" in params:
        tag = _TAG.search(params)
        if tag:
            out["tag"] = tag.group(1)
    return out


def _uri(value: str) -> str:
    """`name_addr(value)["uri"]`."""
    lt = value.find("<")
    if lt >= 0:
        gt = value.find(">", lt)
        return value[lt + 1 : gt if gt > lt else len(value)].strip()
    return value.strip().partition(";")[0].strip()


def _uris(values: list[str]) -> list[str]:
    """The URIs of a comma-separated name-addr header (Contact, P-Asserted-Identity)."""
    if len(values) == 1 and "," not in values[0]:
        value = values[0]
        return [_uri(value)] if value else []  # header values are stripped already
    return [_uri(v) for value in values for v in value.split(",") if v.strip()]


def _parse_sdp_py(body: bytes) -> dict[str, Any]:
    """Origin, connection and media lines of an SDP body (no s=, i=, k=, a=crypto).

    The reference: `parse_sdp` is this function, or its C version for the usual body."""
    sdp: dict[str, Any] = {}
    media: list[dict[str, Any]] = []
    target = sdp
    # Split at LF alone: a CR left at the end of a line is white space, which every value
    # taken below is stripped of (the result equals that of a split at CRLF / LF).
    for line in body.decode("utf-8", "replace").split("\n"):
        key = line[:2]
        if key == "a=":
            name, _, arg = line[2:].strip().partition(":")
            if name == "rtpmap":
                if arg:
                    fmt, _, encoding = arg.partition(" ")
                    rtpmap = target.get("rtpmap")
                    if rtpmap is None:
                        target["rtpmap"] = {fmt: encoding.strip()}
                    else:
                        rtpmap[fmt] = encoding.strip()
            elif name in _SDP_PLAIN:
                target[name] = arg
            elif name in _SDP_DIRECTIONS:
                target["direction"] = name
        elif key == "m=":
            parts = line[2:].split()
            if len(parts) >= 3:
                port = parts[1].split("/")[0]
                number = _number(port)
                target = {"media": parts[0], "port": port if number is None else number,
                          "protocol": parts[2], "formats": parts[3:]}
                media.append(target)
        elif key == "c=":
            parts = line[2:].split()
            if len(parts) >= 3:
                target["connection"] = {"address_type": parts[1], "address": parts[2].split("/")[0]}
        elif key == "o=":
            parts = line[2:].split()
            if len(parts) == 6:
                sdp["origin"] = {"username": parts[0], "session_id": parts[1], "version": parts[2],
                                 "network_type": parts[3], "address_type": parts[4], "address": parts[5]}
    if media:
        sdp["media"] = media
    return sdp


def _parse_sip_py(data: bytes) -> tuple[dict[str, Any], tuple[ContentPart, ...]]:
    """(`fields["sip"]`, content parts) of one SIP message.

    The reference: `parse_sip` is this function, or its C version for the usual message."""
    cut, sep = data.find(b"\r\n\r\n"), 4
    if cut < 0:
        cut, sep = data.find(b"\n\n"), 2
    head, body = (data, b"") if cut < 0 else (data[:cut], data[cut + sep :])
    text = head.decode("utf-8", "backslashreplace")
    # Split at LF alone: a CR left at the end of a header line is white space, which the
    # values are stripped of; the start line loses it here; folded lines are split again.
    lines = text.split("\n")
    start = lines[0]
    if len(lines) > 1 and start[-1:] == "\r":
        start = start[:-1]
    sip: dict[str, Any] = {"length": len(data), "start_line": start[:1024]}
    first = start.split(" ", 2)
    if first[0].startswith("SIP/") and len(first) >= 2:
        status = _number(first[1])
        if status is not None:
            sip["status_code"] = status
        if len(first) == 3:
            sip["reason"] = first[2]
    elif len(first) == 3 and first[2].startswith("SIP/"):
        sip["method"] = first[0]
        sip["request_uri"] = first[1]
    del lines[0]
    if len(lines) > _MAX_HEADERS:
        del lines[_MAX_HEADERS:]
    headers: dict[str, list[str]] = {}
    names: list[str] = []
    cache = _names
    for line in lines:  # the usual case: no folded lines
        raw_name, colon, value = line.partition(":")
        if colon:
            info = cache.get(raw_name)
            if info is None:
                info = _name_info(raw_name)
                if info is None:
                    break
            listed, kept = info
            names.append(listed)
            if kept is not None:
                if kept in headers:
                    headers[kept].append(value.strip())
                else:
                    headers[kept] = [value.strip()]
        elif line[:1] in _WSP:
            break
    else:
        lines = []
    if lines:  # stopped at a continuation line: again, on the unfolded lines
        headers, names = {}, []
        _headers(_unfold(_split_lines(text)[1 : _MAX_HEADERS + 1]), names, headers)
    sip["header_names"] = names
    sip["headers"] = headers
    get = headers.get
    found = get("Call-ID")
    if found is not None:
        sip["call_id"] = found[0]
    found = get("From")
    if found is not None:
        sip["from"] = name_addr(found[0])
    found = get("To")
    if found is not None:
        sip["to"] = name_addr(found[0])
    found = get("CSeq")
    if found is not None:
        number, _, method = found[0].partition(" ")
        cseq = _number(number)
        sip["cseq"] = {"number": number if cseq is None else cseq, "method": method.strip()}
    found = get("Contact")
    if found is not None:
        sip["contact"] = _uris(found)
    found = get("P-Asserted-Identity")
    if found is not None:
        sip["p_asserted_identity"] = _uris(found)
    if body:
        found = get("Content-Length")
        if found is not None:
            declared = _number(found[0])
            if declared is not None and declared < len(body):
                body = body[:declared]
                if not body:
                    return sip, ()
    else:
        return sip, ()
    found = get("Content-Type")
    content_type = "" if found is None else found[0]
    media_type = content_type.partition(";")[0].strip().lower()
    sip["content_type"] = content_type or None
    sip["body_length"] = len(body)
    if media_type == "application/sdp":
        sip["sdp"] = _parse_sdp_py(body)
        return sip, ()
    kind = ContentKind.POST_CUT_THROUGH_DIGITS if media_type in _DIGIT_TYPES else ContentKind.MESSAGE_BODY
    part = ContentPart(kind, bytes(body), content_type or "application/octet-stream", "sip-body")
    return sip, (part,)


# The C versions (calea/handover/_speedups.c) answer the usual message / SDP body exactly as
# the functions above do, and None for anything else, which the functions above then decide
# (tests/unit/handover/test_sip_speedups.py compares the two).  The name tables are passed in
# from here, so there is one list of header names.
_HEADER_CLASSES = {name: kept for name in (*_KEPT, *_COMPACT)
                   if (kept := _KEPT.get(_COMPACT.get(name, name))) is not None}
_SipFacts = tuple[dict[str, Any], tuple[ContentPart, ...]]


def _c_first_sip(c_parse: Callable[[bytes], _SipFacts | None]) -> Callable[[bytes], _SipFacts]:
    def parse_sip(data: bytes) -> _SipFacts:
        """(`fields["sip"]`, content parts) of one SIP message."""
        return c_parse(data) or _parse_sip_py(data)  # None: not the usual message

    return parse_sip


def _c_first_sdp(c_parse: Callable[[bytes], dict[str, Any] | None]) -> Callable[[bytes], dict[str, Any]]:
    def parse_sdp(body: bytes) -> dict[str, Any]:
        """Origin, connection and media lines of an SDP body (no s=, i=, k=, a=crypto)."""
        sdp = c_parse(body)
        return _parse_sdp_py(body) if sdp is None else sdp

    return parse_sdp


_fast = _native.speedups if _native.speedups is not None and hasattr(_native.speedups, "parse_sip") else None
parse_sip = _parse_sip_py
parse_sdp = _parse_sdp_py
if _fast is not None:
    _fast.configure_sip(_HEADER_CLASSES, tuple(sorted(_SDP_PLAIN)), tuple(sorted(_SDP_DIRECTIONS)),
                        frozenset(_DIGIT_TYPES), ContentPart, ContentKind.POST_CUT_THROUGH_DIGITS,
                        ContentKind.MESSAGE_BODY, _MAX_HEADERS)
    parse_sip = _c_first_sip(_fast.parse_sip)
    parse_sdp = _c_first_sdp(_fast.parse_sdp)
