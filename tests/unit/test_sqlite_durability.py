"""The embedded database's commits are durable (D1: a batch is reported stored only once it
would survive a power loss): WAL with a sync of the log on every commit, on every connection
the engine opens."""

from __future__ import annotations

from pathlib import Path

from calea.db.engine import Database


def test_every_sqlite_connection_syncs_each_commit(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'calea.db'}")
    try:
        for _ in range(2):  # a writer's and a reader's connection alike
            with db.read() as conn:
                cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                assert cur.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
                assert cur.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL (NORMAL, 1, syncs only at checkpoints)
                assert cur.execute("PRAGMA page_size").fetchone()[0] == 16384
                cur.close()
    finally:
        db.dispose()
