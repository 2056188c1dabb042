"""The frontier (compact range [0, size)): enough state to append leaves and get the root.

SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1 (MTH); the "compact range"
idea as in transparency-dev/merkle docs/compact_ranges.md.

A tree of `size` leaves is the concatenation of perfect subtrees, one per set bit of
`size`, largest (leftmost) first.  The frontier keeps only their root hashes: at most
log2(size) + 1 hashes.  The tree root folds them from the right, and appending a batch of
k leaves computes exactly the new complete nodes -- about k hashes, i.e. amortised O(1)
per leaf -- level by level (`extend_levels`).  Those new nodes are what the tile layout
stores, so integration and the frontier share one code path.

Serialised form (`to_bytes`), UTF-8 text, one item a line:

    calea-frontier/1
    <size, decimal>
    <hex hash of the largest subtree>
    ...
    <hex hash of the smallest subtree>
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from calea.store.merkle.errors import StorageError, UsageError
from calea.store.merkle.hashing import EMPTY_ROOT, HASH_SIZE, hash_pairs, node_hash

_MAGIC = "calea-frontier/1"


@dataclass(frozen=True, slots=True)
class LevelNodes:
    """The new complete nodes of one tree level after an append: indices [start, start+len)."""

    level: int
    start: int
    hashes: list[bytes]


@dataclass(frozen=True, slots=True)
class Frontier:
    """Root hashes of the perfect subtrees making up [0, size), largest first."""

    size: int
    hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.hashes) != self.size.bit_count():
            raise UsageError(
                f"a tree of {self.size} leaves has {max(self.size, 0).bit_count()} frontier "
                f"hashes, not {len(self.hashes)}",
                reason="bad-frontier",
            )

    @classmethod
    def empty(cls) -> Frontier:
        return cls(0, ())

    def levels(self) -> dict[int, bytes]:
        """Map tree level -> root hash of the frontier subtree at that level."""
        bits = [level for level in range(self.size.bit_length()) if self.size >> level & 1]
        return dict(zip(reversed(bits), self.hashes, strict=True))

    def root(self) -> bytes:
        """MTH(D[0:size]): fold the subtree hashes from the smallest (rightmost) one."""
        if not self.hashes:
            return EMPTY_ROOT
        r = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            r = node_hash(h, r)
        return r

    def extend(self, leaf_hashes: Sequence[bytes]) -> Frontier:
        """The frontier after appending `leaf_hashes`."""
        return extend_levels(self, leaf_hashes)[0]

    def to_bytes(self) -> bytes:
        lines = [_MAGIC, str(self.size), *(h.hex() for h in self.hashes)]
        return ("\n".join(lines) + "\n").encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        try:
            lines = data.decode("ascii").split("\n")
            if lines[0] != _MAGIC or lines[-1] != "":
                raise ValueError("not a calea frontier")
            size = int(lines[1])
            hashes = tuple(bytes.fromhex(line) for line in lines[2:-1])
        except (UnicodeDecodeError, ValueError, IndexError) as exc:
            raise StorageError(f"unreadable frontier: {exc}", reason="bad-frontier") from exc
        if any(len(h) != HASH_SIZE for h in hashes) or size.bit_count() != len(hashes):
            raise StorageError("frontier hashes do not match its size", reason="bad-frontier")
        return cls(size, hashes)


def extend_levels(
    frontier: Frontier, leaf_hashes: Sequence[bytes]
) -> tuple[Frontier, list[LevelNodes]]:
    """Append leaves; return the new frontier and every new complete node, level by level.

    With n = old size and m = new size, level L gains the nodes [n >> L, m >> L).  Pairing
    them needs one older node on the left when n >> L is odd; that node is exactly the
    frontier's level-L subtree.  A trailing unpaired node waits for the next append.
    """
    old = frontier.levels()
    n = frontier.size
    m = n + len(leaf_hashes)
    new_roots: dict[int, bytes] = {}
    levels: list[LevelNodes] = []
    nodes, start, level = list(leaf_hashes), n, 0
    while nodes:
        levels.append(LevelNodes(level, start, nodes))
        if m >> level & 1:
            new_roots[level] = nodes[-1]  # node (m >> level) - 1 is the last new one
        if start & 1:
            nodes, start = hash_pairs([old[level], *nodes]), (start - 1) >> 1
        else:
            nodes, start = hash_pairs(nodes), start >> 1
        level += 1
    for lvl in range(level, m.bit_length()):  # untouched levels keep their old subtree
        if m >> lvl & 1:
            new_roots[lvl] = old[lvl]
    hashes = tuple(new_roots[lvl] for lvl in sorted(new_roots, reverse=True))
    return Frontier(m, hashes), levels
