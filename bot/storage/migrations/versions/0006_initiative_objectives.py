"""Progress questions: the link table ``initiative_objectives`` (an initiative's objective
ids as rows, backfilled from ``initiatives.objective_ids``) and the indexes the queries of
``bot.storage.progress_queries`` use.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 00:00:00+00:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def _objective_ids(value: object) -> list[str]:
    """The stored JSON list (a string on SQLite, already a list from psycopg), without
    repeats, in order."""
    if isinstance(value, str | bytes):
        value = json.loads(value)
    if not isinstance(value, list):
        return []
    # As the store writes them (progress_store.link_objectives): at most 32 characters.
    return list(dict.fromkeys(str(item)[:32] for item in value if item is not None))


def upgrade() -> None:
    link = op.create_table(
        "initiative_objectives",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiatives.id"],
            name=op.f("fk_initiative_objectives_initiative_id_initiatives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "initiative_id", "objective_id", name=op.f("pk_initiative_objectives")
        ),
    )
    op.create_index(
        op.f("ix_initiative_objectives_objective_id_initiative_id"),
        "initiative_objectives",
        ["objective_id", "initiative_id"],
    )
    op.create_index(
        op.f("ix_initiatives_status_last_update_at"), "initiatives", ["status", "last_update_at"]
    )
    op.create_index(
        op.f("ix_initiatives_status_cadence_last_update_at"),
        "initiatives",
        ["status", "cadence", "last_update_at"],
    )

    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, objective_ids FROM initiatives ORDER BY id")
    ).all()
    batch: list[dict[str, object]] = []
    for initiative_id, objective_ids in rows:
        for objective_id in _objective_ids(objective_ids):
            batch.append({"initiative_id": initiative_id, "objective_id": objective_id})
        if len(batch) >= _BATCH:
            op.bulk_insert(link, batch)
            batch = []
    if batch:
        op.bulk_insert(link, batch)


def downgrade() -> None:
    op.drop_index(op.f("ix_initiatives_status_cadence_last_update_at"), table_name="initiatives")
    op.drop_index(op.f("ix_initiatives_status_last_update_at"), table_name="initiatives")
    op.drop_index(
        op.f("ix_initiative_objectives_objective_id_initiative_id"),
        table_name="initiative_objectives",
    )
    op.drop_table("initiative_objectives")
