"""UTCDateTime's SQLite shortcut writes exactly the text SQLAlchemy's own bind processing
writes (stored instants are compared as text by SQLite: one format, always)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from calea.db.types import UTCDateTime

_SQLITE = sqlite.dialect()


def _processor(dialect):  # type: ignore[no-untyped-def]
    return UTCDateTime().dialect_impl(dialect).bind_processor(dialect)  # as SQLAlchemy calls it


def _general(value: object) -> object:
    return TypeDecorator.bind_processor(UTCDateTime().dialect_impl(_SQLITE), _SQLITE)(value)  # type: ignore[misc]


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
       st.sampled_from([None, timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]))
@settings(max_examples=500, deadline=None)
def test_the_shortcut_writes_what_sqlalchemy_writes(value: datetime, tz: timezone | None) -> None:
    value = value.replace(tzinfo=tz)
    got = _processor(_SQLITE)(value)
    assert got == _general(value)
    if tz is not None:
        assert len(got) == 26 and got[10] == " " and got[19] == "."  # YYYY-MM-DD HH:MM:SS.ffffff


def test_none_and_other_backends() -> None:
    assert "UTCDateTime.bind_processor" in _processor(_SQLITE).__qualname__  # the shortcut is in use
    assert _processor(_SQLITE)(None) is None
    assert _processor(_SQLITE)(datetime(2026, 11, 28, 4, 0, tzinfo=timezone.utc)) == "2026-11-28 04:00:00.000000"
    pg = _processor(postgresql.psycopg.dialect())
    assert pg is None or pg(datetime(2026, 11, 28, tzinfo=timezone.utc)) == datetime(2026, 11, 28)
