"""ORM models of progress tracking: initiatives, updates, owner preferences, send claims,
digests and the audit trail. The schema is created by migration 0002."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, UTCDateTime
from .vocabulary import Cadence, UpdateStatus, sql_in


class Initiative(Base):
    """A tracked initiative, or (kind ``objective``) the accountable lead of one objective."""

    __tablename__ = "initiatives"
    __table_args__ = (
        CheckConstraint("kind IN ('initiative', 'objective')", name="kind"),
        # Made from the vocabulary: a new cadence also needs a migration that replaces it.
        CheckConstraint(sql_in("cadence", Cadence), name="cadence"),
        CheckConstraint("status IN ('active', 'closed')", name="status"),
        Index(None, "owner_id", "status"),
        Index(None, "status"),
        # The progress questions (bot.storage.progress_queries): silent since a date, and
        # overdue (per cadence, by the time of the last update).
        Index(None, "status", "last_update_at"),
        Index(None, "status", "cadence", "last_update_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(String(32))
    objective_ids: Mapped[list[str]] = mapped_column(JSON)
    # The objective an objective lead answers for: unique, so each objective has one lead.
    lead_of: Mapped[str | None] = mapped_column(String(32), unique=True)
    cadence: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_percent: Mapped[int | None] = mapped_column(Integer)
    source_alignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("alignments.id", ondelete="SET NULL")
    )


class InitiativeObjective(Base):
    """One objective an initiative serves: ``initiatives.objective_ids`` as rows, so that
    "initiatives of objective 2.3" is an index lookup. Written with ``objective_ids``
    (``progress_store.link_objectives``); made by migration 0006."""

    __tablename__ = "initiative_objectives"
    __table_args__ = (Index(None, "objective_id", "initiative_id"),)

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    objective_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class ProgressUpdate(Base):
    __tablename__ = "progress_updates"
    __table_args__ = (
        CheckConstraint(sql_in("status", UpdateStatus), name="status"),  # as cadence's
        CheckConstraint("percent IS NULL OR (percent >= 0 AND percent <= 100)", name="percent"),
        Index(None, "initiative_id", "created_at"),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    percent: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(64))
    no_change: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OwnerPref(Base):
    __tablename__ = "owner_prefs"
    __table_args__ = (CheckConstraint("nudge_weekday >= 0 AND nudge_weekday <= 6", name="weekday"),)

    owner_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tz: Mapped[str | None] = mapped_column(String(64))
    tz_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    nudge_weekday: Mapped[int] = mapped_column(Integer)
    nudge_time: Mapped[str] = mapped_column(String(5))  # "HH:MM", local
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    leave_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dm_channel: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SendClaim(Base):
    """One outgoing message claimed before it is sent: (kind, subject, period) is unique."""

    __tablename__ = "send_claims"
    __table_args__ = (
        UniqueConstraint("kind", "subject", "period"),
        CheckConstraint("state IN ('claimed', 'sent', 'failed')", name="state"),
        Index(None, "kind", "state"),
        Index(None, "kind", "period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    claimed_by: Mapped[str] = mapped_column(String(128))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Digest(Base):
    """A posted weekly digest; ``stale`` once an update arrived after it was rendered."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("channel_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    # Updates arriving after period_end and before live_until (the next digest) are late:
    # they make this digest stale, and refreshing it counts them.
    live_until: Mapped[datetime] = mapped_column(UTCDateTime())
    message_ts: Mapped[str | None] = mapped_column(String(32))
    file_id: Mapped[str | None] = mapped_column(String(32))
    stale: Mapped[bool] = mapped_column(Boolean)
    late_updates: Mapped[int] = mapped_column(Integer)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditLog(Base):
    """Who changed what, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "subject", "at"), Index(None, "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class AppState(Base):
    """Small facts the bot learns and keeps across restarts (e.g. Slack's allowed send rate)."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
