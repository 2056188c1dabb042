"""Recording benchmark: CPU of concurrent calls, and how soon a long call's recording is ready.

`--calls` calls (default 1) of `--minutes` (default 60) of G.711 speech both ways -- ETSI
TS 102 232-5 iPMMCC records, 20 ms RTP packets, each call its own addresses, SSRCs and
voices -- are fed to one recorder the way the intake hands them over: batches of
`--batch` seconds of media (default 1 s) holding every call's records of that time,
interleaved.  Then every call's IRI End arrives and, `grace` seconds later, the recordings
are closed and stored.  Figures:

* `feed`: process CPU seconds the recorder spent while the calls lasted (decode, jitter
  buffer, FLAC, Opus, peaks, written as the calls go) -- measured with `time.process_time`
  around the recorder's `handle()` only: building the records is not counted, and CPU time,
  unlike wall time, is not inflated by other programs on a shared machine;
  `cpu_of_one_core` = that CPU / the media's duration: the share of one core the recorder
  needs to keep up with the calls in real time (the target: 50 calls < 30 %);
* `ready_after_end`: wall seconds from the poll that closes a call (its IRI End + `grace`)
  to its recording stored (content files, signed store event, recordings row, checkpoint),
  beyond the `grace` the recorder waits for late media (0.5 s by default; the requirement
  is <= 2 s including it, for a 1-hour call);
* sizes of the master, the Opus rendition and the peaks per hour; peak RSS.

    .venv/bin/python bench/recording.py                          # one 1-hour call: ready_after_end
    .venv/bin/python bench/recording.py --calls 50 --minutes 5   # the CPU target
    .venv/bin/python bench/recording.py --calls 50 --minutes 2 --repeat 3   # min of 3 runs

`--repeat N` runs the whole measurement N times (fresh store each) and reports each run
and the lowest CPU, the figure least disturbed by other programs on the machine.
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calea.bootstrap import build_services  # noqa: E402
from calea.clock import FakeClock  # noqa: E402
from calea.config import Settings  # noqa: E402
from calea.handover.etsi102232 import IPMMCC, PSHeader, encode_ps_pdu  # noqa: E402
from calea.handover.pcesp_ccc import rtp_packet  # noqa: E402
from calea.intake.pipeline import tune_gc  # noqa: E402
from calea.sessions.recording_store import Recorder  # noqa: E402
from calea.sim import audio  # noqa: E402
from calea.store.items import StoreItem  # noqa: E402
from calea.store.writer import StoreWriter  # noqa: E402

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
CASE, INTERCEPT = "bench-case", "bench-intercept"


class Call:
    """One call's records, made second by second (20 ms packets, both ways)."""

    def __init__(self, n: int) -> None:
        self.liid, self.cin = f"BENCH-REC-{n:02d}", str(4242 + n)
        self.target = (f"198.51.{100 + n // 200}.{20 + n % 200}", 40000 + 2 * n)
        self.peer = (f"203.0.{113 + n // 200}.{50 + n % 200}", 50000 + 2 * n)
        self.ssrc = {True: 0x1000 + n, False: 0x2000 + n}
        self.voices = {True: audio.frames(6.0, 1 + 2 * n, 110.0 + 3 * (n % 20)),
                       False: audio.frames(6.0, 2 + 2 * n, 200.0 + 3 * (n % 20))}
        self.seq = 0

    def records(self, first: int, count: int) -> Iterator[tuple[datetime, StoreItem]]:
        """Packets [first, first + count) of both directions, with their interception time."""
        for i in range(first, first + count):
            at = T0 + timedelta(seconds=i * 0.02 + 0.0005 * (i % 3))
            for from_target in (True, False):
                (src, sp), (dst, dp) = (self.target, self.peer) if from_target else (self.peer, self.target)
                voice = self.voices[from_target]
                packet = rtp_packet(src, dst, sp, dp, i, 160 * i, self.ssrc[from_target], voice[i % len(voice)])
                header = PSHeader(self.liid, self.seq, cin=int(self.cin), operator_id="BENCHTEL",
                                  network_element_id="med-1", timestamp_us=int(at.timestamp() * 1_000_000))
                raw = encode_ps_pdu(header, IPMMCC("fromTarget" if from_target else "toTarget", packet))
                self.seq += 1
                yield at, StoreItem(CASE, INTERCEPT, self.liid, "hi3", "etsi-102232", "cc", self.cin, self.seq, at, at,
                                    raw, "A2")

    def end(self) -> StoreItem:
        """The call's IRI End (SIP 200 to BYE)."""
        return StoreItem(CASE, INTERCEPT, self.liid, "hi2", "etsi-102232", "iri", self.cin, 0, T0, T0, None, "A2",
                         fields={"iri": {"type": "end"}, "sip": {"status_code": 200}})


