"""Reading what the intake stored: records, proofs of the case log, intake health (C2, C5, D1, B3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from calea.db.schema import cc_chunks, iri_records, malformed, refusals, streams, tree_heads
from calea.domain.access import Perm, Role, require
from calea.errors import AccessDenied, InvalidInput
from calea.services.access import Level, check_case_access
from calea.services.context import Actor, Services
from calea.store.merkle import FileTileStore, MerkleLog, MerkleError


def _log(svc: Services, case_id: str) -> MerkleLog:
    return MerkleLog(case_id, FileTileStore.for_log(svc.settings.home / "merkle", case_id))


def list_records(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, limit: int = 200,
                 before_id: int | None = None) -> dict[str, Any]:
    """Intercepted IRI of a case: an active grant and a stated purpose (C2, C5); data
    quarantined under B3 is readable only by taru and the auditor."""
    with svc.db.write() as conn:
        if actor.role in (Role.TARU, Role.AUDITOR):
            check_case_access(conn, svc, actor, case_id)
            if not (purpose or "").strip():
                raise AccessDenied("state the purpose of this read (X-Calea-Purpose or ?purpose=)", rule="C5")
            quarantine_ok = True
        else:
            check_case_access(conn, svc, actor, case_id, Level.DATA, purpose=purpose)
            quarantine_ok = False
        q = select(iri_records).where(iri_records.c.case_id == case_id)
        if not quarantine_ok:
            q = q.where(iri_records.c.quarantined.is_(False))
        if before_id:
            q = q.where(iri_records.c.id < before_id)
        rows = conn.execute(q.order_by(iri_records.c.id.desc()).limit(max(1, min(limit, 1000)))).mappings().all()
        cc = conn.execute(select(func.count(), func.coalesce(func.sum(cc_chunks.c.count), 0)).where(cc_chunks.c.case_id == case_id)).one()
        svc.audit(conn, actor, "records.read", case_id=case_id, object_type="iri_records",
                  object_id=f"{len(rows)} rows", purpose=purpose)
    return {
        "records": [{k: r[k] for k in ("id", "liid", "cin", "seq", "channel", "format", "kind", "event", "intercepted_at",
                                       "received_at", "fields", "rule", "suppressed", "late", "quarantined", "leaf_index",
                                       "raw_sha256", "length")} for r in rows],
        "cc": {"chunks": int(cc[0]), "records": int(cc[1])},
    }


def log_state(svc: Services, actor: Actor, case_id: str) -> dict[str, Any]:
    with svc.db.write() as conn:
        check_case_access(conn, svc, actor, case_id)
        heads = conn.execute(select(tree_heads).where(tree_heads.c.case_id == case_id).order_by(tree_heads.c.size.desc()).limit(20)).mappings().all()
        svc.audit(conn, actor, "log.read", case_id=case_id, object_type="merkle_log", object_id=case_id)
    lg = _log(svc, case_id)
    return {"case_id": case_id, "size": lg.size, "root": lg.root().hex() if lg.size else None,
            "tree_heads": [{"size": h["size"], "root": h["root"], "signed_at": h["signed_at"], "checkpoint": h["checkpoint"]} for h in heads]}


def _readable_log(svc: Services, actor: Actor, case_id: str) -> MerkleLog:
    """The case's log, for a caller who may see the case's record (C2)."""
    with svc.db.read() as conn:
        check_case_access(conn, svc, actor, case_id)
    return _log(svc, case_id)


def inclusion(svc: Services, actor: Actor, case_id: str, index: int, size: int | None) -> dict[str, Any]:
    """RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves."""
    lg = _readable_log(svc, actor, case_id)
    size = size or lg.size
    try:
        proof = lg.inclusion_proof(index, size)
        return {"leaf_index": index, "tree_size": size, "leaf_hash": lg.leaf_hash(index).hex(),
                "root": lg.root(size).hex(), "proof": [p.hex() for p in proof]}
    except MerkleError as exc:
        raise InvalidInput(f"no such proof: {exc}", field="index") from None


def consistency(svc: Services, actor: Actor, case_id: str, first: int, second: int | None) -> dict[str, Any]:
    """RFC 9162 consistency proof between two tree sizes."""
    lg = _readable_log(svc, actor, case_id)
    second = second or lg.size
    try:
        proof = lg.consistency_proof(first, second)
        return {"first": first, "second": second, "first_root": lg.root(first).hex(), "second_root": lg.root(second).hex(),
                "proof": [p.hex() for p in proof]}
    except MerkleError as exc:
        raise InvalidInput(f"no such proof: {exc}", field="first") from None


def intake_view(svc: Services, actor: Actor, limit: int = 100) -> dict[str, Any]:
    """The technical unit's view of the intake: the streams with sequence gaps (D1), the latest
    first, found by their index among however many streams the store knows; the totals over
    every stream; the latest refusals and malformed records (`limit` of each)."""
    require(actor.role, Perm.READ_ALERTS)
    with svc.db.read() as conn:
        st = conn.execute(select(streams).where(streams.c.missing > 0).order_by(streams.c.last_at.desc())
                          .limit(limit)).mappings().all()
        total = conn.execute(select(func.count()).select_from(streams)).scalar_one()
        gapped, missing = conn.execute(select(func.count(), func.coalesce(func.sum(streams.c.missing), 0))
                                       .where(streams.c.missing > 0)).one()
        ref = conn.execute(select(refusals).order_by(refusals.c.id.desc()).limit(limit)).mappings().all()
        bad = conn.execute(select(malformed).order_by(malformed.c.id.desc()).limit(limit)).mappings().all()
    return {
        "streams": [dict(r) for r in st],
        "stream_totals": {"streams": int(total), "gapped": int(gapped), "missing": int(missing)},
        "refusals": [dict(r) for r in ref],
        "malformed": [dict(r) for r in bad],
    }

