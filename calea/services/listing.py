"""Reading a case's index tables a page or a batch at a time, and writing them as CSV: the
calls, call events, flows and messages exports and the console's pagers share these.

* `page_offset`: where a page starts (clamped to the last page for the console's pager);
* `keyset_batches`: every row of a query in (time, id) order, one bounded query after the
  last row sent (an export never holds a table, nor offsets into it);
* `cell` / `csv_line`: RFC 4180 lines, times in ISO 8601 UTC, formula-looking text quoted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_

from calea.services.context import Services

BATCH = 500  # rows read per query while an export streams


def page_offset(offset: int, limit: int, total: int, clamp: bool) -> int:
    """The offset to read from: never negative; with `clamp`, an offset past the end reads
    the last page instead of nothing (the console's pager, for a page number out of range)."""
    offset = max(0, offset)
    if clamp and offset >= total:
        offset = max(0, (total - 1) // limit * limit)
    return offset


def keyset_batches(svc: Services, query: Select[Any], order: tuple[Any, Any],
                   size: int | None = None) -> Iterator[list[Any]]:
    """The rows of `query` in `order` (a time column, then the id), `size` (`BATCH`) at a
    time: each batch is one query after the last (time, id) sent, never an offset into everything."""
    size = size or BATCH
    last: tuple[Any, Any] | None = None
    while True:
        q = query
        if last is not None:
            q = q.where(or_(order[0] > last[0], and_(order[0] == last[0], order[1] > last[1])))
        with svc.db.read() as conn:
            rows = conn.execute(q.order_by(*order).limit(size)).mappings().all()
        if rows:
            yield list(rows)
        if len(rows) < size:
            return
        last = (rows[-1][order[0].name], rows[-1][order[1].name])


def cell(value: Any) -> str:
    """One CSV cell: times in ISO 8601 UTC; text that a spreadsheet would run as a formula
    (`=`, `@`, `+`/`-` not starting a number, tab, CR) is prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    text = str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not text[1:2].isdigit()):
        return "'" + text
    return text


def csv_line(values: list[Any]) -> str:
    """One CSV line (RFC 4180), each value a `cell`."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([cell(v) for v in values])
    return buf.getvalue()
