"""The text of a time inside a leaf (calea.store.leaves) never changes once written: UTC,
microseconds, a Z -- whatever the datetime's zone, and however it is produced."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from calea.store.leaves import canonical


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)),
       st.sampled_from([None, timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]))
@settings(max_examples=300, deadline=None)
def test_leaf_times_are_utc_with_microseconds_and_z(value: datetime, tz: timezone | None) -> None:
    value = value.replace(tzinfo=tz)
    utc = (value.replace(tzinfo=timezone.utc) if tz is None else value).astimezone(timezone.utc)
    assert canonical({"at": value}) == b'{"at":"' + utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode() + b'"}'
