"""Exactly-once claims on outgoing messages (nudges, escalations, digests, reports).

A sender inserts the claim ``(kind, subject, period)`` before sending; the unique key lets
exactly one process win, on SQLite or PostgreSQL, across replicas. A claim holds a lease:
while it lasts nobody else touches it; after it (or once its claimer is known dead) another
sender may *take it over*, which is a compare-and-set on the claimer, and must then check
Slack for the message before sending it again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select, update

from bot.storage.progress_records import ClaimRecord

from .db import Database, dialect_insert
from .db import aware_utc as _now
from .progress_models import SendClaim

CHUNK = 500  # rows per multi-row INSERT (SQLite allows 32766 parameters)


def _record(row: Any) -> ClaimRecord:
    return ClaimRecord(
        id=row.id,
        kind=cast(Any, row.kind),
        subject=row.subject,
        period=row.period,
        state=cast(Any, row.state),
        claimed_by=row.claimed_by,
        lease_until=row.lease_until,
        attempts=row.attempts,
        channel_id=row.channel_id,
        message_ts=row.message_ts,
        error=row.error,
        detail=dict(row.detail or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ClaimStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def claim_many(
        self,
        kind: str,
        items: Sequence[tuple[str, str, Mapping[str, Any]]],
        *,
        claimed_by: str,
        lease_until: datetime,
        now: datetime | None = None,
    ) -> list[ClaimRecord]:
        """Claim each ``(subject, period, detail)``; return the claims this call won (those
        already claimed by anyone, in any state, are left alone)."""
        at = _now(now)
        won: list[ClaimRecord] = []
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            values = [
                dict(
                    kind=kind,
                    subject=subject,
                    period=period,
                    state="claimed",
                    claimed_by=claimed_by,
                    lease_until=lease_until,
                    attempts=0,
                    detail=dict(detail),
                    created_at=at,
                    updated_at=at,
                )
                for subject, period, detail in chunk
            ]
            with self.database.session() as session:
                stmt = (
                    dialect_insert(session, SendClaim)
                    .values(values)
                    .on_conflict_do_nothing(  # type: ignore[attr-defined]
                        index_elements=["kind", "subject", "period"]
                    )
                    .returning(*SendClaim.__table__.c)
                )
                won.extend(_record(row) for row in session.execute(stmt))
        return won

    def claim(
        self,
        kind: str,
        subject: str,
        period: str,
        *,
        claimed_by: str,
        lease_until: datetime,
        detail: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> ClaimRecord | None:
        """The new claim, or None when ``(kind, subject, period)`` was already claimed."""
        won = self.claim_many(
            kind,
            [(subject, period, detail or {})],
            claimed_by=claimed_by,
            lease_until=lease_until,
            now=now,
        )
        return won[0] if won else None

    def get(self, claim_id: int) -> ClaimRecord | None:
        with self.database.session(write=False) as session:
            row = session.get(SendClaim, claim_id)
            return _record(row) if row is not None else None

    def claims(
        self,
        kind: str,
        *,
        period: str | None = None,
        periods: Iterable[str] | None = None,
        state: str | None = None,
        subject: str | None = None,
        message_ts: str | None = None,
    ) -> list[ClaimRecord]:
        stmt = select(SendClaim).where(SendClaim.kind == kind).order_by(SendClaim.id)
        if message_ts is not None:
            stmt = stmt.where(SendClaim.message_ts == message_ts)
        if period is not None:
            stmt = stmt.where(SendClaim.period == period)
        if periods is not None:
            stmt = stmt.where(SendClaim.period.in_(list(periods)))
        if state is not None:
            stmt = stmt.where(SendClaim.state == state)
        if subject is not None:
            stmt = stmt.where(SendClaim.subject == subject)
        with self.database.session(write=False) as session:
            return [_record(row) for row in session.scalars(stmt)]

    def take_over(
        self,
        claim: ClaimRecord,
        *,
        claimed_by: str,
        lease_until: datetime,
        now: datetime | None = None,
    ) -> ClaimRecord | None:
        """Take an unfinished claim from its previous claimer (compare-and-set: None when
        someone else finished or took it meanwhile)."""
        at = _now(now)
        with self.database.session() as session:
            result = session.execute(
                update(SendClaim)
                .where(
                    SendClaim.id == claim.id,
                    SendClaim.state == "claimed",
                    SendClaim.claimed_by == claim.claimed_by,
                    SendClaim.attempts == claim.attempts,
                )
                .values(
                    claimed_by=claimed_by,
                    lease_until=lease_until,
                    attempts=SendClaim.attempts + 1,
                    updated_at=at,
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return _record(session.get(SendClaim, claim.id))

    def renew(
        self, claim_id: int, *, claimed_by: str, lease_until: datetime, now: datetime | None = None
    ) -> bool:
        """Extend my lease; False if the claim is no longer mine (or already finished)."""
        return self._mine(claim_id, claimed_by, now, lease_until=lease_until)

    def finish(
        self,
        claim_id: int,
        *,
        claimed_by: str,
        state: str,
        channel_id: str | None = None,
        message_ts: str | None = None,
        error: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Mark my claim ``sent`` (with where it went) or ``failed`` (with the error)."""
        if state not in ("sent", "failed"):
            raise ValueError(f"a claim finishes as sent or failed, not {state!r}")
        return self._mine(
            claim_id,
            claimed_by,
            now,
            state=state,
            channel_id=channel_id,
            message_ts=message_ts,
            error=error[:100] if error else None,
        )

    def release(
        self,
        claim_id: int,
        *,
        claimed_by: str,
        error: str | None,
        now: datetime | None = None,
        lease_until: datetime | None = None,
    ) -> bool:
        """Give my claim up unfinished: its lease ends now (or at ``lease_until``), then a
        later pass takes it over."""
        at = _now(now)
        return self._mine(
            claim_id,
            claimed_by,
            at,
            lease_until=lease_until or at,
            error=error[:100] if error else None,
            attempts=SendClaim.attempts + 1,
        )

    def _mine(self, claim_id: int, claimed_by: str, now: datetime | None, **values: Any) -> bool:
        at = _now(now)
        with self.database.session() as session:
            result = session.execute(
                update(SendClaim)
                .where(
                    SendClaim.id == claim_id,
                    SendClaim.state == "claimed",
                    SendClaim.claimed_by == claimed_by,
                )
                .values(updated_at=at, **values)
            )
            return result.rowcount == 1  # type: ignore[attr-defined]
