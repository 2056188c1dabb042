"""Automatic garbage collection paused while the intake works on a batch.

A batch's objects (decoded fields, items, rows: about a hundred containers per IRI record, 5,000
records a batch) live exactly as long as the batch and are freed by reference counting when it
ends; they hold no cycles.  Left running, CPython's collector scans them again and again while
they live (each young-generation collection walks every container allocated since the last),
for nothing: measured, about 3 µs of an IRI record's 45–50 (`bench/README.md`).

Pausing is process-wide (the collector has one switch), so it is counted: the first of several
threads to pause turns the collector off only if it was on, and the last to resume turns it
back on.  Garbage with cycles that other threads make meanwhile waits for the next collection,
which the collector's own thresholds start as soon as it is on again: a batch lasts well under
a second.  A collection asked for explicitly (`gc.collect()`) runs even while paused.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_restore = False  # whether the first pause found the collector on


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore:
                gc.enable()
