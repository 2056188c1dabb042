"""Column types shared by the schema."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


_SQLITE_FORMAT = SQLITE_DATETIME._storage_format  # "%(year)04d-%(month)02d-%(day)02d %(hour)02d:..."


class UTCDateTime(TypeDecorator[datetime]):
    """Instants in UTC: stored naive-UTC on every backend, read back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, the usual value (an aware UTC datetime) straight to SQLAlchemy's
        DATETIME text (`YYYY-MM-DD HH:MM:SS.ffffff`) in one C call: the index rows of the
        intake bind two per record.  Anything else goes the general way."""
        general = super().bind_processor(dialect)
        impl = self.impl_instance
        if general is None or not isinstance(impl, SQLITE_DATETIME) or impl._storage_format != _SQLITE_FORMAT:
            return general  # (not the SQLite dialect's own DATETIME text)
        utc = timezone.utc

        def process(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is utc:
                return value.replace(tzinfo=None).isoformat(" ", "microseconds")
            return general(value)

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
