"""The call record and its events: what the call assemblers produce (pure, frozen).

One `CallRecord` per communication, keyed by `(liid, cin)` -- the same key the call's
content (RTP) is stored under, so a recording is found from its call.  Each format's
assembler (`call_sip`, `call_hi2`, `call_cdc`) fills a `Draft` from the call's index
records in time order; `Draft.freeze()` derives direction, outcome and duration.

Rules:
* A1 -- call-identifying information: parties, times, routing, cell, digits dialled before
  the call is connected (`digits_before`).  Outgoing calls are pen-register data (numbers
  dialled by the target), incoming calls trap-and-trace data (numbers calling the target).
* A6 -- digits keyed after the call is connected are content (`digits_after`).  They are
  only ever taken from content the store kept: `IndexRecord.digits` (digits the carrier
  reported in IRI) and `MediaDigit`s (RFC 4733 events found in the call's RTP,
  `call_media`), neither of which the store keeps under a PRTT order; a record whose
  content was dropped shows as a `suppressed` event with no digits.  On top of that,
  `freeze(content=...)` takes the windows in which an eavesdropping authority covered
  the intercept, and refuses (shows as `suppressed`, without the digits) any
  post-cut-through digit keyed outside them: a PRTT-only call never shows one, whatever
  reached the store.  Digits before the answer are dialling (A1) and always shown.
* B3 -- a call built from any quarantined record is quarantined.

Digits the carrier reported in IRI and the same digits found as RFC 4733 events are one
keying: a run of RTP digits spelling a reported string within `SAME_DIGITS_WINDOW` of the
report is dropped in its favour (its event says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from calea.sessions.call_parties import TargetIdentity

OUTCOMES = ("answered", "busy", "no-answer", "cancelled", "failed", "redirected")
DIRECTIONS = ("outgoing", "incoming", "unknown")
COLLECTION = {"outgoing": "pen-register", "incoming": "trap-and-trace", "unknown": "unknown"}
DIALING, POST_CUT_THROUGH = "dialing", "post-cut-through"
SAME_DIGITS_WINDOW = timedelta(seconds=30)
Windows = Sequence[tuple[datetime, datetime]]  # [start, end) instants an eavesdropping authority was in force


@dataclass(frozen=True)
class IndexRecord:
    """One stored IRI record as the assemblers need it (a row of `iri_records`)."""

    liid: str
    cin: str | None
    format: str
    at: datetime  # the carrier's interception time
    fields: Mapping[str, Any]
    leaf_index: int | None = None
    quarantined: bool = False
    late: bool = False
    suppressed: int = 0  # kinds of content dropped under a PRTT order (A6)
    digits: str | None = None  # keyed digits kept as content (only under a warrant, A6)


@dataclass(frozen=True)
class MediaDigit:
    """One digit keyed as an RFC 4733 telephone event in the call's RTP (`call_media`)."""

    at: datetime  # when the tone started
    digit: str
    duration_ms: int
    side: str | None  # who keyed it: target | other (None: not known)
    cin: str  # the content stream it was found in
    leaf_index: int | None  # the CC record (Merkle leaf) of its earliest packet
    ended: bool = True  # its end packet (E bit) was seen


@dataclass(frozen=True)
class CallEvent:
    at: datetime
    name: str  # setup, trying, ringing, progress, answer, reinvite, transfer, redirect, digits, release, ...
    detail: str = ""
    party: str | None = None
    location: Mapping[str, Any] | None = None
    digits: str | None = None
    digits_kind: str | None = None  # "dialing" (call-identifying) | "post-cut-through" (content, A6)
    suppressed: bool = False
    leaf_index: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "name": self.name, "detail": self.detail, "party": self.party,
                "location": dict(self.location) if self.location else None, "digits": self.digits,
                "digits_kind": self.digits_kind, "suppressed": self.suppressed, "leaf_index": self.leaf_index}


@dataclass(frozen=True)
class CallRecord:
    liid: str
    cin: str
    format: str
    direction: str
    collection: str  # pen-register | trap-and-trace | unknown
    calling: str | None
    called: str | None
    target: str | None  # the target's identity in this call
    redirected_from: str | None
    redirected_to: str | None
    dialed: str | None
    started_at: datetime
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    ring_s: float | None
    duration_s: float | None  # conversation, answer to release
    outcome: str | None  # None while the call is still being set up
    release_cause: int | None  # Q.850 cause value, when the format carries one
    released_by: str | None  # target | other
    state: str  # setup | ringing | connected | ended
    digits_before: str | None
    digits_after: str | None
    cc_cins: tuple[str, ...]
    sip_call_id: str | None
    location: Mapping[str, Any] | None  # the first cell / position reported
    quarantined: bool
    late: bool
    suppressed: int
    records: int
    first_leaf: int | None
    last_leaf: int | None
    events: tuple[CallEvent, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.liid, self.cin)


