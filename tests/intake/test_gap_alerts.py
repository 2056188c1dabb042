"""D1: a sequence gap still open a while after it opened raises an alert to the technical unit
(metadata only: the LIID, the streams and the missing ranges), at most one per LIID a minute;
a gap the carrier fills in time raises none.  Every stream with a gap is listed, however many
streams were active since."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from sqlalchemy import select

from calea.db.schema import alerts, streams
from calea.handover.etsi102232 import IPMMCC, PSHeader, encode_ps_pdu
from calea.handover.model import Channel
from calea.intake.pipeline import ALERT_EVERY, GAP_GRACE, Intake, Received
from calea.services import records
from tests.intake.conftest import Setup

LIID = "GAPS-1"


def _cc(setup: Setup, seq: int, cin: int = 7, liid: str = LIID) -> Received:
    now = setup.clock.now()
    header = PSHeader(liid=liid, sequence=seq, cin=cin, operator_id="EXAMPLETEL", network_element_id="med-1",
                      timestamp_us=int(now.timestamp() * 1_000_000))
    return Received(encode_ps_pdu(header, IPMMCC("fromTarget", bytes(200))), Channel.HI3, "etsi-102232", "10.0.0.9:4000", now)


def _gap_alerts(setup: Setup) -> list[Any]:
    with setup.svc.db.read() as conn:
        return list(conn.execute(select(alerts).where(alerts.c.kind == "intake.gap").order_by(alerts.c.at)).mappings())


def test_a_gap_still_open_after_the_grace_is_alerted_once_a_minute(setup: Setup) -> None:
    ctx = setup.intercept(LIID, [{"kind": "e164", "value": "+12125550123"}])
    intake = Intake(setup.svc)
    intake.process([_cc(setup, s) for s in (0, 1, 2, 5)])  # 3 and 4 missing
    assert _gap_alerts(setup) == []  # not yet: the carrier may still resend them
    setup.clock.advance(GAP_GRACE + timedelta(seconds=1))
    intake.process([_cc(setup, 6)])
    [first] = _gap_alerts(setup)
    assert first["rule"] == "D1" and first["severity"] == "warning"
    assert first["case_id"] == ctx["case"]["id"] and first["intercept_id"] == ctx["intercept"]["id"]
    assert first["details"] == {"liid": LIID, "missing": 2, "stream_count": 1,
                                "streams": [{"channel": "hi3", "cin": "7", "ranges": [[3, 4]]}]}
    assert "2 records missing" in first["message"] and "3–4" in first["message"]

    intake.process([_cc(setup, 9)])  # 7 and 8 missing: alerted, but not within the minute
    setup.clock.advance(GAP_GRACE + timedelta(seconds=1))
    intake.process([])
    assert len(_gap_alerts(setup)) == 1
    setup.clock.advance(ALERT_EVERY)
    intake.process([])
    second = _gap_alerts(setup)[1]
    assert second["details"]["streams"] == [{"channel": "hi3", "cin": "7", "ranges": [[7, 8]]}]

    intake.process([_cc(setup, 12)])  # 10 and 11 missing, then filled by the carrier in time
    setup.clock.advance(timedelta(seconds=1))
    intake.process([_cc(setup, 10), _cc(setup, 11)])
    setup.clock.advance(ALERT_EVERY + GAP_GRACE)
    intake.process([])
    assert len(_gap_alerts(setup)) == 2
    intake.writer.close()

    with setup.svc.db.read() as conn:  # the store's row says what is missing now: 3, 4, 7, 8
        row = conn.execute(select(streams).where(streams.c.liid == LIID)).mappings().one()
    assert row["missing"] == 4 and row["gaps"] == [[3, 4], [7, 8]]


def test_an_alert_names_every_stream_of_the_liid_that_has_a_gap(setup: Setup) -> None:
    setup.intercept(LIID, [{"kind": "e164", "value": "+12125550123"}])
    intake = Intake(setup.svc)
    intake.process([_cc(setup, s, cin) for cin in (1, 2) for s in (0, 3)] + [_cc(setup, 0, 3)])
    setup.clock.advance(GAP_GRACE)
    intake.process([])
    [alert] = _gap_alerts(setup)
    assert alert["details"]["missing"] == 4 and alert["details"]["stream_count"] == 2
    assert sorted(s["cin"] for s in alert["details"]["streams"]) == ["1", "2"]
    intake.writer.close()


def test_a_running_intake_alerts_a_gap_while_no_record_comes(setup: Setup) -> None:
    """The intake's thread looks at the waiting gaps when idle too: the carrier that stopped
    sending after the gap gets no other chance to trigger the alert."""
    setup.intercept(LIID, [{"kind": "e164", "value": "+12125550123"}])
    intake = Intake(setup.svc)
    intake.start()
    try:
        intake.offer_many([_cc(setup, s) for s in (0, 4)])
        assert intake.wait_idle(30)
        setup.clock.advance(GAP_GRACE)
        deadline = time.monotonic() + 10
        while not _gap_alerts(setup) and time.monotonic() < deadline:
            time.sleep(0.05)
        [alert] = _gap_alerts(setup)
        assert alert["details"]["streams"][0]["ranges"] == [[1, 3]]
    finally:
        intake.stop()


def test_every_gapped_stream_is_listed_however_many_streams_came_since(setup: Setup) -> None:
    """The intake view finds the streams with gaps by their index (not among the latest 500)."""
    setup.intercept(LIID, [{"kind": "e164", "value": "+12125550123"}])
    intake = Intake(setup.svc)
    intake.process([_cc(setup, s, 1) for s in (0, 2)])
    setup.clock.advance(timedelta(seconds=1))
    intake.process([_cc(setup, 0, cin) for cin in range(100, 700)])  # 600 newer streams, no gap
    intake.writer.close()
    view = records.intake_view(setup.svc, setup.taru, limit=100)
    assert view["stream_totals"] == {"streams": 601, "gapped": 1, "missing": 1}
    assert [(s["liid"], s["cin"], s["gaps"], s["missing"]) for s in view["streams"]] == [(LIID, "1", [[1, 1]], 1)]


def test_migration_0009_counts_what_stored_streams_miss(svc: Any) -> None:
    """The `missing` column of the streams stored before it is filled from their gaps, and the
    schema the migrations make is the one the code declares."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext

    from calea.db.engine import MIGRATIONS
    from calea.db.schema import metadata

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with svc.db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    with svc.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO streams (liid, cin, channel, max_seq, received, duplicates, gaps, last_at) VALUES "
            "('OLD-1', '', 'hi3', 20, 15, 0, '[[2, 3], [10, 12]]', '2026-11-27 12:00:00'), "
            "('OLD-2', '', 'hi3', 9, 10, 0, '[]', '2026-11-27 12:00:00')")
    svc.db.migrate()
    with svc.db.engine.connect() as conn:
        got = dict(conn.execute(select(streams.c.liid, streams.c.missing)).all())
        diff = [d for d in compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
                if "'streams'" in str(d) or "ix_streams" in str(d)]
    assert got == {"OLD-1": 5, "OLD-2": 0}
    assert diff == []


