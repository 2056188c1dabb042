"""Which authority, if any, covers a delivery (rules A6, A7, A8, B3).

`decide` is the one decision the intake makes for every delivery: given the intercept the
LIID names (or None), the authorities of its case, the carrier's interception time, whether
the delivery carries content, and the receiving time, it returns

    STORE      keep it (flags: content suppressed under PRTT (A6), late (A8),
               quarantined because very late (A8))
    REFUSE     keep nothing but an *unauthorized delivery* alert with metadata (A7/A8/B3)

Interpretations:
- An intercept quarantined for a missed emergency deadline (B3) refuses every delivery
  stamped at or after the deadline; earlier ones are stored in quarantine.
- "Late" means received after the covering window closed; beyond `late_limit` (default 7
  days) the delivery is stored in quarantine for review (A8).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from calea.domain.authorities import Authority
from calea.domain.identifiers import Identifier, identifier_matches
from calea.domain.intercepts import Intercept, covers_identifiers

DEFAULT_LATE_LIMIT = timedelta(days=7)
DEFAULT_CLOCK_TOLERANCE = timedelta(seconds=60)


class Action(str, enum.Enum):
    STORE = "store"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    rule: str
    reason: str
    authority_id: str | None = None
    suppress_content: bool = False  # A6: PRTT only, content dropped, the fact counted
    late: bool = False  # A8: intercepted in the window, received after it closed
    quarantine: bool = False  # A8 (very late) or B3 (missed emergency deadline)

    @property
    def stored(self) -> bool:
        return self.action is Action.STORE

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "rule": self.rule,
            "reason": self.reason,
            "authority_id": self.authority_id,
            "suppress_content": self.suppress_content,
            "late": self.late,
            "quarantine": self.quarantine,
        }


def refuse(rule: str, reason: str) -> Decision:
    return Decision(Action.REFUSE, rule, reason)


def decide(
    *,
    intercept: Intercept | None,
    authorities: list[Authority],
    intercepted_at: datetime,
    has_content: bool,
    now: datetime,
    identifier: Identifier | None = None,
    late_limit: timedelta = DEFAULT_LATE_LIMIT,
    clock_tolerance: timedelta = DEFAULT_CLOCK_TOLERANCE,
) -> Decision:
    """The coverage decision for one delivery; pure (A6, A7, A8, B3)."""
    if intercept is None and identifier is None:
        return refuse("A7", "no intercept has this LIID")
    if intercepted_at > now + clock_tolerance:
        return refuse("A8", "interception time is in the future beyond the clock tolerance")
    if intercept is not None:
        if intercept.activated_at is None:
            return refuse("A7", "the intercept is not activated")
        if intercept.quarantined_at is not None and intercepted_at >= intercept.quarantined_at:
            return refuse("B3", "the intercept is stopped: emergency document missing at the deadline")
        if intercept.deactivated_at is not None and intercepted_at >= intercept.deactivated_at:
            return refuse("A8", "the intercept was deactivated before this interception time")
        named = [a for a in authorities if covers_identifiers(a, intercept.identifiers)]
    else:
        assert identifier is not None
        named = [a for a in authorities if any(identifier_matches(n, identifier) for n in a.identifiers)]
    if not named:
        return refuse("A7", "no authority names this intercept's identifiers")
    in_force = [a for a in named if a.in_window(intercepted_at)]
    if not in_force:
        return refuse("A8", "the interception time is outside every authority's window")
    valid = [a for a in in_force if not (a.missed_deadline(now) and intercepted_at >= (a.deadline_at or now))]
    if not valid:
        return refuse("B3", "the emergency document was not uploaded by the deadline")
    # Prefer an authority that allows content, then the one that stays in force longest.
    best = max(valid, key=lambda a: (a.kind.allows_content, a.ends_at))
    suppress = has_content and not best.kind.allows_content
    late = now >= best.ends_at
    very_late = late and now - best.ends_at > late_limit
    quarantined = very_late or (intercept is not None and intercept.quarantined_at is not None)
    quarantined = quarantined or best.missed_deadline(now)
    if quarantined:
        rule = "B3" if (intercept is not None and intercept.quarantined_at is not None) or best.missed_deadline(now) else "A8"
        reason = "stored in quarantine"
    elif suppress:
        rule, reason = "A6", "content suppressed: the authority allows call-identifying information only"
    elif late:
        rule, reason = "A8", "stored late: received after the window closed"
    else:
        rule, reason = best.rule, "covered"
    if suppress and rule != "A6":
        reason += "; content suppressed (A6)"
    return Decision(Action.STORE, rule, reason, best.id, suppress_content=suppress, late=late, quarantine=quarantined)
