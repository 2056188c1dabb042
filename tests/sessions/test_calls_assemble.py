"""Calls assembled from index records (pure): outcomes, direction (A1), redirects, digits (A6),
for ETSI TS 102 232-5 SIP IRI, TS 101 671 HI2 and PacketCable CDC, over the simulator and
over OpenLI's real records."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from calea.handover import pcesp_encode as cdc
from calea.handover import ts101671_encode as hi2
from calea.handover.etsi102232_sip import parse_sip
from calea.sessions import call_cdc
from calea.sessions.calls import (
    IndexRecord,
    TargetIdentity,
    assemble_call,
    assemble_calls,
    e164,
    q850_outcome,
    sip_outcome,
)
from tests.sessions.calls_helpers import LIID, PEER, TARGET, TARGET_NUMBER, call_event, decode, index_records

FORMATS = ("etsi-102232", "ts101671-hi2", "pcesp")
T0 = datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)


def only_call(records: list[IndexRecord], target: TargetIdentity = TARGET) -> Any:
    calls = assemble_calls(records, {LIID: target})
    assert len(calls) == 1, calls
    return calls[0]


# --- outcomes and direction over the simulator -------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("outcome", ["answered", "busy", "no-answer", "cancelled"])
@pytest.mark.parametrize("direction", ["in", "out"])
def test_outcome_and_direction(fmt: str, outcome: str, direction: str) -> None:
    call = only_call(index_records(fmt, [call_event(1.0, direction, outcome, ring=4.0, duration=6.0)]))
    # PacketCable Release carries no cause: the simulator's NetworkSignals (busy tone, tones
    # off on the network's no-answer timer, nothing when the caller hangs up) tell (call_cdc)
    assert call.outcome == outcome
    # A1: outgoing = pen register (the target dials), incoming = trap and trace
    assert call.direction == ("outgoing" if direction == "out" else "incoming")
    assert call.collection == ("pen-register" if direction == "out" else "trap-and-trace")
    assert (call.calling, call.called) == ((TARGET_NUMBER, PEER) if direction == "out" else (PEER, TARGET_NUMBER))
    assert call.target == TARGET_NUMBER and call.state == "ended" and call.liid == LIID and call.cin
    assert call.started_at == T0 + timedelta(seconds=1)
    if outcome == "answered":
        assert call.answered_at == T0 + timedelta(seconds=5) and call.ring_s == pytest.approx(4.0)
        assert call.duration_s == pytest.approx(6.0, abs=0.03)
    else:
        assert call.answered_at is None and call.duration_s == 0.0
    if fmt == "ts101671-hi2":
        assert call.release_cause == {"answered": 16, "busy": 17, "no-answer": 19, "cancelled": 31}[outcome]
        assert call.location["cell"]["mcc"] == "310"  # the cell at set-up
        assert all(e.location for e in call.events)  # and at each event
    if fmt == "etsi-102232":
        assert call.cc_cins == (call.cin,) and call.sip_call_id  # RTP under the same CIN
    ring = "PCESP NetworkSignal " + ("ringbackTone" if direction == "out" else "alertingPattern0")
    if fmt == "pcesp" and outcome == "answered":
        assert len(call.cc_cins) == 1 and len(call.cc_cins[0]) == 8  # CCC id from CCOpen
    if fmt == "pcesp":
        signals = [e.detail for e in call.events if e.name in ("ringing", "signal")]
        assert signals == {"answered": [ring], "busy": ["PCESP NetworkSignal busyTone"],
                           "no-answer": [ring, "PCESP NetworkSignal tonesOff"], "cancelled": [ring]}[outcome]
        assert (call.ringing_at is None) == (outcome == "busy")
        if outcome == "cancelled":  # the caller hung up: the target (out) or the other party (in)
            assert call.released_by == ("target" if direction == "out" else "other")


def test_several_calls_each_with_its_key() -> None:
    events = [call_event(1.0 + 20 * i, d, o) for i, (d, o) in enumerate([("in", "answered"), ("out", "busy"),
                                                                          ("out", "no-answer")])]
    calls = assemble_calls(index_records("etsi-102232", events), {LIID: TARGET})
    assert [c.outcome for c in calls] == ["answered", "busy", "no-answer"]
    assert len({c.key for c in calls}) == 3


def test_sip_release_side() -> None:
    by_target = only_call(index_records("etsi-102232", [call_event(1.0, "in", hangup="target")]))
    by_peer = only_call(index_records("etsi-102232", [call_event(1.0, "in", hangup="peer")]))
    assert (by_target.released_by, by_peer.released_by) == ("target", "other")


def test_unknown_direction_when_no_party_is_the_target() -> None:
    other = TargetIdentity.of([{"kind": "e164", "value": "+19175550000"}])
    call = only_call(index_records("etsi-102232", [call_event(1.0, "in")]), other)
    assert call.direction == "unknown" and call.collection == "unknown"
    hinted = only_call(index_records("ts101671-hi2", [call_event(1.0, "out")]), other)
    assert hinted.direction == "outgoing"  # TS 101 671 says originating-Target


def test_call_in_progress_has_no_outcome() -> None:
    recs = index_records("etsi-102232", [call_event(1.0, "in")])
    ringing = [r for r in recs if r.fields["sip"].get("status_code") in (None, 100, 180, 183)
               and r.fields["sip"].get("method") in (None, "INVITE")]
    call = only_call(ringing)
    assert call.outcome is None and call.state == "ringing" and call.ended_at is None


# --- digits (A1 dialling vs A6 post-cut-through content) -----------------------------------

@pytest.mark.parametrize("fmt", ["ts101671-hi2", "pcesp"])
def test_digits_after_connect_are_content(fmt: str) -> None:
    events = [call_event(1.0, "out", dtmf_after="4711#")]
    kept = only_call(index_records(fmt, events))
    assert kept.digits_after == "4711#" and kept.digits_before is None
    digits = [e for e in kept.events if e.name == "digits"]
    assert digits[0].digits_kind == "post-cut-through" and digits[0].at > kept.answered_at
    # A6: under a PRTT order the gate dropped them: no digits, only the fact of suppression
    prtt = only_call(index_records(fmt, events, prtt=True))
    assert prtt.digits_after is None and prtt.suppressed == 1
    assert [e.name for e in prtt.events if e.suppressed] == ["suppressed"]
    assert all(e.digits is None for e in prtt.events)
    assert prtt.outcome == "answered" and prtt.calling == TARGET_NUMBER  # still call-identifying


def test_keypad_digits_during_setup_are_dialling() -> None:
    """TS 101 671: keypad digits of a not-yet-connected IRI-Begin are call-identifying (A1)."""
    me = hi2.Party("originating-Party", msisdn=TARGET_NUMBER[1:], calling_number=TARGET_NUMBER[1:], keypad="*67")
    other = hi2.Party("terminating-Party", called_number=PEER[1:])
    begin = hi2.Iri("begin", LIID, T0, cin="77", direction="originating-Target", call_state="setUpInProcess",
                    parties=(me, other), nature="gSM-ISDN-PSTN-circuit-call")
    end = hi2.Iri("end", LIID, T0 + timedelta(seconds=3), cin="77", direction="originating-Target",
                  call_state="idle", parties=(replace(me, keypad=None), other), release_cause=19)
    recs = decode(hi2.encode(begin), "ts101671-hi2") + decode(hi2.encode(end), "ts101671-hi2", leaf=1)
    call = only_call(recs, TARGET)
    assert call.digits_before == "*67" and call.digits_after is None
    assert [e.digits_kind for e in call.events if e.digits] == ["dialing"]
    # the same digits survive a PRTT order: they are not content
    call = only_call(decode(hi2.encode(begin), "ts101671-hi2", prtt=True), TARGET)
    assert call.digits_before == "*67"


def test_pcesp_dialed_number() -> None:
    call = only_call(index_records("pcesp", [call_event(1.0, "out")]))
    assert call.dialed == PEER


# --- redirects and transfers -----------------------------------------------------------------

def sip(at: float, text: str, leaf: int, cin: str = "9") -> IndexRecord:
    data = text.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n"
    return IndexRecord(LIID, cin, "etsi-102232", T0 + timedelta(seconds=at), {"sip": parse_sip(data)[0]}, leaf)


def dialog(method_line: str, *extra: str, to_tag: str = "", cseq: str = "1 INVITE", frm: str = PEER) -> str:
    headers = [f"From: <sip:{frm}@example.net>;tag=a1", f"To: <sip:+13105550123@example.net>{to_tag}",
               "Call-ID: c1@example.net", f"CSeq: {cseq}", *extra]
    return method_line + "\n" + "\n".join(headers)


def test_sip_call_forwarded_to_the_target() -> None:
    """A call to +13105550123 forwarded to the target (Diversion): incoming, redirected from."""
    recs = [sip(0, dialog("INVITE sip:+12125550100@198.51.100.20 SIP/2.0",
                          "Diversion: <sip:+13105550123@example.net>;reason=unconditional"), 0),
            sip(1, dialog("SIP/2.0 200 OK", to_tag=";tag=b2"), 1),
            sip(5, dialog("BYE sip:x@203.0.113.10 SIP/2.0", to_tag=";tag=b2", cseq="2 BYE"), 2)]
    call = only_call(recs)
    assert call.direction == "incoming" and call.redirected_from == "+13105550123"
    assert call.outcome == "answered" and call.duration_s == 4.0
    assert "redirected" in [e.name for e in call.events]


def test_sip_redirect_response() -> None:
    """The target's number answers 302: the call is redirected to the Contact."""
    recs = [sip(0, dialog("INVITE sip:+12125550100@198.51.100.20 SIP/2.0", frm=PEER).replace(
                "+13105550123@example.net>", "+12125550100@example.net>"), 0),
            sip(0.2, dialog("SIP/2.0 302 Moved Temporarily", "Contact: <sip:+17185550142@example.net>",
                            to_tag=";tag=b2").replace("+13105550123@example.net>", "+12125550100@example.net>"), 1)]
    call = only_call(recs)
    assert call.direction == "incoming" and call.outcome == "redirected"
    assert call.redirected_to == "+17185550142" and call.ended_at == T0 + timedelta(seconds=0.2)


