"""Enumerate a case's leaves from what the store keeps (index rows, segments, content),
in leaf order.  Shared by `calea verify` and by start-up recovery of the Merkle log."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, select

from calea.db.schema import cc_chunks, content_items, iri_records, segments, store_events
from calea.handover.errors import MalformedRecord
from calea.handover.framing import NEED_DATA, RecordSplitter
from calea.store import leaves
from calea.store.content import ContentStore
from calea.store.segments import SegmentFiles


@dataclass(frozen=True, slots=True)
class Leaf:
    index: int
    data: bytes | None  # None: the item's bytes are gone (purged, or missing: see `problem`)
    what: str  # names the item for a report, e.g. "iri record 12 (LIID x seq 4)"
    problem: str | None = None
    purged: bool = False


def _segment_paths(conn: Connection, case_id: str) -> dict[str, tuple[str, bool]]:
    return {r.id: (r.path, r.purged_at is not None) for r in conn.execute(
        select(segments.c.id, segments.c.path, segments.c.purged_at).where(segments.c.case_id == case_id))}


def case_leaves(conn: Connection, files: SegmentFiles, content: ContentStore, case_id: str, start: int = 0) -> Iterator[Leaf]:
    segs = _segment_paths(conn, case_id)
    out: list[Leaf] = []
    for r in conn.execute(select(iri_records).where(iri_records.c.case_id == case_id, iri_records.c.leaf_index >= start)).mappings():
        what = f"iri record {r['id']} (LIID {r['liid']} CIN {r['cin']} seq {r['seq']})"
        problem = None
        if r["segment_id"] is not None:
            path, purged = segs.get(r["segment_id"], ("?", False))
            if purged:
                out.append(Leaf(r["leaf_index"], None, what, purged=True))
                continue
            try:
                raw = files.read(path, r["offset"], r["length"])
            except FileNotFoundError:
                raw = b""
                problem = f"segment file {path} is missing"
            if problem is None and hashlib.sha256(raw).hexdigest() != r["raw_sha256"]:
                problem = f"raw bytes in {path} at offset {r['offset']} do not match the recorded SHA-256"
        out.append(Leaf(r["leaf_index"], leaves.iri_leaf(r), what, problem))
    for r in conn.execute(select(cc_chunks).where(cc_chunks.c.case_id == case_id, cc_chunks.c.leaf_start + cc_chunks.c.count > start)).mappings():
        path, purged = segs.get(r["segment_id"], ("?", False))
        if purged:
            out.extend(Leaf(r["leaf_start"] + i, None, f"cc chunk {r['id']}", purged=True) for i in range(r["count"]))
            continue
        try:
            data = files.read(path, r["offset"], r["length"])
        except FileNotFoundError:
            data = b""
        records = split_chunk(data, r["format"])
        for i in range(r["count"]):
            what = f"cc record {i} of chunk {r['id']} (LIID {r['liid']} CIN {r['cin']}, segment {path})"
            if i < len(records):
                out.append(Leaf(r["leaf_start"] + i, leaves.cc_leaf(records[i]), what))
            else:
                out.append(Leaf(r["leaf_start"] + i, None, what, f"missing from segment {path}"))
    for r in conn.execute(select(content_items).where(content_items.c.case_id == case_id, content_items.c.leaf_index >= start)).mappings():
        what = f"content item {r['id']} ({r['kind']}, sha256 {r['sha256'][:12]}…)"
        problem = None
        if r["purged_at"] is None:
            try:
                blob = content.get(r["sha256"])
                if hashlib.sha256(blob).hexdigest() != r["sha256"]:
                    problem = "content file altered (SHA-256 does not match)"
            except FileNotFoundError:
                problem = "content file missing"
        out.append(Leaf(r["leaf_index"], leaves.content_leaf(r["kind"], r["sha256"], r["size"], r["media_type"], r["name"], r["record_leaf"]), what, problem))
    for r in conn.execute(select(store_events).where(store_events.c.case_id == case_id, store_events.c.leaf_index >= start)).mappings():
        out.append(Leaf(r["leaf_index"], leaves.event_leaf(r["kind"], r["at"], r["intercept_id"], r["body"]), f"store event {r['id']} ({r['kind']})"))
    out.sort(key=lambda leaf: leaf.index)
    yield from out


def frame(raw: bytes, fmt: str) -> bytes:
    """How a CC record sits in its segment: BER records as they are (self-delimiting);
    datagrams (PCESP call content) behind a 4-byte big-endian length."""
    if fmt == "pcesp-ccc":
        return len(raw).to_bytes(4, "big") + raw
    return raw


def split_chunk(data: bytes, fmt: str) -> list[bytes]:
    """The records of a CC chunk, in order (the reverse of `frame`): BER records as they are,
    PCESP datagrams behind their 4-byte length.  It stops at damage: a damaged segment's
    records after the damage are missing (and `calea verify` names their leaves)."""
    if fmt == "pcesp-ccc":
        out, pos = [], 0
        while pos + 4 <= len(data):
            n = int.from_bytes(data[pos:pos + 4], "big")
            if pos + 4 + n > len(data):
                break
            out.append(data[pos + 4:pos + 4 + n])
            pos += 4 + n
        return out
    splitter = RecordSplitter(max_buffer_size=len(data) + 16)  # a chunk is read whole, however large
    splitter.receive_data(data)
    records: list[bytes] = []
    try:
        while True:
            records += splitter.whole_records()
            rec = splitter.next_record()
            if rec is NEED_DATA:
                break
            records.append(bytes(rec))  # type: ignore[arg-type]
    except MalformedRecord:
        pass
    return records
