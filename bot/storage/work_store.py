"""Acknowledged work, kept until it is done.

Each Slack request the bot will act on after its ack is written here *before* the ack: its key
(the event id, or a key of the command or interaction), what kind of work it is, the request
body, and who is doing it (``owner``, a claimer ``host:pid:run``, with a lease). The work marks
its row done when it ends. A row left undone by a process that died is taken over — by a retry
of the same event, or by the recovery pass (:mod:`bot.slack.durable`) — and done again, with
the Slack history checked first so that nothing is posted twice.

The rows share ``seen_events`` with the plain duplicate claims (a row without a body is a
claim only, done when written), so recording a request costs the same one insert as the
duplicate check it replaces.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, delete, func, select, update

from .db import Database, dialect_insert
from .db import aware_utc as _now
from .models import SeenEvent

Received = Literal["new", "duplicate", "resumed"]
# The owner of work handed back before it started (back-pressure): whoever takes it over does
# it as new, with nothing to look for; work that may have started is HANDED_BACK (looked for).
DEFERRED = "deferred"
HANDED_BACK = "handed-back"


@dataclass(frozen=True, slots=True)
class WorkItem:
    key: str
    kind: str
    body: dict[str, Any]
    owner: str
    received_at: datetime
    attempts: int
    reply_ts: str | None = None  # a reply being streamed when its owner stopped
    deferred: bool = False  # handed back before it started (DEFERRED): nothing was posted


def _item(row: SeenEvent, *, deferred: bool = False) -> WorkItem:
    try:
        body = json.loads(row.body or "{}")
    except ValueError:
        body = {}
    return WorkItem(
        key=row.event_id,
        kind=row.kind or "",
        body=body if isinstance(body, dict) else {},
        owner=row.owner or "",
        received_at=row.seen_at,
        attempts=row.attempts or 0,
        reply_ts=row.reply_ts,
        deferred=deferred,
    )


class WorkStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def receive(
        self,
        key: str,
        *,
        kind: str | None,
        body: dict[str, Any] | None,
        owner: str,
        lease: timedelta,
        is_dead: Callable[[str], bool],
        now: datetime | None = None,
    ) -> Received:
        """Record a request under ``key``. "new": first seen, now ours (with ``body``: kept
        until :meth:`finish`; without: a claim only, done at once). "resumed": seen before,
        but its work was left undone by an owner that is dead or whose lease ended: now ours,
        to be done again carefully. "duplicate": seen before and done, or being done."""
        at = _now(now)
        values: dict[str, Any] = {"event_id": key, "seen_at": at}
        if body is not None:
            values |= {
                "kind": kind,
                "body": json.dumps(body, separators=(",", ":")),
                "owner": owner,
                "lease_until": at + lease,
                "attempts": 1,
            }
        else:
            values |= {"attempts": 0, "done_at": at}
        with self.database.session() as session:
            stmt = (
                dialect_insert(session, SeenEvent)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["event_id"])  # type: ignore[attr-defined]
                .returning(SeenEvent.event_id)
            )
            if session.execute(stmt).scalar_one_or_none() is not None:
                return "new"
        if body is None:
            return "duplicate"
        taken = self.take_over(key, owner=owner, lease=lease, is_dead=is_dead, now=at)
        return "resumed" if taken is not None else "duplicate"

    def take_over(
        self,
        key: str,
        *,
        owner: str,
        lease: timedelta,
        is_dead: Callable[[str], bool],
        now: datetime | None = None,
    ) -> WorkItem | None:
        """Make the undone work under ``key`` ours if its owner is dead or its lease ended;
        None when it is done, has no work, or its owner is still on it (or another process
        took it first: the update checks the owner it read)."""
        at = _now(now)
        with self.database.session() as session:
            row = session.get(SeenEvent, key)
            if row is None or row.done_at is not None or row.body is None:
                return None
            previous = row.owner or ""
            if not (row.lease_until is None or row.lease_until <= at or is_dead(previous)):
                return None
            result = session.execute(
                update(SeenEvent)
                .where(
                    SeenEvent.event_id == key,
                    SeenEvent.done_at.is_(None),
                    SeenEvent.owner == previous
                    if row.owner is not None
                    else SeenEvent.owner.is_(None),
                )
                .values(owner=owner, lease_until=at + lease, attempts=SeenEvent.attempts + 1)
            )
            if int(result.rowcount) != 1:  # type: ignore[attr-defined]
                return None
            session.flush()
            session.refresh(row)
            return _item(row, deferred=previous == DEFERRED)

    def hand_back(
        self, key: str, *, owner: str, started: bool, now: datetime | None = None
    ) -> bool:
        """Give up ``owner``'s undone work under ``key`` so that any process takes it over
        at once (its lease ends now); ``started``: some of it may have been done. False when
        it is not ``owner``'s undone work."""
        at = _now(now)
        with self.database.session() as session:
            result = session.execute(
                update(SeenEvent)
                .where(
                    SeenEvent.event_id == key,
                    SeenEvent.done_at.is_(None),
                    SeenEvent.owner == owner,
                )
                .values(owner=HANDED_BACK if started else DEFERRED, lease_until=at)
            )
            return int(result.rowcount) == 1  # type: ignore[attr-defined]

    def note_reply(self, key: str, reply_ts: str) -> None:
        """The reply to ``key`` is being streamed into the message ``reply_ts``."""
        with self.database.session() as session:
            session.execute(
                update(SeenEvent).where(SeenEvent.event_id == key).values(reply_ts=reply_ts)
            )

    def noted_reply(self, key: str) -> str | None:
        with self.database.session() as session:
            return session.execute(
                select(SeenEvent.reply_ts).where(SeenEvent.event_id == key)
            ).scalar_one_or_none()

    def finish(self, key: str, *, now: datetime | None = None) -> None:
        with self.database.session() as session:
            session.execute(
                update(SeenEvent)
                .where(SeenEvent.event_id == key, SeenEvent.done_at.is_(None))
                .values(done_at=_now(now))
            )

    def unfinished(
        self, *, limit: int = 100, handed_back: bool = False
    ) -> list[tuple[str, str, datetime | None]]:
        """(key, owner, lease end) of undone work, oldest first; ``handed_back``: only the
        work handed back (:meth:`hand_back`)."""
        query = select(SeenEvent.event_id, SeenEvent.owner, SeenEvent.lease_until).where(
            SeenEvent.done_at.is_(None), SeenEvent.body.is_not(None)
        )
        if handed_back:
            query = query.where(SeenEvent.owner.in_((DEFERRED, HANDED_BACK)))
        with self.database.session() as session:
            rows = session.execute(query.order_by(SeenEvent.seen_at).limit(limit)).all()
        return [(r[0], r[1] or "", r[2]) for r in rows]

    def waiting(self) -> int:
        """How much undone work was handed back (:meth:`hand_back`) and not taken over yet."""
        with self.database.session() as session:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(SeenEvent)
                    .where(
                        SeenEvent.done_at.is_(None),
                        SeenEvent.owner.in_((DEFERRED, HANDED_BACK)),
                    )
                ).scalar_one()
            )

    def counts(self) -> dict[str, int]:
        """How many rows are undone work and how many are done or claims only."""
        with self.database.session() as session:
            undone = session.execute(
                select(func.count())
                .select_from(SeenEvent)
                .where(SeenEvent.done_at.is_(None), SeenEvent.body.is_not(None))
            ).scalar_one()
            total = session.execute(select(func.count()).select_from(SeenEvent)).scalar_one()
        return {"undone": int(undone), "done": int(total) - int(undone)}

    def prune(self, older_than: datetime) -> tuple[int, int]:
        """Forget rows received before ``older_than``: (removed, of which undone work — given
        up on)."""
        with self.database.session() as session:
            old = SeenEvent.seen_at < older_than
            abandoned = session.execute(
                select(func.count())
                .select_from(SeenEvent)
                .where(and_(old, SeenEvent.done_at.is_(None), SeenEvent.body.is_not(None)))
            ).scalar_one()
            result = session.execute(delete(SeenEvent).where(old))
            return int(result.rowcount), int(abandoned)  # type: ignore[attr-defined]
