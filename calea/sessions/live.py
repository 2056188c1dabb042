"""Live fan-out: the intake subscriber that sends the audio and call events of the calls
of watched cases to the monitors connected to them.

    hub = LiveHub(book, svc.now)
    intake.subscribers.append(hub.on_items)      # runs on the intake thread, after each durable batch
    monitor = hub.add(case_id, username, asyncio.get_running_loop())
    await hub.pump(monitor, ws.send_text, ws.send_bytes)   # in the monitor's socket handler

Threads: `on_items` runs on the intake thread.  It never waits: for the cases somebody
watches it decodes the CC of active calls (G.711 -> PCM, `live_media`) once, packs one
binary frame per packet and appends it to each monitor's bounded queue (a full queue
drops its oldest audio: a slow monitor loses audio, never delays the intake or the others),
then wakes the monitor's event loop with one `call_soon_threadsafe` per batch.

Enforcement of minimization (rule A2, §2518(5)) is on the server, twice: a packet received
while its call is minimized is never queued, and a queued frame is dropped at send time
if the call is minimized by then (outside a spot check nothing goes out, even what was
queued before the monitor pressed the button).  Audio is forwarded, never analysed (F1).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson

from calea.sessions.live_media import FLAG_SPOT_CHECK, CallEvent, audio_of, call_event_of, micros, pack_frame
from calea.sessions.minimization import Key, Minimization
from calea.store.items import StoreItem

log = logging.getLogger("calea.live")

AUDIO_QUEUE = 250  # frames per monitor: 5 s of one direction of a 20 ms call
CONTROL_QUEUE = 2000  # JSON messages per monitor; past that the monitor is too slow and is closed
_ids = itertools.count(1)


class Monitor:
    """One connected monitor: its queues and the event loop that drains them."""

    def __init__(self, case_id: str, username: str, loop: asyncio.AbstractEventLoop, *, audio_queue: int = AUDIO_QUEUE) -> None:
        self.id = next(_ids)
        self.case_id = case_id
        self.username = username
        self.loop = loop
        self.audio: deque[tuple[Key, bytes]] = deque(maxlen=audio_queue)
        self.control: deque[str] = deque()
        self.wake = asyncio.Event()
        self.sent = self.dropped = self.withheld = 0
        self.overflow = False
        self._signalled = False

    def push_audio(self, frames: list[tuple[Key, bytes]]) -> None:
        """Any thread.  Oldest audio goes first when the queue is full (deque maxlen)."""
        limit = self.audio.maxlen or 0
        over = len(self.audio) + len(frames) - limit
        if over > 0:
            self.dropped += over
        self.audio.extend(frames)
        self._signal()

    def push_control(self, text: str) -> None:
        if len(self.control) >= CONTROL_QUEUE:
            self.overflow = True
        else:
            self.control.append(text)
        self._signal()

    def _signal(self) -> None:
        if self._signalled:
            return
        self._signalled = True
        try:
            self.loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # the monitor's loop is closed: it is going away
            pass

    def stats(self) -> dict[str, int]:
        return {"sent": self.sent, "dropped": self.dropped, "withheld": self.withheld, "queued": len(self.audio)}


class LiveHub:
    def __init__(self, book: Minimization, clock: Callable[[], datetime], *, audio_queue: int = AUDIO_QUEUE) -> None:
        self.book = book
        self.clock = clock
        self.audio_queue = audio_queue
        self._lock = threading.Lock()
        self._monitors: dict[str, list[Monitor]] = {}
        self._watched: frozenset[str] = frozenset()
        self.calls: dict[str, dict[Key, dict[str, Any]]] = {}  # case -> active calls
        self.withheld = 0  # frames not sent because their call was minimized

    # --- monitors ---------------------------------------------------------------------------

    def add(self, case_id: str, username: str, loop: asyncio.AbstractEventLoop) -> Monitor:
        m = Monitor(case_id, username, loop, audio_queue=self.audio_queue)
        with self._lock:
            self._monitors.setdefault(case_id, []).append(m)
            self._watched = frozenset(self._monitors)
        return m

    def remove(self, monitor: Monitor) -> None:
        with self._lock:
            ms = self._monitors.get(monitor.case_id, [])
            if monitor in ms:
                ms.remove(monitor)
            if not ms:
                self._monitors.pop(monitor.case_id, None)
                self.calls.pop(monitor.case_id, None)
            self._watched = frozenset(self._monitors)

    def monitors(self, case_id: str) -> list[Monitor]:
        with self._lock:
            return list(self._monitors.get(case_id, ()))

    def broadcast(self, case_id: str, message: dict[str, Any]) -> None:
        """A JSON message to every monitor of the case (any thread)."""
        text = orjson.dumps(message).decode()
        for m in self.monitors(case_id):
            m.push_control(text)

    def active_calls(self, case_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self.calls.get(case_id, {}).values()]

    # --- the intake subscriber (intake thread) ------------------------------------------------

    def on_items(self, items: list[StoreItem]) -> None:
        watched = self._watched
        if not watched:
            return
        frames: dict[str, list[tuple[Key, bytes]]] = {}
        now = self.clock()
        sent_us = micros(now)
        book = self.book
        for it in items:
            if it.case_id not in watched:
                continue
            if it.kind == "iri":
                ev = call_event_of(it)
                if ev is not None:
                    self._call(ev)
                continue
            frame = audio_of(it)
            if frame is None:
                continue
            if frame.key not in self.calls.get(it.case_id, {}):
                self._call(CallEvent(it.case_id, frame.key, "media", it.intercepted_at, {}))
            if book.is_minimized(frame.key, it.received_at) or book.is_minimized(frame.key, now):
                self.withheld += 1  # rule A2: nothing of a minimized call is queued
                continue
            flags = FLAG_SPOT_CHECK if book.in_spot_check(frame.key, now) else 0
            frames.setdefault(it.case_id, []).append((frame.key, pack_frame(frame, sent_us, flags)))
        for case_id, batch in frames.items():
            for m in self.monitors(case_id):
                m.push_audio(batch)

    def _call(self, ev: CallEvent) -> None:
        with self._lock:
            calls = self.calls.setdefault(ev.case_id, {})
            if ev.event == "end":
                calls.pop(ev.key, None)
            else:
                call = calls.setdefault(ev.key, {"liid": ev.key[0], "cin": ev.key[1], "state": ev.event,
                                                 "started_at": ev.at.isoformat().replace("+00:00", "Z")})
                if ev.event != "media":
                    call["state"] = ev.event
                call.update(ev.parties)
        self.broadcast(ev.case_id, ev.to_message())

    # --- the sender (the monitor's event loop) ------------------------------------------------

    async def pump(self, monitor: Monitor, send_text: Callable[[str], Awaitable[None]],
                   send_bytes: Callable[[bytes], Awaitable[None]], *,
                   tick: Callable[[], Awaitable[None]] | None = None, idle: float = 0.5) -> None:
        """Send the monitor's queues until the socket fails or `tick` raises.  A frame whose
        call is minimized at the moment of sending is dropped (rule A2)."""
        while True:
            try:
                await asyncio.wait_for(monitor.wake.wait(), idle)
            except asyncio.TimeoutError:
                pass
            monitor.wake.clear()
            monitor._signalled = False
            if tick is not None:
                await tick()
            if monitor.overflow:
                raise OverflowError("the monitor does not keep up with the call events")
            while monitor.control:
                await send_text(monitor.control.popleft())
            while monitor.audio:
                key, data = monitor.audio.popleft()
                if self.book.is_minimized(key, self.clock()):
                    monitor.withheld += 1
                    continue
                await send_bytes(data)
                monitor.sent += 1
