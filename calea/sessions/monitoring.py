"""The live-monitoring service: who may listen (C2, C5), the minimization commands
(A2: 18 U.S.C. §2518(5), CPL 700.30(7)) and their record (D1, C5).

Every command is checked and applied to the minimization book at once (listening stops
the instant a call is minimized), then recorded three times: a signed event in the case's
Merkle log (`StoreWriter.write_events`, kinds "minimize", "spot-check", "privileged"), a
row of `live_minimization` (who, when, what, the leaf index) and an audit event.  If the
record of a command that *opens* listening (a spot check, a call found pertinent) fails,
the call is minimized again before the error is returned: no listening goes unrecorded.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from calea.db.schema import intercepts
from calea.db.schema_live import live_minimization, live_rules
from calea.domain.access import Perm, require
from calea.errors import CaleaError, InvalidInput, NotFound
from calea.services.access import Level, check_case_access
from calea.services.context import SYSTEM, Actor, Services
from calea.sessions.live import AUDIO_QUEUE, LiveHub
from calea.sessions.minimization import (
    RULE, Action, Key, Minimization, MinimizationEvent, SpotCheckRule, event_from,
)

if TYPE_CHECKING:
    from calea.intake.pipeline import Intake
    from calea.store.writer import StoreWriter

log = logging.getLogger("calea.live")

COMMANDS = ("minimize", "spot-check-start", "spot-check-stop", "pertinent", "privileged")
_OPENS_LISTENING = {Action.SPOT_CHECK_STARTED, Action.PERTINENT}


class LiveService:
    def __init__(self, svc: Services, writer: StoreWriter, *, book: Minimization | None = None,
                 audio_queue: int = AUDIO_QUEUE, default_rule: SpotCheckRule | None = None) -> None:
        self.svc = svc
        self.writer = writer
        self.book = book or Minimization()
        self.hub = LiveHub(self.book, svc.now, audio_queue=audio_queue)
        self.default_rule = default_rule or SpotCheckRule()
        self._record_lock = threading.Lock()
        self.load()

    def attach(self, intake: Intake) -> None:
        """Subscribe the live fan-out to the intake (after each durable batch)."""
        if self.hub.on_items not in intake.subscribers:
            intake.subscribers.append(self.hub.on_items)

    def load(self) -> int:
        """Rebuild the book from the logged events (start-up; the recorder of a past call)."""
        with self.svc.db.read() as conn:
            rows = conn.execute(select(live_minimization).order_by(live_minimization.c.id)).mappings().all()
        for r in rows:
            self.book.apply(event_from({**r, "by": r["username"]}))
        return len(rows)

    # --- access: C2 (a grant), C5 (a purpose, every read audited) --------------------------

    def open(self, actor: Actor, case_id: str, purpose: str | None) -> None:
        try:
            with self.svc.db.write() as conn:
                check_case_access(conn, self.svc, actor, case_id, Level.DATA, purpose=purpose)
                self.svc.audit(conn, actor, "live.open", case_id=case_id, object_type="live", object_id=case_id, purpose=purpose)
        except CaleaError as exc:
            self._refused(actor, case_id, "live.open", case_id, exc, purpose)
            raise

    def recheck(self, actor: Actor, case_id: str, purpose: str | None) -> None:
        """The grant still holds (a revoked or ended grant ends live listening: C2, C3)."""
        with self.svc.db.read() as conn:
            check_case_access(conn, self.svc, actor, case_id, Level.DATA, purpose=purpose)

    def close(self, actor: Actor, case_id: str, purpose: str | None, stats: dict[str, int], reason: str = "") -> None:
        detail = ", ".join(f"{k} {v}" for k, v in stats.items()) + (f"; {reason}" if reason else "")
        with self.svc.db.write() as conn:
            self.svc.audit(conn, actor, "live.close", case_id=case_id, object_type="live", object_id=case_id,
                           purpose=purpose, detail=detail[:2000])

    # --- commands ------------------------------------------------------------------------

    def command(self, actor: Actor, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
        cmd = str(body.get("cmd") or "")
        liid, cin = str(body.get("liid") or ""), str(body.get("cin") or "")
        purpose = (actor.purpose or str(body.get("purpose") or "") or f"minimization: {cmd}")[:500]
        key: Key = (liid, cin)
        try:
            if cmd not in COMMANDS:
                raise InvalidInput(f"cmd is one of {', '.join(COMMANDS)}", field="cmd")
            with self.svc.db.read() as conn:
                check_case_access(conn, self.svc, actor, case_id, Level.DATA, purpose=purpose)
                intercept_id = conn.execute(select(intercepts.c.id).where(intercepts.c.liid == liid,
                                                                          intercepts.c.case_id == case_id)).scalar()
            if intercept_id is None:
                raise NotFound("no intercept of this case has that LIID")
            rule = self.rule_for(case_id)
            at, by, reason = self.svc.now(), actor.username, str(body.get("reason") or "")[:500]
            if cmd == "minimize":
                events = self.book.minimize(key, at, by, reason)
            elif cmd == "spot-check-start":
                events = self.book.start_spot_check(key, at, by, rule)
            elif cmd == "spot-check-stop":
                events = self.book.stop_spot_check(key, at, by)
            elif cmd == "pertinent":
                events = self.book.mark_pertinent(key, at, by, reason)
            else:
                events = self.book.flag_privileged(key, at, by, str(body.get("category") or ""), reason)
        except CaleaError as exc:
            self._refused(actor, case_id, f"live.{cmd or 'command'}", f"{liid}/{cin}", exc, purpose)
            raise
        try:
            self._record(case_id, intercept_id, events, actor, purpose)
        except Exception:
            if any(e.action in _OPENS_LISTENING for e in events):
                try:
                    self.book.minimize(key, self.svc.now(), "system", "the spot check could not be recorded")
                except CaleaError:
                    pass
            raise
        status = self.book.status(key, self.svc.now(), rule)
        self._announce(case_id, events, status.to_dict())
        return {"rule": RULE, "events": [e.body() for e in events], "status": status.to_dict()}

    def tick(self) -> list[MinimizationEvent]:
        """Record the spot checks that reached their limit (they already ended in the book)."""
        events = self.book.expire(self.svc.now())
        for ev in events:
            case_id, intercept_id = self._case_of(ev.key[0])
            if case_id is None:
                continue
            self._record(case_id, intercept_id, [ev], SYSTEM, "minimization: spot-check limit")
            self._announce(case_id, [ev], self.book.status(ev.key, self.svc.now(), self.rule_for(case_id)).to_dict())
        return events

    def status(self, case_id: str, key: Key) -> dict[str, Any]:
        return self.book.status(key, self.svc.now(), self.rule_for(case_id)).to_dict()

    def snapshot(self, case_id: str) -> dict[str, Any]:
        """Active calls of the case with their minimization state (the hello message)."""
        calls = self.hub.active_calls(case_id)
        for c in calls:
            c["minimization"] = self.status(case_id, (c["liid"], c["cin"]))
        return {"type": "hello", "case_id": case_id, "rule": self.rule_for(case_id).to_dict(), "calls": calls,
                "audio": {"rate": 8000, "channels": 1, "sample": "s16le", "header": "calea.sessions.live_media"}}

    # --- the spot-check rule of a case ----------------------------------------------------

    def rule_for(self, case_id: str) -> SpotCheckRule:
        with self.svc.db.read() as conn:
            r = conn.execute(select(live_rules).where(live_rules.c.case_id == case_id)).mappings().first()
        if r is None:
            return self.default_rule
        return SpotCheckRule(timedelta(seconds=r["max_listen_seconds"]), timedelta(seconds=r["min_gap_seconds"]),
                             bool(r["privileged_spot_checks"]))

    def set_rule(self, actor: Actor, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """A supervisor records the minimization terms of the warrant (A2); signed and audited."""
        require(actor.role, Perm.APPROVE)
        try:
            rule = SpotCheckRule(timedelta(seconds=int(body["max_listen_seconds"])),
                                 timedelta(seconds=int(body["min_gap_seconds"])), bool(body.get("privileged_spot_checks")))
        except (KeyError, TypeError, ValueError):
            raise InvalidInput("max_listen_seconds and min_gap_seconds are whole seconds", field="max_listen_seconds") from None
        note = str(body.get("note") or "")[:2000]
        now = self.svc.now()
        values = dict(max_listen_seconds=int(rule.max_listen.total_seconds()), min_gap_seconds=int(rule.min_gap.total_seconds()),
                      privileged_spot_checks=rule.privileged_spot_checks, set_by=actor.user_id, set_at=now, note=note)
        with self.svc.db.read() as conn:
            check_case_access(conn, self.svc, actor, case_id)
        with self._record_lock:
            self.writer.write_events([(case_id, "minimization-rule", None, {"rule": RULE, **rule.to_dict(), "by": actor.username,
                                                                            "note": note})])
            with self.svc.db.write() as conn:
                if not conn.execute(update(live_rules).where(live_rules.c.case_id == case_id).values(**values)).rowcount:
                    conn.execute(insert(live_rules).values(case_id=case_id, **values))
                self.svc.audit(conn, actor, "live.rule", case_id=case_id, object_type="live_rule", object_id=case_id,
                               detail=rule.describe())
        return rule.to_dict()

    # --- record --------------------------------------------------------------------------

    def _record(self, case_id: str, intercept_id: str | None, events: list[MinimizationEvent], actor: Actor,
                purpose: str) -> None:
        if not events:
            return
        with self._record_lock:
            leaves = self.writer.write_events([(case_id, e.kind, intercept_id, {**e.body(), "purpose": purpose})
                                               for e in events])
            with self.svc.db.write() as conn:
                for ev, leaf in zip(events, leaves):
                    system = ev.by == "system"
                    conn.execute(insert(live_minimization).values(
                        case_id=case_id, intercept_id=intercept_id, liid=ev.key[0], cin=ev.key[1], action=ev.action.value,
                        at=ev.at, until=ev.until, category=ev.category, reason=ev.reason or None,
                        user_id=None if system else (actor.user_id or None), username=ev.by, purpose=purpose, leaf_index=leaf))
                    who = SYSTEM if system else actor
                    self.svc.audit(conn, who, f"live.{ev.action.value}", case_id=case_id, object_type="communication",
                                   object_id=f"{ev.key[0]}/{ev.key[1]}"[:200], purpose=purpose,
                                   detail=f"rule {RULE}; signed log leaf {leaf}" + (f"; {ev.category}" if ev.category else ""))

    def _refused(self, actor: Actor, case_id: str, action: str, obj: str, exc: CaleaError, purpose: str | None) -> None:
        """C5: a refused live action is an audit event too."""
        detail = f"{exc.code}: {exc.message}" + (f" [rule {exc.rule}]" if exc.rule else "")
        try:
            with self.svc.db.write() as conn:
                self.svc.audit(conn, actor, action, outcome="refused", case_id=case_id, object_type="live", object_id=obj[:200],
                               purpose=purpose, detail=detail[:2000])
        except Exception:
            log.exception("AUDIT WRITE FAILED for a refused %s", action)

    def _announce(self, case_id: str, events: list[MinimizationEvent], status: dict[str, Any]) -> None:
        for ev in events:
            self.hub.broadcast(case_id, {"type": "minimization", **ev.body(), "status": status})

    def _case_of(self, liid: str) -> tuple[str | None, str | None]:
        with self.svc.db.read() as conn:
            row = conn.execute(select(intercepts.c.case_id, intercepts.c.id).where(intercepts.c.liid == liid)).first()
        return (row.case_id, row.id) if row else (None, None)
