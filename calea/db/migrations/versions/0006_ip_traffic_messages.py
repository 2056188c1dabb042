"""ip traffic messages: flow and message indexes, configured web addresses (calea.db.schema_ip)

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import calea.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_AUTO = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ip_flows",
        sa.Column("id", _AUTO, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("intercept_id", sa.String(length=36), nullable=False),
        sa.Column("liid", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("protocol", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("client_port", sa.Integer(), nullable=True),
        sa.Column("server", sa.String(length=64), nullable=False),
        sa.Column("server_port", sa.Integer(), nullable=True),
        sa.Column("target_side", sa.String(length=8), nullable=True),
        sa.Column("first_at", calea.db.types.UTCDateTime(), nullable=False),
        sa.Column("last_at", calea.db.types.UTCDateTime(), nullable=False),
        sa.Column("packets_up", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("bytes_up", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("packets_down", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("bytes_down", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("dns_queries", sa.JSON(), nullable=False),
        sa.Column("dns_answers", sa.JSON(), nullable=False),
        sa.Column("sni", sa.String(length=255), nullable=True),
        sa.Column("http_host", sa.String(length=255), nullable=True),
        sa.Column("quarantined", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_flows")),
    )
    with op.batch_alter_table("ip_flows", schema=None) as batch_op:
        batch_op.create_index("ix_ip_flows_case_time", ["case_id", "first_at"], unique=False)
        batch_op.create_index("ix_ip_flows_case_server", ["case_id", "server", "server_port"], unique=False)
        batch_op.create_index("ix_ip_flows_key", ["intercept_id", "protocol", "client", "client_port", "server",
                                                  "server_port"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", _AUTO, autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("intercept_id", sa.String(length=36), nullable=False),
        sa.Column("liid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", calea.db.types.UTCDateTime(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("counterparty", sa.String(length=255), nullable=False),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("correlation", sa.String(length=64), nullable=True),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("content_leaf", sa.BigInteger(), nullable=True),
        sa.Column("content_suppressed", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("event", sa.String(length=64), nullable=True),
        sa.Column("quarantined", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_case_thread", ["case_id", "counterparty", "at"], unique=False)
        batch_op.create_index("ix_messages_case_correlation", ["case_id", "correlation"], unique=False)

    op.create_table(
        "web_addresses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("added_by", sa.String(length=36), nullable=False),
        sa.Column("added_at", calea.db.types.UTCDateTime(), nullable=False),
        sa.Column("removed_at", calea.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_addresses")),
    )
    with op.batch_alter_table("web_addresses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_addresses_case_id"), ["case_id"], unique=False)

    op.create_table(
        "traffic_index_marks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_traffic_index_marks")),
    )


def downgrade() -> None:
    op.drop_table("traffic_index_marks")
    with op.batch_alter_table("web_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_addresses_case_id"))
    op.drop_table("web_addresses")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_case_correlation")
        batch_op.drop_index("ix_messages_case_thread")
    op.drop_table("messages")
    with op.batch_alter_table("ip_flows", schema=None) as batch_op:
        batch_op.drop_index("ix_ip_flows_key")
        batch_op.drop_index("ix_ip_flows_case_server")
        batch_op.drop_index("ix_ip_flows_case_time")
    op.drop_table("ip_flows")
