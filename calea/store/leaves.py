"""What each kind of stored item contributes to its case's Merkle log (rule D1), pure.

Every leaf's data starts with a domain tag so that items of different kinds can never
collide.  The data of a leaf is derivable from what the store keeps (index row, segment
bytes, content file), so `calea verify` recomputes every leaf and compares it with the log:

    iri       b"calea-iri-v1\\0"     + canonical JSON of the immutable index row (incl. raw_sha256)
    cc        b"calea-cc-v1\\0"      + the raw PS-PDU bytes as received
    content   b"calea-content-v1\\0" + canonical JSON {kind, sha256, size, media_type, name, record}
    event     b"calea-event-v1\\0"   + canonical JSON {kind, at, intercept_id, body}

Mutable state (quarantine, purge, export) is recorded as an *event* leaf; leaves of
earlier items are never rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import orjson

IRI_TAG = b"calea-iri-v1\x00"
CC_TAG = b"calea-cc-v1\x00"
CONTENT_TAG = b"calea-content-v1\x00"
EVENT_TAG = b"calea-event-v1\x00"

IRI_FIELDS = ("liid", "cin", "seq", "channel", "format", "kind", "intercepted_at", "received_at",
              "raw_sha256", "length", "event", "fields", "rule", "suppressed", "late")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not timezone.utc:
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            value = value.astimezone(timezone.utc)
        if value.year >= 1000:  # the same text as the strftime below, several times faster
            return value.isoformat(timespec="microseconds")[:-6] + "Z"
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not serialisable in a leaf: {type(value).__name__}")


_STR_KEYS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_OPTS = _STR_KEYS | orjson.OPT_NON_STR_KEYS


def canonical(obj: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, times as UTC ISO-8601 with a Z (stable across
    versions: the format of a leaf never changes once written)."""
    try:  # string keys only (nearly always): orjson's faster path, the same bytes
        return orjson.dumps(obj, option=_STR_KEYS, default=_default)
    except TypeError:  # a non-string key (or a value nothing can write: raised again below)
        return orjson.dumps(obj, option=_OPTS, default=_default)


def iri_leaf(row: Mapping[str, Any], times: dict[datetime, str] | None = None) -> bytes:
    """The leaf of an IRI index row.  `times`: a memo of instants already written as text
    (the writer's, per batch: the records of one read share their arrival time)."""
    values = [row.get(k) for k in IRI_FIELDS]
    if times is not None:
        values[6] = time_text(values[6], times)
        values[7] = time_text(values[7], times)
    return iri_leaf_values(*values)


def time_text(value: Any, times: dict[datetime, str]) -> Any:
    """A leaf's text of an instant, through the memo `times`; anything else unchanged."""
    if not isinstance(value, datetime):
        return value
    found = times.get(value)
    if found is None:
        found = times[value] = _default(value)
    return found


def iri_leaf_values(liid: Any, cin: Any, seq: Any, channel: Any, format: Any, kind: Any, intercepted_at: Any,
                    received_at: Any, raw_sha256: Any, length: Any, event: Any, fields: Any, rule: Any,
                    suppressed: Any, late: Any) -> bytes:
    """`iri_leaf` of a row with these values (`IRI_FIELDS`, in that order): the writer's hot
    path, which has them at hand and no row to look them up in."""
    return IRI_TAG + canonical({  # (written in sorted order: the canonical sort then finds nothing to move)
        "channel": channel, "cin": cin, "event": event, "fields": fields, "format": format,
        "intercepted_at": intercepted_at, "kind": kind, "late": late, "length": length, "liid": liid,
        "raw_sha256": raw_sha256, "received_at": received_at, "rule": rule, "seq": seq, "suppressed": suppressed})


def cc_leaf(raw: bytes) -> bytes:
    return CC_TAG + raw


def content_leaf(kind: str, sha256: str, size: int, media_type: str, name: str | None, record_leaf: int | None) -> bytes:
    return CONTENT_TAG + canonical({"kind": kind, "sha256": sha256, "size": size, "media_type": media_type,
                                    "name": name, "record": record_leaf})


def event_leaf(kind: str, at: datetime, intercept_id: str | None, body: Mapping[str, Any]) -> bytes:
    return EVENT_TAG + canonical({"kind": kind, "at": at, "intercept_id": intercept_id, "body": dict(body)})
