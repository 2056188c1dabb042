"""Jobs the service runs on its own clock: the emergency deadlines of rule B3.

`enforce_deadlines(svc)` is one idempotent pass; `Scheduler` runs it every second in a
background thread.  Tests call the pass directly with a FakeClock, to the second.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, select, update

from calea.db.schema import authorities, grants, intercepts
from calea.services.context import SYSTEM, Services
from calea.services.rows import authority_from

log = logging.getLogger("calea.scheduler")

# Hooks that quarantine already-stored data of an intercept (the intake registers one):
# called inside the scheduler's transaction with (conn, intercept_id, at); a hook may return
# a callable to run after the commit (e.g. to sign a store event).
QUARANTINE_HOOKS: list[Callable[[Connection, str, datetime], Callable[[], None] | None]] = []


def enforce_deadlines(svc: Services) -> list[str]:
    """B3: for every emergency authority whose document is missing at its deadline: stop its
    intercepts at the deadline, suspend grants resting on it, quarantine the data collected
    under it and raise an alert.  Returns the ids of the authorities enforced."""
    now = svc.now()
    done: list[str] = []
    after: list[Callable[[], None]] = []
    with svc.db.write() as conn:
        rows = conn.execute(
            select(authorities).where(
                authorities.c.deadline_at.is_not(None),
                authorities.c.deadline_at <= now,
                authorities.c.document_id.is_(None),
                authorities.c.deadline_enforced_at.is_(None),
            )
        ).mappings().all()
        for row in rows:
            a = authority_from(row)
            assert a.deadline_at is not None
            stopped = conn.execute(
                select(intercepts.c.id, intercepts.c.liid).where(
                    intercepts.c.basis_authority_id == a.id, intercepts.c.quarantined_at.is_(None)
                )
            ).all()
            reason = f"B3: emergency document not uploaded by {a.deadline_at.isoformat()}"
            for ic in stopped:
                conn.execute(update(intercepts).where(intercepts.c.id == ic.id).values(
                    quarantined_at=a.deadline_at, quarantine_reason=reason))
                for hook in QUARANTINE_HOOKS:
                    then = hook(conn, ic.id, a.deadline_at)
                    if then is not None:
                        after.append(then)
            suspended = conn.execute(
                update(grants).where(grants.c.authority_id == a.id, grants.c.suspended_at.is_(None), grants.c.revoked_at.is_(None))
                .values(suspended_at=a.deadline_at)
            ).rowcount
            conn.execute(update(authorities).where(authorities.c.id == a.id).values(deadline_enforced_at=now))
            svc.alert(conn, "emergency.deadline_missed", reason, severity="critical", rule="B3", case_id=a.case_id,
                      details={"authority_id": a.id, "intercepts": [ic.id for ic in stopped], "grants_suspended": suspended})
            svc.audit(conn, SYSTEM, "authority.deadline_missed", case_id=a.case_id, object_type="authority",
                      object_id=a.id, detail=f"intercepts={len(stopped)} grants_suspended={suspended}")
            done.append(a.id)
    for then in after:
        then()
    return done


class Scheduler:
    def __init__(self, svc: Services, interval: float = 1.0) -> None:
        self.svc = svc
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="calea-scheduler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                enforce_deadlines(self.svc)
            except Exception:  # keep the scheduler alive; the failure is logged
                log.exception("deadline pass failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
