"""Minimization of live monitoring: what a monitor may hear of a call (rule A2).

SPEC: 18 U.S.C. §2518(5) ("shall be conducted in such a way as to minimize the interception
of communications not otherwise subject to interception"); N.Y. CPL 700.30(7) (the warrant
directs minimization).  Rule A2 of LEGAL-RULES.md names §2518(5) as a condition of an
eavesdropping warrant; every refusal here names rule A2.

Per communication key `(liid, cin)`:

* **minimize** -- the monitor judges the call non-pertinent: listening and recording stop
  at that instant (a *minimized interval* opens).
* **spot check** -- while minimized, a monitor may listen briefly to learn whether the call
  turned pertinent.  The rule (`SpotCheckRule`, default: at most 2 minutes of listening per
  check, at least 1 minute minimized between checks) is enforced here: a check that starts
  too early is refused, naming the rule and the earliest allowed instant; a check that runs
  too long ends at its limit whether anyone asks or not (the minimized interval reopens at
  `start + max_listen` -- `is_minimized` needs no timer to be right).
* **pertinent** -- during a spot check, the monitor finds the call pertinent: monitoring
  resumes (the pending interval is withdrawn).
* **privileged** -- the call is flagged privileged (attorney, clergy, physician, spouse):
  it is minimized at once, and spot checks are refused unless the rule allows them
  (`privileged_spot_checks`; off by default -- the conservative reading).

Interpretation: intervals are half-open `[start, end)` instants in UTC on the server clock,
`end=None` while still minimized.  A packet is judged by the instant the system received it
(`received_at`): a decision applies to everything that arrives from then on.  Times of a key
are taken to be non-decreasing.

Commands check and apply atomically and return the events (facts, past tense) to log;
`apply(event)` replays a fact without checks (rebuilding the state from the table).  No I/O;
the clock is passed in.  The lock only makes the book safe to share between the intake
thread (recorder, live fan-out) and the web handlers.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from calea.errors import Conflict, InvalidInput, RuleViolation

RULE = "A2"  # the eavesdropping warrant's minimization condition, §2518(5) / CPL 700.30(7)
STATUTE = "18 U.S.C. §2518(5), CPL 700.30(7)"
PRIVILEGES = ("attorney", "clergy", "physician", "spouse")

Key = tuple[str, str]  # (liid, cin); cin "" when the delivery has none


@dataclass(frozen=True)
class SpotCheckRule:
    """How spot checks of a minimized call are limited (configurable per case)."""

    max_listen: timedelta = timedelta(minutes=2)
    min_gap: timedelta = timedelta(minutes=1)
    privileged_spot_checks: bool = False

    def __post_init__(self) -> None:
        if self.max_listen <= timedelta(0) or self.min_gap < timedelta(0):
            raise InvalidInput("a spot check lasts more than 0 s and the gap is not negative", field="max_listen")

    def describe(self) -> str:
        return (f"at most {_span(self.max_listen)} of listening per spot check, at least {_span(self.min_gap)} "
                f"minimized between checks ({STATUTE})")

    def to_dict(self) -> dict[str, Any]:
        return {"max_listen_seconds": int(self.max_listen.total_seconds()), "min_gap_seconds": int(self.min_gap.total_seconds()),
                "privileged_spot_checks": self.privileged_spot_checks, "text": self.describe()}


class Action(str, enum.Enum):
    MINIMIZED = "minimized"
    SPOT_CHECK_STARTED = "spot-check-started"
    SPOT_CHECK_STOPPED = "spot-check-stopped"
    SPOT_CHECK_LIMIT = "spot-check-limit"  # ended by the rule at start + max_listen
    PERTINENT = "pertinent"  # monitoring resumed after a spot check
    PRIVILEGED = "privileged"


STORE_KIND = {  # the store event kind in the case's signed log
    Action.MINIMIZED: "minimize", Action.PERTINENT: "minimize", Action.SPOT_CHECK_STARTED: "spot-check",
    Action.SPOT_CHECK_STOPPED: "spot-check", Action.SPOT_CHECK_LIMIT: "spot-check", Action.PRIVILEGED: "privileged",
}


@dataclass(frozen=True)
class MinimizationEvent:
    action: Action
    key: Key
    at: datetime
    by: str  # username, or "system" for a spot check ended at its limit
    until: datetime | None = None  # a spot check's limit
    category: str | None = None  # a privilege
    reason: str = ""

    @property
    def kind(self) -> str:
        return STORE_KIND[self.action]

    def body(self) -> dict[str, Any]:
        """The JSON of the signed store event (no content, only the decision)."""
        out: dict[str, Any] = {"rule": RULE, "action": self.action.value, "liid": self.key[0], "cin": self.key[1],
                               "at": _iso(self.at), "by": self.by}
        if self.until is not None:
            out["until"] = _iso(self.until)
        if self.category:
            out["category"] = self.category
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Status:
    minimized: bool
    spot_check_until: datetime | None
    next_spot_check_at: datetime | None  # when minimized: the earliest allowed spot check
    privileged: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"minimized": self.minimized, "spot_check_until": _iso(self.spot_check_until),
                "next_spot_check_at": _iso(self.next_spot_check_at), "privileged": list(self.privileged)}


@dataclass
class _State:
    intervals: list[list[Any]] = field(default_factory=list)  # [start, end | None]
    spot: tuple[datetime, datetime] | None = None  # (start, limit)
    privileged: list[str] = field(default_factory=list)


class Minimization:
    """The minimization book: state per communication key (shared by live fan-out and recorder)."""

    def __init__(self) -> None:
        self._states: dict[Key, _State] = {}
        self._lock = threading.RLock()

    # --- the recorder's interface -------------------------------------------------------

    def minimized_intervals(self, key: Key) -> list[tuple[datetime, datetime | None]]:
        with self._lock:
            st = self._states.get(key)
            return [] if st is None else [(s, e) for s, e in st.intervals]

    def is_minimized(self, key: Key, t: datetime) -> bool:
        with self._lock:
            st = self._states.get(key)
            return st is not None and _inside(st, t)

    def in_spot_check(self, key: Key, t: datetime) -> bool:
        with self._lock:
            st = self._states.get(key)
            return st is not None and _spot(st, t) is not None

    # --- commands (checked; each returns the facts to log) ------------------------------

    def minimize(self, key: Key, at: datetime, by: str, reason: str = "") -> list[MinimizationEvent]:
        with self._lock:
            st = self._state(key)
            if _inside(st, at):
                raise Conflict("this call is already minimized", rule=RULE)
            return self._commit(key, st, MinimizationEvent(Action.MINIMIZED, key, at, by, reason=reason))

    def start_spot_check(self, key: Key, at: datetime, by: str, rule: SpotCheckRule) -> list[MinimizationEvent]:
        with self._lock:
            st = self._state(key)
            if not _inside(st, at):
                raise Conflict("this call is not minimized: there is nothing to spot-check", rule=RULE)
            if st.privileged and not rule.privileged_spot_checks:
                raise RuleViolation(f"spot check refused: the call is flagged privileged ({', '.join(st.privileged)}); "
                                    f"the minimization rule allows no spot check of a privileged call ({STATUTE})", rule=RULE)
            earliest = st.intervals[-1][0] + rule.min_gap
            if at < earliest:
                wait = int((earliest - at).total_seconds() + 0.999)
                raise RuleViolation(f"spot check refused: too early -- the rule is {rule.describe()}; "
                                    f"next spot check allowed at {_iso(earliest)} (in {wait} s)", rule=RULE)
            return self._commit(key, st, MinimizationEvent(Action.SPOT_CHECK_STARTED, key, at, by, until=at + rule.max_listen))

    def stop_spot_check(self, key: Key, at: datetime, by: str) -> list[MinimizationEvent]:
        with self._lock:
            st = self._state(key)
            if _spot(st, at) is None:
                if st.spot is not None:  # it ended at its limit: the call is minimized, as asked
                    return self._commit(key, st, None)
                raise Conflict("no spot check is in progress on this call", rule=RULE)
            return self._commit(key, st, MinimizationEvent(Action.SPOT_CHECK_STOPPED, key, at, by))

    def mark_pertinent(self, key: Key, at: datetime, by: str, reason: str = "") -> list[MinimizationEvent]:
        """During a spot check the monitor heard a pertinent conversation: monitoring resumes."""
        with self._lock:
            st = self._state(key)
            if _spot(st, at) is None:
                raise RuleViolation("monitoring resumes only from a spot check: what was not heard cannot be judged "
                                    f"pertinent ({STATUTE})", rule=RULE)
            return self._commit(key, st, MinimizationEvent(Action.PERTINENT, key, at, by, reason=reason))

    def flag_privileged(self, key: Key, at: datetime, by: str, category: str, reason: str = "") -> list[MinimizationEvent]:
        if category not in PRIVILEGES:
            raise InvalidInput(f"a privilege is one of {', '.join(PRIVILEGES)}", field="category")
        with self._lock:
            st = self._state(key)
            if category in st.privileged:
                raise Conflict(f"this call is already flagged privileged ({category})", rule=RULE)
            return self._commit(key, st, MinimizationEvent(Action.PRIVILEGED, key, at, by, category=category, reason=reason))

    def expire(self, at: datetime) -> list[MinimizationEvent]:
        """The spot checks that reached their limit by `at` (one event each, once)."""
        with self._lock:
            out: list[MinimizationEvent] = []
            for key, st in self._states.items():
                if st.spot is not None and at >= st.spot[1]:
                    out.append(self._do(MinimizationEvent(Action.SPOT_CHECK_LIMIT, key, st.spot[1], "system")))
            return out

    def next_limit(self) -> datetime | None:
        """The earliest limit of a running spot check (when `expire` has work)."""
        with self._lock:
            limits = [st.spot[1] for st in self._states.values() if st.spot is not None]
            return min(limits) if limits else None

    # --- state -------------------------------------------------------------------------------

    def status(self, key: Key, at: datetime, rule: SpotCheckRule) -> Status:
        with self._lock:
            st = self._states.get(key) or _State()
            minimized = _inside(st, at)
            spot = st.spot[1] if st.spot is not None and at < st.spot[1] else None
            nxt = None
            if minimized and (rule.privileged_spot_checks or not st.privileged):
                nxt = max(st.intervals[-1][0] + rule.min_gap, at)
            return Status(minimized, spot, nxt, tuple(st.privileged))

    def keys(self) -> list[Key]:
        with self._lock:
            return list(self._states)

    def apply(self, event: MinimizationEvent) -> None:
        """Replay one fact (no checks): rebuilding the book from the logged events."""
        with self._lock:
            self._do(event)

    def _state(self, key: Key) -> _State:
        return self._states.get(key) or _State()

    def _commit(self, key: Key, st: _State, ev: MinimizationEvent | None) -> list[MinimizationEvent]:
        """Apply a checked command; a spot check that reached its limit before it is logged first."""
        out = []
        if st.spot is not None and (ev is None or ev.at >= st.spot[1]):
            out.append(self._do(MinimizationEvent(Action.SPOT_CHECK_LIMIT, key, st.spot[1], "system")))
        if ev is not None:
            out.append(self._do(ev))
        return out

    def _do(self, ev: MinimizationEvent) -> MinimizationEvent:
        """The one transition table."""
        st = self._states.setdefault(ev.key, _State())
        iv = st.intervals
        a = ev.action
        if a is Action.MINIMIZED or (a is Action.PRIVILEGED and not _inside(st, ev.at)):
            if st.spot is not None:  # during a spot check: the pending interval starts now
                iv[-1][0] = ev.at
                st.spot = None
            else:
                iv.append([ev.at, None])
        if a is Action.PRIVILEGED and ev.category and ev.category not in st.privileged:
            st.privileged.append(ev.category)
        elif a is Action.SPOT_CHECK_STARTED:
            assert ev.until is not None
            iv[-1][1] = ev.at
            iv.append([ev.until, None])
            st.spot = (ev.at, ev.until)
        elif a is Action.SPOT_CHECK_STOPPED:
            iv[-1][0] = ev.at
            st.spot = None
        elif a is Action.SPOT_CHECK_LIMIT:
            st.spot = None
        elif a is Action.PERTINENT:
            if st.spot is not None:
                iv.pop()
            st.spot = None
        return ev


def _spot(st: _State, t: datetime) -> tuple[datetime, datetime] | None:
    return st.spot if st.spot is not None and st.spot[0] <= t < st.spot[1] else None


def _inside(st: _State, t: datetime) -> bool:
    for start, end in reversed(st.intervals):
        if start <= t and (end is None or t < end):
            return True
    return False


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def _span(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s % 60 == 0:
        return f"{s // 60} minute{'s' if s != 60 else ''}"
    return f"{s} seconds"


def event_from(body: dict[str, Any]) -> MinimizationEvent:
    """The event of a logged body (replay)."""
    from calea.clock import as_utc

    def t(v: Any) -> datetime | None:
        if v is None:
            return None
        return as_utc(v if isinstance(v, datetime) else datetime.fromisoformat(str(v).replace("Z", "+00:00")))

    at = t(body["at"])
    assert at is not None
    return MinimizationEvent(Action(body["action"]), (str(body["liid"]), str(body.get("cin") or "")), at,
                             str(body.get("by", "")), until=t(body.get("until")), category=body.get("category"),
                             reason=str(body.get("reason") or ""))
