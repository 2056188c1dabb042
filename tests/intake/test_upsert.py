"""`calea.db.upsert`: insert-or-update of many rows in one statement, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from calea.db.schema import streams
from calea.db.upsert import upsert

T = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def _row(cin: str, max_seq: int, gaps: list[list[int]], at: datetime) -> dict[str, object]:
    return {"liid": "UP-1", "cin": cin, "channel": "hi2", "max_seq": max_seq, "received": max_seq + 1, "duplicates": 0,
            "gaps": gaps, "last_at": at}


def test_new_keys_are_inserted_and_known_keys_updated(svc) -> None:  # type: ignore[no-untyped-def]
    with svc.db.write() as conn:
        upsert(conn, streams, [_row("1", 3, [], T), _row("2", 9, [[4, 5]], T)])
    with svc.db.write() as conn:
        upsert(conn, streams, [_row("2", 12, [[4, 4]], T + timedelta(seconds=5)), _row("3", 0, [], T)])
        upsert(conn, streams, [])  # nothing to do
    with svc.db.read() as conn:
        got = {r.cin: (r.max_seq, r.gaps, r.last_at) for r in conn.execute(select(streams).where(streams.c.liid == "UP-1"))}
    assert got == {"1": (3, [], T), "2": (12, [[4, 4]], T + timedelta(seconds=5)), "3": (0, [], T)}


def test_rows_without_the_whole_key_are_refused(svc) -> None:  # type: ignore[no-untyped-def]
    row = _row("1", 3, [], T)
    del row["channel"]
    with svc.db.write() as conn, pytest.raises(KeyError, match="channel"):
        upsert(conn, streams, [row])
