"""Intake benchmark: PS-PDUs per second end to end (socket -> split -> decode -> dedupe ->
gate -> durable batch commit -> Merkle leaves), for a CC-heavy mix (RTP in 200-byte IP
packets) and IRI-heavy mixes (SIP IRI, fully decoded), beside a bare socket-to-file copy of
the same bytes as the floor.  Peak RSS of the receiving process is reported.

The IRI mixes:
  iri         calls as carriers deliver them: each call's SIP dialogue (INVITE with SDP,
              100, 180, 200 with SDP, ACK, BYE, 200), each call a stream of its own (its CIN)
  iri-invite  INVITEs with SDP only, one stream per LIID (the largest SIP record, and no
              stream ever new: the figure earlier sessions reported)

    .venv/bin/python bench/intake.py                 # 200k CC + 50k IRI PDUs
    .venv/bin/python bench/intake.py --cc 0 --iri 40000 --iri-invite 40000
    .venv/bin/python bench/intake.py --cc 1000000 --iri 200000
    .venv/bin/python bench/intake.py --duration 600  # sustained feed (RSS over 10 minutes)
    .venv/bin/python bench/intake.py --cc 0 --iri 20000 --duration 600 --sustain iri   # new calls all along

The sender runs in another process, so the figures are the receiver's (one core).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calea.clock import FakeClock  # noqa: E402
from calea.config import Settings  # noqa: E402
from calea.handover.etsi102232 import IPMMCC, IPMMIRI, PSHeader, encode_ps_pdu  # noqa: E402

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
SIP = (b"INVITE sip:+12125550100@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK776\r\n"
       b"From: <sip:+13105550123@example.net>;tag=1928\r\nTo: <sip:+12125550100@example.net>\r\n"
       b"Call-ID: a84b4c76e66710@example.net\r\nCSeq: 314159 INVITE\r\nContact: <sip:+13105550123@203.0.113.10>\r\n"
       b"Content-Type: application/sdp\r\nContent-Length: 129\r\n\r\nv=0\r\no=- 1 1 IN IP4 203.0.113.50\r\ns=-\r\n"
       b"c=IN IP4 203.0.113.50\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n")


SDP_ANSWER = (b"v=0\r\no=- 2 2 IN IP4 198.51.100.77\r\ns=-\r\nc=IN IP4 198.51.100.77\r\nt=0 0\r\n"
              b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


def _response(code: int, reason: str, method: str, cseq: int, sdp: bytes = b"") -> bytes:
    head = (f"SIP/2.0 {code} {reason}\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK776\r\n"
            f"From: <sip:+13105550123@example.net>;tag=1928\r\nTo: <sip:+12125550100@example.net>;tag=a6c85cf\r\n"
            f"Call-ID: a84b4c76e66710@example.net\r\nCSeq: {cseq} {method}\r\n").encode()
    if sdp:
        head += b"Contact: <sip:+12125550100@198.51.100.77>\r\nContent-Type: application/sdp\r\n"
    return head + f"Content-Length: {len(sdp)}\r\n\r\n".encode() + sdp


def _request(method: str, cseq: int) -> bytes:
    return (f"{method} sip:+12125550100@198.51.100.77 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK777\r\n"
            f"From: <sip:+13105550123@example.net>;tag=1928\r\nTo: <sip:+12125550100@example.net>;tag=a6c85cf\r\n"
            f"Call-ID: a84b4c76e66710@example.net\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n").encode()


# one call's SIP dialogue, as the target's P-CSCF sees it
DIALOGUE = (SIP, _response(100, "Trying", "INVITE", 314159), _response(180, "Ringing", "INVITE", 314159),
            _response(200, "OK", "INVITE", 314159, SDP_ANSWER), _request("ACK", 314159), _request("BYE", 314160),
            _response(200, "OK", "BYE", 314160))


def make_stream(kind: str, n: int, liids: int = 16, start: int = 0) -> bytes:
    out = bytearray()
    packet = bytes(range(200))
    calls = len(DIALOGUE)
    for i in range(start, start + n):
        liid = f"BENCH-{i % liids:02d}"
        seq = i // liids
        stamp = int((T0.timestamp() + (seq % 250_000) * 0.02) * 1_000_000)
        if kind == "iri":  # each call its own CIN, numbered from 0 (TS 102 232-1)
            h = PSHeader(liid=liid, sequence=seq % calls, cin=seq // calls, operator_id="EXAMPLETEL",
                         network_element_id="med-1", timestamp_us=stamp)
            out += encode_ps_pdu(h, IPMMIRI("continue", DIALOGUE[seq % calls], "198.51.100.20", "203.0.113.10"))
            continue
        h = PSHeader(liid=liid, sequence=seq, cin=7, operator_id="EXAMPLETEL", network_element_id="med-1", timestamp_us=stamp)
        if kind == "cc":
            out += encode_ps_pdu(h, IPMMCC("fromTarget", packet))
        else:  # iri-invite
            out += encode_ps_pdu(h, IPMMIRI("continue", SIP, "198.51.100.20", "203.0.113.10"))
    return bytes(out)


def sender(port: int, data: bytes, repeat: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        view = memoryview(data)
        for _ in range(repeat):
            for i in range(0, len(view), 65536):
                s.sendall(view[i:i + 65536])
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass


def generating_sender(port: int, kind: str, total: int, chunk: int = 20_000) -> None:
    """A sustained feed: fresh sequence numbers all the way (encoded here, on the other core)."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        for start in range(0, total, chunk):
            s.sendall(make_stream(kind, min(chunk, total - start), start=start))
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass


