"""Carrier connections over TLS, with the carrier's client certificate required when one is
on file; a client without it, or with another, is refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from calea.db.schema import iri_records
from calea.handover.model import Channel
from calea.intake.listener import ListenerSpec, Registry, start_listeners
from calea.intake.pipeline import Intake
from calea.intake.tls import ServerContexts, server_context
from tests.intake.conftest import Setup, free_port
from tests.intake.test_intake_behaviour import PHONE, T, iri


def client_identity(tmp: Path, name: str) -> tuple[str, Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp / f"{name}.crt").write_bytes(pem)
    (tmp / f"{name}.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    return pem.decode(), tmp / f"{name}.crt", tmp / f"{name}.key"


def test_tls_with_client_certificate(setup: Setup, tmp_path: Path) -> None:
    setup.clock.set(T)
    setup.intercept("TLS-1", PHONE)
    carrier_pem, crt, key = client_identity(tmp_path, "carrier")
    _, other_crt, other_key = client_identity(tmp_path, "intruder")
    intake = Intake(setup.svc, max_delay=0.01)
    port = free_port()
    ctx = server_context(setup.svc.settings.home / "tls", carrier_pem)
    assert oct((setup.svc.settings.home / "tls" / "server.key").stat().st_mode & 0o777) == "0o600"
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    registry = Registry()
    servers, _ = asyncio.run_coroutine_threadsafe(
        start_listeners(intake, [ListenerSpec("ExampleTel", "etsi-102232", Channel.HI2, "127.0.0.1", port, ctx)], registry),
        loop).result(10)
    intake.start()

    def connect(cert: Path | None, key_path: Path | None, seq: int) -> None:
        try:
            _connect(cert, key_path, seq)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass  # refused during or right after the handshake

    def _connect(cert: Path | None, key_path: Path | None, seq: int) -> None:
        cctx = ssl.create_default_context(cafile=str(setup.svc.settings.home / "tls" / "server.crt"))
        cctx.check_hostname = False
        if cert is not None:
            cctx.load_cert_chain(cert, key_path)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with cctx.wrap_socket(raw, server_hostname="calea-intake") as s:
                s.sendall(iri("TLS-1", seq, T))
                s.settimeout(5)
                try:
                    while s.recv(4096):
                        pass
                except (ssl.SSLError, ConnectionResetError, TimeoutError):
                    pass

    try:
        connect(other_crt, other_key, 1)  # another certificate: refused
        connect(None, None, 2)  # no certificate: refused
        connect(crt, key, 0)  # the carrier's certificate
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            intake.wait_idle(5)
            with setup.svc.db.read() as conn:
                if conn.execute(select(func.count()).select_from(iri_records)).scalar() >= 1:
                    break
            time.sleep(0.05)
        with setup.svc.db.read() as conn:
            assert conn.execute(select(iri_records.c.seq)).scalars().all() == [0]  # only the carrier's record
    finally:
        asyncio.run_coroutine_threadsafe(registry.close_all(servers), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        intake.stop()


def test_server_contexts_are_made_once_per_client_certificate(tmp_path: Path) -> None:
    """The manager asks for the listeners' contexts every few seconds: each is made once per
    client certificate on file, and again only for a new server certificate."""
    contexts = ServerContexts(tmp_path / "tls")
    pem_a, _, _ = client_identity(tmp_path, "a")
    pem_b, _, _ = client_identity(tmp_path, "b")
    a, b, none = contexts.get(pem_a), contexts.get(pem_b), contexts.get(None)
    assert contexts.get(pem_a) is a and contexts.get(pem_b) is b and contexts.get(None) is none and contexts.get("") is none
    assert len({id(a), id(b), id(none)}) == 3
    assert a.verify_mode == ssl.CERT_REQUIRED and none.verify_mode == ssl.CERT_NONE
    cert = tmp_path / "tls" / "server.crt"  # the operator puts a new server certificate in place
    stamp = cert.stat().st_mtime_ns + 1_000_000_000
    os.utime(cert, ns=(stamp, stamp))
    renewed = contexts.get(pem_a)
    assert renewed is not a and contexts.get(pem_a) is renewed