def test_sip_transfer_and_reinvite() -> None:
    """The target calls, puts the call on hold (re-INVITE) and transfers it (REFER)."""
    out = dict(frm=TARGET_NUMBER)
    recs = [sip(0, dialog("INVITE sip:+13105550123@203.0.113.10 SIP/2.0", **out), 0),
            sip(1, dialog("SIP/2.0 200 OK", to_tag=";tag=b2", **out), 1),
            sip(2, dialog("INVITE sip:+13105550123@203.0.113.10 SIP/2.0", to_tag=";tag=b2", cseq="2 INVITE", **out), 2),
            sip(2.1, dialog("SIP/2.0 200 OK", to_tag=";tag=b2", cseq="2 INVITE", **out), 3),
            sip(3, dialog("REFER sip:+13105550123@203.0.113.10 SIP/2.0", "Refer-To: <sip:+17185550142@example.net>",
                          to_tag=";tag=b2", cseq="3 REFER", **out), 4),
            sip(4, dialog("BYE sip:+13105550123@203.0.113.10 SIP/2.0", to_tag=";tag=b2", cseq="4 BYE", **out), 5)]
    call = only_call(recs)
    assert call.direction == "outgoing" and call.called == "+13105550123"
    assert call.redirected_to == "+17185550142" and call.answered_at == T0 + timedelta(seconds=1)
    assert [e.name for e in call.events] == ["setup", "answer", "reinvite", "reinvite-response", "transfer", "release"]
    assert call.released_by == "target" and call.outcome == "answered"


