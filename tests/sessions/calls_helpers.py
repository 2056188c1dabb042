"""Helpers of the call tests: simulated calls decoded (pure) or delivered into a real intake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from calea.handover.etsi102232 import read_header
from calea.handover.model import Channel, ContentKind, RecordKind
from calea.handover.pcesp_ccc import decode_ccc
from calea.handover.registry import FORMATS
from calea.intake.pipeline import Intake, Received
from calea.sessions.call_media import DigitCollector, media_context
from calea.sessions.calls import IndexRecord, MediaDigit, TargetIdentity, build_draft
from calea.sessions.calls_store import subscribe
from calea.sessions.recording_cc import cc_media
from calea.sim.build import build
from calea.sim.plan import Plan, Record
from calea.sim.scenario import scenario_from_dict

LIID = "CALLS-0001"
TARGET_NUMBER = "+12125550100"
PEER = "+12125550199"
VOIP = [{"kind": "sip_uri", "value": "sip:+12125550100@example.net"}, {"kind": "e164", "value": TARGET_NUMBER}]
TARGET = TargetIdentity.of(VOIP)
START = datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)
INTAKE_FORMAT = {"etsi-102232": "etsi-102232", "ts101671-hi2": "ts101671-hi2", "pcesp": "pcesp"}


def call_event(at: float, direction: str = "in", outcome: str = "answered", **kw: Any) -> dict[str, Any]:
    return {"type": "call", "liid": LIID, "at": at, "direction": direction, "peer": PEER, "outcome": outcome, **kw}


def plan(fmt: str, calls: list[dict[str, Any]], start: datetime | None = START) -> Plan:
    scn = scenario_from_dict({"start": start.isoformat() if start else "now", "seed": 3, "targets": [
        {"liid": LIID, "sip_uri": "sip:+12125550100@example.net", "e164": TARGET_NUMBER, "imsi": "310410123456789"}],
        "events": calls})
    return build(scn, fmt)


def hi2_records(p: Plan) -> list[Record]:
    return [r for r in p.hi2 if isinstance(r, Record) and r.kind != "keepalive"]


def decode(data: bytes, fmt: str, *, prtt: bool = False, leaf: int = 0) -> list[IndexRecord]:
    """What the store would index for one record: fields, and digits kept as content --
    none under a PRTT order, where the record only counts as suppressed (A6)."""
    out = []
    for d in FORMATS[INTAKE_FORMAT.get(fmt, fmt)].decode(data, Channel.HI2):
        if d.kind is not RecordKind.IRI:
            continue
        digits = "".join(p.data.decode() for p in d.content if p.kind is ContentKind.POST_CUT_THROUGH_DIGITS) or None
        suppressed = len({p.kind for p in d.content}) if prtt else 0
        out.append(IndexRecord(d.liid, d.cin, d.format, d.intercepted_at, dict(d.fields), leaf + len(out),  # type: ignore[arg-type]
                               digits=None if prtt else digits, suppressed=suppressed))
    return out


def index_records(fmt: str, calls: list[dict[str, Any]], *, prtt: bool = False) -> list[IndexRecord]:
    out: list[IndexRecord] = []
    for r in hi2_records(plan(fmt, calls)):
        out += decode(r.data, fmt, prtt=prtt, leaf=len(out))
    return out


def cc_records(p: Plan) -> list[Record]:
    return [r for r in p.hi3 if isinstance(r, Record) and r.kind != "keepalive"]


def media_of(p: Plan, records: list[IndexRecord], target: TargetIdentity = TARGET,
             first_leaf: int = 10_000) -> dict[tuple[str, str], list[MediaDigit]]:
    """RFC 4733 digits of each call's content stream (LIID, CIN), found as the store finds
    them (pure): TS 102 232 records at their PSHeader stamp, PacketCable datagrams at their
    (simulated) receipt time; leaves numbered from `first_leaf`."""
    fmt = "pcesp-ccc" if p.fmt == "pcesp" else p.fmt
    packets: dict[str, list[tuple[Any, ...]]] = {}
    for i, r in enumerate(cc_records(p)):
        found = cc_media(fmt, r.data)
        if found is None:
            continue
        at = p.start + timedelta(seconds=r.at) if fmt == "pcesp-ccc" else read_header(r.data).timestamp
        packets.setdefault(str(r.cin), []).append((found[0], at, first_leaf + i, found[1]))
    groups: dict[tuple[str, str | None], list[IndexRecord]] = {}
    for rec in records:
        groups.setdefault((rec.liid, rec.cin), []).append(rec)
    out: dict[tuple[str, str], list[MediaDigit]] = {}
    for (liid, _), recs in groups.items():
        draft = build_draft(recs)
        if draft is None:
            continue
        collector = DigitCollector(media_context(recs, target))
        for cc in draft.cc_cins:
            for packet, at, leaf, label in packets.get(cc, ()):
                collector.feed(packet, at, cin=cc, leaf=leaf, label=label)
        for digit in collector.digits():
            out.setdefault((liid, digit.cin), []).append(digit)
    return out


@dataclass
class Delivered:
    ctx: dict[str, Any]
    intake: Intake
    plan: Plan

    @property
    def case_id(self) -> str:
        return str(self.ctx["case"]["id"])


def deliver(setup: Any, fmt: str, calls: list[dict[str, Any]], *, kind: str = "eavesdropping",
            batches: int = 2, background: bool = False, cc: bool = False) -> Delivered:
    """An intercept under an authority of `kind`, an intake with the calls subscriber, and
    the simulated HI2 records processed in `batches` durable batches (a call spans them).
    With `cc`, the call content (HI3: TS 102 232-5 RTP, PacketCable CCC datagrams) too, in
    timeline order, each record received at its simulated time."""
    ctx = setup.intercept(LIID, VOIP, kind=kind)
    intake = Intake(setup.svc)
    sub = subscribe(intake, background=background)
    now = setup.clock.now()
    p = plan(fmt, calls, start=now - timedelta(minutes=5))
    if cc:
        _feed_timeline(intake, p, batches)
    else:
        recs = [Received(r.data, Channel.HI2, INTAKE_FORMAT[fmt], "sim", now) for r in hi2_records(p)]
        size = max(1, -(-len(recs) // batches))
        for i in range(0, len(recs), size):
            intake.process(recs[i:i + size])
    assert sub.flush() and sub.failures == 0
    sub.close()
    intake.writer.close()
    return Delivered(ctx, intake, p)


def _feed_timeline(intake: Intake, p: Plan, batches: int) -> None:
    steps = [(ch, r) for ch, r in p.steps() if isinstance(r, Record) and r.kind != "keepalive"]
    size = max(1, -(-len(steps) // batches))
    pending: list[Received] = []
    for i, (channel, r) in enumerate(steps):
        at = p.start + timedelta(seconds=r.at)
        delivery, fmt = None, INTAKE_FORMAT[p.fmt]
        if channel == "hi3" and p.fmt == "pcesp":  # a CCC datagram: its LIID comes from the CCOpen
            if int.from_bytes(r.data[:4], "big") not in intake.ccc_map and pending:
                intake.process(pending)
                pending = []
            delivery, fmt = decode_ccc(r.data, intake.ccc_map, at), "pcesp-ccc"
        pending.append(Received(r.data, Channel(channel), fmt, "sim", at, delivery))
        if (i + 1) % size == 0:
            intake.process(pending)
            pending = []
    if pending:
        intake.process(pending)
