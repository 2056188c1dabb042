"""Tile layout: where each tree node's hash is stored, and how to read hashes back.

SPEC (shape, not wire format): https://c2sp.org/tlog-tiles

The tree is cut into horizontal strips `height` levels tall (8 by default).  Tile level T
stores the hashes of tree level T * height, `width` = 2**height of them per tile:

    tile (T, N) = hashes of tree-level-(T*height) nodes [N*width, (N+1)*width), concatenated

So level-0 tiles hold leaf hashes, level-1 tiles hold the roots of 256-leaf subtrees, and
so on.  A tile is *partial* while the tree has not filled it; it is rewritten (in place,
by the store) as it grows, and its stored prefix never changes.  Nodes on the levels in
between are not stored: a node r levels above a stored level is folded from the 2**r
stored hashes under it, all inside one tile (r < height).

Unlike tlog-tiles, a partial tile lives at the same path as the full one (no `.p/W`
suffix): the log's committed size, not the file name, says how many hashes are valid.
Hashes past that count (left by a crash before the state was committed) are ignored and
overwritten by the next append.

Everything here is pure; storage is reached only through a `ReadTile` function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from calea.store.merkle.errors import StorageError, UsageError
from calea.store.merkle.hashing import HASH_SIZE, hash_pairs, node_hash
from calea.store.merkle.proofs import Node, NodeRange

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes, 8 KiB per full tile

ReadTile = Callable[[int, int], bytes | None]
"""`read(tile_level, tile_index)`: the stored tile bytes, or None if there is no such tile."""


@dataclass(frozen=True, slots=True)
class TileWrite:
    """New content for tile (level, index): `len(data) // 32` hashes."""

    level: int
    index: int
    data: bytes


@dataclass(frozen=True, slots=True)
class TileSlot:
    """Where a node lives: `count` consecutive hashes at `offset` of tile (level, index)."""

    level: int
    index: int
    offset: int
    count: int


def check_height(height: int) -> None:
    if not isinstance(height, int) or not 1 <= height <= 16:
        raise UsageError(f"tile height {height!r} not in 1..16", reason="bad-tile-height")


def tile_path(level: int, index: int) -> str:
    """Relative path of a tile: ``tile/<level>/<N>``, N in 3-digit groups (x001/x234/067)."""
    if level < 0 or index < 0:
        raise UsageError(f"no tile ({level}, {index})", reason="bad-tile")
    n = f"{index % 1000:03d}"
    index //= 1000
    while index:
        n = f"x{index % 1000:03d}/{n}"
        index //= 1000
    return f"tile/{level}/{n}"


def slot_of(node: Node, height: int = TILE_HEIGHT) -> TileSlot:
    """The stored hashes a perfect subtree's hash is folded from."""
    tile_level, r = divmod(node.level, height)
    first = node.index << r  # index of the node's leftmost descendant on the stored level
    return TileSlot(tile_level, first >> height, first & ((1 << height) - 1), 1 << r)


def stored_count(
    tile_level: int, tile_index: int, tree_size: int, height: int = TILE_HEIGHT
) -> int:
    """How many valid hashes tile (tile_level, tile_index) holds in a tree of `tree_size`."""
    on_level = tree_size >> (tile_level * height)  # complete nodes on the stored level
    return max(0, min(1 << height, on_level - (tile_index << height)))


def split_hashes(data: bytes) -> list[bytes]:
    if len(data) % HASH_SIZE:
        raise StorageError(f"tile of {len(data)} bytes is not whole hashes", reason="bad-tile")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def _read_slot(read_tile: ReadTile, slot: TileSlot) -> list[bytes]:
    data = read_tile(slot.level, slot.index)
    end = (slot.offset + slot.count) * HASH_SIZE
    if data is None or len(data) < end:
        raise StorageError(
            f"tile ({slot.level}, {slot.index}) lacks hashes "
            f"{slot.offset}..{slot.offset + slot.count - 1}",
            reason="missing-tile",
        )
    return split_hashes(data[slot.offset * HASH_SIZE : end])


def perfect_hash(read_tile: ReadTile, node: Node, height: int = TILE_HEIGHT) -> bytes:
    """The hash of a perfect subtree, read from (and folded within) one tile."""
    hashes = _read_slot(read_tile, slot_of(node, height))
    while len(hashes) > 1:
        hashes = hash_pairs(hashes)
    return hashes[0]


def range_hash(read_tile: ReadTile, rng: NodeRange, height: int = TILE_HEIGHT) -> bytes:
    """MTH(D[start:end]) for a subtree range, from the perfect subtrees covering it."""
    hashes = [perfect_hash(read_tile, node, height) for node in rng.nodes()]
    r = hashes[-1]
    for h in reversed(hashes[:-1]):
        r = node_hash(h, r)
    return r


def tile_writes(
    read_tile: ReadTile, level: int, start: int, hashes: list[bytes], height: int = TILE_HEIGHT
) -> list[TileWrite]:
    """The tiles to write after tree `level` (a stored level) gained nodes [start, start+len).

    A first tile that is already partly filled is read for its valid prefix, so every
    written tile starts at its first hash and has no gaps.
    """
    if level % height or not hashes:
        return []
    tile_level, width = level // height, 1 << height
    out: list[TileWrite] = []
    pos, i = start, 0
    while i < len(hashes):
        tile_index, offset = divmod(pos, width)
        take = min(width - offset, len(hashes) - i)
        prefix = b""
        if offset:
            prefix = b"".join(_read_slot(read_tile, TileSlot(tile_level, tile_index, 0, offset)))
        data = prefix + b"".join(hashes[i : i + take])
        out.append(TileWrite(tile_level, tile_index, data))
        pos, i = pos + take, i + take
    return out
