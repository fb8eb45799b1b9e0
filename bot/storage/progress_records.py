"""The frozen records the progress store returns, and the smaller vocabularies (initiative
kinds and states, claim kinds). Cadences and update statuses are :mod:`bot.storage.vocabulary`'s
(re-exported here); records turn the strings they are given into its members, so
``record.cadence.phrase`` works on any record, and an unknown value fails where the record is
made. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal

from .vocabulary import Cadence, UpdateStatus, Vocabulary

InitiativeStatus = Literal["active", "closed"]
InitiativeKind = Literal["initiative", "objective"]

ClaimKind = Literal["nudge", "escalation", "digest", "report"]
ClaimState = Literal["claimed", "sent", "failed"]

# An initiative is overdue one day after its update was due.
GRACE = timedelta(days=1)
WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
DEFAULT_NUDGE_WEEKDAY = 0  # Monday
DEFAULT_NUDGE_TIME = time(9, 0)


def add_cadence(start: datetime, cadence: str) -> datetime:
    """``start`` plus one cadence (:meth:`Cadence.after`); ValueError for an unknown one."""
    return Cadence(cadence).after(start)


def _coerce(record: object, name: str, vocabulary: type[Vocabulary]) -> None:
    """Make ``record.name`` (a frozen dataclass's field) a member of ``vocabulary`` (None
    stays None); ValueError naming the allowed values when it is none of them."""
    value = getattr(record, name)
    if value is not None and not isinstance(value, vocabulary):
        object.__setattr__(record, name, vocabulary(value))


@dataclass(frozen=True, slots=True)
class InitiativeRecord:
    """A tracked initiative, or (``kind="objective"``) the accountable lead of one objective.

    ``last_update_at`` is the latest progress update (or the imported ``last_update``);
    ``last_status`` / ``last_percent`` are those of the latest update, if any."""

    id: int
    kind: InitiativeKind
    title: str
    description: str
    owner_id: str
    objective_ids: tuple[str, ...]
    cadence: Cadence
    status: InitiativeStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_update_at: datetime | None = None
    last_status: UpdateStatus | None = None
    last_percent: int | None = None
    source_alignment_id: int | None = None

    def __post_init__(self) -> None:
        _coerce(self, "cadence", Cadence)
        _coerce(self, "last_status", UpdateStatus)

    @property
    def due_at(self) -> datetime:
        """When the next update is due: one cadence after the last update (or creation)."""
        return self.cadence.after(self.last_update_at or self.created_at)

    @property
    def overdue_from(self) -> datetime:
        """From this instant on the initiative is overdue (due date plus a day of grace)."""
        return self.due_at + GRACE

    def is_overdue(self, at: datetime) -> bool:
        return self.status == "active" and at > self.overdue_from


@dataclass(frozen=True, slots=True)
class UpdateRecord:
    id: int
    initiative_id: int
    status: UpdateStatus
    percent: int | None
    note: str
    author_id: str
    no_change: bool
    created_at: datetime

    def __post_init__(self) -> None:
        _coerce(self, "status", UpdateStatus)


@dataclass(frozen=True, slots=True)
class OwnerPrefs:
    """An owner's nudge preferences. ``tz`` None: not known yet (the default zone applies)."""

    owner_id: str
    tz: str | None = None
    tz_checked_at: datetime | None = None
    nudge_weekday: int = DEFAULT_NUDGE_WEEKDAY
    nudge_time: time = DEFAULT_NUDGE_TIME
    snoozed_until: datetime | None = None
    leave_until: datetime | None = None
    dm_channel: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """An exactly-once claim on one outgoing message: ``(kind, subject, period)`` is unique.

    ``claimed`` with a live lease: a sender is on it. ``claimed`` with an expired lease (or a
    dead claimer): unknown whether it went out; check Slack before sending again."""

    id: int
    kind: ClaimKind
    subject: str
    period: str
    state: ClaimState
    claimed_by: str
    lease_until: datetime
    attempts: int
    channel_id: str | None
    message_ts: str | None
    error: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """A posted weekly digest; ``stale`` once an update arrived after it was rendered."""

    id: int
    channel_id: str
    period: str
    period_start: datetime
    period_end: datetime
    live_until: datetime
    message_ts: str | None
    file_id: str | None
    stale: bool
    posted_at: datetime
    refreshed_at: datetime


@dataclass(frozen=True, slots=True)
class NewInitiative:
    """What creating an initiative needs (from a modal, a command, or a CSV row)."""

    title: str
    owner_id: str
    objective_ids: tuple[str, ...]
    cadence: Cadence = Cadence.WEEKLY
    description: str = ""
    last_update_at: datetime | None = None
    source_alignment_id: int | None = None

    def __post_init__(self) -> None:
        _coerce(self, "cadence", Cadence)


# ---- a CSV import's plan: what each row does (bot.progress.csv_plan makes it; the store
# applies it in one transaction)

ImportAction = Literal["create", "update", "unchanged"]


@dataclass(frozen=True)
class PlannedRow:
    """What one row does: ``initiative`` is the stored one it matches (None: a new one);
    ``changes`` maps store fields to (stored value, the file's value)."""

    line: int
    action: ImportAction
    item: NewInitiative
    initiative: InitiativeRecord | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportPlan:
    rows: tuple[PlannedRow, ...]

    def count(self, action: ImportAction) -> int:
        return sum(1 for row in self.rows if row.action == action)

    def summary(self) -> str:
        """``created 2, updated 1, unchanged 5``."""
        return (
            f"created {self.count('create')}, updated {self.count('update')},"
            f" unchanged {self.count('unchanged')}"
        )
