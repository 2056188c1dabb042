"""The batch SHA-256 of the Merkle log: the C module `calea.store.merkle._sha` (OpenSSL) answers
exactly what hashlib answers, and the public wrappers of calea/store/merkle/hashing.py
(`prefixed_hashes`, `leaf_hashes`, `hash_pairs`) answer the same with the C module, without it
(the Python fallback) and with CALEA_PURE_PYTHON=1.  Inputs: empty batches, empty items, the
SHA-256 block boundaries (55/56/63/64/65 bytes with and without the prefix), 100 KB items,
random and generated batches.  The C module must not leak references or memory."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.leaks import assert_no_leak
from hypothesis import given, settings
from hypothesis import strategies as st

from calea.store import leaves
from calea.store import writer
from calea.store.merkle import hashing
from calea.store.merkle.hashing import LEAF_PREFIX, NODE_PREFIX, leaf_hash, node_hash

try:
    from calea.store.merkle import _sha as _sha_module
except ImportError:  # not built (no compiler or no libssl-dev): the Python versions run
    _sha_module = None

REPO_ROOT = Path(__file__).resolve().parents[3]
needs_c = pytest.mark.skipif(_sha_module is None, reason="calea.store.merkle._sha not built")

BOUNDARIES = [0, 1, 2, 31, 32, 33, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 250, 1000]
PREFIXES = [b"", LEAF_PREFIX, NODE_PREFIX, writer._CC_PREFIX, b"p" * 55, b"q" * 64, b"r" * 100]


def sha() -> ModuleType:
    assert _sha_module is not None
    return _sha_module


def want_prefixed(prefix: bytes, items: list[bytes]) -> list[bytes]:
    return [hashlib.sha256(prefix + item).digest() for item in items]


def want_pairs(prefix: bytes, hashes: list[bytes]) -> list[bytes]:
    return [hashlib.sha256(prefix + hashes[i] + hashes[i + 1]).digest() for i in range(0, len(hashes) - 1, 2)]


@pytest.fixture(params=["native", "fallback"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The public wrappers once with the C module (when built) and once without it."""
    if request.param == "native":
        if _sha_module is None or hashing._native is None:
            pytest.skip("the C module is not in use (not built, or CALEA_PURE_PYTHON set)")
    else:
        monkeypatch.setattr(hashing, "_native", None)
    yield request.param


def items_of_lengths(prefix: bytes, rng: random.Random) -> list[bytes]:
    """Items whose own length, and whose length with the prefix, hit every boundary."""
    lengths = sorted({n for b in BOUNDARIES for n in (b, b - len(prefix)) if n >= 0})
    return [rng.randbytes(n) for n in lengths]


# --- the wiring -------------------------------------------------------------------------------


def test_native_is_used_when_built() -> None:
    if os.environ.get("CALEA_PURE_PYTHON"):
        assert hashing._native is None
    elif _sha_module is None:
        pytest.skip("calea.store.merkle._sha not built")
    else:
        assert hashing._native is _sha_module


