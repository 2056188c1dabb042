"""What every handover codec hands to the gate: one `Delivery` per received record.

A delivery separates *call-identifying information* (`fields`: addressing, times, parties,
cell sites, event types -- what a PRTT order allows, rule A1) from *content* (`content`:
audio, message bodies, IP payloads, post-cut-through digits -- what only an eavesdropping
warrant allows, rules A2/A6).  The gate decides per delivery; under a PRTT-only authority
the store keeps `fields` and never `raw` or `content` when `content` is non-empty.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping


class Channel(str, enum.Enum):
    HI2 = "hi2"  # intercept-related information (IRI / call data)
    HI3 = "hi3"  # content of communication (CC)


class RecordKind(str, enum.Enum):
    IRI = "iri"
    CC = "cc"
    KEEPALIVE = "keepalive"
    KEEPALIVE_RESPONSE = "keepalive-response"
    INTEGRITY_CHECK = "integrity-check"
    OTHER = "other"  # padding, test PDUs: acknowledged, not stored


class ContentKind(str, enum.Enum):
    """Kinds of content (rule A6): never kept under a pen-register-only authority."""

    AUDIO = "audio"  # RTP / voice frames
    MESSAGE_BODY = "message-body"  # SMS text, SIP MESSAGE body
    MMS_PART = "mms-part"  # MMS text/attachments
    IP_PAYLOAD = "ip-payload"  # IP packets beyond headers
    POST_CUT_THROUGH_DIGITS = "post-cut-through-digits"  # digits dialled after connect


@dataclass(frozen=True, slots=True)
class ContentPart:
    kind: ContentKind
    data: bytes
    media_type: str = "application/octet-stream"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One decoded handover record.

    `raw` is the record exactly as received (byte-exact, for evidence and carrier
    integrity checks).  `fields` hold only call-identifying metadata, JSON-serialisable.
    """

    format: str  # "etsi-102232", "ts101671-hi2", "pcesp-cdc", "pcesp-ccc"
    channel: Channel
    kind: RecordKind
    liid: str
    intercepted_at: datetime | None  # the carrier's interception stamp, UTC (rule A8)
    raw: bytes
    cin: str | None = None  # communication identity number / call id / CCC id
    sequence: int | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    content: tuple[ContentPart, ...] = ()

    @property
    def has_content(self) -> bool:
        return bool(self.content)
