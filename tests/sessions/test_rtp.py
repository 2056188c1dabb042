"""RTP media parsing (RFC 3550, RFC 4733, RFC 3389, IPv4 / IPv6 / UDP) and G.711 (ITU-T G.711)."""

from __future__ import annotations

import ipaddress
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calea.sessions import codecs
from calea.sessions.rtp import (
    MalformedMedia,
    parse_comfort_noise,
    parse_media,
    parse_rtp,
    parse_telephone_event,
    parse_udp,
)
from calea.sim.packets import udp as sim_udp


def rtp(pt: int = 0, seq: int = 7, ts: int = 1600, ssrc: int = 0xDEADBEEF, payload: bytes = b"\xff" * 160, *,
        marker: bool = False, csrc: tuple[int, ...] = (), ext: bytes | None = None, pad: int = 0) -> bytes:
    first = 0x80 | len(csrc) | (0x10 if ext is not None else 0) | (0x20 if pad else 0)
    out = struct.pack(">BBHII", first, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    out += b"".join(struct.pack(">I", c) for c in csrc)
    if ext is not None:
        out += struct.pack(">HH", 0xBEDE, len(ext) // 4) + ext
    out += payload
    if pad:
        out += b"\0" * (pad - 1) + bytes((pad,))
    return out


RTP_TABLE = [
    ("plain", rtp(), dict(payload_type=0, sequence=7, timestamp=1600, ssrc=0xDEADBEEF, marker=False, csrc=(), padding=0)),
    ("marker + PCMA", rtp(8, marker=True), dict(payload_type=8, marker=True)),
    ("two CSRC", rtp(csrc=(1, 2)), dict(csrc=(1, 2))),
    ("header extension", rtp(ext=b"\x10\xaa\x00\x00"), dict(extension_profile=0xBEDE, extension=b"\x10\xaa\x00\x00")),
    ("padding", rtp(payload=b"\x01\x02\x03", pad=5), dict(payload=b"\x01\x02\x03", padding=5)),
    ("all of them", rtp(13, csrc=(9,), ext=b"", payload=b"\x28", pad=2), dict(payload_type=13, csrc=(9,), payload=b"\x28", padding=2)),
]


@pytest.mark.parametrize("name,data,expected", RTP_TABLE, ids=[t[0] for t in RTP_TABLE])
def test_rtp_header_table(name: str, data: bytes, expected: dict[str, object]) -> None:
    p = parse_rtp(data)
    for field, value in expected.items():
        assert getattr(p, field) == value, field
    if "payload" not in expected:
        assert p.payload == b"\xff" * 160


BAD = [
    ("short", b"\x80\x00\x00", "rtp-short"),
    ("version 1", b"\x40" + rtp()[1:], "rtp-version"),
    ("CSRC list cut", b"\x8f" + rtp()[1:20], "rtp-csrc"),
    ("extension cut", b"\x90" + rtp()[1:12] + b"\xbe\xde", "rtp-extension"),
    ("extension too long", b"\x90" + rtp()[1:12] + b"\xbe\xde\x00\x09" + b"\0" * 8, "rtp-extension"),
    ("padding larger than packet", b"\xa0" + rtp(payload=b"\x01\x02")[1:-1] + b"\x09", "rtp-padding"),
    ("padding count zero", b"\xa0" + rtp(payload=b"\x01\x02")[1:-1] + b"\x00", "rtp-padding"),
]


@pytest.mark.parametrize("name,data,reason", BAD, ids=[b[0] for b in BAD])
def test_rtp_refuses_malformed(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMedia) as exc:
        parse_rtp(data)
    assert exc.value.reason == reason


def ipv6_udp(src: str, dst: str, payload: bytes, *, hop_by_hop: bool = False, fragment_offset: int | None = None) -> bytes:
    body = struct.pack(">HHHH", 40000, 50000, 8 + len(payload), 0) + payload
    next_header, ext = 17, b""
    if fragment_offset is not None:
        ext = bytes((next_header, 0)) + struct.pack(">HI", fragment_offset << 3 | 1, 77) + ext
        next_header = 44
    if hop_by_hop:
        ext = bytes((next_header, 0)) + b"\x01\x04\0\0\0\0" + ext
        next_header = 0
    head = struct.pack(">IHBB", 6 << 28, len(ext) + len(body), next_header, 64)
    return head + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + ext + body


def test_ip_udp_rtp() -> None:
    v4 = sim_udp("198.51.100.20", "203.0.113.50", 40000, 50000, rtp())
    m = parse_media(v4)
    assert m.udp is not None and (m.udp.src, m.udp.src_port, m.udp.dst, m.udp.dst_port) == ("198.51.100.20", 40000, "203.0.113.50", 50000)
    assert m.rtp.sequence == 7 and len(m.rtp.payload) == 160
    # IPv4 with options (IHL 6)
    opt = bytes((0x46,)) + v4[1:2] + struct.pack(">H", len(v4) + 4) + v4[4:20] + b"\x01\x01\x01\x00" + v4[20:]
    assert parse_udp(opt).payload == rtp()
    # IPv6 with a hop-by-hop header and a first fragment header
    v6 = ipv6_udp("2001:db8::20", "2001:db8::50", rtp(), hop_by_hop=True, fragment_offset=0)
    d = parse_udp(v6)
    assert (d.ip_version, d.src, d.dst, d.payload) == (6, "2001:db8::20", "2001:db8::50", rtp())
    # ETSI udpFrame / rtpFrame
    assert parse_media(v4[20:], frame="udp").rtp.ssrc == 0xDEADBEEF
    assert parse_media(rtp(), frame="rtp").udp is None


@pytest.mark.parametrize("packet,reason", [
    (b"", "ip-empty"),
    (b"\x45" + b"\0" * 10, "ip-short"),
    (b"\x75" + b"\0" * 30, "ip-version"),
    (sim_udp("192.0.2.1", "192.0.2.2", 1, 2, b"x")[:6] + b"\x00\x10" + sim_udp("192.0.2.1", "192.0.2.2", 1, 2, b"x")[8:], "ip-fragment"),
    (ipv6_udp("2001:db8::1", "2001:db8::2", rtp(), fragment_offset=8), "ip-fragment"),
    (bytes((0x45, 0, 0, 28)) + b"\0" * 5 + b"\x06" + b"\0" * 18, "not-udp"),
])
def test_ip_refusals(packet: bytes, reason: str) -> None:
    with pytest.raises(MalformedMedia) as exc:
        parse_udp(packet)
    assert exc.value.reason == reason


def test_telephone_event_rfc4733() -> None:
    ev = parse_telephone_event(bytes((11, 0x80 | 10)) + (800).to_bytes(2, "big"))
    assert (ev.event, ev.digit, ev.end, ev.volume, ev.duration) == (11, "#", True, 10, 800)
    assert parse_telephone_event(b"\x05\x0a\x00\xa0").digit == "5"
    assert parse_telephone_event(b"\x20\x0a\x00\xa0").digit is None  # event 32: not a DTMF digit
    with pytest.raises(MalformedMedia):
        parse_telephone_event(b"\x05\x0a")


def test_comfort_noise_rfc3389() -> None:
    cn = parse_comfort_noise(b"\x28\x81\x7f")
    assert cn.level == 40 and cn.coefficients == b"\x81\x7f"
    for bad in (b"", b"\x80"):
        with pytest.raises(MalformedMedia):
            parse_comfort_noise(bad)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.sampled_from(["ip", "udp", "rtp"]))
def test_fuzz_parses_or_raises_malformed_only(data: bytes, frame: str) -> None:
    try:
        parse_media(data, frame=frame)
    except MalformedMedia:
        pass


# --- G.711 ----------------------------------------------------------------------------------

def test_g711_known_values() -> None:
    # ITU-T G.711 tables: mu-law 0x00 / 0x80 are the extremes, 0xFF / 0x7F the two zeros;
    # A-law 0xD5 / 0x55 are +8 / -8, 0xAA / 0x2A the extremes.
    assert codecs.ulaw_decode(bytes((0x00, 0x80, 0xFF, 0x7F, 0xFE, 0x7E, 0xEF))).tolist() == [-32124, 32124, 0, 0, 8, -8, 132]
    assert codecs.alaw_decode(bytes((0xD5, 0x55, 0xAA, 0x2A))).tolist() == [8, -8, 32256, -32256]


def test_g711_round_trips() -> None:
    codes = bytes(range(256))
    assert codecs.alaw_encode(codecs.alaw_decode(codes)) == codes
    ulaw = codecs.ulaw_encode(codecs.ulaw_decode(codes))
    assert ulaw == codes.replace(b"\x7f", b"\xff")  # -0 is written +0
    ramp = np.arange(-32768, 32768, 7, dtype=np.int32)
    for enc, dec in ((codecs.ulaw_encode, codecs.ulaw_decode), (codecs.alaw_encode, codecs.alaw_decode)):
        back = dec(enc(ramp)).astype(np.int32)
        step = np.abs(ramp) // 16 + 64  # half a quantisation step is at most 1/32 of the magnitude (+ the smallest step)
        assert np.all(np.abs(back - ramp) <= step)


def test_g711_agrees_with_the_simulator() -> None:
    from calea.sim.audio import mulaw_decode, mulaw_encode

    speech = np.array([0, 5, -5, 100, -1000, 12345, -32000, 32767], dtype=np.int32)
    assert codecs.ulaw_decode(mulaw_encode(speech.tolist())).tolist() == mulaw_decode(mulaw_encode(speech.tolist()))
    assert codecs.decode("pcmu", b"\x00\xff").tolist() == [-32124, 0]
    with pytest.raises(KeyError):
        codecs.decode("G722", b"\x00")
