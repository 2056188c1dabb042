"""Intake fixtures: an active intercept set up through the services, and a running intake
with real listeners on loopback sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from calea.domain.access import Role
from calea.handover.model import Channel
from calea.intake.listener import ListenerSpec, Registry, start_listeners
from calea.intake.manager import IntakeManager
from calea.intake.pipeline import Intake
from calea.services import authorities, carriers, cases, intercepts, users
from calea.services.context import Actor

from tests.conftest import OPENLI as VECTORS  # noqa: E402, F401  (the OpenLI vectors, for this directory's tests)
PDF = b"%PDF-1.4\n%calea test order\n%%EOF\n"


def iso(dt: datetime) -> str:
    return dt.isoformat()


@dataclass
class Setup:
    svc: Any
    clock: Any
    taru: Actor
    carrier_id: str
    n: int = 0

    def intercept(self, liid: str, identifiers: list[dict[str, str]], *, kind: str = "eavesdropping",
                  start: datetime | None = None, days: int = 30) -> dict[str, Any]:
        """A case, an authority with its document, supervisor approval and an active intercept."""
        self.n += 1
        start = start or self.clock.now() - timedelta(hours=1)
        saved = self.clock.now()
        self.clock.set(start + timedelta(minutes=1))
        case = cases.open_case(self.svc, self.taru, complaint_number=f"2026-IN{self.n:04d}", title=f"Intake {liid}",
                               unit="Narcotics Division")
        doc = cases.upload_document(self.svc, self.taru, case["id"], filename="order.pdf", data=PDF)
        auth = authorities.record_authority(self.svc, self.taru, case["id"], {
            "kind": kind, "court_level": "state", "court": "Supreme Court", "judge": "Hon. J", "docket": f"D-{self.n}",
            "offenses": ["PL 220.43"], "issued_at": iso(start), "effective_at": iso(start),
            "expires_at": iso(start + timedelta(days=days)), "identifiers": identifiers, "document_id": doc["id"]})
        sup = users.create_user(self.svc, None, username=f"sup{self.n}", password="Correct-Horse-42", role="supervisor",
                                unit="Narcotics Division")
        sup_actor = Actor(sup["id"], sup["username"], Role.SUPERVISOR, "Narcotics Division")
        cases.approve_case(self.svc, sup_actor, case["id"], reasons="Approved for the test intake.")
        icpt = intercepts.create_intercept(self.svc, self.taru, case["id"], {"carrier_id": self.carrier_id, "liid": liid,
                                                                            "identifiers": identifiers})
        intercepts.activate(self.svc, self.taru, icpt["id"])
        self.clock.set(saved)
        return {"case": case, "authority": auth, "intercept": icpt}


@pytest.fixture
def setup(svc, clock) -> Setup:  # type: ignore[no-untyped-def]
    u = users.create_user(svc, None, username="taru.intake", password="Correct-Horse-42", role="taru", unit="TARU")
    taru = Actor(u["id"], u["username"], Role.TARU, "TARU")
    carrier = carriers.create_carrier(svc, taru, {"name": "ExampleTel", "formats": ["etsi-102232"]})
    return Setup(svc, clock, taru, carrier["id"])


class RunningIntake:
    """An intake with HI2/HI3 listeners in a background event loop on free loopback ports."""

    def __init__(self, intake: Intake, formats: dict[str, tuple[str, Channel]]) -> None:
        self.intake = intake
        self.loop = asyncio.new_event_loop()
        self.ports: dict[str, int] = {}
        self.registry = Registry()
        specs = []
        for name, (fmt, channel) in formats.items():
            port = free_port()
            self.ports[name] = port
            specs.append(ListenerSpec("ExampleTel", fmt, channel, "127.0.0.1", port))
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        fut = asyncio.run_coroutine_threadsafe(start_listeners(intake, specs, self.registry), self.loop)
        self.servers, _ = fut.result(timeout=10)
        intake.start()

    def settle(self, connections: int, timeout: float = 30.0) -> None:
        """Until `connections` connections have closed and everything they carried is stored."""
        import time

        deadline = time.monotonic() + timeout
        while sum(c.closed_at is not None for c in list(self.registry.connections.values())) < connections:
            assert time.monotonic() < deadline, "connections still open"
            time.sleep(0.01)
        assert self.intake.wait_idle(max(deadline - time.monotonic(), 0.1))

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.registry.close_all(self.servers), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
        self.intake.stop()


class Served:
    """The service's IntakeManager (listeners from the carriers table) in a background event
    loop, as `calea serve` runs it."""

    def __init__(self, manager: IntakeManager) -> None:
        self.manager = manager
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(manager.start())

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=20)

    def close(self) -> None:
        self.call(self.manager.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def running(svc) -> Iterator[RunningIntake]:  # type: ignore[no-untyped-def]
    r = RunningIntake(Intake(svc, max_delay=0.01), {"hi2": ("etsi-102232", Channel.HI2), "hi3": ("etsi-102232", Channel.HI3)})
    yield r
    r.close()