def test_ts101671_forwarded_party() -> None:
    me = hi2.Party("terminating-Party", msisdn=TARGET_NUMBER[1:], called_number=TARGET_NUMBER[1:])
    caller = hi2.Party("originating-Party", calling_number=PEER[1:])
    fwd = hi2.Party("forwarded-to-Party", called_number="17185550142")
    begin = hi2.Iri("begin", LIID, T0, cin="5", direction="terminating-Target", call_state="setUpInProcess",
                    parties=(me, caller), nature="gSM-ISDN-PSTN-circuit-call")
    cont = hi2.Iri("continue", LIID, T0 + timedelta(seconds=2), cin="5", direction="terminating-Target",
                   call_state="setUpInProcess", parties=(me, caller, fwd))
    end = hi2.Iri("end", LIID, T0 + timedelta(seconds=3), cin="5", direction="terminating-Target", call_state="idle",
                  parties=(me, caller, fwd), release_cause=16)
    recs = [r for i, x in enumerate((begin, cont, end)) for r in decode(hi2.encode(x), "ts101671-hi2", leaf=i)]
    call = only_call(recs)
    assert call.direction == "incoming" and call.redirected_to == "+17185550142"
    assert [e.name for e in call.events if e.name == "redirect"] == ["redirect"]


def cdc_records(*messages: bytes) -> list[IndexRecord]:
    return [r for i, x in enumerate(messages) for r in decode(x, "pcesp", leaf=i)]


