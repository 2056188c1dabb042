"""One call from PacketCable Electronic Surveillance CDC messages (PKT-SP-ES-DCI).

SPEC: PKT-SP-ES-DCI call-data messages: Origination (the target calls; `input` = the
digits dialled), TerminationAttempt (the target is called), Answer, Redirection (old /
new call, redirected-to / -from party), NetworkSignal (`subjectAudibleSignal`: ringback,
busy, reorder, tones-off... tones; `alertingSignal`: the ringing pattern of a terminal;
`signaledToPartyId`: the party it is applied to), SubjectSignal, DialedDigitExtraction
(post-cut-through digits: content, A6), CCOpen / CCClose (call-content channel ids),
Release.

Outcome.  Release carries no cause (PCESP v3 and v4 alike), so an unanswered call's
outcome is read from what the network signalled before the Release; signals after an
Answer or after the Release do not count.  In this order (`unanswered_outcome`):

1. `busy` -- a NetworkSignal `busyTone`: the target called a busy line (the tone is
   applied to the target), or the target was busy (applied to the caller).
2. `failed` -- a failure tone (reorder, special information, intercept, denial, number
   unobtainable, abbreviated intercept / congestion, authentication failure).
3. `redirected` -- a Redirection of this call: it was forwarded away before an answer
   (the forwarded leg is another call identity).
4. `no-answer` -- the network gave up on the attempt: a NetworkSignal `tonesOff` (the
   network ended the ringback / alerting on its no-answer timer) came before the Release,
   or the call rang for `NO_ANSWER_TIMEOUT` seconds or longer with nothing else said.
5. `cancelled` -- anything else: the call was released while being set up or ringing with
   no busy, failure or tones-off signal, which only the caller does by hanging up (the
   SIP CANCEL of PacketCable 2.0 signalling); `released_by` is the caller.

Interpretation: a carrier whose delivery function reports no NetworkSignal at all gives
`cancelled` for unanswered calls shorter than `NO_ANSWER_TIMEOUT`, `no-answer` for longer
ones -- timing is all PCESP leaves then.  Ringing starts at the first ringback tone or
alerting pattern (else at the Origination / TerminationAttempt).
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
FAIL_TONES = frozenset(("reorderTone", "specialInfoTone", "interceptTone", "abbreviatedIntercept",
                        "abbreviatedCongestion", "denialTone", "numberUnObtainableTone",
                        "authenticationFailureTone"))
STOP_TONE = "tonesOff"
NO_ANSWER_TIMEOUT = 60.0  # seconds of ringing after which an unexplained release is a network no-answer


def unanswered_outcome(tones: list[str], redirected: bool, ring_s: float) -> str:
    """The outcome of a call released before an answer, from the NetworkSignal tones applied
    before the Release (in order), whether it was redirected, and how long it rang (see
    the module's rule)."""
    if "busyTone" in tones:
        return "busy"
    if any(t in FAIL_TONES for t in tones):
        return "failed"
    if redirected:
        return "redirected"
    if STOP_TONE in tones or ring_s >= NO_ANSWER_TIMEOUT:
        return "no-answer"
    return "cancelled"


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
    tones: list[str] = []  # audible signals applied before an answer or release
    redirected = False
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
            redirected = redirected or (d.answered_at is None and d.ended_at is None)
            new = f.get("new_call_id")
            d.event(rec, "redirect", "PCESP Redirection" + (f" (new call {new})" if new else ""), party=d.redirected_to)
        elif name in ("ccopen", "ccchange"):
            for ccc in _ccc_ids(f.get("ccc")):
                d.cc(ccc)
            d.event(rec, "content-channel", f"PCESP {'CCOpen' if name == 'ccopen' else 'CCChange'}")
        elif name == "networksignal":
            _signal(d, rec, tones)
        elif name in ("dialeddigitextraction", "subjectsignal"):
            d.digits_of(rec, "PCESP " + ("DialedDigitExtraction" if name == "dialeddigitextraction" else "SubjectSignal"))
        else:
            d.event(rec, str(name), f"PCESP {name}")
    if d.ended_at is not None and d.answered_at is None:
        ring_from = d.ringing_at or d.started_at
        d.outcome = unanswered_outcome(tones, redirected, (d.ended_at - ring_from).total_seconds())
        if d.outcome == "cancelled":
            d.released_by_caller = True
    return d


def _signal(d: Draft, rec: IndexRecord, tones: list[str]) -> None:
    """A NetworkSignal: ringing (ringback to the caller, an alerting pattern at the called
    terminal), and the tones that tell an unanswered call's outcome."""
    f = rec.fields
    tone = str(f.get("audible_signal") or "")
    alerting = str(f.get("alerting_signal") or "")
    rings = tone == "ringbackTone" or (alerting not in ("", "notUsed"))
    if rings and d.ringing_at is None and d.answered_at is None:
        d.ringing_at = rec.at
    if tone and d.answered_at is None and d.ended_at is None:
        tones.append(tone)
    to = party(_dn(f.get("signaled_to")))
    what = " / ".join(x for x in (tone, alerting, f.get("other_signal")) if x) or "display"
    d.event(rec, "ringing" if rings and d.ringing_at == rec.at else "signal", f"PCESP NetworkSignal {what}",
            party=to)
