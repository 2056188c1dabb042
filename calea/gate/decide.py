"""The gate: for one delivery, store / store with content suppressed / refuse (A1–A8, B3).

Pure: the snapshot and `now` are passed in; the decision comes from the legal core's
`calea.domain.coverage.decide`, so the gate and the API's coverage query cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from calea.domain.coverage import DEFAULT_CLOCK_TOLERANCE, DEFAULT_LATE_LIMIT, Decision, decide, refuse
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


_FAR = datetime.max.replace(tzinfo=timezone.utc)
_NEVER = datetime.min.replace(tzinfo=timezone.utc)


class CachedGate:
    """The same decisions as `gate`, memoised per (LIID, content) over the interval of
    interception times and receiving times in which they cannot change (hot path: one
    comparison per delivery instead of a walk over the authorities)."""

    def __init__(self, snapshot: GateSnapshot) -> None:
        self.snapshot = snapshot
        self._cache: dict[tuple[str, bool], tuple[datetime, datetime, datetime, GateResult]] = {}

    def __call__(self, liid: str, intercepted_at: datetime | None, has_content: bool, now: datetime) -> GateResult:
        if intercepted_at is None:
            return gate(self.snapshot, liid=liid, intercepted_at=None, has_content=has_content, now=now)
        key = (liid, has_content)
        entry = self._cache.get(key)
        if entry is not None:
            lo, hi, now_hi, result = entry
            if lo <= intercepted_at < hi and now < now_hi and intercepted_at <= now + DEFAULT_CLOCK_TOLERANCE:
                return result
        result = gate(self.snapshot, liid=liid, intercepted_at=intercepted_at, has_content=has_content, now=now)
        if intercepted_at <= now + DEFAULT_CLOCK_TOLERANCE:
            self._cache[key] = (*self._interval(result.intercept, intercepted_at, now), result)
        return result

    def _interval(self, intercept: Intercept | None, t: datetime, now: datetime) -> tuple[datetime, datetime, datetime]:
        if intercept is None:
            return _NEVER, _FAR, _FAR
        points = [p for p in (intercept.activated_at, intercept.quarantined_at, intercept.deactivated_at) if p is not None]
        now_points = []
        for a in self.snapshot.case_authorities(intercept.case_id):
            points += [a.effective_at, a.ends_at]
            now_points += [a.ends_at, a.ends_at + DEFAULT_LATE_LIMIT]
            if a.deadline_at is not None:
                points.append(a.deadline_at)
                now_points.append(a.deadline_at)
        lo = max((p for p in points if p <= t), default=_NEVER)
        hi = min((p for p in points if p > t), default=_FAR)
        now_hi = min((p for p in now_points if p > now), default=_FAR)
        return lo, hi, now_hi