def test_pcesp_redirection_and_tones() -> None:
    """PKT-SP-ES-DCI: Release has no cause; the NetworkSignals before it tell the outcome."""
    ident = cdc.CallIdentity("1795777200,0", "cms")
    el = "cms"
    term = cdc.termination_attempt(LIID, el, T0, ident, PEER[1:], TARGET_NUMBER[1:])
    redirect = cdc.redirection(LIID, el, T0 + timedelta(seconds=2), ident, "17185550142",
                               redirected_from=TARGET_NUMBER[1:])
    release = cdc.release(LIID, el, T0 + timedelta(seconds=3), ident)
    call = only_call(cdc_records(term, redirect, release))
    assert call.direction == "incoming" and call.redirected_to == "+17185550142" and call.outcome == "redirected"

    def signal(at: float, to: str = TARGET_NUMBER[1:], **kind: str) -> bytes:
        return cdc.network_signal(LIID, el, T0 + timedelta(seconds=at), ident, to, **kind)

    alert = signal(0.1, alerting="alertingPattern0")
    for tone, outcome in (("busyTone", "busy"), ("reorderTone", "failed"), ("specialInfoTone", "failed"),
                          ("tonesOff", "no-answer"), ("ringbackTone", "cancelled")):
        call = only_call(cdc_records(term, alert, signal(1, PEER[1:], audible=tone), release))
        assert call.outcome == outcome, tone
        assert call.ringing_at == T0 + timedelta(seconds=0.1)  # the alerting pattern at the target's phone
        assert call.released_by == ("other" if outcome == "cancelled" else None)  # the caller hung up
    # tones after the release, or after an answer, say nothing about the outcome
    late_busy = signal(4, audible="busyTone")
    assert only_call(cdc_records(term, release, late_busy)).outcome == "cancelled"
    answered = only_call(cdc_records(term, cdc.answer(LIID, el, T0 + timedelta(seconds=1), ident),
                                     signal(2, audible="busyTone"), release))
    assert answered.outcome == "answered" and answered.duration_s == 2.0
    # no signal at all: timing is all that is left (NO_ANSWER_TIMEOUT)
    long_ring = cdc.release(LIID, el, T0 + timedelta(seconds=call_cdc.NO_ANSWER_TIMEOUT + 1), ident)
    assert only_call(cdc_records(term, long_ring)).outcome == "no-answer"
    events = only_call(cdc_records(term, alert, signal(1, PEER[1:], audible="busyTone"), release)).events
    assert [(e.name, e.party) for e in events] == [("setup", TARGET_NUMBER), ("ringing", TARGET_NUMBER),
                                                   ("signal", PEER), ("release", None)]


