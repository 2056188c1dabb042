"""The recorder's fast paths give exactly what the general code gives, and its outputs stay
standard:

* `rtp_view` (one flat tuple per packet) against `parse_media`, for any packet;
* the lean ETSI walk (`_lean`) against the short path and the full decoder;
* a block put together in one step (`_write`) against packet-by-packet writing;
* the FLAC master decodes bit-exactly to the G.711 the carrier delivered;
* the rendition is RFC 7845 Ogg Opus (OpusHead, OpusTags, CRCs, granule positions), coded
  in CELT-only mode, and decodes (libopus through libsndfile) to the call's audio.
"""

from __future__ import annotations

import io
import json
import random
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calea.handover.etsi102232 import IPMMCC, PSHeader, encode_ps_pdu
from calea.sessions import codecs, recorder, rtp as rtp_module
from calea.sessions.recorder import CallRecording
from calea.sessions.recording_cc import _decoded, _lean, _short_path, cc_media, cc_rtp
from calea.sessions.recording_output import RecordingFiles
from calea.sessions.rtp import MalformedMedia, flow_key, parse_media, rtp_view, udp_of, view_of
from calea.sim import audio
from calea.sim.packets import udp as sim_udp
from tests.sessions.test_rtp import ipv6_udp, rtp

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
TARGET, PEER = ("198.51.100.20", 40000), ("203.0.113.50", 50000)


# --- rtp_view == parse_media ------------------------------------------------------------------

def same(data: bytes, frame: str) -> None:
    """rtp_view gives parse_media's fields, or raises MalformedMedia where it does."""
    try:
        media = parse_media(data, frame=frame)
    except MalformedMedia as exc:
        with pytest.raises(MalformedMedia) as got:
            rtp_view(data, frame)
        assert got.value.reason == exc.reason
        return
    v = rtp_view(data, frame)
    r = media.rtp
    assert (v.flow, v.payload_type, v.sequence, v.timestamp, v.ssrc, v.payload) == \
        (flow_key(media.udp), r.payload_type, r.sequence, r.timestamp, r.ssrc, r.payload)
    assert udp_of(v) == media.udp
    assert view_of(media)[:6] == v[:6]


@st.composite
def packets(draw: st.DrawFn) -> tuple[bytes, str]:
    """Valid IPv4 / IPv6 / udpFrame / rtpFrame packets with every RTP header feature, then
    (often) damaged: a byte changed, the packet cut, a length field rewritten."""
    ext = draw(st.one_of(st.none(), st.binary(max_size=8).map(lambda b: b + b"\0" * (-len(b) % 4))))
    r = rtp(draw(st.integers(0, 127)), draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFFFFFF)),
            draw(st.integers(0, 0xFFFFFFFF)), draw(st.binary(max_size=200)), marker=draw(st.booleans()),
            csrc=tuple(draw(st.lists(st.integers(0, 0xFFFFFFFF), max_size=2))), ext=ext, pad=draw(st.sampled_from([0, 0, 1, 4])))
    kind = draw(st.sampled_from(["ip", "ip", "ip6", "udp", "rtp"]))
    if kind == "ip":
        data = sim_udp("198.51.100.20", "203.0.113.50", draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)), r)
    elif kind == "ip6":
        data, kind = ipv6_udp("2001:db8::20", "2001:db8::50", r), "ip"
    elif kind == "udp":
        data = sim_udp("198.51.100.20", "203.0.113.50", 40000, 50000, r)[20:]
    else:
        data = r
    damage = draw(st.sampled_from(["none", "none", "byte", "cut", "ip-length", "udp-length", "flags"]))
    b = bytearray(data)
    if damage == "byte" and b:
        b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
    elif damage == "cut":
        b = b[:draw(st.integers(0, len(b)))]
    elif damage == "ip-length" and kind == "ip" and b[0] == 0x45:
        b[2:4] = struct.pack(">H", draw(st.integers(0, len(b) + 40)))
    elif damage == "udp-length" and kind == "ip" and b[0] == 0x45:
        b[24:26] = struct.pack(">H", draw(st.integers(0, len(b))))
    elif damage == "flags" and kind == "ip" and b[0] == 0x45:
        b[6:8] = struct.pack(">H", draw(st.sampled_from([0x2000, 0x0001, 0x2008, 0x4000])))
    return bytes(b), kind


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packets())
def test_rtp_view_is_parse_media(packet: tuple[bytes, str]) -> None:
    same(*packet)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.sampled_from(["ip", "udp", "rtp"]))
