"""ORM models of the bot's tables. The schema itself is created by the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ALIGNMENT_STATUSES: tuple[str, ...] = ("suggested", "confirmed", "corrected")


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that accepts only aware datetimes and returns UTC ones.

    SQLite keeps no offset, so values are normalised to UTC before they are written and
    naive values read back are UTC by construction."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SeenEvent(Base):
    """A Slack request received: deduplicates Slack's retries (``event_id``: the event id, or
    a key for a command or interaction) and, when ``body`` is set, keeps acknowledged work
    until it is done, so that a process that dies does not lose it (see
    :mod:`bot.storage.work_store`)."""

    __tablename__ = "seen_events"
    __table_args__ = (Index("ix_seen_events_done_at", "done_at"),)

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str | None] = mapped_column(String(100), nullable=True)
    body: Mapped[str | None] = mapped_column(Text(), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer(), default=0, server_default="0")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The message the reply is being streamed into, once it exists: work taken over after a
    # crash completes that message instead of posting another.
    reply_ts: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Exchange(Base):
    """A question answered by the bot."""

    __tablename__ = "exchanges"
    __table_args__ = (Index(None, "channel_id", "thread_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    reply_ts: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    answered: Mapped[bool] = mapped_column(Boolean)
    cited_ids: Mapped[list[str]] = mapped_column(JSON)
    framework_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Feedback(Base):
    """One user's helpful / not helpful vote on an exchange (a re-vote replaces it)."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("exchange_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Alignment(Base):
    """An /align run: the suggested objectives and, once decided, the final ones."""

    __tablename__ = "alignments"
    __table_args__ = (
        CheckConstraint("status IN ('suggested', 'confirmed', 'corrected')", name="status"),
        Index(None, "user_id", "created_at"),
        Index(None, "framework_hash", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    suggested: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    final_ids: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    framework_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When its owner (``user_id``) first shared it in a channel: its text is public from then
    # on and may be quoted to others; until then only its owner sees it.
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
