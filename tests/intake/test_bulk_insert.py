"""The store's bulk insert of index rows writes exactly what SQLAlchemy's insert writes, on
SQLite and PostgreSQL: the same values read back, times in UTC, JSON, booleans, NULLs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest
from sqlalchemy import insert, select

from calea.db.bulk import BulkInsert
from calea.db.schema import iri_records
from calea.store import leaves

T = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=timezone.utc)


def _rows(first_leaf: int) -> list[dict[str, object]]:
    rows = []
    for i in range(5):
        fields = {"sip": {"method": "INVITE", "from": "+12125550100"}, "n": i, "text": "naïve ☎"}
        rows.append(dict(
            case_id="case-1", intercept_id="icpt-1", liid="LI-1", channel="hi2", format="etsi-102232", kind="iri",
            cin=None if i == 2 else str(i), seq=i, intercepted_at=T + timedelta(microseconds=i),
            received_at=T + timedelta(seconds=1), segment_id=None if i == 3 else "seg-1", offset=None if i == 3 else i * 10,
            length=None if i == 3 else 10, raw_sha256=None if i == 3 else "ab" * 32, event="begin" if i else None,
            fields=orjson.Fragment(leaves.canonical(fields)), rule="A1", suppressed=i % 2, late=bool(i % 2),
            quarantined=i == 4, leaf_index=first_leaf + i))
    return rows


def _stored_twice(svc) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """The 10 rows stored, read back: rows 5..9 (leaf indexes + 100) equal to rows 0..4."""
    with svc.db.read() as conn:
        got = [dict(r) for r in conn.execute(select(iri_records).order_by(iri_records.c.leaf_index)).mappings()]
    assert len(got) == 10
    for a, b in zip(got[:5], got[5:]):
        a, b = dict(a), dict(b)
        a.pop("id"), b.pop("id")
        assert b.pop("leaf_index") == a.pop("leaf_index") + 100
        assert a == b
    return got


@pytest.mark.parametrize("repeating", [(), ("received_at", "late", "quarantined", "intercepted_at")])
def test_bulk_insert_writes_what_sqlalchemy_writes(svc, repeating) -> None:  # type: ignore[no-untyped-def]
    """Also with values processed once per distinct value (the writer's arrival times)."""
    bulk = BulkInsert(iri_records, repeating=repeating)
    with svc.db.write() as conn:
        conn.execute(insert(iri_records), _rows(0))
        bulk.execute(conn, _rows(100))
        bulk.execute(conn, [])  # nothing to do
    got = _stored_twice(svc)
    assert got[1]["intercepted_at"] == T + timedelta(microseconds=1)
    assert got[1]["fields"]["text"] == "naïve ☎" and got[4]["quarantined"] is True and got[2]["cin"] is None


def test_bulk_insert_names_an_unknown_column(svc) -> None:  # type: ignore[no-untyped-def]
    with svc.db.write() as conn, pytest.raises(KeyError, match="no_such_column"):
        BulkInsert(iri_records).execute(conn, [{"no_such_column": 1}])


def test_pre_serialised_json_and_value_tuples_write_what_sqlalchemy_writes(svc) -> None:  # type: ignore[no-untyped-def]
    """The writer's hot path (D1): tuples of values, the JSON column's text passed already
    serialised (the canonical text the leaf holds), on SQLite and PostgreSQL alike."""
    bulk = BulkInsert(iri_records, repeating=("received_at",), encoded=("fields",))
    rows = _rows(100)
    names = tuple(rows[0])
    values = [tuple(orjson.dumps(r["fields"]).decode() if n == "fields" else r[n] for n in names) for r in rows]
    with svc.db.write() as conn:
        conn.execute(insert(iri_records), _rows(0))
        bulk.execute_values(conn, names, values)
        bulk.execute_values(conn, names, [])  # nothing to do
    with svc.db.read() as conn:
        got = [dict(r) for r in conn.execute(select(iri_records).order_by(iri_records.c.leaf_index)).mappings()]
        stored = conn.exec_driver_sql("SELECT fields FROM iri_records ORDER BY leaf_index").scalars().all()
    assert len(got) == 10
    for a, b in zip(got[:5], got[5:]):
        a.pop("id"), b.pop("id")
        assert b.pop("leaf_index") == a.pop("leaf_index") + 100
        assert a == b
    assert got[0]["fields"]["text"] == "naïve ☎"
    assert [orjson.loads(x) if isinstance(x, (str, bytes)) else x for x in stored[:5]] == \
        [orjson.loads(x) if isinstance(x, (str, bytes)) else x for x in stored[5:]]


def test_only_a_json_column_can_be_passed_serialised() -> None:
    with pytest.raises(TypeError, match="liid is not a JSON column"):
        BulkInsert(iri_records, encoded=("liid",))


def test_key_select_reads_the_rows_of_many_composite_keys(svc) -> None:  # type: ignore[no-untyped-def]
    """`DriverKeySelect` (the streams a batch names): the rows of exactly the keys asked for,
    none for unknown ones, whatever the number of keys (padded to a power of two), on the
    table's key index; the same on SQLite and PostgreSQL."""
    from calea.db.bulk import DriverKeySelect
    from calea.db.schema import streams

    with svc.db.write() as conn:
        conn.execute(insert(streams), [dict(liid=f"KS-{i % 3}", cin=str(i), channel="hi2", max_seq=i, received=i + 1,
                                            duplicates=0, gaps=[[0, i]] if i % 2 else [], last_at=T) for i in range(40)])
    lookup = DriverKeySelect((streams.c.liid, streams.c.cin, streams.c.max_seq, streams.c.gaps),
                             (streams.c.liid, streams.c.cin, streams.c.channel))
    with svc.db.read() as conn:
        assert lookup.fetch(conn, []) == []
        for n in (1, 2, 3, 5, 17):
            keys = [(f"KS-{i % 3}", str(i), "hi2") for i in range(0, 2 * n, 2)] + [("KS-0", "999", "hi2")]  # + one unknown
            rows = {(r[0], r[1]): (r[2], orjson.loads(r[3]) if isinstance(r[3], str) else r[3])
                    for r in lookup.fetch(conn, keys)}
            assert rows == {(f"KS-{i % 3}", str(i)): (i, []) for i in range(0, 2 * n, 2)}
        assert [r[2] for r in lookup.fetch(conn, [("KS-1", "7", "hi2"), ("KS-1", "7", "hi3")])] == [7]  # the channel counts


def _ready(rows: list[dict[str, object]], names: tuple[str, ...]) -> list[tuple[object, ...]]:
    """The rows in the form `StoreWriter._write` gives SQLite's driver (D1's hot path)."""
    from calea.store.writer import sqlite_time

    def value(r: dict[str, object], n: str) -> object:
        v = r[n]
        if n in ("intercepted_at", "received_at"):
            return sqlite_time(leaves.time_text(v, {}), v)  # type: ignore[arg-type]
        if n in ("late", "quarantined"):
            return 1 if v else 0
        if n == "fields":
            return bytes(v).decode() if isinstance(v, (bytes, bytearray)) else leaves.canonical(r["fields"]).decode()  # type: ignore[arg-type]
        return v

    return [tuple(value(r, n) for n in names) for r in rows]


def test_ready_rows_write_what_sqlalchemy_writes(svc) -> None:  # type: ignore[no-untyped-def]
    """`execute_ready`: rows already in SQLite's form go to the driver as they are and read back
    the same as SQLAlchemy's insert of the same rows (times, booleans, JSON, NULLs)."""
    if not svc.db.is_sqlite:
        pytest.skip("the ready form is SQLite's")
    bulk = BulkInsert(iri_records, repeating=("received_at",), encoded=("fields",))
    plain = [{**r, "fields": {"sip": {"method": "INVITE"}, "n": i, "text": "naïve ☎"}} for i, r in enumerate(_rows(0))]
    names = tuple(plain[0])
    with svc.db.write() as conn:
        conn.execute(insert(iri_records), plain)
        later = [{**r, "leaf_index": r["leaf_index"] + 100} for r in plain]  # type: ignore[operator]
        bulk.execute_ready(conn, names, _ready(later, names), frozenset({"intercepted_at", "received_at", "late", "quarantined"}))
        bulk.execute_ready(conn, names, [], frozenset())  # nothing to do
    got = _stored_twice(svc)
    assert got[6]["intercepted_at"] == T + timedelta(microseconds=1) and got[9]["quarantined"] is True


def test_ready_rows_are_refused_while_a_column_still_needs_processing(svc) -> None:  # type: ignore[no-untyped-def]
    """Nothing is written when the caller has not done every column's processing."""
    from sqlalchemy import func

    bulk = BulkInsert(iri_records, encoded=("fields",))
    rows = _rows(0)
    names = tuple(rows[0])
    with svc.db.write() as conn:
        todo = bulk.unprocessed(conn, names)
        assert {"intercepted_at", "received_at", "late", "quarantined"} <= todo
        # the JSON passed serialised: as it is to SQLite, wrapped in the driver's JSON adapter for PostgreSQL
        assert ("fields" in todo) is not svc.db.is_sqlite
        with pytest.raises(TypeError, match=r"not ready for the driver \(to process: \['received_at'\]"):
            bulk.execute_ready(conn, names, _ready(rows, names), todo - {"received_at"})
    with svc.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(iri_records)).scalar() == 0


