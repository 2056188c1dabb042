"""Appending to and reading the audit log (adapter over the database)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from calea.audit.chain import GENESIS, ChainProblem, event_hash, verify_chain
from calea.db.engine import Database
from calea.db.schema import audit_events, audit_head


@dataclass
class AuditEvent:
    at: datetime
    action: str
    outcome: str  # "allowed" | "refused" | "error"
    user_id: str | None = None
    username: str | None = None
    role: str | None = None
    ip: str | None = None
    workstation: str | None = None
    method: str | None = None
    path: str | None = None
    case_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    purpose: str | None = None
    status: int | None = None
    detail: str | None = None


def append(conn: Connection, event: AuditEvent, *, postgres: bool) -> int:
    """Append one event inside the caller's transaction; returns its seq."""
    q = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    if postgres:
        q = q.with_for_update()
    head = conn.execute(q).first()
    if head is None:
        conn.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))
        seq, prev = 0, GENESIS
        if postgres:  # another writer may have inserted the head: lock it now
            head = conn.execute(q).first()
            assert head is not None
            seq, prev = int(head.seq), bytes(head.hash)
    else:
        seq, prev = int(head.seq), bytes(head.hash)
    row: dict[str, Any] = asdict(event)
    row["seq"] = seq + 1
    digest = event_hash(prev, row)
    conn.execute(insert(audit_events).values(**row, prev_hash=prev, hash=digest))
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq + 1, hash=digest))
    return seq + 1


def record(db: Database, event: AuditEvent) -> int:
    with db.write() as conn:
        return append(conn, event, postgres=not db.is_sqlite)


def iter_rows(conn: Connection, batch: int = 5000) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        rows = conn.execute(
            select(audit_events).where(audit_events.c.seq > last).order_by(audit_events.c.seq).limit(batch)
        ).mappings().all()
        if not rows:
            return
        for r in rows:
            yield dict(r)
        last = int(rows[-1]["seq"])


def verify(db: Database) -> tuple[int, list[ChainProblem]]:
    """C5: recompute the whole chain; returns (rows checked, problems naming each bad row)."""
    with db.read() as conn:
        head_row = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
        count = 0

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal count
            for r in iter_rows(conn):
                count += 1
                yield r

        head = (int(head_row.seq), bytes(head_row.hash)) if head_row else None
        problems = verify_chain(counted(), head)
    return count, problems
