"""Recording benchmark: how soon a long call's recording is ready after the call ends.

A call of `--minutes` (default 60) of G.711 speech both ways -- ETSI TS 102 232-5 iPMMCC
records, 20 ms RTP packets, as the intake hands them to its subscribers -- is fed to the
recorder in batches of one second of media, as fast as it goes; then the call's IRI End
arrives and the recording is closed.  Figures:

* `feed`: CPU seconds the recorder spent during the call (decode, jitter buffer, FLAC,
  Opus, peaks, written as the call goes) and how many times faster than real time;
* `ready_after_end`: seconds from the IRI End to the recording stored (content files,
  signed store event, recordings row, checkpoint), beyond the `grace` the recorder waits
  for late media (0.5 s by default; the requirement is <= 2 s including it);
* sizes of the master, the Opus rendition and the peaks; peak RSS.

    .venv/bin/python bench/recording.py               # a 1-hour call
    .venv/bin/python bench/recording.py --minutes 5   # quicker
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calea.bootstrap import build_services  # noqa: E402
from calea.clock import FakeClock  # noqa: E402
from calea.config import Settings  # noqa: E402
from calea.handover.etsi102232 import IPMMCC, PSHeader, encode_ps_pdu  # noqa: E402
from calea.handover.pcesp_ccc import rtp_packet  # noqa: E402
from calea.sessions.recording_store import Recorder  # noqa: E402
from calea.sim import audio  # noqa: E402
from calea.store.items import StoreItem  # noqa: E402
from calea.store.writer import StoreWriter  # noqa: E402

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
LIID, CIN = "BENCH-REC-01", "4242"
TARGET, PEER = ("198.51.100.20", 40000), ("203.0.113.50", 50000)


def items(minutes: float, case_id: str) -> list[list[StoreItem]]:
    """One batch per second of the call: 50 packets each way."""
    voices = {True: audio.frames(6.0, 1, 120.0), False: audio.frames(6.0, 2, 210.0)}
    batches: list[list[StoreItem]] = []
    seq = 0
    for second in range(int(minutes * 60)):
        batch = []
        for i in range(second * 50, second * 50 + 50):
            at = T0 + timedelta(seconds=i * 0.02 + 0.0005 * (i % 3))
            for from_target in (True, False):
                (src, sp), (dst, dp) = (TARGET, PEER) if from_target else (PEER, TARGET)
                packet = rtp_packet(src, dst, sp, dp, i, 160 * i, 0x1000 if from_target else 0x2000,
                                    voices[from_target][i % len(voices[from_target])])
                header = PSHeader(LIID, seq, cin=int(CIN), operator_id="BENCHTEL", network_element_id="med-1",
                                  timestamp_us=int(at.timestamp() * 1_000_000))
                raw = encode_ps_pdu(header, IPMMCC("fromTarget" if from_target else "toTarget", packet))
                seq += 1
                batch.append(StoreItem(case_id, "bench-intercept", LIID, "hi3", "etsi-102232", "cc", CIN, seq, at, at, raw, "A2"))
        batches.append(batch)
    return batches


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--grace", type=float, default=0.5)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="calea-bench-rec-"))
    svc = build_services(Settings(home=home, database_url=f"sqlite:///{home / 'calea.db'}"), FakeClock(T0 + timedelta(hours=2)))
    writer = StoreWriter(svc)
    case_id = "bench-case"
    t = time.perf_counter()
    batches = items(args.minutes, case_id)
    print(f"built {sum(len(b) for b in batches):,} CC records in {time.perf_counter() - t:.1f} s")
    clock = [0.0]
    rec = Recorder(svc, writer, grace=args.grace, monotonic=lambda: clock[0])
    cpu, wall = time.process_time(), time.perf_counter()
    for b in batches:
        rec.handle(b)
    feed_cpu, feed_wall = time.process_time() - cpu, time.perf_counter() - wall
    # the call's end: IRI End (SIP 200 to BYE) -- the recorder closes `grace` seconds later
    end = StoreItem(case_id, "bench-intercept", LIID, "hi2", "etsi-102232", "iri", CIN, 0, T0, T0, None, "A2",
                    fields={"iri": {"type": "end"}, "sip": {"status_code": 200}})
    rec.handle([end])
    clock[0] = args.grace
    wall = time.perf_counter()
    [rec_id] = rec.poll()
    ready = time.perf_counter() - wall
    from sqlalchemy import select

    from calea.db.schema_recordings import recordings

    with svc.db.read() as conn:
        row = conn.execute(select(recordings).where(recordings.c.id == rec_id)).mappings().one()
    seconds = row["duration_ms"] / 1000
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"call: {seconds / 60:.1f} min of audio, {row['markers']['counts']['packets']:,} packets")
    print(f"feed: {feed_cpu:.1f} s CPU ({feed_wall:.1f} s wall) = {seconds / feed_wall:.0f}x real time "
          f"({feed_cpu / seconds * 3600:.0f} s CPU per hour of call)")
    print(f"ready_after_end: {ready:.2f} s after the grace of {args.grace} s = {ready + args.grace:.2f} s (requirement <= 2 s)")
    print(f"sizes: master {row['master_size'] / 1e6:.1f} MB (FLAC), rendition {row['rendition_size'] / 1e6:.1f} MB "
          f"(Opus, {row['rendition_size'] * 8 / seconds / 1000:.0f} kbit/s), peaks {row['peaks_size'] / 1e3:.0f} kB")
    print(f"peak RSS: {rss:.0f} MB")
    writer.close()


if __name__ == "__main__":
    main()
