"""Calls from stored IRI: one `CallRecord` per communication (pure).

    records (IndexRecord, any order) --group by (LIID, CIN)--> format assembler --> Draft
                                                                 --freeze(target)--> CallRecord

Formats: ETSI TS 102 232-5 SIP IRI (`call_sip`), ETSI TS 101 671 / 3GPP TS 33.108 HI2
(`call_hi2`), PacketCable CDC (`call_cdc`).  A stream that is not a call (a SIP MESSAGE,
an SMS report, a packet-data session) gives no call.  `(liid, cin)` is the call's key
and also keys its content: the RTP of a TS 102 232-5 call is stored under the same CIN;
PacketCable content under the CCC ids named by CCOpen (`CallRecord.cc_cins`).

Direction and the kind of collection (rule A1) come from comparing the parties with the
intercept's identifiers (`TargetIdentity`); digits after connect are content (A6), see
`call_model`.  Digits keyed as RFC 4733 events in the call's RTP (`call_media`) join the
record through `media=`; `content=` (the windows of the eavesdropping authorities covering
the intercept) makes the record refuse post-cut-through digits outside them (A6).  In two
steps for the store, which must know the call's content streams before reading them:
`build_draft(records)`, then `finish_call(draft, target, media=..., content=...)`.
No clock, no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from calea.sessions import call_cdc, call_hi2, call_sip
from calea.sessions.call_model import (
    COLLECTION,
    DIRECTIONS,
    OUTCOMES,
    CallEvent,
    CallRecord,
    Draft,
    IndexRecord,
    MediaDigit,
    Windows,
    q850_outcome,
    sip_outcome,
)
from calea.sessions.call_parties import TargetIdentity, e164, party

__all__ = ["COLLECTION", "DIRECTIONS", "OUTCOMES", "CallEvent", "CallRecord", "Draft", "IndexRecord", "MediaDigit",
           "TargetIdentity", "assemble_call", "assemble_calls", "build_draft", "call_formats", "e164", "finish_call",
           "is_call_record", "party", "q850_outcome", "sip_outcome"]

_Assembler = Callable[[str, str, list[IndexRecord]], "Draft | None"]
_ASSEMBLERS: dict[str, _Assembler] = {
    "etsi-102232": call_sip.assemble,
    "ts101671-hi2": call_hi2.assemble,
    "pcesp-cdc": call_cdc.assemble,
}
_FILTERS: dict[str, Callable[[Any], bool]] = {
    "etsi-102232": call_sip.is_call_message,
    "ts101671-hi2": call_hi2.is_call_record,
    "pcesp-cdc": call_cdc.is_call_message,
}


def call_formats() -> tuple[str, ...]:
    return tuple(_ASSEMBLERS)


def is_call_record(fmt: str, fields: Mapping[str, Any]) -> bool:
    """Whether a stored IRI record can belong to a call (the intake subscriber's filter)."""
    check = _FILTERS.get(fmt)
    return check is not None and check(fields)


def build_draft(records: Iterable[IndexRecord]) -> Draft | None:
    """The call of one (LIID, CIN) stream's records before it is frozen, or None when they
    are not a call.  `draft.cc_cins` names its content streams."""
    recs = sorted(records, key=lambda r: (r.at, r.leaf_index if r.leaf_index is not None else -1))
    if not recs or recs[0].cin is None:
        return None
    assembler = _ASSEMBLERS.get(recs[0].format)
    if assembler is None:
        return None
    return assembler(recs[0].liid, recs[0].cin, recs)


def finish_call(draft: Draft, target: TargetIdentity, *, media: Iterable[MediaDigit] = (),
                content: Windows | None = None) -> CallRecord:
    """The call record of a draft, with the RFC 4733 digits of its content (`media`) and,
    when known, the eavesdropping windows that let it show post-cut-through digits (A6)."""
    draft.add_media(media)
    return draft.freeze(target, content)


def assemble_call(records: Iterable[IndexRecord], target: TargetIdentity, *, media: Iterable[MediaDigit] = (),
                  content: Windows | None = None) -> CallRecord | None:
    """The call of one (LIID, CIN) stream's records, or None when they are not a call."""
    draft = build_draft(records)
    return None if draft is None else finish_call(draft, target, media=media, content=content)


def assemble_calls(records: Iterable[IndexRecord], targets: Mapping[str, TargetIdentity], *,
                   media: Mapping[tuple[str, str], Iterable[MediaDigit]] | None = None,
                   content: Mapping[str, Windows] | None = None) -> list[CallRecord]:
    """Every call in `records`, in start order.  `targets`: the target identity per LIID;
    `media`: RFC 4733 digits per content stream (LIID, CIN); `content`: eavesdropping
    windows per LIID (absent: not known)."""
    groups: dict[tuple[str, str, str], list[IndexRecord]] = defaultdict(list)
    for r in records:
        if r.cin is not None and r.format in _ASSEMBLERS:
            groups[(r.liid, r.cin, r.format)].append(r)
    out = []
    for (liid, _cin, _fmt), recs in groups.items():
        draft = build_draft(recs)
        if draft is None:
            continue
        digits = [m for cc in draft.cc_cins for m in (media or {}).get((liid, cc), ())]
        out.append(finish_call(draft, targets.get(liid, TargetIdentity()), media=digits,
                               content=None if content is None or liid not in content else content[liid]))
    return sorted(out, key=lambda c: (c.started_at, c.liid, c.cin))
