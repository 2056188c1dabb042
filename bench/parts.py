"""Where a record's time goes, in-process (no sockets): the CPU time per record of

  decode     `decode` of the ETSI record alone (IRI: the C walk and the Delivery around it;
             CC: the header)
  pipeline   `Intake.process` with a writer that stores nothing (split records in, decode,
             de-duplication, the gate, the StoreItems)
  writer     the real store writer on those StoreItems (canonical JSON, raw and leaf hashes,
             segment append and fsync, the SQLite rows and commit, the Merkle leaves)
  together   `Intake.process` with the real writer, each batch freed after it is stored
             (what the intake's thread does, without the sockets and the other threads)

on a mix of `bench/intake.py` (default: the calls, each call's SIP dialogue a CIN of its own),
in batches as the intake makes them (5,000 IRI or 20,000 CC records), best of `--repeat` runs
each (a fresh store per writer run), with wall time beside CPU time for "together" (the disk's
syncs wait without CPU).  `bench/intake.py` measures the same path end to end; this one says
which part moved, and is far less disturbed by the other programs on the machine.

    .venv/bin/python bench/parts.py
    .venv/bin/python bench/parts.py --records 42000 --repeat 5 --kind iri-invite
    .venv/bin/python bench/parts.py --kind cc --records 200000
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake import T0, make_stream, setup_intercepts  # noqa: E402

from calea.bootstrap import build_services  # noqa: E402
from calea.clock import FakeClock  # noqa: E402
from calea.config import Settings  # noqa: E402
from calea.handover.etsi102232_decode import decode  # noqa: E402
from calea.handover.framing import RecordSplitter  # noqa: E402
from calea.handover.model import Channel  # noqa: E402
from calea.intake.pipeline import Intake, Received, tune_gc  # noqa: E402
from calea.store.writer import BatchResult  # noqa: E402

BATCH = {"cc": 20_000, "iri": 5_000, "iri-invite": 5_000}  # records a batch, as the intake makes them


class Keeper:
    """A writer that stores nothing and keeps what it was given."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    def write(self, items: list[Any], refused: list[Any] = (), bad: list[Any] = (),  # type: ignore[assignment]
              stream_rows: list[Any] = ()) -> BatchResult:  # type: ignore[assignment]
        self.batches.append(items)
        return BatchResult(stored=len(items))

    def recover(self) -> None: ...

    def close(self) -> None: ...


def split(data: bytes) -> list[bytes]:
    splitter, out = RecordSplitter(), []
    for i in range(0, len(data), 1 << 16):
        splitter.receive_data(data[i:i + (1 << 16)])
        while isinstance(rec := splitter.next_record(), (bytes, bytearray)):
            out.append(bytes(rec))
    return out


def services() -> Any:
    home = Path(tempfile.mkdtemp(prefix="calea-parts-"))
    svc = build_services(Settings(home=home, database_url=f"sqlite:///{home / 'calea.db'}"),
                         FakeClock(T0 + timedelta(hours=2)))
    setup_intercepts(svc, 16)
    return svc


def timed(fn: Any) -> float:
    return timed_both(fn)[0]


def timed_both(fn: Any) -> tuple[float, float]:
    """CPU and wall seconds of `fn()`."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def dispose(svc: Any) -> None:
    svc.db.dispose()
    shutil.rmtree(svc.settings.home, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=42_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kind", choices=tuple(BATCH), default="iri")
    ap.add_argument("--batch", type=int, default=None, help="records a batch (default: 20,000 CC, 5,000 IRI)")
    args = ap.parse_args()
    args.batch = args.batch or BATCH[args.kind]
    channel = Channel.HI3 if args.kind == "cc" else Channel.HI2
    tune_gc()
    records = split(make_stream(args.kind, args.records))
    n = len(records)
    svc = services()
    received_at = svc.now()
    batches = [[Received(r, channel, "etsi-102232", "bench", received_at) for r in records[i:i + args.batch]]
               for i in range(0, n, args.batch)]

    def decode_all() -> None:
        for r in records:
            decode(r, channel)

    kept: list[list[Any]] = []

    def pipeline() -> None:
        keeper = Keeper()
        intake = Intake(svc, keeper)  # type: ignore[arg-type]
        for b in batches:
            intake.process(b)
        kept[:] = keeper.batches

    parts = {"decode": min(timed(decode_all) for _ in range(args.repeat)),
             "pipeline": min(timed(pipeline) for _ in range(args.repeat))}
    stored = sum(len(b) for b in kept)
    assert stored == n, f"the pipeline kept {stored} of {n} records"

    def writer_run() -> float:
        store = services()
        writer = store.store_writer()
        writer.checkpoint_every = 100_000
        took = timed(lambda: [writer.write(items) for items in kept])
        writer.close()
        dispose(store)
        return took

    parts["writer"] = min(writer_run() for _ in range(args.repeat))

    def together() -> tuple[float, float]:  # the real writer inside: what the intake's thread does
        store = services()
        intake = Intake(store)
        intake.writer.checkpoint_every = 100_000
        took = timed_both(lambda: [intake.process(b) for b in batches])  # (the items each batch made are freed with it)
        intake.writer.close()
        dispose(store)
        return took

    cpu, wall = min(together() for _ in range(args.repeat))
    parts["together"] = cpu
    dispose(svc)
    print(f"{args.kind}: {n:,} records in batches of {args.batch:,}, best of {args.repeat}; CPU µs a record")
    for name, seconds in parts.items():
        print(f"  {name:<9} {seconds / n * 1e6:7.1f}")
    total = (parts["pipeline"] + parts["writer"]) / n
    print(f"  {'sum':<9} {total * 1e6:7.1f}   (pipeline + writer: {1 / total:,.0f} records per CPU-second)")
    print(f"  (together: {n / cpu:,.0f} records per CPU-second; {wall / n * 1e6:.1f} µs, {n / wall:,.0f} records a second of wall time)")


if __name__ == "__main__":
    main()
