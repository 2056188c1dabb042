"""The web server's access log without query strings.

Console and API reads carry the stated purpose of a read (C5) and search terms (numbers,
names) in their query strings; an access log is kept and shipped with far less care than the
audit log that records them on purpose.  `QueryRedactor` removes everything after `?` from
uvicorn's access-log records: the log keeps method, path, status and client.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


def redact(target: str) -> str:
    """`/a/b?purpose=x` -> `/a/b?…` (the path kept; a query string marked, never shown)."""
    path, sep, _ = target.partition("?")
    return path + "?…" if sep else path


class QueryRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn: (client address, method, path with query, HTTP version, status)
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = args[:2] + (redact(args[2]),) + args[3:]
        return True


def install(logger_name: str = ACCESS_LOGGER) -> QueryRedactor:
    """Add the redactor to the access logger (idempotent)."""
    logger = logging.getLogger(logger_name)
    for f in logger.filters:
        if isinstance(f, QueryRedactor):
            return f
    found = QueryRedactor()
    logger.addFilter(found)
    return found
