"""Hash chain of audit events (rule C5), pure.

Each event's hash is SHA-256 over the previous event's hash and a canonical JSON encoding
of the event's fields (sorted keys, UTC ISO-8601 times, no whitespace).  Sequence numbers
run from 1 without gaps, so a deleted row is as visible as an altered one.  The first
event chains from 32 zero bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

GENESIS = bytes(32)

FIELDS = (
    "seq", "at", "user_id", "username", "role", "ip", "workstation", "method", "path", "action",
    "case_id", "object_type", "object_id", "purpose", "outcome", "status", "detail",
)


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical(event: Mapping[str, Any]) -> bytes:
    body = {name: _norm(event.get(name)) for name in FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(prev_hash: bytes, event: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(b"calea-audit-v1\x00" + prev_hash + canonical(event)).digest()


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit row seq={self.seq}: {self.problem}"


def verify_chain(rows: Iterable[Mapping[str, Any]], head: tuple[int, bytes] | None = None) -> list[ChainProblem]:
    """Recompute the chain over rows in seq order; name every row that does not match."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    expected_seq = 1
    last_seq = 0
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            problems.append(ChainProblem(expected_seq, f"missing (next row present is seq={seq})"))
        if bytes(row["prev_hash"]) != prev:
            problems.append(ChainProblem(seq, "prev_hash does not link to the row before"))
        computed = event_hash(bytes(row["prev_hash"]), row)
        if computed != bytes(row["hash"]):
            problems.append(ChainProblem(seq, "contents altered (hash does not match)"))
        prev = bytes(row["hash"])
        expected_seq = seq + 1
        last_seq = seq
    if head is not None:
        head_seq, head_hash = head
        if head_seq != last_seq:
            problems.append(ChainProblem(head_seq, f"the chain head records {head_seq} events, {last_seq} found (rows removed at the end)"))
        elif head_hash != prev:
            problems.append(ChainProblem(head_seq, "the chain head hash does not match the last row"))
    return problems
