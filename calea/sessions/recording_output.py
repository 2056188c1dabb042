"""Writing a recording as its blocks arrive: the lossless master, the Opus rendition for the
browser, and the waveform peaks.

* **master**: FLAC, 8 kHz, 16-bit, 2 channels (left: the target, right: the other party).
  G.711 decodes exactly to 16-bit, so the master keeps every sample the carrier delivered.
  FLAC level 0 (fixed predictors): lossless like any level, 1 % larger than level 5 and a
  third cheaper to encode.
* **rendition**: Ogg Opus (RFC 7845), 8 kHz input, about 27 kbit/s for the two channels:
  small enough to stream to a browser's `<audio>` element.  libopus in its CELT-only mode
  (`application=lowdelay`), complexity 0, 60 ms packets: about a sixth of the CPU of the
  default SILK encoder at complexity 10, for the same PESQ-NB score at the same size
  (measurements: bench/README.md, "Call recordings").
* **peaks**: the JSON waveform format of BBC audiowaveform (version 2, 8-bit): `data` holds,
  per pixel of `samples_per_pixel` samples, min and max of channel 0 then of channel 1
  (values -128..127), which peaks.js and similar players draw without decoding the audio.

The master is written through libsndfile (the `soundfile` wheel bundles it with libFLAC),
the rendition through FFmpeg's libopus encoder and Ogg muxer (the `av` wheel bundles them):
libsndfile sets neither the Opus complexity nor the mode.  No system package is needed.
Files are written under a scratch directory while the call lasts and read back once at the
end; `discard()` removes them (nothing of a call stays outside the content store).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fractions import Fraction

import av
import numpy as np
import soundfile  # type: ignore[import-untyped]

from calea.sessions.codecs import RATE
from calea.sessions.recorder import Block

MASTER_TYPE, RENDITION_TYPE, PEAKS_TYPE = "audio/flac", "audio/ogg; codecs=opus", "application/json"
FLAC_LEVEL = 0.0  # libsndfile's compression level 0..1 -> FLAC levels 0..8
OPUS_BITRATE = 28_000  # bit/s, both channels (VBR): about 27 kbit/s with the Ogg pages
OPUS_OPTIONS = {  # FFmpeg's libopus encoder (libavcodec/libopusenc.c)
    "application": "lowdelay",  # OPUS_APPLICATION_RESTRICTED_LOWDELAY: CELT only, no SILK analysis
    "compression_level": "0",  # OPUS_SET_COMPLEXITY(0)
    "frame_duration": "60",  # ms per packet (three 20 ms CELT frames): fewer packets and pages
    "vbr": "on",
}
SAMPLES_PER_PIXEL = 400  # 50 ms per peak at 8 kHz


class Peaks:
    """Min / max per pixel and channel, accumulated block by block (8-bit values)."""

    def __init__(self, samples_per_pixel: int = SAMPLES_PER_PIXEL) -> None:
        self.spp = samples_per_pixel
        self._carry = np.zeros((0, 2), dtype=np.int16)
        self._data: list[np.ndarray] = []
        self.length = 0

    def add(self, frames: np.ndarray) -> None:
        """`frames`: int16, shape (n, 2)."""
        frames = np.concatenate((self._carry, frames)) if len(self._carry) else frames
        whole = len(frames) // self.spp * self.spp
        if whole:
            self._emit(frames[:whole])
        self._carry = frames[whole:]

    def _emit(self, frames: np.ndarray) -> None:
        px = frames.reshape(-1, self.spp, 2) >> 8  # 16-bit -> 8-bit
        out = np.empty((px.shape[0], 4), dtype=np.int8)
        out[:, 0], out[:, 1] = px[:, :, 0].min(axis=1), px[:, :, 0].max(axis=1)
        out[:, 2], out[:, 3] = px[:, :, 1].min(axis=1), px[:, :, 1].max(axis=1)
        self._data.append(out.reshape(-1))
        self.length += px.shape[0]

    def to_json(self) -> bytes:
        if len(self._carry):
            pad = np.zeros((self.spp - len(self._carry), 2), dtype=np.int16)
            self._emit(np.concatenate((self._carry, pad)))
            self._carry = np.zeros((0, 2), dtype=np.int16)
        data = np.concatenate(self._data).tolist() if self._data else []
        return json.dumps({"version": 2, "channels": 2, "sample_rate": RATE, "samples_per_pixel": self.spp,
                           "bits": 8, "length": self.length, "data": data}, separators=(",", ":")).encode()


class OpusWriter:
    """Ogg Opus (RFC 7845: OpusHead with the 8 kHz input rate and the encoder's pre-skip,
    OpusTags, granule positions at 48 kHz) from 8 kHz 16-bit stereo, appended to block by
    block; `av` cuts the blocks into the encoder's 60 ms frames and pads the last one."""

    def __init__(self, path: Path) -> None:
        self._container = av.open(str(path), "w", format="ogg")
        self._stream = self._container.add_stream("libopus", rate=RATE, layout="stereo")
        self._stream.bit_rate = OPUS_BITRATE
        self._stream.codec_context.options = dict(OPUS_OPTIONS)
        self._pts = 0
        self.closed = False

    def write(self, frames: np.ndarray) -> None:
        """`frames`: int16, shape (n, 2)."""
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(frames, dtype=np.int16).reshape(1, -1), format="s16",
                                           layout="stereo")  # packed: L R L R ...
        frame.sample_rate = RATE
        frame.time_base = Fraction(1, RATE)
        frame.pts = self._pts
        self._pts += len(frames)
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                if self._pts:
                    self._container.mux(self._stream.encode(None))
            finally:
                self._container.close()


@dataclass(frozen=True)
class Rendered:
    master: bytes
    rendition: bytes
    peaks: bytes
    samples: int


class RecordingFiles:
    """The three outputs of one recording, appended to block by block."""

    def __init__(self, scratch: Path) -> None:
        scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, master = tempfile.mkstemp(dir=scratch, prefix="rec-", suffix=".flac")
        os.close(fd)
        fd, opus = tempfile.mkstemp(dir=scratch, prefix="rec-", suffix=".opus")
        os.close(fd)
        self.paths = (Path(master), Path(opus))
        self._master = soundfile.SoundFile(master, "w", samplerate=RATE, channels=2, format="FLAC", subtype="PCM_16",
                                           compression_level=FLAC_LEVEL)
        self._opus = OpusWriter(self.paths[1])
        self.peaks = Peaks()
        self.samples = 0
        self.closed = False

    def write(self, block: Block) -> None:
        if block.start != self.samples:
            raise ValueError(f"block at {block.start}, expected {self.samples}: blocks must be contiguous")
        frames = np.stack((block.left, block.right), axis=1)
        self._master.write(frames)
        self._opus.write(frames)
        self.peaks.add(frames)
        self.samples += len(frames)

    def finish(self) -> Rendered:
        self._close()
        out = Rendered(self.paths[0].read_bytes(), self.paths[1].read_bytes(), self.peaks.to_json(), self.samples)
        self.discard()
        return out

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self._master.close()
            self._opus.close()

    def discard(self) -> None:
        try:
            self._close()
        finally:
            for p in self.paths:
                p.unlink(missing_ok=True)
