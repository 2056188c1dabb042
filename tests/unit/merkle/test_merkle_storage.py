from __future__ import annotations

import os
from pathlib import Path

import pytest

from calea.store.merkle.errors import StorageError, UsageError
from calea.store.merkle.log import MerkleLog
from calea.store.merkle.storage import (
    FileTileStore,
    MemoryTileStore,
    TileStore,
    log_dir_name,
)


def test_file_store_layout_and_round_trip(tmp_path: Path) -> None:
    store = FileTileStore(tmp_path / "log")
    assert store.read(0, 1234067) is None and store.read_state() is None
    store.write(0, 1234067, b"a" * 64)
    store.write(0, 1234067, b"a" * 64 + b"b" * 32)  # a partial tile grows, in place
    store.write_state(b"{}")
    assert (tmp_path / "log/tile/0/x001/x234/067").read_bytes() == b"a" * 64 + b"b" * 32
    assert store.read(0, 1234067) == b"a" * 64 + b"b" * 32 and store.read_state() == b"{}"
    leftovers = [p for p in (tmp_path / "log").rglob("*") if p.name.startswith(".tmp")]
    assert leftovers == []


def test_directories_are_private(tmp_path: Path) -> None:
    store = FileTileStore(tmp_path / "log")
    store.write(1, 0, b"x" * 32)
    for d in [tmp_path / "log", tmp_path / "log/tile", tmp_path / "log/tile/1"]:
        assert d.stat().st_mode & 0o777 == 0o700


def test_one_directory_per_log(tmp_path: Path) -> None:
    a = MerkleLog("case/1", FileTileStore.for_log(tmp_path, "case/1", fsync=False))
    b = MerkleLog("case/2", FileTileStore.for_log(tmp_path, "case/2", fsync=False))
    a.append([b"\x01" * 32])
    b.append([b"\x02" * 32, b"\x03" * 32])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case%2F1", "case%2F2"]
    assert MerkleLog("case/1", FileTileStore.for_log(tmp_path, "case/1")).size == 1


@pytest.mark.parametrize(
    ("log_id", "name"),
    [
        ("case-7", "case-7"),
        ("a/b", "a%2Fb"),
        ("..", "%2E."),
        (".x", "%2Ex"),
        ("é", "%C3%A9"),
        ("a b", "a%20b"),
    ],
)
def test_log_dir_name(log_id: str, name: str) -> None:
    assert log_dir_name(log_id) == name


@pytest.mark.parametrize("log_id", ["", "x" * 201])
def test_bad_log_ids(log_id: str) -> None:
    with pytest.raises(UsageError):
        log_dir_name(log_id)


def test_io_errors_become_storage_errors(tmp_path: Path) -> None:
    store = FileTileStore(tmp_path / "log")
    (tmp_path / "log/tile").write_text("a file where a directory should be")
    with pytest.raises(StorageError) as exc:
        store.write(0, 0, b"x" * 32)
    assert exc.value.reason == "io-error"


def test_adapters_satisfy_the_port(tmp_path: Path) -> None:
    stores: list[TileStore] = [MemoryTileStore(), FileTileStore(tmp_path)]
    for s in stores:
        s.write(0, 0, b"z" * 32)
        assert s.read(0, 0) == b"z" * 32 and s.read(0, 1) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file modes")
def test_unreadable_tile_is_storage_error(tmp_path: Path) -> None:
    store = FileTileStore(tmp_path)
    store.write(0, 0, b"z" * 32)
    (tmp_path / "tile/0/000").chmod(0)
    with pytest.raises(StorageError):
        store.read(0, 0)


def test_hashes_a_crash_left_past_the_committed_size_are_ignored_then_overwritten(tmp_path: Path) -> None:
    """D1: tiles are written in place; bytes past the committed count (a crash between the
    tile write and the state's) change no root or proof, and the next append replaces them."""
    leaves = [bytes([i]) * 32 for i in range(1, 40)]
    reference = MerkleLog("ref", MemoryTileStore())
    reference.append(leaves)
    store = FileTileStore(tmp_path / "log", fsync=False)
    log = MerkleLog("case", store)
    log.append(leaves[:10])
    tile = tmp_path / "log/tile/0/000"
    tile.write_bytes(tile.read_bytes() + b"\xee" * 32 * 50)  # as if a crash had left 50 stray hashes
    log = MerkleLog("case", FileTileStore(tmp_path / "log", fsync=False))  # reopened
    assert log.size == 10 and log.root() == reference.root(10)
    assert log.leaf_hashes(0, 10) == reference.leaf_hashes(0, 10)
    log.append(leaves[10:])
    assert log.root() == reference.root() and log.leaf_hashes(0, 39) == reference.leaf_hashes(0, 39)
    assert tile.read_bytes()[: 39 * 32] == b"".join(reference.leaf_hashes(0, 39))
    assert tile.read_bytes()[39 * 32 :] == b"\xee" * 32 * 21  # still there, never counted
