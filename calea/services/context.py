"""The bootstrap container: the one place real dependencies are wired together."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from calea.audit import log as audit_log
from calea.clock import Clock, SystemClock
from calea.config import Settings
from calea.db.engine import Database
from calea.db.schema import alerts
from calea.domain.access import NetworkPolicy, Role
from calea.store.content import LocalContentStore


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user (session) or an API token's user with its scopes."""

    user_id: str
    username: str
    role: Role
    unit: str
    ip: str = ""
    workstation: str = ""
    scopes: frozenset[str] | None = None  # None: a browser session, all of the role's powers
    session_id: str | None = None
    purpose: str | None = None  # C5: the stated purpose of this request's reads
    extra: dict[str, Any] = field(default_factory=dict)


SYSTEM = Actor(user_id="", username="system", role=Role.TARU, unit="system")


class Services:
    def __init__(self, settings: Settings, clock: Clock | None = None, db: Database | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.db = db or Database(settings.database_url)
        self.content = LocalContentStore(settings.content_dir)
        self.network_policy = NetworkPolicy()

    def now(self) -> datetime:
        return self.clock.now()

    def store_writer(self) -> Any:
        """The process's one store writer: a case's Merkle log has exactly one writer, shared by
        the intake, live monitoring and every service that signs a store event."""
        writer = getattr(self, "_store_writer", None)
        if writer is None:
            from calea.store.writer import StoreWriter

            writer = self._store_writer = StoreWriter(self)
        return writer

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    def audit(self, conn: Connection, actor: Actor, action: str, *, outcome: str = "allowed",
              case_id: str | None = None, object_type: str | None = None, object_id: str | None = None,
              purpose: str | None = None, detail: str | None = None) -> int:
        """C5: record a change or a read inside the caller's transaction."""
        event = audit_log.AuditEvent(
            at=self.now(), action=action, outcome=outcome, user_id=actor.user_id or None,
            username=actor.username, role=actor.role.value, ip=actor.ip or None,
            workstation=actor.workstation or None, case_id=case_id, object_type=object_type,
            object_id=object_id, purpose=purpose or actor.purpose, detail=detail,
        )
        return audit_log.append(conn, event, postgres=not self.db.is_sqlite)

    def alert(self, conn: Connection, kind: str, message: str, *, severity: str = "warning",
              rule: str | None = None, case_id: str | None = None, intercept_id: str | None = None,
              details: dict[str, Any] | None = None) -> str:
        alert_id = self.new_id()
        conn.execute(insert(alerts).values(
            id=alert_id, at=self.now(), kind=kind, severity=severity, rule=rule, case_id=case_id,
            intercept_id=intercept_id, message=message, details=details or {},
        ))
        return alert_id
