"""MerkleLog over tiles: proofs for every size agree with the RFC recursion, reopen works."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calea.store.merkle.compact import Frontier
from calea.store.merkle.errors import StorageError, UsageError
from calea.store.merkle.hashing import EMPTY_ROOT
from calea.store.merkle.integrate import integrate
from calea.store.merkle.log import MerkleLog
from calea.store.merkle.storage import FileTileStore, MemoryTileStore
from calea.store.merkle.verify import (
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

from . import _merkle_reference as ref

HEIGHTS = st.sampled_from([1, 2, 3, 8])


def leaves(n: int, seed: int = 0) -> list[bytes]:
    return [ref.leaf(f"{seed}:{i}".encode()) for i in range(n)]


def append_in_batches(log: MerkleLog, items: list[bytes], cuts: list[int]) -> None:
    pos = 0
    for cut in sorted(set(c % (len(items) + 1) for c in cuts)) + [len(items)]:
        first = log.append(items[pos:cut])
        assert first == pos
        pos = max(pos, cut)
    assert log.size == len(items)


@pytest.mark.parametrize("height", [1, 2, 8])
def test_every_proof_of_small_trees(height: int) -> None:
    """Exhaustive up to 20 leaves: every root, inclusion and consistency proof."""
    items = leaves(20)
    log = MerkleLog("small", MemoryTileStore(), tile_height=height)
    for n in range(1, 21):
        log.append([items[n - 1]])
        for size in range(0, n + 1):
            root = ref.mth(items[:size])
            assert log.root(size) == root
            for i in range(size):
                p = log.inclusion_proof(i, size)
                assert p == ref.path(i, items[:size])
                verify_inclusion(items[i], i, size, p, root)
            for size1 in range(0, size + 1):
                p = log.consistency_proof(size1, size)
                assert p == ref.proof(size1, items[:size])
                verify_consistency(size1, size, ref.mth(items[:size1]), root, p)


@pytest.mark.parametrize("height", [3, 8])
def test_all_proofs_at_and_around_tile_boundaries(height: int) -> None:
    """600 leaves: all inclusion and consistency proofs into sizes near 256, 512, 600."""
    items = leaves(600, seed=5)
    log = MerkleLog("big", MemoryTileStore(), tile_height=height)
    append_in_batches(log, items, [1, 255, 256, 300, 513])
    for size in (255, 256, 257, 511, 512, 513, 600):
        root = root_from_leaf_hashes(items[:size])
        assert log.root(size) == root
        for i in range(size):
            verify_inclusion(items[i], i, size, log.inclusion_proof(i, size), root)
        for size1 in range(0, size + 1, 7 if size < 600 else 1):
            root1 = root_from_leaf_hashes(items[:size1])
            verify_consistency(size1, size, root1, root, log.consistency_proof(size1, size))


@settings(max_examples=40, deadline=None)
@given(
    n=st.one_of(st.integers(1, 2000), st.integers(1000, 2000)),
    height=HEIGHTS,
    cuts=st.lists(st.integers(0, 2000), max_size=8),
    data=st.data(),
)
def test_proofs_from_tiles_verify(
    n: int, height: int, cuts: list[int], data: st.DataObject
) -> None:
    items = leaves(n)
    log = MerkleLog("prop", MemoryTileStore(), tile_height=height)
    append_in_batches(log, items, cuts)
    assert log.root() == root_from_leaf_hashes(items)
    for _ in range(6):
        size = data.draw(st.integers(1, n), label="size")
        index = data.draw(st.integers(0, size - 1), label="index")
        size1 = data.draw(st.integers(0, size), label="size1")
        root, root1 = root_from_leaf_hashes(items[:size]), root_from_leaf_hashes(items[:size1])
        assert log.root(size) == root
        assert log.leaf_hash(index) == items[index]
        incl = log.inclusion_proof(index, size)
        verify_inclusion(items[index], index, size, incl, root)
        assert incl == ref.path(index, items[:size])
        cons = log.consistency_proof(size1, size)
        verify_consistency(size1, size, root1, root, cons)
        assert cons == ref.proof(size1, items[:size])


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 2000), height=HEIGHTS, cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_log_survives_reopen_from_file_store(n: int, height: int, cuts: list[int]) -> None:
    items = leaves(n, seed=1)
    with tempfile.TemporaryDirectory() as base:
        pos = 0
        for cut in sorted(set(c % (n + 1) for c in cuts)) + [n]:
            log = MerkleLog(
                "case/42", FileTileStore.for_log(base, "case/42", fsync=False), tile_height=height
            )
            assert log.size == pos
            assert log.root() == root_from_leaf_hashes(items[:pos])
            log.append(items[pos:cut])
            pos = max(pos, cut)
        log = MerkleLog("case/42", FileTileStore.for_log(base, "case/42"), tile_height=height)
        assert log.size == n
        assert log.root() == root_from_leaf_hashes(items)
        assert log.leaf_hashes(0, n) == items
        i = n // 3
        verify_inclusion(items[i], i, n, log.inclusion_proof(i, n), log.root())


def test_append_returns_first_index_and_empty_append_is_noop() -> None:
    store = MemoryTileStore()
    log = MerkleLog("x", store)
    assert log.append([]) == 0 and store.writes == 0 and store.state is None
    assert log.append(leaves(3)) == 0
    assert log.append(leaves(2, seed=2)) == 3
    assert log.size == 5


def test_tiles_hold_256_hashes_and_partial_tiles_grow() -> None:
    store = MemoryTileStore()
    log = MerkleLog("x", store)
    items = leaves(256 * 3 + 10)
    log.append(items)
    assert sorted(store.tiles) == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]
    assert store.tiles[(0, 1)] == b"".join(items[256:512])
    assert len(store.tiles[(0, 3)]) == 10 * 32
    assert len(store.tiles[(1, 0)]) == 3 * 32  # roots of the three full 256-leaf subtrees
    assert store.tiles[(1, 0)][:32] == ref.mth(items[:256])
    more = leaves(5, seed=9)
    log.append(more)
    assert store.tiles[(0, 3)] == b"".join(items[768:] + more)


def test_state_write_is_the_commit_point() -> None:
    """Tiles written by an append whose state write never happened are ignored and overwritten."""
    items = leaves(300)
    store = MemoryTileStore()
    log = MerkleLog("crash", store)
    log.append(items[:100])
    committed = store.state
    integrate(store, log.frontier, leaves(150, seed=7))  # tiles written, state not: a crash
    assert store.state == committed
    reopened = MerkleLog("crash", store)
    assert reopened.size == 100
    assert reopened.root() == ref.mth(items[:100])
    verify_inclusion(items[99], 99, 100, reopened.inclusion_proof(99, 100), reopened.root())
    reopened.append(items[100:])
    assert reopened.root() == ref.mth(items)
    assert reopened.leaf_hashes(0, 300) == items


def test_wrong_log_or_height_refused() -> None:
    store = MemoryTileStore()
    MerkleLog("a", store).append(leaves(3))
    with pytest.raises(StorageError) as exc:
        MerkleLog("b", store)
    assert exc.value.reason == "wrong-log"
    with pytest.raises(StorageError) as exc:
        MerkleLog("a", store, tile_height=4)
    assert exc.value.reason == "wrong-tile-height"


@pytest.mark.parametrize(
    "state",
    [b"{not json", b"[]", b'{"format": "calea-merkle-log/1"}', b"\xff", b'{"format": "other"}'],
)
def test_corrupt_state_is_a_storage_error(state: bytes) -> None:
    store = MemoryTileStore()
    store.state = state
    with pytest.raises(StorageError) as exc:
        MerkleLog("a", store)
    assert exc.value.reason == "bad-state"


def test_missing_tiles_are_storage_errors() -> None:
    store = MemoryTileStore()
    log = MerkleLog("a", store)
    log.append(leaves(10))
    del store.tiles[(0, 0)]
    with pytest.raises(StorageError) as exc:
        log.inclusion_proof(3, 10)
    assert exc.value.reason == "missing-tile"


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("inclusion_proof", (5, 5)),
        ("inclusion_proof", (0, 6)),
        ("inclusion_proof", (-1, 5)),
        ("consistency_proof", (3, 6)),
        ("consistency_proof", (4, 3)),
        ("root", (6,)),
        ("leaf_hash", (5,)),
        ("leaf_hashes", (2, 6)),
    ],
)
def test_out_of_range_requests_are_usage_errors(call: str, args: tuple[int, ...]) -> None:
    log = MerkleLog("a", MemoryTileStore())
    log.append(leaves(5))
    with pytest.raises(UsageError):
        getattr(log, call)(*args)


@pytest.mark.parametrize(
    "bad", [b"short", "x" * 32, bytearray(32), hashlib.sha256(b"").digest() + b"!"]
)
def test_append_rejects_non_hashes(bad: object) -> None:
    store = MemoryTileStore()
    log = MerkleLog("a", store)
    with pytest.raises(UsageError) as exc:
        log.append([leaves(1)[0], bad])  # type: ignore[list-item]
    assert exc.value.reason == "bad-leaf-hash"
    assert log.size == 0 and store.writes == 0


def test_integrate_returns_root_and_frontier() -> None:
    store = MemoryTileStore()
    items = leaves(1000)
    frontier, root = integrate(store, Frontier.empty(), items[:400])
    frontier, root = integrate(store, frontier, items[400:])
    assert frontier.size == 1000 and root == ref.mth(items) == frontier.root()
    assert MerkleLog("a", MemoryTileStore()).root() == EMPTY_ROOT


def test_reader_refresh_sees_the_writers_appends(tmp_path: Path) -> None:
    writer = MerkleLog("c", FileTileStore(tmp_path, fsync=False))
    reader = MerkleLog("c", FileTileStore(tmp_path, fsync=False))
    writer.append(leaves(300))
    assert reader.size == 0
    assert reader.refresh() == 300 and reader.root() == writer.root()
