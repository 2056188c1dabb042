"""Runs the intake inside the service: the pipeline thread and one listener per configured
carrier port, reconciled with the carriers table every few seconds (a carrier added through
the API starts listening without a restart)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import func, select

from calea.db.schema import carriers, intercepts
from calea.handover.model import Channel
from calea.intake.listener import ListenerSpec, Registry, record_alert, start_listeners
from calea.intake.pipeline import Intake
from calea.intake.tls import ServerContexts
from calea.services.context import Services

log = logging.getLogger("calea.intake")


def specs_for(row: Any, host: str, contexts: ServerContexts | None) -> list[ListenerSpec]:
    """HI2/HI3 ports of one carrier (TLS when `contexts` is given); PacketCable: CDC over TCP
    on the HI2 port, CCC over UDP on the HI3 port."""
    fmt = (row["formats"] or ["etsi-102232"])[0]
    ctx = contexts.get(row["tls_client_cert"]) if contexts is not None else None
    allowed = tuple(row["addresses"] or ())
    out = []
    if row["hi2_port"]:
        out.append(ListenerSpec(row["name"], fmt, Channel.HI2, host, int(row["hi2_port"]), ctx, allowed))
    if row["hi3_port"]:
        hi3_fmt = "pcesp-ccc" if fmt == "pcesp" else fmt
        out.append(ListenerSpec(row["name"], hi3_fmt, Channel.HI3, host, int(row["hi3_port"]),
                                None if hi3_fmt == "pcesp-ccc" else ctx, allowed))
    return out


class Listening(NamedTuple):
    """A carrier port the intake listens on, or tries to: the spec, the terms it was started
    with (a change of them restarts it) and its servers (None: the port could not be opened)."""
    spec: ListenerSpec
    terms: tuple[Any, ...]
    servers: list[Any] | None


def terms(spec: ListenerSpec, row: Any) -> tuple[Any, ...]:
    """What a listener was started with: a change to any of it restarts the listener."""
    return (spec.format, spec.channel, spec.allowed, row["tls_fingerprint"] if spec.ssl is not None else None,
            spec.ssl is not None)


class IntakeManager:
    def __init__(self, svc: Services, *, host: str = "0.0.0.0", tls_dir: Path | None = None,
                 reconcile_seconds: float = 3.0) -> None:
        self.svc = svc
        self.host = host
        self.tls_dir = tls_dir
        self.contexts = ServerContexts(tls_dir) if tls_dir is not None else None
        self.reconcile_seconds = reconcile_seconds
        self.intake = Intake(svc)
        from calea.services.traffic_index import TrafficIndexer

        self.indexer = TrafficIndexer(svc)  # flows, visitors and message threads, kept current
        self.intake.subscribers.append(self.indexer.notify)
        self.registry = Registry()
        self.listening: dict[tuple[str, int, str], Listening] = {}  # by (carrier, port, channel)
        self.errors: dict[str, str] = {}
        self.started_at = svc.now()
        self.silent: dict[str, datetime] = {}  # carriers alerted as silent, and since when
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.intake.start()
        self.indexer.start()
        await self.reconcile()
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.reconcile_seconds)
            try:
                await self.reconcile()
                await asyncio.to_thread(self.check_silence)
                capacity = self.svc.settings.store_capacity
                if capacity is not None:
                    from calea.store.retention import enforce_capacity

                    await asyncio.to_thread(enforce_capacity, self.svc, self.intake.writer, capacity)
            except Exception:
                log.exception("intake housekeeping failed")

    async def reconcile(self) -> None:
        """Make the listeners what the carriers table says: a listener whose carrier is gone,
        whose port was cleared or whose terms changed (format, addresses, client certificate)
        is stopped with the connections it accepted (the carrier reconnects under the new
        terms and resends: duplicates are suppressed); a new or changed one is started; one
        that could not listen (the port was taken) is tried again."""
        with self.svc.db.read() as conn:
            rows = conn.execute(select(carriers)).mappings().all()
        wanted: dict[tuple[str, int, str], tuple[ListenerSpec, tuple[Any, ...]]] = {}
        for row in rows:
            for spec in specs_for(row, self.host, self.contexts):
                wanted[(spec.carrier, spec.port, spec.channel.value)] = (spec, terms(spec, row))
        for key, entry in list(self.listening.items()):
            if key not in wanted or entry.terms != wanted[key][1]:
                self._stop_listener(key, "carrier configuration changed" if key in wanted else "carrier no longer on this port")
        for key, (spec, agreed) in wanted.items():
            if key in self.listening and self.listening[key].servers is not None:
                continue
            where = f"{spec.carrier}:{spec.port}"
            try:
                servers, _ = await start_listeners(self.intake, [spec], self.registry)
            except OSError as exc:
                if self.errors.get(where) != str(exc):  # (once, then tried every round)
                    log.error("cannot listen for %s on %s:%s: %s", spec.carrier, spec.host, spec.port, exc)
                    await asyncio.to_thread(  # the carrier's deliveries have nowhere to go
                        record_alert, self.svc, "intake.listener",
                        f"cannot listen for {spec.carrier} ({spec.channel.value}) on port {spec.port}: {exc}",
                        {"carrier": spec.carrier, "port": spec.port, "channel": spec.channel.value})
                self.errors[where] = str(exc)
                self.listening[key] = Listening(spec, agreed, None)
                continue
            self.errors.pop(where, None)
            self.listening[key] = Listening(spec, agreed, servers)
            log.info("listening for %s (%s %s) on %s:%s%s", spec.carrier, spec.format, spec.channel.value,
                     spec.host, spec.port, " with TLS" if spec.ssl else "")

    def check_silence(self) -> list[str]:
        """Alert (once, until it is heard again) when a carrier with active intercepts has
        carried nothing, not even a keep-alive, for `carrier_silence`: a link that is down
        is deliveries the carrier may not keep.  Returns the carriers alerted now."""
        limit = self.svc.settings.carrier_silence
        if not limit:
            return []
        now = self.svc.now()
        with self.svc.db.read() as conn:
            active = dict(conn.execute(
                select(carriers.c.name, func.count(intercepts.c.id)).join(intercepts, intercepts.c.carrier_id == carriers.c.id)
                .where(intercepts.c.activated_at.is_not(None), intercepts.c.deactivated_at.is_(None),
                       intercepts.c.quarantined_at.is_(None))
                .group_by(carriers.c.name)).all())
        heard: dict[str, datetime] = {}
        for c in list(self.registry.connections.values()):
            last = max(t for t in (c.opened_at, c.last_at, c.closed_at) if t is not None)
            heard[c.carrier] = max(heard.get(c.carrier, last), last)
        listened = {key[0] for key, entry in list(self.listening.items()) if entry.servers is not None}
        alerted = []
        for carrier, count in sorted(active.items()):
            last = heard.get(carrier, self.started_at)
            if carrier in self.silent and last > self.silent[carrier]:
                del self.silent[carrier]  # heard again
            if carrier not in listened or carrier in self.silent or now - last < limit:
                continue
            self.silent[carrier] = now
            minutes = int((now - last).total_seconds() // 60)
            record_alert(self.svc, "intake.silent", f"nothing from {carrier} for {minutes} minutes (not even a keep-alive) "
                         f"while {count} of its intercepts are active", {"carrier": carrier, "since": last.isoformat()},
                         severity="warning")
            log.warning("carrier %s silent since %s with %d active intercepts", carrier, last.isoformat(), count)
            alerted.append(carrier)
        return alerted

    def _stop_listener(self, key: tuple[str, int, str], reason: str) -> None:
        gone = self.listening.pop(key)
        self.errors.pop(f"{key[0]}:{key[1]}", None)
        for server in gone.servers or []:
            server.close()
        closed = self.registry.close_for(key[0], key[1], reason)
        log.info("stopped listening for %s on port %s %s (%s; %d connection(s) closed)", key[0], key[1], key[2], reason, closed)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.registry.close_all([s for entry in self.listening.values() for s in entry.servers or []])
        await asyncio.to_thread(self.intake.stop)
        self.indexer.stop()

    def state(self) -> dict[str, Any]:
        """(Read from the web's threads while the event loop changes what it reads: copies.)"""
        listeners = [{"carrier": key[0], "port": key[1], "channel": key[2], "format": entry.spec.format,
                      "tls": entry.spec.ssl is not None, "ok": entry.servers is not None}
                     for key, entry in list(self.listening.items())]
        return {
            "counters": self.intake.stats.counters.to_dict(),
            "listeners": listeners,
            "errors": dict(self.errors),
            "connections": [c.to_dict() for c in list(self.registry.connections.values())],
            "queue": self.intake.queued(),
        }

