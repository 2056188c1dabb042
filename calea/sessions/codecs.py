"""Voice codecs of call content: RTP payload -> 16-bit linear PCM (pure, numpy tables).

SPEC: ITU-T G.711 (1988) tables 1a/1b (mu-law) and 2a/2b (A-law); RFC 3551 section 4.5.14
(PCMU, static payload type 0; PCMA, static payload type 8; 8 kHz, one octet per sample).

Supported: **G.711 mu-law (PCMU)** and **G.711 A-law (PCMA)**.  Decoding is exact: every
code maps to one linear value, so a 16-bit recording of G.711 keeps everything the carrier
delivered (the master is lossless with respect to the payload).

Not supported yet (the recorder fills their time with silence and counts them per payload
type): G.722 (PT 9), G.729 (PT 18), GSM (PT 3), iLBC, AMR / AMR-WB, EVS, Opus, Speex.
RFC 4733 telephone events and RFC 3389 comfort noise are not codecs: see `calea.sessions.rtp`.

The encoders exist for the simulator and for round-trip tests.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RATE = 8000
PCMU, PCMA = "PCMU", "PCMA"
STATIC_PAYLOAD_TYPES = {0: PCMU, 8: PCMA}  # RFC 3551 table 4
SUPPORTED = frozenset((PCMU, PCMA))

Samples = npt.NDArray[np.int16]


def _ulaw_value(code: int) -> int:
    """G.711 mu-law decoding of one octet (bits inverted on the line)."""
    u = ~code & 0xFF
    magnitude = ((((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)) - 0x84
    return -magnitude if u & 0x80 else magnitude


def _alaw_value(code: int) -> int:
    """G.711 A-law decoding of one octet (even bits inverted on the line: XOR 0x55)."""
    a = code ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if a & 0x80 else -magnitude


ULAW_TABLE: Samples = np.array([_ulaw_value(i) for i in range(256)], dtype=np.int16)
ALAW_TABLE: Samples = np.array([_alaw_value(i) for i in range(256)], dtype=np.int16)
_TABLES = {PCMU: ULAW_TABLE, PCMA: ALAW_TABLE}


def decode(encoding: str, payload: bytes) -> Samples:
    """PCM samples of one payload; `encoding` is an RTP encoding name (PCMU, PCMA).

    Raises KeyError for an encoding that is not supported (see the module docstring)."""
    table = _TABLES[encoding.upper()]
    return table[np.frombuffer(payload, dtype=np.uint8)]


def ulaw_decode(payload: bytes) -> Samples:
    return ULAW_TABLE[np.frombuffer(payload, dtype=np.uint8)]


def alaw_decode(payload: bytes) -> Samples:
    return ALAW_TABLE[np.frombuffer(payload, dtype=np.uint8)]


def _nearest_code(table: Samples) -> npt.NDArray[np.uint8]:
    """For every 16-bit value, the code whose decoded value is nearest (ties: the code of
    smaller magnitude), so that encode(decode(code)) == code for every canonical code."""
    values = table.astype(np.int32)
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    unique, first = np.unique(sorted_values, return_index=True)
    codes = order[first]
    # prefer the canonical code of a doubled value: mu-law 0x7F and 0xFF both decode to 0
    if 0 in unique:
        codes[np.searchsorted(unique, 0)] = int(np.flatnonzero(values == 0).max())
    grid = np.arange(-32768, 32768, dtype=np.int32)
    idx = np.clip(np.searchsorted(unique, grid), 1, len(unique) - 1)
    lower, upper = unique[idx - 1], unique[idx]
    take_upper = (upper - grid) < (grid - lower)
    take_upper |= ((upper - grid) == (grid - lower)) & (np.abs(upper) < np.abs(lower))
    chosen = np.where(take_upper, idx, idx - 1)
    chosen = np.where(grid <= unique[0], 0, chosen)
    chosen = np.where(grid >= unique[-1], len(unique) - 1, chosen)
    return codes[chosen].astype(np.uint8)


_ULAW_ENCODE = _nearest_code(ULAW_TABLE)
_ALAW_ENCODE = _nearest_code(ALAW_TABLE)


def ulaw_encode(samples: npt.ArrayLike) -> bytes:
    """16-bit linear -> mu-law octets (nearest quantisation level)."""
    s = np.asarray(samples, dtype=np.int32)
    return bytes(_ULAW_ENCODE[np.clip(s, -32768, 32767) + 32768].tobytes())


def alaw_encode(samples: npt.ArrayLike) -> bytes:
    """16-bit linear -> A-law octets (nearest quantisation level)."""
    s = np.asarray(samples, dtype=np.int32)
    return bytes(_ALAW_ENCODE[np.clip(s, -32768, 32767) + 32768].tobytes())
