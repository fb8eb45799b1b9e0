"""Read-only queries behind the bot's progress answers ("how is 2.3 doing?", "what's
overdue under goal 1?", "who hasn't updated in a month?", …), each a bounded number of
indexed queries, so that an answer stays fast on 10,000 initiatives and 50,000 updates.

Lists come with their total (``(records, total)``) and take ``limit``: an answer shows a
few and says how many there are. Objective ids are matched exactly, through the link table
``initiative_objectives`` (see :func:`bot.storage.progress_store.link_objectives`).

Overdue is exactly :meth:`InitiativeRecord.is_overdue`: active, and ``now`` after one
cadence past the last update (or creation) plus :data:`GRACE`. SQL cannot add a calendar
month, so :func:`overdue_ranges` turns ``now`` into the ranges of "last update" times that
are overdue, per cadence; the query compares the indexed column with them."""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    or_,
    select,
)

from .db import Database
from .db import aware_utc as _now
from .progress_models import Initiative, InitiativeObjective, ProgressUpdate
from .progress_records import GRACE, InitiativeRecord, UpdateRecord
from .progress_store import filtered, initiative_record, update_record
from .vocabulary import Cadence

# A range of "last update" times [start, end); None: unbounded below.
Range = tuple[datetime | None, datetime]


def _add_months(when: datetime, months: int) -> datetime:
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    return when.replace(
        year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1])
    )


def overdue_ranges(cadence: Cadence, now: datetime) -> list[Range]:
    """The times ``b`` with ``cadence.after(b) + GRACE < now`` (an initiative whose last
    update, or creation, was at ``b`` is overdue at ``now``), as disjoint ranges.

    Days-only cadences give one range. A month is not a fixed length: ``b`` one month
    before is clamped to the month's last day (31 Jan + 1 month = 28 Feb), so when ``now``
    (less the grace and the days) falls on a month's last day, the days the month lacks add
    a range each (29, 30 and 31 Jan before 12:00 are overdue on 28 Feb at 12:00, when
    28 Jan 13:00 is not)."""
    limit = now.astimezone(UTC) - GRACE - timedelta(days=cadence.days)  # after_months(b) < limit
    if not cadence.months:
        return [(None, limit)]
    # Only b in the month `months` before limit's month can land in limit's month; every
    # b before that month lands in an earlier month (overdue), every later b in a later one.
    index = limit.month - 1 - cadence.months
    year, month = limit.year + index // 12, index % 12 + 1
    month_start = limit.replace(
        year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0
    )
    days_there = calendar.monthrange(year, month)[1]
    days_limit = calendar.monthrange(limit.year, limit.month)[1]
    # b in that month, day d, time t: lands on (min(d, days_limit), t); overdue when that is
    # before (limit.day, limit's time).
    if limit.day <= days_there:
        ranges: list[Range] = [(None, limit.replace(year=year, month=month))]
    else:  # the whole month lands before limit.day
        next_start = _add_months(month_start, 1)
        ranges = [(None, next_start)]
    if limit.day == days_limit:
        # Days beyond the clamped one land on it too: overdue before limit's time of day.
        for day in range(days_limit + 1, days_there + 1):
            start = month_start.replace(day=day)
            ranges.append((start, limit.replace(year=year, month=month, day=day)))
    return ranges


def _in_range(column: Any, rng: Range) -> ColumnElement[bool]:
    start, end = rng
    return column < end if start is None else and_(column >= start, column < end)


