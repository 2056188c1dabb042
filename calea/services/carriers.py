"""Carriers: who delivers, in which handover formats, from which addresses."""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from cryptography import x509
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from calea.db.schema import carriers
from calea.domain.access import Perm, require
from calea.errors import Conflict, InvalidInput, NotFound
from calea.services.context import Actor, Services

FORMATS = {
    "etsi-102232": "ETSI TS 102 232-1 PS-PDU (HI2 IRI and HI3 CC over TCP/TLS)",
    "ts101671-hi2": "ETSI TS 101 671 / 3GPP TS 33.108 HI2 IRI",
    "pcesp": "PacketCable Electronic Surveillance CDC (TCP) and CCC (UDP)",
    "3gpp-mms": "3GPP TS 33.108 MMS HI2 IRI and HI3 CC-PDU (TCP)",
}


def carrier_dict(r: Any) -> dict[str, Any]:
    return {k: r[k] for k in ("id", "name", "contact", "formats", "addresses", "hi2_port", "hi3_port", "tls_fingerprint", "created_at")}


def _port(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} is a TCP port number", field=field) from None
    if not 1 <= port <= 65535:
        raise InvalidInput(f"{field} is between 1 and 65535", field=field)
    return port


EDITABLE = ("contact", "formats", "addresses", "hi2_port", "hi3_port", "tls_client_cert")


def _values(body: dict[str, Any]) -> dict[str, Any]:
    """The columns of a carrier from the fields of a request, each checked."""
    formats = body.get("formats") or ["etsi-102232"]
    if not isinstance(formats, list) or not formats:
        raise InvalidInput("formats is a list of handover formats", field="formats")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise InvalidInput(f"unknown handover formats {bad}; known: {', '.join(FORMATS)}", field="formats")
    addresses = []
    for a in body.get("addresses") or []:
        try:
            addresses.append(str(ipaddress.ip_network(str(a), strict=False)))
        except ValueError:
            raise InvalidInput(f"{a!r} is not an IP address or range", field="addresses") from None
    cert_pem = body.get("tls_client_cert") or None
    fingerprint = None
    if cert_pem:
        try:
            cert = x509.load_pem_x509_certificate(str(cert_pem).encode())
        except ValueError:
            raise InvalidInput("tls_client_cert is not a PEM X.509 certificate", field="tls_client_cert") from None
        fingerprint = hashlib.sha256(cert.public_bytes(encoding=_der())).hexdigest()
    hi2, hi3 = _port(body.get("hi2_port"), "hi2_port"), _port(body.get("hi3_port"), "hi3_port")
    if hi2 is not None and hi2 == hi3 and formats[0] != "pcesp":  # (PacketCable: CDC over TCP, CCC over UDP)
        raise InvalidInput("HI2 and HI3 need ports of their own", field="hi3_port")
    return {"contact": str(body.get("contact") or ""), "formats": list(formats), "addresses": addresses,
            "hi2_port": hi2, "hi3_port": hi3, "tls_client_cert": cert_pem, "tls_fingerprint": fingerprint}


def _ports_free(conn: Any, values: dict[str, Any], carrier_id: str | None) -> None:
    """A port listens for one carrier: another carrier's port is refused (its listener
    could not start, and the carrier's deliveries would go nowhere)."""
    for other in conn.execute(select(carriers.c.id, carriers.c.name, carriers.c.hi2_port, carriers.c.hi3_port)).all():
        if other.id == carrier_id:
            continue
        for field_ in ("hi2_port", "hi3_port"):
            port = values[field_]
            if port is not None and port in (other.hi2_port, other.hi3_port):
                raise Conflict(f"port {port} is already a port of {other.name}", field=field_)


def create_carrier(svc: Services, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    require(actor.role, Perm.MANAGE_CARRIERS)
    name = str(body.get("name", "")).strip()
    if not name:
        raise InvalidInput("a carrier has a name", field="name")
    values = _values(body)
    with svc.db.write() as conn:
        _ports_free(conn, values, None)
        carrier_id = svc.new_id()
        try:
            with conn.begin_nested():
                conn.execute(insert(carriers).values(id=carrier_id, name=name, created_at=svc.now(), **values))
        except IntegrityError:
            raise Conflict("a carrier with this name exists", field="name") from None
        svc.audit(conn, actor, "carrier.create", object_type="carrier", object_id=carrier_id)
        return carrier_dict(conn.execute(select(carriers).where(carriers.c.id == carrier_id)).mappings().one())


def update_carrier(svc: Services, actor: Actor, carrier_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Change what is given of a carrier's contact, formats, addresses, ports and client
    certificate (`null` or "" clears a port or the certificate; a carrier without ports is
    not listened for).  The running intake applies it within seconds: the listeners whose
    terms changed are restarted and their connections closed (the carrier reconnects)."""
    require(actor.role, Perm.MANAGE_CARRIERS)
    unknown = sorted(set(body) - set(EDITABLE))
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(unknown)}; a carrier's editable fields: {', '.join(EDITABLE)}",
                           field=unknown[0])
    with svc.db.write() as conn:
        row = conn.execute(select(carriers).where(carriers.c.id == carrier_id)).mappings().first()
        if row is None:
            raise NotFound("no such carrier")
        values = _values({**{k: row[k] for k in EDITABLE}, **body})
        _ports_free(conn, values, carrier_id)
        changed = sorted(k for k in EDITABLE if values[k] != row[k])
        if changed:
            conn.execute(update(carriers).where(carriers.c.id == carrier_id).values(**values))
        svc.audit(conn, actor, "carrier.update", object_type="carrier", object_id=carrier_id,
                  detail="changed: " + (", ".join(changed) or "nothing"))
        return carrier_dict(conn.execute(select(carriers).where(carriers.c.id == carrier_id)).mappings().one())


def _der() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def list_carriers(svc: Services, actor: Actor) -> list[dict[str, Any]]:
    require(actor.role, Perm.MANAGE_CARRIERS)
    with svc.db.read() as conn:
        return [carrier_dict(r) for r in conn.execute(select(carriers).order_by(carriers.c.name)).mappings()]


def get_carrier(svc: Services, actor: Actor, carrier_id: str) -> dict[str, Any]:
    require(actor.role, Perm.MANAGE_CARRIERS)
    with svc.db.read() as conn:
        row = conn.execute(select(carriers).where(carriers.c.id == carrier_id)).mappings().first()
        if row is None:
            raise NotFound("no such carrier")
        return carrier_dict(row)
