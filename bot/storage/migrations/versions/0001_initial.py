"""Initial schema: seen_events, exchanges, feedback, alignments.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "seen_events",
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("seen_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_seen_events")),
    )
    op.create_table(
        "exchanges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("reply_ts", sa.String(length=32), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("cited_ids", sa.JSON(), nullable=False),
        sa.Column("framework_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchanges")),
    )
    op.create_index(
        op.f("ix_exchanges_channel_id_thread_ts"), "exchanges", ["channel_id", "thread_ts"]
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name=op.f("fk_feedback_exchange_id_exchanges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("exchange_id", "user_id", name=op.f("uq_feedback_exchange_id_user_id")),
    )
    op.create_table(
        "alignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("suggested", sa.JSON(), nullable=False),
        sa.Column("final_ids", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("framework_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "status IN ('suggested', 'confirmed', 'corrected')", name=op.f("ck_alignments_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alignments")),
    )
    op.create_index(
        op.f("ix_alignments_user_id_created_at"), "alignments", ["user_id", "created_at"]
    )
    op.create_index(
        op.f("ix_alignments_framework_hash_status"), "alignments", ["framework_hash", "status"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_alignments_framework_hash_status"), table_name="alignments")
    op.drop_index(op.f("ix_alignments_user_id_created_at"), table_name="alignments")
    op.drop_table("alignments")
    op.drop_table("feedback")
    op.drop_index(op.f("ix_exchanges_channel_id_thread_ts"), table_name="exchanges")
    op.drop_table("exchanges")
    op.drop_table("seen_events")
