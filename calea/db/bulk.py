"""Statements the intake runs too often for SQLAlchemy's per-statement machinery, compiled once
per dialect and run by the driver.

`BulkInsert`: exactly the rows `conn.execute(insert(table), rows)` writes, with each column's
bind processing run once per column over the whole batch instead of through SQLAlchemy's
per-row parameter building (which costs more than the database's own work at intake rates).
Same SQL, same types, same transaction.

`DriverKeySelect`: the rows of many composite keys in one statement, read by the driver's
cursor (the streams a batch names: SQLAlchemy's statement and result machinery cost ~25 times
the SQLite look-up itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Dialect, Table, bindparam, insert
from sqlalchemy.sql import ClauseElement, ColumnElement


def driver_sql(stmt: ClauseElement, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    """The statement as the driver takes it: its SQL and, for a positional paramstyle, the
    order of its parameters (None: by name)."""
    compiled = stmt.compile(dialect=dialect)
    return str(compiled), (tuple(compiled.positiontup) if compiled.positional else None)  # type: ignore[arg-type]


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
            sql, positions = driver_sql(insert(self.table).values({n: bindparam(n) for n in names}), dialect)
            order = positions or names
            processors = [self._processor(n, dialect) for n in order]
            found = self._prepared[key] = (sql, order, processors, positions is not None)
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

    def unprocessed(self, conn: Connection, names: tuple[str, ...]) -> frozenset[str]:
        """The columns among `names` whose values this dialect's bind processing changes (for
        `execute_ready`, whose caller does that work itself); an `encoded` column is one only where
        the driver still takes its text in an adapter (PostgreSQL's JSON)."""
        _, order, processors, _ = self._prepare(conn, names)
        return frozenset(n for n, proc in zip(order, processors) if proc is not None)

    def execute_ready(self, conn: Connection, names: tuple[str, ...], rows: Sequence[tuple[Any, ...]],
                      done: frozenset[str]) -> None:
        """Insert `rows` whose values are already what the driver takes: the caller did the bind
        processing of the columns `done` (e.g. SQLite's DATETIME text, its 0/1 for booleans).
        No per-column work at all: the rows go to the driver as they are (the writer's IRI rows,
        5,000 a batch of ~20 columns: transposing them to process four cost ~3 µs a record).
        Refused (TypeError) when a column still needs processing, or the statement does not take
        its parameters positionally in the order of `names`: the general `execute_values` then."""
        if not rows:
            return
        sql, order, processors, positional = self._prepare(conn, names)
        missing = [n for n, proc in zip(order, processors) if proc is not None and n not in done]
        if missing or not positional or tuple(order) != names:
            raise TypeError(f"{self.table.name}: not ready for the driver (to process: {missing}, "
                            f"positional {positional})")
        conn.exec_driver_sql(sql, rows if isinstance(rows, list) else list(rows))


class DriverKeySelect:
    """The rows of `columns` (of one table) whose composite key `key` is one of a list of keys,
    in one statement read by the driver's cursor: the values as the driver gives them (no
    result processing: a JSON column is its text on SQLite); a key named twice may give its
    row twice.  The list is padded to a power of two (repeating its last key), so that a few
    statements serve every size, each built once per dialect (SQLAlchemy's expanding IN
    re-renders the statement per call: for hundreds of keys it cost several times the
    look-ups it replaced)."""

    def __init__(self, columns: Sequence[ColumnElement[Any]], key: Sequence[ColumnElement[Any]]) -> None:
        self.columns = tuple(columns)
        self.key = tuple(key)
        self.table = self.key[0].table  # type: ignore[attr-defined]
        self._sql: dict[tuple[str, int], str] = {}

    def fetch(self, conn: Connection, keys: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if not keys:
            return []
        size = 1 << (len(keys) - 1).bit_length()
        dialect = conn.dialect
        sql = self._sql.get((dialect.name, size))
        if sql is None:
            mark = "?" if dialect.paramstyle == "qmark" else "%s"  # positional, in the key's order
            row = "(" + ", ".join([mark] * len(self.key)) + ")"
            q = dialect.identifier_preparer.quote
            names = [q(c.name) for c in self.key]
            # the keys as a table joined to the indexed one (SQLite scans the whole table for a
            # row-value IN; for a join it searches the key's index once per key)
            sql = self._sql[(dialect.name, size)] = (
                f"WITH k({', '.join(names)}) AS (VALUES {', '.join([row] * size)}) "
                f"SELECT {', '.join('t.' + q(c.name) for c in self.columns)} FROM k JOIN {q(self.table.name)} AS t ON "
                + " AND ".join(f"t.{n} = k.{n}" for n in names))
        padded = [*keys, *[keys[-1]] * (size - len(keys))]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, [v for key in padded for v in key])
            return list(cursor.fetchall())
        finally:
            cursor.close()
