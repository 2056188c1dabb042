"""Records of a live call for the live-monitoring tests: CC PS-PDUs with G.711 RTP and the
StoreItems the intake hands its subscribers."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta

from calea.handover.etsi102232 import IPMMCC, IPMMIRI, PSHeader, encode_ps_pdu
from calea.sessions.live_media import micros
from calea.sim.audio import mulaw_encode
from calea.sim.packets import udp
from calea.store.items import StoreItem

INVITE = (b"INVITE sip:+12125550100@example.net SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK1\r\n"
          b"From: <sip:+13105550123@example.net>;tag=1\r\nTo: <sip:+12125550100@example.net>\r\n"
          b"Call-ID: live@example.net\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")


def rtp(seq: int, samples: list[int], pt: int = 0) -> bytes:
    payload = mulaw_encode(samples) if pt == 0 else bytes(len(samples))
    return struct.pack(">BBHII", 0x80, pt, seq & 0xFFFF, seq * 160, 0x1234) + payload


def cc_record(liid: str, cin: int, seq: int, at: datetime, from_target: bool = True, level: int = 1000) -> bytes:
    samples = [level if i % 2 else -level for i in range(160)]
    packet = udp("198.51.100.20", "203.0.113.50", 40000, 50000, rtp(seq, samples))
    return encode_ps_pdu(PSHeader(liid, seq, cin=cin, timestamp_us=micros(at)),
                         IPMMCC("fromTarget" if from_target else "toTarget", packet))


def invite_record(liid: str, cin: int, at: datetime) -> bytes:
    return encode_ps_pdu(PSHeader(liid, 0, cin=cin, timestamp_us=micros(at)),
                         IPMMIRI("begin", INVITE, "203.0.113.10", "198.51.100.20"))


def cc_items(case_id: str, liid: str, cin: int, start: datetime, n: int, *, first_seq: int = 0,
             received_at: datetime | None = None) -> list[StoreItem]:
    out = []
    for i in range(n):
        t = start + timedelta(milliseconds=20 * i)
        seq = first_seq + i
        out.append(StoreItem(case_id=case_id, intercept_id="i-1", liid=liid, channel="hi3", format="etsi-102232", kind="cc",
                             cin=str(cin), seq=seq, intercepted_at=t, received_at=received_at or t,
                             raw=cc_record(liid, cin, seq, t), rule="A2"))
    return out
