"""Proof arithmetic: node ranges, perfect-subtree decomposition, tile layout."""

from __future__ import annotations

import pytest

from calea.store.merkle.errors import UsageError
from calea.store.merkle.proofs import (
    Node,
    NodeRange,
    consistency_ranges,
    inclusion_ranges,
    largest_power_of_two_below,
    perfect_subtrees,
)
from calea.store.merkle.tiles import TileSlot, slot_of, stored_count, tile_path

from . import _merkle_reference as ref


def leaves(n: int) -> list[bytes]:
    return [ref.leaf(bytes([i])) for i in range(n)]


def hashes_of(ranges: tuple[NodeRange, ...], items: list[bytes]) -> list[bytes]:
    return [ref.mth(items[r.start : r.end]) for r in ranges]


def test_inclusion_ranges_for_leaf_5_of_8() -> None:
    # leaf 5's siblings: leaf 4, then leaves [6, 8), then [0, 4)
    assert inclusion_ranges(5, 8) == (NodeRange(4, 5), NodeRange(6, 8), NodeRange(0, 4))


def test_consistency_ranges_6_to_8() -> None:
    assert consistency_ranges(6, 8) == (NodeRange(4, 6), NodeRange(6, 8), NodeRange(0, 4))


def test_ranges_match_rfc_recursion_exhaustively() -> None:
    items = leaves(40)
    for n in range(1, 41):
        for m in range(n):
            assert hashes_of(inclusion_ranges(m, n), items) == ref.path(m, items[:n])
        for m in range(n + 1):
            assert hashes_of(consistency_ranges(m, n), items) == ref.proof(m, items[:n])


def test_every_range_is_a_subtree() -> None:
    for n in range(1, 300):
        for m in range(0, n, 7):
            for r in inclusion_ranges(m, n) + consistency_ranges(m, n):
                nodes = r.nodes()  # raises on a non-subtree range
                assert nodes[0].start == r.start and nodes[-1].end == r.end


def test_perfect_subtrees() -> None:
    assert perfect_subtrees(0, 13) == (Node(3, 0), Node(2, 2), Node(0, 12))
    assert perfect_subtrees(8, 11) == (Node(1, 4), Node(0, 10))
    assert perfect_subtrees(256, 512) == (Node(8, 1),)
    with pytest.raises(UsageError):
        perfect_subtrees(1, 4)  # [1, 2) then [2, 4): grows, not a subtree
    with pytest.raises(UsageError):
        perfect_subtrees(3, 3)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (inclusion_ranges, (0, 0)),
        (inclusion_ranges, (3, 3)),
        (inclusion_ranges, (-1, 3)),
        (consistency_ranges, (4, 3)),
        (consistency_ranges, (-1, 3)),
        (largest_power_of_two_below, (1,)),
    ],
)
def test_bad_arguments(call: object, args: tuple[int, ...]) -> None:
    with pytest.raises(UsageError):
        call(*args)  # type: ignore[operator]


def test_largest_power_of_two_below() -> None:
    assert [largest_power_of_two_below(n) for n in (2, 3, 4, 5, 8, 9, 1000)] == [
        1,
        2,
        2,
        4,
        4,
        8,
        512,
    ]


def test_tile_layout() -> None:
    assert slot_of(Node(0, 1000)) == TileSlot(0, 3, 232, 1)
    assert slot_of(Node(3, 40)) == TileSlot(0, 1, 64, 8)  # leaves 320..327
    assert slot_of(Node(8, 5)) == TileSlot(1, 0, 5, 1)
    assert slot_of(Node(17, 1)) == TileSlot(2, 0, 2, 2)
    assert slot_of(Node(5, 3), height=2) == TileSlot(2, 1, 2, 2)
    assert stored_count(0, 3, 1000) == 1000 - 768
    assert stored_count(0, 2, 1000) == 256
    assert stored_count(1, 0, 1000) == 3
    assert stored_count(0, 4, 1000) == 0


@pytest.mark.parametrize(
    ("level", "index", "path"),
    [
        (0, 0, "tile/0/000"),
        (0, 67, "tile/0/067"),
        (1, 1234067, "tile/1/x001/x234/067"),
        (2, 1000, "tile/2/x001/000"),
    ],
)
def test_tile_path(level: int, index: int, path: str) -> None:
    assert tile_path(level, index) == path