def test_the_writer_gives_ready_rows_only_to_sqlite(svc) -> None:  # type: ignore[no-untyped-def]
    from calea.store.writer import StoreWriter

    writer = StoreWriter(svc)
    with svc.db.read() as conn:
        assert writer._iri_ready(conn) is svc.db.is_sqlite


@pytest.mark.parametrize("value", [
    T, T.replace(microsecond=0), datetime(1000, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
    datetime(2026, 3, 29, 2, 30, 5, 17), datetime(2026, 11, 27, 7, 0, 0, 5, tzinfo=timezone(timedelta(hours=-5))),
    datetime(999, 5, 6, 7, 8, 9, tzinfo=timezone.utc)])
def test_sqlite_time_is_the_column_types_own_text(value: datetime) -> None:
    """Cut from the leaf's text of the instant, or made by the type when that text is not the usual
    27 characters (years before 1000): the very text SQLAlchemy's binding of the column writes."""
    from sqlalchemy.dialects import sqlite

    from calea.store.writer import sqlite_time

    dialect = sqlite.dialect()
    expected = iri_records.c.intercepted_at.type.dialect_impl(dialect).bind_processor(dialect)(value)
    assert sqlite_time(leaves.time_text(value, {}), value) == expected
    assert sqlite_time(None, value) == expected
