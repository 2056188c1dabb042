"""Tables of live monitoring and minimization (rule A2: 18 U.S.C. §2518(5), CPL 700.30(7)).

Added to the one schema's `metadata`; migration 0005.  Every row of `live_minimization` is
also a signed event in its case's Merkle log (`leaf_index`, rule D1) and an audit event
(C5); the table is the index from which the minimization book is rebuilt at start-up.
No content and no protected characteristic is stored here (rules A6, F2).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from calea.db.schema import ID, metadata
from calea.db.types import UTCDateTime

live_minimization = Table(
    "live_minimization", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("case_id", String(ID), nullable=False),
    Column("intercept_id", String(ID)),
    Column("liid", String(64), nullable=False),
    Column("cin", String(64), nullable=False),
    Column("action", String(32), nullable=False),  # minimized, spot-check-started/-stopped/-limit, pertinent, privileged
    Column("at", UTCDateTime(), nullable=False),
    Column("until", UTCDateTime()),  # a spot check's limit
    Column("category", String(16)),  # a privilege: attorney, clergy, physician, spouse
    Column("reason", Text),
    Column("user_id", String(ID)),  # None for "system" (a spot check ended at its limit)
    Column("username", String(64), nullable=False),
    Column("purpose", Text),
    Column("leaf_index", BigInteger),  # the signed store event in the case's log
    Index("ix_live_minimization_key", "liid", "cin", "at"),
    Index("ix_live_minimization_case", "case_id", "at"),
)

live_rules = Table(
    "live_rules", metadata,
    Column("case_id", String(ID), ForeignKey("cases.id"), primary_key=True),
    Column("max_listen_seconds", Integer, nullable=False),
    Column("min_gap_seconds", Integer, nullable=False),
    Column("privileged_spot_checks", Boolean, nullable=False, server_default="0"),
    Column("set_by", String(ID), nullable=False),
    Column("set_at", UTCDateTime(), nullable=False),
    Column("note", Text),
)
