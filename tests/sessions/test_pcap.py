"""pcap / pcapng writers (pure) and downloads from the store (rules A2, A6, A8, C2, C5)."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from calea.db.schema import audit_events
from calea.errors import AccessDenied, RuleViolation
from calea.intake.pipeline import Intake
from calea.services import traffic
from calea.sessions.pcap import CapturedPacket, write_pcap, write_pcapng
from calea.sim.ipflows import session_packets
from calea.sim.scenario import IpSession, Target
from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.sessions.traffic_helpers import (
    IP_TARGET, PURPOSE, WEB, demo_plan, feed, investigator, needs_tshark, tshark,
)

T = datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)


def _packets() -> list[CapturedPacket]:
    target = Target("IP-1", ip="198.51.100.77")
    sim = session_packets(IpSession("IP-1", 0.0), target, 0, 7)
    return [CapturedPacket(T + timedelta(seconds=p.at), p.packet, "IP-1", "42", i,
                           "fromTarget" if p.from_target else "toTarget") for i, p in enumerate(sim)]


def test_pcap_file_layout() -> None:
    packets = _packets()[:2]
    data = b"".join(write_pcap(packets))
    magic, major, minor, _, _, snaplen, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, 101)
    sec, usec, incl, orig = struct.unpack("<IIII", data[24:40])
    assert datetime.fromtimestamp(sec, timezone.utc) + timedelta(microseconds=usec) == packets[0].at  # A8 stamp
    assert incl == orig == len(packets[0].data) and data[40:40 + incl] == packets[0].data


def test_pcapng_blocks_are_aligned_and_named() -> None:
    data = b"".join(write_pcapng(_packets(), ["IP-1"]))
    pos, kinds = 0, []
    while pos < len(data):
        kind, length = struct.unpack("<II", data[pos:pos + 8])
        assert length % 4 == 0 and struct.unpack("<I", data[pos + length - 4:pos + length])[0] == length
        kinds.append(kind)
        pos += length
    assert kinds[:2] == [0x0A0D0D0A, 1] and kinds[2:] == [6] * len(_packets())
    assert b"IP-1" in data and b"LIID IP-1 CIN 42 seq 0 fromTarget" in data


@needs_tshark
def test_tshark_reads_pcap_and_pcapng(tmp_path: Path) -> None:
    packets = _packets()
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcapng"
    a.write_bytes(b"".join(write_pcap(packets)))
    b.write_bytes(b"".join(write_pcapng(packets)))
    assert len(tshark(a, "frame.number")) == len(packets)
    rows = [r.split("\t") for r in tshark(b, "frame.interface_name", "frame.comment", "frame.packet_flags_direction")]
    assert len(rows) == len(packets)
    assert {r[0] for r in rows} == {"IP-1"}
    assert rows[0][1] == "LIID IP-1 CIN 42 seq 0 fromTarget" and rows[0][2] in ("2", "0x2", "0x00000002")
    assert tshark(a, "dns.qry.name", display_filter="dns.flags.response == 0") == ["www.example.com", "mail.example.org"]
    assert tshark(a, "tls.handshake.extensions_server_name", display_filter="tls.handshake.type == 1") == ["mail.example.org"]


def _stored(setup: Setup, intake_cls: type[Intake] = Intake, kind: str = "eavesdropping") -> tuple[dict, object]:  # noqa: F811
    ip = setup.intercept("DEMO-IP-0001", IP_TARGET, kind=kind)
    setup.intercept("DEMO-WEB-0001", WEB, kind=kind)
    intake = intake_cls(setup.svc)
    plan = demo_plan(setup)
    try:
        feed(intake, plan)
    finally:
        intake.writer.close()
    return ip, plan


@needs_tshark
def test_pcap_download_of_one_intercept_and_time_range(setup: Setup, tmp_path: Path) -> None:  # noqa: F811
    ip, plan = _stored(setup)
    inv = investigator(setup, ip["case"]["id"], ip["authority"]["id"])
    mine = [r for r in plan.hi3 if getattr(r, "liid", "") == "DEMO-IP-0001" and r.kind == "cc"]
    dl = traffic.pcap(setup.svc, inv, ip["case"]["id"], purpose=PURPOSE, intercept_id=ip["intercept"]["id"],
                      fmt="pcapng")
    path = tmp_path / "ip.pcapng"
    path.write_bytes(b"".join(dl.chunks))
    stamps = [float(t) for t in tshark(path, "frame.time_epoch")]
    assert len(stamps) == len(mine) and stamps == sorted(stamps)
    assert abs(stamps[0] - (plan.start.timestamp() + mine[0].at)) < 1e-5  # the interception stamp (A8)
    assert set(tshark(path, "frame.interface_name")) == {"DEMO-IP-0001"}
    # a time range: the first DNS lookup and the HTTP exchange, not the TLS connection
    start = plan.start + timedelta(seconds=2)
    end = start + timedelta(seconds=2.05)
    dl = traffic.pcap(setup.svc, inv, ip["case"]["id"], purpose=PURPOSE, intercept_id=ip["intercept"]["id"],
                      start=start, end=end)
    part = tmp_path / "part.pcap"
    part.write_bytes(b"".join(dl.chunks))
    expected = [r for r in mine if start <= plan.start + timedelta(seconds=r.at) < end]
    assert 0 < len(tshark(part, "frame.number")) == len(expected) < len(mine)
    with setup.svc.db.read() as conn:
        audited = conn.execute(select(audit_events.c.purpose, audit_events.c.object_type)
                               .where(audit_events.c.action == "traffic.pcap")).all()
    assert audited == [(PURPOSE, "pcapng"), (PURPOSE, "pcap")]  # C5


def test_pcap_needs_a_grant_and_a_purpose(setup: Setup) -> None:  # noqa: F811
    ip, _ = _stored(setup)
    inv = investigator(setup, ip["case"]["id"], ip["authority"]["id"])
    with pytest.raises(AccessDenied) as exc:
        traffic.pcap(setup.svc, inv, ip["case"]["id"], purpose="  ")
    assert exc.value.rule == "C5"
    with pytest.raises(AccessDenied) as exc:  # taru manages the case but reads no content (C1, C2)
        list(traffic.pcap(setup.svc, setup.taru, ip["case"]["id"], purpose=PURPOSE).chunks)
    assert exc.value.rule == "C2"


def test_pcap_refused_under_prtt(setup: Setup) -> None:  # noqa: F811
    """A6: under a PRTT order no packet is kept, only header records: no pcap."""
    ip, _ = _stored(setup, kind="prtt")
    inv = investigator(setup, ip["case"]["id"], ip["authority"]["id"])
    with pytest.raises(RuleViolation) as exc:
        traffic.pcap(setup.svc, inv, ip["case"]["id"], purpose=PURPOSE, intercept_id=ip["intercept"]["id"])
    assert exc.value.rule == "A6"
