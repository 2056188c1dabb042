"""Minimization (rule A2: 18 U.S.C. §2518(5), CPL 700.30(7)), pure and table-tested:
the spot-check rule refuses a too-early check (naming the rule) and cuts a too-long one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from calea.errors import CaleaError, Conflict, InvalidInput, RuleViolation
from calea.sessions.minimization import Action, Minimization, SpotCheckRule, event_from

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
KEY = ("NYPD-0001", "42")
DEFAULT = SpotCheckRule()  # 2 minutes of listening per check, 1 minute between checks


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(book: Minimization, step: tuple[Any, ...], rule: SpotCheckRule = DEFAULT) -> list[Any]:
    t, cmd, *args = step
    if cmd == "minimize":
        return book.minimize(KEY, at(t), "det.smith")
    if cmd == "spot":
        return book.start_spot_check(KEY, at(t), "det.smith", rule)
    if cmd == "stop":
        return book.stop_spot_check(KEY, at(t), "det.smith")
    if cmd == "pertinent":
        return book.mark_pertinent(KEY, at(t), "det.smith")
    if cmd == "privileged":
        return book.flag_privileged(KEY, at(t), "det.smith", args[0])
    raise AssertionError(cmd)


# (name, steps, the actions logged, {probe second: minimized?})
ACCEPTED = [
    ("minimize stops listening at once",
     [(10, "minimize")], ["minimized"], {9.999: False, 10: True, 3600: True}),
    ("a spot check after the 1-minute gap listens for at most 2 minutes",
     [(0, "minimize"), (60, "spot")], ["minimized", "spot-check-started"],
     {59: True, 60: False, 179.9: False, 180: True, 500: True}),
    ("a spot check stopped early minimizes again at once",
     [(0, "minimize"), (60, "spot"), (90, "stop")], ["minimized", "spot-check-started", "spot-check-stopped"],
     {89: False, 90: True, 179: True}),
    ("the next check waits a minute after the last one ended",
     [(0, "minimize"), (60, "spot"), (90, "stop"), (150, "spot")],
     ["minimized", "spot-check-started", "spot-check-stopped", "spot-check-started"], {149: True, 150: False, 270: True}),
    ("a check after one cut at its limit: the limit is logged first",
     [(0, "minimize"), (60, "spot"), (240, "spot")],
     ["minimized", "spot-check-started", "spot-check-limit", "spot-check-started"], {200: True, 240: False, 360: True}),
    ("pertinent during a spot check resumes monitoring",
     [(0, "minimize"), (60, "spot"), (70, "pertinent")], ["minimized", "spot-check-started", "pertinent"],
     {65: False, 180: False, 9999: False}),
    ("minimize during a spot check ends it",
     [(0, "minimize"), (60, "spot"), (75, "minimize")], ["minimized", "spot-check-started", "minimized"],
     {74: False, 75: True, 200: True}),
    ("privileged minimizes at once",
     [(5, "privileged", "attorney")], ["privileged"], {4: False, 5: True, 999: True}),
    ("privileged during a spot check ends it",
     [(0, "minimize"), (60, "spot"), (70, "privileged", "clergy")], ["minimized", "spot-check-started", "privileged"],
     {69: False, 70: True}),
]


@pytest.mark.parametrize("name,steps,actions,probes", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted(name: str, steps: list[tuple[Any, ...]], actions: list[str], probes: dict[float, bool]) -> None:
    book = Minimization()
    logged = [e for step in steps for e in run(book, step)]
    assert [e.action.value for e in logged] == actions
    for second, minimized in probes.items():
        assert book.is_minimized(KEY, at(second)) is minimized, second
    # replaying the logged facts rebuilds the same intervals (the recorder of a past call)
    replayed = Minimization()
    for e in logged:
        replayed.apply(event_from(e.body()))
    assert replayed.minimized_intervals(KEY) == book.minimized_intervals(KEY)


REFUSED = [
    ("too-early spot check", [(0, "minimize")], (59, "spot"), RuleViolation, "too early"),
    ("too-early after a check", [(0, "minimize"), (60, "spot"), (90, "stop")], (149, "spot"), RuleViolation, "too early"),
    ("too-early after a cut check", [(0, "minimize"), (60, "spot")], (239, "spot"), RuleViolation, "too early"),
    ("spot check of a monitored call", [], (100, "spot"), Conflict, "not minimized"),
    ("spot check of a privileged call", [(0, "privileged", "physician")], (600, "spot"), RuleViolation, "privileged"),
    ("pertinent without a spot check", [(0, "minimize")], (100, "pertinent"), RuleViolation, "spot check"),
    ("minimize a minimized call", [(0, "minimize")], (10, "minimize"), Conflict, "already minimized"),
    ("stop without a spot check", [(0, "minimize")], (10, "stop"), Conflict, "no spot check"),
    ("flag the same privilege twice", [(0, "privileged", "spouse")], (10, "privileged", "spouse"), Conflict, "already"),
    ("a privilege that is none", [], (0, "privileged", "accountant"), InvalidInput, "attorney"),
]


@pytest.mark.parametrize("name,before,step,error,text", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused(name: str, before: list[tuple[Any, ...]], step: tuple[Any, ...], error: type[CaleaError], text: str) -> None:
    book = Minimization()
    for s in before:
        run(book, s)
    intervals = book.minimized_intervals(KEY)
    with pytest.raises(error) as info:
        run(book, step)
    assert text in info.value.message
    if error is not InvalidInput:
        assert info.value.rule == "A2"
    assert book.minimized_intervals(KEY) == intervals  # a refusal changes nothing


def test_too_early_names_the_rule_and_the_next_instant() -> None:
    book = Minimization()
    book.minimize(KEY, T0, "det.smith")
    with pytest.raises(RuleViolation) as info:
        book.start_spot_check(KEY, at(20), "det.smith", DEFAULT)
    msg = info.value.message
    assert info.value.rule == "A2" and "§2518(5)" in msg
    assert "at most 2 minutes of listening per spot check, at least 1 minute" in msg
    assert "2026-11-27T12:01:00Z" in msg and "in 40 s" in msg


def test_too_long_is_cut_and_logged_once_by_expire() -> None:
    book = Minimization()
    book.minimize(KEY, T0, "det.smith")
    book.start_spot_check(KEY, at(60), "det.smith", DEFAULT)
    assert book.next_limit() == at(180)
    assert book.expire(at(179)) == []
    assert book.is_minimized(KEY, at(180))  # cut at the limit even before expire() runs
    ended = book.expire(at(185))
    assert [(e.action, e.at, e.by) for e in ended] == [(Action.SPOT_CHECK_LIMIT, at(180), "system")]
    assert book.expire(at(300)) == [] and book.next_limit() is None
    with pytest.raises(Conflict):
        book.stop_spot_check(KEY, at(200), "det.smith")


def test_stop_after_the_limit_logs_the_limit() -> None:
    book = Minimization()
    book.minimize(KEY, T0, "det.smith")
    book.start_spot_check(KEY, at(60), "det.smith", DEFAULT)
    assert [e.action for e in book.stop_spot_check(KEY, at(200), "det.smith")] == [Action.SPOT_CHECK_LIMIT]
    assert book.is_minimized(KEY, at(190))


def test_a_configured_rule() -> None:
    rule = SpotCheckRule(max_listen=timedelta(seconds=30), min_gap=timedelta(seconds=10), privileged_spot_checks=True)
    book = Minimization()
    book.flag_privileged(KEY, T0, "det.smith", "attorney")
    with pytest.raises(RuleViolation, match="30 seconds of listening"):
        book.start_spot_check(KEY, at(9), "det.smith", rule)
    book.start_spot_check(KEY, at(10), "det.smith", rule)
    assert not book.is_minimized(KEY, at(39)) and book.is_minimized(KEY, at(40))
    st = book.status(KEY, at(45), rule)
    assert st.minimized and st.privileged == ("attorney",) and st.next_spot_check_at == at(50)


def test_intervals_and_status() -> None:
    book = Minimization()
    assert book.minimized_intervals(KEY) == [] and not book.is_minimized(KEY, T0)
    book.minimize(KEY, T0, "a")
    book.start_spot_check(KEY, at(60), "a", DEFAULT)
    assert book.minimized_intervals(KEY) == [(T0, at(60)), (at(180), None)]
    assert book.in_spot_check(KEY, at(61)) and not book.in_spot_check(KEY, at(180))
    st = book.status(KEY, at(61), DEFAULT)
    assert not st.minimized and st.spot_check_until == at(180)
    assert book.is_minimized(("NYPD-0001", "43"), at(100)) is False  # per communication key


def test_rule_values() -> None:
    with pytest.raises(InvalidInput):
        SpotCheckRule(max_listen=timedelta(0))
    assert SpotCheckRule().to_dict()["max_listen_seconds"] == 120
