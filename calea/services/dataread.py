"""Who may read a case's intercepted traffic and messages, and which of it (C2, C5, B3).

* Call-identifying views (flows, web visitors, message threads and their addressing):
  an active grant and a role that reads intercepted data, with a stated purpose; the
  technical unit and the auditor read them without a grant (integrity control, and the
  review of quarantined data under B3), with a stated purpose too.
* Content (pcap files, message bodies and MMS parts): an active grant, a role that reads
  content, a purpose (C2, C5).  The technical unit manages cases without seeing content
  (C1): it and the auditor read content only of quarantined data, the review B3 gives
  them.  Everyone else never sees quarantined data (B3).

Quarantine (B3) is judged at read time from the source rows' flag (A8 very-late records)
and from the intercept (a stopped emergency intercept quarantines all its data), so a
derived index row never outlives the quarantine of what it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Table, and_, or_, select, true

from calea.db.schema import intercepts
from calea.domain.access import Role
from calea.errors import AccessDenied
from calea.services.access import Level, check_case_access
from calea.services.context import Actor, Services

REVIEWERS = (Role.TARU, Role.AUDITOR)


@dataclass(frozen=True)
class Scope:
    case_id: str
    quarantine: str  # "exclude" | "include" | "only"
    quarantined_intercepts: frozenset[str]

    def visible(self, intercept_id: str, quarantined: bool) -> bool:
        q = bool(quarantined) or intercept_id in self.quarantined_intercepts
        return {"exclude": not q, "include": True, "only": q}[self.quarantine]


def visible_where(scope: Scope, table: Table) -> ColumnElement[bool]:
    """`scope.visible(row.intercept_id, row.quarantined)` as SQL (B3), so that an index table
    of a case (flows, messages) is filtered, counted and paged in the database."""
    held = sorted(scope.quarantined_intercepts)
    if scope.quarantine == "include":
        return true()
    if scope.quarantine == "exclude":
        return and_(table.c.quarantined.is_(False), table.c.intercept_id.not_in(held))
    if scope.quarantine == "only":
        return or_(table.c.quarantined.is_(True), table.c.intercept_id.in_(held))
    raise ValueError(f"unknown quarantine mode {scope.quarantine!r}")


def read_scope(conn: Connection, svc: Services, actor: Actor, case_id: str, purpose: str | None, *,
               content: bool) -> Scope:
    """Check the caller may read (C2, C5) and return what it may see (B3)."""
    if actor.role in REVIEWERS:
        check_case_access(conn, svc, actor, case_id)
        if not (purpose or "").strip():
            raise AccessDenied("state the purpose of this read (X-Calea-Purpose or ?purpose=)", rule="C5")
        mode = "only" if content else "include"
    else:
        check_case_access(conn, svc, actor, case_id, Level.DATA, purpose=purpose)
        mode = "exclude"
    stopped = conn.execute(select(intercepts.c.id).where(intercepts.c.case_id == case_id,
                                                         intercepts.c.quarantined_at.is_not(None))).scalars().all()
    return Scope(case_id, mode, frozenset(stopped))
