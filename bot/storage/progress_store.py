"""Storage of progress tracking: initiatives, updates, owner preferences, digests and the
audit trail. Every change writes its audit entry in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, time
from typing import Any, cast

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .app_state_store import jsonable as _jsonable
from .db import Database
from .db import aware_utc as _now
from .progress_models import (
    AuditLog,
    Digest,
    Initiative,
    InitiativeObjective,
    OwnerPref,
    ProgressUpdate,
)
from .progress_records import (
    AuditEntry,
    DigestRecord,
    ImportPlan,
    InitiativeRecord,
    NewInitiative,
    OwnerPrefs,
    UpdateRecord,
)
from .store import UnknownRecord
from .vocabulary import Cadence, UpdateStatus

_PREF_FIELDS = frozenset(
    {
        "tz",
        "tz_checked_at",
        "nudge_weekday",
        "nudge_time",
        "snoozed_until",
        "leave_until",
        "dm_channel",
    }
)


def initiative_record(row: Initiative) -> InitiativeRecord:
    return InitiativeRecord(
        id=row.id,
        kind=cast(Any, row.kind),
        title=row.title,
        description=row.description,
        owner_id=row.owner_id,
        objective_ids=tuple(row.objective_ids or ()),
        cadence=cast(Any, row.cadence),
        status=cast(Any, row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_update_at=row.last_update_at,
        last_status=cast(Any, row.last_status),
        last_percent=row.last_percent,
        source_alignment_id=row.source_alignment_id,
    )


def update_record(row: ProgressUpdate) -> UpdateRecord:
    return UpdateRecord(
        id=row.id,
        initiative_id=row.initiative_id,
        status=cast(Any, row.status),
        percent=row.percent,
        note=row.note,
        author_id=row.author_id,
        no_change=row.no_change,
        created_at=row.created_at,
    )


def _prefs_record(row: OwnerPref) -> OwnerPrefs:
    hours, minutes = (int(part) for part in row.nudge_time.split(":"))
    return OwnerPrefs(
        owner_id=row.owner_id,
        tz=row.tz,
        tz_checked_at=row.tz_checked_at,
        nudge_weekday=row.nudge_weekday,
        nudge_time=time(hours, minutes),
        snoozed_until=row.snoozed_until,
        leave_until=row.leave_until,
        dm_channel=row.dm_channel,
    )


def _digest_record(row: Digest) -> DigestRecord:
    return DigestRecord(
        id=row.id,
        channel_id=row.channel_id,
        period=row.period,
        period_start=row.period_start,
        period_end=row.period_end,
        live_until=row.live_until,
        message_ts=row.message_ts,
        file_id=row.file_id,
        stale=row.stale,
        posted_at=row.posted_at,
        refreshed_at=row.refreshed_at,
    )


def link_objectives(session: Session, row: Initiative, *, new: bool = False) -> None:
    """Make the link table ``initiative_objectives`` hold ``row.objective_ids`` (each once,
    at most 32 characters, as the column). Every write of ``objective_ids`` calls this in
    its transaction, after the row has its id (``new``: it has no links yet)."""
    if not new:
        session.execute(
            delete(InitiativeObjective).where(InitiativeObjective.initiative_id == row.id)
        )
    ids = list(dict.fromkeys(str(oid)[:32] for oid in row.objective_ids or ()))
    if ids:
        session.execute(
            insert(InitiativeObjective),
            [{"initiative_id": row.id, "objective_id": oid} for oid in ids],
        )


def _check_new(item: NewInitiative) -> None:
    # Its cadence was checked when it was made (NewInitiative holds a Cadence).
    if not item.title.strip():
        raise ValueError("an initiative needs a title")
    if not item.objective_ids:
        raise ValueError("an initiative needs at least one objective")


class ProgressStore:
    """Initiatives and everything around them, over one :class:`Database`. Timestamps are
    aware UTC; writing methods take ``now`` (default: the current time) and the ``actor``
    recorded in the audit trail (a Slack user id, ``cli:<user>`` or ``system``)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # ---- audit -------------------------------------------------------------------------

    @staticmethod
    def _audit(
        session: Session, actor: str, action: str, subject: str, at: datetime, **detail: Any
    ) -> None:
        session.add(
            AuditLog(at=at, actor=actor, action=action, subject=subject, detail=_jsonable(detail))
        )

    def audit(
        self, actor: str, action: str, subject: str, *, now: datetime | None = None, **detail: Any
    ) -> None:
        """Record an event that changes nothing else (e.g. a nudge sent, a failure)."""
        with self.database.session() as session:
            self._audit(session, actor, action, subject, _now(now), **detail)

    def audit_entries(self, *, subject: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` entries (of one subject, e.g. ``"initiative:12"``), newest
        first."""
        stmt = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
        if subject is not None:
            stmt = stmt.where(AuditLog.subject == subject)
        with self.database.session(write=False) as session:
            return [
                AuditEntry(
                    id=r.id,
                    at=r.at,
                    actor=r.actor,
                    action=r.action,
                    subject=r.subject,
                    detail=dict(r.detail or {}),
                )
                for r in session.scalars(stmt)
            ]

    # ---- initiatives -------------------------------------------------------------------

    def _add_initiative(
        self, session: Session, item: NewInitiative, *, actor: str, at: datetime, action: str
    ) -> Initiative:
        _check_new(item)
        row = Initiative(
            kind="initiative",
            title=item.title.strip(),
            description=item.description,
            owner_id=item.owner_id,
            objective_ids=list(dict.fromkeys(item.objective_ids)),
            lead_of=None,
            cadence=item.cadence.value,
            status="active",
            created_by=actor,
            created_at=at,
            updated_at=at,
            last_update_at=item.last_update_at,
            source_alignment_id=item.source_alignment_id,
        )
        session.add(row)
        session.flush()
        link_objectives(session, row, new=True)
        self._audit(
            session,
            actor,
            action,
            f"initiative:{row.id}",
            at,
            title=row.title,
            owner=row.owner_id,
            objectives=row.objective_ids,
            cadence=row.cadence,
        )
        return row

    def create_initiative(
        self, item: NewInitiative, *, actor: str, now: datetime | None = None
    ) -> InitiativeRecord:
        with self.database.session() as session:
            return initiative_record(
                self._add_initiative(session, item, actor=actor, at=_now(now), action="create")
            )

    def import_initiatives(
        self, items: Sequence[NewInitiative], *, actor: str, now: datetime | None = None
    ) -> list[InitiativeRecord]:
        """Create all of ``items`` in one transaction: all or none."""
        at = _now(now)
        with self.database.session() as session:
            rows = [
                self._add_initiative(session, item, actor=actor, at=at, action="import")
                for item in items
            ]
            return [initiative_record(row) for row in rows]

    def sync_initiatives(
        self,
        plan: Callable[[list[InitiativeRecord]], ImportPlan],
        *,
        actor: str,
        now: datetime | None = None,
        dry_run: bool = False,
    ) -> tuple[ImportPlan, list[InitiativeRecord]]:
        """Import a file in one transaction, all or nothing: ``plan`` sees every stored
        initiative (locked on PostgreSQL until the end) and says which rows create one, which
        update one (audited as ``import_update`` with before/after) and which change nothing;
        an error it raises rolls everything back. Returns the plan and the initiatives created
        (none with ``dry_run``, which only plans)."""
        at = _now(now)
        with self.database.session(write=not dry_run) as session:
            stmt = select(Initiative).order_by(Initiative.id)
            rows = {r.id: r for r in session.scalars(stmt if dry_run else stmt.with_for_update())}
            result = plan([initiative_record(row) for row in rows.values()])
            created: list[InitiativeRecord] = []
            for step in () if dry_run else result.rows:
                if step.action == "create":
                    created.append(
                        initiative_record(
                            self._add_initiative(
                                session, step.item, actor=actor, at=at, action="import"
                            )
                        )
                    )
                elif step.action == "update" and step.initiative is not None:
                    row = rows[step.initiative.id]
                    for key, (_, after) in step.changes.items():
                        setattr(row, key, list(after) if key == "objective_ids" else after)
                    if "objective_ids" in step.changes:
                        link_objectives(session, row)
                    row.updated_at = at
                    self._audit(
                        session,
                        actor,
                        "import_update",
                        f"initiative:{row.id}",
                        at,
                        before={k: b for k, (b, _) in step.changes.items()},
                        after={k: a for k, (_, a) in step.changes.items()},
                    )
            return result, created

    def set_objective_lead(
        self,
        objective_id: str,
        *,
        owner_id: str,
        cadence: Cadence | str,
        title: str,
        actor: str,
        now: datetime | None = None,
    ) -> InitiativeRecord:
        """Make ``owner_id`` the accountable lead of ``objective_id`` (replacing any lead):
        the lead posts updates on the objective itself, on ``cadence``."""
        at = _now(now)
        cadence = Cadence(cadence).value  # ValueError naming the cadences
        with self.database.session() as session:
            row = session.scalars(
                select(Initiative).where(Initiative.lead_of == objective_id)
            ).one_or_none()
            if row is None:
                row = Initiative(
                    kind="objective",
                    title=title,
                    description="",
                    owner_id=owner_id,
                    objective_ids=[objective_id],
                    lead_of=objective_id,
                    cadence=cadence,
                    status="active",
                    created_by=actor,
                    created_at=at,
                    updated_at=at,
                )
                session.add(row)
                session.flush()
                link_objectives(session, row, new=True)
            else:
                row.owner_id, row.cadence, row.status, row.updated_at = (
                    owner_id,
                    cadence,
                    "active",
                    at,
                )
            self._audit(
                session,
                actor,
                "set_lead",
                f"initiative:{row.id}",
                at,
                objective=objective_id,
                owner=owner_id,
                cadence=cadence,
            )
            return initiative_record(row)

    def initiative(self, initiative_id: int) -> InitiativeRecord | None:
        with self.database.session(write=False) as session:
            row = session.get(Initiative, initiative_id)
            return initiative_record(row) if row is not None else None

    def initiatives(
        self, *, owner_id: str | None = None, status: str | None = "active", kind: str | None = None
    ) -> list[InitiativeRecord]:
        """Initiatives (by id), filtered by owner, status (None: any) and kind."""
        stmt = filtered(select(Initiative), owner_id=owner_id, status=status, kind=kind)
        stmt = stmt.order_by(Initiative.id)
        with self.database.session(write=False) as session:
            return [initiative_record(row) for row in session.scalars(stmt)]

    def _change(
        self, initiative_id: int, *, actor: str, now: datetime | None, action: str, **values: Any
    ) -> InitiativeRecord:
        at = _now(now)
        with self.database.session() as session:
            row = session.get(Initiative, initiative_id)
            if row is None:
                raise UnknownRecord(f"no initiative {initiative_id}")
            before = {key: getattr(row, key) for key in values}
            for key, value in values.items():
                setattr(row, key, value)
            if "objective_ids" in values:
                link_objectives(session, row)
            row.updated_at = at
            self._audit(
                session, actor, action, f"initiative:{row.id}", at, before=before, after=values
            )
            return initiative_record(row)

    def reassign(
        self, initiative_id: int, owner_id: str, *, actor: str, now: datetime | None = None
    ) -> InitiativeRecord:
        return self._change(
            initiative_id, actor=actor, now=now, action="reassign", owner_id=owner_id
        )

    def retag(
        self,
        initiative_id: int,
        objective_ids: Sequence[str],
        *,
        actor: str,
        now: datetime | None = None,
    ) -> InitiativeRecord:
        """Replace the objectives the initiative serves (each once, in order)."""
        ids = list(dict.fromkeys(objective_ids))
        if not ids:
            raise ValueError("an initiative needs at least one objective")
        return self._change(initiative_id, actor=actor, now=now, action="retag", objective_ids=ids)

    def close(
        self, initiative_id: int, *, actor: str, now: datetime | None = None
    ) -> InitiativeRecord:
        return self._change(initiative_id, actor=actor, now=now, action="close", status="closed")

    def reopen(
        self, initiative_id: int, *, actor: str, now: datetime | None = None
    ) -> InitiativeRecord:
        return self._change(initiative_id, actor=actor, now=now, action="reopen", status="active")

    # ---- progress updates --------------------------------------------------------------

    def add_update(
        self,
        initiative_id: int,
        *,
        status: str,
        percent: int | None,
        note: str,
        author_id: str,
        no_change: bool = False,
        now: datetime | None = None,
    ) -> UpdateRecord:
        """Record a progress update and make it the initiative's latest."""
        status = UpdateStatus(status).value  # ValueError naming the statuses
        if percent is not None and not 0 <= percent <= 100:
            raise ValueError(f"percent must be between 0 and 100, not {percent}")
        at = _now(now)
        with self.database.session() as session:
            row = session.get(Initiative, initiative_id)
            if row is None:
                raise UnknownRecord(f"no initiative {initiative_id}")
            new = ProgressUpdate(
                initiative_id=initiative_id,
                status=status,
                percent=percent,
                note=note,
                author_id=author_id,
                no_change=no_change,
                created_at=at,
            )
            session.add(new)
            if row.last_update_at is None or at >= row.last_update_at:
                row.last_update_at, row.last_status, row.last_percent = at, status, percent
            row.updated_at = at
            session.flush()
            self._audit(
                session,
                author_id,
                "no_change" if no_change else "update",
                f"initiative:{row.id}",
                at,
                status=status,
                percent=percent,
                update_id=new.id,
            )
            # A digest posted before this update and still current is now out of date.
            session.execute(
                update(Digest)
                .where(Digest.period_end <= at, Digest.live_until > at)
                .values(stale=True, late_updates=Digest.late_updates + 1)
            )
            return update_record(new)

    def updates(self, initiative_id: int, *, limit: int | None = None) -> list[UpdateRecord]:
        """The initiative's updates, newest first."""
        stmt = (
            select(ProgressUpdate)
            .where(ProgressUpdate.initiative_id == initiative_id)
            .order_by(ProgressUpdate.created_at.desc(), ProgressUpdate.id.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.database.session(write=False) as session:
            return [update_record(row) for row in session.scalars(stmt)]

    def updates_between(self, start: datetime, end: datetime) -> list[UpdateRecord]:
        """Every update with ``start <= created_at < end``, oldest first."""
        stmt = (
            select(ProgressUpdate)
            .where(ProgressUpdate.created_at >= start, ProgressUpdate.created_at < end)
            .order_by(ProgressUpdate.created_at, ProgressUpdate.id)
        )
        with self.database.session(write=False) as session:
            return [update_record(row) for row in session.scalars(stmt)]

    # ---- owner preferences -------------------------------------------------------------

    def prefs(self, owner_id: str) -> OwnerPrefs:
        """The owner's preferences (defaults when none were ever stored)."""
        with self.database.session(write=False) as session:
            row = session.get(OwnerPref, owner_id)
            return _prefs_record(row) if row is not None else OwnerPrefs(owner_id)

    def all_prefs(self, owner_ids: Iterable[str] | None = None) -> dict[str, OwnerPrefs]:
        """Stored preferences by owner (owners without any are absent)."""
        stmt = select(OwnerPref)
        if owner_ids is not None:
            wanted = list(owner_ids)
            if len(wanted) <= 500:
                stmt = stmt.where(OwnerPref.owner_id.in_(wanted))
        with self.database.session(write=False) as session:
            return {row.owner_id: _prefs_record(row) for row in session.scalars(stmt)}

    def set_prefs(
        self,
        owner_id: str,
        *,
        actor: str,
        now: datetime | None = None,
        audit: bool = True,
        **fields: Any,
    ) -> OwnerPrefs:
        """Change some of an owner's preferences (``nudge_time`` as a ``datetime.time``)."""
        unknown = set(fields) - _PREF_FIELDS
        if unknown:
            raise TypeError(f"unknown preference(s): {', '.join(sorted(unknown))}")
        if "nudge_time" in fields and isinstance(fields["nudge_time"], time):
            fields["nudge_time"] = fields["nudge_time"].strftime("%H:%M")
        at = _now(now)
        with self.database.session() as session:
            row = session.get(OwnerPref, owner_id)
            if row is None:
                defaults = OwnerPrefs(owner_id)
                row = OwnerPref(
                    owner_id=owner_id,
                    nudge_weekday=defaults.nudge_weekday,
                    nudge_time=defaults.nudge_time.strftime("%H:%M"),
                    updated_at=at,
                )
                session.add(row)
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = at
            if audit:
                self._audit(session, actor, "prefs", f"owner:{owner_id}", at, **fields)
            session.flush()
            return _prefs_record(row)

    # ---- digests -----------------------------------------------------------------------

    def record_digest(
        self,
        *,
        channel_id: str,
        period: str,
        period_start: datetime,
        period_end: datetime,
        live_until: datetime,
        message_ts: str | None,
        file_id: str | None,
        now: datetime | None = None,
    ) -> DigestRecord:
        at = _now(now)
        with self.database.session() as session:
            row = Digest(
                channel_id=channel_id,
                period=period,
                period_start=period_start,
                period_end=period_end,
                live_until=live_until,
                message_ts=message_ts,
                file_id=file_id,
                stale=False,
                late_updates=0,
                posted_at=at,
                refreshed_at=at,
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:
                raise ValueError(f"a digest for {period} in {channel_id} exists") from exc
            self._audit(
                session,
                "system",
                "digest",
                f"channel:{channel_id}",
                at,
                period=period,
                ts=message_ts,
            )
            return _digest_record(row)

    def digest(self, channel_id: str, period: str) -> DigestRecord | None:
        with self.database.session(write=False) as session:
            row = session.scalars(
                select(Digest).where(Digest.channel_id == channel_id, Digest.period == period)
            ).one_or_none()
            return _digest_record(row) if row is not None else None

    def stale_digests(self) -> list[tuple[DigestRecord, int]]:
        """Posted digests that a late update made out of date, with the count of late
        updates."""
        with self.database.session(write=False) as session:
            rows = session.scalars(select(Digest).where(Digest.stale.is_(True)).order_by(Digest.id))
            return [(_digest_record(r), r.late_updates) for r in rows]

    def digest_refreshed(
        self,
        digest_id: int,
        *,
        file_id: str | None,
        rendered_at: datetime,
        now: datetime | None = None,
    ) -> None:
        """The digest was re-rendered from data as of ``rendered_at``: not stale any more
        unless another update arrived after that."""
        at = _now(now)
        with self.database.session() as session:
            row = session.get(Digest, digest_id)
            if row is None:
                raise UnknownRecord(f"no digest {digest_id}")
            newer = session.scalar(
                select(func.count())
                .select_from(ProgressUpdate)
                .where(
                    ProgressUpdate.created_at > rendered_at,
                    ProgressUpdate.created_at < row.live_until,
                )
            )
            row.stale = bool(newer)
            row.file_id = file_id
            row.refreshed_at = at


def filtered(
    stmt: Select[Any], *, owner_id: str | None, status: str | None, kind: str | None
) -> Select[Any]:
    """``stmt`` (over initiatives) kept to one owner, status and kind (None: any)."""
    if owner_id is not None:
        stmt = stmt.where(Initiative.owner_id == owner_id)
    if status is not None:
        stmt = stmt.where(Initiative.status == status)
    if kind is not None:
        stmt = stmt.where(Initiative.kind == kind)
    return stmt
