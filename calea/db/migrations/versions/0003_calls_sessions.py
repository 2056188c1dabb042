"""calls sessions: calls, call events and line sheets (calea.db.schema_calls)

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import calea.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_T = calea.db.types.UTCDateTime
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("intercept_id", sa.String(length=36), nullable=False),
        sa.Column("liid", sa.String(length=64), nullable=False),
        sa.Column("cin", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("collection", sa.String(length=16), nullable=False),
        sa.Column("calling", sa.String(length=255), nullable=True),
        sa.Column("called", sa.String(length=255), nullable=True),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("redirected_from", sa.String(length=255), nullable=True),
        sa.Column("redirected_to", sa.String(length=255), nullable=True),
        sa.Column("dialed", sa.String(length=255), nullable=True),
        sa.Column("started_at", _T(), nullable=False),
        sa.Column("ringing_at", _T(), nullable=True),
        sa.Column("answered_at", _T(), nullable=True),
        sa.Column("ended_at", _T(), nullable=True),
        sa.Column("ring_s", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("release_cause", sa.Integer(), nullable=True),
        sa.Column("released_by", sa.String(length=8), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("digits_before", sa.String(length=64), nullable=True),
        sa.Column("digits_after", sa.String(length=64), nullable=True),
        sa.Column("cc_cins", sa.JSON(), nullable=False),
        sa.Column("sip_call_id", sa.String(length=255), nullable=True),
        sa.Column("location", sa.JSON(), nullable=True),
        sa.Column("quarantined", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("late", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("suppressed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("first_leaf", sa.BigInteger(), nullable=True),
        sa.Column("last_leaf", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", _T(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_key", ["case_id", "liid", "cin"], unique=True)
        batch_op.create_index("ix_calls_case_start", ["case_id", "started_at"], unique=False)

    op.create_table(
        "call_events",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("at", _T(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=300), server_default="", nullable=False),
        sa.Column("party", sa.String(length=255), nullable=True),
        sa.Column("location", sa.JSON(), nullable=True),
        sa.Column("digits", sa.String(length=64), nullable=True),
        sa.Column("digits_kind", sa.String(length=20), nullable=True),
        sa.Column("suppressed", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("record_leaf", sa.BigInteger(), nullable=True),
        sa.Column("quarantined", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_call_events_call_id_calls"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_events")),
    )
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.create_index("ix_call_events_call", ["call_id", "at"], unique=False)
        batch_op.create_index("ix_call_events_case_at", ["case_id", "at"], unique=False)

    op.create_table(
        "line_sheets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=True),
        sa.Column("subject", sa.String(length=100), nullable=True),
        sa.Column("at", _T(), nullable=False),
        sa.Column("synopsis", sa.Text(), nullable=False),
        sa.Column("pertinence", sa.String(length=16), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=64), server_default="", nullable=False),
        sa.Column("monitor_id", sa.String(length=36), nullable=False),
        sa.Column("monitor_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", _T(), nullable=False),
        sa.Column("updated_at", _T(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=36), nullable=True),
        sa.Column("reviewed_at", _T(), nullable=True),
        sa.Column("signed_by", sa.String(length=36), nullable=True),
        sa.Column("signed_by_name", sa.String(length=200), nullable=True),
        sa.Column("signed_at", _T(), nullable=True),
        sa.Column("signed_sha256", sa.String(length=64), nullable=True),
        sa.Column("signed_leaf", sa.BigInteger(), nullable=True),
        sa.Column("quarantined", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_line_sheets_call_id_calls")),
        sa.ForeignKeyConstraint(["monitor_id"], ["users.id"], name=op.f("fk_line_sheets_monitor_id_users")),
        sa.ForeignKeyConstraint(["reviewed_by"], ["users.id"], name=op.f("fk_line_sheets_reviewed_by_users")),
        sa.ForeignKeyConstraint(["signed_by"], ["users.id"], name=op.f("fk_line_sheets_signed_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_sheets")),
    )
    with op.batch_alter_table("line_sheets", schema=None) as batch_op:
        batch_op.create_index("ix_line_sheets_case_at", ["case_id", "at"], unique=False)
        batch_op.create_index("ix_line_sheets_call", ["call_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("line_sheets", schema=None) as batch_op:
        batch_op.drop_index("ix_line_sheets_call")
        batch_op.drop_index("ix_line_sheets_case_at")
    op.drop_table("line_sheets")
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.drop_index("ix_call_events_case_at")
        batch_op.drop_index("ix_call_events_call")
    op.drop_table("call_events")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_case_start")
        batch_op.drop_index("ix_calls_key")
    op.drop_table("calls")
