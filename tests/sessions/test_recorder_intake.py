"""Recordings made from what the real intake stores: a lossy simulated call, the OpenLI
call with inverted direction labels, minimization (A2), PRTT (A6), idle parts, and the
store's proof of every recording file (D1)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import numpy as np
import soundfile
from sqlalchemy import select

from calea.db.schema import content_items, store_events
from calea.db.schema_recordings import recordings
from calea.handover.model import Channel
from calea.intake.pipeline import Intake, Received
from calea.sessions.minimization import Minimization, SpotCheckRule
from calea.store.verify import verify_store
from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.intake.test_openli_streams import CALL_DAY, TARGET_SIP
from tests.intake.test_tamper import records as vector_records
from tests.sessions.recording_helpers import IDENTIFIERS, TARGET, Clock, call_plan, feed, lossy, recorder_for, timeline

import pytest


@pytest.fixture
def intake(setup: Setup):  # type: ignore[no-untyped-def]  # noqa: F811
    it = Intake(setup.svc)
    yield it
    it.writer.close()


def rows(svc) -> list[dict]:  # type: ignore[no-untyped-def]
    with svc.db.read() as conn:
        return [dict(r) for r in conn.execute(select(recordings).order_by(recordings.c.part)).mappings()]


def audio_of(svc, row) -> np.ndarray:  # type: ignore[no-untyped-def]
    data, rate = soundfile.read(io.BytesIO(svc.content.get(row["master_sha256"])), dtype="int16")
    assert rate == 8000 and data.shape[1] == 2
    return data.T


def media_span(records) -> float:  # type: ignore[no-untyped-def]
    """Seconds from the first to the end of the last RTP packet of what was delivered."""
    times = [r.at for ch, r in records if ch == "hi3"]
    return max(times) - min(times) + 0.02


def test_lossy_reordered_call_has_the_right_length(setup: Setup, intake: Intake) -> None:  # noqa: F811
    ctx = setup.intercept(TARGET["liid"], IDENTIFIERS)
    intake.refresh_snapshot()
    clock = Clock()
    recorder = recorder_for(setup.svc, intake, clock)
    plan = call_plan(setup.clock.now(), duration=8.0)
    delivered = lossy(timeline(plan), loss=0.05, reorder=0.2)
    feed(intake, plan, delivered)
    assert recorder.calls and not recorder.stored  # held open until the end's grace has passed
    clock.t = 1.0
    [rec_id] = recorder.poll()
    [row] = rows(setup.svc)
    assert row["id"] == rec_id and row["closed_by"] == "call-end" and row["placement"] == "sdp"
    expected = media_span(delivered)
    assert abs(row["duration_ms"] / 1000 - expected) <= 0.020, (row["duration_ms"], expected)
    audio = audio_of(setup.svc, row)
    assert abs(audio.shape[1] / 8000 - expected) <= 0.020
    m = row["markers"]
    assert [s["channel"] for s in m["streams"]] == ["target", "other party"] or \
        sorted(s["channel"] for s in m["streams"]) == ["other party", "target"]
    target = next(s for s in m["streams"] if s["channel"] == "target")
    assert target["src"] == "198.51.100.20:40000"
    assert 0 < sum(s["lost"] for s in m["streams"]) < 0.1 * m["counts"]["packets"]
    # the Opus rendition and the peaks cover the same time
    opus, rate = soundfile.read(io.BytesIO(setup.svc.content.get(row["rendition_sha256"])), dtype="int16")
    assert rate == 8000 and abs(len(opus) - audio.shape[1]) <= 160
    peaks = json.loads(setup.svc.content.get(row["peaks_sha256"]))
    assert peaks["channels"] == 2 and peaks["length"] == -(-audio.shape[1] // 400) and len(peaks["data"]) == 4 * peaks["length"]
    # D1: three content items and a signed store event, all leaves of the case's log
    case_id = ctx["case"]["id"]
    with setup.svc.db.read() as conn:
        kinds = sorted(conn.execute(select(content_items.c.kind).where(content_items.c.case_id == case_id)).scalars())
        event = conn.execute(select(store_events).where(store_events.c.kind == "recording")).mappings().one()
    assert kinds == ["call-audio", "call-audio-opus", "call-audio-peaks"]
    assert event["leaf_index"] == row["event_leaf"] and event["body"]["files"]["master"]["sha256"] == row["master_sha256"]
    report = verify_store(setup.svc)
    assert report.ok, report.problems
    assert not list((setup.svc.settings.home / "tmp" / "recordings").iterdir())  # no scratch left


def test_openli_call_1_channels_by_sdp_not_by_label(setup: Setup, intake: Intake) -> None:  # noqa: F811
    """OpenLI 1.1.20 labels call 1's packets the wrong way round; the SDP of its 200 OK
    (sent by the target's handset) places the target on the left."""
    setup.clock.set(datetime(2025, 6, 2, 14, 5, tzinfo=timezone.utc))
    setup.intercept("NYPD-VOIP-0001", TARGET_SIP, start=CALL_DAY)
    intake.refresh_snapshot()
    clock = Clock()
    recorder = recorder_for(setup.svc, intake, clock)
    now = setup.clock.now()
    intake.process([Received(r, Channel.HI2, "etsi-102232", "openli", now) for r in vector_records("hi2-NYPD.ber")])
    hi3 = vector_records("hi3-NYPD.ber")
    for i in range(0, len(hi3), 50):
        intake.process([Received(r, Channel.HI3, "etsi-102232", "openli", now) for r in hi3[i:i + 50]])
    clock.t = 5.0
    assert len(recorder.poll()) == 2
    by_cin = {r["cin"]: r for r in rows(setup.svc)}
    call1, call2 = by_cin["2067558778"], by_cin["1256846793"]
    for row, seconds in ((call1, 4.0), (call2, 3.0)):
        assert row["placement"] == "sdp"
        assert abs(row["duration_ms"] - seconds * 1000) <= 20
        target = next(s for s in row["markers"]["streams"] if s["channel"] == "target")
        assert target["src"] == "198.51.100.20:" + ("40000" if row is call1 else "40002")
    assert [s["carrier_label"] for s in call1["markers"]["streams"] if s["channel"] == "target"] == ["toTarget"]
    assert call1["markers"]["counts"]["labels_contradicted"] == 2
    assert "labels_contradicted" not in call2["markers"]["counts"]
    left, right = audio_of(setup.svc, call1)
    assert np.abs(left).max() > 1000 and np.abs(right).max() > 1000


def test_minimized_interval_is_silence_and_listed(setup: Setup, intake: Intake) -> None:  # noqa: F811
    """Rule A2: from the minimize decision to the return from a spot check nothing of the
    call is written; the recording shows the interval as silence and lists it."""
    setup.intercept(TARGET["liid"], IDENTIFIERS)
    intake.refresh_snapshot()
    clock = Clock()
    book = Minimization()
    recorder = recorder_for(setup.svc, intake, clock, minimization=book)
    plan = call_plan(setup.clock.now(), duration=8.0)
    cin = next(r.cin for _, r in timeline(plan) if r.channel == "hi3")
    key = (TARGET["liid"], cin)
    first = min(r.at for _, r in timeline(plan) if r.channel == "hi3")
    t1, t2 = plan.start + timedelta(seconds=first + 2.0), plan.start + timedelta(seconds=first + 5.0)
    book.minimize(key, t1, "det.one", "personal call")
    book.start_spot_check(key, t2 - timedelta(milliseconds=200), "det.one", SpotCheckRule(min_gap=timedelta(seconds=1)))
    book.mark_pertinent(key, t2, "det.one")
    feed(intake, plan, timeline(plan))
    clock.t = 1.0
    recorder.poll()
    [row] = rows(setup.svc)
    left, right = audio_of(setup.svc, row)
    lo, hi = 2 * 8000 + 200, 4.8 * 8000 - 200
    assert np.abs(left[int(lo):int(hi)]).max() == 0 and np.abs(right[int(lo):int(hi)]).max() == 0
    assert np.abs(left[:int(lo) - 400]).max() > 500 and np.abs(left[5 * 8000 + 400:]).max() > 500
    [marker] = row["markers"]["minimized"]
    assert abs(marker["start_ms"] - 2000) <= 25 and abs(marker["end_ms"] - 4800) <= 25
    assert row["markers"]["counts"]["minimized"] > 2 * 2.8 * 50 - 10  # packets never decoded
    opus, _ = soundfile.read(io.BytesIO(setup.svc.content.get(row["rendition_sha256"])), dtype="int16")
    assert np.abs(opus[int(lo) + 800:int(hi) - 800]).max() < 50


def test_prtt_order_makes_no_recording(setup: Setup, intake: Intake) -> None:  # noqa: F811
    """Rule A6: under a pen-register order the gate keeps no audio and the recorder has
    nothing: no recording row, no audio in the content store, no scratch file."""
    setup.intercept(TARGET["liid"], IDENTIFIERS, kind="prtt", days=60)
    intake.refresh_snapshot()
    clock = Clock()
    recorder = recorder_for(setup.svc, intake, clock)
    plan = call_plan(setup.clock.now())
    feed(intake, plan, timeline(plan))
    clock.t = 10.0
    assert recorder.poll() == [] and recorder.close_all("shutdown") == []
    assert rows(setup.svc) == [] and recorder.counts["skipped_a6"] == sum(1 for ch, _ in timeline(plan) if ch == "hi3")
    with setup.svc.db.read() as conn:
        assert conn.execute(select(content_items).where(content_items.c.kind.like("call-audio%"))).first() is None
    scratch = setup.svc.settings.home / "tmp" / "recordings"
    assert not scratch.exists() or not list(scratch.iterdir())


def test_idle_timeout_then_media_resumes_as_part_2(setup: Setup, intake: Intake) -> None:  # noqa: F811
    setup.intercept(TARGET["liid"], IDENTIFIERS)
    intake.refresh_snapshot()
    clock = Clock()
    recorder = recorder_for(setup.svc, intake, clock, idle_timeout=30.0)
    plan = call_plan(setup.clock.now(), duration=6.0)
    records = timeline(plan)
    half = len(records) // 2
    feed(intake, plan, records[:half])
    clock.t = 31.0
    assert len(recorder.poll()) == 1
    feed(intake, plan, records[half:])
    clock.t = 32.0
    assert len(recorder.poll()) == 1
    first, second = rows(setup.svc)
    assert (first["part"], first["closed_by"], second["part"], second["closed_by"]) == (1, "idle", 2, "call-end")
    assert first["ended_at"] <= second["started_at"] + timedelta(seconds=1.1)  # the jitter buffer's delay, at most
    total = first["duration_ms"] + second["duration_ms"]
    assert abs(total / 1000 - media_span(records)) <= 1.1


def test_packetcable_call_placed_by_ccopen_sdp(setup: Setup, intake: Intake) -> None:  # noqa: F811
    """PacketCable CCC datagrams carry no direction: CCOpen's SDP (subject = the target)
    places the channels; CCClose ends the recording."""
    setup.intercept(TARGET["liid"], IDENTIFIERS)
    intake.refresh_snapshot()
    clock = Clock()
    recorder = recorder_for(setup.svc, intake, clock)
    plan = call_plan(setup.clock.now(), fmt="pcesp", direction="out")
    feed(intake, plan, timeline(plan))
    clock.t = 1.0
    assert len(recorder.poll()) == 1
    [row] = rows(setup.svc)
    assert row["format"] == "pcesp-ccc" and row["placement"] == "sdp" and row["closed_by"] == "call-end"
    target = next(s for s in row["markers"]["streams"] if s["channel"] == "target")
    assert target["src"] == "198.51.100.20:40000" and target["carrier_label"] is None
    assert abs(row["duration_ms"] / 1000 - media_span(timeline(plan))) <= 0.020


def test_threaded_recorder_finishes_soon_after_the_end(setup: Setup, intake: Intake) -> None:  # noqa: F811
    import time

    setup.intercept(TARGET["liid"], IDENTIFIERS)
    intake.refresh_snapshot()
    recorder = recorder_for(setup.svc, intake, time.monotonic)  # type: ignore[arg-type]
    recorder.start()
    try:
        plan = call_plan(setup.clock.now())
        feed(intake, plan, timeline(plan))
        deadline = time.monotonic() + 5
        while not recorder.stored and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(recorder.stored) == 1
    finally:
        recorder.stop()
    assert len(rows(setup.svc)) == 1
