"""live monitoring minimization: the minimization log and the spot-check rule per case

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import calea.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_minimization",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("intercept_id", sa.String(length=36), nullable=True),
        sa.Column("liid", sa.String(length=64), nullable=False),
        sa.Column("cin", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("at", calea.db.types.UTCDateTime(), nullable=False),
        sa.Column("until", calea.db.types.UTCDateTime(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_minimization")),
    )
    with op.batch_alter_table("live_minimization", schema=None) as batch_op:
        batch_op.create_index("ix_live_minimization_key", ["liid", "cin", "at"], unique=False)
        batch_op.create_index("ix_live_minimization_case", ["case_id", "at"], unique=False)

    op.create_table(
        "live_rules",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("max_listen_seconds", sa.Integer(), nullable=False),
        sa.Column("min_gap_seconds", sa.Integer(), nullable=False),
        sa.Column("privileged_spot_checks", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("set_by", sa.String(length=36), nullable=False),
        sa.Column("set_at", calea.db.types.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_live_rules_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_live_rules")),
    )


def downgrade() -> None:
    op.drop_table("live_rules")
    with op.batch_alter_table("live_minimization", schema=None) as batch_op:
        batch_op.drop_index("ix_live_minimization_case")
        batch_op.drop_index("ix_live_minimization_key")
    op.drop_table("live_minimization")
