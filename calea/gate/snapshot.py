"""What the gate decides against: an immutable snapshot of intercepts and authorities.

The intake refreshes it from the database (every second, and at once after a change), so a
decision per delivery costs a dictionary lookup, not a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from calea.domain.authorities import Authority
from calea.domain.intercepts import Intercept


@dataclass(frozen=True)
class GateSnapshot:
    intercepts: dict[str, Intercept] = field(default_factory=dict)  # by LIID
    authorities: dict[str, tuple[Authority, ...]] = field(default_factory=dict)  # by case id
    version: int = 0

    def intercept(self, liid: str) -> Intercept | None:
        return self.intercepts.get(liid)

    def case_authorities(self, case_id: str) -> list[Authority]:
        return list(self.authorities.get(case_id, ()))
