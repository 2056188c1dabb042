"""Leak checks for the C speed-ups' tests: after a warm-up, many more rounds of `run` leave
the reference counts of `shared` objects, the interpreter's total reference count (debug
builds), the RSS and the blocks tracemalloc sees where they were.

A reference leaked (or stolen) on any path moves a shared object's count by at least
`rounds`, since every path runs once a round. Other threads of the test process (a server
or event loop an earlier test left running) also hold references to objects such as `None`
and interned strings, a number that changes from moment to moment: a count may differ by
less than half the rounds, which no leak of one reference a round stays under."""

from __future__ import annotations

import gc
import os
import sys
import tracemalloc
from collections.abc import Callable

import pytest


def rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pytest.skip("no /proc/self/statm")


def assert_no_leak(run: Callable[[int], None], shared: list[object], *, warmup: int, rounds: int,
                   traced_warmup: int, traced_rounds: int) -> None:
    assert rounds >= 1000, "too few rounds to tell a leak from other threads' references"
    run(warmup)
    gc.collect()
    refs = [sys.getrefcount(o) for o in shared]
    total = getattr(sys, "gettotalrefcount", lambda: 0)()
    before = rss()
    run(rounds)
    gc.collect()
    grown = rss() - before
    moved = [(o, after - was) for o, was, after in zip(shared, refs, (sys.getrefcount(o) for o in shared))
             if abs(after - was) >= rounds // 2]
    assert not moved, f"reference counts moved over {rounds} rounds: {moved!r}"
    assert getattr(sys, "gettotalrefcount", lambda: 0)() - total < 1000
    assert grown < 4 << 20, f"RSS grew by {grown} bytes"
    # RSS hides a leak when the process has freed memory to reuse: count the blocks too
    tracemalloc.start()
    try:
        run(traced_warmup)
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        run(traced_rounds)
        gc.collect()
        leaked = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert leaked < 16 << 10, f"{leaked} bytes still allocated after {traced_rounds} rounds"
