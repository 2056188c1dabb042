"""What happens on the wire in a simulated call or SIP MESSAGE, independent of the format.

`call_facts()` turns a `Call` into its SIP messages (with the IRI type OpenLI gives each:
INVITE = Begin; provisional responses, 200, ACK, BYE and CANCEL = Continue; the final
transaction = End; 487 and the ACK of a failed INVITE = Report), its RTP packets (whole
IPv4/UDP/RTP, PCMU 20 ms, speech-like audio, RFC 4733 DTMF) and its milestones (set-up,
early media, answer, end, release cause) that the TS 101 671 and PCESP builders need.

Flows (t = call start, r = ring):
  answered   INVITE, 100, 180 (183+SDP with early DTMF), 200+SDP @t+r, ACK, RTP, BYE, 200
  busy       INVITE, 100, 486 @t+0.5, ACK
  no-answer  INVITE, 100, 180, 480 @t+r, ACK
  cancelled  INVITE, 100, 180, CANCEL @t+r, 200 (CANCEL), 487, ACK
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from calea.sim import audio, sip
from calea.sim.packets import udp
from calea.sim.scenario import Call, Carrier, Sms, Target

PT_PCMU, PT_EVENT = 0, 101
_CAUSES = {"answered": 16, "busy": 17, "no-answer": 19, "cancelled": 31}  # Q.850


@dataclass(frozen=True)
class Signal:
    at: float
    iri_type: str  # begin | continue | end | report
    data: bytes  # the SIP message
    src: str
    dst: str
    label: str  # INVITE, 100, BYE, ...


@dataclass(frozen=True)
class Media:
    at: float
    from_target: bool
    packet: bytes  # IPv4/UDP/RTP
    label: str  # rtp | dtmf


@dataclass(frozen=True)
class CallFacts:
    call: Call
    signals: tuple[Signal, ...]
    media: tuple[Media, ...]
    setup_at: float
    early_at: float | None  # 183 with early media
    answer_at: float | None
    end_at: float
    release_cause: int
    digits_at: float | None  # first post-cut-through digit
    target_sdp: str
    peer_sdp: str


def _parties(target: Target, carrier: Carrier, peer: str, index: int) -> tuple[sip.Party, sip.Party]:
    uri = target.sip_uri or f"sip:+{target.number}@{carrier.sip_domain}"
    me = sip.Party(uri, target.handset, target.handset, 40000 + 2 * (index % 5000))
    other = sip.Party(f"sip:{peer}@{carrier.sip_domain}", carrier.proxy, carrier.media_gateway,
                      50000 + 2 * (index % 5000))
    return me, other


def _dialog(rng: random.Random, a: sip.Party, b: sip.Party) -> sip.Dialog:
    def token(n: int) -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    return sip.Dialog(f"{token(16)}@{a.host}", a, b, token(8), token(8), "z9hG4bK" + token(10),
                      rng.randrange(10**9, 10**10))


class _Rtp:
    """One direction of an RTP session: SSRC, sequence and timestamp state."""

    def __init__(self, rng: random.Random, src: sip.Party, dst: sip.Party, t_first: float) -> None:
        self.src, self.dst, self.rng, self.t_first = src, dst, rng, t_first
        self.ssrc, self.seq, self.ts0 = rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(32)
        self.ident = rng.getrandbits(16)

    def packet(self, slot: int, pt: int, payload: bytes, marker: bool = False, ts_slot: int | None = None) -> tuple[float, bytes]:
        ts = (self.ts0 + 160 * (slot if ts_slot is None else ts_slot)) & 0xFFFFFFFF
        header = bytes((0x80, (0x80 if marker else 0) | pt)) + (self.seq & 0xFFFF).to_bytes(2, "big") \
            + ts.to_bytes(4, "big") + self.ssrc.to_bytes(4, "big")
        self.seq += 1
        self.ident += 1
        at = self.t_first + slot * 0.02 + self.rng.uniform(0.0, 0.002)
        return at, udp(self.src.media_host, self.dst.media_host, self.src.media_port, self.dst.media_port,
                       header + payload, ident=self.ident)


def _dtmf_slots(digits: str, first: int) -> dict[int, tuple[bytes, bool, int]]:
    """slot -> (payload, marker, timestamp slot) of RFC 4733 events starting at `first`."""
    out: dict[int, tuple[bytes, bool, int]] = {}
    slot = first
    for digit in digits:
        for i, (payload, marker) in enumerate(audio.dtmf_packets(digit)):
            out[slot + i] = (payload, marker, slot)
        slot += len(audio.dtmf_packets(digit)) + 5
    return out


def _stream(rtp: _Rtp, slots: int, frames: list[bytes], audio_from: int,
            dtmf: dict[int, tuple[bytes, bool, int]], from_target: bool) -> list[Media]:
    """Packets of one direction: DTMF events where `dtmf` has a slot, else audio from
    slot `audio_from` on (before it the side is silent: no packets)."""
    out = []
    for slot in range(slots):
        if slot in dtmf:
            payload, marker, ts_slot = dtmf[slot]
            at, packet = rtp.packet(slot, PT_EVENT, payload, marker, ts_slot)
            out.append(Media(at, from_target, packet, "dtmf"))
        elif slot >= audio_from:
            at, packet = rtp.packet(slot, PT_PCMU, frames[slot % len(frames)], marker=slot == audio_from)
            out.append(Media(at, from_target, packet, "rtp"))
    return out


def call_facts(call: Call, target: Target, carrier: Carrier, index: int, seed: int) -> CallFacts:
    rng = random.Random(seed * 1_000_003 + index)
    me, other = _parties(target, carrier, call.peer, index)
    a, b = (me, other) if call.direction == "out" else (other, me)
    d = _dialog(rng, a, b)
    t = call.at
    signals = [Signal(t, "begin", sip.invite(d), a.host, b.host, "INVITE"),
               Signal(t + 0.01, "continue", sip.response(d, 100, to_tag=False), b.host, a.host, "100")]
    early = call.dtmf_before and call.outcome != "busy"
    answer_at = early_at = digits_at = None
    end = t + call.ring
    if call.outcome == "busy":
        end = t + 0.5
        signals += [Signal(end, "end", sip.response(d, 486), b.host, a.host, "486"),
                    Signal(end + 0.02, "report", sip.request(d, "ACK"), a.host, b.host, "ACK")]
    else:
        if early:
            early_at = t + 0.05
            signals.append(Signal(t + 0.05, "continue", sip.response(d, 183, sdp=True), b.host, a.host, "183"))
        else:
            signals.append(Signal(t + 0.05, "continue", sip.response(d, 180), b.host, a.host, "180"))
    if call.outcome == "answered":
        answer_at = t + call.ring
        end = answer_at + call.duration
        by_a = (call.hangup == "target") == (call.direction == "out")
        bye_branch = d.branch + "b"
        signals += [
            Signal(answer_at, "continue", sip.response(d, 200, sdp=True), b.host, a.host, "200"),
            Signal(answer_at + 0.02, "continue", sip.request(d, "ACK", branch=d.branch + "a"), a.host, b.host, "ACK"),
            Signal(end, "continue", sip.request(d, "BYE", from_a=by_a, cseq=2 if by_a else 1, branch=bye_branch),
                   (a if by_a else b).host, (b if by_a else a).host, "BYE"),
            Signal(end + 0.02, "end", sip.response(d, 200, "BYE", cseq=2 if by_a else 1, from_a=not by_a,
                                                   branch=bye_branch), (b if by_a else a).host, (a if by_a else b).host,
                   "200"),
        ]
    elif call.outcome == "no-answer":
        signals += [Signal(end, "end", sip.response(d, 480), b.host, a.host, "480"),
                    Signal(end + 0.02, "report", sip.request(d, "ACK"), a.host, b.host, "ACK")]
    elif call.outcome == "cancelled":
        signals += [Signal(end, "continue", sip.request(d, "CANCEL", with_to_tag=False), a.host, b.host, "CANCEL"),
                    Signal(end + 0.01, "end", sip.response(d, 200, "CANCEL"), b.host, a.host, "200"),
                    Signal(end + 0.02, "report", sip.response(d, 487), b.host, a.host, "487"),
                    Signal(end + 0.04, "report", sip.request(d, "ACK"), a.host, b.host, "ACK")]
    media = _media(call, rng, me, other, early_at, answer_at, end, seed, index)
    if answer_at is not None and call.dtmf_after:
        digits_at = answer_at + 0.04 + 1.0
    return CallFacts(call, tuple(signals), tuple(sorted(media, key=lambda m: m.at)), t, early_at, answer_at,
                     end + 0.02, _CAUSES[call.outcome], digits_at, d.sdp(me).decode(), d.sdp(other).decode())


def _media(call: Call, rng: random.Random, me: sip.Party, other: sip.Party, early_at: float | None,
           answer_at: float | None, end: float, seed: int, index: int) -> list[Media]:
    """RTP both ways from answer (or from early media) to the end.  Early media: the
    callee's side plays a prompt and the caller keys `dtmf_before`; after answer both
    sides talk and `dtmf_by` keys `dtmf_after` one second in."""
    if early_at is not None:
        first = early_at + 0.05
    elif answer_at is not None:
        first = answer_at + 0.04
    else:
        return []
    total = max(0, int((end - first) / 0.02))
    early_slots = total if answer_at is None else max(0, int((answer_at - first) / 0.02))
    caller_is_target = call.direction == "out"
    out: list[Media] = []
    voices = {True: audio.frames(6.0, seed * 31 + 1, 120.0, offset=index * 1.7),
              False: audio.frames(6.0, seed * 31 + 2, 210.0, offset=index * 2.3)}
    for from_target in (True, False):
        src, dst = (me, other) if from_target else (other, me)
        rtp = _Rtp(rng, src, dst, first)
        dtmf: dict[int, tuple[bytes, bool, int]] = {}
        if call.dtmf_before and from_target == caller_is_target:
            dtmf.update({s: v for s, v in _dtmf_slots(call.dtmf_before, 10).items() if s < early_slots})
        if call.dtmf_after and answer_at is not None and from_target == (call.dtmf_by == "target"):
            dtmf.update({s: v for s, v in _dtmf_slots(call.dtmf_after, early_slots + 50).items() if s < total})
        is_callee = from_target != caller_is_target
        audio_from = 0 if is_callee else early_slots
        if answer_at is None and not is_callee:
            audio_from = total  # an unanswered caller only keys digits
        out += _stream(rtp, total, voices[from_target], audio_from, dtmf, from_target)
    return out


def sms_facts(sms: Sms, target: Target, carrier: Carrier, index: int, seed: int) -> tuple[Signal, Signal]:
    """MESSAGE (Begin) and its 200 OK (End)."""
    rng = random.Random(seed * 1_000_033 + index)
    me, other = _parties(target, carrier, sms.peer, index)
    a, b = (me, other) if sms.direction == "out" else (other, me)
    d = _dialog(rng, a, b)
    return (Signal(sms.at, "begin", sip.message(d, sms.text), a.host, b.host, "MESSAGE"),
            Signal(sms.at + 0.03, "end", sip.response(d, 200, "MESSAGE"), b.host, a.host, "200"))
