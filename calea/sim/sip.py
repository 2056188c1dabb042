"""SIP messages of simulated dialogs (RFC 3261 requests and responses, RFC 4566 SDP).

SPEC: RFC 3261 (INVITE / ACK / BYE / CANCEL transactions, Via branch, tags, CSeq),
RFC 3428 (MESSAGE), RFC 4566 (SDP), RFC 4733 (telephone-event in the offer),
RFC 3325 (P-Asserted-Identity).  A `Dialog` knows both ends: the user agent of one side
(`a`, who sends the INVITE) and the other (`b`); each message is built from it as text.
"""

from __future__ import annotations

from dataclasses import dataclass

USER_AGENT = "calea-sim/0.1"
_REASONS = {100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK", 480: "Temporarily Unavailable",
            486: "Busy Here", 487: "Request Terminated"}


@dataclass(frozen=True)
class Party:
    """One user agent: its address-of-record, contact host and media address."""

    uri: str  # sip:+12125550100@example.net
    host: str  # where its SIP travels (handset or proxy address)
    media_host: str
    media_port: int
    display: str | None = None


@dataclass(frozen=True)
class Dialog:
    call_id: str
    a: Party  # the caller (sends INVITE)
    b: Party  # the callee
    a_tag: str
    b_tag: str
    branch: str
    session_id: int

    def _user(self, p: Party) -> str:
        return p.uri.split(":", 1)[1].split("@", 1)[0]

    def _addr(self, p: Party, tag: str | None) -> str:
        name = f'"{p.display}" ' if p.display else ""
        return f"{name}<{p.uri}>" + (f";tag={tag}" if tag else "")

    def _contact(self, p: Party) -> str:
        return f"<sip:{self._user(p)}@{p.host}:5060>"

    def request_uri(self, to_b: bool = True) -> str:
        p = self.b if to_b else self.a
        return f"sip:{self._user(p)}@{p.host}:5060"

    def sdp(self, p: Party, version: int = 1) -> bytes:
        lines = ["v=0", f"o=- {self.session_id} {version} IN IP4 {p.media_host}", "s=call",
                 f"c=IN IP4 {p.media_host}", "t=0 0", f"m=audio {p.media_port} RTP/AVP 0 101",
                 "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15",
                 "a=ptime:20", "a=sendrecv"]
        return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _message(start: str, headers: list[tuple[str, str]], body: bytes = b"", content_type: str | None = None) -> bytes:
    if content_type:
        headers = headers + [("Content-Type", content_type)]
    headers = headers + [("Content-Length", str(len(body)))]
    head = start + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("utf-8") + body


def _via(d: Dialog, from_a: bool, branch: str) -> str:
    host = d.a.host if from_a else d.b.host
    return f"SIP/2.0/UDP {host}:5060;branch={branch}"


def request(d: Dialog, method: str, *, from_a: bool = True, cseq: int = 1, with_to_tag: bool = True,
            branch: str | None = None, body: bytes = b"", content_type: str | None = None) -> bytes:
    """A request of the dialog; from `a` unless `from_a` is False (e.g. a BYE by the callee)."""
    sender, receiver = (d.a, d.b) if from_a else (d.b, d.a)
    s_tag, r_tag = (d.a_tag, d.b_tag) if from_a else (d.b_tag, d.a_tag)
    headers = [
        ("Via", _via(d, from_a, branch or d.branch)),
        ("Max-Forwards", "70"),
        ("From", d._addr(sender, s_tag)),
        ("To", d._addr(receiver, r_tag if with_to_tag else None)),
        ("Call-ID", d.call_id),
        ("CSeq", f"{cseq} {method}"),
    ]
    if method in ("INVITE", "MESSAGE"):
        headers.append(("P-Asserted-Identity", f"<{sender.uri}>"))
    if method == "INVITE":
        headers += [("Contact", d._contact(sender)), ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE"),
                    ("Supported", "100rel, timer")]
    headers.append(("User-Agent", USER_AGENT))
    return _message(f"{method} {d.request_uri(from_a)} SIP/2.0", headers, body, content_type)


def invite(d: Dialog) -> bytes:
    return request(d, "INVITE", with_to_tag=False, body=d.sdp(d.a), content_type="application/sdp")


def response(d: Dialog, code: int, method: str = "INVITE", *, cseq: int = 1, to_tag: bool = True,
             from_a: bool = False, branch: str | None = None, sdp: bool = False) -> bytes:
    """A response to a request sent by `a` (or, with `from_a=True`, by `b`)."""
    requester, responder = (d.b, d.a) if from_a else (d.a, d.b)
    q_tag, r_tag = (d.b_tag, d.a_tag) if from_a else (d.a_tag, d.b_tag)
    headers = [
        ("Via", _via(d, not from_a, branch or d.branch)),
        ("From", d._addr(requester, q_tag)),
        ("To", d._addr(responder, r_tag if to_tag else None)),
        ("Call-ID", d.call_id),
        ("CSeq", f"{cseq} {method}"),
    ]
    if method == "INVITE" and code in (180, 183, 200):
        headers.append(("Contact", d._contact(responder)))
    headers.append(("Server", USER_AGENT))
    body = d.sdp(responder) if sdp else b""
    return _message(f"SIP/2.0 {code} {_REASONS.get(code, 'Unknown')}", headers, body,
                    "application/sdp" if sdp else None)


def message(d: Dialog, text: str) -> bytes:
    """A pager-mode MESSAGE from `a` to `b` with a plain-text body."""
    return request(d, "MESSAGE", with_to_tag=False, body=text.encode("utf-8"),
                   content_type="text/plain;charset=UTF-8")
