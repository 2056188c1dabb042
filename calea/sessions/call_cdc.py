"""One call from PacketCable Electronic Surveillance CDC messages (PKT-SP-ES-DCI).

SPEC: PKT-SP-ES-DCI call-data messages: Origination (the target calls; `input` = the
digits dialled), TerminationAttempt (the target is called), Answer, Redirection (old /
new call, redirected-to / -from party), NetworkSignal (`subjectAudibleSignal`: ringback,
busy, reorder... tones played to the target), SubjectSignal, DialedDigitExtraction
(post-cut-through digits: content, A6), CCOpen / CCClose (call-content channel ids),
Release.

Interpretation: Release carries no cause.  A call released unanswered is `busy` when a
busy tone was signalled to the target, `failed` after a reorder / special-information /
intercept tone, and otherwise `no-answer` -- PacketCable does not tell a caller giving up
(cancelled) from an unanswered ring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from calea.sessions.call_model import Draft, IndexRecord
from calea.sessions.call_parties import party

CALL_MESSAGES = frozenset(("origination", "terminationattempt", "answer", "release", "ccopen", "ccchange",
                           "redirection", "dialeddigitextraction", "networksignal", "subjectsignal",
                           "serviceinstance", "callidentity"))
_SETUP = ("origination", "terminationattempt", "answer", "release", "redirection")
_FAIL_TONES = frozenset(("reorderTone", "specialInfoTone", "interceptTone", "abbreviatedIntercept",
                         "abbreviatedCongestion", "denialTone", "numberUnObtainableTone",
                         "authenticationFailureTone"))


def is_call_message(fields: Any) -> bool:
    return isinstance(fields, dict) and fields.get("message") in CALL_MESSAGES


def _dn(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    for key in ("dn", "userProvided", "genericDigits", "genericAddress", "ipAddress"):
        if value.get(key):
            return str(value[key])
    return None


def _ccc_ids(ccc: Any) -> list[str]:
    """The 8-hex-digit CCC id(s) the call's content datagrams carry (the CC stream's CIN)."""
    if not isinstance(ccc, Mapping):
        return []
    out = []
    for key in ("combined_id", "transmit_id", "receive_id"):
        if isinstance(ccc.get(key), int):
            out.append(f"{int(ccc[key]):08X}")
    return out


def assemble(liid: str, cin: str, records: list[IndexRecord]) -> Draft | None:
    msgs = [r for r in records if is_call_message(r.fields)]
    if not any(r.fields.get("message") in _SETUP for r in msgs):
        return None
    d = Draft(liid, cin, "pcesp-cdc", msgs[0].at)
    tone_outcome: str | None = None
    for rec in msgs:
        f = rec.fields
        d.records.append(rec)
        name = f.get("message")
        if name in ("origination", "terminationattempt"):
            d.direction_hint = "outgoing" if name == "origination" else "incoming"
            d.started_at = min(d.started_at, rec.at)
            calling, called = _dn(f.get("calling")), _dn(f.get("called"))
            d.calling, d.called = party(calling), party(called)
            d.calling_ids = tuple(x for x in (calling,) if x)
            d.called_ids = tuple(x for x in (called,) if x)
            dialed = (f.get("dialed_digits") or {}).get("digits")
            if dialed:
                d.dialed = party(str(dialed)) or str(dialed)
            info = f.get("redirected_from_info") or {}
            original = _dn(info.get("original_called")) or _dn(info.get("last_redirecting"))
            if original:
                d.redirected_from = party(original)
                d.event(rec, "redirected", "call forwarded to the target (redirectedFromInfo)", party=d.redirected_from)
            d.event(rec, "setup", "PCESP " + ("Origination" if name == "origination" else "TerminationAttempt"),
                    party=d.called)
        elif name == "answer":
            if d.answered_at is None:
                d.answered_at = rec.at
            d.event(rec, "answer", "PCESP Answer", party=party(_dn(f.get("answering"))))
        elif name == "release":
            d.ended_at = d.ended_at or rec.at
            d.event(rec, "release", "PCESP Release")
        elif name == "redirection":
            to, frm = _dn(f.get("redirected_to")), _dn(f.get("redirected_from"))
            d.redirected_to = party(to) if to else d.redirected_to
            d.redirected_from = d.redirected_from or (party(frm) if frm else None)
            new = f.get("new_call_id")
            d.event(rec, "redirect", "PCESP Redirection" + (f" (new call {new})" if new else ""), party=d.redirected_to)
        elif name in ("ccopen", "ccchange"):
            for ccc in _ccc_ids(f.get("ccc")):
                d.cc(ccc)
            d.event(rec, "content-channel", f"PCESP {'CCOpen' if name == 'ccopen' else 'CCChange'}")
        elif name == "networksignal":
            tone = str(f.get("audible_signal") or "")
            if tone == "ringbackTone" and d.ringing_at is None:
                d.ringing_at = rec.at
            if d.answered_at is None and tone_outcome is None:
                tone_outcome = "busy" if tone == "busyTone" else "failed" if tone in _FAIL_TONES else None
            d.event(rec, "signal", f"PCESP NetworkSignal {tone or f.get('alerting_signal') or ''}".strip())
        elif name in ("dialeddigitextraction", "subjectsignal"):
            d.digits_of(rec, "PCESP " + ("DialedDigitExtraction" if name == "dialeddigitextraction" else "SubjectSignal"))
        else:
            d.event(rec, str(name), f"PCESP {name}")
    if d.ended_at is not None and d.answered_at is None:
        d.outcome = tone_outcome or "no-answer"
    return d