def test_an_alert_names_only_what_is_still_missing(setup: Setup) -> None:
    """Part of a gap filled before the alert: the alert counts and names the rest."""
    setup.intercept(LIID, [{"kind": "e164", "value": "+12125550123"}])
    intake = Intake(setup.svc)
    intake.process([_cc(setup, s) for s in (0, 6)])  # 1..5 missing
    intake.process([_cc(setup, 3)])
    setup.clock.advance(GAP_GRACE)
    intake.process([])
    [alert] = _gap_alerts(setup)
    assert alert["details"]["missing"] == 4 and alert["details"]["streams"][0]["ranges"] == [[1, 2], [4, 5]]
    assert "(HI3 CIN 7: 1–2, 4–5)" in alert["message"]
    intake.writer.close()


def test_gaps_wait_when_their_alert_cannot_be_written(setup: Setup, monkeypatch: Any) -> None:
    setup.intercept(LIID, [{"kind": "e164", "value": "+12125550123"}])
    intake = Intake(setup.svc)
    intake.process([_cc(setup, s) for s in (0, 3)])
    setup.clock.advance(GAP_GRACE)
    real = setup.svc.alert

    def failing(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(setup.svc, "alert", failing)
    with pytest.raises(RuntimeError):
        intake._gap_alerts(setup.clock.now())
    assert _gap_alerts(setup) == []
    monkeypatch.setattr(setup.svc, "alert", real)
    intake._gap_alerts(setup.clock.now())  # the next try: not held back by the failed one
    [alert] = _gap_alerts(setup)
    assert alert["details"]["streams"][0]["ranges"] == [[1, 2]]
    intake.writer.close()
