"""streams.missing: the records a stream now misses, so that every stream with a gap is found
by an index, not among the most recent streams only (D1)

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("streams", sa.Column("missing", sa.BigInteger(), nullable=False, server_default="0"))
    conn = op.get_bind()
    streams = sa.table("streams", sa.column("liid"), sa.column("cin"), sa.column("channel"), sa.column("gaps"),
                       sa.column("missing"))
    for row in conn.execute(sa.select(streams.c.liid, streams.c.cin, streams.c.channel, streams.c.gaps)):
        gaps = json.loads(row.gaps) if isinstance(row.gaps, (str, bytes)) else row.gaps
        missing = sum(hi - lo + 1 for lo, hi in gaps or ())
        if missing:
            conn.execute(streams.update().where(streams.c.liid == row.liid, streams.c.cin == row.cin,
                                                streams.c.channel == row.channel).values(missing=missing))
    op.create_index("ix_streams_gapped", "streams", ["last_at"], sqlite_where=sa.text("missing > 0"),
                    postgresql_where=sa.text("missing > 0"))


def downgrade() -> None:
    op.drop_index("ix_streams_gapped", "streams")
    op.drop_column("streams", "missing")
