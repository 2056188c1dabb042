"""TS 102 232-1 integrity-check PDUs verified against the stored raw bytes; a forged one,
and one over records never received, raise alerts (D1)."""

from __future__ import annotations

import datetime as dt
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select, update

from calea.db.schema import alerts, carriers, store_events
from calea.handover.etsi102232 import IntegrityCheck, PSHeader, encode_ps_pdu
from calea.handover.model import Channel
from calea.intake.pipeline import Intake, Received
from calea.store.integrity import check_hash
from calea.store.verify import verify_store
from tests.intake.conftest import Setup
from tests.intake.test_intake_behaviour import PHONE, T, cc


def check_pdu(liid: str, seq: int, seqs: tuple[int, ...], value: bytes, check_type: str = "hash") -> bytes:
    h = PSHeader(liid=liid, sequence=seq, cin=7, timestamp_us=int(T.timestamp() * 1e6))
    return encode_ps_pdu(h, IntegrityCheck(seqs, value, check_type=check_type, data_type="cC"))


def run(setup: Setup, records: list[bytes]) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    intake = Intake(setup.svc)
    intake.process([Received(r, Channel.HI3, "etsi-102232", "t", T) for r in records])
    intake.writer.close()
    with setup.svc.db.read() as conn:
        events = conn.execute(select(store_events.c.body).where(store_events.c.kind == "integrity")).scalars().all()
        raised = conn.execute(select(alerts.c.kind, alerts.c.rule)).mappings().all()
    return list(events), [dict(a) for a in raised]


def test_hash_check_verified_and_forged_detected(setup: Setup) -> None:
    setup.clock.set(T)
    setup.intercept("IC-1", PHONE)
    data = [cc("IC-1", s, T) for s in range(10)]
    good = hashlib.sha256(b"".join(data[2:6])).digest()
    forged = hashlib.sha256(b"".join(data[6:10]) + b"x").digest()
    events, raised = run(setup, data + [check_pdu("IC-1", 0, (2, 3, 4, 5), good), check_pdu("IC-1", 1, (6, 7, 8, 9), forged)])
    assert [e["status"] for e in events] == ["verified", "mismatch"]
    assert [a["kind"] for a in raised] == ["intake.integrity_mismatch"] and raised[0]["rule"] == "D1"
    assert verify_store(setup.svc).ok  # the check results are themselves signed leaves


def test_check_over_records_never_received(setup: Setup) -> None:
    setup.clock.set(T)
    setup.intercept("IC-2", PHONE)
    data = [cc("IC-2", s, T) for s in (0, 1, 3)]
    value = hashlib.sha256(b"".join(data)).digest()
    events, raised = run(setup, data + [check_pdu("IC-2", 0, (0, 1, 2, 3), value)])
    assert events[0]["status"] == "missing" and raised[0]["kind"] == "intake.integrity_missing"


def test_signed_hash_with_carrier_certificate(setup: Setup) -> None:
    setup.clock.set(T)
    setup.intercept("IC-3", PHONE)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ExampleTel mediation")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(T - dt.timedelta(days=1)).not_valid_after(T + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    with setup.svc.db.write() as conn:
        conn.execute(update(carriers).values(tls_client_cert=cert.public_bytes(serialization.Encoding.PEM).decode()))
    data = [cc("IC-3", s, T) for s in range(4)]
    sig = key.sign(b"".join(data), ec.ECDSA(hashes.SHA256()))
    bad = key.sign(b"".join(data[:3]), ec.ECDSA(hashes.SHA256()))
    events, raised = run(setup, data + [check_pdu("IC-3", 0, (0, 1, 2, 3), sig, "signature"),
                                        check_pdu("IC-3", 1, (0, 1, 2, 3), bad, "signature")])
    assert [e["status"] for e in events] == ["verified", "mismatch"]


def test_check_hash_pure() -> None:
    recs = [b"a", b"b"]
    assert check_hash(recs, "sHA-256", "hash", hashlib.sha256(b"ab").digest(), None).ok
    assert check_hash(recs, "sHA-1", "hash", hashlib.sha1(b"ab").digest(), None).ok
    assert check_hash(recs, "sHA-256", "hash", b"\0" * 32, None).status == "mismatch"
    assert check_hash(recs, "sHA-256", "signature", b"\0" * 64, None).status == "unverifiable"
