"""The bot's storage API: events, exchanges, votes and alignments, as frozen records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, cast

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError

from .db import Database, aware_utc, dialect_insert
from .models import Alignment, Exchange, Feedback

AlignmentStatus = Literal["suggested", "confirmed", "corrected"]


class UnknownRecord(LookupError):
    """No exchange / alignment with the given id."""


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    id: int
    team_id: str | None
    channel_id: str
    thread_ts: str | None
    reply_ts: str | None
    user_id: str
    question: str
    answer: str
    answered: bool
    cited_ids: tuple[str, ...]
    framework_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """Vote counts of one exchange that has at least one vote."""

    exchange_id: int
    question: str
    answer: str
    answered: bool
    cited_ids: tuple[str, ...]
    helpful: int
    not_helpful: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AlignmentRecord:
    """An /align run. ``suggested`` items are read-only mappings with ``id``, ``score`` and
    ``confidence`` (plus any other keys they were recorded with, e.g. ``why``)."""

    id: int
    user_id: str
    channel_id: str | None
    text: str
    suggested: tuple[Mapping[str, Any], ...]
    final_ids: tuple[str, ...] | None
    status: AlignmentStatus
    decided_by: str | None
    framework_hash: str
    created_at: datetime
    updated_at: datetime

    @property
    def suggested_ids(self) -> tuple[str, ...]:
        return tuple(s["id"] for s in self.suggested)


@dataclass(frozen=True, slots=True)
class LabelledExample:
    """A decided alignment: the proposal text and the objective ids it was aligned to."""

    text: str
    ids: tuple[str, ...]


_now = aware_utc
def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _suggestion(item: Mapping[str, Any]) -> dict[str, Any]:
    """``item`` with id, score and confidence checked and coerced; other keys are kept."""
    try:
        return {
            **item,
            "id": str(item["id"]),
            "score": float(item["score"]),
            "confidence": str(item["confidence"]),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"a suggestion needs id, score (a number) and confidence: {item!r}"
        ) from exc


def _exchange_record(row: Exchange) -> ExchangeRecord:
    return ExchangeRecord(
        id=row.id, team_id=row.team_id, channel_id=row.channel_id, thread_ts=row.thread_ts,
        reply_ts=row.reply_ts, user_id=row.user_id, question=row.question, answer=row.answer,
        answered=row.answered, cited_ids=tuple(row.cited_ids or ()),
        framework_hash=row.framework_hash, created_at=row.created_at,
    )


def _alignment_record(row: Alignment) -> AlignmentRecord:
    return AlignmentRecord(
        id=row.id, user_id=row.user_id, channel_id=row.channel_id, text=row.text,
        suggested=tuple(MappingProxyType(dict(s)) for s in row.suggested or ()),
        final_ids=None if row.final_ids is None else tuple(row.final_ids),
        status=cast(AlignmentStatus, row.status), decided_by=row.decided_by,
        framework_hash=row.framework_hash, created_at=row.created_at,
        updated_at=row.updated_at,
    )


class Store:
    """Everything the bot stores, over one :class:`Database`. Timestamps are aware UTC;
    methods that write one take ``now`` (default: the current time)."""

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
            team_id=team_id, channel_id=channel_id, thread_ts=thread_ts, user_id=user_id,
            question=question, answer=answer, answered=answered, cited_ids=list(cited_ids),
            framework_hash=framework_hash, created_at=_now(now),
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

    def recent_exchanges(self, channel_id: str, *, since: datetime,
                         limit: int = 5) -> list[ExchangeRecord]:
        """The latest top-level exchanges (outside threads) of a channel since ``since``,
        oldest first: a DM's conversation."""
        with self.database.session(write=False) as session:
            rows = list(session.scalars(
                select(Exchange)
                .where(Exchange.channel_id == channel_id, Exchange.thread_ts.is_(None),
                       Exchange.created_at >= _now(since))
                .order_by(Exchange.created_at.desc(), Exchange.id.desc())
                .limit(limit)
            ))
            return [_exchange_record(row) for row in reversed(rows)]

    def record_vote(
        self, exchange_id: int, user_id: str, helpful: bool, *, now: datetime | None = None
    ) -> None:
        """Record ``user_id``'s vote on an exchange, replacing their earlier vote on it."""
        at = _now(now)
        try:
            with self.database.session() as session:
                stmt = dialect_insert(session, Feedback).values(
                    exchange_id=exchange_id, user_id=user_id, helpful=helpful,
                    created_at=at, updated_at=at,
                )
                stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                    index_elements=["exchange_id", "user_id"],
                    set_={"helpful": stmt.excluded.helpful,  # type: ignore[attr-defined]
                          "updated_at": stmt.excluded.updated_at},  # type: ignore[attr-defined]
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
                    exchange_id=row.id, question=row.question, answer=row.answer,
                    answered=row.answered, cited_ids=tuple(row.cited_ids or ()),
                    helpful=int(helpful), not_helpful=int(not_helpful),
                    created_at=row.created_at,
                )
                for row, helpful, not_helpful in session.execute(stmt)
            ]

    # ---- alignments --------------------------------------------------------------------

    def record_alignment(
        self,
        *,
        user_id: str,
        channel_id: str | None,
        text: str,
        suggested: Sequence[Mapping[str, Any]],
        framework_hash: str,
        now: datetime | None = None,
    ) -> int:
        """Store an /align run (status "suggested"); ``suggested`` items are
        ``{"id": str, "score": float, "confidence": str}``. Return its id."""
        at = _now(now)
        row = Alignment(
            user_id=user_id, channel_id=channel_id, text=text,
            suggested=[_suggestion(item) for item in suggested], final_ids=None,
            status="suggested", decided_by=None, framework_hash=framework_hash,
            created_at=at, updated_at=at,
        )
        with self.database.session() as session:
            session.add(row)
            session.flush()
            return row.id

    def alignment(self, alignment_id: int) -> AlignmentRecord | None:
        with self.database.session(write=False) as session:
            row = session.get(Alignment, alignment_id)
            return None if row is None else _alignment_record(row)

    def decide_alignment(
        self, alignment_id: int, *, user_id: str, ids: Sequence[str],
        now: datetime | None = None,
    ) -> AlignmentRecord:
        """Store the final objective ids (deduplicated, in order): "confirmed" when they are
        the suggested ids as a set, else "corrected". A later decision replaces an earlier one."""
        final = _unique(ids)
        at = _now(now)
        with self.database.session() as session:
            row = session.get(Alignment, alignment_id, with_for_update=True)
            if row is None:
                raise UnknownRecord(f"no alignment with id {alignment_id}")
            suggested = {s["id"] for s in row.suggested or ()}
            row.final_ids = final
            row.status = "confirmed" if set(final) == suggested else "corrected"
            row.decided_by = user_id
            row.updated_at = at
            session.flush()
            return _alignment_record(row)

    def recent_alignments(self, user_id: str, limit: int = 5) -> list[AlignmentRecord]:
        """A user's latest alignments, newest first."""
        with self.database.session(write=False) as session:
            rows = session.scalars(
                select(Alignment)
                .where(Alignment.user_id == user_id)
                .order_by(Alignment.created_at.desc(), Alignment.id.desc())
                .limit(limit)
            )
            return [_alignment_record(row) for row in rows]

    def labelled_examples(self, framework_hash: str) -> list[LabelledExample]:
        """Decided alignments for one framework version, newest decision first, one per text
        (the newest decision on a text wins)."""
        stmt = (
            select(Alignment.text, Alignment.final_ids)
            .where(
                Alignment.framework_hash == framework_hash,
                Alignment.status.in_(("confirmed", "corrected")),
            )
            .order_by(Alignment.updated_at.desc(), Alignment.id.desc())
        )
        examples: dict[str, LabelledExample] = {}
        with self.database.session(write=False) as session:
            for text, final_ids in session.execute(stmt):
                if text not in examples:
                    examples[text] = LabelledExample(text=text, ids=tuple(final_ids or ()))
        return list(examples.values())
