"""Call recordings (issue 4, call audio): one row per stereo recording of a communication.

The audio itself is in the content store (master FLAC, Opus rendition, waveform peaks),
each file a `content_items` row and a leaf of the case's Merkle log, and the recording's
metadata is a signed `recording` store event (rule D1).  This table is the index the API
reads.  A recording exists only for content kept under an eavesdropping authority (A2);
none is ever made under a PRTT order (A6).  Imported by `calea.db.schema`'s users through
`import calea.db.schema_recordings`, so that `metadata` knows the table.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, Table

from calea.db.schema import ID, metadata
from calea.db.types import UTCDateTime

recordings = Table(
    "recordings", metadata,
    Column("id", String(ID), primary_key=True),
    Column("case_id", String(ID), nullable=False),
    Column("intercept_id", String(ID), nullable=False),
    Column("liid", String(64), nullable=False),
    Column("cin", String(64), nullable=False),
    Column("part", Integer, nullable=False),  # 1, then 2... when media resumes after the recording was closed
    Column("format", String(32), nullable=False),  # the handover format of the CC it was made from
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=False),
    Column("duration_ms", BigInteger, nullable=False),
    Column("sample_rate", Integer, nullable=False),
    Column("placement", String(16), nullable=False),  # sdp | label | guessed (how the target's channel was chosen)
    Column("closed_by", String(16), nullable=False),  # call-end | idle | shutdown | rebuild
    Column("master_sha256", String(64), nullable=False),
    Column("master_size", BigInteger, nullable=False),
    Column("rendition_sha256", String(64), nullable=False),
    Column("rendition_size", BigInteger, nullable=False),
    Column("peaks_sha256", String(64), nullable=False),
    Column("peaks_size", BigInteger, nullable=False),
    Column("markers", JSON, nullable=False),  # minimized intervals, digits, streams, counts
    Column("late", Boolean, nullable=False, server_default="0"),
    Column("quarantined", Boolean, nullable=False, server_default="0"),
    Column("event_leaf", BigInteger, nullable=False),  # leaf of the signed `recording` store event
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_recordings_case_started", "case_id", "started_at"),
    Index("ix_recordings_key", "liid", "cin", "part", unique=True),
)
