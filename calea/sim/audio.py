"""Speech-like audio in G.711 mu-law and RFC 4733 telephone events, for simulated calls.

SPEC: ITU-T G.711 (mu-law), RFC 3551 (PT 0 PCMU, 8 kHz, 20 ms = 160 samples per packet),
RFC 4733 section 2.3 (telephone-event payload: event, E bit, volume, duration).

The "voice" is no recording: a source-filter sketch of speech.  A glottal pulse train at
a gliding fundamental (f0) is shaped by three formant resonances that move from vowel to
vowel; syllables of 120-320 ms have a raised-cosine loudness envelope, phrases of 1-3 s
are separated by pauses holding only faint comfort noise.  Frames therefore differ in
energy and spectrum the way speech does (not a pure tone, not digital silence), which is
what the recorder, the level meters and the tests need.  Pure and deterministic per seed.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms
_BIAS, _CLIP = 0x84, 32635

# (F1, F2, F3) in Hz of a few vowels (adult speaker, rounded textbook values)
_VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410),
           (440, 1020, 2240), (660, 1720, 2410), (300, 870, 2240), (490, 1350, 1690))
_BANDWIDTH = (90.0, 110.0, 170.0)


def _mulaw(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, _CLIP) + _BIAS
    exponent = magnitude.bit_length() - 8  # 0..7 once biased
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


_TABLE = bytes(_mulaw((i << 2) - 32768) for i in range(16384))  # 14-bit resolution is all G.711 keeps


def mulaw_encode(samples: list[int]) -> bytes:
    """16-bit linear samples -> G.711 mu-law octets."""
    table = _TABLE
    return bytes(table[(min(max(s, -32768), 32767) + 32768) >> 2] for s in samples)


def mulaw_decode(octets: bytes) -> list[int]:
    """G.711 mu-law octets -> 16-bit linear samples (the inverse used by receivers)."""
    out = []
    for octet in octets:
        u = ~octet & 0xFF
        magnitude = ((((u & 0x0F) << 3) + _BIAS) << ((u >> 4) & 0x07)) - _BIAS
        out.append(-magnitude if u & 0x80 else magnitude)
    return out


def _formant_gain(freq: float, formants: tuple[int, int, int]) -> float:
    gain = 0.0
    for centre, width in zip(formants, _BANDWIDTH):
        gain += 1.0 / (1.0 + ((freq - centre) / width) ** 2)
    return gain / (1.0 + freq / 1500.0)  # spectral tilt of the glottal source


def _syllable(rng: random.Random, f0: float, samples: int, level: float) -> list[float]:
    a, b = rng.choice(_VOWELS), rng.choice(_VOWELS)
    glide = rng.uniform(-0.18, 0.12)
    out = [0.0] * samples
    halves = ((0, samples // 2, a), (samples // 2, samples, b))  # two vowel targets per syllable
    for start, end, formants in halves:
        harmonics = []
        for h in range(1, int(3400 / f0) + 1):
            gain = _formant_gain(h * f0, formants)
            if gain > 0.08:
                harmonics.append((h, gain))
        norm = level / max(1e-9, sum(g for _, g in harmonics))
        for n in range(start, end):
            t = n / RATE
            pitch = f0 * (1.0 + glide * n / samples + 0.015 * math.sin(2 * math.pi * 5.5 * t))
            phase = 2 * math.pi * pitch * t
            envelope = math.sin(math.pi * n / samples) ** 2
            out[n] = envelope * norm * sum(g * math.sin(h * phase) for h, g in harmonics)
    return out


@lru_cache(maxsize=8)
def speech(seconds: float, seed: int, f0: float = 120.0) -> tuple[int, ...]:
    """`seconds` of speech-like 16-bit samples (cached: calls reuse a voice's loop)."""
    rng = random.Random(seed)
    total = int(seconds * RATE)
    out: list[float] = []
    while len(out) < total:
        phrase_end = len(out) + int(rng.uniform(1.0, 3.0) * RATE)
        while len(out) < min(phrase_end, total):
            size = int(rng.uniform(0.12, 0.32) * RATE)
            out += _syllable(rng, f0 * rng.uniform(0.9, 1.12), size, rng.uniform(5000, 12000))
            out += [0.0] * int(rng.uniform(0.01, 0.06) * RATE)  # consonant gap
        out += [0.0] * int(rng.uniform(0.3, 0.9) * RATE)  # pause between phrases
    noise = random.Random(seed ^ 0x5EED)
    return tuple(int(v + noise.gauss(0.0, 40.0)) for v in out[:total])


def frames(seconds: float, seed: int, f0: float = 120.0, offset: float = 0.0) -> list[bytes]:
    """mu-law 20 ms payloads covering `seconds`, from a 6 s voice loop starting at `offset`."""
    loop = speech(6.0, seed, f0)
    start = int(offset * RATE) % len(loop)
    count = max(0, int(round(seconds * 50)))
    out = []
    for i in range(count):
        a = (start + i * FRAME_SAMPLES) % len(loop)
        chunk = loop[a : a + FRAME_SAMPLES]
        if len(chunk) < FRAME_SAMPLES:
            chunk += loop[: FRAME_SAMPLES - len(chunk)]
        out.append(mulaw_encode(list(chunk)))
    return out


DTMF_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14, "D": 15}


def telephone_event(digit: str, duration_samples: int, end: bool, volume: int = 10) -> bytes:
    """One RFC 4733 telephone-event payload (4 octets)."""
    event = DTMF_EVENTS[digit.upper()]
    return bytes((event, (0x80 if end else 0) | (volume & 0x3F))) + duration_samples.to_bytes(2, "big")


def dtmf_packets(digit: str, tone_ms: int = 100) -> list[tuple[bytes, bool]]:
    """(payload, marker) of the packets of one digit: one per 20 ms while it sounds, then
    the final packet three times (E bit set), as RFC 4733 section 2.5.1.3 recommends."""
    steps = max(1, tone_ms // 20)
    out = [(telephone_event(digit, (i + 1) * FRAME_SAMPLES, False), i == 0) for i in range(steps)]
    final = telephone_event(digit, steps * FRAME_SAMPLES, True)
    return out + [(final, False)] * 3
