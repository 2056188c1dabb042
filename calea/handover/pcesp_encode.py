"""Building PCESP CDC messages (for the carrier simulator and tests).

Each builder returns one BER `CdcPdu` (protocol version v4), encoded by pycrate from the
compiled `PCESP` module.  Parties are given as directory numbers (`PartyId.dn`), times as
aware datetimes (written as UTC GeneralizedTime with milliseconds), CCC identifiers as
32-bit ints (written as 8 hex characters, as PKT-SP-ES-DCI requires).  `call_flow()`
builds the usual sequence: Origination, CCOpen, Answer, [DialedDigitExtraction],
Release, CCClose.  An impossible value raises `CodecUsageError`.

`network_signal()` builds a NetworkSignal: a signal the network applies to a party of the
call -- an audible tone (`AudibleSignal`: dialTone, ringbackTone, busyTone, reorderTone,
tonesOff, ...), an alerting pattern (`AlertingSignal`: alertingPattern0..9,
callWaitingPattern1..4, bargeInTone), a display text, or free text (`other`); the signal
names are the enumerations of the PCESP ASN.1 module (`AUDIBLE_SIGNALS`,
`ALERTING_SIGNALS`).  `Release` carries no cause in any PCESP version (v3, v4): the
call's outcome is told by the NetworkSignals before it (`calea.sessions.call_cdc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from pycrate_asn1dir import LIETSI

from calea.handover.errors import CodecUsageError
from calea.handover.pcesp_ccc import ccc_id_text
from calea.handover.ts101671_asn1 import pycrate_encode

_PDU = LIETSI.PCESP.CdcPdu
AUDIBLE_SIGNALS: tuple[str, ...] = tuple(LIETSI.PCESP.AudibleSignal._cont.keys())
ALERTING_SIGNALS: tuple[str, ...] = tuple(LIETSI.PCESP.AlertingSignal._cont.keys())
_DISPLAY_FIELDS = tuple(LIETSI.PCESP.TerminalDisplayInfo._cont.keys())


@dataclass(frozen=True)
class CallIdentity:
    sequence: str  # "timestamp,counter" per PKT-SP-ES-DCI
    system: str  # element id of the CMS / call agent

    @property
    def key(self) -> str:
        return f"{self.system}:{self.sequence}"

    def value(self) -> dict[str, str]:
        return {"sequencenumber": self.sequence, "systemidentity": self.system}


def event_time(at: datetime) -> tuple[str | None, ...]:
    if at.tzinfo is None:
        raise CodecUsageError("event time must be an aware datetime")
    utc = at.astimezone(timezone.utc)
    millis = f"{utc.microsecond // 1000:03d}" if utc.microsecond >= 1000 else None
    return (f"{utc.year:04d}", f"{utc.month:02d}", f"{utc.day:02d}", f"{utc.hour:02d}",
            f"{utc.minute:02d}", f"{utc.second:02d}", millis, "Z")


def party(dn: str) -> dict[str, str]:
    return {"dn": dn}


def ccc_value(ccc: int | tuple[int, int]) -> tuple[str, Any]:
    """`CCCId`: one combined CCC, or a (transmit, receive) pair."""
    if isinstance(ccc, tuple):
        return ("sepCCCpair", {"sepXmitCCC": ccc_id_text(ccc[0]), "sepRecvCCC": ccc_id_text(ccc[1])})
    return ("combCCC", ccc_id_text(ccc))


def encode_cdc(message: str, body: dict[str, Any], version: str = "v4") -> bytes:
    """A `CdcPdu` holding the `Message` alternative `message` with pycrate value `body`."""
    return pycrate_encode(_PDU, {"protocolVersion": version, "message": (message, body)})


def _head(case_id: str, element: str, at: datetime) -> dict[str, Any]:
    return {"caseId": case_id, "accessingElementId": element, "eventTime": event_time(at)}


def origination(case_id: str, element: str, at: datetime, call: CallIdentity, calling: str,
                called: str | None, dialed: str) -> bytes:
    body = {**_head(case_id, element, at), "callId": call.value(), "calling": party(calling),
            "input": ("userinput", dialed), "reserved0": 0}
    if called:
        body["called"] = party(called)
    return encode_cdc("origination", body)


def termination_attempt(case_id: str, element: str, at: datetime, call: CallIdentity,
                        calling: str | None, called: str) -> bytes:
    body = {**_head(case_id, element, at), "callId": call.value(), "called": party(called),
            "reserved0": 0}
    if calling:
        body["calling"] = party(calling)
    return encode_cdc("terminationattempt", body)


def answer(case_id: str, element: str, at: datetime, call: CallIdentity,
           answering: str | None = None) -> bytes:
    body = {**_head(case_id, element, at), "callId": call.value()}
    if answering:
        body["answering"] = party(answering)
    return encode_cdc("answer", body)


def release(case_id: str, element: str, at: datetime, call: CallIdentity) -> bytes:
    return encode_cdc("release", {**_head(case_id, element, at), "callId": call.value()})


def cc_open(case_id: str, element: str, at: datetime, calls: Sequence[CallIdentity],
            ccc: int | tuple[int, int], flow: str = "downstream-and-upstream",
            sdp_subject: str | None = None, sdp_associate: str | None = None) -> bytes:
    body = {**_head(case_id, element, at), "ccOpenOption": ("ccOpenTime", [c.value() for c in calls]),
            "cCCId": ccc_value(ccc), "flowDirection": flow}
    if sdp_subject:
        body["subject"] = sdp_subject
    if sdp_associate:
        body["associate"] = sdp_associate
    return encode_cdc("ccopen", body)


def cc_close(case_id: str, element: str, at: datetime, ccc: int | tuple[int, int],
             flow: str = "downstream-and-upstream") -> bytes:
    return encode_cdc("ccclose", {**_head(case_id, element, at), "cCCId": ccc_value(ccc),
                                  "flowDirection": flow})


def redirection(case_id: str, element: str, at: datetime, old: CallIdentity, redirected_to: str,
                new: CallIdentity | None = None, redirected_from: str | None = None) -> bytes:
    body = {**_head(case_id, element, at), "old": old.value(), "redirectedto": party(redirected_to),
            "reserved0": 0, "reserved1": 0}
    if new:
        body["new"] = new.value()
    if redirected_from:
        body["redirectedfrom"] = party(redirected_from)
    return encode_cdc("redirection", body)


def dialed_digit_extraction(case_id: str, element: str, at: datetime, call: CallIdentity,
                            digits: str) -> bytes:
    return encode_cdc("dialeddigitextraction", {**_head(case_id, element, at),
                                                "callId": call.value(), "digits": digits})


def network_signal(case_id: str, element: str, at: datetime, call: CallIdentity, signaled_to: str, *,
                   audible: str | None = None, alerting: str | None = None, other: str | None = None,
                   display: dict[str, str] | None = None) -> bytes:
    """A NetworkSignal: `audible` (an `AudibleSignal` name: "busyTone", "ringbackTone",
    "tonesOff", ...) and / or `alerting` (an `AlertingSignal` name: "alertingPattern0", ...)
    applied to the party `signaled_to` (a directory number); `display` holds
    `TerminalDisplayInfo` fields (callingNumber, callingName, ...)."""
    if audible is not None and audible not in AUDIBLE_SIGNALS:
        raise CodecUsageError(f"audible signal {audible!r}: one of {AUDIBLE_SIGNALS}")
    if alerting is not None and alerting not in ALERTING_SIGNALS:
        raise CodecUsageError(f"alerting signal {alerting!r}: one of {ALERTING_SIGNALS}")
    unknown = set(display or {}) - set(_DISPLAY_FIELDS)
    if unknown:
        raise CodecUsageError(f"display fields {sorted(unknown)}: known are {_DISPLAY_FIELDS}")
    if audible is None and alerting is None and not other and not display:
        raise CodecUsageError("a NetworkSignal needs an audible or alerting signal, a display or other text")
    body: dict[str, Any] = {**_head(case_id, element, at), "callId": call.value()}
    if alerting is not None:
        body["alertingSignal"] = alerting
    if audible is not None:
        body["subjectAudibleSignal"] = audible
    if display:
        body["terminalDisplayInfo"] = dict(display)
    if other:
        body["other"] = other
    body["signaledToPartyId"] = party(signaled_to)
    return encode_cdc("networksignal", body)


def subject_signal(case_id: str, element: str, at: datetime, call: CallIdentity | None,
                   signaled_from: str, dialed_digits: str | None = None,
                   feature_key: str | None = None, switchhook_flash: str | None = None) -> bytes:
    signal = {k: v for k, v in (("switchhookFlash", switchhook_flash), ("dialedDigits", dialed_digits),
                                ("featureKey", feature_key)) if v}
    body: dict[str, Any] = {**_head(case_id, element, at), "signal": signal,
                            "signaledFromPartyId": party(signaled_from)}
    if call:
        body["callId"] = call.value()
    return encode_cdc("subjectsignal", body)


def service_instance(case_id: str, element: str, at: datetime, call: CallIdentity, name: str,
                     calling: str | None = None, called: str | None = None) -> bytes:
    body: dict[str, Any] = {**_head(case_id, element, at), "callId": call.value(), "serviceName": name}
    if called:
        body["called"] = party(called)
    if calling:
        body["calling"] = party(calling)
    return encode_cdc("serviceinstance", body)


def call_flow(case_id: str, element: str, call: CallIdentity, calling: str, called: str,
              ccc: int | tuple[int, int], start: datetime, answered_after: float = 5.0,
              duration: float = 60.0, post_cut_through: str | None = None) -> list[bytes]:
    """Origination, CCOpen, Answer, [DialedDigitExtraction], Release, CCClose."""
    answered = start + timedelta(seconds=answered_after)
    ended = answered + timedelta(seconds=duration)
    records = [origination(case_id, element, start, call, calling, called, called),
               cc_open(case_id, element, start, [call], ccc),
               answer(case_id, element, answered, call, called)]
    if post_cut_through:
        records.append(dialed_digit_extraction(case_id, element, answered + timedelta(seconds=1),
                                               call, post_cut_through))
    records += [release(case_id, element, ended, call), cc_close(case_id, element, ended, ccc)]
    return records
