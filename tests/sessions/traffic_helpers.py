"""Helpers of the IP traffic and message tests: feed a simulator plan to the intake
synchronously, the intake with the proposed PRTT header change, tshark, grants."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from calea.domain.access import Role
from calea.handover.model import Channel, Delivery
from calea.intake.pipeline import Intake, Received
from calea.services import grants, users
from calea.services.context import Actor
from calea.sim.build import build
from calea.sim.plan import Plan, Record
from calea.sim.scenario import load_demo_scenario

VOIP = [{"kind": "sip_uri", "value": "sip:+12125550100@example.net"}, {"kind": "e164", "value": "+12125550100"}]
IP_TARGET = [{"kind": "ip", "value": "198.51.100.77"}]
WEB = [{"kind": "url", "value": "http://203.0.113.80/"}]
WEB_CLIENTS = ["192.0.2.11", "192.0.2.57", "198.51.100.140"]  # demo.toml, web_visits
PURPOSE = "Review of intercepted traffic for the test case."

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (Debian package `tshark`)")


def demo_plan(setup: Any, fmt: str = "etsi-102232") -> Plan:
    return build(load_demo_scenario(), fmt, now=setup.clock.now() - timedelta(minutes=5))


def feed(intake: Intake, plan: Plan, *, batch: int = 500) -> None:
    """Every record of the plan once (no reconnects), through `Intake.process`."""
    now = intake.svc.now()
    recs = [r for r in list(plan.hi2) + list(plan.hi3) if isinstance(r, Record) and r.kind != "keepalive"]
    received = [Received(r.data, Channel.HI2 if r.channel == "hi2" else Channel.HI3, plan.fmt, "sim", now) for r in recs]
    for i in range(0, len(received), batch):
        intake.process(received[i:i + batch])


def feed_deliveries(intake: Intake, deliveries: list[Delivery]) -> None:
    now = intake.svc.now()
    intake.process([Received(d.raw, d.channel, d.format, "sim", now, delivery=d) for d in deliveries])


def investigator(setup: Any, case_id: str, authority_id: str) -> Actor:
    """An investigator with an active grant on the case (C2)."""
    setup.n += 1
    u = users.create_user(setup.svc, None, username=f"inv{setup.n}", password="Correct-Horse-42", role="investigator",
                          unit="Narcotics Division")
    grants.create_grant(setup.svc, setup.taru, case_id, {"user_id": u["id"], "authority_id": authority_id,
                                                          "purpose": "Investigation of the test case."})
    return Actor(u["id"], u["username"], Role.INVESTIGATOR, "Narcotics Division")


def tshark(path: Path, *fields: str, display_filter: str | None = None) -> list[str]:
    args = [str(TSHARK), "-r", str(path), "-T", "fields"] + [a for f in fields for a in ("-e", f)]
    if display_filter:
        args += ["-Y", display_filter]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.strip()]
