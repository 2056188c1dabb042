"""Tables of calls and line sheets (issue 4), on the one `metadata` of `calea.db.schema`.

Derived from the intake store: `calls` and `call_events` are rebuilt from `iri_records`
(and the call content's RFC 4733 digits) at any time (`calea.sessions.calls_store.rebuild_calls`), so they carry no evidence of their
own -- each event names the leaf of the record it comes from (D1).  A call built from
quarantined records is quarantined (B3).  `line_sheets` are what monitors write about a
call and supervisors sign; a sign-off is also a signed store event in the case's log.
No column for a protected characteristic (F2).

Migration: `calea/db/migrations/versions/0003_calls_sessions.py`.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from calea.db.schema import ID, metadata
from calea.db.types import UTCDateTime

calls = Table(
    "calls", metadata,
    Column("id", String(ID), primary_key=True),
    Column("case_id", String(ID), nullable=False),
    Column("intercept_id", String(ID), nullable=False),
    Column("liid", String(64), nullable=False),
    Column("cin", String(64), nullable=False),
    Column("format", String(32), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("collection", String(16), nullable=False),  # pen-register | trap-and-trace (A1)
    Column("calling", String(255)),
    Column("called", String(255)),
    Column("target", String(255)),
    Column("redirected_from", String(255)),
    Column("redirected_to", String(255)),
    Column("dialed", String(255)),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ringing_at", UTCDateTime()),
    Column("answered_at", UTCDateTime()),
    Column("ended_at", UTCDateTime()),
    Column("ring_s", Float),
    Column("duration_s", Float),
    Column("outcome", String(16)),
    Column("release_cause", Integer),
    Column("released_by", String(8)),
    Column("state", String(16), nullable=False),
    Column("digits_before", String(64)),  # dialling: call-identifying (A1)
    Column("digits_after", String(64)),  # post-cut-through: content, only under a warrant (A6)
    Column("cc_cins", JSON, nullable=False),
    Column("sip_call_id", String(255)),
    Column("location", JSON),
    Column("quarantined", Boolean, nullable=False, server_default="0"),
    Column("late", Boolean, nullable=False, server_default="0"),
    Column("suppressed", Integer, nullable=False, server_default="0"),
    Column("records", Integer, nullable=False),
    Column("first_leaf", BigInteger),
    Column("last_leaf", BigInteger),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_calls_key", "case_id", "liid", "cin", unique=True),
    Index("ix_calls_case_start", "case_id", "started_at"),
)

call_events = Table(
    "call_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("call_id", String(ID), ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    Column("case_id", String(ID), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("name", String(32), nullable=False),
    Column("detail", String(300), nullable=False, server_default=""),
    Column("party", String(255)),
    Column("location", JSON),
    Column("digits", String(64)),
    Column("digits_kind", String(20)),  # dialing | post-cut-through
    Column("suppressed", Boolean, nullable=False, server_default="0"),
    Column("record_leaf", BigInteger),
    Column("quarantined", Boolean, nullable=False, server_default="0"),
    Index("ix_call_events_call", "call_id", "at"),
    Index("ix_call_events_case_at", "case_id", "at"),
)

line_sheets = Table(
    "line_sheets", metadata,
    Column("id", String(ID), primary_key=True),
    Column("case_id", String(ID), nullable=False),
    Column("call_id", String(ID), ForeignKey("calls.id")),
    Column("subject", String(100)),  # what else it is about when not a call (e.g. "message:<id>")
    Column("at", UTCDateTime(), nullable=False),  # when the communication started
    Column("synopsis", Text, nullable=False),
    Column("pertinence", String(16), nullable=False),  # pertinent | non-pertinent | privileged
    Column("participants", JSON, nullable=False),
    Column("language", String(64), nullable=False, server_default=""),
    Column("monitor_id", String(ID), ForeignKey("users.id"), nullable=False),
    Column("monitor_name", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("status", String(16), nullable=False),  # draft | returned | signed
    Column("review_note", Text),
    Column("reviewed_by", String(ID), ForeignKey("users.id")),
    Column("reviewed_at", UTCDateTime()),
    Column("signed_by", String(ID), ForeignKey("users.id")),
    Column("signed_by_name", String(200)),
    Column("signed_at", UTCDateTime()),
    Column("signed_sha256", String(64)),
    Column("signed_leaf", BigInteger),  # leaf of the sign-off store event in the case's log (D1)
    Column("quarantined", Boolean, nullable=False, server_default="0"),
    Index("ix_line_sheets_case_at", "case_id", "at"),
    Index("ix_line_sheets_call", "call_id"),
)
