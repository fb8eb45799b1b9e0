"""Questions answered in Slack (exchanges) and the votes on them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError

from .db import Database, dialect_insert
from .db import aware_utc as _now
from .models import Exchange, Feedback
from .records import ExchangeRecord, FeedbackRow, UnknownRecord


def _exchange_record(row: Exchange) -> ExchangeRecord:
    return ExchangeRecord(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        thread_ts=row.thread_ts,
        reply_ts=row.reply_ts,
        user_id=row.user_id,
        question=row.question,
        answer=row.answer,
        answered=row.answered,
        cited_ids=tuple(row.cited_ids or ()),
        framework_hash=row.framework_hash,
        created_at=row.created_at,
    )


class ExchangeStore:
    """Exchanges and votes over one :class:`Database`. Timestamps are aware UTC; methods
    that write one take ``now`` (default: the current time)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record_exchange(
        self,
        *,
        channel_id: str,
        thread_ts: str | None,
        user_id: str,
        question: str,
        answer: str,
        answered: bool,
        cited_ids: Sequence[str],
        framework_hash: str,
        team_id: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Store an answered question; return its id."""
        row = Exchange(
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            user_id=user_id,
            question=question,
            answer=answer,
            answered=answered,
            cited_ids=list(cited_ids),
            framework_hash=framework_hash,
            created_at=_now(now),
        )
        with self.database.session() as session:
            session.add(row)
            session.flush()
            return row.id

    def set_reply_ts(self, exchange_id: int, reply_ts: str) -> None:
        """Remember the ts of the bot's reply message for an exchange."""
        with self.database.session() as session:
            result = session.execute(
                update(Exchange).where(Exchange.id == exchange_id).values(reply_ts=reply_ts)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise UnknownRecord(f"no exchange with id {exchange_id}")

    def exchange(self, exchange_id: int) -> ExchangeRecord | None:
        with self.database.session(write=False) as session:
            row = session.get(Exchange, exchange_id)
            return None if row is None else _exchange_record(row)

    def thread_exchanges(self, channel_id: str, thread_ts: str) -> list[ExchangeRecord]:
        """The exchanges of one thread, oldest first."""
        with self.database.session(write=False) as session:
            rows = session.scalars(
                select(Exchange)
                .where(Exchange.channel_id == channel_id, Exchange.thread_ts == thread_ts)
                .order_by(Exchange.created_at, Exchange.id)
            )
            return [_exchange_record(row) for row in rows]

    def recent_exchanges(
        self, channel_id: str, *, since: datetime, limit: int = 5
    ) -> list[ExchangeRecord]:
        """The latest top-level exchanges (outside threads) of a channel since ``since``,
        oldest first: a DM's conversation."""
        with self.database.session(write=False) as session:
            rows = list(
                session.scalars(
                    select(Exchange)
                    .where(
                        Exchange.channel_id == channel_id,
                        Exchange.thread_ts.is_(None),
                        Exchange.created_at >= _now(since),
                    )
                    .order_by(Exchange.created_at.desc(), Exchange.id.desc())
                    .limit(limit)
                )
            )
            return [_exchange_record(row) for row in reversed(rows)]

    def record_vote(
        self, exchange_id: int, user_id: str, helpful: bool, *, now: datetime | None = None
    ) -> None:
        """Record ``user_id``'s vote on an exchange, replacing their earlier vote on it."""
        at = _now(now)
        try:
            with self.database.session() as session:
                stmt = dialect_insert(session, Feedback).values(
                    exchange_id=exchange_id,
                    user_id=user_id,
                    helpful=helpful,
                    created_at=at,
                    updated_at=at,
                )
                stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                    index_elements=["exchange_id", "user_id"],
                    set_={
                        "helpful": stmt.excluded.helpful,  # type: ignore[attr-defined]
                        "updated_at": stmt.excluded.updated_at,  # type: ignore[attr-defined]
                    },
                )
                session.execute(stmt)
        except IntegrityError as exc:  # the foreign key: no such exchange
            raise UnknownRecord(f"no exchange with id {exchange_id}") from exc

    def feedback_rows(self) -> list[FeedbackRow]:
        """Vote counts per exchange with at least one vote, by exchange id."""
        votes = (
            select(
                Feedback.exchange_id.label("exchange_id"),
                func.sum(case((Feedback.helpful, 1), else_=0)).label("helpful"),
                func.sum(case((Feedback.helpful, 0), else_=1)).label("not_helpful"),
            )
            .group_by(Feedback.exchange_id)
            .subquery()
        )
        stmt = (
            select(Exchange, votes.c.helpful, votes.c.not_helpful)
            .join(votes, votes.c.exchange_id == Exchange.id)
            .order_by(Exchange.id)
        )
        with self.database.session(write=False) as session:
            return [
                FeedbackRow(
                    exchange_id=row.id,
                    question=row.question,
                    answer=row.answer,
                    answered=row.answered,
                    cited_ids=tuple(row.cited_ids or ()),
                    helpful=int(helpful),
                    not_helpful=int(not_helpful),
                    created_at=row.created_at,
                )
                for row, helpful, not_helpful in session.execute(stmt)
            ]
