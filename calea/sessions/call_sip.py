"""One call from the SIP messages of an IP-multimedia IRI stream (ETSI TS 102 232-5).

SPEC: RFC 3261 (INVITE / 1xx / 2xx / ACK / BYE / CANCEL, re-INVITE), RFC 3515 (REFER,
Refer-To), RFC 3892 (Referred-By), RFC 5806 (Diversion), RFC 7044 (History-Info).

Reads only `fields["sip"]` as `calea.handover.etsi102232_sip` decodes it (start line,
Call-ID, From/To with tags, CSeq, P-Asserted-Identity, kept routing headers, SDP).
The initial INVITE is the first INVITE without a To tag; an INVITE re-sent after a 401/407
challenge replaces it; an INVITE with a To tag is a re-INVITE (hold, media change).
"""

from __future__ import annotations

from typing import Any

from calea.handover.etsi102232_sip import name_addr
from calea.sessions.call_model import Draft, IndexRecord, sip_outcome
from calea.sessions.call_parties import e164, party, user_part

CALL_METHODS = frozenset(("INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE", "INFO", "REFER", "NOTIFY"))
_PROVISIONAL = {100: "trying", 180: "ringing", 181: "forwarded", 182: "queued", 183: "progress"}
_DTMF_TYPES = ("application/dtmf-relay", "application/dtmf", "audio/telephone-event")


def is_call_message(fields: Any) -> bool:
    """A SIP message of an INVITE dialog (MESSAGE, REGISTER, OPTIONS... are not calls)."""
    sip = fields.get("sip") if isinstance(fields, dict) else None
    if not isinstance(sip, dict):
        return False
    method = sip.get("method") or (sip.get("cseq") or {}).get("method")
    return method in CALL_METHODS


def _header(sip: dict[str, Any], name: str) -> str | None:
    values = (sip.get("headers") or {}).get(name)
    return values[0] if values else None


def _uri(value: str | None) -> str | None:
    return name_addr(value).get("uri") if value else None


def _history_original(value: str | None) -> str | None:
    """The first entry of a History-Info header: the originally called party (RFC 7044)."""
    if not value:
        return None
    return _uri(value.split(",", 1)[0])


def _sdp_direction(sip: dict[str, Any]) -> str | None:
    sdp = sip.get("sdp") or {}
    for m in sdp.get("media") or ():
        if isinstance(m, dict) and m.get("direction"):
            return str(m["direction"])
    return sdp.get("direction")


def assemble(liid: str, cin: str, records: list[IndexRecord]) -> Draft | None:
    """The call of one (LIID, CIN) stream, or None when it holds no INVITE dialog."""
    msgs = [(r, r.fields["sip"]) for r in records if is_call_message(r.fields)]
    first = next(((r, s) for r, s in msgs if s.get("method") == "INVITE"), None)
    if first is None:
        return None
    d = Draft(liid, cin, "etsi-102232", first[0].at)
    invite_cseq: Any = None
    caller_tag: str | None = None
    for rec, sip in msgs:
        d.records.append(rec)
        method, status = sip.get("method"), sip.get("status_code")
        cseq = sip.get("cseq") or {}
        to_tag = (sip.get("to") or {}).get("tag")
        if method == "INVITE" and not to_tag:
            invite_cseq, caller_tag = cseq.get("number"), (sip.get("from") or {}).get("tag")
            _initial(d, rec, sip)
        elif method == "INVITE":
            d.event(rec, "reinvite", f"SIP re-INVITE ({_sdp_direction(sip) or 'session update'})")
        elif method is not None:
            _request(d, rec, sip, method, caller_tag)
        elif status is not None and cseq.get("method") == "INVITE":
            _invite_response(d, rec, sip, int(status), cseq.get("number") == invite_cseq)
        elif status is not None:
            d.event(rec, "response", f"SIP {status} {sip.get('reason', '')} ({cseq.get('method', '?')})".strip())
    return d


