"""Progress tracking: initiatives, progress_updates, owner_prefs, send_claims, digests,
audit_log, app_state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "initiatives",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("objective_ids", sa.JSON(), nullable=False),
        sa.Column("lead_of", sa.String(length=32), nullable=True),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("last_update_at", _utc(), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("last_percent", sa.Integer(), nullable=True),
        sa.Column("source_alignment_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('initiative', 'objective')", name=op.f("ck_initiatives_kind")),
        sa.CheckConstraint(
            "cadence IN ('weekly', 'fortnightly', 'monthly')", name=op.f("ck_initiatives_cadence")
        ),
        sa.CheckConstraint("status IN ('active', 'closed')", name=op.f("ck_initiatives_status")),
        sa.ForeignKeyConstraint(
            ["source_alignment_id"],
            ["alignments.id"],
            name=op.f("fk_initiatives_source_alignment_id_alignments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiatives")),
        sa.UniqueConstraint("lead_of", name=op.f("uq_initiatives_lead_of")),
    )
    op.create_index(op.f("ix_initiatives_owner_id_status"), "initiatives", ["owner_id", "status"])
    op.create_index(op.f("ix_initiatives_status"), "initiatives", ["status"])

    op.create_table(
        "progress_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("no_change", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "status IN ('on_track', 'at_risk', 'off_track', 'done')",
            name=op.f("ck_progress_updates_status"),
        ),
        sa.CheckConstraint(
            "percent IS NULL OR (percent >= 0 AND percent <= 100)",
            name=op.f("ck_progress_updates_percent"),
        ),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiatives.id"],
            name=op.f("fk_progress_updates_initiative_id_initiatives"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_updates")),
    )
    op.create_index(
        op.f("ix_progress_updates_initiative_id_created_at"),
        "progress_updates",
        ["initiative_id", "created_at"],
    )
    op.create_index(op.f("ix_progress_updates_created_at"), "progress_updates", ["created_at"])

    op.create_table(
        "owner_prefs",
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=True),
        sa.Column("tz_checked_at", _utc(), nullable=True),
        sa.Column("nudge_weekday", sa.Integer(), nullable=False),
        sa.Column("nudge_time", sa.String(length=5), nullable=False),
        sa.Column("snoozed_until", _utc(), nullable=True),
        sa.Column("leave_until", _utc(), nullable=True),
        sa.Column("dm_channel", sa.String(length=32), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "nudge_weekday >= 0 AND nudge_weekday <= 6", name=op.f("ck_owner_prefs_weekday")
        ),
        sa.PrimaryKeyConstraint("owner_id", name=op.f("pk_owner_prefs")),
    )

    op.create_table(
        "send_claims",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=False),
        sa.Column("lease_until", _utc(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "state IN ('claimed', 'sent', 'failed')", name=op.f("ck_send_claims_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_claims")),
        sa.UniqueConstraint(
            "kind", "subject", "period", name=op.f("uq_send_claims_kind_subject_period")
        ),
    )
    op.create_index(op.f("ix_send_claims_kind_state"), "send_claims", ["kind", "state"])
    op.create_index(op.f("ix_send_claims_kind_period"), "send_claims", ["kind", "period"])

    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("period_start", _utc(), nullable=False),
        sa.Column("period_end", _utc(), nullable=False),
        sa.Column("live_until", _utc(), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("file_id", sa.String(length=32), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("late_updates", sa.Integer(), nullable=False),
        sa.Column("posted_at", _utc(), nullable=False),
        sa.Column("refreshed_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("channel_id", "period", name=op.f("uq_digests_channel_id_period")),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_subject_at"), "audit_log", ["subject", "at"])
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])

    op.create_table(
        "app_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_state")),
    )


def downgrade() -> None:
    op.drop_table("app_state")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_subject_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("digests")
    op.drop_index(op.f("ix_send_claims_kind_period"), table_name="send_claims")
    op.drop_index(op.f("ix_send_claims_kind_state"), table_name="send_claims")
    op.drop_table("send_claims")
    op.drop_table("owner_prefs")
    op.drop_index(op.f("ix_progress_updates_created_at"), table_name="progress_updates")
    op.drop_index(
        op.f("ix_progress_updates_initiative_id_created_at"), table_name="progress_updates"
    )
    op.drop_table("progress_updates")
    op.drop_index(op.f("ix_initiatives_status"), table_name="initiatives")
    op.drop_index(op.f("ix_initiatives_owner_id_status"), table_name="initiatives")
    op.drop_table("initiatives")
