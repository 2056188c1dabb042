"""Small PNG pictures for simulated MMS, made in code (no image files, no imaging library).

SPEC: PNG (ISO/IEC 15948 / W3C PNG 2nd ed.): signature, IHDR (8-bit truecolour, no
interlace), one IDAT, IEND; each chunk length + type + data + CRC-32.  The zlib stream
(RFC 1950) holds stored DEFLATE blocks (RFC 1951 section 3.2.4, BTYPE 00), each scanline
with filter type 0, so the bytes depend on nothing but the arguments -- not on the zlib
build's compressor -- and a picture is the same on every machine and run.

The picture: a diagonal colour gradient with a lighter disc and per-seed noise, so two
seeds give different images (and their bytes are unlikely to occur anywhere by chance,
which the A6 tests rely on).
"""

from __future__ import annotations

import random
import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SIDE = 1024
_STORED_MAX = 65535


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _stored_zlib(raw: bytes) -> bytes:
    """A zlib stream of stored (uncompressed) DEFLATE blocks."""
    out = bytearray(b"\x78\x01")  # CM 8, CINFO 7, FLEVEL 0; (0x7801 % 31 == 0)
    blocks = [raw[i:i + _STORED_MAX] for i in range(0, len(raw), _STORED_MAX)] or [b""]
    for i, block in enumerate(blocks):
        out.append(1 if i == len(blocks) - 1 else 0)  # BFINAL, BTYPE 00
        out += struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    out += struct.pack(">I", zlib.adler32(raw) & 0xFFFFFFFF)
    return bytes(out)


def png_image(width: int = 32, height: int = 24, seed: int = 0) -> bytes:
    """A `width` x `height` RGB PNG, deterministic per (width, height, seed)."""
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"image sides 1 to {MAX_SIDE} pixels, not {width}x{height}")
    rng = random.Random(seed)
    base = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    cx, cy, r2 = width * 0.6, height * 0.4, (min(width, height) * 0.3) ** 2
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            g = (x * 255 // max(1, width - 1) + y * 255 // max(1, height - 1)) // 2
            lift = 70 if (x - cx) ** 2 + (y - cy) ** 2 <= r2 else 0
            noise = rng.getrandbits(24)
            for c in range(3):
                value = (base[c] + g * (c + 1) // 2 + lift + ((noise >> (8 * c)) & 0x1F)) % 256
                rows.append(value)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, deflate, filter 0, no interlace
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", _stored_zlib(bytes(rows))) + _chunk(b"IEND", b"")


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of PNG bytes, or None when they are not a PNG."""
    if not data.startswith(SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)
