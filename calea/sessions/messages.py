"""Messages (SMS, SIP MESSAGE, MMS) out of stored index records, for threads (pure).

One `MessageFacts` per message-bearing record, from its `fields` only -- the addressing,
which every authority allows (rule A1: numbers of the target and of the other party).
The bodies stay where the store put them: content items of the record (SMS text, SIP
MESSAGE body, MMS subject and parts), which exist only when an eavesdropping authority
let the store keep them (A2); under a PRTT order the record shows `suppressed` and the
message has no body (A6).

Sources:
* TS 101 671 / TS 33.108 SMS IRI (`fields["sms"]`): the TPDU's originator / destination;
  the initiator (target / server) gives the direction.
* TS 102 232-5 SIP MESSAGE requests (`fields["sip"]`, method MESSAGE): From / To,
  compared with the intercept's identifiers to tell the target's side.
* TS 33.108 MMS (`fields["mms"]`, format "3gpp-mms"): an HI2 event (send / forwarding:
  from the target; notification / retrieval: to it) or an HI3 PDU (m-send-req,
  m-retrieve-conf, ...); both carry the correlation number that joins them.

A thread is the conversation with one counterparty (several recipients of one message
form one counterparty: their sorted list).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from calea.sessions.call_parties import TargetIdentity, party

_MMS_OUT_EVENTS = {"send", "forwarding"}
_MMS_IN_EVENTS = {"notification", "retrieval"}
_MMS_PDU_DIRECTIONS = {"m-send-req": "out", "m-forward-req": "out", "m-retrieve-conf": "in"}
_HI3_DIRECTIONS = {"from-target": "out", "to-target": "in"}


@dataclass(frozen=True)
class MessageFacts:
    kind: str  # sms | sip-message | mms
    direction: str  # out | in | unknown
    target: str | None
    counterparty: str
    parties: dict[str, list[str]] = field(default_factory=dict)
    correlation: str | None = None
    event: str | None = None
    carries_body: bool = True  # False: an addressing-only record (an MMS HI2 report)


def address(raw: str | None) -> str | None:
    """An MMS address (`+1212.../TYPE=PLMN`, `a@b/TYPE=...`), a number or a URI, normalised."""
    if raw is None:
        return None
    text = str(raw).strip()
    if text.upper().endswith("/TYPE=PLMN") or "/TYPE=" in text.upper():
        text = text[: text.upper().rfind("/TYPE=")]
    if not text or text == "insert-address":
        return None
    return party(text) or text


def _counterparty(values: Iterable[str | None]) -> str | None:
    found = sorted({v for v in values if v})
    return ", ".join(found) if found else None


def _sms(f: Mapping[str, Any]) -> MessageFacts | None:
    sms = f.get("sms")
    if not isinstance(sms, Mapping):
        return None
    initiator = sms.get("initiator")
    tpdu = sms.get("tpdu")
    other = sms.get("destination") if tpdu == "sms-submit" else sms.get("originator")
    other_text = None
    if isinstance(other, Mapping):
        other_text = other.get("e164") or other.get("digits")
    direction = {"target": "out", "server": "in"}.get(str(initiator), {"sms-submit": "out", "sms-deliver": "in"}.get(str(tpdu), "unknown"))
    target = None
    for p in f.get("parties") or []:
        if isinstance(p, Mapping):
            msisdn = p.get("msisdn")
            target = target or (msisdn.get("e164") if isinstance(msisdn, Mapping) else None) or p.get("sip_uri")
    counter = address(other_text) or "unknown"
    key = "to" if direction == "out" else "from"
    parties = {key: [counter]} if counter != "unknown" else {}
    return MessageFacts("sms", direction, target, counter, parties, event="sms")


def _sip(f: Mapping[str, Any], identity: TargetIdentity) -> MessageFacts | None:
    sip = f.get("sip")
    if not isinstance(sip, Mapping) or sip.get("method") != "MESSAGE":
        return None
    sender = (sip.get("p_asserted_identity") or [None])[0] or (sip.get("from") or {}).get("uri")
    recipient = (sip.get("to") or {}).get("uri")
    if identity.matches(sender, (sip.get("from") or {}).get("uri")):
        direction, target, other = "out", party(sender), party(recipient)
    elif identity.matches(recipient, sip.get("request_uri")):
        direction, target, other = "in", party(recipient), party(sender)
    else:
        direction, target, other = "unknown", None, _counterparty([party(sender), party(recipient)])
    parties = {k: [v] for k, v in (("from", party(sender)), ("to", party(recipient))) if v}
    return MessageFacts("sip-message", direction, target, other or "unknown", parties, event="sip-message")


def _mms(f: Mapping[str, Any], identity: TargetIdentity) -> MessageFacts | None:
    mms = f.get("mms")
    if not isinstance(mms, Mapping):
        return None
    pdu = mms.get("pdu") if isinstance(mms.get("pdu"), Mapping) else None
    src = pdu if pdu is not None else mms
    parties = {k: [a for a in (address(x) for x in src.get(k) or []) if a] for k in ("from", "to", "cc", "bcc")}
    parties = {k: v for k, v in parties.items() if v}
    if pdu is not None:  # HI3: the PDU itself
        direction = _HI3_DIRECTIONS.get(str(mms.get("direction")), _MMS_PDU_DIRECTIONS.get(str(pdu.get("message_type")), "unknown"))
        carries = True
        event = str(pdu.get("message_type"))
    else:
        event = str(mms.get("event"))
        if event in _MMS_OUT_EVENTS:
            direction = "out"
        elif event in _MMS_IN_EVENTS:
            direction = "in"
        else:
            return None  # reports, deletes, box operations: not a message of a thread
        carries = False
    target = None
    for p in mms.get("parties") or []:
        if isinstance(p, Mapping):
            target = target or address(p.get("e164") or p.get("msisdn") or p.get("mms_address"))
    if direction == "out":
        others = parties.get("to", []) + parties.get("cc", []) + parties.get("bcc", [])
    else:
        others = parties.get("from", [])
    others = [o for o in others if not identity.matches(o) and o != target]
    return MessageFacts("mms", direction, target, _counterparty(others) or "unknown", parties,
                        correlation=mms.get("correlation"), event=f"mms-{event}", carries_body=carries)


def message_facts(fmt: str, fields: Mapping[str, Any], identity: TargetIdentity) -> MessageFacts | None:
    """The message a stored record describes, or None when it describes none."""
    if fmt == "3gpp-mms":
        return _mms(fields, identity)
    if "sms" in fields:
        return _sms(fields)
    if "sip" in fields:
        return _sip(fields, identity)
    return None
