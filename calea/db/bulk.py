"""Bulk inserts for the intake's busiest table: exactly the rows `conn.execute(insert(table),
rows)` writes, with each column's bind processing run once per column over the whole batch
instead of through SQLAlchemy's per-row parameter building (which costs more than the
database's own work at intake rates).  Same SQL, same types, same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Dialect, Table, bindparam, insert


class BulkInsert:
    def __init__(self, table: Table, *, repeating: tuple[str, ...] = (), encoded: tuple[str, ...] = ()) -> None:
        """`repeating`: columns whose values repeat across a batch (hashable), whose bind
        processing is done once per distinct value.  `encoded`: JSON columns whose values
        the caller passes already serialised (the text the column's bind processing would
        make of them: the writer has the canonical text already, for the leaf)."""
        self.table = table
        self.repeating = frozenset(repeating)
        self.encoded = frozenset(encoded)
        for name in self.encoded:
            if not isinstance(table.c[name].type, JSON):
                raise TypeError(f"{table.name}.{name} is not a JSON column")
        self._prepared: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...], list[Callable[[Any], Any] | None], bool]] = {}

    def _prepare(self, conn: Connection, names: tuple[str, ...]) -> tuple[str, tuple[str, ...], list[Callable[[Any], Any] | None], bool]:
        dialect = conn.dialect
        key = (dialect.name, names)
        found = self._prepared.get(key)
        if found is None:
            unknown = [n for n in names if n not in self.table.c]
            if unknown:
                raise KeyError(f"{self.table.name} has no column(s) {unknown}")
            compiled = insert(self.table).values({n: bindparam(n) for n in names}).compile(dialect=dialect)
            order = tuple(compiled.positiontup) if compiled.positional else names  # type: ignore[arg-type]
            processors = [self._processor(n, dialect) for n in order]
            found = self._prepared[key] = (str(compiled), order, processors, bool(compiled.positional))
        return found

    def _processor(self, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
        proc = self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if name not in self.encoded or proc is None:
            return proc
        if dialect.name == "sqlite":
            return None  # SQLite's JSON column stores the serialiser's text as it is
        return lambda text: proc(orjson.Fragment(text))  # e.g. psycopg wraps it in its Json adapter

    def execute(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert `rows` (dicts with the same keys)."""
        if not rows:
            return
        names = tuple(rows[0])
        self.execute_values(conn, names, [tuple(r[n] for n in names) for r in rows])

    def execute_values(self, conn: Connection, names: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert `rows`, tuples of the values of the columns `names` in that order (the
        writer's hot path: no dict per row)."""
        if not rows:
            return
        sql, order, processors, positional = self._prepare(conn, names)
        by_name = dict(zip(names, zip(*rows)))
        columns = []
        for name, proc in zip(order, processors):
            values = by_name[name]
            if proc is None:
                columns.append(values)
            elif name in self.repeating:  # the same value for many rows: processed once each
                seen: dict[Any, Any] = {}
                columns.append([seen[v] if v in seen else seen.setdefault(v, proc(v)) for v in values])
            else:
                columns.append([proc(v) for v in values])
        params: list[Any] = list(zip(*columns))
        if not positional:
            params = [dict(zip(order, p)) for p in params]
        conn.exec_driver_sql(sql, params)
