"""Fixtures of the handover codec tests: the OpenLI 1.1.20 vectors, split into records.

The vectors live beside the repository (`../shared/vectors/...` from the repo root), so a
clone elsewhere finds them as long as `shared/` sits next to it; tests needing them are
skipped otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from calea.handover.framing import NEED_DATA, RecordSplitter

REPO_ROOT = Path(__file__).resolve().parents[3]
from tests.conftest import OPENLI as OPENLI_VECTORS  # noqa: E402

_LISTING = re.compile(
    r"^\s*(?P<index>\d+) off=(?P<offset>\d+)\s+len=(?P<length>\d+)\s+liid=(?P<liid>\S+)\s+"
    r"cin=(?P<cin>\d+)\s+seq=(?P<seq>\d+)\s+ts=(?P<ts>\S+)\s+(?P<kind>\S+)\s*(?P<rest>.*?)\s*$"
)


@dataclass
class ListingLine:
    index: int
    offset: int
    length: int
    liid: str
    cin: int
    seq: int
    ts: str
    kind: str
    rest: str


@dataclass
class DumpPdu:
    index: int
    offset: int
    length: int
    leaves: dict[tuple[str, ...], str] = field(default_factory=dict)


def parse_listing(path: Path) -> list[ListingLine]:
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = _LISTING.match(line)
        assert m, f"unparsed listing line {line!r}"
        g = m.groupdict()
        out.append(ListingLine(int(g["index"]), int(g["offset"]), int(g["length"]), g["liid"],
                               int(g["cin"]), int(g["seq"]), g["ts"], g["kind"], g["rest"]))
    return out


def parse_dump(path: Path) -> list[DumpPdu]:
    """libwandder's field dump: leaves keyed by their path below `pS-PDU` (containers,
    which have no value, are not leaves)."""
    pdus: list[DumpPdu] = []
    stack: list[str] = []
    for line in path.read_text().splitlines():
        head = re.match(r"=== PDU (\d+) offset (\d+) len (\d+)", line)
        if head:
            index, offset, length = (int(x) for x in head.groups())
            pdus.append(DumpPdu(index, offset, length))
            stack = []
            continue
        if not line.strip() or line.startswith("#") or _LISTING.match(line) or not pdus:
            continue
        indent = (len(line) - len(line.lstrip(" "))) // 2
        key, _, value = line.strip().partition(":")
        del stack[indent:]
        if line.rstrip().endswith(":") and not line.endswith(": "):
            stack.append(key)
        else:
            path_ = tuple(stack[1:]) + (key,)  # drop the "pS-PDU" root
            pdus[-1].leaves[path_] = value.strip()
    return pdus


def split_stream(data: bytes) -> list[tuple[int, bytes]]:
    splitter = RecordSplitter()
    splitter.receive_data(data)
    out = []
    while True:
        offset = splitter.offset
        record = splitter.next_record()
        if record is NEED_DATA:
            break
        assert isinstance(record, bytes)
        out.append((offset, record))
    assert splitter.buffered == 0
    return out


@pytest.fixture(scope="session")
def openli_dir() -> Path:
    if not (OPENLI_VECTORS / "hi2-NYPD.ber").exists():
        pytest.skip(f"OpenLI vectors not found at {OPENLI_VECTORS}")
    return OPENLI_VECTORS


@pytest.fixture(scope="session")
def hi2_stream(openli_dir: Path) -> bytes:
    return (openli_dir / "hi2-NYPD.ber").read_bytes()


@pytest.fixture(scope="session")
def hi3_stream(openli_dir: Path) -> bytes:
    return (openli_dir / "hi3-NYPD.ber").read_bytes()


@pytest.fixture(scope="session")
def hi2_records(hi2_stream: bytes) -> list[tuple[int, bytes]]:
    return split_stream(hi2_stream)


@pytest.fixture(scope="session")
def hi3_records(hi3_stream: bytes) -> list[tuple[int, bytes]]:
    return split_stream(hi3_stream)


@pytest.fixture(scope="session")
def all_records(hi2_records: list[tuple[int, bytes]], hi3_records: list[tuple[int, bytes]]) -> list[bytes]:
    return [r for _, r in hi2_records] + [r for _, r in hi3_records]
