"""Calls carry speech-like audio (not a tone, not silence) in well-formed RTP streams,
and RFC 4733 DTMF before and after answer."""

from __future__ import annotations

import math
from collections import defaultdict

from calea.handover import etsi102232
from calea.sim import audio
from calea.sim.plan import Plan

from .helpers import ipv4_ok, rtp, split, transport_ok, ulaw


def _streams(plan: Plan) -> dict[tuple[str | None, int], list[tuple[float, tuple]]]:  # type: ignore[type-arg]
    """RTP packets of each (CIN, SSRC) with their delivery time."""
    out: dict[tuple[str | None, int], list[tuple[float, tuple]]] = defaultdict(list)  # type: ignore[type-arg]
    for r in plan.records("hi3"):
        if r.liid != "LI-VOIP-1":
            continue
        packet = etsi102232.decode(r.data).content[0].data
        assert ipv4_ok(packet) and transport_ok(packet)
        src, dst, proto, sport, dport, payload = split(packet)
        assert proto == 17
        fields = rtp(payload)
        out[(r.cin, fields[4])].append((r.at, fields))
    return out


def test_rtp_streams_are_well_formed(plans: dict[str, Plan]) -> None:
    streams = _streams(plans["etsi-102232"])
    assert len(streams) == 4  # two answered calls, both directions
    for packets in streams.values():
        times = [at for at, _ in packets]
        assert times == sorted(times)
        seqs = [f[2] for _, f in packets]
        assert all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:]))
        stamps = [f[3] for _, f in packets]
        assert all((b - a) % 2**32 < 2**31 for a, b in zip(stamps, stamps[1:]))  # never backwards
        audio_frames = [f for _, f in packets if f[0] == 0]
        assert audio_frames and all(len(f[5]) == 160 for f in audio_frames)
        audio_ts = [f[3] for f in audio_frames]
        assert all((b - a) % 2**32 > 0 and (b - a) % 160 == 0 for a, b in zip(audio_ts, audio_ts[1:]))


def _dominant(samples: list[int]) -> int:
    best, best_power = 0, -1.0
    for freq in range(100, 3600, 50):
        w = 2 * math.pi * freq / 8000
        re = sum(s * math.cos(w * n) for n, s in enumerate(samples))
        im = sum(s * math.sin(w * n) for n, s in enumerate(samples))
        if re * re + im * im > best_power:
            best, best_power = freq, re * re + im * im
    return best


def test_audio_is_speech_like(plans: dict[str, Plan]) -> None:
    packets = next(iter(_streams(plans["etsi-102232"]).values()))
    frames = [[ulaw(o) for o in f[5]] for _, f in packets if f[0] == 0]
    rms = [math.sqrt(sum(s * s for s in frame) / len(frame)) for frame in frames]
    loud = [f for f, level in zip(frames, rms) if level > 800]
    quiet = [level for level in rms if level < 200]
    assert len(loud) > 20 and quiet, "syllables and pauses"
    mean = sum(rms) / len(rms)
    spread = math.sqrt(sum((x - mean) ** 2 for x in rms) / len(rms))
    assert spread / mean > 0.5  # loudness varies like speech, unlike a steady tone
    assert all(len(set(frame)) > 5 for frame in frames)  # never digital silence
    dominant = {_dominant(frame) for frame in loud[::3]}
    assert len(dominant) >= 3  # the spectrum moves (formants, pitch), unlike a pure tone


def test_mulaw_matches_g711() -> None:
    for value in (0, 1, 100, -100, 1000, -1000, 8000, -8000, 32000, -32768):
        decoded = ulaw(audio.mulaw_encode([value])[0])
        assert abs(decoded - value) <= max(8, abs(value) // 16)
        assert audio.mulaw_decode(audio.mulaw_encode([value]))[0] == decoded
    assert audio.mulaw_encode([0]) == b"\xff" and audio.mulaw_encode([-32768]) == b"\x00"


def _events(packets: list[tuple[float, tuple]]) -> list[tuple[float, str, bool, bool]]:  # type: ignore[type-arg]
    names = "0123456789*#ABCD"
    return [(at, names[f[5][0]], f[1], bool(f[5][1] & 0x80)) for at, f in packets if f[0] == 101]


def test_dtmf_before_and_after_answer(plans: dict[str, Plan]) -> None:
    streams = _streams(plans["etsi-102232"])
    answered_at = {}
    for r in plans["etsi-102232"].records("hi2"):
        if r.label == "200" and r.cin not in answered_at:
            answered_at[r.cin] = r.at
    digits = {}
    for (cin, _), packets in streams.items():
        events = _events(packets)
        if not events:
            continue
        ends = [e for e in events if e[3]]
        keyed = "".join(e[1] for e in ends[::3])
        assert all(ends[i][1] == ends[i + 1][1] == ends[i + 2][1] for i in range(0, len(ends), 3))
        assert sum(1 for e in events if e[2]) == len(keyed)  # marker on each digit's first packet
        early = "".join(e[1] for e in ends[::3] if e[0] < answered_at[cin])
        digits[(cin, early)] = keyed
    assert sorted(digits.values()) == ["15#", "429"]
    assert {early for (_, early) in digits} == {"", "42"}
