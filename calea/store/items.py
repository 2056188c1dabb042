"""What the intake hands the store: one `StoreItem` per accepted delivery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from calea.handover.model import ContentPart


NO_FIELDS: Mapping[str, Any] = MappingProxyType({})  # shared by the CC items, which carry no fields


@dataclass(slots=True)
class StoreItem:
    case_id: str
    intercept_id: str
    liid: str
    channel: str  # "hi2" | "hi3"
    format: str
    kind: str  # "iri" | "cc" | "integrity-check"
    cin: str | None
    seq: int | None
    intercepted_at: datetime
    received_at: datetime
    raw: bytes | None  # None when the record held content the authority does not allow (A6)
    rule: str
    late: bool = False
    quarantined: bool = False
    event: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    content: tuple[ContentPart, ...] = ()
    suppressed: tuple[str, ...] = ()  # kinds of content dropped under a PRTT order (A6)


@dataclass(slots=True)
class Refusal:
    at: datetime
    liid: str | None
    channel: str
    format: str
    cin: str | None
    seq: int | None
    intercepted_at: datetime | None
    rule: str
    reason: str
    peer: str | None


@dataclass(slots=True)
class Malformed:
    at: datetime
    peer: str | None
    channel: str
    format: str
    reason: str
    message: str
    data: bytes
