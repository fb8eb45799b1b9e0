"""Acknowledged work kept until done: seen_events gains the request body and its state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("seen_events") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("done_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_seen_events_done_at"), "seen_events", ["done_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_seen_events_done_at"), table_name="seen_events")
    with op.batch_alter_table("seen_events") as batch:
        for column in ("done_at", "attempts", "lease_until", "owner", "body", "kind"):
            batch.drop_column(column)
