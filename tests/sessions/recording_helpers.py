"""Helpers of the recording tests: a simulated call fed through a real intake (synchronous
`Intake.process`, no sockets) into a `Recorder` subscribed to it."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from calea.handover.model import Channel
from calea.handover.pcesp_ccc import decode_ccc
from calea.intake.pipeline import Intake, Received
from calea.sessions.recording_store import Recorder
from calea.sim.build import build
from calea.sim.plan import Plan, Record
from calea.sim.scenario import scenario_from_dict

TARGET = {"liid": "REC-VOIP-0001", "sip_uri": "sip:+12125550100@example.net", "e164": "+12125550100"}
IDENTIFIERS = [{"kind": "sip_uri", "value": "sip:+12125550100@example.net"}, {"kind": "e164", "value": "+12125550100"}]


def call_plan(now: datetime, *, fmt: str = "etsi-102232", seed: int = 3, liid: str = TARGET["liid"], **call: Any) -> Plan:
    """One call of the target, starting one second into a scenario that began 10 minutes ago."""
    event = {"type": "call", "liid": liid, "at": 1.0, "direction": "in", "ring": 1.0, "duration": 4.0, **call}
    scenario = scenario_from_dict({"seed": seed, "targets": [{**TARGET, "liid": liid}], "events": [event],
                                   "carrier": {"keepalive_interval": 0}})
    return build(scenario, fmt, now=now - timedelta(minutes=10))


class Clock:
    """The recorder's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def feed(intake: Intake, plan: Plan, records: Sequence[tuple[str, Record]], *, batch: int = 40,
         before: Callable[[Record], None] | None = None) -> None:
    """Hand `records` (channel, record) to the intake in batches, received at their sim time."""
    pending: list[Received] = []
    for channel, r in records:
        if before is not None:
            before(r)
        at = plan.start + timedelta(seconds=r.at)
        delivery = None
        if plan.fmt == "pcesp" and channel == "hi3":  # a CCC datagram: its LIID is learnt from CCOpen
            if int.from_bytes(r.data[:4], "big") not in intake.ccc_map and pending:
                intake.process(pending)
                pending = []
            delivery = decode_ccc(r.data, intake.ccc_map, at)
        pending.append(Received(r.data, Channel(channel), _format(plan.fmt, channel), "sim", at, delivery))
        if len(pending) >= batch:
            intake.process(pending)
            pending = []
    if pending:
        intake.process(pending)


def _format(fmt: str, channel: str) -> str:
    if fmt == "pcesp":
        return "pcesp" if channel == "hi2" else "pcesp-ccc"
    return fmt


def timeline(plan: Plan) -> list[tuple[str, Record]]:
    return [(ch, s) for ch, s in plan.steps() if isinstance(s, Record) and s.kind != "keepalive"]


def lossy(records: list[tuple[str, Record]], *, loss: float, reorder: float, seed: int = 11) -> list[tuple[str, Record]]:
    """Drop `loss` of the RTP records and swap `reorder` of them with a neighbour up to 5 places on."""
    rng = random.Random(seed)
    out = [x for x in records if not (x[0] == "hi3" and x[1].label == "rtp" and rng.random() < loss)]
    cc = [i for i, x in enumerate(out) if x[0] == "hi3"]
    for n, i in enumerate(cc[:-6]):
        if rng.random() < reorder:
            j = cc[n + rng.randint(1, 5)]
            out[i], out[j] = out[j], out[i]
    return out


def recorder_for(svc: Any, intake: Intake, clock: Clock, **kw: Any) -> Recorder:
    rec = Recorder(svc, intake.writer, monotonic=clock, **kw)
    intake.subscribers.append(rec.on_items)
    return rec
