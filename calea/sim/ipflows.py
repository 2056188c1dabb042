"""The packets of simulated IP traffic (TS 102 232-3 IPCC content), format independent.

* `session_packets`: an IP target's access session: a DNS query and answer for the web
  host, an HTTP GET (with Host) over a full TCP connection, a DNS lookup of a second
  host and a TLS connection whose ClientHello names it (SNI).
* `visit_packets`: several clients each fetching a page from a web server that is the
  target (an intercept on a queried server address): the target is the server, so
  packets to it are `toTarget`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from calea.sim.packets import TcpFlow, dns_answer, dns_query, http_get, http_response, tls_client_hello, \
    tls_server_flight, udp
from calea.sim.scenario import IpSession, Target, WebVisits


@dataclass(frozen=True)
class Packet:
    at: float
    from_target: bool
    packet: bytes
    label: str


def _page(title: str, rng: random.Random) -> bytes:
    words = ("harbor", "schedule", "delivery", "contact", "pier", "weekend", "price", "list", "north")
    text = " ".join(rng.choice(words) for _ in range(60))
    return f"<!doctype html><html><head><title>{title}</title></head><body><p>{text}</p></body></html>".encode()


def _dns(at: float, client: str, server: str, name: str, address: str, rng: random.Random) -> list[Packet]:
    qid, port = rng.getrandbits(16), rng.randrange(32768, 61000)
    return [Packet(at, True, udp(client, server, port, 53, dns_query(qid, name), ident=rng.getrandbits(16)),
                   "dns-query"),
            Packet(at + 0.018, False, udp(server, client, 53, port, dns_answer(qid, name, address),
                                          ident=rng.getrandbits(16)), "dns-answer")]


def session_packets(s: IpSession, target: Target, index: int, seed: int) -> list[Packet]:
    rng = random.Random(seed * 1_000_037 + index)
    me = target.ip or "0.0.0.0"
    out = _dns(s.at + 0.5, me, s.dns_server, s.http_host, s.http_server, rng)
    web = TcpFlow(me, s.http_server, rng.randrange(32768, 61000), 80, rng)
    web.exchange(s.at + 0.6, http_get(s.http_host, s.http_path), http_response(_page(s.http_host, rng)))
    out += [Packet(at, mine, p, "http") for at, mine, p in web.packets]
    out += _dns(s.at + 2.0, me, s.dns_server, s.tls_host, s.tls_server, rng)
    tls = TcpFlow(me, s.tls_server, rng.randrange(32768, 61000), 443, rng)
    tls.exchange(s.at + 2.1, tls_client_hello(s.tls_host, rng), tls_server_flight(rng))
    out += [Packet(at, mine, p, "tls") for at, mine, p in tls.packets]
    return sorted((p for p in out if p.at < s.at + s.duration), key=lambda p: p.at)


def visit_packets(w: WebVisits, target: Target, index: int, seed: int) -> list[tuple[str, list[Packet]]]:
    """(client address, its packets) per visit."""
    rng = random.Random(seed * 1_000_039 + index)
    server = target.ip or "0.0.0.0"
    out = []
    for i, client in enumerate(w.clients):
        path = w.paths[i % len(w.paths)] if w.paths else "/"
        flow = TcpFlow(client, server, rng.randrange(32768, 61000), 80, rng)
        flow.exchange(w.at + i * w.spacing, http_get(w.host, path), http_response(_page(w.host + path, rng)))
        out.append((client, [Packet(at, not from_client, p, "http") for at, from_client, p in flow.packets]))
    return out