def test_rtp_view_of_noise(data: bytes, frame: str) -> None:
    same(data, frame)


def test_the_usual_packet_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """IPv4/UDP/RTP as carriers send it, udpFrame and rtpFrame: read without parse_media."""
    v4 = sim_udp("198.51.100.20", "203.0.113.50", 40000, 50000, rtp(payload=b"\x55" * 160))

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("parse_media called")

    monkeypatch.setattr(rtp_module, "parse_media", refuse)
    for data, frame in ((v4, "ip"), (v4[20:], "udp"), (v4[28:], "rtp")):
        v = rtp_view(data, frame)
        assert (v.sequence, v.ssrc, v.payload) == (7, 0xDEADBEEF, b"\x55" * 160)
    assert rtp_view(v4).flow == bytes([198, 51, 100, 20, 203, 0, 113, 50]) + struct.pack(">HH", 40000, 50000)


# --- the lean ETSI walk == the short path == the decoder --------------------------------------

def record(frame_type: str = "ipFrame", direction: str = "fromTarget", protocol: str | None = "rTP",
           stream_id: bytes | None = None, seq: int = 1, payload: bytes = b"\xff" * 160) -> bytes:
    packet = sim_udp(TARGET[0], PEER[0], TARGET[1], PEER[1], rtp(payload=payload, seq=seq & 0xFFFF))
    contents = {"ipFrame": packet, "udpFrame": packet[20:], "rtpFrame": packet[28:], "artificialRtpFrame": packet[28:],
                "audioFrame": packet[40:]}[frame_type]
    header = PSHeader("LEAN-01", seq, cin=77, operator_id="OP", network_element_id="ne",
                      timestamp_us=int(T0.timestamp() * 1_000_000) + seq * 20_000)
    return encode_ps_pdu(header, IPMMCC(direction, contents, frame_type, protocol, stream_id))


LAYOUTS = [dict(), dict(direction="toTarget"), dict(direction="indeterminate"), dict(frame_type="udpFrame"),
           dict(frame_type="rtpFrame"), dict(frame_type="artificialRtpFrame"), dict(frame_type="audioFrame"),
           dict(protocol=None), dict(stream_id=b"\x01\x02"), dict(seq=70000, payload=b"\x00" * 320)]


@pytest.mark.parametrize("layout", LAYOUTS, ids=[json.dumps(x, default=str) for x in LAYOUTS])
def test_lean_walk_agrees_with_the_decoder(layout: dict[str, object]) -> None:
    raw = record(**layout)  # type: ignore[arg-type]
    full = _decoded(raw)
    assert _short_path(raw) == full
    lean = _lean(raw)
    assert lean is None or lean == full
    if "stream_id" not in layout:
        assert lean is not None  # the usual layouts take the lean walk
    media, fast = cc_media("etsi-102232", raw), cc_rtp("etsi-102232", raw)
    assert (media is None) == (fast is None)
    if media is not None and fast is not None:
        assert view_of(media[0])[:6] == fast[0][:6] and media[1] == fast[1]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(LAYOUTS), st.data())
