from __future__ import annotations

import os
from pathlib import Path

import pytest

from calea.store.merkle import slots
from calea.store.merkle.compact import Frontier
from calea.store.merkle.errors import StorageError, UsageError
from calea.store.merkle.log import MerkleLog, encode_state
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


# --- the state's two slots (slots.py), rewritten in place -----------------------------------------


def test_a_slot_round_trips_and_a_torn_one_is_refused() -> None:
    slot = slots.encode_slot(7, b'{"size": 3}')
    assert len(slot) == slots.SLOT_SIZE and slots.decode_slot(slot) == (7, b'{"size": 3}')
    for i in (0, 9, 20, 25, 20 + 11 + 5):  # magic, generation, data, digest
        torn = bytearray(slot)
        torn[i] ^= 1
        assert slots.decode_slot(bytes(torn)) is None, i
    assert slots.decode_slot(bytes(slots.SLOT_SIZE)) is None
    assert slots.decode_slot(slot[:40]) is None  # cut inside the data


def test_the_newest_whole_slot_wins() -> None:
    a, b = slots.encode_slot(4, b"four"), slots.encode_slot(5, b"five")
    assert slots.newest(a + b) == (5, b"five") and slots.newest(b + a) == (5, b"five")
    torn = b[:22] + bytes(len(b) - 22)  # the write of generation 5 stopped inside its data
    assert slots.newest(a + torn) == (4, b"four")
    assert slots.newest(bytes(slots.FILE_SIZE)) is None


def test_a_state_larger_than_a_slot_is_refused() -> None:
    slots.encode_slot(1, b"x" * slots.CAPACITY)
    with pytest.raises(slots.SlotError):
        slots.encode_slot(1, b"x" * (slots.CAPACITY + 1))


def test_the_largest_log_state_fits_a_slot() -> None:
    """A frontier holds at most 64 hashes (one per bit of the size)."""
    frontier = Frontier(2**64 - 1, tuple(bytes([i]) * 32 for i in range(64)))
    assert len(encode_state("c" * 200, 8, frontier)) <= slots.CAPACITY


@pytest.mark.parametrize("fsync", [True, False])
def test_the_state_is_rewritten_in_place_alternately(tmp_path: Path, fsync: bool) -> None:
    """D1: after the file is made, a state write is no rename (the same inode) and goes to the
    slot that does not hold the newest state."""
    store = FileTileStore(tmp_path / "log", fsync=fsync)
    store.write_state(b"one")
    path = tmp_path / "log/state"
    inode = path.stat().st_ino
    store.write_state(b"two")
    store.write_state(b"three")
    assert path.stat().st_ino == inode and path.stat().st_size == slots.FILE_SIZE
    data = path.read_bytes()
    assert slots.decode_slot(data[: slots.SLOT_SIZE]) == (2, b"two")
    assert slots.decode_slot(data[slots.SLOT_SIZE :]) == (3, b"three")
    assert store.read_state() == b"three"
    assert FileTileStore(tmp_path / "log").read_state() == b"three"  # another reader
    again = FileTileStore(tmp_path / "log")  # a restarted writer carries on from the file
    again.write_state(b"four")
    assert slots.decode_slot(path.read_bytes()[: slots.SLOT_SIZE]) == (4, b"four")
    assert store.read_state() == b"four" and path.stat().st_ino == inode


def test_a_torn_state_write_leaves_the_previous_state(tmp_path: Path) -> None:
    """D1: a crash inside a state write loses that append's commit only; the log reopens at the
    size before it, and appending again brings it level."""
    leaves = [bytes([i]) * 32 for i in range(1, 30)]
    reference = MerkleLog("ref", MemoryTileStore())
    reference.append(leaves)
    log = MerkleLog("case", FileTileStore(tmp_path / "log", fsync=False))
    log.append(leaves[:10])
    log.append(leaves[10:20])
    path = tmp_path / "log/state"
    data = bytearray(path.read_bytes())
    newest_slot = slots.slot_offset(slots.newest(bytes(data))[0])
    data[newest_slot + 30 : newest_slot + 60] = bytes(30)  # the write of size 20 torn
    path.write_bytes(bytes(data))
    log = MerkleLog("case", FileTileStore(tmp_path / "log", fsync=False))
    assert log.size == 10 and log.root() == reference.root(10)
    log.append(leaves[10:])
    assert log.root() == reference.root() and log.leaf_hashes(0, 29) == reference.leaf_hashes(0, 29)


def test_a_state_file_with_no_whole_slot_is_a_storage_error(tmp_path: Path) -> None:
    store = FileTileStore(tmp_path / "log")
    store.write_state(b"one")
    path = tmp_path / "log/state"
    path.write_bytes(slots.MAGIC + bytes(slots.FILE_SIZE - len(slots.MAGIC)))
    with pytest.raises(StorageError) as exc:
        FileTileStore(tmp_path / "log").read_state()
    assert exc.value.reason == "bad-state"


def test_a_bare_state_an_earlier_version_wrote_is_read_then_slotted(tmp_path: Path) -> None:
    """Logs written before the slots: their JSON state file is read as it is, and the first
    append makes it a slotted file."""
    leaves = [bytes([i]) * 32 for i in range(1, 12)]
    reference = MerkleLog("ref", MemoryTileStore())
    reference.append(leaves)
    log = MerkleLog("case", FileTileStore(tmp_path / "log"))
    log.append(leaves[:5])
    path = tmp_path / "log/state"
    path.write_bytes(encode_state("case", 8, log.frontier))  # as the earlier version wrote it
    log = MerkleLog("case", FileTileStore(tmp_path / "log"))
    assert log.size == 5 and log.root() == reference.root(5)
    log.append(leaves[5:])
    assert slots.is_slotted(path.read_bytes()) and path.stat().st_size == slots.FILE_SIZE
    assert MerkleLog("case", FileTileStore(tmp_path / "log")).root() == reference.root()


def test_a_state_too_large_for_a_slot_is_a_storage_error(tmp_path: Path) -> None:
    store = FileTileStore(tmp_path / "log")
    with pytest.raises(StorageError) as exc:
        store.write_state(b"x" * (slots.CAPACITY + 1))
    assert exc.value.reason == "state-too-large"
    assert store.read_state() is None  # nothing written
