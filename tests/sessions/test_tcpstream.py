"""TCP reassembly of a client's first bytes (`calea.sessions.tcpstream`) and the TLS SNI /
HTTP Host it lets flow summaries read when a ClientHello or a request head is split over
segments, out of order, retransmitted (content kept under an eavesdropping authority, A2)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calea.sessions.flows import FlowTable, streams, summarise
from calea.sessions.ipparse import parse_ip
from calea.sessions.tcpstream import StreamCache, StreamPrefix, seq_diff
from calea.sim.packets import http_get, tcp, tls_client_hello
from tests.intake.conftest import setup  # noqa: F401 (fixture)

T = datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)
C, S = "198.51.100.77", "192.0.2.143"
SYN, ACK, PSH = 0x02, 0x10, 0x08
ISN = 0xFFFFFF00  # the stream wraps past 2**32 a few bytes in


def _split(data: bytes, cuts: list[int]) -> list[tuple[int, bytes]]:
    """(offset, bytes) pieces of `data` cut at `cuts`."""
    edges = [0, *cuts, len(data)]
    return [(a, data[a:b]) for a, b in zip(edges, edges[1:])]


def _packets(payload: bytes, order: list[int], cuts: list[int], *, sport: int = 40001, dport: int = 443,
             syn: bool = True) -> list[tuple[datetime, object, str]]:
    """A client's SYN (optional), the server's SYN+ACK, then the pieces in `order`."""
    out = []
    if syn:
        out.append(tcp(C, S, sport, dport, ISN, 0, SYN))
        out.append(tcp(S, C, dport, sport, 5000, ISN + 1, SYN | ACK))
    pieces = _split(payload, cuts)
    for i in order:
        off, chunk = pieces[i]
        out.append(tcp(C, S, sport, dport, ISN + 1 + off, 5001, PSH | ACK, chunk))
    return [(T + timedelta(milliseconds=n), parse_ip(p), "fromTarget") for n, p in enumerate(out)]


def test_prefix_in_order_out_of_order_retransmitted_and_overlapping() -> None:
    data = bytes(range(256)) * 4
    p = StreamPrefix(limit=600)
    p.syn(ISN)
    assert p.add(ISN + 1 + 300, data[300:500]) is False and p.data == b""  # a gap first
    assert p.add(ISN + 1, data[:100]) and p.data == data[:100]
    assert p.add(ISN + 1, data[:100]) is False  # a retransmission changes nothing
    assert p.add(ISN + 1 + 50, data[50:320]) and p.data == data[:500]  # overlap fills the gap
    assert p.add(ISN + 1 + 450, data[450:900]) and p.data == data[:600] and p.full  # the window ends at `limit`
    assert p.held == 600 and p.pieces == 1
    assert seq_diff(3, 0xFFFFFFFE) == 5 and seq_diff(0xFFFFFFFE, 3) == -5


def test_prefix_first_bytes_win_and_data_before_the_start_is_ignored() -> None:
    p = StreamPrefix()
    p.syn(100)
    p.add(101, b"GET / HTTP/1.1\r\n")
    p.add(101, b"XXXXXXXXXXXXXXXXXXXXXXX")  # a conflicting overlap: the first bytes stay
    p.add(90, b"0123456789A")  # before the start (and the SYN's own number)
    assert p.data == b"GET / HTTP/1.1\r\nXXXXXXX"


def test_prefix_without_syn_moves_back_to_an_earlier_segment() -> None:
    p = StreamPrefix()
    p.add(1000, b"world")  # the first segment seen is the second one
    assert p.data == b"world" and not p.fixed
    assert p.add(995, b"hello") and p.data == b"helloworld" and p.start == 995
    p.syn(994)  # then the SYN: nothing before it, start confirmed
    assert p.fixed and p.data == b"helloworld"
    q = StreamPrefix()
    q.add(5000, b"late")
    q.syn(4000)  # the SYN says the stream began 1,000 bytes earlier: a gap before "late"
    assert q.data == b"" and q.held == 4


def test_prefix_stops_at_a_gap_and_bounds_its_pieces() -> None:
    p = StreamPrefix(limit=1000, max_pieces=4)
    p.syn(0)
    for off in (10, 30, 50, 70, 90, 110):  # six separate pieces after a missing first byte
        p.add(1 + off, b"x" * 5)
    assert p.data == b"" and p.pieces == 4  # the fifth and sixth would open more holes
    assert p.add(1, b"y" * 10) and p.data == b"y" * 10 + b"x" * 5  # stops at the next gap


def test_cache_is_a_bounded_lru() -> None:
    c: StreamCache[int, str | None] = StreamCache(2)
    c.put(1, "a")
    c.put(2, None)  # a settled entry
    assert c.get(1) == "a"  # 1 is now the most recent
    c.put(3, "c")
    assert 2 not in c and 1 in c and 3 in c and len(c) == 2


def test_client_hello_over_three_segments_out_of_order_with_a_retransmission() -> None:
    hello = tls_client_hello("mail.example.org", random.Random(5))
    cuts = [40, 110]  # the second cut falls inside the server_name extension
    packets = _packets(hello, [2, 0, 2, 1], cuts)
    [flow] = summarise(packets)  # type: ignore[arg-type]
    assert flow.sni == "mail.example.org" and flow.http_host is None
    assert flow.packets_up == 5 and flow.packets_down == 1  # every segment counted once each time it came
    # one segment at a time (what a per-packet reader sees) never gives the name, nor a piece of it
    for _, p, _ in packets:
        assert summarise([(T, p, "fromTarget")])[0].sni is None  # type: ignore[list-item]


def test_no_name_from_a_cut_off_piece() -> None:
    """A stream whose last segment never comes: no SNI, not even the first letters of one."""
    hello = tls_client_hello("mail.example.org", random.Random(5))
    name_at = hello.index(b"mail.example.org")
    [flow] = summarise(_packets(hello, [0], [name_at + 4]))  # type: ignore[arg-type]
    assert flow.sni is None


def test_http_request_split_across_segments() -> None:
    head = http_get("www.example.com", "/schedule.html")
    cut = head.index(b"example")  # inside the Host line
    [flow] = summarise(_packets(head, [1, 0], [cut], dport=80))  # type: ignore[arg-type]
    assert flow.http_host == "www.example.com" and flow.sni is None
    [partial] = summarise(_packets(head, [0], [cut], dport=80))  # type: ignore[arg-type]
    assert partial.http_host is None  # "www." is never taken for the host


def test_out_of_order_without_the_syn() -> None:
    """The capture began after the handshake: the lowest sequence number is the start."""
    hello = tls_client_hello("shop.example.com", random.Random(9))
    [flow] = summarise(_packets(hello, [1, 2, 0], [60, 200], syn=False))  # type: ignore[arg-type]
    assert flow.sni == "shop.example.com"


def test_a_stream_carries_over_between_tables() -> None:
    """The traffic indexer meets a connection over several batches: one cache for all."""
    head = http_get("www.example.com")
    packets = _packets(head, [0, 1], [20], dport=80)
    cache = streams()
    first, second = FlowTable(cache, scope="i1"), FlowTable(cache, scope="i1")
    for at, p, d in packets[:3]:
        first.add(at, p, d)  # type: ignore[arg-type]
    for at, p, d in packets[3:]:
        second.add(at, p, d)  # type: ignore[arg-type]
    assert first.flows()[0].http_host is None and second.flows()[0].http_host == "www.example.com"
    other = FlowTable(cache, scope="i2")  # another intercept: its own streams
    for at, p, d in packets[3:]:
        other.add(at, p, d)  # type: ignore[arg-type]
    assert other.flows()[0].http_host is None


def test_names_are_let_go_once_settled() -> None:
    cache = streams()
    table = FlowTable(cache)
    ssh = b"SSH-2.0-OpenSSH_9.6\r\n" + bytes(200)
    for at, p, d in _packets(ssh, [0], [], dport=22):
        table.add(at, p, d)  # type: ignore[arg-type]
    [key] = [k for k in cache._items]  # noqa: SLF001
    assert cache.get(key) is None  # neither TLS nor HTTP from a known start: nothing kept


segments = st.lists(st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=3000), st.booleans()), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segments, st.integers(1, 20000), st.integers(1, 40))
def test_prefix_fuzz_never_raises_and_stays_bounded(segs: list[tuple[int, bytes, bool]], limit: int, pieces: int) -> None:
    p = StreamPrefix(limit=limit, max_pieces=pieces)
    for seq, data, is_syn in segs:
        if is_syn:
            p.syn(seq)
        p.add(seq, data)
        assert p.held <= limit and p.pieces <= pieces and len(p._buf) <= limit  # noqa: SLF001
        assert len(p.data) == p.contiguous <= limit


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=5000), st.integers(0, 2**32 - 1), st.randoms(use_true_random=False))
def test_prefix_fuzz_any_delivery_gives_the_stream(data: bytes, isn: int, rng: random.Random) -> None:
    """Whatever the cuts, order, duplicates and overlaps, a stream delivered whole reads whole."""
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 12)))) if len(data) > 1 else []
    pieces = _split(data, cuts)
    pieces += [rng.choice(pieces) for _ in range(rng.randint(0, 4))]  # retransmissions
    lo = rng.randrange(len(data))
    pieces.append((lo, data[lo:lo + rng.randint(1, 600)]))  # an overlapping resend
    rng.shuffle(pieces)
    p = StreamPrefix(limit=4096)
    p.syn(isn)
    for off, chunk in pieces:
        p.add((isn + 1 + off) % 2**32, chunk)
    assert p.data == data[:4096]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=1500), st.integers(0, 0x3F), st.booleans()),
                max_size=30))
def test_flow_table_fuzz_never_raises_and_keeps_few_streams(segs: list[tuple[int, bytes, int, bool]]) -> None:
    cache = streams(max_streams=4)
    table = FlowTable(cache)
    for n, (seq, data, flags, up) in enumerate(segs):
        sport = 40000 + n % 7
        raw = tcp(C, S, sport, 443, seq, 1, flags, data) if up else tcp(S, C, 443, sport, seq, 1, flags, data)
        table.add(T, parse_ip(raw), None)  # type: ignore[arg-type]
        assert len(cache) <= 4
        assert all(v is None or v.prefix.held <= 16 * 1024 for v in cache._items.values())  # noqa: SLF001


def test_the_indexer_reads_a_hello_split_over_batches(setup) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Segments of one connection land in different CC chunks and catch-up rounds: the
    client's stream carries over, and the flow in the store has its SNI."""
    from sqlalchemy import select

    from calea.db.schema_ip import ip_flows
    from calea.handover.etsi102232 import IPCC, PSHeader, encode_ps_pdu
    from calea.handover.model import Channel
    from calea.intake.pipeline import Intake, Received
    from calea.services.traffic_index import catch_up
    from tests.sessions.traffic_helpers import IP_TARGET

    setup.intercept("SPLIT-IP-0001", IP_TARGET)
    hello = tls_client_hello("split.example.net", random.Random(3))
    raw = [tcp(C, S, 40001, 443, ISN, 0, SYN), tcp(S, C, 443, 40001, 5000, ISN + 1, SYN | ACK)]
    pieces = _split(hello, [30, 90])
    raw += [tcp(C, S, 40001, 443, ISN + 1 + off, 5001, PSH | ACK, chunk) for off, chunk in (pieces[2], pieces[0], pieces[1])]
    now = setup.clock.now()
    intake = Intake(setup.svc)
    try:
        for seq, packet in enumerate(raw):
            at = now - timedelta(seconds=10 - seq)
            h = PSHeader(liid="SPLIT-IP-0001", sequence=seq, cin=9, operator_id="EXAMPLETEL", network_element_id="med-1",
                         timestamp_us=int(at.timestamp() * 1_000_000))
            direction = "fromTarget" if packet[12:16] == bytes([198, 51, 100, 77]) else "toTarget"
            intake.process([Received(encode_ps_pdu(h, IPCC(direction, packet)), Channel.HI3, "etsi-102232", "t", now)])
            catch_up(setup.svc)  # one chunk per round
    finally:
        intake.writer.close()
    with setup.svc.db.read() as conn:
        rows = conn.execute(select(ip_flows.c.sni, ip_flows.c.packets_up, ip_flows.c.packets_down)).all()
    assert [tuple(r) for r in rows] == [("split.example.net", 4, 1)]