def test_lean_walk_never_disagrees_on_damaged_records(layout: dict[str, object], data: st.DataObject) -> None:
    """Bytes of the payload [2] changed or the record cut: the lean walk declines, or gives
    what the (old) short path gives."""
    raw = bytearray(record(**layout))  # type: ignore[arg-type]
    start = len(raw) - 60 - 200  # around the CCPayload elements and the IP header
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(start, len(raw) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    lean = _lean(bytes(raw))
    assert lean is None or lean == _short_path(bytes(raw))


# --- one-step block assembly == packet by packet ----------------------------------------------

def reference(n: int, writes: list[tuple[int, int, int, object, int | None]]) -> np.ndarray:
    lanes = np.zeros((2, n), dtype=np.int16)
    for side, off, count, data, table in writes:
        lanes[side, off:off + count] = data if table is None else codecs.decode(("PCMU", "PCMA")[table], data)  # type: ignore[arg-type]
    return lanes


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_block_assembly_is_packet_by_packet(data: st.DataObject) -> None:
    n = 1600
    writes: list[tuple[int, int, int, object, int | None]] = []
    for _ in range(data.draw(st.integers(1, 25))):
        count = data.draw(st.integers(1, 200))
        off = data.draw(st.integers(0, n - count))
        side = data.draw(st.integers(0, 1))
        kind = data.draw(st.sampled_from([0, 0, 1, None]))
        payload = bytes(data.draw(st.lists(st.integers(0, 255), min_size=count, max_size=count)))
        writes.append((side, off, count, payload if kind is not None else codecs.ULAW_TABLE[np.frombuffer(payload, np.uint8)], kind))
    if data.draw(st.booleans()):  # the usual block: 20 ms packets one after the other, both channels
        writes = [(s, i * 160, 160, bytes(random.Random(i).randbytes(160)), s) for i in range(10) for s in (0, 1)]
    lanes = np.zeros((2, n), dtype=np.int16)
    recorder._write(lanes, writes)  # type: ignore[arg-type]
    assert np.array_equal(lanes, reference(n, writes))


# --- outputs --------------------------------------------------------------------------------

def g711_call(seconds: float, *, loss: float, codes: str, seed: int = 5) -> tuple[list[tuple[datetime, object, str]], dict]:
    """20 ms packets both ways: the target in PCMU, the other party in PCMA; `codes`:
    "random" (every code value) or "voice" (the simulator's speech).  Returns the packets
    in arrival order (lost ones removed, some reordered) and what each channel should hold.
    The interception stamps are exact (arrival jitter moves a stream's anchor by a few
    samples: test_recorder.py covers it), so every sample's place is known."""
    rng = random.Random(seed)
    n = int(seconds * 50)
    voices = {0: audio.frames(6.0, 3, 120.0), 1: audio.frames(6.0, 4, 210.0)}
    expected = {0: np.zeros(n * 160, dtype=np.int16), 1: np.zeros(n * 160, dtype=np.int16)}
    out = []
    for i in range(n):
        for side, pt, (src, dst), ssrc in ((0, 0, (TARGET, PEER), 0x1111), (1, 8, (PEER, TARGET), 0x2222)):
            if codes == "random":
                payload = bytes(rng.randrange(256) for _ in range(160))
            else:
                linear = codecs.ulaw_decode(voices[side][i % len(voices[side])])
                payload = codecs.ulaw_encode(linear) if pt == 0 else codecs.alaw_encode(linear)
            if 0 < i < n - 1 and rng.random() < loss:
                continue  # lost (not the first nor the last: the recording's span stays n packets)
            expected[side][i * 160:(i + 1) * 160] = codecs.decode("PCMU" if pt == 0 else "PCMA", payload)
            head = struct.pack(">BBHII", 0x80, pt, (1000 + i) & 0xFFFF, (90000 + 160 * i) & 0xFFFFFFFF, ssrc)
            packet = parse_media(sim_udp(src[0], dst[0], src[1], dst[1], head + payload))
            out.append((T0 + timedelta(seconds=i * 0.02), packet, "fromTarget" if side == 0 else "toTarget"))
    for k in range(0, len(out) - 12, 7):  # reordering within the jitter buffer
        j = k + rng.randint(1, 10)
        out[k], out[j] = out[j], out[k]
    return out, expected


def render(tmp_path: Path, packets: list[tuple[datetime, object, str]]) -> tuple[object, np.ndarray]:
    rec = CallRecording()
    files = RecordingFiles(tmp_path / "scratch")
    for at, p, label in packets:
        rec.feed(p, at, label=label)  # type: ignore[arg-type]
        for b in rec.pump():
            files.write(b)
    blocks = rec.finish()
    for b in blocks:
        files.write(b)
    return files.finish(), files.samples  # type: ignore[return-value]


def test_master_is_bit_exact_to_what_was_received(tmp_path: Path) -> None:
    """Every G.711 code the carrier delivered (all 256 of both laws, lost packets, reordering)
    comes back from the FLAC master as its one 16-bit value, at its place; the rest is zero."""
    packets, expected = g711_call(12.0, loss=0.03, codes="random")
    rendered, samples = render(tmp_path, packets)
    master, rate = soundfile.read(io.BytesIO(rendered.master), dtype="int16")  # type: ignore[attr-defined]
    assert rate == 8000 and master.shape == (samples, 2) == (12 * 8000, 2)
    assert np.array_equal(master[:, 0], expected[0]) and np.array_equal(master[:, 1], expected[1])
    assert not list((tmp_path / "scratch").iterdir())  # the scratch files are gone


def ogg_packets(data: bytes) -> list[tuple[int, int, bytes]]:
    """(page header type, granule position, packet) of an Ogg stream (RFC 3533), checking
    every page's CRC; a packet is reported on the page where it ends."""
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
        table.append(r & 0xFFFFFFFF)
    out, pos, partial = [], 0, b""
    while pos < len(data):
        assert data[pos:pos + 4] == b"OggS" and data[pos + 4] == 0
        kind, granule = data[pos + 5], struct.unpack_from("<q", data, pos + 6)[0]
        count = data[pos + 26]
        lacing = data[pos + 27:pos + 27 + count]
        size = 27 + count + sum(lacing)
        page = bytearray(data[pos:pos + size])
        crc = struct.unpack_from("<I", page, 22)[0]
        page[22:26] = b"\0\0\0\0"
        c = 0
        for byte in page:
            c = ((c << 8) & 0xFFFFFFFF) ^ table[(c >> 24) ^ byte]
        assert c == crc, "Ogg page CRC"
        body, at = data[pos + 27 + count:pos + size], 0
        for lace in lacing:
            partial += body[at:at + lace]
            at += lace
            if lace < 255:
                out.append((kind, granule, partial))
                partial = b""
        pos += size
    return out


def test_rendition_is_rfc7845_ogg_opus_in_celt(tmp_path: Path) -> None:
    packets, expected = g711_call(10.0, loss=0.0, codes="voice")
    rendered, samples = render(tmp_path, packets)
    data = rendered.rendition  # type: ignore[attr-defined]
    ogg = ogg_packets(data)
    (kind0, _, head), (_, _, tags) = ogg[0], ogg[1]
    assert kind0 & 0x02 and head[:8] == b"OpusHead" and tags[:8] == b"OpusTags"  # BOS, ID header, comment header
    version, channels, preskip, rate, gain, family = struct.unpack_from("<BBHIhB", head, 8)
    assert (version, channels, rate, gain, family) == (1, 2, 8000, 0, 0)  # stereo, 8 kHz input, family 0 (RFC 7845 5.1)
    audio_packets = ogg[2:]
    assert ogg[-1][0] & 0x04  # EOS
    assert ogg[-1][1] - preskip == samples * 6  # granule positions count 48 kHz samples; the end is trimmed exactly
    tocs = {p[0] for _, _, p in audio_packets}
    assert all(toc >> 3 >= 16 and toc & 0x04 for toc in tocs)  # RFC 6716 3.1: CELT-only configurations, stereo
    assert {toc & 0x03 for toc in tocs} == {3}  # several frames per packet: 60 ms (3 x 20 ms)
    decoded, rate = soundfile.read(io.BytesIO(data), dtype="int16")
    assert rate == 8000 and decoded.shape == (samples, 2)
    for side in (0, 1):  # the same speech on the same channel (a lossy codec: SNR, not equality)
        ref, got = expected[side].astype(np.float64), decoded[:, side].astype(np.float64)
        snr = 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - got) ** 2))
        assert snr > 6.0, snr
    peaks = json.loads(rendered.peaks)  # type: ignore[attr-defined]
    assert peaks["length"] == -(-samples // 400) and len(peaks["data"]) == 4 * peaks["length"]
    kbits = len(data) * 8 / (samples / 8000) / 1000
    assert 15 < kbits < 40, kbits
