"""The one schema of calea (SQLAlchemy Core).  Alembic migrations are generated from it.

No table has a column for race, religion, national origin or any other protected
characteristic (rule F2); tests/unit/test_schema.py keeps it that way.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from calea.db.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 36


def _id() -> Column:  # type: ignore[type-arg]
    return Column("id", String(ID), primary_key=True)


users = Table(
    "users", metadata, _id(),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("unit", String(200), nullable=False),
    Column("agency", String(200), nullable=False, server_default=""),
    Column("password_hash", String(255), nullable=False),
    Column("totp_secret", String(64)),
    Column("totp_enrolled_at", UTCDateTime()),
    Column("totp_last_step", BigInteger),  # C4: a TOTP code is accepted once
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UTCDateTime()),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("can_grant", Boolean, nullable=False, server_default="1"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("offboarded_at", UTCDateTime()),
)

sessions = Table(
    "sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("user_agent", String(300), nullable=False, server_default=""),
    Column("mfa_ok", Boolean, nullable=False),
    Column("mfa_required", Boolean, nullable=False),
)

# A purpose stated in the console (C5), kept on the server for the browser session: the pages'
# links carry its opaque id, never the purpose itself (which would otherwise sit in the
# browser's history and in every log that records URLs).  Gone with the session.
reading_contexts = Table(
    "reading_contexts", metadata,
    Column("id", String(40), primary_key=True),
    Column("session_hash", String(64), ForeignKey("sessions.token_hash", ondelete="CASCADE"), nullable=False, index=True),
    Column("case_id", String(ID), nullable=False),
    Column("purpose", String(500), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

api_tokens = Table(
    "api_tokens", metadata, _id(),
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Column("last_used_at", UTCDateTime()),
)

cases = Table(
    "cases", metadata, _id(),
    Column("complaint_number", String(64), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("unit", String(200), nullable=False),
    Column("political_activity", Boolean, nullable=False),
    Column("opened_by", String(ID), ForeignKey("users.id"), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("approved_by", String(ID), ForeignKey("users.id")),
    Column("approved_at", UTCDateTime()),
    Column("approval_reasons", Text),
    Column("closed_at", UTCDateTime()),
)

documents = Table(
    "documents", metadata, _id(),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("sha256", String(64), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("description", String(300), nullable=False, server_default=""),
    Column("uploaded_by", String(ID), ForeignKey("users.id"), nullable=False),
    Column("uploaded_at", UTCDateTime(), nullable=False),
)

declarations = Table(
    "declarations", metadata, _id(),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("court_level", String(16), nullable=False),
    Column("findings", JSON, nullable=False),
    Column("declared_by", String(ID), ForeignKey("users.id"), nullable=False),
    Column("declared_at", UTCDateTime(), nullable=False),
    Column("approved_by", String(ID), ForeignKey("users.id")),
    Column("approved_at", UTCDateTime()),
    Column("first_use_at", UTCDateTime()),
)

authorities = Table(
    "authorities", metadata, _id(),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("court_level", String(16), nullable=False),
    Column("court", String(200), nullable=False),
    Column("judge", String(200), nullable=False),
    Column("docket", String(100), nullable=False),
    Column("offenses", JSON, nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("effective_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("identifiers", JSON, nullable=False),
    Column("parent_id", String(ID), ForeignKey("authorities.id")),
    Column("findings", Text, nullable=False, server_default=""),
    Column("document_id", String(ID), ForeignKey("documents.id")),
    Column("declaration_id", String(ID), ForeignKey("declarations.id")),
    Column("deadline_at", UTCDateTime()),
    Column("deadline_enforced_at", UTCDateTime()),
    Column("terminated_at", UTCDateTime()),
    Column("applicant", String(200), nullable=False, server_default=""),
    Column("progress_report_days", Integer),
    Column("created_by", String(ID), ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

carriers = Table(
    "carriers", metadata, _id(),
    Column("name", String(200), nullable=False, unique=True),
    Column("contact", Text, nullable=False, server_default=""),
    Column("formats", JSON, nullable=False),
    Column("addresses", JSON, nullable=False),
    Column("hi2_port", Integer),
    Column("hi3_port", Integer),
    Column("tls_client_cert", Text),
    Column("tls_fingerprint", String(64)),
    Column("created_at", UTCDateTime(), nullable=False),
)

intercepts = Table(
    "intercepts", metadata, _id(),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("carrier_id", String(ID), ForeignKey("carriers.id"), nullable=False),
    Column("liid", String(25), nullable=False, unique=True),
    Column("identifiers", JSON, nullable=False),
    Column("created_by", String(ID), ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("activated_at", UTCDateTime()),
    Column("activated_by", String(ID), ForeignKey("users.id")),
    Column("basis_authority_id", String(ID), ForeignKey("authorities.id")),
    Column("deactivated_at", UTCDateTime()),
    Column("quarantined_at", UTCDateTime()),
    Column("quarantine_reason", Text),
    Column("package_sha256", String(64)),
    Column("package_sent_at", UTCDateTime()),
    Column("package_acknowledged_at", UTCDateTime()),
)

grants = Table(
    "grants", metadata, _id(),
    Column("user_id", String(ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("case_id", String(ID), ForeignKey("cases.id"), nullable=False, index=True),
    Column("authority_id", String(ID), ForeignKey("authorities.id"), nullable=False),
    Column("granted_by", String(ID), ForeignKey("users.id"), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("court_order", Text),
    Column("revoked_at", UTCDateTime()),
    Column("revoked_reason", Text),
    Column("suspended_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
)

alerts = Table(
    "alerts", metadata, _id(),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("rule", String(8)),
    Column("case_id", String(ID)),
    Column("intercept_id", String(ID)),
    Column("message", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("acknowledged_by", String(ID)),
    Column("acknowledged_at", UTCDateTime()),
)

settings = Table(
    "settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
)

audit_events = Table(
    "audit_events", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("user_id", String(ID)),
    Column("username", String(64)),
    Column("role", String(32)),
    Column("ip", String(64)),
    Column("workstation", String(100)),
    Column("method", String(10)),
    Column("path", String(500)),
    Column("action", String(100), nullable=False),
    Column("case_id", String(ID)),
    Column("object_type", String(50)),
    Column("object_id", String(100)),
    Column("purpose", Text),
    Column("outcome", String(16), nullable=False),
    Column("status", Integer),
    Column("detail", Text),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    Index("ix_audit_case_at", "case_id", "at"),
    Index("ix_audit_user_at", "user_id", "at"),
)

audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
)


# --- the intake store (issue: carrier intake) ------------------------------------------
# Raw records live byte-exact in append-only segment files; these tables index them.  Every
# stored item is a leaf of its case's Merkle log (`leaf_index`); mutable state (quarantine,
# purge) is recorded as further signed events, never by rewriting a leaf's contents.

segments = Table(
    "segments", metadata, _id(),
    Column("case_id", String(ID), nullable=False, index=True),
    Column("path", String(500), nullable=False, unique=True),
    Column("channel", String(8), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("first_at", UTCDateTime()),
    Column("last_at", UTCDateTime()),
    Column("size", BigInteger, nullable=False, server_default="0"),
    Column("closed_at", UTCDateTime()),
    Column("exported_at", UTCDateTime()),
    Column("sealed_at", UTCDateTime()),
    Column("purged_at", UTCDateTime()),
)

iri_records = Table(
    "iri_records", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("case_id", String(ID), nullable=False),
    Column("intercept_id", String(ID), nullable=False),
    Column("liid", String(64), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("format", String(32), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("cin", String(64)),
    Column("seq", BigInteger),
    Column("intercepted_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("segment_id", String(ID)),
    Column("offset", BigInteger),
    Column("length", Integer),
    Column("raw_sha256", String(64)),
    Column("event", String(100)),
    Column("fields", JSON, nullable=False),
    Column("rule", String(8), nullable=False),
    Column("suppressed", Integer, nullable=False, server_default="0"),
    Column("late", Boolean, nullable=False, server_default="0"),
    Column("quarantined", Boolean, nullable=False, server_default="0"),
    Column("leaf_index", BigInteger, nullable=False),
    Index("ix_iri_case_time", "case_id", "intercepted_at"),
    Index("ix_iri_stream", "liid", "cin", "seq"),
    Index("ix_iri_case_leaf", "case_id", "leaf_index", unique=True),
)

cc_chunks = Table(
    "cc_chunks", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("case_id", String(ID), nullable=False),
    Column("intercept_id", String(ID), nullable=False),
    Column("liid", String(64), nullable=False),
    Column("cin", String(64)),
    Column("format", String(32), nullable=False),
    Column("segment_id", String(ID), nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("length", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_seq", BigInteger),
    Column("last_seq", BigInteger),
    Column("first_at", UTCDateTime(), nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("rule", String(8), nullable=False),
    Column("late", Boolean, nullable=False, server_default="0"),
    Column("quarantined", Boolean, nullable=False, server_default="0"),
    Column("leaf_start", BigInteger, nullable=False),
    Index("ix_cc_case_time", "case_id", "first_at"),
    Index("ix_cc_case_leaf", "case_id", "leaf_start", unique=True),
)

content_items = Table(
    "content_items", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("case_id", String(ID), nullable=False),
    Column("intercept_id", String(ID), nullable=False),
    Column("record_leaf", BigInteger),  # leaf index of the record it came from
    Column("kind", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("name", String(255)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("quarantined", Boolean, nullable=False, server_default="0"),
    Column("purged_at", UTCDateTime()),
    Column("leaf_index", BigInteger, nullable=False),
    Index("ix_content_case_leaf", "case_id", "leaf_index", unique=True),
)

store_events = Table(
    "store_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("case_id", String(ID), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("kind", String(32), nullable=False),  # suppression, quarantine, purge, gap, integrity
    Column("intercept_id", String(ID)),
    Column("body", JSON, nullable=False),
    Column("leaf_index", BigInteger, nullable=False),
    Index("ix_store_events_case_leaf", "case_id", "leaf_index", unique=True),
)

refusals = Table(
    "refusals", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("liid", String(64)),
    Column("channel", String(8)),
    Column("format", String(32)),
    Column("cin", String(64)),
    Column("seq", BigInteger),
    Column("intercepted_at", UTCDateTime()),
    Column("rule", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("peer", String(100)),
)

malformed = Table(
    "malformed", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("peer", String(100)),
    Column("channel", String(8)),
    Column("format", String(32)),
    Column("reason", String(100), nullable=False),
    Column("message", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
)

streams = Table(
    "streams", metadata,
    Column("liid", String(64), primary_key=True),
    Column("cin", String(64), primary_key=True),
    Column("channel", String(8), primary_key=True),
    Column("max_seq", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False),
    Column("duplicates", BigInteger, nullable=False),
    Column("gaps", JSON, nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
    # records now missing (the sum of the gaps' lengths): the streams with gaps, indexed alone
    Column("missing", BigInteger, nullable=False, server_default="0"),
    Index("ix_streams_gapped", "last_at", sqlite_where=text("missing > 0"), postgresql_where=text("missing > 0")),
)

tree_heads = Table(
    "tree_heads", metadata,
    Column("case_id", String(ID), primary_key=True),
    Column("size", BigInteger, primary_key=True),
    Column("root", String(64), nullable=False),
    Column("checkpoint", Text, nullable=False),
    Column("signed_at", UTCDateTime(), nullable=False),
)

legal_holds = Table(
    "legal_holds", metadata, _id(),
    Column("case_id", String(ID), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("placed_by", String(ID), nullable=False),
    Column("placed_at", UTCDateTime(), nullable=False),
    Column("released_at", UTCDateTime()),
)


# Tables of the sessions work live in their own modules on the same metadata.
import calea.db.schema_calls  # noqa: E402,F401
import calea.db.schema_ip  # noqa: E402,F401
import calea.db.schema_live  # noqa: E402,F401
import calea.db.schema_recordings  # noqa: E402,F401
