"""Live-audio latency: from a CC PS-PDU's arrival at the intake to its receipt by each of N
WebSocket monitors (real sockets: uvicorn serving the app, the intake's listeners and its
pipeline thread in the service's process, as `calea serve` runs them).

    .venv/bin/python bench/live.py                       # 20 monitors, 2 calls (4 RTP streams), 10 s
    .venv/bin/python bench/live.py --monitors 50 --calls 4 --seconds 20 --max-delay 0.005

A carrier process sends G.711 RTP in IPMMCC PS-PDUs over TCP at the real pace (one PDU per
stream every 20 ms); a client process holds the monitors (the `websockets` library) and
measures, per audio frame, `receipt - arrival` where `arrival` is the intake's receipt
stamp carried in the frame header (same machine, same clock).  Also reported: the part
spent before the frame was queued for the sockets (`sent - arrival`: the intake's batch
delay, the durable commit and the Merkle append), and audio dropped for slow monitors.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import shutil
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calea.config import Settings  # noqa: E402

LIID = "BENCH-LIVE-1"
PASSWORD = "Bench-Password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(svc):  # type: ignore[no-untyped-def]
    """A case under an eavesdropping warrant, an active intercept, a granted investigator."""
    from calea.domain.access import Role
    from calea.services import authorities, carriers, cases, grants, intercepts, users
    from calea.services.context import Actor

    u = users.create_user(svc, None, username="taru.bench", password=PASSWORD, role="taru", unit="TARU")
    s = users.create_user(svc, None, username="sup.bench", password=PASSWORD, role="supervisor", unit="Bench")
    inv = users.create_user(svc, None, username="det.bench", password=PASSWORD, role="investigator", unit="Bench")
    taru, sup = Actor(u["id"], "taru.bench", Role.TARU, "TARU"), Actor(s["id"], "sup.bench", Role.SUPERVISOR, "Bench")
    carrier = carriers.create_carrier(svc, taru, {"name": "BenchTel"})
    ident = [{"kind": "e164", "value": "+12125550100"}]
    case = cases.open_case(svc, taru, complaint_number="BENCH-0001", title="live bench", unit="Bench")
    doc = cases.upload_document(svc, taru, case["id"], filename="o.pdf", data=b"%PDF-1.4\n%%EOF\n")
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    auth = authorities.record_authority(svc, taru, case["id"], {
        "kind": "eavesdropping", "court": "c", "judge": "j", "docket": "d", "offenses": ["x"],
        "issued_at": start.isoformat(), "expires_at": (start + timedelta(days=30)).isoformat(),
        "identifiers": ident, "document_id": doc["id"]})
    cases.approve_case(svc, sup, case["id"], reasons="benchmark approval")
    icpt = intercepts.create_intercept(svc, taru, case["id"], {"carrier_id": carrier["id"], "liid": LIID, "identifiers": ident})
    intercepts.activate(svc, taru, icpt["id"])
    grants.create_grant(svc, taru, case["id"], {"user_id": inv["id"], "authority_id": auth["id"], "purpose": "bench"})
    token = users.login(svc, username="det.bench", password=PASSWORD, ip="127.0.0.1").token
    return case["id"], token


def carrier(port: int, calls: int, seconds: float) -> None:
    """One PDU per stream (call x direction) every 20 ms, stamped now."""
    from calea.handover.etsi102232 import IPMMCC, PSHeader, encode_ps_pdu
    from calea.sim.audio import frames
    from calea.sim.packets import udp

    audio = frames(1.0, seed=7)
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = time.time()
        for tick in range(int(seconds * 50)):
            due = start + tick * 0.02
            time.sleep(max(0.0, due - time.time()))
            out = bytearray()
            for call in range(calls):
                for direction in ("fromTarget", "toTarget"):
                    rtp = bytes([0x80, 0]) + (tick & 0xFFFF).to_bytes(2, "big") + (tick * 160).to_bytes(4, "big") \
                        + (call * 2 + (direction == "toTarget")).to_bytes(4, "big") + audio[tick % len(audio)]
                    packet = udp("198.51.100.20", "203.0.113.50", 40000, 50000, rtp)
                    header = PSHeader(LIID, tick * 2 + (direction == "toTarget"), cin=100 + call,
                                      timestamp_us=int(time.time() * 1_000_000))
                    out += encode_ps_pdu(header, IPMMCC(direction, packet))
            s.sendall(out)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass


def monitors(url: str, token: str, n: int, seconds: float, ready: object, results: object) -> None:
    import websockets

    from calea.sessions.live_media import unpack_frame

    async def one(i: int, sink: list[tuple[int, int]]) -> None:
        async with websockets.connect(url, additional_headers={"Cookie": f"calea_session={token}"}, max_queue=None) as ws:
            await ws.recv()  # hello
            ready.put(i)  # type: ignore[attr-defined]
            end = time.time() + seconds + 3
            while time.time() < end:
                try:
                    msg = await asyncio.wait_for(ws.recv(), timeout=max(0.1, end - time.time()))
                except asyncio.TimeoutError:
                    break
                if isinstance(msg, bytes):
                    now_us = time.time_ns() // 1000
                    h = unpack_frame(msg)
                    sink.append((now_us - h["arrival_us"], h["sent_us"] - h["arrival_us"]))

    async def main() -> None:
        sinks: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        await asyncio.gather(*(one(i, sinks[i]) for i in range(n)))
        results.put(sinks)  # type: ignore[attr-defined]

    asyncio.run(main())


def pct(values: list[int], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * len(v)))] / 1000 if v else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--monitors", type=int, default=20)
    ap.add_argument("--calls", type=int, default=2, help="concurrent calls (2 RTP streams each)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-delay", type=float, default=0.05, help="the intake's batch delay (the service's default: 0.05 s)")
    args = ap.parse_args()

    import uvicorn

    from calea.bootstrap import build_services
    from calea.handover.model import Channel
    from calea.intake.listener import ListenerSpec, Registry, start_listeners
    from calea.intake.pipeline import Intake
    from calea.web.api import live as live_api
    from calea.web.app import create_app

    home = Path(tempfile.mkdtemp(prefix="calea-live-bench-"))
    svc = build_services(Settings(home=home, database_url=f"sqlite:///{home / 'calea.db'}"))
    case_id, token = setup(svc)
    app = create_app(svc)
    if "/api/v1/live/{case_id}" not in {getattr(r, "path", "") for r in app.routes}:
        app.include_router(live_api.router, prefix="/api/v1")
    intake = Intake(svc, max_delay=args.max_delay)
    service = live_api.install(app, intake)
    hi3, web = free_port(), free_port()
    loop = asyncio.new_event_loop()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=web, log_level="warning", ws="websockets-sansio"))

    async def serve() -> None:
        await start_listeners(intake, [ListenerSpec("BenchTel", "etsi-102232", Channel.HI3, "127.0.0.1", hi3)], Registry(), {})
        intake.start()
        await server.serve()

    th = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    url = f"ws://127.0.0.1:{web}/api/v1/live/{case_id}?purpose=benchmark"
    clients = ctx.Process(target=monitors, args=(url, token, args.monitors, args.seconds, ready, results))
    clients.start()
    for _ in range(args.monitors):
        ready.get(timeout=60)
    feed = ctx.Process(target=carrier, args=(hi3, args.calls, args.seconds))
    feed.start()
    feed.join()
    sinks = results.get(timeout=args.seconds + 60)
    clients.join(10)
    server.should_exit = True
    th.join(10)
    intake.stop()
    svc.db.dispose()
    shutil.rmtree(home, ignore_errors=True)

    total = [lat for s in sinks for lat, _ in s]
    before = [b for s in sinks for _, b in s]
    expected = int(args.seconds * 50) * args.calls * 2
    print(f"monitors {args.monitors}, calls {args.calls} ({args.calls * 2} RTP streams, 50 packets/s each), "
          f"{args.seconds:.0f} s, intake batch delay {args.max_delay * 1000:.0f} ms")
    print(f"frames per monitor: expected {expected}, received min {min(map(len, sinks))} max {max(map(len, sinks))}; "
          f"lost in all {sum(expected - len(s) for s in sinks)}; withheld (minimized) {service.hub.withheld}")
    print(f"{'':<34}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    print(f"{'arrival -> queued for the sockets':<34}{pct(before, 50):>9.1f}{pct(before, 99):>9.1f}{pct(before, 100):>9.1f}")
    print(f"{'arrival -> received by a monitor':<34}{pct(total, 50):>9.1f}{pct(total, 99):>9.1f}{pct(total, 100):>9.1f}")


if __name__ == "__main__":
    main()
