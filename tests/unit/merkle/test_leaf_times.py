"""The text of a time inside a leaf (calea.store.leaves) never changes once written: UTC,
microseconds, a Z -- whatever the datetime's zone, and however it is produced (afresh or
from the writer's per-batch memo); canonical JSON is the same bytes on its fast path (string
keys) as on its general one (rule D1: `calea verify` recomputes leaves from stored rows)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from calea.store import leaves
from calea.store.leaves import canonical


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)),
       st.sampled_from([None, timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]))
@settings(max_examples=300, deadline=None)
def test_leaf_times_are_utc_with_microseconds_and_z(value: datetime, tz: timezone | None) -> None:
    value = value.replace(tzinfo=tz)
    utc = (value.replace(tzinfo=timezone.utc) if tz is None else value).astimezone(timezone.utc)
    assert canonical({"at": value}) == b'{"at":"' + utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode() + b'"}'


_json = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
                     max_leaves=20)


@given(_json)
@settings(max_examples=300, deadline=None)
def test_the_fast_path_writes_what_the_general_one_writes(value: object) -> None:
    assert canonical(value) == orjson.dumps(value, option=leaves._OPTS, default=leaves._default)


def test_non_string_keys_take_the_general_path() -> None:
    assert canonical({2: "b", 1: {"z": 1, "a": 2}}) == b'{"1":{"a":2,"z":1},"2":"b"}'


T2 = datetime(2026, 11, 27, 12, 0, 0, 5, tzinfo=timezone.utc)


def _row(i: int) -> dict[str, object]:
    return dict(liid="LI-1", cin="7", seq=i, channel="hi2", format="etsi-102232", kind="iri",
                intercepted_at=T2 + timedelta(milliseconds=i), received_at=T2 + timedelta(seconds=1),
                raw_sha256="ab" * 32, length=10, event="begin", fields=orjson.Fragment(b'{"a":1}'), rule="A1",
                suppressed=0, late=False)


def test_memo_gives_the_same_leaf() -> None:
    memo: dict[datetime, str] = {}
    for i in range(3):
        assert leaves.iri_leaf(_row(i), memo) == leaves.iri_leaf(_row(i))
    assert len(memo) == 4  # three interception times, one shared arrival time
    assert memo[T2 + timedelta(seconds=1)] == "2026-11-27T12:00:01.000005Z"


def test_memo_leaves_a_missing_time_alone() -> None:
    row = _row(0) | {"intercepted_at": None}
    assert leaves.iri_leaf(row, {}) == leaves.iri_leaf(row)


def test_the_writers_leaf_is_the_leaf_verify_recomputes_from_the_row() -> None:
    """D1: the writer builds an IRI leaf from its values (`iri_leaf_values`), `calea verify`
    from the stored row (`iri_leaf`): the parameters are IRI_FIELDS, in order, and the bytes agree."""
    import inspect

    assert tuple(inspect.signature(leaves.iri_leaf_values).parameters) == leaves.IRI_FIELDS
    times: dict[datetime, str] = {}
    for i in range(3):
        row = _row(i)
        values = [row[k] for k in leaves.IRI_FIELDS]
        values[6], values[7] = leaves.time_text(values[6], times), leaves.time_text(values[7], times)
        assert leaves.iri_leaf_values(*values) == leaves.iri_leaf(row) == leaves.iri_leaf(row, times)
    assert len(times) == 4  # three interception instants, one arrival shared
