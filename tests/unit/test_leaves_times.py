"""An IRI leaf is the same bytes whether its instants are written afresh or taken from the
writer's per-batch memo (rule D1: `calea verify` recomputes leaves from the stored row)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson

from calea.store import leaves

T = datetime(2026, 11, 27, 12, 0, 0, 5, tzinfo=timezone.utc)


def _row(i: int) -> dict[str, object]:
    return dict(liid="LI-1", cin="7", seq=i, channel="hi2", format="etsi-102232", kind="iri",
                intercepted_at=T + timedelta(milliseconds=i), received_at=T + timedelta(seconds=1),
                raw_sha256="ab" * 32, length=10, event="begin", fields=orjson.Fragment(b'{"a":1}'), rule="A1",
                suppressed=0, late=False)


def test_memo_gives_the_same_leaf() -> None:
    memo: dict[datetime, str] = {}
    for i in range(3):
        assert leaves.iri_leaf(_row(i), memo) == leaves.iri_leaf(_row(i))
    assert len(memo) == 4  # three interception times, one shared arrival time
    assert memo[T + timedelta(seconds=1)] == "2026-11-27T12:00:01.000005Z"


def test_memo_leaves_a_missing_time_alone() -> None:
    row = _row(0) | {"intercepted_at": None}
    assert leaves.iri_leaf(row, {}) == leaves.iri_leaf(row)
