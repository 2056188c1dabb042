"""IP content: valid IPv4/UDP/TCP checksums, and the DNS name, HTTP Host and TLS SNI
where a receiver (and an investigator) expects them."""

from __future__ import annotations

import random
import struct

from calea.handover import etsi102232
from calea.sim import packets
from calea.sim.plan import Plan

from .helpers import ipv4_ok, split, transport_ok


def _ip_cc(plan: Plan, liid: str) -> list[tuple[str, str | None, bytes]]:
    out = []
    for r in plan.records("hi3"):
        if r.liid == liid:
            d = etsi102232.decode(r.data)
            out.append((d.fields["cc"]["direction"], r.cin, d.content[0].data))
    return out


def _sni(record: bytes) -> str:
    """The server_name of a TLS ClientHello record (RFC 8446 4.1.2, RFC 6066 3)."""
    assert record[0] == 0x16 and record[5] == 0x01
    pos = 9 + 2 + 32
    pos += 1 + record[pos]  # session id
    pos += 2 + struct.unpack(">H", record[pos : pos + 2])[0]  # cipher suites
    pos += 1 + record[pos]  # compression methods
    end = pos + 2 + struct.unpack(">H", record[pos : pos + 2])[0]
    pos += 2
    while pos < end:
        kind, size = struct.unpack(">HH", record[pos : pos + 4])
        if kind == 0:
            name_len = struct.unpack(">H", record[pos + 7 : pos + 9])[0]
            return record[pos + 9 : pos + 9 + name_len].decode()
        pos += 4 + size
    raise AssertionError("no SNI")


def _qname(message: bytes) -> str:
    labels, pos = [], 12
    while message[pos]:
        labels.append(message[pos + 1 : pos + 1 + message[pos]].decode())
        pos += 1 + message[pos]
    return ".".join(labels)


def test_ip_session_packets(plans: dict[str, Plan]) -> None:
    cc = _ip_cc(plans["etsi-102232"], "LI-IP-1")
    assert len(cc) >= 24
    hosts, snis, names, answers = [], [], [], []
    for direction, _, packet in cc:
        assert ipv4_ok(packet) and transport_ok(packet)
        src, dst, proto, sport, dport, payload = split(packet)
        assert (src == "198.51.100.77") == (direction == "fromTarget")
        if proto == 17 and dport == 53:
            names.append(_qname(payload))
        elif proto == 17 and sport == 53:
            assert payload[2] & 0x80 and struct.unpack(">H", payload[6:8])[0] == 1
            answers.append(".".join(map(str, payload[-4:])))
        elif proto == 6 and dport == 80 and payload.startswith(b"GET "):
            head = payload.decode().split("\r\n")
            hosts.append((head[0], [h for h in head if h.startswith("Host: ")][0], dst))
        elif proto == 6 and dport == 443 and payload:
            snis.append((_sni(payload), dst))
    assert names == ["www.example.com", "mail.example.org"]
    assert answers == ["192.0.2.80", "192.0.2.143"]
    assert hosts == [("GET /index.html HTTP/1.1", "Host: www.example.com", "192.0.2.80")]
    assert snis == [("mail.example.org", "192.0.2.143")]


def test_tcp_numbers_are_consistent(plans: dict[str, Plan]) -> None:
    flows: dict[tuple[str, int, str, int], list[tuple[int, int, int, int]]] = {}
    for _, _, packet in _ip_cc(plans["etsi-102232"], "LI-IP-1"):
        src, dst, proto, sport, dport, payload = split(packet)
        if proto == 6:
            ihl = (packet[0] & 0x0F) * 4
            seq, ack = struct.unpack(">II", packet[ihl + 4 : ihl + 12])
            flows.setdefault((src, sport, dst, dport), []).append((seq, ack, packet[ihl + 13], len(payload)))
    assert len(flows) == 4  # HTTP and TLS, each direction
    for segments in flows.values():
        for (seq, _, flags, size), (nxt, _, _, _) in zip(segments, segments[1:]):
            assert nxt == (seq + size + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF  # SYN/FIN count one


def test_web_visits_from_several_clients(plans: dict[str, Plan]) -> None:
    cc = _ip_cc(plans["etsi-102232"], "LI-WEB-1")
    visitors: dict[str | None, set[str]] = {}
    requests = []
    for direction, cin, packet in cc:
        assert ipv4_ok(packet) and transport_ok(packet)
        src, dst, proto, sport, dport, payload = split(packet)
        assert (dst == "203.0.113.80") == (direction == "toTarget")
        client = dst if direction == "fromTarget" else src
        visitors.setdefault(cin, set()).add(client)
        if payload.startswith(b"GET "):
            requests.append((src, dst, payload.split(b"\r\n")[1]))
    assert all(len(v) == 1 for v in visitors.values()) and len(visitors) == 3
    assert requests == [(c, "203.0.113.80", b"Host: www.example.com") for c in ("192.0.2.11", "192.0.2.12", "192.0.2.13")]


def test_builders_directly() -> None:
    packet = packets.udp("192.0.2.1", "192.0.2.2", 1234, 53, packets.dns_query(7, "a.example"))
    assert ipv4_ok(packet) and transport_ok(packet) and _qname(split(packet)[5]) == "a.example"
    hello = packets.tls_client_hello("sni.example.net", random.Random(1))
    assert _sni(hello) == "sni.example.net"
    assert packets.checksum(b"\x45\x00\x00\x1c") == (~(0x4500 + 0x001C) & 0xFFFF)
