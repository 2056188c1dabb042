"""`MerkleLog`: one case's append-only log over a `TileStore`, serving roots and proofs.

Appending integrates leaf hashes into tiles (`integrate.py`), then commits the new size by
writing the state: a JSON object

    {"format": "calea-merkle-log/1", "log_id": ..., "tile_height": 8,
     "size": <n>, "frontier": ["<hex>", ...]}

Reopening reads the state back, so a restarted process resumes without rehashing.  Tiles
written by an append that crashed before its state write are ignored (their valid prefix
is unchanged) and overwritten by the next append.

Proofs and roots are served for any size up to the current one: every hash they need is a
complete subtree at that size, hence already in the tiles and never changed since.

Concurrency: one writer calls `append`; other threads may read (proofs, roots) meanwhile,
and other processes may open the same store read-only and call `refresh` to see new leaves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from calea.store.merkle.compact import Frontier
from calea.store.merkle.errors import StorageError, UsageError
from calea.store.merkle.hashing import EMPTY_ROOT, HASH_SIZE
from calea.store.merkle.integrate import integrate
from calea.store.merkle.proofs import (
    Node,
    NodeRange,
    consistency_ranges,
    inclusion_ranges,
)
from calea.store.merkle.storage import TileStore
from calea.store.merkle.tiles import (
    TILE_HEIGHT,
    ReadTile,
    check_height,
    perfect_hash,
    range_hash,
    split_hashes,
    stored_count,
)

_STATE_FORMAT = "calea-merkle-log/1"


def encode_state(log_id: str, tile_height: int, frontier: Frontier) -> bytes:
    state = {
        "format": _STATE_FORMAT,
        "log_id": log_id,
        "tile_height": tile_height,
        "size": frontier.size,
        "frontier": [h.hex() for h in frontier.hashes],
    }
    return json.dumps(state, sort_keys=True).encode("utf-8")


def decode_state(data: bytes, log_id: str, tile_height: int) -> Frontier:
    try:
        state = json.loads(data)
        if state["format"] != _STATE_FORMAT:
            raise ValueError(f"unknown state format {state['format']!r}")
        size = int(state["size"])
        hashes = tuple(bytes.fromhex(h) for h in state["frontier"])
        if any(len(h) != HASH_SIZE for h in hashes) or size.bit_count() != len(hashes):
            raise ValueError("frontier does not match size")
        stored_id, stored_height = state["log_id"], state["tile_height"]
    except (ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"unreadable log state: {exc}", reason="bad-state") from exc
    if stored_id != log_id:
        raise StorageError("store holds a different log", reason="wrong-log")
    if stored_height != tile_height:
        raise StorageError(
            f"log was written with tile height {stored_height}, not {tile_height}",
            reason="wrong-tile-height",
        )
    return Frontier(size, hashes)


class MerkleLog:
    """An RFC 9162 log of 32-byte leaf hashes, stored as tiles."""

    def __init__(self, log_id: str, store: TileStore, *, tile_height: int = TILE_HEIGHT) -> None:
        check_height(tile_height)
        if not log_id:
            raise UsageError("log id must not be empty", reason="bad-log-id")
        self._log_id = log_id
        self._store = store
        self._height = tile_height
        raw = store.read_state()
        self._frontier = Frontier.empty() if raw is None else decode_state(raw, log_id, tile_height)

    def refresh(self) -> int:
        """Re-read the committed state (for a reader process while another one appends)."""
        raw = self._store.read_state()
        if raw is not None:
            self._frontier = decode_state(raw, self._log_id, self._height)
        return self._frontier.size

    @property
    def log_id(self) -> str:
        return self._log_id

    @property
    def size(self) -> int:
        return self._frontier.size

    @property
    def frontier(self) -> Frontier:
        return self._frontier

    def append(self, leaf_hashes: Sequence[bytes]) -> int:
        """Append RFC 9162 leaf hashes; return the index the first one got."""
        first = self._frontier.size
        if not leaf_hashes:
            return first
        frontier, _ = integrate(self._store, self._frontier, leaf_hashes, tile_height=self._height)
        self._store.write_state(encode_state(self._log_id, self._height, frontier))
        self._frontier = frontier
        return first

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves (default: the whole log)."""
        size = self._check_size(size)
        if size == self._frontier.size:
            return self._frontier.root()
        if size == 0:
            return EMPTY_ROOT
        return range_hash(self._reader(), NodeRange(0, size), self._height)

    def leaf_hash(self, index: int) -> bytes:
        if not 0 <= index < self.size:
            raise UsageError(f"no leaf {index} in a log of size {self.size}", reason="bad-index")
        return perfect_hash(self._store.read, Node(0, index), self._height)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Leaf hashes [start, end), read a tile at a time (for full re-verification)."""
        if not 0 <= start <= end <= self.size:
            raise UsageError(
                f"no leaves [{start}, {end}) in a log of size {self.size}", reason="bad-range"
            )
        width, out = 1 << self._height, list[bytes]()
        if start == end:
            return out
        for tile_index in range(start >> self._height, ((end - 1) >> self._height) + 1):
            data = self._store.read(0, tile_index) or b""
            count = stored_count(0, tile_index, self.size, self._height)
            if len(data) < count * HASH_SIZE:
                raise StorageError(f"leaf tile {tile_index} is short", reason="missing-tile")
            hashes = split_hashes(data[: count * HASH_SIZE])
            base = tile_index * width
            out.extend(hashes[max(start - base, 0) : end - base])
        return out

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves."""
        size = self._check_size(size)
        read = self._reader()
        return [range_hash(read, r, self._height) for r in inclusion_ranges(index, size)]

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """The RFC 9162 consistency proof from the tree of `size1` to the tree of `size2`."""
        size2 = self._check_size(size2)
        read = self._reader()
        return [range_hash(read, r, self._height) for r in consistency_ranges(size1, size2)]

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self._frontier.size
        if not 0 <= size <= self._frontier.size:
            raise UsageError(f"size {size} beyond the log's size {self.size}", reason="bad-size")
        return size

    def _reader(self) -> ReadTile:
        """A tile reader that reads each tile at most once (for one proof)."""
        cache: dict[tuple[int, int], bytes | None] = {}
        store = self._store

        def read(level: int, index: int) -> bytes | None:
            key = (level, index)
            if key not in cache:
                cache[key] = store.read(level, index)
            return cache[key]

        return read
