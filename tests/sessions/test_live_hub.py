"""The live fan-out without a socket: decoding, per-monitor bounded queues, server-side
minimization (rule A2) at queueing and at sending time."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from calea.clock import FakeClock
from calea.handover.etsi102232 import decode
from calea.sessions.live import LiveHub
from calea.sessions.live_media import FROM_TARGET, audio_of, call_event_of, unpack_frame
from calea.sessions.minimization import Minimization
from calea.store.items import StoreItem
from tests.sessions.live_helpers import cc_items, invite_record

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
CASE, LIID = "case-1", "NYPD-0001"


def test_audio_of_a_cc_record() -> None:
    item = cc_items(CASE, LIID, 42, T0, 1)[0]
    frame = audio_of(item)
    assert frame is not None and frame.key == (LIID, "42") and frame.direction == FROM_TARGET
    assert frame.payload_type == 0 and len(frame.pcm) == 320  # 160 samples, s16le
    assert audio_of(replace(item, raw=None)) is None  # A6: suppressed content is never played
    assert audio_of(replace(item, quarantined=True)) is None  # B3: quarantined data is not live


def test_call_event_of_an_invite() -> None:
    d = decode(invite_record(LIID, 42, T0))
    item = StoreItem(CASE, "i-1", LIID, "hi2", "etsi-102232", "iri", "42", 0, T0, T0, d.raw, "A2", fields=dict(d.fields))
    ev = call_event_of(item)
    assert ev is not None and ev.event == "start" and ev.parties["to"] == "<sip:+12125550100@example.net>"


async def _collect(hub: LiveHub, monitor, until: int) -> list[bytes]:  # type: ignore[no-untyped-def]
    got: list[bytes] = []

    async def send_bytes(data: bytes) -> None:
        got.append(data)

    async def send_text(_: str) -> None:
        pass

    task = asyncio.create_task(hub.pump(monitor, send_text, send_bytes, idle=0.01))
    for _ in range(60):
        if len(got) >= until:
            break
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.02)
    task.cancel()
    return got


def test_monitors_get_the_same_frames_and_a_slow_one_loses_its_oldest() -> None:
    async def main() -> None:
        clock = FakeClock(T0)
        hub = LiveHub(Minimization(), clock.now, audio_queue=10)
        loop = asyncio.get_running_loop()
        a, b = hub.add(CASE, "a", loop), hub.add(CASE, "b", loop)
        other = hub.add("case-2", "c", loop)
        hub.on_items(cc_items(CASE, LIID, 42, T0, 25))
        assert len(a.audio) == 10 and a.dropped == 15  # bounded: the oldest went first
        assert len(other.audio) == 0  # another case's monitor hears nothing of it
        got_a, got_b = await _collect(hub, a, 10), await _collect(hub, b, 10)
        assert got_a == got_b and len(got_a) == 10
        assert [unpack_frame(x)["intercepted_us"] for x in got_a][0] > unpack_frame(got_a[-1])["intercepted_us"] - 10**6
        assert unpack_frame(got_a[0])["cin"] == "42"

    asyncio.run(main())


def test_minimized_audio_is_never_queued_nor_sent() -> None:
    async def main() -> None:
        clock = FakeClock(T0)
        book = Minimization()
        hub = LiveHub(book, clock.now)
        m = hub.add(CASE, "a", asyncio.get_running_loop())
        hub.on_items(cc_items(CASE, LIID, 42, T0, 5))  # queued while monitored
        book.minimize((LIID, "42"), T0, "det.smith")  # rule A2: the monitor minimizes
        hub.on_items(cc_items(CASE, LIID, 42, T0, 5, first_seq=5))  # arrives minimized: not queued
        assert len(m.audio) == 5 and hub.withheld == 5
        got = await _collect(hub, m, 1)
        assert got == [] and m.withheld == 5  # what was queued before is dropped at sending time
        hub.on_items(cc_items(CASE, LIID, 43, T0, 2))  # another call of the same case is heard
        got = await _collect(hub, m, 2)
        assert [unpack_frame(x)["cin"] for x in got] == ["43", "43"]

    asyncio.run(main())


def test_spot_check_frames_are_flagged_and_cut_at_the_limit() -> None:
    async def main() -> None:
        from calea.sessions.minimization import SpotCheckRule

        clock = FakeClock(T0)
        book = Minimization()
        hub = LiveHub(book, clock.now)
        m = hub.add(CASE, "a", asyncio.get_running_loop())
        key = (LIID, "42")
        book.minimize(key, T0, "a")
        clock.advance(timedelta(minutes=1))
        book.start_spot_check(key, clock.now(), "a", SpotCheckRule())
        hub.on_items(cc_items(CASE, LIID, 42, clock.now(), 3, received_at=clock.now()))
        got = await _collect(hub, m, 3)
        assert len(got) == 3 and all(unpack_frame(x)["flags"] & 1 for x in got)
        clock.advance(timedelta(minutes=2))  # the limit: cut whether anybody asks or not
        hub.on_items(cc_items(CASE, LIID, 42, clock.now(), 3, received_at=clock.now()))
        assert await _collect(hub, m, 1) == []

    asyncio.run(main())
