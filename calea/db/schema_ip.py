"""Tables of IP traffic and messages (issue 4): indexes derived from the stored records,
and the web addresses the technical unit configures for visitor reports.

Derived tables (`ip_flows`, `messages`) are caches of what the signed records say: they
hold no evidence of their own, are rebuilt from the store (`calea.services.traffic_index`)
and are therefore not leaves of the case's Merkle log (rule D1 covers the records they
come from).  `web_addresses` is configuration, audited like every change (C5).
No column for a protected characteristic (rule F2).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from calea.db.schema import ID, metadata
from calea.db.types import UTCDateTime

_AUTO = BigInteger().with_variant(Integer, "sqlite")

ip_flows = Table(
    "ip_flows", metadata,
    Column("id", _AUTO, primary_key=True, autoincrement=True),
    Column("case_id", String(ID), nullable=False),
    Column("intercept_id", String(ID), nullable=False),
    Column("liid", String(64), nullable=False),
    Column("source", String(8), nullable=False),  # "cc": kept packets (A2) | "header": header records (A1)
    Column("protocol", Integer, nullable=False),
    Column("client", String(64), nullable=False),
    Column("client_port", Integer),
    Column("server", String(64), nullable=False),
    Column("server_port", Integer),
    Column("target_side", String(8)),
    Column("first_at", UTCDateTime(), nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
    Column("packets_up", BigInteger, nullable=False, server_default="0"),
    Column("bytes_up", BigInteger, nullable=False, server_default="0"),
    Column("packets_down", BigInteger, nullable=False, server_default="0"),
    Column("bytes_down", BigInteger, nullable=False, server_default="0"),
    Column("dns_queries", JSON, nullable=False),
    Column("dns_answers", JSON, nullable=False),
    Column("sni", String(255)),
    Column("http_host", String(255)),
    Column("quarantined", Boolean, nullable=False, server_default="0"),
    Index("ix_ip_flows_case_time", "case_id", "first_at"),
    Index("ix_ip_flows_case_server", "case_id", "server", "server_port"),
    Index("ix_ip_flows_key", "intercept_id", "protocol", "client", "client_port", "server", "server_port"),
)

messages = Table(
    "messages", metadata,
    Column("id", _AUTO, primary_key=True, autoincrement=True),
    Column("case_id", String(ID), nullable=False),
    Column("intercept_id", String(ID), nullable=False),
    Column("liid", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # sms | sip-message | mms
    Column("at", UTCDateTime(), nullable=False),
    Column("direction", String(8), nullable=False),  # out (from the target) | in | unknown
    Column("target", String(255)),
    Column("counterparty", String(255), nullable=False),  # the thread: the other party (or parties)
    Column("parties", JSON, nullable=False),  # {"from": [...], "to": [...], "cc": [...], "bcc": [...]}
    Column("correlation", String(64)),  # MMS correlation number: joins the HI2 report and the HI3 PDU
    Column("record_id", BigInteger, nullable=False),  # iri_records.id of the addressing record
    Column("content_leaf", BigInteger),  # leaf_index of the record whose content items are the parts
    Column("content_suppressed", Boolean, nullable=False, server_default="0"),  # A6: body dropped under PRTT
    Column("event", String(64)),
    Column("quarantined", Boolean, nullable=False, server_default="0"),
    Index("ix_messages_case_thread", "case_id", "counterparty", "at"),
    Index("ix_messages_case_correlation", "case_id", "correlation"),
)

web_addresses = Table(
    "web_addresses", metadata,
    Column("id", String(ID), primary_key=True),
    Column("case_id", String(ID), nullable=False, index=True),
    Column("host", String(255), nullable=False),
    Column("address", String(64), nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("added_by", String(ID), nullable=False),
    Column("added_at", UTCDateTime(), nullable=False),
    Column("removed_at", UTCDateTime()),
)

traffic_index_marks = Table(
    "traffic_index_marks", metadata,
    Column("name", String(64), primary_key=True),  # "cc": cc_chunks.id; "iri": iri_records.id
    Column("last_id", BigInteger, nullable=False),
)