@dataclass
class Draft:
    """A call being assembled from its records (mutable; `freeze()` makes the record)."""

    liid: str
    cin: str
    format: str
    started_at: datetime
    direction_hint: str | None = None  # what the format says (originating/terminating)
    calling: str | None = None
    called: str | None = None
    calling_ids: tuple[str, ...] = ()  # everything known to identify each side
    called_ids: tuple[str, ...] = ()
    redirected_from: str | None = None
    redirected_to: str | None = None
    dialed: str | None = None
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str | None = None
    release_cause: int | None = None
    released_by_caller: bool | None = None
    cc_cins: list[str] = field(default_factory=list)
    sip_call_id: str | None = None
    location: Mapping[str, Any] | None = None
    events: list[CallEvent] = field(default_factory=list)
    records: list[IndexRecord] = field(default_factory=list)
    media: list[MediaDigit] = field(default_factory=list)  # RFC 4733 digits of the call's content

    def event(self, rec: IndexRecord, name: str, detail: str = "", *, party: str | None = None,
              location: Mapping[str, Any] | None = None, digits: str | None = None) -> None:
        kind = self.digits_kind(rec.at) if digits else None
        if location and self.location is None:
            self.location = location
        self.events.append(CallEvent(rec.at, name, detail, party, location, digits, kind, rec.suppressed > 0,
                                     rec.leaf_index))

    def digits_kind(self, at: datetime) -> str:
        """A1 / A6: digits keyed once the call is answered are post-cut-through (content)."""
        return POST_CUT_THROUGH if self.answered_at is not None and at >= self.answered_at else DIALING

    def digits_of(self, rec: IndexRecord, label: str) -> None:
        """Keyed digits of a record: kept ones (content under a warrant), or the fact that the
        record's content was dropped (A6) -- never a guess at what they were."""
        if rec.digits:
            self.event(rec, "digits", label, digits=rec.digits)
        elif rec.suppressed:
            self.event(rec, "suppressed", f"{label}: content not kept under a PRTT order (A6)")

    def cc(self, cin: str | None) -> None:
        if cin and cin not in self.cc_cins:
            self.cc_cins.append(cin)

    def add_media(self, digits: Iterable[MediaDigit]) -> None:
        """RFC 4733 digits found in the call's content (any order)."""
        self.media.extend(digits)

    def freeze(self, target: TargetIdentity, content: Windows | None = None) -> CallRecord:
        """The call record.  `content`: the windows in which an eavesdropping authority
        covered the intercept (None: not known -- the store's A6 filtering stands alone)."""
        direction, me = _direction(self, target)
        released_by = None
        if self.released_by_caller is not None and direction != "unknown":
            caller_is_target = direction == "outgoing"
            released_by = "target" if self.released_by_caller == caller_is_target else "other"
        outcome = self.outcome
        if outcome is None and self.ended_at is not None:
            outcome = "answered" if self.answered_at is not None else "no-answer"
        ring_end = self.answered_at or self.ended_at
        duration = None
        if self.answered_at is not None and self.ended_at is not None:
            duration = max(0.0, (self.ended_at - self.answered_at).total_seconds())
        elif outcome is not None and outcome != "answered":
            duration = 0.0
        state = ("ended" if self.ended_at is not None else "connected" if self.answered_at is not None
                 else "ringing" if self.ringing_at is not None else "setup")
        leaves = [r.leaf_index for r in self.records if r.leaf_index is not None]
        other = self.called if direction == "outgoing" else self.calling if direction == "incoming" else None
        events = _with_media(self, me, other)
        events, refused = _refuse_content(events, content)
        events = sorted(events, key=lambda e: (e.at, e.leaf_index or 0))
        before = "".join(e.digits for e in events if e.digits and e.digits_kind == DIALING)
        after = "".join(e.digits for e in events if e.digits and e.digits_kind == POST_CUT_THROUGH)
        return CallRecord(
            liid=self.liid, cin=self.cin, format=self.format, direction=direction, collection=COLLECTION[direction],
            calling=self.calling, called=self.called, target=me, redirected_from=self.redirected_from,
            redirected_to=self.redirected_to, dialed=self.dialed, started_at=self.started_at,
            ringing_at=self.ringing_at, answered_at=self.answered_at, ended_at=self.ended_at,
            ring_s=None if ring_end is None else max(0.0, (ring_end - self.started_at).total_seconds()),
            duration_s=duration, outcome=outcome, release_cause=self.release_cause, released_by=released_by,
            state=state, digits_before=before or None, digits_after=after or None, cc_cins=tuple(self.cc_cins),
            sip_call_id=self.sip_call_id, location=self.location,
            quarantined=any(r.quarantined for r in self.records), late=any(r.late for r in self.records),
            suppressed=sum(1 for r in self.records if r.suppressed) + refused, records=len(self.records),
            first_leaf=min(leaves) if leaves else None, last_leaf=max(leaves) if leaves else None,
            events=tuple(events),
        )


