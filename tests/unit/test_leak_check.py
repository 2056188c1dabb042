"""The leak check the C speed-ups' tests lean on must itself fail on a leak, and must not
fail on the few references another thread of the process takes and drops meanwhile."""

from __future__ import annotations

import threading

import pytest

from tests.leaks import assert_no_leak


def test_a_reference_kept_per_round_is_a_leak() -> None:
    shared = object()
    kept: list[object] = []

    def run(times: int) -> None:
        for _ in range(times):
            kept.append(shared)

    with pytest.raises(AssertionError, match="reference counts moved"):
        assert_no_leak(run, [shared], warmup=10, rounds=2000, traced_warmup=1, traced_rounds=10)


def test_a_reference_dropped_per_round_is_a_leak_too() -> None:
    shared = object()
    kept = [shared] * 5000

    def run(times: int) -> None:
        for _ in range(times):
            kept.pop()

    with pytest.raises(AssertionError, match="reference counts moved"):
        assert_no_leak(run, [shared], warmup=10, rounds=2000, traced_warmup=1, traced_rounds=10)


def test_another_threads_references_are_not_a_leak() -> None:
    shared = object()
    held: list[object] = []
    taken, release = threading.Event(), threading.Event()

    def other() -> None:
        held.extend([shared] * 500)  # a thread's list of rows, say, taken between the two counts
        taken.set()
        release.wait(5)

    def run(times: int) -> None:
        if times == 2000 and not taken.is_set():
            thread.start()
            taken.wait(5)

    thread = threading.Thread(target=other)
    try:
        assert_no_leak(run, [shared], warmup=10, rounds=2000, traced_warmup=1, traced_rounds=10)
    finally:
        release.set()
        thread.join()
    assert len(held) == 500
