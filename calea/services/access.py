"""Who may see a case (rules C2, C5, B3): one check every case endpoint goes through."""

from __future__ import annotations

import enum

from sqlalchemy import Connection, select

from calea.db.schema import cases, grants
from calea.domain.access import GRANT_FREE_READERS, Perm, Role, has_perm
from calea.domain.cases import Case
from calea.errors import AccessDenied, NotFound
from calea.services.context import Actor, Services
from calea.services.rows import case_from, grant_from


class Level(str, enum.Enum):
    RECORD = "record"  # the legal record: case, authorities, documents, declarations, intercepts
    DATA = "data"  # intercepted data (IRI, content): a grant and a stated purpose


SCOPE_FOR = {Level.RECORD: "cases:read", Level.DATA: "cases:read"}


def load_case(conn: Connection, case_id: str) -> Case:
    row = conn.execute(select(cases).where(cases.c.id == case_id)).mappings().first()
    if row is None:
        raise NotFound("no such case")
    return case_from(row)


def has_active_grant(conn: Connection, svc: Services, user_id: str, case_id: str) -> bool:
    now = svc.now()
    rows = conn.execute(select(grants).where(grants.c.user_id == user_id, grants.c.case_id == case_id)).mappings()
    return any(grant_from(r).active(now) for r in rows)


def may_see_record(conn: Connection, svc: Services, actor: Actor, case: Case) -> bool:
    """C2, B6: who sees a case's legal record (see `check_case_access`)."""
    return (
        actor.role in GRANT_FREE_READERS
        or actor.user_id == case.opened_by
        or (actor.role is Role.SUPERVISOR and actor.unit == case.unit)
        or (has_perm(actor.role, Perm.READ_CASE) and has_active_grant(conn, svc, actor.user_id, case.id))
    )


def check_case_access(conn: Connection, svc: Services, actor: Actor, case_id: str, level: Level = Level.RECORD,
                      *, purpose: str | None = None) -> Case:
    """C2: a user sees a case only through a grant from taru.

    The legal record is also open to taru (who manages it), the auditor (integrity control),
    the user who opened the case and a supervisor of its unit (who approves it, B6).
    Intercepted data needs an active grant, a role that reads content and a purpose (C5).
    """
    case = load_case(conn, case_id)
    if actor.scopes is not None and SCOPE_FOR[level] not in actor.scopes:
        raise AccessDenied(f"the API token lacks the scope {SCOPE_FOR[level]}", rule="C1")
    if level is Level.RECORD:
        if may_see_record(conn, svc, actor, case):
            return case
        raise AccessDenied("no active grant for this case", rule="C2")
    if not has_perm(actor.role, Perm.READ_CONTENT) or not has_active_grant(conn, svc, actor.user_id, case_id):
        raise AccessDenied("intercepted data is read only under an active grant for this case", rule="C2")
    if not (purpose or "").strip():
        raise AccessDenied("state the purpose of this read (X-Calea-Purpose or ?purpose=)", rule="C5")
    return case


def ensure_case_access(svc: Services, actor: Actor, case_id: str, level: Level = Level.RECORD) -> Case:
    """Check access before anything else is looked at, so a refused caller learns nothing
    about what the request would have done (C2)."""
    with svc.db.read() as conn:
        return check_case_access(conn, svc, actor, case_id, level, purpose="-")
