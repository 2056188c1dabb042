"""Scenario -> `Plan`: the records each handover connection carries, per format.

Formats (what a carrier delivers, and on which connection):

| format         | HI2 (TCP)                                   | HI3                          |
|----------------|---------------------------------------------|------------------------------|
| `etsi-102232`  | PS-PDU iPMMIRI (SIP) and iPIRI; keep-alives | TCP: PS-PDU iPMMCC (RTP) and iPCC (IP packets); keep-alives |
| `ts101671-hi2` | IRIsContent: call Begin/Continue/End with parties and cell, SMS Report (in a ROSE Invoke by default) | none |
| `pcesp`        | CdcPdu: Origination / TerminationAttempt, NetworkSignal (ringback, alerting, busy, tones off), CCOpen, Answer, DialedDigitExtraction, Release, CCClose | UDP: CCC datagrams (4-byte CCC id + IPv4/UDP/RTP, RFC 4733 digits included) |
| `3gpp-mms`     | MmsIRIsContent (TS 33.108 hi2mms): report "send", or "notification" then "retrieval" | TCP: CC-PDU (MMSLIC-header + the m-send-req / m-retrieve-conf PDU with subject, text, SMIL, image) |

Only `etsi-102232` has keep-alives.  An MMS's HI2 reports and its HI3 CC-PDU carry one
MMS correlation number (4 octets, from the seed like a CIN; the plan's `cin` is its hex,
as the decoder gives it), so their sequence numbers run per correlation.

An event a format cannot carry (an IP session in PCESP, an MMS in ETSI, ...) is counted in
`plan.skipped` by type.  The encoders are the project's own (`calea.handover.*`): this
module only decides what to encode, when, and under which LIID / CIN.  Pure: `now`
is passed in for a scenario that starts "now".
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from calea.handover import mms_encode
from calea.handover import pcesp_encode as cdc
from calea.handover import ts101671_encode as hi2
from calea.handover.ber import from_epoch_us
from calea.handover.etsi102232 import IPCC, IPIRI, IPMMCC, IPMMIRI, PSHeader, encode_keepalive, encode_ps_pdu
from calea.handover.etsi102232_types import Payload, iso
from calea.handover.mms_pdu import MmsPart, MmsPdu, build_pdu
from calea.handover.pcesp_ccc import encode_ccc
from calea.sim.ipflows import session_packets, visit_packets
from calea.sim.plan import HI2, HI3, Drop, Pending, Plan, number, with_drops, with_keepalives
from calea.sim.scenario import (
    MMS_RETRIEVAL_DELAY, Call, Event, Idle, IpSession, Mms, Reconnect, Scenario, ScenarioError, Sms, Target, WebVisits,
    mms_parties,
)
from calea.sim.voip import CallFacts, call_facts, sms_facts

FORMATS = ("etsi-102232", "ts101671-hi2", "pcesp", "3gpp-mms")
TRANSPORTS = {"etsi-102232": "tcp", "ts101671-hi2": "none", "pcesp": "udp", "3gpp-mms": "tcp"}
ENVELOPES = ("rose", "none")


def cin_of(seed: int, start: datetime, liid: str, key: str) -> int:
    """A communication identity number (1 .. 2^31-1), stable for one scenario run and
    different for another start or seed, so repeated runs form new streams."""
    digest = hashlib.sha256(f"{seed}|{start.isoformat()}|{liid}|{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


class _Ctx:
    def __init__(self, scenario: Scenario, start: datetime, fmt: str, envelope: str) -> None:
        self.s, self.start, self.fmt, self.envelope = scenario, start, fmt, envelope
        self.carrier = scenario.carrier
        self.start_us = int(start.timestamp()) * 1_000_000 + start.microsecond
        self.items: list[Pending] = []
        self.skipped: Counter[str] = Counter()

    def us(self, at: float) -> int:
        return self.start_us + int(round(at * 1_000_000))

    def time(self, at: float) -> datetime:
        return from_epoch_us(self.us(at))

    def cin(self, liid: str, key: str) -> int:
        return cin_of(self.s.seed, self.start, liid, key)

    def add(self, at: float, channel: str, kind: str, liid: str, cin: Any, make: Any, label: str) -> None:
        self.items.append(Pending(round(at, 6), channel, kind, liid, None if cin is None else str(cin), make, label))


def build(scenario: Scenario, fmt: str, *, now: datetime | None = None, envelope: str = "rose") -> Plan:
    """The plan of `scenario` in format `fmt`.  `envelope` (ts101671-hi2 only): "rose"
    wraps each IRIsContent in a ROSE Invoke whose invokeId is the per-stream sequence
    number (so a receiver can de-duplicate resends); "none" sends bare IRIsContent."""
    if fmt not in FORMATS:
        raise ScenarioError(f"format {fmt!r}: one of {FORMATS}")
    if envelope not in ENVELOPES:
        raise ScenarioError(f"envelope {envelope!r}: one of {ENVELOPES}")
    start = scenario.start or now
    if start is None or start.tzinfo is None:
        raise ScenarioError("the scenario starts 'now': pass an aware `now`")
    ctx = _Ctx(scenario, start, fmt, envelope)
    drops: list[Drop] = []
    for index, event in enumerate(scenario.events):
        if isinstance(event, Reconnect):
            for channel in (HI2, HI3) if event.channel == "both" else (event.channel,):
                if channel == HI3 and TRANSPORTS[fmt] != "tcp":
                    ctx.skipped["reconnect-" + channel] += 1  # UDP or no HI3: nothing to reconnect
                else:
                    drops.append(Drop(event.at, channel, event.resend, event.partial))
        elif not isinstance(event, Idle):
            _event(ctx, index, event)
    records = number(ctx.items)
    lists = {}
    for channel in (HI2, HI3):
        mine = [r for r in records if r.channel == channel]
        if fmt == "etsi-102232":
            mine = with_keepalives(mine, channel, scenario.carrier.keepalive_interval, scenario.length,
                                   partial(_keepalive, ctx), scenario.carrier.keepalive_liid)
        lists[channel] = with_drops(mine, [d for d in drops if d.channel == channel])
    return Plan(fmt, start, lists[HI2], lists[HI3], TRANSPORTS[fmt], dict(ctx.skipped))


def _event(ctx: _Ctx, index: int, event: Event) -> None:
    table: dict[str, dict[type, Any]] = {
        "etsi-102232": {Call: _etsi_call, Sms: _etsi_sms, IpSession: _etsi_session, WebVisits: _etsi_visits},
        "ts101671-hi2": {Call: _hi2_call, Sms: _hi2_sms},
        "pcesp": {Call: _cdc_call},
        "3gpp-mms": {Mms: _mms},
    }
    handler = table[ctx.fmt].get(type(event))
    if handler is None:
        ctx.skipped[type(event).__name__] += 1
        return
    target = ctx.s.target(event.liid)  # type: ignore[union-attr]
    handler(ctx, index, event, target)


# --- ETSI TS 102 232 ------------------------------------------------------------------------


def _etsi_make(ctx: _Ctx, liid: str, cin: int, at: float, payload: Payload, seq: int) -> bytes:
    c = ctx.carrier
    header = PSHeader(liid, seq, cin=cin, operator_id=c.operator_id, network_element_id=c.network_element,
                      authorization_country_code=c.country, delivery_country_code=c.country,
                      interception_point_id=c.interception_point, timestamp_us=ctx.us(at), timestamp_qualifier=1)
    return encode_ps_pdu(header, payload)


def _keepalive(ctx: _Ctx, seq: int, at: float) -> bytes:
    c = ctx.carrier
    return encode_keepalive(PSHeader(c.keepalive_liid, seq, cin=0, operator_id=c.operator_id,
                                     network_element_id=c.network_element, authorization_country_code=c.country,
                                     delivery_country_code=c.country, timestamp_us=ctx.us(at), timestamp_qualifier=1))


def _etsi(ctx: _Ctx, at: float, channel: str, liid: str, cin: int, payload: Payload, label: str) -> None:
    kind = "iri" if channel == HI2 else "cc"
    ctx.add(at, channel, kind, liid, cin, partial(_etsi_make, ctx, liid, cin, at, payload), label)


def _etsi_call(ctx: _Ctx, index: int, call: Call, target: Target) -> None:
    facts = call_facts(call, target, ctx.carrier, index, ctx.s.seed)
    cin = ctx.cin(call.liid, f"call{index}")
    for sig in facts.signals:
        _etsi(ctx, sig.at, HI2, call.liid, cin, IPMMIRI(sig.iri_type, sig.data, sig.src, sig.dst), sig.label)
    for m in facts.media:
        _etsi(ctx, m.at, HI3, call.liid, cin, IPMMCC("fromTarget" if m.from_target else "toTarget", m.packet), m.label)


def _etsi_sms(ctx: _Ctx, index: int, sms: Sms, target: Target) -> None:
    cin = ctx.cin(sms.liid, f"sms{index}")
    for sig in sms_facts(sms, target, ctx.carrier, index, ctx.s.seed):
        _etsi(ctx, sig.at, HI2, sms.liid, cin, IPMMIRI(sig.iri_type, sig.data, sig.src, sig.dst), sig.label)


def _etsi_session(ctx: _Ctx, index: int, s: IpSession, target: Target) -> None:
    cin = ctx.cin(s.liid, f"ip{index}")
    ip = target.ip or ""
    packets = session_packets(s, target, index, ctx.s.seed)
    up = sum(len(p.packet) for p in packets if p.from_target)
    down = sum(len(p.packet) for p in packets if not p.from_target)
    begin = {"accessEventType": "accessAccept", "targetUsername": target.username or target.liid.lower(),
             "internetAccessType": "xDSL", "iPVersion": "iPV4", "targetIPAddress": ip,
             "startTime": iso(ctx.time(s.at)),
             "authenticationType": "radiusAAA"}
    end = {"accessEventType": "accessEnd", "targetIPAddress": ip, "endTime": iso(ctx.time(s.end)),
           "endReason": "regularLogOff", "octetsReceived": down, "octetsTransmitted": up}
    _etsi(ctx, s.at, HI2, s.liid, cin, IPIRI("begin", begin), "ip-begin")
    for p in packets:
        _etsi(ctx, p.at, HI3, s.liid, cin, IPCC("fromTarget" if p.from_target else "toTarget", p.packet), p.label)
    _etsi(ctx, s.end, HI2, s.liid, cin, IPIRI("end", end), "ip-end")


def _etsi_visits(ctx: _Ctx, index: int, w: WebVisits, target: Target) -> None:
    for i, (client, packets) in enumerate(visit_packets(w, target, index, ctx.s.seed)):
        cin = ctx.cin(w.liid, f"web{index}.{i}.{client}")
        for p in packets:
            _etsi(ctx, p.at, HI3, w.liid, cin, IPCC("fromTarget" if p.from_target else "toTarget", p.packet), p.label)


# --- ETSI TS 101 671 HI2 --------------------------------------------------------------------


def _hi2_cin(ctx: _Ctx, liid: str, key: str) -> str:
    return str(ctx.cin(liid, key) % 100_000_000)


def _hi2_make(ctx: _Ctx, iri: hi2.Iri, seq: int) -> bytes:
    record = hi2.encode(iri)
    return hi2.encode_invoke(record, seq) if ctx.envelope == "rose" else record


def _hi2_add(ctx: _Ctx, iri: hi2.Iri, at: float, label: str) -> None:
    ctx.add(at, HI2, "iri", iri.liid, iri.cin, partial(_hi2_make, ctx, iri), label)


def _hi2_parties(target: Target, peer: str, target_calls: bool) -> tuple[hi2.Party, hi2.Party]:
    mine = "originating-Party" if target_calls else "terminating-Party"
    theirs = "terminating-Party" if target_calls else "originating-Party"
    me = hi2.Party(mine, msisdn=target.number or None, imsi=target.imsi, sip_uri=target.sip_uri,
                   calling_number=target.number if target_calls and target.number else None,
                   called_number=target.number if not target_calls and target.number else None)
    other = hi2.Party(theirs, calling_number=None if target_calls else peer.lstrip("+"),
                      called_number=peer.lstrip("+") if target_calls else None)
    return me, other


def _hi2_cell(target: Target) -> hi2.Cell:
    c = target.cell
    return hi2.Cell(c.mcc, c.mnc, c.lac, c.ci, c.latitude, c.longitude)


def _hi2_call(ctx: _Ctx, index: int, call: Call, target: Target) -> None:
    facts = call_facts(call, target, ctx.carrier, index, ctx.s.seed)
    outgoing = call.direction == "out"
    me, other = _hi2_parties(target, call.peer, outgoing)
    base = hi2.Iri("begin", call.liid, ctx.time(call.at), cin=_hi2_cin(ctx, call.liid, f"call{index}"),
                   operator=ctx.carrier.operator_id[:5],  # Operator-Identifier is SIZE (1..5)
                   direction="originating-Target" if outgoing else "terminating-Target",
                   call_state="setUpInProcess", parties=(me, other), cell=_hi2_cell(target),
                   nature="gSM-ISDN-PSTN-circuit-call")
    _hi2_add(ctx, base, call.at, "begin")
    if facts.answer_at is not None:
        answer = replace(base, iri_type="continue", at=ctx.time(facts.answer_at), call_state="connected")
        _hi2_add(ctx, answer, facts.answer_at, "answer")
        if facts.digits_at is not None and call.dtmf_by == "target" and call.dtmf_iri:
            keyed = replace(me, keypad=call.dtmf_after)
            digits = replace(answer, at=ctx.time(facts.digits_at), parties=(keyed, other))
            _hi2_add(ctx, digits, facts.digits_at, "digits")
    end = replace(base, iri_type="end", at=ctx.time(facts.end_at), call_state="idle",
                   release_cause=facts.release_cause)
    _hi2_add(ctx, end, facts.end_at, "end")


def _hi2_sms(ctx: _Ctx, index: int, sms: Sms, target: Target) -> None:
    from_target = sms.direction == "out"
    me, _ = _hi2_parties(target, sms.peer, from_target)
    at = ctx.time(sms.at)
    iri = hi2.Iri("report", sms.liid, at, cin=_hi2_cin(ctx, sms.liid, f"sms{index}"), operator=ctx.carrier.operator_id[:5],
                  direction="originating-Target" if from_target else "terminating-Target", parties=(me,),
                  cell=_hi2_cell(target), sms=hi2.Sms(sms.text, sms.peer, from_target, sent_at=at),
                  nature="gSM-SMS-Message")
    _hi2_add(ctx, iri, sms.at, "sms")


# --- PacketCable ES (CDC + CCC) ---------------------------------------------------------------


def _cdc_add(ctx: _Ctx, at: float, liid: str, cin: int, data: bytes, label: str) -> None:
    ctx.add(at, HI2, "cdc", liid, cin, lambda _seq, data=data: data, label)


def _cdc_call(ctx: _Ctx, index: int, call: Call, target: Target) -> None:
    facts: CallFacts = call_facts(call, target, ctx.carrier, index, ctx.s.seed)
    cin = ctx.cin(call.liid, f"call{index}")
    element, liid = ctx.carrier.cdc_element, call.liid
    ident = cdc.CallIdentity(f"{int(ctx.start.timestamp())},{index}", element)
    me, peer = target.number, call.peer.lstrip("+")
    t = ctx.time(call.at)
    if call.direction == "out":
        first = cdc.origination(liid, element, t, ident, me, peer, peer)
    else:
        first = cdc.termination_attempt(liid, element, t, ident, peer, me)
    _cdc_add(ctx, call.at, liid, cin, first, "origination" if call.direction == "out" else "terminationattempt")
    for at, to, kind in _cdc_signals(call, facts, me, peer):
        signal = cdc.network_signal(liid, element, ctx.time(at), ident, to, **kind)
        _cdc_add(ctx, at, liid, cin, signal, "networksignal")
    opened = facts.early_at if facts.early_at is not None else facts.answer_at
    if opened is not None:
        _cdc_add(ctx, opened, liid, cin, cdc.cc_open(liid, element, ctx.time(opened), [ident], cin,
                                                     sdp_subject=facts.target_sdp, sdp_associate=facts.peer_sdp),
                 "ccopen")
    if facts.answer_at is not None:
        answering = peer if call.direction == "out" else me
        _cdc_add(ctx, facts.answer_at, liid, cin,
                 cdc.answer(liid, element, ctx.time(facts.answer_at), ident, answering), "answer")
    if facts.digits_at is not None and call.dtmf_by == "target" and call.dtmf_iri:
        _cdc_add(ctx, facts.digits_at, liid, cin, cdc.dialed_digit_extraction(
            liid, element, ctx.time(facts.digits_at), ident, call.dtmf_after), "dialeddigitextraction")
    end = ctx.time(facts.end_at)
    _cdc_add(ctx, facts.end_at, liid, cin, cdc.release(liid, element, end, ident), "release")
    if opened is not None:
        _cdc_add(ctx, facts.end_at, liid, cin, cdc.cc_close(liid, element, end, cin), "ccclose")
    for m in facts.media:
        ctx.add(m.at, HI3, "ccc", liid, f"{cin:08X}", lambda _seq, d=encode_ccc(cin, m.packet): d, m.label)


def _cdc_signals(call: Call, facts: CallFacts, me: str, peer: str) -> list[tuple[float, str, dict[str, str]]]:
    """NetworkSignals of a call (PKT-SP-ES-DCI): (time, party signalled, signal).  Ringing:
    ringback tone to the target who calls, an alerting pattern at the target who is called
    (none with early media, as SIP sends 183 then).  Release carries no cause, so the
    signals tell the outcome (`calea.sessions.call_cdc`): busy -- busy tone to the caller
    (the target calling a busy line, or the caller of a busy target); no answer -- the
    network's no-answer timer stops the caller's ringback (tones off) before the release;
    cancelled -- the caller hangs up while it rings: no signal, only the release."""
    caller = me if call.direction == "out" else peer
    out: list[tuple[float, str, dict[str, str]]] = []
    if call.outcome != "busy" and facts.early_at is None:
        ring = {"audible": "ringbackTone"} if call.direction == "out" else {"alerting": "alertingPattern0"}
        out.append((call.at + 0.05, me, ring))
    stop = facts.end_at - 0.02  # the 486 / 480 / CANCEL instant of the SIP flow
    if call.outcome == "busy":
        out.append((stop, caller, {"audible": "busyTone"}))
    elif call.outcome == "no-answer":
        out.append((stop, caller, {"audible": "tonesOff"}))
    return out


# --- 3GPP TS 33.108 MMS (HI2 IRI, HI3 CC-PDU) ---------------------------------------------------

MMS_CONTENT_TYPE = "application/vnd.wap.multipart.related"
IMAGE_NAME = "image.png"


def mms_address(number: str) -> str:
    """An E.164 number as an OMA MMS address ("+12125550199/TYPE=PLMN")."""
    return f"{number}/TYPE=PLMN"


def mms_parts(m: Mms) -> tuple[MmsPart, ...]:
    """The body of a simulated MMS: a SMIL presentation, the text, the picture."""
    smil = (f'<smil><head><layout><region id="Image" top="0" height="70%"/><region id="Text" top="70%" height="30%"/>'
            f'</layout></head><body><par dur="5000ms"><img src="{IMAGE_NAME}" region="Image"/>'
            f'<text src="text.txt" region="Text"/></par></body></smil>').encode()
    return (MmsPart("application/smil", smil, "presentation.smil", "smil"),
            MmsPart("text/plain", m.text.encode("utf-8"), "text.txt", "text", charset="utf-8"),
            MmsPart("image/png", m.image, IMAGE_NAME, "image"))


def _mms_add(ctx: _Ctx, at: float, channel: str, liid: str, cin: str, data: bytes, label: str) -> None:
    ctx.add(at, channel, "iri" if channel == HI2 else "cc", liid, cin, lambda _seq, data=data: data, label)


def _mms(ctx: _Ctx, index: int, m: Mms, target: Target) -> None:
    """From the target: report "send" with the m-send-req it sends (CC from-target).  To the
    target: report "notification" (m-notification-ind), then "retrieval" with the
    m-retrieve-conf it fetches (CC to-target) `MMS_RETRIEVAL_DELAY` seconds later."""
    correlation = ctx.cin(m.liid, f"mms{index}").to_bytes(4, "big")
    cin, liid = correlation.hex(), m.liid
    sender, recipients, outgoing = mms_parties(m, target)
    me = "+" + target.number
    transaction = f"T{correlation.hex().upper()}"
    message_id = f"{correlation.hex()}@mmsc.{ctx.carrier.sip_domain}"
    to = tuple(mms_address(r) for r in recipients)
    iri = partial(mms_encode.MmsIri, liid, correlation=correlation, target=me, sender=mms_address(sender), to=to,
                  content_type=MMS_CONTENT_TYPE)
    if outgoing:
        pdu = build_pdu(MmsPdu("m-send-req", transaction_id=transaction, date=ctx.time(m.at), sender="insert-address",
                               to=to, subject=m.subject, content_type=MMS_CONTENT_TYPE, parts=mms_parts(m)))
        _mms_add(ctx, m.at, HI2, liid, cin, mms_encode.encode_iri(iri(at=ctx.time(m.at), event="send",
                 transaction_id=transaction, message_size=len(pdu))), "mms-send")
        cc_at, direction = m.at + 0.01, "from-target"
    else:
        retrieve = m.at + MMS_RETRIEVAL_DELAY
        pdu = build_pdu(MmsPdu("m-retrieve-conf", transaction_id=transaction, message_id=message_id,
                               date=ctx.time(m.at), sender=mms_address(sender), to=to, subject=m.subject,
                               content_type=MMS_CONTENT_TYPE, parts=mms_parts(m)))
        _mms_add(ctx, m.at, HI2, liid, cin, mms_encode.encode_iri(iri(at=ctx.time(m.at), event="notification",
                 transaction_id=transaction, message_size=len(pdu))), "mms-notification")
        _mms_add(ctx, retrieve, HI2, liid, cin, mms_encode.encode_iri(iri(at=ctx.time(retrieve), event="retrieval",
                 transaction_id=transaction, message_id=message_id, message_size=len(pdu))), "mms-retrieval")
        cc_at, direction = retrieve + 0.01, "to-target"
    cc = mms_encode.MmsCc(liid, ctx.time(cc_at), correlation, direction, transaction)
    _mms_add(ctx, cc_at, HI3, liid, cin, mms_encode.encode_cc(cc, pdu), "mms-pdu")