def _initial(d: Draft, rec: IndexRecord, sip: dict[str, Any]) -> None:
    pai = sip.get("p_asserted_identity") or []
    caller = pai[0] if pai else (sip.get("from") or {}).get("uri")
    callee = (sip.get("to") or {}).get("uri") or sip.get("request_uri")
    retry = d.calling is not None
    d.calling, d.called = party(caller), party(callee)
    d.calling_ids = tuple(x for x in (caller, (sip.get("from") or {}).get("uri"), *pai) if x)
    d.called_ids = tuple(x for x in (callee, sip.get("request_uri")) if x)
    dialed = user_part(str(sip.get("request_uri") or ""))
    d.dialed = e164(dialed) or dialed or None
    d.sip_call_id = sip.get("call_id")
    d.cc(d.cin)  # TS 102 232-5: the call's RTP (iPMMCC) is delivered under the same CIN
    diverted = _uri(_header(sip, "Diversion")) or _history_original(_header(sip, "History-Info"))
    referred = _uri(_header(sip, "Referred-By"))
    if diverted:
        d.redirected_from = party(diverted)
        d.event(rec, "redirected", "call forwarded to this party (Diversion / History-Info)", party=d.redirected_from)
    if referred:
        d.redirected_from = d.redirected_from or party(referred)
        d.event(rec, "transferred", "call set up by a transfer (Referred-By)", party=party(referred))
    d.event(rec, "setup", "SIP INVITE" + (" (re-sent after a challenge)" if retry else ""), party=d.called)


def _request(d: Draft, rec: IndexRecord, sip: dict[str, Any], method: str, caller_tag: str | None) -> None:
    from_tag = (sip.get("from") or {}).get("tag")
    if method == "BYE":
        if d.ended_at is None:
            d.ended_at = rec.at
            d.released_by_caller = from_tag is not None and from_tag == caller_tag
        d.event(rec, "release", "SIP BYE")
    elif method == "CANCEL":
        if d.answered_at is None and d.ended_at is None:
            d.ended_at, d.outcome, d.released_by_caller = rec.at, "cancelled", True
        d.event(rec, "cancel", "SIP CANCEL")
    elif method == "REFER":
        to = _uri(_header(sip, "Refer-To"))
        d.redirected_to = party(to) if to else d.redirected_to
        d.event(rec, "transfer", "SIP REFER (call transfer)", party=party(to) if to else None)
    elif method == "INFO" and (_is_dtmf(sip) or rec.digits or rec.suppressed):
        d.digits_of(rec, "SIP INFO")
    else:
        d.event(rec, method.lower(), f"SIP {method}")


def _is_dtmf(sip: dict[str, Any]) -> bool:
    ctype = str(sip.get("content_type") or "").split(";")[0].strip().lower()
    return ctype in _DTMF_TYPES


def _invite_response(d: Draft, rec: IndexRecord, sip: dict[str, Any], status: int, initial: bool) -> None:
    label = f"SIP {status} {sip.get('reason', '')}".strip()
    if not initial:
        d.event(rec, "reinvite-response", label)
        return
    if status < 200:
        name = _PROVISIONAL.get(status, "progress")
        if status in (180, 183) and d.ringing_at is None:
            d.ringing_at = rec.at
        d.event(rec, name, label)
    elif status < 300:
        if d.answered_at is None:
            d.answered_at = rec.at
            d.event(rec, "answer", label, party=party((sip.get("to") or {}).get("uri")))
        else:
            d.event(rec, "response", label)
    elif status in (401, 407):
        d.event(rec, "challenge", label)  # the INVITE is re-sent with credentials
    else:
        if 300 <= status < 400:
            contact = (sip.get("contact") or [None])[0]
            d.redirected_to = party(contact) if contact else d.redirected_to
            d.event(rec, "redirect", label, party=d.redirected_to)
        else:
            d.event(rec, "rejected", label)
        if d.ended_at is None:
            d.ended_at = rec.at
        if d.outcome is None:
            d.outcome = sip_outcome(status)