def _base_in(ranges: Sequence[Range]) -> ColumnElement[bool]:
    """The last update (or, never updated, the creation) in one of ``ranges``, written so
    that each arm is a range on an indexed column (``coalesce`` would hide the index)."""
    updated = or_(*(_in_range(Initiative.last_update_at, r) for r in ranges))
    created = or_(*(_in_range(Initiative.created_at, r) for r in ranges))
    return or_(updated, and_(Initiative.last_update_at.is_(None), created))


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL for :meth:`InitiativeRecord.is_overdue` at ``now`` (``status`` included)."""
    return and_(
        Initiative.status == "active",
        or_(
            *(
                and_(Initiative.cadence == cadence.value, _base_in(overdue_ranges(cadence, now)))
                for cadence in Cadence
            )
        ),
    )


_BASE = func.coalesce(Initiative.last_update_at, Initiative.created_at)


class ProgressQueries:
    """The progress answers' data access over one :class:`Database` (read-only)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # ---- helpers -----------------------------------------------------------------------

    def _page(self, stmt: Select[Any], limit: int) -> tuple[list[InitiativeRecord], int]:
        """The first ``limit`` rows of ``stmt`` and how many it has, in one round trip."""
        counted = stmt.add_columns(func.count().over().label("total")).limit(max(limit, 0))
        with self.database.session(write=False) as session:
            rows = session.execute(counted).all()
            if rows:
                return [initiative_record(row[0]) for row in rows], int(rows[0][1])
            if limit > 0:
                return [], 0
            total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            return [], int(total or 0)

    @staticmethod
    def _serving(objective_ids: Sequence[str]) -> ColumnElement[bool]:
        ids = list(dict.fromkeys(objective_ids))
        if not ids:
            return false()
        return Initiative.id.in_(
            select(InitiativeObjective.initiative_id).where(
                InitiativeObjective.objective_id.in_(ids)
            )
        )

    # ---- initiatives -------------------------------------------------------------------

    def for_objectives(
        self,
        objective_ids: Sequence[str],
        *,
        status: str | None = "active",
        kind: str | None = "initiative",
        now: datetime | None = None,
        limit: int = 20,
    ) -> tuple[list[InitiativeRecord], int]:
        """Initiatives serving any of ``objective_ids`` (status / kind None: any): overdue
        at ``now`` first, then the latest update first (never updated last), then by id."""
        at = _now(now)
        stmt = select(Initiative).where(self._serving(objective_ids))
        if status is not None:
            stmt = stmt.where(Initiative.status == status)
        if kind is not None:
            stmt = stmt.where(Initiative.kind == kind)
        stmt = stmt.order_by(
            case((overdue_clause(at), 0), else_=1),
            Initiative.last_update_at.desc().nulls_last(),
            Initiative.id,
        )
        return self._page(stmt, limit)

    def overdue(
        self,
        now: datetime | None = None,
        *,
        objective_ids: Sequence[str] | None = None,
        owner_id: str | None = None,
        kind: str | None = None,
        limit: int = 20,
    ) -> tuple[list[InitiativeRecord], int]:
        """Initiatives overdue at ``now`` (exactly :meth:`InitiativeRecord.is_overdue`),
        of some objectives, an owner, a kind (None: any); the longest silent first."""
        stmt = select(Initiative).where(overdue_clause(_now(now)))
        if objective_ids is not None:
            stmt = stmt.where(self._serving(objective_ids))
        if owner_id is not None:
            stmt = stmt.where(Initiative.owner_id == owner_id)
        if kind is not None:
            stmt = stmt.where(Initiative.kind == kind)
        return self._page(stmt.order_by(_BASE, Initiative.id), limit)

    def silent_since(
        self, cutoff: datetime, *, kind: str | None = None, limit: int = 20
    ) -> tuple[list[InitiativeRecord], int]:
        """Active initiatives with no update since ``cutoff`` (those never updated: created
        before it), the longest silent first."""
        stmt = (
            select(Initiative)
            .where(Initiative.status == "active", _base_in([(None, cutoff)]))
            .order_by(_BASE, Initiative.id)
        )
        if kind is not None:
            stmt = stmt.where(Initiative.kind == kind)
        return self._page(stmt, limit)

    def owned_by(
        self, owner_id: str, *, status: str | None = "active", limit: int = 20
    ) -> tuple[list[InitiativeRecord], int]:
        """The owner's initiatives (objective leads too), the latest update first."""
        stmt = select(Initiative).where(Initiative.owner_id == owner_id)
        if status is not None:
            stmt = stmt.where(Initiative.status == status)
        stmt = stmt.order_by(Initiative.last_update_at.desc().nulls_last(), Initiative.id)
        return self._page(stmt, limit)

    def listing(
        self,
        *,
        objective_ids: Sequence[str] | None = None,
        overdue_at: datetime | None = None,
        silent_before: datetime | None = None,
        owner_id: str | None = None,
        status: str | None = "active",
        kind: str | None = None,
        page: int = 1000,
    ) -> Iterator[InitiativeRecord]:
        """Initiatives matching every filter given (None: no filter), by id, fetched
        ``page`` rows at a time (keyset on the id): ``fwbot progress list``'s filters.
        ``overdue_at``: overdue then, as :meth:`overdue`; ``silent_before``: no update
        (never updated: created) since then, as :meth:`silent_since`."""
        stmt = select(Initiative)
        if objective_ids is not None:
            stmt = stmt.where(self._serving(objective_ids))
        if overdue_at is not None:
            stmt = stmt.where(overdue_clause(_now(overdue_at)))
        if silent_before is not None:
            stmt = stmt.where(_base_in([(None, silent_before)]))
        stmt = filtered(stmt, owner_id=owner_id, status=status, kind=kind)
        after = 0
        while True:
            with self.database.session(write=False) as session:
                rows = [
                    initiative_record(row)
                    for row in session.scalars(
                        stmt.where(Initiative.id > after)
                        .order_by(Initiative.id)
                        .limit(max(page, 1))
                    )
                ]
            yield from rows
            if len(rows) < max(page, 1):
                return
            after = rows[-1].id

    def titles_version(
        self, *, status: str | None = "active", kind: str | None = None
    ) -> tuple[int, datetime | None, int, int]:
        """A cheap stamp of :meth:`titles` (same filters), in one query: how many rows,
        their latest ``updated_at``, their largest id and their titles' total length. It
        changes when an initiative is added, closed, reopened or edited (``updated_at``
        moves; the length, too, unless the new title is as long); a cache of the titles
        keyed on it stays right."""
        stmt = select(
            func.count(),
            func.max(Initiative.updated_at),
            func.max(Initiative.id),
            func.coalesce(func.sum(func.length(Initiative.title)), 0),
        )
        if status is not None:
            stmt = stmt.where(Initiative.status == status)
        if kind is not None:
            stmt = stmt.where(Initiative.kind == kind)
        with self.database.session(write=False) as session:
            count, latest, last_id, length = session.execute(stmt).one()
            return int(count or 0), latest, int(last_id or 0), int(length or 0)

    def lead_of(self, objective_id: str) -> InitiativeRecord | None:
        """The objective's accountable lead (the ``kind="objective"`` row), if any."""
        with self.database.session(write=False) as session:
            row = session.scalars(
                select(Initiative).where(Initiative.lead_of == objective_id)
            ).one_or_none()
            return initiative_record(row) if row is not None else None

    def coverage(
        self, objective_ids: Sequence[str], *, kind: str | None = "initiative"
    ) -> dict[str, int]:
        """Active initiatives per objective id, every id given (0 when none serves it)."""
        out = dict.fromkeys(objective_ids, 0)
        if not out:
            return out
        stmt = (
            select(InitiativeObjective.objective_id, func.count())
            .join(Initiative, Initiative.id == InitiativeObjective.initiative_id)
            .where(InitiativeObjective.objective_id.in_(list(out)), Initiative.status == "active")
            .group_by(InitiativeObjective.objective_id)
        )
        if kind is not None:
            stmt = stmt.where(Initiative.kind == kind)
        with self.database.session(write=False) as session:
            for objective_id, count in session.execute(stmt):
                out[objective_id] = int(count)
        return out

    def owners_of(
        self, objective_ids: Sequence[str], *, kind: str | None = "initiative"
    ) -> dict[str, list[str]]:
        """The owners of the active initiatives of each objective id (sorted, each once;
        an empty list when none)."""
        out: dict[str, list[str]] = {oid: [] for oid in objective_ids}
        if not out:
            return out
        stmt = (
            select(InitiativeObjective.objective_id, Initiative.owner_id)
            .join(Initiative, Initiative.id == InitiativeObjective.initiative_id)
            .where(InitiativeObjective.objective_id.in_(list(out)), Initiative.status == "active")
            .distinct()
            .order_by(InitiativeObjective.objective_id, Initiative.owner_id)
        )
        if kind is not None:
            stmt = stmt.where(Initiative.kind == kind)
        with self.database.session(write=False) as session:
            for objective_id, owner_id in session.execute(stmt):
                out[objective_id].append(owner_id)
        return out

    def titles(self, *, status: str | None = "active", kind: str | None = None) -> dict[int, str]:
        """Initiative titles by id (``kind=None``: objective leads' too), for matching a
        title the user typed."""
        stmt = select(Initiative.id, Initiative.title)
        if status is not None:
            stmt = stmt.where(Initiative.status == status)
        if kind is not None:
            stmt = stmt.where(Initiative.kind == kind)
        with self.database.session(write=False) as session:
            return {initiative_id: title for initiative_id, title in session.execute(stmt)}

    def initiative(self, initiative_id: int) -> InitiativeRecord | None:
        with self.database.session(write=False) as session:
            row = session.get(Initiative, initiative_id)
            return initiative_record(row) if row is not None else None

    def initiatives(self, initiative_ids: Sequence[int]) -> dict[int, InitiativeRecord]:
        """The initiatives with these ids (any status or kind), by id, in one query; an id
        with none is left out."""
        ids = list(dict.fromkeys(initiative_ids))
        if not ids:
            return {}
        with self.database.session(write=False) as session:
            rows = session.scalars(select(Initiative).where(Initiative.id.in_(ids)))
            return {row.id: initiative_record(row) for row in rows}

    def any_initiatives(self) -> bool:
        """Whether any initiative (or objective lead) is tracked at all."""
        with self.database.session(write=False) as session:
            return session.scalar(select(Initiative.id).limit(1)) is not None

    # ---- updates -----------------------------------------------------------------------

    def activity(self, objective_ids: Sequence[str], since: datetime) -> dict[str, int]:
        """Updates posted since ``since`` on each objective's initiatives (any status or
        kind), every id given (0 when none). An update of an initiative serving two
        objectives counts for both."""
        out = dict.fromkeys(objective_ids, 0)
        if not out:
            return out
        stmt = (
            select(InitiativeObjective.objective_id, func.count())
            .join(ProgressUpdate, ProgressUpdate.initiative_id == InitiativeObjective.initiative_id)
            .where(
                InitiativeObjective.objective_id.in_(list(out)), ProgressUpdate.created_at >= since
            )
            .group_by(InitiativeObjective.objective_id)
        )
        with self.database.session(write=False) as session:
            for objective_id, count in session.execute(stmt):
                out[objective_id] = int(count)
        return out

    def updates_for(
        self,
        *,
        initiative_ids: Sequence[int] | None = None,
        objective_ids: Sequence[str] | None = None,
        start: datetime,
        end: datetime,
        limit: int = 20,
    ) -> tuple[list[UpdateRecord], int]:
        """Updates with ``start <= created_at < end``, of some initiatives and / or of the
        initiatives of some objectives (None: any), newest first."""
        stmt = select(ProgressUpdate).where(
            ProgressUpdate.created_at >= start, ProgressUpdate.created_at < end
        )
        if initiative_ids is not None:
            stmt = stmt.where(ProgressUpdate.initiative_id.in_(list(dict.fromkeys(initiative_ids))))
        if objective_ids is not None:
            ids = list(dict.fromkeys(objective_ids))
            stmt = stmt.where(
                ProgressUpdate.initiative_id.in_(
                    select(InitiativeObjective.initiative_id).where(
                        InitiativeObjective.objective_id.in_(ids)
                    )
                )
                if ids
                else false()
            )
        stmt = stmt.order_by(ProgressUpdate.created_at.desc(), ProgressUpdate.id.desc())
        counted = stmt.add_columns(func.count().over()).limit(max(limit, 0))
        with self.database.session(write=False) as session:
            rows = session.execute(counted).all()
            if rows:
                return [update_record(row[0]) for row in rows], int(rows[0][1])
            if limit > 0:
                return [], 0
            total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            return [], int(total or 0)
