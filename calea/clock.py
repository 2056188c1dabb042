"""The one place the wall clock is read.  Everything else receives `now` as a parameter.

`FakeClock` drives the scheduler (rule B3 deadlines) and the gate in tests, to the second.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FakeClock:
    """A settable clock for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, at: datetime) -> None:
        with self._lock:
            self._now = as_utc(at)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now = self._now + delta


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (SQLite returns them naive)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
