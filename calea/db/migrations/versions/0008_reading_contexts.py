"""reading_contexts: a purpose stated in the console, kept server-side for its session (C5)

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from calea.db.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reading_contexts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("session_hash", sa.String(64), sa.ForeignKey("sessions.token_hash", ondelete="CASCADE"), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_reading_contexts_session_hash", "reading_contexts", ["session_hash"])


def downgrade() -> None:
    op.drop_index("ix_reading_contexts_session_hash", "reading_contexts")
    op.drop_table("reading_contexts")
