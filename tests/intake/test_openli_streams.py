"""The OpenLI-written streams over real sockets: split anywhere, keep-alives answered,
stored byte-exact under the gate, and the Merkle log verifies (rules A2, A6, A7, A8, D1)."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timezone

from sqlalchemy import func, select

from calea.db.schema import cc_chunks, content_items, iri_records, refusals, store_events
from calea.store.verify import verify_store
from tests.intake.conftest import VECTORS, RunningIntake, Setup

CALL_DAY = datetime(2025, 6, 2, 13, 0, tzinfo=timezone.utc)
TARGET_SIP = [{"kind": "sip_uri", "value": "sip:+12125550100@example.net"}]


def send(port: int, data: bytes, chunk: int, expect_reply: int = 0) -> bytes:
    """Send in pieces of `chunk` bytes (records straddle reads) and collect the replies."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for i in range(0, len(data), chunk):
            s.sendall(data[i:i + chunk])
        reply = b""
        deadline = time.monotonic() + 10
        while len(reply) < expect_reply and time.monotonic() < deadline:
            s.settimeout(max(deadline - time.monotonic(), 0.01))
            got = s.recv(65536)
            if not got:
                break
            reply += got
        return reply


def test_openli_vectors_stored_under_a_warrant(setup: Setup, running: RunningIntake) -> None:
    setup.clock.set(datetime(2025, 6, 2, 14, 5, tzinfo=timezone.utc))
    voip = setup.intercept("NYPD-VOIP-0001", TARGET_SIP, start=CALL_DAY)
    running.intake.refresh_snapshot()
    hi2 = (VECTORS / "hi2-NYPD.ber").read_bytes()
    hi3 = (VECTORS / "hi3-NYPD.ber").read_bytes()
    ka2 = (VECTORS / "hi2-NYPD.ka-responses.ber").read_bytes()
    ka3 = (VECTORS / "hi3-NYPD.ka-responses.ber").read_bytes()
    assert send(running.ports["hi2"], hi2, 7, expect_reply=len(ka2)) == ka2  # keep-alives answered, same seq
    assert send(running.ports["hi3"], hi3, 1000, expect_reply=len(ka3)) == ka3
    running.settle(2)
    c = running.intake.stats.counters
    with setup.svc.db.read() as conn:
        iri = conn.execute(select(func.count()).select_from(iri_records).where(iri_records.c.liid == "NYPD-VOIP-0001")).scalar()
        cc = conn.execute(select(func.sum(cc_chunks.c.count)).where(cc_chunks.c.liid == "NYPD-VOIP-0001")).scalar()
        refused = conn.execute(select(refusals.c.liid, refusals.c.rule)).all()
        msg = conn.execute(select(content_items.c.sha256, content_items.c.kind)).all()
    assert iri == 23 and cc == 700  # every VoIP IRI and every RTP CC record
    # NYPD-IP-0001 has no intercept here: refused and alerted (A7), metadata only
    assert {r.liid for r in refused} == {"NYPD-IP-0001"} and {r.rule for r in refused} == {"A7"}
    assert len(refused) == 6 + 28
    assert [m.kind for m in msg] == ["message-body"]  # the SIP MESSAGE text, kept under a warrant
    assert c.malformed == 0 and c.duplicates == 0
    report = verify_store(setup.svc)
    assert report.ok, report.problems
    assert report.leaves[voip["case"]["id"]] == 23 + 700 + 1


def test_same_stream_whole_and_byte_at_a_time_store_the_same(setup: Setup, running: RunningIntake) -> None:
    setup.clock.set(datetime(2025, 6, 2, 14, 5, tzinfo=timezone.utc))
    setup.intercept("NYPD-VOIP-0001", TARGET_SIP, start=CALL_DAY)
    running.intake.refresh_snapshot()
    hi2 = (VECTORS / "hi2-NYPD.ber").read_bytes()
    ka = len((VECTORS / "hi2-NYPD.ka-responses.ber").read_bytes())
    # a carrier reads its keep-alive responses (closing with unread data would reset the connection)
    send(running.ports["hi2"], hi2, 1, expect_reply=ka)
    send(running.ports["hi2"], hi2, len(hi2), expect_reply=ka)  # the carrier resends everything after a reconnect
    running.settle(2)
    with setup.svc.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(iri_records)).scalar() == 23  # no duplicates
    assert running.intake.stats.counters.duplicates == 23 + 6, [c.to_dict() for c in running.registry.connections.values()]  # the refused IP records are sequence-tracked too


def test_prtt_suppresses_content(setup: Setup, running: RunningIntake) -> None:
    """A6: under a PRTT order no RTP, no message body, no raw SIP MESSAGE is stored."""
    setup.clock.set(datetime(2025, 6, 2, 14, 5, tzinfo=timezone.utc))
    setup.intercept("NYPD-VOIP-0001", TARGET_SIP, kind="prtt", start=CALL_DAY, days=60)
    running.intake.refresh_snapshot()
    send(running.ports["hi2"], (VECTORS / "hi2-NYPD.ber").read_bytes(), 4096, expect_reply=len((VECTORS / "hi2-NYPD.ka-responses.ber").read_bytes()))
    send(running.ports["hi3"], (VECTORS / "hi3-NYPD.ber").read_bytes(), 4096, expect_reply=len((VECTORS / "hi3-NYPD.ka-responses.ber").read_bytes()))
    running.settle(2)
    with setup.svc.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(cc_chunks)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(content_items)).scalar() == 0
        rows = conn.execute(select(iri_records.c.raw_sha256, iri_records.c.suppressed, iri_records.c.rule)).all()
        events = conn.execute(select(store_events.c.body).where(store_events.c.kind == "suppression")).scalars().all()
    assert len(rows) == 23
    suppressed = [r for r in rows if r.suppressed]
    assert len(suppressed) == 1 and suppressed[0].raw_sha256 is None and suppressed[0].rule == "A6"  # the MESSAGE
    counted = {}
    for body in events:
        counted[body["content_kind"]] = counted.get(body["content_kind"], 0) + body["count"]
    assert counted == {"audio": 700, "message-body": 1}
    body = b"Meet me at the usual place at 5pm."
    for path in setup.svc.settings.home.parent.rglob("*"):
        if path.is_file():
            assert body not in path.read_bytes(), path
    assert verify_store(setup.svc).ok
