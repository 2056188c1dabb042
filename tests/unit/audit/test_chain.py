"""Rule C5: the audit hash chain detects altered, removed and reordered rows."""

from __future__ import annotations

from datetime import datetime, timezone

from calea.audit.chain import GENESIS, event_hash, verify_chain

T = datetime(2026, 11, 1, tzinfo=timezone.utc)


def chain(n: int) -> list[dict[str, object]]:
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        row: dict[str, object] = {"seq": i, "at": T, "action": f"a{i}", "outcome": "allowed", "user_id": "u", "case_id": "c"}
        h = event_hash(prev, row)
        rows.append({**row, "prev_hash": prev, "hash": h})
        prev = h
    return rows


def test_intact_chain_verifies() -> None:
    rows = chain(5)
    assert verify_chain(rows, (5, rows[-1]["hash"])) == []  # type: ignore[arg-type]


def test_altered_row_named() -> None:
    rows = chain(5)
    rows[2] = {**rows[2], "action": "tampered"}
    problems = verify_chain(rows)
    assert [p.seq for p in problems] == [3]


def test_deleted_row_named() -> None:
    rows = chain(5)
    del rows[1]
    problems = verify_chain(rows)
    assert problems[0].seq == 2 and "missing" in problems[0].problem


def test_truncated_tail_detected_by_head() -> None:
    rows = chain(5)
    problems = verify_chain(rows[:4], (5, rows[-1]["hash"]))  # type: ignore[arg-type]
    assert problems and problems[0].seq == 5