def floor(data: bytes) -> float:
    """Bare socket -> file copy of the same bytes (what the disk and the kernel cost)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    p = mp.Process(target=sender, args=(port, data, 1))
    p.start()
    conn, _ = srv.accept()
    start = time.perf_counter()
    with tempfile.NamedTemporaryFile() as fh:
        while chunk := conn.recv(1 << 20):
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    elapsed = time.perf_counter() - start
    conn.close()
    srv.close()
    p.join()
    return elapsed


def setup_intercepts(svc, liids: int) -> None:  # type: ignore[no-untyped-def]
    from calea.domain.access import Role
    from calea.services import authorities, carriers, cases, intercepts, users
    from calea.services.context import Actor

    u = users.create_user(svc, None, username="taru.bench", password="Bench-Password-1", role="taru", unit="TARU")
    s = users.create_user(svc, None, username="sup.bench", password="Bench-Password-1", role="supervisor", unit="Bench")
    taru = Actor(u["id"], "taru.bench", Role.TARU, "TARU")
    sup = Actor(s["id"], "sup.bench", Role.SUPERVISOR, "Bench")
    carrier = carriers.create_carrier(svc, taru, {"name": "BenchTel"})
    pdf = b"%PDF-1.4\n%%EOF\n"
    for i in range(liids):
        ident = [{"kind": "e164", "value": f"+1212555{i:04d}"}]
        case = cases.open_case(svc, taru, complaint_number=f"BENCH-{i:04d}", title="bench", unit="Bench")
        doc = cases.upload_document(svc, taru, case["id"], filename="o.pdf", data=pdf)
        start = T0 - timedelta(days=1)
        authorities.record_authority(svc, taru, case["id"], {
            "kind": "eavesdropping", "court": "c", "judge": "j", "docket": f"d{i}", "offenses": ["x"],
            "issued_at": start.isoformat(), "expires_at": (start + timedelta(days=30)).isoformat(),
            "identifiers": ident, "document_id": doc["id"]})
        cases.approve_case(svc, sup, case["id"], reasons="benchmark approval")
        icpt = intercepts.create_intercept(svc, taru, case["id"], {"carrier_id": carrier["id"], "liid": f"BENCH-{i:02d}", "identifiers": ident})
        intercepts.activate(svc, taru, icpt["id"])


def run(kind: str, n: int, repeat: int, database_url: str | None, batch: int) -> dict[str, float]:
    from calea.bootstrap import build_services
    from calea.handover.model import Channel
    from calea.intake.listener import ListenerSpec, start_listeners
    from calea.intake.pipeline import Intake

    data = make_stream(kind, n)
    home = Path(tempfile.mkdtemp(prefix="calea-bench-"))
    settings = Settings(home=home, database_url=database_url or f"sqlite:///{home / 'calea.db'}")
    clock = FakeClock(T0 + timedelta(hours=2))
    svc = build_services(settings, clock)
    setup_intercepts(svc, 16)
    intake = Intake(svc, batch_size=batch, max_delay=0.05, queue_size=4 * batch)
    intake.writer.checkpoint_every = 100_000
    loop = asyncio.new_event_loop()
    th = threading.Thread(target=loop.run_forever, daemon=True)
    th.start()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    srv.close()
    spec = ListenerSpec("BenchTel", "etsi-102232", Channel.HI3 if kind == "cc" else Channel.HI2, "127.0.0.1", port)
    asyncio.run_coroutine_threadsafe(start_listeners(intake, [spec]), loop).result(10)
    intake.start()
    from calea.intake.pipeline import tune_gc

    tune_gc()  # as `calea serve` does
    # repeats resend the same sequence numbers: count only the first pass as stored work
    if repeat > 1:  # sustained: a generated feed of n * repeat distinct PDUs
        p = mp.Process(target=generating_sender, args=(port, kind, n * repeat))
    else:
        p = mp.Process(target=sender, args=(port, data, 1))
    start = time.perf_counter()
    cpu0 = time.process_time()
    p.start()
    p.join()
    total = n * repeat
    while intake.stats.counters.received < total:
        time.sleep(0.01)
    intake.wait_idle(600)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0  # this process only (the sender is another one)
    c = intake.stats.counters
    loop.call_soon_threadsafe(loop.stop)
    th.join(5)
    intake.stop()
    svc.db.dispose()
    shutil.rmtree(home, ignore_errors=True)  # (a run's store is ~100 MB)
    fl = floor(data)
    return {"pdus": total, "stored": c.stored, "duplicates": c.duplicates, "batches": c.batches, "seconds": elapsed, "rate": total / elapsed, "cpu_rate": total / cpu,
            "floor_rate": n / fl, "bytes": len(data) * repeat,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def machine_speed() -> str:
    """This machine's speed at the moment, to read the figures by: it varies by half from
    hour to hour here.  A pure-Python loop, SHA-256 (every record is hashed twice: its raw
    bytes and its Merkle leaf), and whether the CPU has SHA instructions."""
    import hashlib
    import timeit

    loop = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6
    block = bytes(1 << 20)
    sha = (1 << 20) * 20 / min(timeit.repeat(lambda: hashlib.sha256(block).digest(), number=20, repeat=5)) / 1e6
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
        sha_ni = "yes" if "sha_ni" in flags else "no"
    except OSError:
        sha_ni = "?"
    return f"machine: sum(range(1000)) {loop:.1f} us, SHA-256 {sha:,.0f} MB/s (SHA instructions: {sha_ni})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cc", type=int, default=200_000, help="CC PDUs (RTP, 200-byte packets)")
    ap.add_argument("--iri", type=int, default=50_000, help="IRI PDUs: calls' SIP dialogues, a CIN per call (full decode)")
    ap.add_argument("--iri-invite", type=int, default=0, help="IRI PDUs: INVITEs with SDP, one stream per LIID (full decode)")
    ap.add_argument("--batch", type=int, default=20_000, help="CC records per batch (an IRI record weighs 4)")
    ap.add_argument("--duration", type=float, default=0, help="sustain the CC feed about this many seconds (RSS)")
    ap.add_argument("--sustain", choices=("cc", "iri"), default="cc", help="the mix --duration feeds")
    ap.add_argument("--database-url", default=None, help="e.g. postgresql+psycopg://postgres@127.0.0.1/test (empty schema!)")
    ap.add_argument("--runs", type=int, default=1, help="run each mix this many times, then print the median (noisy machines)")
    args = ap.parse_args()
    print(machine_speed())
    print(f"{'mix':<10} {'PDUs':>10} {'seconds':>8} {'PDUs/s':>10} {'PDUs/CPU-s':>11} {'floor PDUs/s':>13} {'peak RSS MB':>12}")
    mixes = [(kind, n, 1) for kind, n in (("cc", args.cc), ("iri", args.iri), ("iri-invite", args.iri_invite)) if n > 0]
    if args.duration:  # about `duration` seconds at this machine's rates
        n = args.cc if args.sustain == "cc" else args.iri
        mixes = [(args.sustain, n, max(2, int(args.duration * (100_000 if args.sustain == "cc" else 16_000) / n)))]
    for kind, n, repeat in mixes:
        results = []
        for _ in range(max(1, args.runs)):
            r = run(kind, n, repeat, args.database_url, args.batch)
            results.append(r)
            _line(kind, r, f"(stored {r['stored']:,}, duplicates {r['duplicates']:,}, in {r['batches']:,} batches)")
        if len(results) > 1:
            middle = {k: statistics.median(x[k] for x in results) for k in results[0]}
            _line(kind, middle, f"median of {len(results)} runs")


def _line(kind: str, r: dict[str, float], note: str) -> None:
    print(f"{kind:<10} {r['pdus']:>10,.0f} {r['seconds']:>8.1f} {r['rate']:>10,.0f} {r['cpu_rate']:>11,.0f} {r['floor_rate']:>13,.0f}"
          f" {r['rss_mb']:>12.0f}   {note}")


if __name__ == "__main__":
    main()
