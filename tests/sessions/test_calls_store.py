"""The calls table kept up to date by the intake subscriber, rebuilt from iri_records, and
quarantined with its intercept (B3); digits after connect only under a warrant (A6)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from calea.db.schema import intercepts, iri_records
from calea.db.schema_calls import call_events, calls
from calea.sessions.calls_store import quarantine_calls, rebuild_calls
from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.sessions.calls_helpers import PEER, TARGET_NUMBER, call_event, deliver

ALL = [call_event(1.0, "in", "answered", dtmf_after="12#"), call_event(20.0, "out", "busy"),
       call_event(40.0, "out", "no-answer"), call_event(60.0, "in", "cancelled")]


def rows(svc: Any, case_id: str) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        return [dict(r) for r in conn.execute(select(calls).where(calls.c.case_id == case_id)
                                              .order_by(calls.c.started_at)).mappings()]


@pytest.mark.parametrize("fmt,outcomes", [
    ("etsi-102232", ["answered", "busy", "no-answer", "cancelled"]),
    ("ts101671-hi2", ["answered", "busy", "no-answer", "cancelled"]),
    ("pcesp", ["answered", "busy", "no-answer", "cancelled"]),  # from the NetworkSignals (Release has no cause)
])
def test_subscriber_keeps_calls_and_rebuild_agrees(setup: Setup, fmt: str, outcomes: list[str]) -> None:  # noqa: F811
    d = deliver(setup, fmt, ALL, batches=3)  # calls span batches: each batch updates them
    got = rows(setup.svc, d.case_id)
    assert [r["outcome"] for r in got] == outcomes
    assert [r["collection"] for r in got] == ["trap-and-trace", "pen-register", "pen-register", "trap-and-trace"]
    assert got[0]["calling"] == PEER and got[1]["calling"] == TARGET_NUMBER and got[1]["called"] == PEER
    assert all(r["state"] == "ended" and not r["quarantined"] for r in got)
    assert got[0]["digits_after"] == (None if fmt == "etsi-102232" else "12#")  # SIP carries DTMF in RTP only
    with setup.svc.db.read() as conn:
        n_events = conn.execute(select(call_events.c.id).where(call_events.c.case_id == d.case_id)).all()
        first_leaf = conn.execute(select(iri_records.c.leaf_index).where(iri_records.c.case_id == d.case_id)
                                  .order_by(iri_records.c.leaf_index)).scalar()
    assert got[0]["first_leaf"] == first_leaf and len(n_events) >= 4 * 2
    # a rebuild from the store alone gives the same calls, under the same ids
    assert rebuild_calls(setup.svc, d.case_id) == {"calls": 4, "removed": 0}
    again = rows(setup.svc, d.case_id)
    skip = ("updated_at",)
    assert [{k: v for k, v in r.items() if k not in skip} for r in again] == \
        [{k: v for k, v in r.items() if k not in skip} for r in got]


@pytest.mark.parametrize("fmt", ["ts101671-hi2", "pcesp", "etsi-102232"])
def test_prtt_calls_exist_without_content(setup: Setup, fmt: str) -> None:  # noqa: F811
    """A1/A6: under a PRTT order the call records exist; digits keyed after connect do not."""
    d = deliver(setup, fmt, [call_event(1.0, "out", "answered", dtmf_after="4711")], kind="prtt")
    (call,) = rows(setup.svc, d.case_id)
    assert call["outcome"] == "answered" and call["collection"] == "pen-register" and call["called"] == PEER
    assert call["digits_after"] is None
    with setup.svc.db.read() as conn:
        ev = conn.execute(select(call_events).where(call_events.c.call_id == call["id"])).mappings().all()
    assert all(e["digits"] is None for e in ev)
    if fmt != "etsi-102232":  # the digit record was stored, its content suppressed (A6)
        assert call["suppressed"] == 1 and [e["name"] for e in ev if e["suppressed"]] == ["suppressed"]


def test_quarantine_follows_the_intercept(setup: Setup) -> None:  # noqa: F811
    """B3: quarantined records make quarantined calls; quarantining an intercept marks its calls."""
    d = deliver(setup, "ts101671-hi2", [call_event(1.0), call_event(20.0, "out")])
    with setup.svc.db.write() as conn:
        assert quarantine_calls(conn, d.ctx["intercept"]["id"]) == 2
    assert all(r["quarantined"] for r in rows(setup.svc, d.case_id))
    with setup.svc.db.write() as conn:
        conn.execute(update(calls).values(quarantined=False))
        conn.execute(update(iri_records).where(iri_records.c.case_id == d.case_id).values(quarantined=True))
    rebuild_calls(setup.svc, d.case_id)
    assert all(r["quarantined"] for r in rows(setup.svc, d.case_id))
    with setup.svc.db.read() as conn:
        assert conn.execute(select(intercepts.c.quarantined_at)).scalar() is None  # flags only, here


def test_background_subscriber(setup: Setup) -> None:  # noqa: F811
    """The subscriber's worker thread coalesces the keys of many batches (off the intake thread)."""
    d = deliver(setup, "etsi-102232", ALL, batches=6, background=True)
    assert [r["outcome"] for r in rows(setup.svc, d.case_id)] == ["answered", "busy", "no-answer", "cancelled"]


def test_subscriber_ignores_non_calls(setup: Setup) -> None:  # noqa: F811
    d = deliver(setup, "etsi-102232", [{"type": "sms", "liid": "CALLS-0001", "at": 1.0, "peer": PEER,
                                        "text": "hello"}])
    assert rows(setup.svc, d.case_id) == []


def test_migration_0003_matches_the_schema(svc: Any) -> None:
    """The hand-written migration creates exactly the tables of calea.db.schema_calls."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from calea.db.schema import metadata

    mine = {"calls", "call_events", "line_sheets"}
    with svc.db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(ctx, metadata) if any(f"'{t}'" in str(d) for t in mine)]
        assert mine <= set(conn.dialect.get_table_names(conn))
    assert diff == []


def test_rebuild_after_purge(setup: Setup) -> None:  # noqa: F811
    """D2: once the records are purged a rebuild drops the derived call (no content survives)."""
    from sqlalchemy import delete

    d = deliver(setup, "pcesp", [call_event(1.0, "out", dtmf_after="77")])
    assert rows(setup.svc, d.case_id)[0]["digits_after"] == "77"
    with setup.svc.db.write() as conn:
        conn.execute(delete(iri_records).where(iri_records.c.case_id == d.case_id))
    assert rebuild_calls(setup.svc, d.case_id) == {"calls": 0, "removed": 1}
    assert rows(setup.svc, d.case_id) == []
