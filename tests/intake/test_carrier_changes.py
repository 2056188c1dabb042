"""A carrier changed while the intake runs: the listeners follow the carriers table. A
listener whose terms changed (addresses, format, certificate, port) is restarted and the
connections it accepted are closed (the carrier reconnects under the new terms and resends;
duplicates are suppressed); a carrier without ports is not listened for; a port that was
taken is tried again. Changes are checked and audited (C5) and only the technical unit
makes them (C1)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from calea.db.schema import alerts, audit_events
from calea.intake.listener import CLOSED_KEPT, ConnectionInfo, Registry
from calea.intake.manager import IntakeManager
from calea.services import carriers, users
from calea.web.app import create_app
from tests.intake.conftest import Served, Setup, free_port
from tests.intake.test_intake_behaviour import PHONE, T, iri
from tests.intake.test_intake_page import PASSWORD


@pytest.fixture
def manager(setup: Setup) -> Iterator[Served]:
    s = Served(IntakeManager(setup.svc, host="127.0.0.1", reconcile_seconds=3600))  # reconciled by hand below
    yield s
    s.close()


def listeners(s: Served) -> list[tuple[str, int, bool]]:
    return sorted((entry["channel"], entry["port"], entry["ok"]) for entry in s.manager.state()["listeners"])


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server ends the connection (EOF or reset) within 10 s."""
    sock.settimeout(10)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def wait_for(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_listeners_follow_the_carriers_table(setup: Setup, manager: Served) -> None:
    setup.clock.set(T)
    setup.intercept("CHG-1", PHONE)
    manager.manager.intake.refresh_snapshot()
    first, second = free_port(), free_port()
    tel = carriers.create_carrier(setup.svc, setup.taru, {"name": "ChangeTel", "addresses": ["127.0.0.0/8"], "hi2_port": first})
    manager.call(manager.manager.reconcile())
    assert listeners(manager) == [("hi2", first, True)]

    # a connection under the first terms delivers, then the carrier's addresses change
    held = socket.create_connection(("127.0.0.1", first), timeout=10)
    held.sendall(iri("CHG-1", 0, T))
    wait_for(lambda: manager.manager.intake.stats.counters.stored == 1, "the record was not stored")
    carriers.update_carrier(setup.svc, setup.taru, tel["id"], {"addresses": ["192.0.2.0/24"]})
    manager.call(manager.manager.reconcile())
    assert closed_by_server(held)  # its listener was restarted: the connection is closed
    held.close()
    info = [c for c in manager.manager.registry.connections.values() if c.port == first]
    assert info[0].state == "closed" and info[0].error == "carrier configuration changed"
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", first), timeout=10) as refused:  # not a carrier address any more
            assert closed_by_server(refused)
    wait_for(lambda: sum(c.state == "refused" for c in manager.manager.registry.connections.values()) == 2, "not refused")

    def stranger_alerts() -> list[str]:
        with setup.svc.db.read() as conn:
            return list(conn.execute(select(alerts.c.message).where(alerts.c.kind == "intake.connection_refused")).scalars())

    wait_for(lambda: len(stranger_alerts()) == 1, "no alert for the stranger")  # once, not once a connection
    assert f"from 127.0.0.1 to ChangeTel's hi2 port {first}" in stranger_alerts()[0]

    # a new port: the old one no longer listens
    carriers.update_carrier(setup.svc, setup.taru, tel["id"], {"hi2_port": second, "addresses": []})
    manager.call(manager.manager.reconcile())
    assert listeners(manager) == [("hi2", second, True)]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", first), timeout=2).close()
    with socket.create_connection(("127.0.0.1", second), timeout=10) as fresh:
        fresh.sendall(iri("CHG-1", 0, T) + iri("CHG-1", 1, T))  # the resend and one more
        fresh.shutdown(socket.SHUT_WR)
        assert closed_by_server(fresh)  # the carrier's end of the stream: the intake closes too
    wait_for(lambda: manager.manager.intake.stats.counters.stored == 2, "the new record was not stored")
    assert manager.manager.intake.stats.counters.duplicates == 1  # the resend was suppressed

    # no ports: the carrier is not listened for
    carriers.update_carrier(setup.svc, setup.taru, tel["id"], {"hi2_port": None})
    manager.call(manager.manager.reconcile())
    assert listeners(manager) == []


def test_a_port_that_was_taken_is_alerted_and_tried_again(setup: Setup, manager: Served) -> None:
    port = free_port()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", port))
    blocker.listen()
    carriers.create_carrier(setup.svc, setup.taru, {"name": "LateTel", "hi2_port": port})
    manager.call(manager.manager.reconcile())
    assert listeners(manager) == [("hi2", port, False)]
    assert "LateTel:%d" % port in manager.manager.state()["errors"]
    manager.call(manager.manager.reconcile())  # still taken: tried again, alerted once
    with setup.svc.db.read() as conn:
        raised = conn.execute(select(alerts.c.severity, alerts.c.message).where(alerts.c.kind == "intake.listener")).all()
    assert [(severity, f"port {port}" in message and "LateTel" in message) for severity, message in raised] == [("critical", True)]
    blocker.close()
    manager.call(manager.manager.reconcile())
    assert listeners(manager) == [("hi2", port, True)] and not manager.manager.state()["errors"]


def test_carrier_changes_are_checked_and_audited(setup: Setup) -> None:
    a, b = free_port(), free_port()
    one = carriers.create_carrier(setup.svc, setup.taru, {"name": "OneTel", "hi2_port": a, "hi3_port": b})
    two = carriers.create_carrier(setup.svc, setup.taru, {"name": "TwoTel"})
    app = create_app(setup.svc)
    taru = TestClient(app, client=("127.0.0.1", 5000))
    assert taru.post("/api/v1/auth/login", json={"username": "taru.intake", "password": PASSWORD}).status_code == 200

    r = taru.patch(f"/api/v1/carriers/{two['id']}", json={"hi2_port": a})
    assert r.status_code == 409 and r.json()["field"] == "hi2_port" and "OneTel" in r.json()["message"]
    r = taru.patch(f"/api/v1/carriers/{two['id']}", json={"hi2_port": 7000, "hi3_port": 7000})
    assert r.status_code == 400 and r.json()["field"] == "hi3_port"
    r = taru.patch(f"/api/v1/carriers/{two['id']}", json={"name": "Renamed"})
    assert r.status_code == 400 and "name" in r.json()["message"]
    r = taru.patch(f"/api/v1/carriers/{two['id']}", json={"addresses": ["not-an-ip"]})
    assert r.status_code == 400 and r.json()["field"] == "addresses"
    assert taru.patch("/api/v1/carriers/no-such-carrier", json={"contact": "x"}).status_code == 404
    assert taru.get(f"/api/v1/carriers/{two['id']}").json()["hi2_port"] is None  # nothing of the refused changes

    r = taru.patch(f"/api/v1/carriers/{one['id']}", json={"hi3_port": None, "contact": "LI desk +1 212 555 0199"})
    assert r.status_code == 200 and r.json()["hi3_port"] is None and r.json()["hi2_port"] == a
    assert r.json()["contact"] == "LI desk +1 212 555 0199"
    with setup.svc.db.read() as conn:
        detail = conn.execute(select(audit_events.c.detail).where(audit_events.c.action == "carrier.update",
                                                                  audit_events.c.object_id == one["id"])).scalars().all()
    assert detail == ["changed: contact, hi3_port"]
    r = taru.patch(f"/api/v1/carriers/{two['id']}", json={"hi2_port": b})  # freed by OneTel: now TwoTel's
    assert r.status_code == 200 and r.json()["hi2_port"] == b

    users.create_user(setup.svc, None, username="det.carrier", password=PASSWORD, role="investigator", unit="Narcotics")
    det = TestClient(app, client=("127.0.0.1", 5000))
    assert det.post("/api/v1/auth/login", json={"username": "det.carrier", "password": PASSWORD}).status_code == 200
    assert det.patch(f"/api/v1/carriers/{one['id']}", json={"contact": "x"}).status_code == 403


def test_the_registry_forgets_old_closed_connections() -> None:
    registry = Registry()
    at = datetime(2026, 11, 27, tzinfo=timezone.utc)
    for i in range(1, CLOSED_KEPT + 51):
        info = ConnectionInfo(i, "T", "hi2", "etsi-102232", f"127.0.0.1:{i}", at, port=1)
        registry.add(info, None)  # type: ignore[arg-type]
        registry.transports.pop(i)
        if i > 1:  # all closed but the first
            info.closed_at = at
    registry.add(ConnectionInfo(10_000, "T", "hi2", "etsi-102232", "127.0.0.1:1", at, port=1), None)  # type: ignore[arg-type]
    kept = registry.connections
    assert 1 in kept and 10_000 in kept  # the open ones stay
    closed = [i for i, c in kept.items() if c.closed_at is not None]
    assert len(closed) == CLOSED_KEPT and min(closed) == 51  # the latest closed ones


def test_a_carrier_is_changed_through_the_console(setup: Setup) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mediation.example.net")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(datetime(2026, 1, 1)).not_valid_after(datetime(2027, 1, 1))
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    port = free_port()
    tel = carriers.create_carrier(setup.svc, setup.taru, {"name": "FormTel", "hi2_port": port, "tls_client_cert": pem})
    other = carriers.create_carrier(setup.svc, setup.taru, {"name": "OtherTel", "hi2_port": free_port()})
    taru = TestClient(create_app(setup.svc), client=("127.0.0.1", 5000))
    assert taru.post("/login", data={"username": "taru.intake", "password": PASSWORD}, follow_redirects=False).status_code == 303
    assert f'href="/carriers/{tel["id"]}"' in taru.get("/carriers").text
    page = taru.get(f"/carriers/{tel['id']}").text
    assert f'value="{port}"' in page and tel["tls_fingerprint"] in page and "Remove the certificate" in page

    # another carrier's port: refused, the form kept as typed, nothing changed
    r = taru.post(f"/carriers/{tel['id']}", data={"contact": "LI desk", "formats": "etsi-102232", "addresses": "198.51.100.0/24",
                                                  "hi2_port": str(other["hi2_port"])}, follow_redirects=False)
    assert r.status_code == 409 and "OtherTel" in r.text and "198.51.100.0/24" in r.text
    assert carriers.get_carrier(setup.svc, setup.taru, tel["id"])["hi2_port"] == port

    r = taru.post(f"/carriers/{tel['id']}", data={"contact": "LI desk", "formats": "etsi-102232", "addresses": "198.51.100.0/24",
                                                  "hi2_port": str(port), "remove_tls_client_cert": "on"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/carriers/{tel['id']}?ok=carrier.updated"
    now = carriers.get_carrier(setup.svc, setup.taru, tel["id"])
    assert now["addresses"] == ["198.51.100.0/24"] and now["tls_fingerprint"] is None and now["contact"] == "LI desk"
    assert taru.get("/carriers/no-such-carrier").status_code == 404


def test_a_silent_carrier_with_active_intercepts_is_alerted_once_until_heard_again(setup: Setup, manager: Served) -> None:
    from datetime import timedelta

    setup.clock.set(T)
    port = free_port()
    tel = carriers.create_carrier(setup.svc, setup.taru, {"name": "QuietTel", "hi2_port": port})
    manager.call(manager.manager.reconcile())
    m = manager.manager
    m.started_at = setup.clock.now()
    setup.clock.set(T + timedelta(minutes=30))
    assert m.check_silence() == []  # no active intercept on QuietTel: its silence means nothing
    setup.carrier_id = tel["id"]
    setup.intercept("QUIET-1", PHONE)
    setup.clock.set(T + timedelta(minutes=31))
    assert m.check_silence() == ["QuietTel"]  # 31 minutes without anything, an intercept active
    setup.clock.set(T + timedelta(minutes=32))
    assert m.check_silence() == []  # once
    with setup.svc.db.read() as conn:
        messages = conn.execute(select(alerts.c.message).where(alerts.c.kind == "intake.silent")).scalars().all()
    assert len(messages) == 1 and "QuietTel" in messages[0] and "1 of its intercepts" in messages[0]

    # heard again (a keep-alive is enough), then silent for longer than the limit again
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(iri("QUIET-1", 0, T))
        wait_for(lambda: any(c.last_at is not None for c in m.registry.connections.values()), "nothing received")
    wait_for(lambda: all(c.closed_at is not None for c in m.registry.connections.values()), "still open")
    setup.clock.set(T + timedelta(minutes=35))
    assert m.check_silence() == [] and "QuietTel" not in m.silent
    setup.clock.set(T + timedelta(minutes=32 + 11))
    assert m.check_silence() == ["QuietTel"]


def test_a_stranger_is_alerted_at_most_once_an_hour_per_carrier_port() -> None:
    from datetime import timedelta

    registry, at = Registry(), datetime(2026, 11, 27, tzinfo=timezone.utc)
    assert registry.refused_alert_due("T", 6001, "192.0.2.9", at)
    assert not registry.refused_alert_due("T", 6001, "192.0.2.9", at + timedelta(minutes=59))
    assert registry.refused_alert_due("T", 6002, "192.0.2.9", at + timedelta(minutes=59))  # another port
    assert registry.refused_alert_due("T", 6001, "192.0.2.10", at + timedelta(minutes=59))  # another stranger
    assert registry.refused_alert_due("T", 6001, "192.0.2.9", at + timedelta(minutes=61))
