"""TLS for carrier connections: a server certificate kept in `$CALEA_HOME/tls` (created on
first use, key 0600), and per carrier an optional client certificate it must present."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def ensure_server_cert(tls_dir: Path, hostname: str = "calea-intake") -> tuple[Path, Path]:
    tls_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cert, key = tls_dir / "server.crt", tls_dir / "server.key"
    if cert.exists() and key.exists():
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname), x509.DNSName("localhost")]), critical=False)
        .sign(private, hashes.SHA256())
    )
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key


def server_context(tls_dir: Path, client_cert_pem: str | None) -> ssl.SSLContext:
    """TLS 1.2+; when the carrier has a client certificate on file, it must present exactly it."""
    cert, key = ensure_server_cert(tls_dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    if client_cert_pem:
        with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as fh:
            fh.write(client_cert_pem)
        try:
            ctx.load_verify_locations(fh.name)
        finally:
            os.unlink(fh.name)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class ServerContexts:
    """The server contexts of the carriers' listeners, one per client certificate on file and
    made once: the intake manager asks for them every few seconds, on the event loop's thread,
    and making one parses the key and the certificates (about a millisecond).  A new server
    certificate in `tls_dir` makes new ones."""

    def __init__(self, tls_dir: Path) -> None:
        self.tls_dir = tls_dir
        self._made: dict[tuple[str | None, int], ssl.SSLContext] = {}

    def get(self, client_cert_pem: str | None) -> ssl.SSLContext:
        cert, _ = ensure_server_cert(self.tls_dir)
        key = (client_cert_pem or None, cert.stat().st_mtime_ns)
        ctx = self._made.get(key)
        if ctx is None:
            self._made = {k: v for k, v in self._made.items() if k[1] == key[1]}  # (an older server certificate's go)
            ctx = self._made[key] = server_context(self.tls_dir, client_cert_pem)
        return ctx
