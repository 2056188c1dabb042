"""recordings audio: the index of stereo call recordings (issue 4, call audio)

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import calea.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("intercept_id", sa.String(length=36), nullable=False),
        sa.Column("liid", sa.String(length=64), nullable=False),
        sa.Column("cin", sa.String(length=64), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("started_at", calea.db.types.UTCDateTime(), nullable=False),
        sa.Column("ended_at", calea.db.types.UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("placement", sa.String(length=16), nullable=False),
        sa.Column("closed_by", sa.String(length=16), nullable=False),
        sa.Column("master_sha256", sa.String(length=64), nullable=False),
        sa.Column("master_size", sa.BigInteger(), nullable=False),
        sa.Column("rendition_sha256", sa.String(length=64), nullable=False),
        sa.Column("rendition_size", sa.BigInteger(), nullable=False),
        sa.Column("peaks_sha256", sa.String(length=64), nullable=False),
        sa.Column("peaks_size", sa.BigInteger(), nullable=False),
        sa.Column("markers", sa.JSON(), nullable=False),
        sa.Column("late", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("quarantined", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("event_leaf", sa.BigInteger(), nullable=False),
        sa.Column("created_at", calea.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index("ix_recordings_case_started", ["case_id", "started_at"], unique=False)
        batch_op.create_index("ix_recordings_key", ["liid", "cin", "part"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_key")
        batch_op.drop_index("ix_recordings_case_started")
    op.drop_table("recordings")
