"""Writing a plan's byte streams to files instead of delivering them (offline decoding).

One file per connection as the intake would receive it: `hi2.ber`, `hi3.ber`; after a
`Drop` the connection starts over in `hi2.2.ber`, ... beginning with the resent records
(a `partial` drop's half record is left out, so every file is whole records).  PacketCable
CCC datagrams go to `hi3-ccc.pcap` (LINKTYPE_RAW IPv4/UDP packets from 127.0.0.1 to the
HI3 port, the CCC datagram as UDP payload).  `manifest.jsonl` lists every record: file,
offset, length, kind, LIID, CIN, sequence, timeline offset and label.
"""

from __future__ import annotations

import json
import struct
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from calea.sim.packets import udp
from calea.sim.plan import HI2, HI3, Drop, Plan, Record

_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)  # LINKTYPE_RAW


@dataclass(frozen=True)
class StreamFiles:
    files: tuple[Path, ...]
    manifest: Path
    records: int


def write_streams(plan: Plan, directory: str | Path, *, hi3_port: int = 6002) -> StreamFiles:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    lines: list[str] = []
    for channel, steps in ((HI2, plan.hi2), (HI3, plan.hi3)):
        if not steps:
            continue
        if channel == HI3 and plan.hi3_transport == "udp":
            files.append(_pcap(plan, steps, out / "hi3-ccc.pcap", hi3_port, lines))
            continue
        part, history = 1, deque[Record](maxlen=256)
        path = out / f"{channel}.ber"
        fh = path.open("wb")
        files.append(path)
        try:
            for step in steps:
                if isinstance(step, Drop):
                    fh.close()
                    part += 1
                    path = out / f"{channel}.{part}.ber"
                    fh = path.open("wb")
                    files.append(path)
                    for record in list(history)[len(history) - min(step.resend, len(history)):]:
                        _write(fh, path, record, lines, resent=True)
                    continue
                _write(fh, path, step, lines)
                if step.kind != "keepalive":
                    history.append(step)
        finally:
            fh.close()
    manifest = out / "manifest.jsonl"
    manifest.write_text("".join(lines), "utf-8")
    return StreamFiles(tuple(files), manifest, len(lines))


def _line(path: Path, offset: int, record: Record, resent: bool = False) -> str:
    entry = {"file": path.name, "offset": offset, "length": len(record.data), "channel": record.channel,
             "kind": record.kind, "liid": record.liid, "cin": record.cin, "sequence": record.sequence,
             "at": record.at, "label": record.label}
    if resent:
        entry["resent"] = True
    return json.dumps(entry) + "\n"


def _write(fh: BinaryIO, path: Path, record: Record, lines: list[str], resent: bool = False) -> None:
    offset = fh.tell()
    fh.write(record.data)
    lines.append(_line(path, offset, record, resent))


def _pcap(plan: Plan, steps: tuple[Record | Drop, ...], path: Path, port: int, lines: list[str]) -> Path:
    with path.open("wb") as fh:
        fh.write(_PCAP_HEADER)
        for index, step in enumerate(s for s in steps if isinstance(s, Record)):
            stamp = plan.start + timedelta(seconds=step.at)
            packet = udp("127.0.0.1", "127.0.0.1", 40000 + index % 20000, port, step.data, ident=index)
            secs = int(stamp.timestamp())
            fh.write(struct.pack("<IIII", secs, stamp.microsecond, len(packet), len(packet)))
            offset = fh.tell()
            fh.write(packet)
            lines.append(_line(path, offset + 28, step))  # the datagram follows 28 header octets
    return path