def test_pure_python_env_selects_the_fallback_with_the_same_answers() -> None:
    code = (
        "import hashlib; from calea.store.merkle import hashing as h; from calea.store import writer as w; "
        "assert h._native is None; items = [bytes([i]) * i for i in range(130)]; "
        "hs = [hashlib.sha256(x).digest() for x in items]; "
        "print(hashlib.sha256(b''.join(h.prefixed_hashes(w._CC_PREFIX, items) + h.hash_pairs(hs) "
        "+ h.leaf_hashes(items, b'tag'))).hexdigest())"
    )
    env = {**os.environ, "CALEA_PURE_PYTHON": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    items = [bytes([i]) * i for i in range(130)]
    hs = [hashlib.sha256(x).digest() for x in items]
    here = hashing.prefixed_hashes(writer._CC_PREFIX, items) + hashing.hash_pairs(hs) + hashing.leaf_hashes(items, b"tag")
    assert out == hashlib.sha256(b"".join(here)).hexdigest()


def test_writer_batch_is_the_cc_leaf_hash() -> None:
    """The writer's CC path (`prefixed_hashes(_CC_PREFIX, raws)`) is `cc_leaf_hash` of each raw,
    which is the RFC 9162 leaf hash of `leaves.cc_leaf(raw)`."""
    rng = random.Random(7)
    raws = [rng.randbytes(rng.randrange(0, 400)) for _ in range(300)]
    batch = hashing.prefixed_hashes(writer._CC_PREFIX, raws)
    assert batch == [writer.cc_leaf_hash(r) for r in raws]
    assert batch == [leaf_hash(leaves.cc_leaf(r)) for r in raws]
    assert batch == hashing.leaf_hashes(raws, leaves.CC_TAG)


# --- the C functions against hashlib ----------------------------------------------------------


@needs_c
def test_known_answers() -> None:
    assert sha().prefixed_hashes(b"", [b""]) == [bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    assert sha().prefixed_hashes(b"a", [b"bc"]) == [bytes.fromhex(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    assert sha().pair_hashes(b"", [b"a" * 32, b"b" * 32]) == [hashlib.sha256(b"a" * 32 + b"b" * 32).digest()]


@needs_c
@pytest.mark.parametrize("prefix", PREFIXES, ids=lambda p: f"prefix{len(p)}")
def test_prefixed_hashes_at_the_block_boundaries(prefix: bytes) -> None:
    items = items_of_lengths(prefix, random.Random(len(prefix)))
    got = sha().prefixed_hashes(prefix, items)
    assert got == want_prefixed(prefix, items)
    assert all(type(h) is bytes and len(h) == 32 for h in got)
    for item, h in zip(items, got):  # one at a time too (no state carried between items)
        assert sha().prefixed_hashes(prefix, [item]) == [h]


@needs_c
def test_empty_batches_and_empty_items() -> None:
    assert sha().prefixed_hashes(b"x", []) == []
    assert sha().prefixed_hashes(b"x", ()) == []
    assert sha().prefixed_hashes(b"", [b"", b""]) == [hashlib.sha256(b"").digest()] * 2
    assert sha().pair_hashes(NODE_PREFIX, []) == []


@needs_c
def test_large_items() -> None:
    rng = random.Random(1)
    items = [rng.randbytes(100_000), rng.randbytes(100_001), rng.randbytes(102_400), b"", rng.randbytes(3)]
    for prefix in (b"", writer._CC_PREFIX, b"z" * 1000):
        assert sha().prefixed_hashes(prefix, items) == want_prefixed(prefix, items)


@needs_c
def test_random_batches() -> None:
    rng = random.Random(2024)
    for _ in range(20):
        prefix = rng.randbytes(rng.randrange(0, 80))
        items = [rng.randbytes(rng.randrange(0, 600)) for _ in range(rng.randrange(0, 500))]
        assert sha().prefixed_hashes(prefix, items) == want_prefixed(prefix, items)
        hashes = [rng.randbytes(32) for _ in range(2 * rng.randrange(0, 300))]
        assert sha().pair_hashes(prefix, hashes) == want_pairs(prefix, hashes)


@needs_c
def test_pair_hashes_are_node_hashes() -> None:
    hashes = [hashlib.sha256(bytes([i])).digest() for i in range(64)]
    assert sha().pair_hashes(NODE_PREFIX, hashes) == [node_hash(hashes[i], hashes[i + 1]) for i in range(0, 64, 2)]


@needs_c
def test_inputs_of_other_sequence_types_and_bytes_subclasses() -> None:
    class B(bytes):
        pass

    items = [b"a" * 40, B(b"b" * 70), b""]
    assert sha().prefixed_hashes(B(b"pre"), tuple(items)) == want_prefixed(b"pre", [bytes(i) for i in items])
    assert sha().prefixed_hashes(b"pre", iter(items)) == want_prefixed(b"pre", [bytes(i) for i in items])
    hashes = [B(b"c" * 32), b"d" * 32]
    assert sha().pair_hashes(b"\x01", tuple(hashes)) == want_pairs(b"\x01", [bytes(h) for h in hashes])


@needs_c
def test_results_are_fresh_usable_bytes() -> None:
    got = sha().prefixed_hashes(b"", [b"x", b"x", b"y"])
    assert got[0] == got[1] and got[0] is not got[1]
    assert {got[0]: 1}[hashlib.sha256(b"x").digest()] == 1  # hash() of the result is the usual one
    assert hash(got[2]) == hash(hashlib.sha256(b"y").digest())


@settings(max_examples=200, deadline=None)
@given(prefix=st.binary(max_size=130), items=st.lists(st.binary(max_size=300), max_size=20))
def test_prefixed_hashes_generated(prefix: bytes, items: list[bytes]) -> None:
    want = want_prefixed(prefix, items)
    if _sha_module is not None:
        assert _sha_module.prefixed_hashes(prefix, items) == want
    assert hashing._prefixed_hashes_py(prefix, items) == want
    assert hashing.prefixed_hashes(prefix, items) == want
    assert hashing.leaf_hashes(items, prefix) == [leaf_hash(prefix + item) for item in items]


@settings(max_examples=200, deadline=None)
@given(prefix=st.binary(max_size=70), hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=40))
def test_pair_hashes_generated(prefix: bytes, hashes: list[bytes]) -> None:
    want = want_pairs(prefix, hashes)
    if _sha_module is not None:
        if len(hashes) % 2:
            with pytest.raises(ValueError):
                _sha_module.pair_hashes(prefix, hashes)
        else:
            assert _sha_module.pair_hashes(prefix, hashes) == want
    if prefix == NODE_PREFIX or not prefix:
        assert hashing.hash_pairs(hashes) == hashing._hash_pairs_py(hashes) == want_pairs(NODE_PREFIX, hashes)


# --- errors -------------------------------------------------------------------------------


@needs_c
@pytest.mark.parametrize("n", [1, 3, 5, 101])
def test_pair_hashes_odd_count(n: int) -> None:
    with pytest.raises(ValueError, match="odd"):
        sha().pair_hashes(NODE_PREFIX, [b"h" * 32] * n)


@needs_c
@pytest.mark.parametrize("size", [0, 1, 31, 33, 64])
def test_pair_hashes_wrong_hash_length(size: int) -> None:
    for position in range(4):
        hashes = [b"h" * 32] * 4
        hashes[position] = b"s" * size
        with pytest.raises(ValueError, match=rf"hashes\[{position}\] is {size} bytes"):
            sha().pair_hashes(NODE_PREFIX, hashes)


@needs_c
@pytest.mark.parametrize("bad", ["text", bytearray(32), memoryview(b"m" * 32), None, 7, [b"x"]])
def test_non_bytes(bad: object) -> None:
    with pytest.raises(TypeError, match=r"items\[1\] must be bytes"):
        sha().prefixed_hashes(b"", [b"ok", bad, b"ok"])
    with pytest.raises(TypeError, match=r"hashes\[1\] must be bytes"):
        sha().pair_hashes(b"", [b"h" * 32, bad])
    with pytest.raises(TypeError, match="prefix must be bytes"):
        sha().prefixed_hashes(bad, [b"ok"])
    with pytest.raises(TypeError, match="prefix must be bytes"):
        sha().pair_hashes(bad, [])


@needs_c
def test_bad_calls() -> None:
    for fn in (sha().prefixed_hashes, sha().pair_hashes):
        with pytest.raises(TypeError, match="sequence"):
            fn(b"", 5)
        with pytest.raises(TypeError, match="exactly 2 arguments"):
            fn(b"")
        with pytest.raises(TypeError, match="exactly 2 arguments"):
            fn(b"", [], [])
        with pytest.raises(TypeError):
            fn(prefix=b"", items=[])
    with pytest.raises(TypeError, match="must be bytes"):
        sha().prefixed_hashes(b"", "text")  # a str is a sequence of str


# --- the public wrappers: the same answers with and without the C module -----------------------


def test_wrappers_on_the_boundaries(backend: str) -> None:
    rng = random.Random(99)
    for prefix in PREFIXES:
        items = items_of_lengths(prefix, rng) + [rng.randbytes(100_000)]
        assert hashing.prefixed_hashes(prefix, items) == want_prefixed(prefix, items)
        assert hashing.leaf_hashes(items, prefix) == [leaf_hash(prefix + item) for item in items]
    assert hashing.prefixed_hashes(b"x", []) == [] and hashing.leaf_hashes([]) == []
    assert hashing.leaf_hashes([b"", b"a"]) == [leaf_hash(b""), leaf_hash(b"a")]


def test_hash_pairs_any_length(backend: str) -> None:
    hashes = [hashlib.sha256(i.to_bytes(2, "big")).digest() for i in range(301)]
    for n in (0, 1, 2, 3, 4, 5, 64, 255, 256, 301):
        assert hashing.hash_pairs(hashes[:n]) == want_pairs(NODE_PREFIX, hashes[:n]) == hashing._hash_pairs_py(hashes[:n])
        assert hashing.hash_pairs(tuple(hashes[:n])) == want_pairs(NODE_PREFIX, hashes[:n])


def test_wrappers_keep_the_python_behaviour_for_other_inputs(backend: str) -> None:
    """Where the C module refuses (not bytes, not 32 bytes) the wrappers answer as the Python
    versions always did."""
    odd_sizes = [b"a" * 31, b"b" * 33, b"c", b""]
    assert hashing.hash_pairs(odd_sizes) == hashing._hash_pairs_py(odd_sizes) == want_pairs(NODE_PREFIX, odd_sizes)
    buffers = [bytearray(b"x" * 32), memoryview(b"y" * 32), b"z" * 32]
    assert hashing.hash_pairs(buffers) == want_pairs(NODE_PREFIX, [bytes(b) for b in buffers[:2]])  # type: ignore[arg-type]
    assert hashing.prefixed_hashes(b"p", buffers) == want_prefixed(b"p", [bytes(b) for b in buffers])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hashing.prefixed_hashes(b"p", [b"ok", None])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        hashing.hash_pairs([b"h" * 32, None])  # type: ignore[list-item]


def test_trees_are_the_same_with_and_without_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """Frontier roots (hash_pairs at every level) do not depend on the backend."""
    from calea.store.merkle.compact import Frontier

    items = [leaf_hash(i.to_bytes(4, "big")) for i in range(1000)]
    roots = []
    for native in (hashing._native, None):
        monkeypatch.setattr(hashing, "_native", native)
        f = Frontier.empty()
        seen = []
        for cut in (1, 2, 3, 7, 64, 65, 300, 999, 1000):
            f = f.extend(items[f.size:cut])
            seen.append(f.root())
        roots.append(seen)
    assert roots[0] == roots[1]


# --- no leaks -------------------------------------------------------------------------------




@needs_c
def test_no_leaks() -> None:
    """Many calls, successful and failing: the inputs' reference counts, RSS and the traced
    allocations stay put."""
    rng = random.Random(5)
    prefix = writer._CC_PREFIX
    items = [rng.randbytes(rng.randrange(0, 300)) for _ in range(500)]
    hashes = [rng.randbytes(32) for _ in range(500)]
    bad_items = items[:10] + [None]
    short = hashes[:9] + [b"s"] + hashes[:10]
    shared = [prefix, NODE_PREFIX, items, hashes, bad_items, short, None, *items[:20], *hashes[:20], b"s"]

    def run(times: int) -> None:
        for _ in range(times):
            sha().prefixed_hashes(prefix, items)
            sha().prefixed_hashes(prefix, tuple(hashes))
            sha().pair_hashes(NODE_PREFIX, hashes)
            for fn, args, exc in ((sha().prefixed_hashes, (prefix, bad_items), TypeError),
                                  (sha().pair_hashes, (NODE_PREFIX, short), ValueError),
                                  (sha().pair_hashes, (NODE_PREFIX, hashes[:3]), ValueError),
                                  (sha().pair_hashes, (NODE_PREFIX, [hashes[0], None]), TypeError)):
                try:
                    fn(*args)
                except exc:
                    pass
                else:
                    raise AssertionError(fn)

    assert_no_leak(run, shared, warmup=200, rounds=2000, traced_warmup=20, traced_rounds=500)
