"""RFC 9162 Merkle tree hashing: the only place the tree's hash rules live.

SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1

- leaf hash:  SHA-256(0x00 || data)
- node hash:  SHA-256(0x01 || left || right)
- empty tree: SHA-256("")

The 0x00/0x01 prefixes separate leaves from interior nodes, so a leaf can never be passed
off as a node (second-preimage protection).
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return sha256(NODE_PREFIX + left + right).digest()


def hash_pairs(nodes: Sequence[bytes]) -> list[bytes]:
    """Hash adjacent pairs: [n0, n1, n2, n3, n4] -> [H(n0, n1), H(n2, n3)].

    A trailing odd node is dropped; callers keep it themselves.  This is the hot loop of
    log integration, so it inlines `node_hash`.
    """
    it = iter(nodes)
    return [
        sha256(NODE_PREFIX + left + right).digest() for left, right in zip(it, it, strict=False)
    ]
