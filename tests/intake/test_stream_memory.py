"""Per-stream state with realistic traffic: every call has its own CIN, so its own stream.
The intake keeps in memory only the streams seen lately; the state of every stream is in the
store, committed with the batch that changed it, so duplicate suppression and gap reports
hold for a stream that comes back after it left memory, and after a restart."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from calea.db.schema import iri_records, streams
from calea.handover.etsi102232 import IPMMIRI, PSHeader, encode_ps_pdu
from calea.handover.model import Channel
from calea.intake import pipeline
from calea.intake.pipeline import Intake, Received
from tests.intake.conftest import Setup

PHONE = [{"kind": "e164", "value": "+12125550100"}]
SIP = (b"INVITE sip:+12125550100@example.net SIP/2.0\r\nCall-ID: mem@example.net\r\nFrom: <sip:+13105550123@example.net>;tag=1\r\n"
       b"To: <sip:+12125550100@example.net>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")


def _iri(liid: str, cin: int, seq: int, at: datetime) -> bytes:
    h = PSHeader(liid=liid, sequence=seq, cin=cin, operator_id="EXAMPLETEL", network_element_id="med-1",
                 timestamp_us=int(at.timestamp() * 1_000_000))
    return encode_ps_pdu(h, IPMMIRI("continue", SIP, "198.51.100.20", "203.0.113.10"))


def _batch(setup: Setup, records: list[bytes]) -> list[Received]:
    now = setup.clock.now()
    return [Received(r, Channel.HI2, "etsi-102232", "peer", now) for r in records]


@pytest.fixture(autouse=True)
def _close_segments(setup: Setup):  # type: ignore[no-untyped-def]
    yield
    setup.svc.store_writer().close()  # (the intakes here are never started, so never stopped)


def _stored(setup: Setup, cin: str) -> int:
    with setup.svc.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(iri_records).where(iri_records.c.cin == cin)).scalar_one())


def test_a_stream_that_left_memory_still_drops_resends_and_keeps_its_gaps(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    setup.intercept("MEM-1", PHONE)
    at = setup.clock.now() - timedelta(minutes=1)
    monkeypatch.setattr(pipeline, "EVICT_EVERY", 0.0)  # sweep after every batch
    intake = Intake(setup.svc, stream_idle=0.0)  # and forget a stream as soon as a batch passes without it
    intake.process(_batch(setup, [_iri("MEM-1", 100, s, at) for s in (0, 1, 2, 5)]))  # call 100: 3 and 4 missing
    intake.process(_batch(setup, [_iri("MEM-1", 101, 0, at)]))  # call 101
    assert ("MEM-1", "100", "hi2") not in intake.stats.streams  # call 100 left memory...
    with setup.svc.db.read() as conn:  # ...its state is in the store, as of its batch
        row = conn.execute(select(streams).where(streams.c.cin == "100")).mappings().one()
    assert (row["max_seq"], row["received"], row["gaps"]) == (5, 4, [[3, 4]])

    # the carrier reconnects and resends call 100 from the start, with the missing record 3
    intake.process(_batch(setup, [_iri("MEM-1", 100, s, at) for s in (0, 1, 2, 3, 5)]))
    state = intake.stats.streams[("MEM-1", "100", "hi2")]
    assert intake.stats.counters.duplicates == 4 and state.gaps == [[4, 4]] and state.received == 5
    assert _stored(setup, "100") == 5  # 0, 1, 2, 5 once each, and 3


def test_after_a_restart_a_stream_older_than_the_window_is_looked_up(setup: Setup) -> None:
    """Only the streams seen in the window are loaded at start (memory stays bounded by the
    calls of the last minutes, not by all the calls ever intercepted)."""
    setup.intercept("MEM-2", PHONE)
    at = setup.clock.now() - timedelta(minutes=1)
    first = Intake(setup.svc, stream_idle=600.0)
    first.process(_batch(setup, [_iri("MEM-2", cin, s, at) for cin in (7, 8) for s in range(3)]))
    setup.clock.advance(timedelta(minutes=5))
    first.process(_batch(setup, [_iri("MEM-2", 8, 3, at)]))  # call 8 goes on, call 7 is over
    setup.clock.advance(timedelta(minutes=6))  # call 7 last seen 11 minutes ago, call 8 six

    again = Intake(setup.svc, stream_idle=600.0)
    assert set(again.stats.streams) == {("MEM-2", "8", "hi2")}
    again.process(_batch(setup, [_iri("MEM-2", 7, s, at) for s in range(4)]))  # call 7 resent, and one more
    assert again.stats.counters.duplicates == 3 and _stored(setup, "7") == 4
    assert again.stats.streams[("MEM-2", "7", "hi2")].to_dict() == {
        "max_seq": 3, "received": 4, "duplicates": 3, "gaps": [], "missing": 0}


def test_stream_state_commits_with_its_batch(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """The records and the stream state that counts them are one transaction: should it fail,
    neither is kept, and the intake reloads the store's state (so the records, when they come
    again, are new, not duplicates of records the store never kept)."""
    setup.intercept("MEM-3", PHONE)
    at = setup.clock.now() - timedelta(minutes=1)
    intake = Intake(setup.svc)

    def broken(conn, table, rows):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr("calea.store.writer.upsert", broken)
        with pytest.raises(RuntimeError):
            intake.process(_batch(setup, [_iri("MEM-3", 9, s, at) for s in range(3)]))
    assert _stored(setup, "9") == 0
    with setup.svc.db.read() as conn:
        assert conn.execute(select(streams).where(streams.c.liid == "MEM-3")).first() is None
    intake._load_streams()  # what `_process_or_salvage` does after a failed batch
    intake.process(_batch(setup, [_iri("MEM-3", 9, s, at) for s in range(3)]))
    assert _stored(setup, "9") == 3 and intake.stats.counters.duplicates == 0


def test_the_streams_of_a_batch_are_looked_up_in_one_query(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every call opens a stream: the states of all the streams a batch names that are not in
    memory come from the store in one query (per LOOKUP_CHUNK), not one round trip per call,
    and each is the stream's own: stored ones keep their counters, new ones start empty."""
    setup.intercept("MEM-4", PHONE)
    at = setup.clock.now() - timedelta(minutes=1)
    monkeypatch.setattr(pipeline, "EVICT_EVERY", 0.0)
    monkeypatch.setattr(pipeline, "LOOKUP_CHUNK", 4)
    intake = Intake(setup.svc, stream_idle=0.0)
    intake.process(_batch(setup, [_iri("MEM-4", cin, s, at) for cin in range(6) for s in (0, 2)]))  # 6 calls, 1 missing each
    intake.process(_batch(setup, [_iri("MEM-4", 99, 0, at)]))
    assert not any(k[1] in {str(c) for c in range(6)} for k in intake.stats.streams)  # all six left memory

    lookups: list[int] = []
    real = pipeline._STREAMS_BY_KEYS

    class Counted:
        def fetch(self, conn, keys):  # type: ignore[no-untyped-def]
            lookups.append(len(keys))
            return real.fetch(conn, keys)

    monkeypatch.setattr(pipeline, "_STREAMS_BY_KEYS", Counted())
    # the six calls resent with their missing records, and four new calls
    intake.process(_batch(setup, [_iri("MEM-4", cin, s, at) for cin in range(10) for s in (0, 1, 2)]))
    assert sorted(lookups) == [2, 4, 4]  # ten streams, four a query
    assert intake.stats.counters.duplicates == 12  # seq 0 and 2 of the six stored calls
    assert [intake.stats.streams[("MEM-4", str(cin), "hi2")].received for cin in range(10)] == [3] * 10
    assert all(intake.stats.streams[("MEM-4", str(cin), "hi2")].gaps == [] for cin in range(10))
    assert _stored(setup, "3") == 3 and _stored(setup, "8") == 3
