"""The recording core, pure: jitter buffer, loss, duplicates, SSRC change, timestamp jumps,
comfort noise, RFC 4733 digits, channel placement and minimization (rule A2)."""

from __future__ import annotations

import random
import struct
from datetime import datetime, timedelta, timezone

import numpy as np

from calea.sessions import codecs
from calea.sessions.recorder import Block, CallRecording, RecorderConfig
from calea.sessions.recording_sides import LEFT, RIGHT, MediaMap, place
from calea.sessions.rtp import MediaPacket, parse_media
from calea.sim.packets import udp

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
TARGET, PEER = ("198.51.100.20", 40000), ("203.0.113.50", 50000)
TONE = {LEFT: 400.0, RIGHT: 1000.0}


def tone(freq: float, n: int, start: int) -> bytes:
    t = np.arange(start, start + n) / 8000
    return codecs.ulaw_encode((8000 * np.sin(2 * np.pi * freq * t)).astype(np.int32))


def packet(from_target: bool, seq: int, ts: int, payload: bytes, *, pt: int = 0, ssrc: int | None = None) -> MediaPacket:
    src, dst = (TARGET, PEER) if from_target else (PEER, TARGET)
    ssrc = ssrc if ssrc is not None else (0x1111 if from_target else 0x2222)
    head = struct.pack(">BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    return parse_media(udp(src[0], dst[0], src[1], dst[1], head + payload))


def talk(seconds: float, *, sides: tuple[bool, ...] = (True, False), seq0: int = 65500, ts0: int = 4294960000,
         jitter: float = 0.002, seed: int = 1) -> list[tuple[datetime, MediaPacket, bool]]:
    """20 ms packets both ways (sequence and timestamp wrap on purpose), arrival jitter."""
    rng = random.Random(seed)
    out = []
    for i in range(int(seconds * 50)):
        for from_target in sides:
            side = LEFT if from_target else RIGHT
            p = packet(from_target, seq0 + i, ts0 + 160 * i, tone(TONE[side], 160, 160 * i))
            out.append((T0 + timedelta(seconds=i * 0.02 + rng.uniform(0, jitter)), p, from_target))
    return out


def record(rec: CallRecording, packets: list[tuple[datetime, MediaPacket, bool]], *, labels: bool = True,
           minimized: tuple[float, float] | None = None) -> tuple[np.ndarray, list[Block]]:
    blocks: list[Block] = []
    for at, p, from_target in packets:
        label = ("fromTarget" if from_target else "toTarget") if labels else None
        hidden = minimized is not None and T0 + timedelta(seconds=minimized[0]) <= at < T0 + timedelta(seconds=minimized[1])
        rec.feed(p, at, label=label, minimized=hidden)
        blocks += rec.pump()
    blocks += rec.finish()
    for a, b in zip(blocks, blocks[1:]):
        assert b.start == a.start + len(a.left)  # contiguous
    if not blocks:
        return np.zeros((2, 0), dtype=np.int16), blocks
    return np.stack((np.concatenate([b.left for b in blocks]), np.concatenate([b.right for b in blocks]))), blocks


def level(x: np.ndarray, freq: float) -> float:
    """Amplitude of `freq` in x (a single-bin DFT)."""
    t = np.arange(len(x)) / 8000
    return float(abs(np.dot(x.astype(np.float64), np.exp(-2j * np.pi * freq * t))) * 2 / max(len(x), 1))


def test_clean_call_length_and_channels() -> None:
    rec = CallRecording()
    audio, _ = record(rec, talk(3.0))
    assert abs(audio.shape[1] - 3.0 * 8000) <= 160
    assert level(audio[LEFT], 400) > 6000 and level(audio[LEFT], 1000) < 100
    assert level(audio[RIGHT], 1000) > 6000 and level(audio[RIGHT], 400) < 100
    s = rec.summary()
    assert s["counts"]["packets"] == 300 and all(st["lost"] == 0 for st in s["streams"])


def test_loss_reordering_and_duplicates() -> None:
    rng = random.Random(5)
    packets = [x for x in talk(10.0) if rng.random() >= 0.05]  # 5 % loss
    for i in range(0, len(packets) - 8, 3):  # reorder: swap with a packet up to 8 places on
        j = i + rng.randint(1, 8)
        packets[i], packets[j] = packets[j], packets[i]
    packets += [packets[k] for k in range(0, len(packets), 50)]  # duplicates, late by seconds
    rec = CallRecording()
    audio, _ = record(rec, packets)
    assert abs(audio.shape[1] / 8000 - 10.0) <= 0.02 + 0.02  # duration +/- 20 ms (+ the last frame may be lost)
    s = rec.summary()
    lost = sum(st["lost"] for st in s["streams"])
    assert 0.03 * 1000 < lost < 0.07 * 1000
    assert s["counts"]["duplicates"] + s["counts"].get("late", 0) >= len(packets) // 50 - 1
    # lost frames are silence; the others carry their tone
    x = audio[LEFT]
    start = int(np.flatnonzero(x)[0]) - 1  # sin(0) = 0: the first frame starts one sample earlier
    frames = x[start:start + (len(x) - start) // 160 * 160].reshape(-1, 160)
    silent = (np.abs(frames).max(axis=1) == 0).sum()
    assert 0.02 * 500 < silent < 0.08 * 500


def test_ssrc_change_continues_the_same_channel() -> None:
    first = talk(2.0, sides=(True,))
    second = [(at + timedelta(seconds=2.0), packet(True, 7 + i, 999 + 160 * i, p.rtp.payload, ssrc=0xABCDEF), f)
              for i, (at, p, f) in enumerate(talk(2.0, sides=(True,)))]
    rec = CallRecording()
    audio, _ = record(rec, first + second, labels=False)
    assert abs(audio.shape[1] - 4 * 8000) <= 160
    assert level(audio[LEFT], 400) > 6000 and np.abs(audio[RIGHT]).max() == 0
    streams = rec.summary()["streams"]
    assert [s["channel"] for s in streams] == ["target", "target"] and streams[1]["first_ms"] in range(1990, 2010)


def test_timestamp_jump_is_reanchored() -> None:
    packets = talk(4.0, sides=(True,), jitter=0)
    jumped = [(at, packet(True, p.rtp.sequence, p.rtp.timestamp + (8_000_000 if i >= 100 else 0), p.rtp.payload), f)
              for i, (at, p, f) in enumerate(packets)]
    rec = CallRecording()
    audio, _ = record(rec, jumped)
    assert abs(audio.shape[1] - 4 * 8000) <= 160
    assert rec.stats["timestamp_jumps"] == 1


def test_one_delayed_packet_is_not_a_jump() -> None:
    packets = talk(4.0, sides=(True,), jitter=0)
    at, p, f = packets.pop(100)
    packets.insert(175, (at + timedelta(seconds=1.5), p, f))  # held up 1.5 s in the network
    rec = CallRecording()
    audio, _ = record(rec, packets)
    assert abs(audio.shape[1] - 4 * 8000) <= 160
    assert rec.stats["timestamp_jumps"] == 0 and rec.stats["late"] == 1
    assert level(audio[LEFT, 3 * 8000:4 * 8000 - 160], 400) > 6000  # what follows kept its place


def test_comfort_noise_is_a_silence_not_a_loss() -> None:
    """RFC 3389: speech 1 s, a CN packet, nothing for 1 s, speech again."""
    packets = []
    for i in range(150):
        at = T0 + timedelta(seconds=i * 0.02)
        if i < 50 or i >= 100:
            packets.append((at, packet(True, i if i < 50 else i - 49, 160 * i, tone(400, 160, 160 * i)), True))
        elif i == 50:
            packets.append((at, packet(True, 50, 160 * i, b"\x28", pt=13), True))
    rec = CallRecording()
    audio, _ = record(rec, packets)
    assert abs(audio.shape[1] - 3 * 8000) <= 160
    assert np.abs(audio[LEFT, 8000 + 160:16000 - 160]).max() == 0 and level(audio[LEFT, 16000:], 400) > 6000
    assert rec.stats["comfort_noise"] == 1 and rec.summary()["streams"][0]["lost"] == 0


def test_rfc4733_digits_are_reported_and_heard() -> None:
    from calea.sim.audio import dtmf_packets

    packets = talk(1.0, sides=(True,), jitter=0)
    seq = packets[-1][1].rtp.sequence + 1
    for k, (payload, _marker) in enumerate(dtmf_packets("5") + dtmf_packets("#")):
        start = 50 if k < 8 else 60
        at = T0 + timedelta(seconds=(50 + k) * 0.02)
        packets.append((at, packet(True, seq + k, 4294960000 + 160 * start, payload, pt=101), True))
    rec = CallRecording()
    audio, _ = record(rec, packets)
    digits = rec.summary()["digits"]
    assert [(d["digit"], d["channel"], d["offset_ms"], d["duration_ms"]) for d in digits] == [
        ("5", "target", 1000, 100), ("#", "target", 1200, 100)]
    assert level(audio[LEFT, 8000:8800], 770) > 1000 and level(audio[LEFT, 8000:8800], 1336) > 1000  # '5'


def test_minimized_packets_are_silence_and_listed() -> None:
    """Rule A2 (18 U.S.C. §2518(5)): nothing of a minimized span is decoded or kept."""
    rec = CallRecording()
    audio, blocks = record(rec, talk(6.0), minimized=(2.0, 4.0))
    span = audio[:, 2 * 8000 + 160:4 * 8000 - 160]
    assert np.abs(span).max() == 0
    assert level(audio[LEFT, :2 * 8000], 400) > 6000 and level(audio[LEFT, 4 * 8000 + 160:], 400) > 6000
    [marker] = rec.summary()["minimized"]
    assert abs(marker["start_ms"] - 2000) <= 25 and abs(marker["end_ms"] - 4000) <= 25
    assert rec.stats["minimized"] == 200 and sum(len(b.minimized) for b in blocks) >= 1


def test_minimized_interval_from_the_book_silences_buffered_audio() -> None:
    rec = CallRecording(RecorderConfig(delay=8000 * 10))  # everything still held back
    for at, p, f in talk(4.0, jitter=0):
        rec.feed(p, at, label="fromTarget" if f else "toTarget")
    blocks = rec.finish([(T0 + timedelta(seconds=1), T0 + timedelta(seconds=2))])
    audio = np.concatenate([b.left for b in blocks])
    assert np.abs(audio[8000:16000]).max() == 0 and level(audio[16000:], 400) > 6000
    assert rec.summary()["minimized"] == [{"start_ms": 1000, "end_ms": 2000}]


def test_placement_by_sdp_beats_a_wrong_label() -> None:
    """The carrier's labels inverted (OpenLI, incoming calls): SDP decides."""
    rec = CallRecording()
    rec.media.target.add(TARGET)
    rec.media.peer.add(PEER)
    packets = [(at, p, not f) for at, p, f in talk(1.0)]  # wrong labels
    audio, _ = record(rec, packets)
    assert level(audio[LEFT], 400) > 6000 and level(audio[RIGHT], 1000) > 6000
    assert rec.stats["labels_contradicted"] == 2 and rec.placement() == "sdp"


def test_placement_rules() -> None:
    p = packet(True, 1, 1, b"").udp
    assert place(MediaMap(target={TARGET}), p, "toTarget", []) == (LEFT, "sdp")
    assert place(MediaMap(peer={PEER}), p, None, []) == (LEFT, "sdp")
    assert place(MediaMap(target={(TARGET[0], 1)}), p, None, []) == (LEFT, "sdp")  # address alone (NAT)
    assert place(MediaMap(), p, "toTarget", []) == (RIGHT, "label")
    assert place(MediaMap(), p, None, []) == (LEFT, "guessed")
    assert place(MediaMap(), packet(False, 1, 1, b"").udp, None, [(p, LEFT)]) == (RIGHT, "guessed")


def test_alaw_and_unsupported_payloads() -> None:
    rec = CallRecording()
    for i in range(100):
        at = T0 + timedelta(seconds=i * 0.02)
        payload = codecs.alaw_encode((8000 * np.sin(2 * np.pi * 400 * np.arange(160 * i, 160 * i + 160) / 8000)).astype(np.int32))
        rec.feed(packet(True, i, 160 * i, payload, pt=8), at, label="fromTarget")
        rec.feed(packet(False, i, 160 * i, b"\x00" * 160, pt=9), at, label="toTarget")  # G.722
    audio = np.concatenate([b.left for b in rec.finish()])
    assert level(audio, 400) > 6000
    assert rec.summary()["unsupported_payloads"] == {"PT9": 100}


def test_late_packets_are_counted_not_written() -> None:
    rec = CallRecording()
    blocks = []
    for at, p, _ in talk(4.0, sides=(True,), jitter=0):
        rec.feed(p, at)
        blocks += rec.pump()
    handed_out = sum(len(b.left) for b in blocks)
    assert handed_out >= 2 * 8000
    # a packet of 0.5 s into the call, arriving now: its time has been handed out
    rec.feed(packet(True, 5000, 4294960000 + 160 * 25, tone(400, 160, 0)), T0 + timedelta(seconds=0.5))
    assert rec.stats["late"] == 1
    assert sum(len(b.left) for b in rec.finish()) + handed_out == 4 * 8000


def test_cc_short_path_agrees_with_the_decoder() -> None:
    """The recorder's short path through an ETSI CC record gives what the full decoder
    gives, for every record OpenLI wrote (and declines keep-alives and IP-access CC)."""
    from calea.sessions.recording_cc import _decoded, _short_path, cc_media
    from tests.intake.test_tamper import records

    seen = 0
    for raw in records("hi3-NYPD.ber"):
        fast, full = _short_path(raw), _decoded(raw)
        assert fast == full
        if full is not None:
            seen += 1
            media = cc_media("etsi-102232", raw)
            assert media is not None and media[0].rtp.payload_type == 0 and media[1] in ("fromTarget", "toTarget")
    assert seen == 700


def test_no_voice_biometrics_F1() -> None:
    """Rule F1: a recording's description holds times, streams, digits and counts; nothing
    measures a speaker."""
    rec = CallRecording()
    record(rec, talk(1.0))
    summary = rec.summary()
    assert set(summary) == {"sample_rate", "channels", "started_at", "duration_ms", "placement", "streams", "digits",
                            "minimized", "counts", "unsupported_payloads"}
    words = json_words(summary)
    assert not words & {"speaker", "voiceprint", "gender", "age", "emotion", "embedding", "identity"}


def json_words(obj: object) -> set[str]:
    import json
    import re

    return set(re.findall(r"[a-z]+", json.dumps(obj).lower()))
