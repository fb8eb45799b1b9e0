"""A request remembers the message its reply is being streamed into.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("seen_events") as batch:
        batch.add_column(sa.Column("reply_ts", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("seen_events") as batch:
        batch.drop_column("reply_ts")