@pytest.mark.parametrize("tones,redirected,ring,outcome", [
    (["ringbackTone", "busyTone"], False, 1.0, "busy"), (["busyTone", "reorderTone"], True, 1.0, "busy"),
    (["interceptTone"], False, 1.0, "failed"), (["ringbackTone"], True, 1.0, "redirected"),
    (["ringbackTone", "tonesOff"], False, 5.0, "no-answer"), ([], False, 60.0, "no-answer"),
    (["ringbackTone"], False, 59.9, "cancelled"), ([], False, 0.0, "cancelled"),
])
def test_pcesp_unanswered_outcome(tones: list[str], redirected: bool, ring: float, outcome: str) -> None:
    assert call_cdc.unanswered_outcome(tones, redirected, ring) == outcome


# --- OpenLI's real records --------------------------------------------------------------------

def test_openli_calls() -> None:
    """The three calls of shared/vectors/openli-1.1.20-voip-ip, as its README describes them."""
    from tests.intake.test_tamper import records

    recs: list[IndexRecord] = []
    for data in records("hi2-NYPD.ber"):
        recs += decode(data, "etsi-102232", leaf=len(recs))
    target = TargetIdentity.of([{"kind": "sip_uri", "value": "sip:+12125550100@example.net"}])
    calls = assemble_calls(recs, {"NYPD-VOIP-0001": target})
    got = [(c.cin, c.direction, c.calling, c.called, c.outcome, c.started_at.strftime("%H:%M:%S.%f")[:11],
            c.duration_s, c.released_by) for c in calls]
    assert got == [
        ("2067558778", "incoming", "+12125550199", "+12125550100", "answered", "14:00:18.00", 4.2, "target"),
        ("1256846793", "outgoing", "+12125550100", "+13105550123", "answered", "14:00:27.05", 3.1, "other"),
        ("1139066780", "incoming", "+17185550142", "+12125550100", "cancelled", "14:00:37.00", 0.0, "other"),
    ]
    assert all(not c.cin.startswith("884234925") for c in calls)  # the SIP MESSAGE is not a call


# --- tables -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("sip:+12125550100@example.net;user=phone", "+12125550100"), ("tel:+1-212-555-0100", "+12125550100"),
    ("12125550100", "+12125550100"), ("2125550100", "+12125550100"), ("(212) 555-0100", "+12125550100"),
    ("011442071234567", "+442071234567"), ("00442071234567", "+442071234567"), ("+442071234567", "+442071234567"),
    ("sip:alice@example.net", None), ("555-0100", None), ("1125550100", None), ("", None), (None, None),
])
def test_e164(raw: str | None, expected: str | None) -> None:
    assert e164(raw) == expected


@pytest.mark.parametrize("cause,outcome", [(17, "busy"), (21, "busy"), (18, "no-answer"), (19, "no-answer"),
                                           (16, "cancelled"), (31, "cancelled"), (1, "failed"), (34, "failed"),
                                           (None, "no-answer")])
def test_q850_outcome(cause: int | None, outcome: str) -> None:
    assert q850_outcome(cause) == outcome


@pytest.mark.parametrize("status,outcome", [(486, "busy"), (600, "busy"), (603, "busy"), (480, "no-answer"),
                                            (408, "no-answer"), (487, "cancelled"), (302, "redirected"),
                                            (404, "failed"), (503, "failed")])
def test_sip_outcome(status: int, outcome: str) -> None:
    assert sip_outcome(status) == outcome


def test_not_calls() -> None:
    """A SIP MESSAGE dialog and a TS 101 671 SMS report are no calls."""
    recs = index_records("etsi-102232", [])
    assert assemble_call([], TARGET) is None and recs == []
    msg = sip(0, "MESSAGE sip:+12125550100@x SIP/2.0\nFrom: <sip:+1@x>;tag=1\nTo: <sip:+2@x>\nCall-ID: m\n"
                 "CSeq: 1 MESSAGE", 0)
    assert assemble_call([msg], TARGET) is None
