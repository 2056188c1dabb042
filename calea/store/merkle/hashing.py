"""RFC 9162 Merkle tree hashing: the only place the tree's hash rules live.

SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1

- leaf hash:  SHA-256(0x00 || data)
- node hash:  SHA-256(0x01 || left || right)
- empty tree: SHA-256("")

The 0x00/0x01 prefixes separate leaves from interior nodes, so a leaf can never be passed
off as a node (second-preimage protection).

The batch functions (`leaf_hashes`, `prefixed_hashes`, `hash_pairs`) use the optional C
module `calea.store.merkle._sha` (OpenSSL, one call per batch instead of one hashlib call
per hash) when it is built and `CALEA_PURE_PYTHON` is not set; the `_py` versions here are
the reference and the fallback, and the answers are the same either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

from calea.handover.native import load

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = sha256(b"").digest()


_native = load("calea.store.merkle._sha")  # the C batch hasher, or None


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return sha256(NODE_PREFIX + left + right).digest()


def hash_pairs(nodes: Sequence[bytes]) -> list[bytes]:
    """Hash adjacent pairs: [n0, n1, n2, n3, n4] -> [H(n0, n1), H(n2, n3)].

    A trailing odd node is dropped; callers keep it themselves.  This is the hot loop of
    log integration: one C call when `_sha` is built (which takes 32-byte bytes only; for
    anything else the Python version answers, exactly as it always did).
    """
    if _native is not None:
        n = len(nodes)
        try:
            return _native.pair_hashes(NODE_PREFIX, nodes[: n - 1] if n & 1 else nodes)  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            pass
    return _hash_pairs_py(nodes)


def _hash_pairs_py(nodes: Sequence[bytes]) -> list[bytes]:
    """The reference `hash_pairs` (it inlines `node_hash`)."""
    it = iter(nodes)
    return [
        sha256(NODE_PREFIX + left + right).digest() for left, right in zip(it, it, strict=False)
    ]


def prefixed_hashes(prefix: bytes, items: Sequence[bytes]) -> list[bytes]:
    """[SHA-256(prefix || item) for item in items], in one C call when `_sha` is built."""
    if _native is not None:
        try:
            return _native.prefixed_hashes(prefix, items)  # type: ignore[no-any-return]
        except TypeError:
            pass  # not bytes: the Python version answers (or raises) as it would have
    return _prefixed_hashes_py(prefix, items)


def _prefixed_hashes_py(prefix: bytes, items: Sequence[bytes]) -> list[bytes]:
    """The reference `prefixed_hashes`."""
    return [sha256(prefix + item).digest() for item in items]


def leaf_hashes(items: Sequence[bytes], tag: bytes = b"") -> list[bytes]:
    """[leaf_hash(tag + d) for d in items]: the leaf hashes of a batch, for leaf data that
    is a domain tag followed by each item (e.g. `leaves.CC_TAG` + raw record), without
    building the concatenations."""
    return prefixed_hashes(LEAF_PREFIX + tag, items)
