from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calea.store.merkle.compact import Frontier, extend_levels
from calea.store.merkle.errors import StorageError, UsageError
from calea.store.merkle.hashing import EMPTY_ROOT

from . import _merkle_reference as ref


def leaves(n: int) -> list[bytes]:
    return [ref.leaf(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 600), cuts=st.lists(st.integers(0, 600), max_size=10))
def test_frontier_root_matches_reference_for_any_batching(n: int, cuts: list[int]) -> None:
    items = leaves(n)
    f = Frontier.empty()
    pos = 0
    for cut in sorted(set(c % (n + 1) for c in cuts)) + [n]:
        f = f.extend(items[pos:cut])
        pos = max(pos, cut)
        assert f.size == pos and f.root() == ref.mth(items[:pos])
        assert Frontier.from_bytes(f.to_bytes()) == f


def test_frontier_holds_one_hash_per_set_bit() -> None:
    items = leaves(13)  # 0b1101: subtrees of 8, 4 and 1 leaves
    f = Frontier.empty().extend(items)
    assert f.hashes == (ref.mth(items[:8]), ref.mth(items[8:12]), items[12])
    assert f.levels() == {3: f.hashes[0], 2: f.hashes[1], 0: f.hashes[2]}
    assert Frontier.empty().root() == EMPTY_ROOT


def test_extend_levels_lists_each_new_node_once() -> None:
    items = leaves(7)
    f, _ = extend_levels(Frontier.empty(), items[:3])
    f, levels = extend_levels(f, items[3:])
    got = {(lv.level, lv.start + i): h for lv in levels for i, h in enumerate(lv.hashes)}
    assert got == {
        (0, 3): items[3],
        (0, 4): items[4],
        (0, 5): items[5],
        (0, 6): items[6],
        (1, 1): ref.mth(items[2:4]),
        (1, 2): ref.mth(items[4:6]),
        (2, 0): ref.mth(items[0:4]),
    }


def test_serialised_form_is_text() -> None:
    items = leaves(3)
    f = Frontier.empty().extend(items)
    assert f.to_bytes() == (
        f"calea-frontier/1\n3\n{ref.mth(items[:2]).hex()}\n{items[2].hex()}\n".encode()
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"calea-frontier/1\n3\n",
        b"nope\n0\n",
        b"calea-frontier/1\n1\nzz\n",
        b"calea-frontier/1\n1\n00\n",
        b"\xff",
    ],
)
def test_bad_serialised_frontier(data: bytes) -> None:
    with pytest.raises(StorageError):
        Frontier.from_bytes(data)


def test_frontier_size_and_hash_count_must_agree() -> None:
    with pytest.raises(UsageError):
        Frontier(3, (EMPTY_ROOT,))
