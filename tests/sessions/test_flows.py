"""Packet parsing, flow summaries (DNS names, TLS SNI, HTTP Host) and the flow index built
from the store: kept packets under a warrant (A2), header records under PRTT (A1, A6)."""

from __future__ import annotations

import ipaddress
import struct
import time
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from calea.db.schema_ip import ip_flows
from calea.intake.pipeline import Intake
from calea.services import traffic
from calea.services.traffic_index import TrafficIndexer, catch_up
from calea.sessions.appdata import dns_message, http_host, tls_sni
from calea.sessions.flows import FlowTable, resolutions, summarise
from calea.sessions.ipparse import from_header_facts, parse_ip
from calea.sim.ipflows import session_packets
from calea.sim.packets import dns_answer, tcp, udp
from calea.sim.scenario import IpSession, Target
from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.sessions.traffic_helpers import IP_TARGET, PURPOSE, demo_plan, feed, investigator

T = datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)


def _session() -> list[tuple[datetime, object, str]]:
    sim = session_packets(IpSession("IP-1", 0.0), Target("IP-1", ip="198.51.100.77"), 0, 7)
    return [(T + timedelta(seconds=p.at), parse_ip(p.packet), "fromTarget" if p.from_target else "toTarget") for p in sim]


def test_ipv4_tcp_udp_icmp_and_fragments() -> None:
    p = parse_ip(tcp("10.0.0.1", "10.0.0.2", 40000, 443, 1, 0, 0x02))
    assert (p.version, p.src, p.dst, p.protocol, p.src_port, p.dst_port, p.tcp_flags, p.payload) == (
        4, "10.0.0.1", "10.0.0.2", 6, 40000, 443, 0x02, b"")
    icmp = bytes.fromhex("4500001c000040004001") + b"\0\0" + bytes([10, 0, 0, 1, 10, 0, 0, 2]) + bytes([8, 0, 0, 0, 0, 1, 0, 1])
    q = parse_ip(icmp)
    assert (q.protocol, q.icmp_type, q.icmp_code, q.src_port) == (1, 8, 0, None)
    frag = bytearray(udp("10.0.0.1", "10.0.0.2", 5000, 53, b"x" * 8))
    frag[6:8] = struct.pack(">H", 0x0010)  # fragment offset 16: no transport header
    assert parse_ip(bytes(frag)).fragment and parse_ip(bytes(frag)).src_port is None
    assert parse_ip(b"") is None and parse_ip(b"\x45\x00") is None and parse_ip(b"\x60" + bytes(10)) is None


def test_ipv6_with_extension_headers() -> None:
    src, dst = ipaddress.IPv6Address("2001:db8::1").packed, ipaddress.IPv6Address("2001:db8::2").packed
    payload = struct.pack(">HHHH", 5353, 53, 12, 0) + b"abcd"
    hop = bytes([17, 0]) + bytes(6)  # hop-by-hop options, next header UDP
    packet = struct.pack(">IHBB", 0x60000000, len(hop) + len(payload), 0, 64) + src + dst + hop + payload
    p = parse_ip(packet)
    assert (p.version, p.src, p.dst, p.protocol, p.src_port, p.dst_port, p.payload) == (
        6, "2001:db8::1", "2001:db8::2", 17, 5353, 53, b"abcd")
    assert p.header_facts() == {"version": 6, "src": "2001:db8::1", "dst": "2001:db8::2", "protocol": 17,
                                "length": 40 + len(hop) + len(payload), "src_port": 5353, "dst_port": 53}


def test_application_names_and_their_failures() -> None:
    answer = dns_message(dns_answer(7, "www.example.com", "192.0.2.80"))
    assert answer.response and answer.questions == ("www.example.com",)
    assert answer.answers == (("www.example.com", "A", "192.0.2.80"),)
    loop = struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c"  # a name pointing at itself
    assert dns_message(loop) is None and dns_message(b"\x00" * 5) is None
    assert http_host(b"GET / HTTP/1.1\r\nHost: Shop.Example.com:8080\r\n\r\n") == "shop.example.com"
    assert http_host(b"HTTP/1.1 200 OK\r\n\r\n") is None
    assert tls_sni(b"\x16\x03\x01\x00\x10\x01\x00") is None and tls_sni(b"") is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120), st.sampled_from([0x45, 0x46, 0x60, 0x16]))
def test_parsers_never_raise(data: bytes, first: int) -> None:
    """Hostile bytes give fewer facts, never an exception."""
    blob = bytes([first]) + data
    p = parse_ip(blob)
    assert p is None or p.version in (4, 6)
    dns_message(blob)
    tls_sni(b"\x16\x03\x01" + data)
    http_host(b"GET " + data)