def batches(calls: list[Call], minutes: float, batch: float) -> Iterator[list[StoreItem]]:
    """`batch` seconds of media of every call at a time, in interception order."""
    per_batch = max(1, round(batch * 50))
    total = round(minutes * 60 * 50)
    for first in range(0, total, per_batch):
        count = min(per_batch, total - first)
        timed = [x for c in calls for x in c.records(first, count)]
        timed.sort(key=lambda x: x[0])
        yield [it for _, it in timed]


def run(args: argparse.Namespace) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="calea-bench-rec-"))
    svc = build_services(Settings(home=home, database_url=f"sqlite:///{home / 'calea.db'}"), FakeClock(T0 + timedelta(hours=2)))
    writer = StoreWriter(svc)
    calls = [Call(n) for n in range(args.calls)]
    clock = [0.0]
    rec = Recorder(svc, writer, grace=args.grace, monotonic=lambda: clock[0])
    tune_gc()  # as `calea serve` does before it starts the intake and the recorder
    feed_cpu = build_cpu = 0.0
    records = 0
    wall = time.perf_counter()
    t = time.process_time()
    for b in batches(calls, args.minutes, args.batch):
        t1 = time.process_time()
        build_cpu += t1 - t
        rec.handle(b)
        t = time.process_time()
        feed_cpu += t - t1
        records += len(b)
        clock[0] += args.batch
    feed_wall = time.perf_counter() - wall
    # the calls' ends: IRI End (SIP 200 to BYE) -- the recorder closes `grace` seconds later
    rec.handle([c.end() for c in calls])
    clock[0] += args.grace
    readies = []
    close_cpu = time.process_time()
    for key in list(rec.calls):  # as poll() does, one call at a time, timed one by one
        w = time.perf_counter()
        rec_id = rec.close(key, "call-end")
        readies.append(time.perf_counter() - w)
        assert rec_id is not None
    close_cpu = time.process_time() - close_cpu
    from sqlalchemy import select

    from calea.db.schema_recordings import recordings

    with svc.db.read() as conn:
        rows = conn.execute(select(recordings)).mappings().all()
    assert len(rows) == args.calls, (len(rows), args.calls)
    media = statistics.mean(r["duration_ms"] for r in rows) / 1000
    hours = sum(r["duration_ms"] for r in rows) / 1000 / 3600
    writer.close()
    svc.db.engine.dispose()
    shutil.rmtree(home, ignore_errors=True)  # the store of a 50-call run is ~300 MB
    gc.collect()
    return {"records": records, "media": media, "feed_cpu": feed_cpu, "feed_wall": feed_wall, "build_cpu": build_cpu,
            "cpu_of_one_core": feed_cpu / media, "cpu_per_call_hour": feed_cpu / hours,
            "ready_mean": statistics.mean(readies), "ready_max": max(readies), "close_cpu": close_cpu,
            "master": sum(r["master_size"] for r in rows) / hours, "rendition": sum(r["rendition_size"] for r in rows) / hours,
            "peaks": sum(r["peaks_size"] for r in rows) / hours,
            "packets": sum(r["markers"]["counts"]["packets"] for r in rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--batch", type=float, default=1.0, help="seconds of media per intake batch")
    ap.add_argument("--grace", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    results = []
    for n in range(args.repeat):
        r = run(args)
        results.append(r)
        print(f"run {n + 1}: {args.calls} call(s) x {r['media'] / 60:.1f} min, {r['packets']:,} packets "
              f"({r['records']:,} CC records, built in {r['build_cpu']:.0f} s CPU, not counted)")
        print(f"  feed: {r['feed_cpu']:.1f} s CPU ({r['feed_wall']:.1f} s wall, building included) for "
              f"{r['media']:.0f} s of media = {100 * r['cpu_of_one_core']:.1f} % of one core "
              f"({r['cpu_per_call_hour']:.1f} s CPU per call-hour)")
        print(f"  ready_after_end: {r['ready_mean']:.2f} s mean, {r['ready_max']:.2f} s max after the grace of "
              f"{args.grace} s = {r['ready_max'] + args.grace:.2f} s (requirement <= 2 s for a 1-hour call); "
              f"closing all {args.calls}: {r['close_cpu']:.1f} s CPU")
        print(f"  sizes per call-hour: master {r['master'] / 1e6:.1f} MB (FLAC), rendition {r['rendition'] / 1e6:.1f} MB "
              f"(Opus, {r['rendition'] * 8 / 3600 / 1000:.0f} kbit/s), peaks {r['peaks'] / 1e3:.0f} kB")
    best = min(results, key=lambda r: r["cpu_of_one_core"])
    if args.repeat > 1:
        print(f"lowest of {args.repeat} runs: {100 * best['cpu_of_one_core']:.1f} % of one core "
              f"({best['cpu_per_call_hour']:.1f} s CPU per call-hour); all runs: "
              + ", ".join(f"{100 * r['cpu_of_one_core']:.1f} %" for r in results))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
