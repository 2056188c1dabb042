"""TS 102 232-1 integrity checks: a carrier's hash (or signed hash) over a range of the
PS-PDUs it delivered, verified against the raw bytes the store kept (rule D1).

Interpretation (documented in docs/standards.md): the hash is computed over the complete
encoded PS-PDUs whose sequence numbers are listed, in the order listed, of the same LIID
and communication identity, on the HI2 (dataType iRI) or HI3 (dataType cC) stream.  A
signed hash is the carrier's signature over those bytes' hash, checked with the public key
of the carrier's client certificate on file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from sqlalchemy import Connection, select

from calea.db.schema import cc_chunks, iri_records, segments
from calea.handover.errors import MalformedRecord
from calea.handover.framing import NEED_DATA, RecordSplitter
from calea.store.segments import SegmentFiles

ALGORITHMS = {"sHA-1": "sha1", "sHA-256": "sha256", "sHA-384": "sha384", "sHA-512": "sha512"}
_SIG_HASH = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


@dataclass(frozen=True)
class CheckResult:
    status: str  # verified | mismatch | missing | unverifiable
    detail: str
    missing: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "verified"


def check_hash(records: list[bytes], algorithm: str, check_type: str, check_value: bytes, cert_pem: str | None) -> CheckResult:
    """Pure: does the carrier's check value match these records?"""
    alg = ALGORITHMS.get(algorithm or "sHA-256")
    if alg is None:
        return CheckResult("unverifiable", f"unknown hash algorithm {algorithm!r}")
    digest = hashlib.new(alg, b"".join(records)).digest()
    if check_type == "hash":
        if digest == check_value:
            return CheckResult("verified", f"{alg} over {len(records)} records matches")
        return CheckResult("mismatch", f"{alg} over {len(records)} records does not match the carrier's check value")
    if not cert_pem:
        return CheckResult("unverifiable", "signed hash, but no carrier certificate is on file")
    key = x509.load_pem_x509_certificate(cert_pem.encode()).public_key()
    data = b"".join(records)
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(check_value, data, ec.ECDSA(_SIG_HASH[alg]()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(check_value, data, padding.PKCS1v15(), _SIG_HASH[alg]())
        else:
            return CheckResult("unverifiable", f"unsupported key type {type(key).__name__}")
    except InvalidSignature:
        return CheckResult("mismatch", "the carrier's signature does not verify over the stored records")
    return CheckResult("verified", f"signature over {len(records)} records verifies")


def stored_records(conn: Connection, files: SegmentFiles, *, liid: str, cin: str | None, data_type: str,
                   seqs: list[int]) -> dict[int, bytes | None]:
    """The raw bytes the store kept for these sequence numbers (None: kept without raw, A6)."""
    from calea.handover.etsi102232 import read_header

    wanted = set(seqs)
    found: dict[int, bytes | None] = {}
    if data_type == "iRI":
        rows = conn.execute(select(iri_records.c.seq, iri_records.c.offset, iri_records.c.length, segments.c.path)
                            .outerjoin(segments, segments.c.id == iri_records.c.segment_id)
                            .where(iri_records.c.liid == liid, iri_records.c.cin == cin, iri_records.c.channel == "hi2",
                                   iri_records.c.seq.in_(wanted))).all()
        for r in rows:
            found[int(r.seq)] = files.read(r.path, r.offset, r.length) if r.path else None
        return found
    lo, hi = min(wanted), max(wanted)
    chunks = conn.execute(select(cc_chunks.c.offset, cc_chunks.c.length, cc_chunks.c.format, segments.c.path)
                          .join(segments, segments.c.id == cc_chunks.c.segment_id)
                          .where(cc_chunks.c.liid == liid, cc_chunks.c.cin == cin, cc_chunks.c.last_seq >= lo - 1000,
                                 cc_chunks.c.first_seq <= hi + 1000)).all()
    for ch in chunks:
        splitter = RecordSplitter()
        splitter.receive_data(files.read(ch.path, ch.offset, ch.length))
        while (rec := splitter.next_record()) is not NEED_DATA:
            raw = bytes(rec)  # type: ignore[arg-type]
            try:
                seq = read_header(raw).sequence
            except MalformedRecord:
                continue
            if seq in wanted:
                found[seq] = raw
    return found


def verify_check(conn: Connection, files: SegmentFiles, fields: dict[str, Any], liid: str, cin: str | None,
                 cert_pem: str | None) -> CheckResult:
    ic = (fields.get("tri") or {}).get("integrity_check") or {}
    seqs = [int(s) for s in ic.get("included_sequence_numbers", [])]
    if not seqs:
        return CheckResult("unverifiable", "the check lists no sequence numbers")
    got = stored_records(conn, files, liid=liid, cin=cin, data_type=ic.get("data_type", "cC"), seqs=seqs)
    missing = tuple(s for s in seqs if s not in got)
    if missing:
        return CheckResult("missing", f"{len(missing)} of {len(seqs)} checked records were never stored", missing)
    if any(got[s] is None for s in seqs):
        return CheckResult("unverifiable", "records kept without their raw bytes (content suppressed, A6)")
    return check_hash([got[s] for s in seqs], ic.get("hash_algorithm", "sHA-256"), ic.get("check_type", "hash"),
                      bytes.fromhex(ic.get("check_value", "")), cert_pem)
