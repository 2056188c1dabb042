"""One call from the IRI records of a circuit or IMS call (ETSI TS 101 671 / 3GPP TS 33.108).

SPEC: TS 101 671 clause 10 / annex D (IRI-Begin at set-up, IRI-Continue during the call,
IRI-End at release, IRI-Report), `partyInformation` qualifiers (originating-, terminating-,
forwarded-to-Party), `intercepted-Call-State`, `release-Reason-Of-Intercepted-Call`
(ITU-T Q.850), `locationOfTheTarget`.

Reads the fields of `calea.handover.ts101671_fields`.  Keypad digits of a not-yet-connected
IRI-Begin are dialling (`fields["keypad_digits"]`, call-identifying); later keypad digits
are content the store kept only under a warrant (A6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from calea.sessions.call_model import Draft, IndexRecord, q850_outcome
from calea.sessions.call_parties import party

_CALL_TYPES = ("begin", "continue", "end", "report")


def is_call_record(fields: Any) -> bool:
    """An IRI of a call (not an SMS, a packet-data session or a bare location report)."""
    if not isinstance(fields, dict) or fields.get("iri_type") not in _CALL_TYPES:
        return False
    if "sms" in fields or any(k in fields for k in ("gprs_event", "eps_event")):
        return False
    nature = str(fields.get("nature") or "")
    if "SMS" in nature.upper():
        return False
    return "call" in nature.lower() or "call_state" in fields or "release_cause" in fields or (
        fields.get("iri_type") != "report" and "parties" in fields)


def _number(p: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = p.get(key)
        if isinstance(value, dict):
            found = value.get("e164") or value.get("digits")
            if found:
                return str(found)
        elif isinstance(value, str) and value:
            return value
    return None


def _ids(p: Mapping[str, Any]) -> tuple[str, ...]:
    out = [_number(p, k) for k in ("calling_number", "called_number", "msisdn", "e164_number")]
    out += [p.get(k) for k in ("sip_uri", "tel_uri", "imsi", "imei", "asserted_identity")]
    return tuple(str(x) for x in out if x)


def _parties(d: Draft, parties: Any) -> None:
    for p in parties if isinstance(parties, list) else ():
        if not isinstance(p, dict):
            continue
        q = p.get("qualifier", "")
        if q == "originating-Party":
            d.calling = d.calling or party(_number(p, "calling_number", "msisdn", "e164_number")
                                           or p.get("sip_uri") or p.get("tel_uri"))
            d.calling_ids = d.calling_ids or _ids(p)
        elif q == "terminating-Party":
            d.called = d.called or party(_number(p, "called_number", "msisdn", "e164_number")
                                         or p.get("sip_uri") or p.get("tel_uri"))
            d.called_ids = d.called_ids or _ids(p)
        elif q == "forwarded-to-Party":
            d.redirected_to = party(_number(p, "called_number", "msisdn", "e164_number") or p.get("sip_uri"))
        dialled = p.get("dialled_number")
        if isinstance(dialled, dict) and d.dialed is None:
            d.dialed = party(dialled.get("e164") or dialled.get("digits"))


def _cause(fields: Mapping[str, Any]) -> int | None:
    cause = fields.get("release_cause")
    if isinstance(cause, dict) and isinstance(cause.get("cause"), int):
        return int(cause["cause"])
    return None


def assemble(liid: str, cin: str, records: list[IndexRecord]) -> Draft | None:
    calls = [r for r in records if is_call_record(r.fields)]
    if not calls:
        return None
    d = Draft(liid, cin, "ts101671-hi2", calls[0].at)
    for rec in calls:
        f = rec.fields
        d.records.append(rec)
        iri_type, state = f.get("iri_type"), f.get("call_state")
        location = f.get("location") if isinstance(f.get("location"), dict) else None
        direction = f.get("direction")
        if direction in ("originating-Target", "terminating-Target") and d.direction_hint is None:
            d.direction_hint = "outgoing" if direction == "originating-Target" else "incoming"
        had_forward = d.redirected_to
        _parties(d, f.get("parties"))
        if d.redirected_to and d.redirected_to != had_forward:
            d.event(rec, "redirect", "forwarded-to party reported", party=d.redirected_to, location=location)
        if iri_type == "begin":
            d.event(rec, "setup", f"IRI-Begin ({state or 'set-up'})", party=d.called, location=location)
            keyed = f.get("keypad_digits")
            if keyed:
                d.event(rec, "digits", "keypad digits during set-up", digits=str(keyed), location=location)
        elif iri_type == "end":
            d.ended_at = rec.at
            d.release_cause = _cause(f)
            d.event(rec, "release", f"IRI-End (Q.850 cause {d.release_cause})" if d.release_cause is not None
                    else "IRI-End", location=location)
        elif state == "connected" and d.answered_at is None:
            d.answered_at = rec.at
            d.event(rec, "answer", "IRI-Continue (connected)", location=location)
        elif state == "alerting" or (iri_type == "continue" and state == "setUpInProcess" and d.ringing_at is None):
            d.ringing_at = d.ringing_at or rec.at
            d.event(rec, "ringing", f"IRI-Continue ({state})", location=location)
        elif not (rec.digits or rec.suppressed):
            d.event(rec, "update" if iri_type == "continue" else "report",
                    f"IRI-{str(iri_type).capitalize()}" + (f" ({state})" if state else ""), location=location)
        d.digits_of(rec, "keypad digits")
    if d.ended_at is not None and d.answered_at is None:
        d.outcome = q850_outcome(d.release_cause)
    return d
