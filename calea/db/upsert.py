"""Insert-or-update of many rows in one statement (`INSERT … ON CONFLICT (key) DO UPDATE`),
on SQLite and PostgreSQL alike: the intake keeps its per-stream state this way, one
statement per batch whatever the number of streams a batch touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

_DIALECTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, the table's whole primary key among them); a
    row whose key exists already has its other columns replaced by the new values."""
    if not rows:
        return
    make = _DIALECTS.get(conn.dialect.name)
    if make is None:
        raise NotImplementedError(f"upsert on {conn.dialect.name}")
    keys = [c.name for c in table.primary_key.columns]
    missing = [k for k in keys if k not in rows[0]]
    if missing:
        raise KeyError(f"{table.name}: the rows lack key column(s) {missing}")
    stmt = make(table)
    stmt = stmt.on_conflict_do_update(index_elements=keys,
                                      set_={n: stmt.excluded[n] for n in rows[0] if n not in keys})
    conn.execute(stmt, list(rows))
