"""Per-case Merkle logs (RFC 9162): tiles, proofs, signed checkpoints, signing keys.

Five jobs, five kinds of module (as transparency-dev/merkle and tessera split them):

    hashing.py      leaf/node hash rules                          pure
    proofs.py       which subtrees a proof needs                  pure
    verify.py       proof verification, reference tree hash       pure
    compact.py      frontier: append + root in O(log n)           pure
    tiles.py        tile layout, hashes from tiles                pure (reads via a function)
    integrate.py    batch append -> new tiles + root              pure plan, thin writer
    storage.py      TileStore port; file and memory adapters      I/O
    log.py          MerkleLog: append, roots and proofs           over a TileStore
    note.py         C2SP signed notes (Ed25519)                   pure
    checkpoint.py   C2SP tlog-checkpoint: sign / verify           pure
    keys.py         signing key files: create, load, rotate       I/O
    errors.py       MerkleError and its subclasses

Commonly used names are re-exported here.
"""

from __future__ import annotations

from calea.store.merkle.checkpoint import Checkpoint
from calea.store.merkle.checkpoint import sign as sign_checkpoint
from calea.store.merkle.checkpoint import verify as verify_checkpoint
from calea.store.merkle.compact import Frontier
from calea.store.merkle.errors import (
    CheckpointError,
    KeyFileError,
    MerkleError,
    ProofError,
    StorageError,
    UsageError,
)
from calea.store.merkle.hashing import EMPTY_ROOT, leaf_hash, node_hash
from calea.store.merkle.integrate import integrate
from calea.store.merkle.keys import load_or_create_signing_key, public_keys, rotate
from calea.store.merkle.log import MerkleLog
from calea.store.merkle.note import PublicKey, SigningKey
from calea.store.merkle.storage import FileTileStore, MemoryTileStore, TileStore
from calea.store.merkle.verify import (
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "EMPTY_ROOT",
    "FileTileStore",
    "Frontier",
    "KeyFileError",
    "MemoryTileStore",
    "MerkleError",
    "MerkleLog",
    "ProofError",
    "PublicKey",
    "SigningKey",
    "StorageError",
    "TileStore",
    "UsageError",
    "integrate",
    "leaf_hash",
    "load_or_create_signing_key",
    "node_hash",
    "public_keys",
    "rotate",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
]
