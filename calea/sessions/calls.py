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
`call_model`.  No clock, no I/O.
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
    q850_outcome,
    sip_outcome,
)
from calea.sessions.call_parties import TargetIdentity, e164, party

__all__ = ["COLLECTION", "DIRECTIONS", "OUTCOMES", "CallEvent", "CallRecord", "IndexRecord", "TargetIdentity",
           "assemble_call", "assemble_calls", "call_formats", "e164", "is_call_record", "party",
           "q850_outcome", "sip_outcome"]

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


def assemble_call(records: Iterable[IndexRecord], target: TargetIdentity) -> CallRecord | None:
    """The call of one (LIID, CIN) stream's records, or None when they are not a call."""
    recs = sorted(records, key=lambda r: (r.at, r.leaf_index if r.leaf_index is not None else -1))
    if not recs or recs[0].cin is None:
        return None
    assembler = _ASSEMBLERS.get(recs[0].format)
    if assembler is None:
        return None
    draft = assembler(recs[0].liid, recs[0].cin, recs)
    return None if draft is None else draft.freeze(target)


def assemble_calls(records: Iterable[IndexRecord], targets: Mapping[str, TargetIdentity]) -> list[CallRecord]:
    """Every call in `records`, in start order.  `targets`: the target identity per LIID."""
    groups: dict[tuple[str, str, str], list[IndexRecord]] = defaultdict(list)
    for r in records:
        if r.cin is not None and r.format in _ASSEMBLERS:
            groups[(r.liid, r.cin, r.format)].append(r)
    out = []
    for (liid, _cin, _fmt), recs in groups.items():
        call = assemble_call(recs, targets.get(liid, TargetIdentity()))
        if call is not None:
            out.append(call)
    return sorted(out, key=lambda c: (c.started_at, c.liid, c.cin))
