"""Micro-benchmark: append leaf hashes to a file-backed Merkle log and print leaves/s.

    python bench/merkle_append.py                  # 1,000,000 leaves, batches of 1,000, fsync on
    python bench/merkle_append.py --no-fsync       # the same without fsync (CPU-bound figure)

Leaf hashes are generated before timing starts; the timed part is `MerkleLog.append`
(integration hashing, tile writes, state commit).  The final root is checked against the
frontier of a freshly reopened log.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calea.store.merkle.log import MerkleLog  # noqa: E402
from calea.store.merkle.storage import FileTileStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--no-fsync", action="store_true", help="skip fsync (not durable)")
    args = parser.parse_args()

    seed = hashlib.sha256(b"bench").digest()
    leaves = [hashlib.sha256(seed + i.to_bytes(8, "big")).digest() for i in range(args.leaves)]
    with tempfile.TemporaryDirectory() as base:
        store = FileTileStore.for_log(base, "bench/case", fsync=not args.no_fsync)
        log = MerkleLog("bench/case", store)
        start = time.perf_counter()
        for i in range(0, args.leaves, args.batch):
            log.append(leaves[i : i + args.batch])
        elapsed = time.perf_counter() - start
        reopened = MerkleLog("bench/case", FileTileStore.for_log(base, "bench/case"))
        assert reopened.size == args.leaves and reopened.root() == log.root()
        files = sum(1 for p in Path(base).rglob("*") if p.is_file())
    fsync = "off" if args.no_fsync else "on"
    print(
        f"{args.leaves:,} leaves in batches of {args.batch:,} (fsync {fsync}): "
        f"{elapsed:.2f} s, {args.leaves / elapsed:,.0f} leaves/s, {files:,} files, "
        f"root {log.root().hex()[:16]}..."
    )


if __name__ == "__main__":
    main()
