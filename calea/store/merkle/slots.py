"""The state file's two slots, pure: a log's committed state rewritten in place (rule D1).

Renaming a new file over the old one costs ext4 about a millisecond (it forces the new
file's blocks out first), and the store writer commits every case's log once a batch.  So
the state is written in place instead, into one of two fixed slots, alternately:

    slot (SLOT_SIZE bytes, two of them, each page-aligned)
      magic       8 bytes   b"calea-s1"
      generation  8 bytes   big-endian, one more than the state it replaces
      length      4 bytes   big-endian, of the data
      data        `length` bytes (the log's JSON state)
      digest      32 bytes  SHA-256 of everything above
      zeros       to the end of the slot

A write only ever overwrites the slot *not* holding the newest valid state, so a write torn
by a crash (or read half-written by another process) fails its digest and the reader takes
the other slot: the previous committed state.  The store's database is the source of truth
for what a log holds, and the writer re-appends what a lost state leaves out (`recover`).
"""

from __future__ import annotations

import hashlib
import struct

MAGIC = b"calea-s1"
SLOT_SIZE = 8192
FILE_SIZE = 2 * SLOT_SIZE
_HEAD = struct.Struct(">8sQI")
DIGEST_SIZE = 32
CAPACITY = SLOT_SIZE - _HEAD.size - DIGEST_SIZE  # the longest state a slot holds


class SlotError(ValueError):
    """The data does not fit a slot."""


def encode_slot(generation: int, data: bytes) -> bytes:
    """One slot, padded to SLOT_SIZE."""
    if len(data) > CAPACITY:
        raise SlotError(f"a state of {len(data)} bytes does not fit a slot of {CAPACITY}")
    body = _HEAD.pack(MAGIC, generation, len(data)) + data
    return (body + hashlib.sha256(body).digest()).ljust(SLOT_SIZE, b"\0")


def decode_slot(slot: bytes) -> tuple[int, bytes] | None:
    """(generation, data) of a whole, valid slot; None for a torn, empty or foreign one."""
    if len(slot) < _HEAD.size + DIGEST_SIZE:
        return None
    magic, generation, length = _HEAD.unpack_from(slot)
    end = _HEAD.size + length
    if magic != MAGIC or end + DIGEST_SIZE > len(slot):
        return None
    if hashlib.sha256(slot[:end]).digest() != slot[end:end + DIGEST_SIZE]:
        return None
    return generation, slot[_HEAD.size:end]


def newest(file: bytes) -> tuple[int, bytes] | None:
    """The newest valid state of a slotted file (None when neither slot is valid)."""
    found = [s for s in (decode_slot(file[:SLOT_SIZE]), decode_slot(file[SLOT_SIZE:FILE_SIZE])) if s is not None]
    return max(found, key=lambda s: s[0]) if found else None


def slot_offset(generation: int) -> int:
    """Where the state of `generation` goes: alternately the first and the second slot."""
    return (generation % 2) * SLOT_SIZE


def is_slotted(file: bytes) -> bool:
    """Whether a state file is slotted (an earlier version wrote the bare JSON state)."""
    return file[:len(MAGIC)] == MAGIC or file[SLOT_SIZE:SLOT_SIZE + len(MAGIC)] == MAGIC
