"""D1: changing one byte of any stored PDU, index row or content file, or deleting one,
makes `calea verify` fail naming it."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from calea.db.schema import cc_chunks, content_items, iri_records, segments
from calea.handover.model import Channel
from calea.intake.pipeline import Intake, Received
from calea.store.verify import verify_store
from tests.intake.conftest import VECTORS, Setup
from tests.intake.test_openli_streams import CALL_DAY, TARGET_SIP
from calea.handover.framing import NEED_DATA, RecordSplitter


def records(name: str) -> list[bytes]:
    sp = RecordSplitter()
    sp.receive_data((VECTORS / name).read_bytes())
    out = []
    while (r := sp.next_record()) is not NEED_DATA:
        out.append(bytes(r))  # type: ignore[arg-type]
    return out


@pytest.fixture
def stored(setup: Setup):  # type: ignore[no-untyped-def]
    setup.clock.set(datetime(2025, 6, 2, 14, 5, tzinfo=timezone.utc))
    ctx = setup.intercept("NYPD-VOIP-0001", TARGET_SIP, start=CALL_DAY)
    intake = Intake(setup.svc)
    now = setup.clock.now()
    batch = [Received(r, Channel.HI2, "etsi-102232", "test", now) for r in records("hi2-NYPD.ber")]
    batch += [Received(r, Channel.HI3, "etsi-102232", "test", now) for r in records("hi3-NYPD.ber")[:120]]
    intake.process(batch)
    intake.writer.close()
    assert verify_store(setup.svc).ok
    return setup, ctx


def problems(setup: Setup) -> list[str]:
    report = verify_store(setup.svc)
    assert not report.ok
    return report.problems


def test_altered_raw_iri_byte_named(stored) -> None:  # type: ignore[no-untyped-def]
    setup, _ = stored
    with setup.svc.db.read() as conn:
        row = conn.execute(select(iri_records.c.id, iri_records.c.offset, segments.c.path).join(segments, segments.c.id == iri_records.c.segment_id)
                           .order_by(iri_records.c.id).limit(1).offset(3)).one()
    path = setup.svc.settings.home / "segments" / row.path
    data = bytearray(path.read_bytes())
    data[row.offset + 40] ^= 0x01
    path.write_bytes(bytes(data))
    found = problems(setup)
    assert any(f"iri record {row.id} " in p and "SHA-256" in p for p in found), found


def test_altered_cc_byte_named(stored) -> None:  # type: ignore[no-untyped-def]
    setup, _ = stored
    with setup.svc.db.read() as conn:
        chunk = conn.execute(select(cc_chunks.c.id, cc_chunks.c.offset, segments.c.path).join(segments, segments.c.id == cc_chunks.c.segment_id)).first()
    path = setup.svc.settings.home / "segments" / chunk.path
    data = bytearray(path.read_bytes())
    data[chunk.offset + 150] ^= 0xFF  # inside the first record's RTP payload
    path.write_bytes(bytes(data))
    found = problems(setup)
    assert any(f"cc record 0 of chunk {chunk.id}" in p and "altered" in p for p in found), found


def test_altered_index_row_named(stored) -> None:  # type: ignore[no-untyped-def]
    setup, _ = stored
    with setup.svc.db.write() as conn:
        rid = conn.execute(select(iri_records.c.id).order_by(iri_records.c.id).limit(1).offset(5)).scalar_one()
        conn.execute(update(iri_records).where(iri_records.c.id == rid).values(cin="999"))
    found = problems(setup)
    assert any(f"iri record {rid} " in p and "altered" in p for p in found), found


def test_deleted_index_row_named(stored) -> None:  # type: ignore[no-untyped-def]
    setup, _ = stored
    with setup.svc.db.write() as conn:
        row = conn.execute(select(iri_records.c.id, iri_records.c.leaf_index).order_by(iri_records.c.id).limit(1).offset(2)).one()
        conn.execute(delete(iri_records).where(iri_records.c.id == row.id))
    found = problems(setup)
    assert any(f"leaf {row.leaf_index} has no stored item" in p for p in found), found


def test_altered_content_file_named(stored) -> None:  # type: ignore[no-untyped-def]
    setup, _ = stored
    with setup.svc.db.read() as conn:
        item = conn.execute(select(content_items.c.id, content_items.c.sha256)).one()
    path = setup.svc.content.path(item.sha256)
    os.chmod(path, 0o600)
    path.write_bytes(path.read_bytes().replace(b"5pm", b"6pm"))
    found = problems(setup)
    assert any(f"content item {item.id} " in p and "altered" in p for p in found), found


def test_deleted_content_file_named(stored) -> None:  # type: ignore[no-untyped-def]
    setup, _ = stored
    with setup.svc.db.read() as conn:
        item = conn.execute(select(content_items.c.id, content_items.c.sha256)).one()
    setup.svc.content.path(item.sha256).unlink()
    assert any(f"content item {item.id} " in p and "missing" in p for p in problems(setup))


def test_cli_verify(stored, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from calea.cli import app

    setup, _ = stored
    monkeypatch.setenv("CALEA_HOME", str(setup.svc.settings.home))
    monkeypatch.setenv("CALEA_DATABASE_URL", setup.svc.settings.database_url)
    ok = CliRunner().invoke(app, ["verify"])
    assert ok.exit_code == 0 and "verified" in ok.output, ok.output
    with setup.svc.db.write() as conn:
        conn.execute(delete(cc_chunks))
    bad = CliRunner().invoke(app, ["verify"])
    assert bad.exit_code == 1 and "has no stored item" in bad.output