def _with_media(d: Draft, me: str | None, other: str | None) -> list[CallEvent]:
    """The draft's events plus one `digits` event per RFC 4733 digit -- except the digits
    the carrier's IRI already reported (the same keying, told twice)."""
    events = list(d.events)
    media = sorted(d.media, key=lambda m: (m.at, m.cin, m.leaf_index or 0))
    used: set[int] = set()
    for i, ev in enumerate(events):
        if not ev.digits or ev.name != "digits":
            continue
        run = _matching_run(media, used, ev, [d.digits_kind(m.at) for m in media])
        if run:
            used.update(run)
            events[i] = replace(ev, detail=f"{ev.detail}; the same digits are RFC 4733 events in the call content")
    for i, m in enumerate(media):
        if i in used:
            continue
        who = {"target": " by the target", "other": " by the other party"}.get(m.side or "", "")
        events.append(CallEvent(m.at, "digits", f"RFC 4733 telephone-event in the call content, keyed{who}"
                                f" ({m.duration_ms} ms)", party=me if m.side == "target" else other if m.side == "other"
                                else None, digits=m.digit, digits_kind=d.digits_kind(m.at), leaf_index=m.leaf_index))
    return events


def _matching_run(media: list[MediaDigit], used: set[int], ev: CallEvent, kinds: list[str]) -> list[int]:
    """The indexes of consecutive unused RTP digits of the same kind near `ev` that spell
    its digits (`kinds`: dialing / post-cut-through of each RTP digit)."""
    assert ev.digits is not None
    near = [i for i, m in enumerate(media) if i not in used and kinds[i] == ev.digits_kind
            and abs(m.at - ev.at) <= SAME_DIGITS_WINDOW]
    want = len(ev.digits)
    for k in range(len(near) - want + 1):
        run = near[k:k + want]
        if "".join(media[i].digit for i in run) == ev.digits:
            return run
    return []


def _refuse_content(events: list[CallEvent], content: Windows | None) -> tuple[list[CallEvent], int]:
    """A6: a post-cut-through digit keyed when no eavesdropping authority was in force is
    content the call record must not show: it becomes a `suppressed` event without digits."""
    if content is None:
        return events, 0
    out, refused = [], 0
    for e in events:
        if e.digits and e.digits_kind == POST_CUT_THROUGH and not any(lo <= e.at < hi for lo, hi in content):
            refused += 1
            out.append(replace(e, name="suppressed", digits=None, suppressed=True,
                               detail="digits keyed after connect: content, refused without an eavesdropping "
                                      "authority in force (A6)"))
        else:
            out.append(e)
    return out, refused


def _direction(d: Draft, target: TargetIdentity) -> tuple[str, str | None]:
    """A1: outgoing when the target calls, incoming when the target is called (or a call to
    the target is forwarded); the format's own indication only when no party matches."""
    if target.matches(d.calling, *d.calling_ids):
        return "outgoing", d.calling
    if target.matches(d.called, *d.called_ids):
        return "incoming", d.called
    if target.matches(d.redirected_from):
        return "incoming", d.redirected_from
    if d.direction_hint in ("outgoing", "incoming"):
        return d.direction_hint, d.calling if d.direction_hint == "outgoing" else d.called
    return "unknown", None


# --- outcomes ------------------------------------------------------------------------------

def q850_outcome(cause: int | None) -> str:
    """An unanswered call's outcome from its ITU-T Q.850 release cause.

    17 user busy, 21 call rejected -> busy; 18 no user responding, 19 no answer, 20 subscriber
    absent -> no-answer; 16 normal clearing / 31 normal unspecified before answer -> the
    caller gave up: cancelled; any other cause -> failed; no cause -> no-answer."""
    if cause is None:
        return "no-answer"
    if cause in (17, 21):
        return "busy"
    if cause in (18, 19, 20):
        return "no-answer"
    if cause in (16, 31):
        return "cancelled"
    return "failed"


def sip_outcome(status: int) -> str:
    """A final non-2xx response to the initial INVITE (RFC 3261 21.4-21.6; RFC 3398 mapping):
    486 Busy Here, 600 Busy Everywhere, 603 Decline -> busy; 480 Temporarily Unavailable,
    408 Request Timeout -> no-answer; 487 Request Terminated -> cancelled; 3xx -> redirected;
    anything else -> failed."""
    if status in (486, 600, 603):
        return "busy"
    if status in (480, 408):
        return "no-answer"
    if status == 487:
        return "cancelled"
    if 300 <= status < 400:
        return "redirected"
    return "failed"
