"""Integration: fold a batch of leaf hashes into the tree and produce the tiles to write.

Shape as in transparency-dev/tessera storage/internal/integrate.go: the pure step
(`plan_integration`) reads existing tiles through a function and *returns* the new tiles
and root; `integrate` is the thin wrapper that persists them through a `TileStore`.

Cost per batch of k leaves: ~k node hashes (each new complete node once, see
`compact.extend_levels`), one read per stored level of the partly-filled tile it extends,
and about k / 256 + log256(n) tile writes.  No per-node records are stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from calea.store.merkle.compact import Frontier, extend_levels
from calea.store.merkle.errors import UsageError
from calea.store.merkle.hashing import HASH_SIZE
from calea.store.merkle.tiles import (
    TILE_HEIGHT,
    ReadTile,
    TileWrite,
    check_height,
    tile_writes,
)

if TYPE_CHECKING:
    from calea.store.merkle.storage import TileStore


@dataclass(frozen=True, slots=True)
class Integration:
    """The outcome of appending a batch: new frontier, new root, tiles to persist."""

    frontier: Frontier
    root: bytes
    writes: tuple[TileWrite, ...]


def check_leaf_hashes(leaf_hashes: Sequence[bytes]) -> None:
    """Leaves enter the log as 32-byte RFC 9162 leaf hashes (see `hashing.leaf_hash`)."""
    for i, h in enumerate(leaf_hashes):
        if type(h) is not bytes or len(h) != HASH_SIZE:
            raise UsageError(
                f"leaf_hashes[{i}] is not a {HASH_SIZE}-byte hash", reason="bad-leaf-hash"
            )


def plan_integration(
    read_tile: ReadTile,
    frontier: Frontier,
    leaf_hashes: Sequence[bytes],
    tile_height: int = TILE_HEIGHT,
) -> Integration:
    """Append `leaf_hashes` after `frontier`; return (without writing) the tiles that change."""
    check_height(tile_height)
    check_leaf_hashes(leaf_hashes)
    new_frontier, levels = extend_levels(frontier, leaf_hashes)
    writes: list[TileWrite] = []
    for lv in levels:
        writes.extend(tile_writes(read_tile, lv.level, lv.start, lv.hashes, tile_height))
    return Integration(new_frontier, new_frontier.root(), tuple(writes))


def integrate(
    store: TileStore,
    frontier: Frontier,
    new_leaf_hashes: Sequence[bytes],
    *,
    tile_height: int = TILE_HEIGHT,
) -> tuple[Frontier, bytes]:
    """Write the tiles for `new_leaf_hashes`; return the new frontier and root.

    Only tiles are written; committing the new size (the frontier) is the caller's step,
    taken after this returns (see `MerkleLog.append`).
    """
    plan = plan_integration(store.read, frontier, new_leaf_hashes, tile_height)
    for w in plan.writes:
        store.write(w.level, w.index, w.data)
    return plan.frontier, plan.root
