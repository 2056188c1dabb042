"""Append-only segment files holding raw records byte-exact, one open segment per
(case, channel), rotated by size or hour.  Paths are relative to `$CALEA_HOME/segments`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

MAX_SEGMENT = 256 * 1024 * 1024
WRITE_BUFFER = 64 * 1024  # per open segment: one write call per ~100 IRI records (fsynced per batch)


@dataclass
class OpenSegment:
    id: str
    case_id: str
    channel: str
    path: str  # relative
    hour: str
    size: int
    fh: object  # the binary file object
    dirty: bool = False
    starts: datetime | None = None  # the hour it holds: [starts, ends)
    ends: datetime | None = None


class SegmentFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def relative(self, case_id: str, channel: str, at: datetime, new_id: str) -> str:
        return f"{case_id}/{at:%Y%m%d}/{channel}-{at:%H}-{new_id[:8]}.seg"

    def open(self, seg_id: str, case_id: str, channel: str, rel: str, hour: str) -> OpenSegment:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fh = open(path, "ab", buffering=WRITE_BUFFER)
        return OpenSegment(seg_id, case_id, channel, rel, hour, fh.tell(), fh)

    @staticmethod
    def append(seg: OpenSegment, data: bytes) -> int:
        """Append; returns the offset the data starts at."""
        offset = seg.size
        seg.fh.write(data)  # type: ignore[attr-defined]
        seg.size += len(data)
        seg.dirty = True
        return offset

    @staticmethod
    def sync(seg: OpenSegment) -> None:
        if seg.dirty:
            seg.fh.flush()  # type: ignore[attr-defined]
            os.fsync(seg.fh.fileno())  # type: ignore[attr-defined]
            seg.dirty = False

    @staticmethod
    def close(seg: OpenSegment) -> None:
        SegmentFiles.sync(seg)
        seg.fh.close()  # type: ignore[attr-defined]

    def read(self, rel: str, offset: int, length: int) -> bytes:
        with open(self.root / rel, "rb") as fh:
            fh.seek(offset)
            return fh.read(length)

    def path(self, rel: str) -> Path:
        return self.root / rel
