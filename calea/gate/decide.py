"""The gate: for one delivery, store / store with content suppressed / refuse (A1–A8, B3).

Pure: the snapshot and `now` are passed in; the decision comes from the legal core's
`calea.domain.coverage.decide`, so the gate and the API's coverage query cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calea.domain.coverage import Decision, decide, refuse
from calea.domain.intercepts import Intercept
from calea.gate.snapshot import GateSnapshot


@dataclass(frozen=True, slots=True)
class GateResult:
    decision: Decision
    intercept: Intercept | None

    @property
    def case_id(self) -> str | None:
        return self.intercept.case_id if self.intercept else None


def gate(snapshot: GateSnapshot, *, liid: str, intercepted_at: datetime | None, has_content: bool,
         now: datetime) -> GateResult:
    """A7 for an unknown LIID, A8 for a missing or out-of-window stamp, A6 for content under
    a PRTT order, B3 for a stopped emergency intercept."""
    intercept = snapshot.intercept(liid)
    if intercepted_at is None:
        return GateResult(refuse("A8", "the record carries no interception time"), intercept)
    authorities = snapshot.case_authorities(intercept.case_id) if intercept else []
    decision = decide(intercept=intercept, authorities=authorities, intercepted_at=intercepted_at,
                      has_content=has_content, now=now)
    return GateResult(decision, intercept)
