"""Golden vectors: the RFC 6962 / RFC 9162 reference test tree of 8 leaves.

Leaf data, roots and proofs are the published test data of the Certificate Transparency
reference implementations (as in transparency-dev/merkle proof/verify_test.go).  Leaf
indices here are 0-based.
"""

from __future__ import annotations

import hashlib

import pytest

from calea.store.merkle.errors import ProofError
from calea.store.merkle.hashing import EMPTY_ROOT, leaf_hash
from calea.store.merkle.log import MerkleLog
from calea.store.merkle.storage import MemoryTileStore
from calea.store.merkle.verify import (
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

LEAF_DATA = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
LEAVES = [leaf_hash(d) for d in LEAF_DATA]

ROOTS = {  # tree size -> root
    size: bytes.fromhex(h)
    for size, h in enumerate(
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ],
        start=1,
    )
}


def _h(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


INCLUSION = [  # (leaf index, tree size, proof)
    (0, 1, []),
    (
        0,
        8,
        _h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        _h(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, _h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        _h(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]

CONSISTENCY = [  # (size1, size2, proof)
    (1, 1, []),
    (
        1,
        8,
        _h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _h(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        _h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


@pytest.fixture(scope="module")
def log() -> MerkleLog:
    log = MerkleLog("golden", MemoryTileStore(), tile_height=1)  # every level is a tile level
    for h in LEAVES:
        log.append([h])
    return log


def test_empty_root() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT == MerkleLog("e", MemoryTileStore()).root()


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_roots(size: int, log: MerkleLog) -> None:
    assert root_from_leaf_hashes(LEAVES[:size]) == ROOTS[size]
    assert log.root(size) == ROOTS[size]
    fresh = MerkleLog("golden", MemoryTileStore())
    fresh.append(LEAVES[:size])
    assert fresh.root() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_vectors(index: int, size: int, proof: list[bytes], log: MerkleLog) -> None:
    assert log.inclusion_proof(index, size) == proof
    verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_consistency_vectors(size1: int, size2: int, proof: list[bytes], log: MerkleLog) -> None:
    assert log.consistency_proof(size1, size2) == proof
    verify_consistency(size1, size2, ROOTS[size1], ROOTS[size2], proof)


def _inclusion_corruptions(index: int, size: int, proof: list[bytes]) -> list[tuple[str, tuple]]:
    leaf, root = LEAVES[index], ROOTS[size]
    out: list[tuple[str, tuple]] = [
        ("index - 1", (leaf, index - 1, size, proof, root)),
        ("index + 1", (leaf, index + 1, size, proof, root)),
        ("index ^ 2", (leaf, index ^ 2, size, proof, root)),
        ("size * 2", (leaf, index, size * 2, proof, root)),
        ("size // 2", (leaf, index, size // 2, proof, root)),
        ("wrong leaf", (leaf_hash(b"WrongLeaf"), index, size, proof, root)),
        ("leaf data not hash", (LEAF_DATA[index], index, size, proof, root)),
        ("empty root", (leaf, index, size, proof, EMPTY_ROOT)),
        ("random root", (leaf, index, size, proof, SOME_HASH)),
        ("trailing root", (leaf, index, size, [*proof, root], root)),
        ("preceding root", (leaf, index, size, [root, *proof], root)),
        ("trailing empty", (leaf, index, size, [*proof, b""], root)),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        out.append((f"proof[{i}] bit 3", (leaf, index, size, flipped, root)))
    if proof:
        out.append(("truncated", (leaf, index, size, proof[:-1], root)))
    if len(proof) > 1:
        out.append(("inserted", (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root)))
    return out


NEGATIVE_INCLUSION = [
    pytest.param(*args, id=f"{index}/{size}: {desc}")
    for index, size, proof in INCLUSION
    for desc, args in _inclusion_corruptions(index, size, proof)
]


@pytest.mark.parametrize(("leaf", "index", "size", "proof", "root"), NEGATIVE_INCLUSION)
def test_inclusion_negative(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, root)


def _consistency_corruptions(size1: int, size2: int, proof: list[bytes]) -> list[tuple[str, tuple]]:
    r1, r2 = ROOTS[size1], ROOTS[size2]
    out: list[tuple[str, tuple]] = [
        ("size1 - 1", (size1 - 1, size2, r1, r2, proof)),
        ("size1 + 1", (size1 + 1, size2, r1, r2, proof)),
        ("size1 ^ 2", (size1 ^ 2, size2, r1, r2, proof)),
        ("size2 * 2", (size1, size2 * 2, r1, r2, proof)),
        ("size2 // 2", (size1, size2 // 2, r1, r2, proof)),
        ("wrong root1", (size1, size2, SOME_HASH, r2, proof)),
        ("wrong root2", (size1, size2, r1, SOME_HASH, proof)),
        ("swapped roots", (size1, size2, r2, r1, proof)),
        ("empty proof", (size1, size2, r1, r2, [])),
        ("trailing root1", (size1, size2, r1, r2, [*proof, r1])),
        ("trailing root2", (size1, size2, r1, r2, [*proof, r2])),
        ("preceding root1", (size1, size2, r1, r2, [r1, *proof])),
        ("preceding root2", (size1, size2, r1, r2, [r2, *proof])),
        ("preceding proof[0]", (size1, size2, r1, r2, [proof[0], *proof])),
        ("truncated", (size1, size2, r1, r2, proof[:-1])),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        out.append((f"proof[{i}] bit 4", (size1, size2, r1, r2, flipped)))
    return out


NEGATIVE_CONSISTENCY = [
    pytest.param(*args, id=f"{size1}->{size2}: {desc}")
    for size1, size2, proof in CONSISTENCY
    if proof
    for desc, args in _consistency_corruptions(size1, size2, proof)
]


@pytest.mark.parametrize(("size1", "size2", "root1", "root2", "proof"), NEGATIVE_CONSISTENCY)
def test_consistency_negative(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> None:
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, root1, root2, proof)


TRIVIAL_CONSISTENCY = [  # (size1, size2, root1, root2, proof, ok)
    (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
    (0, 5, EMPTY_ROOT, ROOTS[5], [], True),
    (1, 1, ROOTS[1], ROOTS[1], [], True),
    (0, 0, EMPTY_ROOT, SOME_HASH, [], False),
    (1, 1, ROOTS[1], ROOTS[2], [], False),
    (0, 5, SOME_HASH, ROOTS[5], [], False),
    (0, 5, EMPTY_ROOT, ROOTS[5], [EMPTY_ROOT], False),
    (1, 1, ROOTS[1], ROOTS[1], [EMPTY_ROOT], False),
    (1, 0, ROOTS[1], EMPTY_ROOT, [], False),
    (2, 1, ROOTS[2], ROOTS[1], [], False),
    (1, 2, ROOTS[1], ROOTS[2], [], False),
]


@pytest.mark.parametrize(("size1", "size2", "root1", "root2", "proof", "ok"), TRIVIAL_CONSISTENCY)
def test_consistency_trivial_cases(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes], ok: bool
) -> None:
    if ok:
        verify_consistency(size1, size2, root1, root2, proof)
    else:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, root1, root2, proof)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 4)])
def test_inclusion_index_out_of_range(index: int, size: int) -> None:
    with pytest.raises(ProofError) as exc:
        verify_inclusion(SOME_HASH, index, size, [], SOME_HASH)
    assert exc.value.reason == "bad-index"


def test_single_leaf_tree() -> None:
    h = leaf_hash(b"data")
    verify_inclusion(h, 0, 1, [], h)
    with pytest.raises(ProofError) as exc:
        verify_inclusion(h, 0, 1, [], hashlib.sha256(b"x").digest())
    assert exc.value.reason == "root-mismatch"
    with pytest.raises(ProofError) as exc:
        verify_inclusion(b"", 0, 1, [], h)
    assert exc.value.reason == "bad-hash-length"