def test_flow_summary_of_a_session() -> None:
    packets = _session()
    flows = summarise(packets)  # type: ignore[arg-type]
    by_port = {f.server_port: f for f in flows}
    assert sorted(by_port) == [53, 80, 443] and len(flows) == 4  # two DNS lookups, HTTP, TLS
    http, tls = by_port[80], by_port[443]
    assert (http.client, http.server, http.http_host, http.target_side) == ("198.51.100.77", "192.0.2.80", "www.example.com", "client")
    assert (tls.server, tls.sni, tls.http_host) == ("192.0.2.143", "mail.example.org", None)
    assert http.packets_up == 6 and http.packets_down == 4  # client: SYN, ACK, GET, ACK, FIN, ACK
    assert sum(f.bytes_up + f.bytes_down for f in flows) == sum(p.length for _, p, _ in packets)  # type: ignore[attr-defined]
    dns = [f for f in flows if f.server_port == 53]
    assert {q for f in dns for q in f.dns_queries} == {"www.example.com", "mail.example.org"}
    assert resolutions(a for f in flows for a in f.dns_answers) == {"www.example.com": {"192.0.2.80"},
                                                                     "mail.example.org": {"192.0.2.143"}}


def test_header_facts_give_the_same_flows_without_names() -> None:
    """A1/A6: header records (no payload) give the same addresses and counts, no names."""
    table = FlowTable()
    for at, p, direction in _session():
        header = from_header_facts(p.header_facts())  # type: ignore[attr-defined]
        assert header is not None and header.payload is None
        table.add(at, header, direction)
    whole = {f.key: f for f in summarise(_session())}  # type: ignore[arg-type]
    for f in table.flows():
        w = whole[f.key]
        assert (f.packets_up, f.bytes_up, f.packets_down, f.bytes_down) == (w.packets_up, w.bytes_up, w.packets_down, w.bytes_down)
        assert not f.dns_queries and f.sni is None and f.http_host is None


def test_flows_from_the_store_under_a_warrant(setup: Setup) -> None:  # noqa: F811
    ip = setup.intercept("DEMO-IP-0001", IP_TARGET)
    intake = Intake(setup.svc)
    try:
        feed(intake, demo_plan(setup))
    finally:
        intake.writer.close()
    inv = investigator(setup, ip["case"]["id"], ip["authority"]["id"])
    out = traffic.flows(setup.svc, inv, ip["case"]["id"], purpose=PURPOSE)
    flows = out["flows"]
    assert out["total"] == 4 and {f["source"] for f in flows} == {"cc"}
    web = next(f for f in flows if f["server_port"] == 80)
    assert (web["client"], web["server"], web["http_host"], web["packets_up"], web["packets_down"]) == (
        "198.51.100.77", "192.0.2.80", "www.example.com", 6, 4)
    assert next(f for f in flows if f["server_port"] == 443)["sni"] == "mail.example.org"
    assert ["www.example.com", "A", "192.0.2.80"] in [a for f in flows for a in f["dns_answers"]]
    # taru and the auditor read addressing, not names taken from payloads (C1)
    seen = traffic.flows(setup.svc, setup.taru, ip["case"]["id"], purpose=PURPOSE)["flows"]
    assert len(seen) == 4 and all(f["sni"] is None and f["http_host"] is None and f["dns_queries"] is None for f in seen)
    assert catch_up(setup.svc) == {"cc": 0, "iri": 0}  # nothing counted twice


def test_flows_under_prtt_come_from_header_records(setup: Setup) -> None:  # noqa: F811
    ip = setup.intercept("DEMO-IP-0001", IP_TARGET, kind="prtt")
    intake = Intake(setup.svc)
    try:
        feed(intake, demo_plan(setup))
    finally:
        intake.writer.close()
    inv = investigator(setup, ip["case"]["id"], ip["authority"]["id"])
    flows = traffic.flows(setup.svc, inv, ip["case"]["id"], purpose=PURPOSE)["flows"]
    assert len(flows) == 4 and {f["source"] for f in flows} == {"header"}
    web = next(f for f in flows if f["server_port"] == 80)
    assert (web["client"], web["server"], web["packets_up"], web["packets_down"]) == ("198.51.100.77", "192.0.2.80", 6, 4)
    assert all(not f["dns_queries"] and f["sni"] is None and f["http_host"] is None for f in flows)  # A6


def test_indexer_runs_after_intake_batches(setup: Setup) -> None:  # noqa: F811
    setup.intercept("DEMO-IP-0001", IP_TARGET)
    intake = Intake(setup.svc)
    indexer = TrafficIndexer(setup.svc)
    intake.subscribers.append(indexer.notify)
    indexer.start()
    try:
        feed(intake, demo_plan(setup))
        deadline = time.monotonic() + 20
        count = 0
        while time.monotonic() < deadline:
            with setup.svc.db.read() as conn:
                count = conn.execute(select(func.count()).select_from(ip_flows)).scalar()
            if count == 4:
                break
            time.sleep(0.05)
        assert count == 4
    finally:
        indexer.stop()
        intake.writer.close()
