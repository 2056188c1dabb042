"""`calea verify`: recompute everything the store keeps and name what does not match (D1).

For every case: each leaf is recomputed from the index rows, the segment bytes and the
content files (`leafsource`); the roots those leaves give are compared with every signed
tree head (whose Ed25519 signatures are checked), and with the Merkle tiles on disk.
A leaf whose item is gone is reported unless a signed purge event covers it (D2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from calea.db.schema import cc_chunks, iri_records, store_events, tree_heads
from calea.services.context import Services
from calea.store.leafsource import case_leaves
from calea.store.merkle import CheckpointError, Frontier, MerkleLog, FileTileStore, leaf_hash, public_keys, verify_checkpoint
from calea.store.segments import SegmentFiles


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    leaves: dict[str, int] = field(default_factory=dict)
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _cases(svc: Services) -> list[str]:
    found: set[str] = set()
    with svc.db.read() as conn:
        for table in (iri_records, cc_chunks, store_events, tree_heads):
            found.update(conn.execute(select(table.c.case_id).distinct()).scalars())
    merkle = svc.settings.home / "merkle"
    if merkle.exists():
        from urllib.parse import unquote

        found.update(unquote(p.name) for p in merkle.iterdir() if p.is_dir())
    return sorted(found)


def verify_store(svc: Services) -> Report:
    report = Report()
    files = SegmentFiles(svc.settings.home / "segments")
    keys = public_keys(svc.settings.keys_dir) if svc.settings.keys_dir.exists() else []
    for case_id in _cases(svc):
        _verify_case(svc, files, keys, case_id, report)
    return report


def _verify_case(svc: Services, files: SegmentFiles, keys: list, case_id: str, report: Report) -> None:  # type: ignore[type-arg]
    lg = MerkleLog(case_id, FileTileStore.for_log(svc.settings.home / "merkle", case_id))
    with svc.db.read() as conn:
        items = list(case_leaves(conn, files, svc.content, case_id))
        heads = conn.execute(select(tree_heads).where(tree_heads.c.case_id == case_id).order_by(tree_heads.c.size)).mappings().all()
        purged = _purged_leaves(conn, case_id)
    size = max(lg.size, (items[-1].index + 1) if items else 0)
    tile_hashes = lg.leaf_hashes(0, lg.size) if lg.size else []
    by_index = {leaf.index: leaf for leaf in items}
    frontier = Frontier.empty()
    roots: dict[int, bytes] = {}
    head_sizes = {int(h["size"]) for h in heads}
    for i in range(size):
        leaf = by_index.get(i)
        if leaf is None:
            if i not in purged:
                report.problems.append(f"case {case_id}: leaf {i} has no stored item (deleted?)")
            h = tile_hashes[i] if i < len(tile_hashes) else b"\0" * 32
        elif leaf.problem:
            report.problems.append(f"case {case_id}: {leaf.what}: {leaf.problem}")
            h = leaf_hash(leaf.data) if leaf.data is not None else (tile_hashes[i] if i < len(tile_hashes) else b"\0" * 32)
        elif leaf.data is None:
            h = tile_hashes[i] if i < len(tile_hashes) else b"\0" * 32  # purged: the log keeps its hash
            if not leaf.purged and i not in purged:
                report.problems.append(f"case {case_id}: {leaf.what}: bytes missing")
        else:
            h = leaf_hash(leaf.data)
            if i < len(tile_hashes) and tile_hashes[i] != h:
                report.problems.append(f"case {case_id}: {leaf.what} does not match leaf {i} of the log (altered)")
        frontier = frontier.extend([h])
        if i + 1 in head_sizes:
            roots[i + 1] = frontier.root()
    if lg.size != size:
        report.problems.append(f"case {case_id}: the log holds {lg.size} leaves, the store {size}")
    for h in heads:
        try:
            cp = verify_checkpoint(h["checkpoint"], keys, origin=f"calea/case/{case_id}")
        except CheckpointError as exc:
            report.problems.append(f"case {case_id}: tree head at size {h['size']}: signature does not verify ({exc})")
            continue
        report.checkpoints += 1
        expected = roots.get(int(h["size"]))
        if cp.size != int(h["size"]) or cp.root_hash.hex() != h["root"]:
            report.problems.append(f"case {case_id}: tree head at size {h['size']}: row differs from its signed text")
        elif expected is None:
            report.problems.append(f"case {case_id}: tree head at size {h['size']} is beyond the stored items")
        elif expected != cp.root_hash:
            report.problems.append(f"case {case_id}: the stored items do not give the signed root at size {h['size']}")
    report.leaves[case_id] = size


def _purged_leaves(conn, case_id: str) -> set[int]:  # type: ignore[no-untyped-def]
    out: set[int] = set()
    for body in conn.execute(select(store_events.c.body).where(store_events.c.case_id == case_id, store_events.c.kind == "purge")).scalars():
        for lo, hi in body.get("leaves", []):
            out.update(range(lo, hi + 1))
    return out
