"""Runs the intake inside the service: the pipeline thread and one listener per configured
carrier port, reconciled with the carriers table every few seconds (a carrier added through
the API starts listening without a restart)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select

from calea.db.schema import carriers
from calea.handover.model import Channel
from calea.intake.listener import ListenerSpec, Registry, start_listeners
from calea.intake.pipeline import Intake
from calea.intake.tls import server_context
from calea.services.context import Services

log = logging.getLogger("calea.intake")


def specs_for(row: Any, host: str, tls_dir: Path | None) -> list[ListenerSpec]:
    """HI2/HI3 ports of one carrier; PacketCable: CDC over TCP on the HI2 port, CCC over UDP
    on the HI3 port."""
    fmt = (row["formats"] or ["etsi-102232"])[0]
    ctx = server_context(tls_dir, row["tls_client_cert"]) if tls_dir is not None else None
    allowed = tuple(row["addresses"] or ())
    out = []
    if row["hi2_port"]:
        out.append(ListenerSpec(row["name"], fmt, Channel.HI2, host, int(row["hi2_port"]), ctx, allowed))
    if row["hi3_port"]:
        hi3_fmt = "pcesp-ccc" if fmt == "pcesp" else fmt
        out.append(ListenerSpec(row["name"], hi3_fmt, Channel.HI3, host, int(row["hi3_port"]),
                                None if hi3_fmt == "pcesp-ccc" else ctx, allowed))
    return out


class IntakeManager:
    def __init__(self, svc: Services, *, host: str = "0.0.0.0", tls_dir: Path | None = None,
                 reconcile_seconds: float = 3.0) -> None:
        self.svc = svc
        self.host = host
        self.tls_dir = tls_dir
        self.reconcile_seconds = reconcile_seconds
        self.intake = Intake(svc)
        from calea.services.traffic_index import TrafficIndexer

        self.indexer = TrafficIndexer(svc)  # flows, visitors and message threads, kept current
        self.intake.subscribers.append(self.indexer.notify)
        self.registry = Registry()
        self.listening: dict[tuple[str, int], Any] = {}
        self.specs: dict[tuple[str, int], ListenerSpec] = {}
        self.errors: dict[str, str] = {}
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
                capacity = self.svc.settings.store_capacity
                if capacity is not None:
                    from calea.store.retention import enforce_capacity

                    await asyncio.to_thread(enforce_capacity, self.svc, self.intake.writer, capacity)
            except Exception:
                log.exception("intake housekeeping failed")

    async def reconcile(self) -> None:
        with self.svc.db.read() as conn:
            rows = conn.execute(select(carriers)).mappings().all()
        for row in rows:
            for spec in specs_for(row, self.host, self.tls_dir):
                key = (spec.carrier, spec.port)
                if key in self.listening:
                    continue
                self.specs[key] = spec
                try:
                    servers, _ = await start_listeners(self.intake, [spec], self.registry)
                except OSError as exc:
                    self.errors[f"{spec.carrier}:{spec.port}"] = str(exc)
                    log.error("cannot listen for %s on %s:%s: %s", spec.carrier, spec.host, spec.port, exc)
                    self.listening[key] = None
                    continue
                self.listening[key] = servers
                log.info("listening for %s (%s %s) on %s:%s%s", spec.carrier, spec.format, spec.channel.value,
                         spec.host, spec.port, " with TLS" if spec.ssl else "")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.registry.close_all([s for servers in self.listening.values() for s in servers or []])
        await asyncio.to_thread(self.intake.stop)
        self.indexer.stop()

    def state(self) -> dict[str, Any]:
        return {
            "counters": self.intake.stats.counters.to_dict(),
            "listeners": [{"carrier": c, "port": p, "channel": self.specs[c, p].channel.value, "format": self.specs[c, p].format,
                           "tls": self.specs[c, p].ssl is not None, "ok": v is not None}
                          for (c, p), v in self.listening.items()],
            "errors": self.errors,
            "connections": [c.to_dict() for c in self.registry.connections.values()],
            "queue": self.intake.queued(),
        }

