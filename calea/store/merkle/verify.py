"""Proof verification, step by step as RFC 9162 writes it, plus a reference tree hash.

SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.2 (verifying an inclusion proof)
SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.2 (verifying a consistency proof)

Verification needs no storage: `calea verify` and any third party can run it with only a
checkpoint, a leaf hash and the proof.  Every failure raises `ProofError` with a `reason`;
success returns None.

`root_from_leaf_hashes` is the RFC 9162 §2.1.1 definition of MTH written literally; it is
the independent reference the tile-based log is tested (and audited) against.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from calea.store.merkle.errors import ProofError
from calea.store.merkle.hashing import EMPTY_ROOT, HASH_SIZE, node_hash
from calea.store.merkle.proofs import largest_power_of_two_below


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} is not a {HASH_SIZE}-byte hash", reason="bad-hash-length")


def _check_proof(proof: Sequence[bytes]) -> None:
    for i, p in enumerate(proof):
        _check_hash(p, f"proof[{i}]")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Steps 1-4 of RFC 9162 §2.1.3.2: the root the proof commits to (raises if impossible)."""
    _check_hash(leaf_hash, "leaf hash")
    _check_proof(proof)
    if not 0 <= index < size:  # step 1
        raise ProofError(f"leaf index {index} not in a tree of size {size}", reason="bad-index")
    fn, sn = index, size - 1  # step 2
    r = leaf_hash  # step 3
    for p in proof:  # step 4
        if sn == 0:  # 4a
            raise ProofError("proof is longer than the tree is deep", reason="proof-too-long")
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    if sn != 0:  # step 5, first half
        raise ProofError("proof is shorter than the tree is deep", reason="proof-too-short")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf_hash` is leaf `index` of the tree of `size` leaves with `root`."""
    _check_hash(root, "root")
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if not hmac.compare_digest(computed, root):  # step 5, second half
        raise ProofError("inclusion proof does not lead to the root", reason="root-mismatch")


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (size1, root1) is a prefix of the tree (size2, root2).

    RFC 9162 defines the proof for 0 < size1 < size2.  The trivial cases are decided
    without one: size1 == size2 needs an empty proof and equal roots; size1 == 0 needs an
    empty proof and root1 == SHA-256("").
    """
    _check_hash(root1, "root1")
    _check_hash(root2, "root2")
    _check_proof(proof)
    if not 0 <= size1 <= size2:
        raise ProofError(f"tree size went from {size1} to {size2}", reason="bad-size")
    if size1 == size2 or size1 == 0:
        if proof:
            raise ProofError(
                "trivial consistency must have an empty proof", reason="proof-too-long"
            )
        expected = root2 if size1 == size2 else EMPTY_ROOT
        if not hmac.compare_digest(root1, expected):
            raise ProofError("roots differ", reason="root-mismatch")
        return
    if not proof:  # step 1
        raise ProofError("consistency proof is empty", reason="proof-too-short")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # step 2: size1 is a power of two
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a
            raise ProofError("proof is longer than the tree is deep", reason="proof-too-long")
        if fn & 1 or fn == sn:  # 6b
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    # step 7
    if sn != 0:
        raise ProofError("proof is shorter than the tree is deep", reason="proof-too-short")
    if not hmac.compare_digest(fr, root1):
        raise ProofError("proof does not lead to the first root", reason="root-mismatch")
    if not hmac.compare_digest(sr, root2):
        raise ProofError("proof does not lead to the second root", reason="root-mismatch")


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the RFC 9162 §2.1.1 recursion (O(n) hashes, O(log n) depth)."""

    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaf_hashes[lo]
        k = largest_power_of_two_below(hi - lo)
        return node_hash(mth(lo, lo + k), mth(lo + k, hi))

    if not leaf_hashes:
        return EMPTY_ROOT
    return mth(0, len(leaf_hashes))
