"""Where tiles and the log's committed state live: the `TileStore` port and two adapters.

The port has two pairs of verbs:

- `read(level, index)` / `write(level, index, data)`: tiles (see `tiles.py`).  A write puts
  `data` at the start of the tile.  A tile only grows: `data` begins with the hashes the
  tile already holds (tiles.py: "its stored prefix never changes"), and a reader uses no
  more hashes than the committed state counts, so a reader never sees a hash change.
- `read_state()` / `write_state(data)`: the log's committed state (size + frontier).  Writing
  it is the commit point of an append: tiles are written first, then the state, and a
  store must make every earlier tile write durable before the state write is.  The file
  store keeps it in one of two slots, rewritten in place alternately (`slots.py`).

One store holds one log.  `FileTileStore.for_log(base_dir, log_id)` gives each log its own
directory under `base_dir`:

    <base_dir>/<percent-encoded log id>/state
    <base_dir>/<percent-encoded log id>/tile/<level>/x001/x234/067

A log has a single writer (the intake's integration task); readers may run concurrently.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from calea.store.merkle import slots
from calea.store.merkle._files import fsync_dir, pwrite_all
from calea.store.merkle.errors import StorageError, UsageError
from calea.store.merkle.tiles import tile_path

_STATE_FILE = "state"
_STATE_READS = 3  # a reader meeting both slots torn (a writer twice as fast as it) reads again


class TileStore(Protocol):
    def read(self, level: int, index: int) -> bytes | None: ...
    def write(self, level: int, index: int, data: bytes) -> None: ...
    def read_state(self) -> bytes | None: ...
    def write_state(self, data: bytes) -> None: ...


class MemoryTileStore:
    """A dict-backed store for tests; `writes` counts tile writes."""

    def __init__(self) -> None:
        self.tiles: dict[tuple[int, int], bytes] = {}
        self.state: bytes | None = None
        self.writes = 0

    def read(self, level: int, index: int) -> bytes | None:
        return self.tiles.get((level, index))

    def write(self, level: int, index: int, data: bytes) -> None:
        self.tiles[(level, index)] = bytes(data)
        self.writes += 1

    def read_state(self) -> bytes | None:
        return self.state

    def write_state(self, data: bytes) -> None:
        self.state = bytes(data)


def log_dir_name(log_id: str) -> str:
    """A log id as one safe directory name: percent-encoded, never "." or ".."."""
    if not log_id or len(log_id) > 200:
        raise UsageError("log id must be 1..200 characters", reason="bad-log-id")
    name = quote(log_id, safe="")
    if name.startswith("."):
        name = "%2E" + name[1:]
    return name


class FileTileStore:
    """Tiles as files under `root_dir`, written in place (see `write`); the state in one of
    the two slots of its file, in place too (`slots.py`), the file made by temp file + rename."""

    def __init__(self, root_dir: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root_dir)
        self._fsync = fsync
        self._made: set[Path] = set()
        self._unsynced_dirs: set[Path] = set()
        self._generation: int | None = None  # of the state this store last wrote
        self._mkdir(self.root)

    @classmethod
    def for_log(
        cls, base_dir: str | os.PathLike[str], log_id: str, *, fsync: bool = True
    ) -> FileTileStore:
        return cls(Path(base_dir) / log_dir_name(log_id), fsync=fsync)

    def read(self, level: int, index: int) -> bytes | None:
        return self._read(self.root / tile_path(level, index))

    def write(self, level: int, index: int, data: bytes) -> None:
        """In place, not by temp file and rename: the bytes a reader may rely on are rewritten
        with themselves, and renaming over an existing file costs ext4 about a millisecond
        (it forces the new file's blocks out): 16 cases' logs took ~50 of them per batch.
        Bytes past `data` left by a crash before its state was committed are beyond the
        committed count: ignored, and overwritten by a later write."""
        path = self.root / tile_path(level, index)
        try:
            try:
                fd = os.open(path, os.O_WRONLY)
            except FileNotFoundError:
                self._mkdir(path.parent)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                self._unsynced_dirs.add(path.parent)  # the new entry must reach the disk too
            try:
                pwrite_all(fd, data, 0)
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror}", reason="io-error") from exc

    def read_state(self) -> bytes | None:
        path = self.root / _STATE_FILE
        for _ in range(_STATE_READS):
            data = self._read(path)
            if data is None or not slots.is_slotted(data):
                return data  # none yet, or the bare JSON an earlier version wrote
            found = slots.newest(data)
            if found is not None:
                return found[1]
        raise StorageError("unreadable log state: neither slot of the state file is whole", reason="bad-state")

    def write_state(self, data: bytes) -> None:
        if self._fsync:  # tile writes must be durable before the state that commits them
            for d in self._unsynced_dirs:
                fsync_dir(d)
        self._unsynced_dirs.clear()
        path = self.root / _STATE_FILE
        if self._generation is None:  # this store's first write: the file may be none, bare, or slotted
            current = self._read(path)
            found = slots.newest(current) if current is not None and slots.is_slotted(current) else None
            if found is None:
                self._create_state(path, data)
                return
            self._generation = found[0]
        generation = self._generation + 1
        slot = self._slot(data, generation)
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                pwrite_all(fd, slot, slots.slot_offset(generation))
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self._generation = None  # what the file holds now is read again before the next write
            raise StorageError(f"cannot write {path}: {exc.strerror}", reason="io-error") from exc
        self._generation = generation

    def _create_state(self, path: Path, data: bytes) -> None:
        """A new slotted state file holding `data` (replacing a bare one), by temp file + rename."""
        file = bytearray(slots.FILE_SIZE)
        file[slots.slot_offset(1):slots.slot_offset(1) + slots.SLOT_SIZE] = self._slot(data, 1)
        self._atomic_write(path, bytes(file))
        if self._fsync:
            fsync_dir(self.root)
            self._unsynced_dirs.discard(self.root)
        self._generation = 1

    @staticmethod
    def _slot(data: bytes, generation: int) -> bytes:
        try:
            return slots.encode_slot(generation, data)
        except slots.SlotError as exc:
            raise StorageError(f"cannot write the log state: {exc}", reason="state-too-large") from exc

    def _mkdir(self, d: Path) -> None:
        if d in self._made:
            return
        missing = []
        p = d
        while not p.is_dir():
            missing.append(p)
            p = p.parent
        try:
            for p in reversed(missing):
                with contextlib.suppress(FileExistsError):
                    p.mkdir(mode=0o700)
                self._unsynced_dirs.add(p.parent)  # the new entry must reach the disk too
        except OSError as exc:
            raise StorageError(f"cannot create {d}: {exc.strerror}", reason="io-error") from exc
        self._made.add(d)

    def _read(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror}", reason="io-error") from exc

    def _atomic_write(self, path: Path, data: bytes) -> None:
        d = path.parent
        self._mkdir(d)
        tmp = ""
        try:
            # one writer per log (the store writer's lock): a fixed scratch name per process
            tmp = str(d / f".tmp-{os.getpid()}-{path.name}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self._fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise StorageError(f"cannot write {path}: {exc.strerror}", reason="io-error") from exc
        self._unsynced_dirs.add(d)
