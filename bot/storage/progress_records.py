"""The progress feature's vocabulary: cadences, statuses and the frozen records the store
returns. No I/O here."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal

Cadence = Literal["weekly", "fortnightly", "monthly"]
CADENCES: tuple[str, ...] = ("weekly", "fortnightly", "monthly")

UpdateStatus = Literal["on_track", "at_risk", "off_track", "done"]
UPDATE_STATUSES: tuple[str, ...] = ("on_track", "at_risk", "off_track", "done")
STATUS_LABELS: dict[str, str] = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "done": "Done",
}

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
    """``start`` plus one cadence: 7 days, 14 days, or one calendar month (the 31st of a
    month becomes the last day of a shorter next month)."""
    if cadence == "weekly":
        return start + timedelta(days=7)
    if cadence == "fortnightly":
        return start + timedelta(days=14)
    if cadence == "monthly":
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        day = min(start.day, calendar.monthrange(year, month)[1])
        return start.replace(year=year, month=month, day=day)
    raise ValueError(f"unknown cadence {cadence!r}: use one of {', '.join(CADENCES)}")


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

    @property
    def due_at(self) -> datetime:
        """When the next update is due: one cadence after the last update (or creation)."""
        return add_cadence(self.last_update_at or self.created_at, self.cadence)

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
    cadence: Cadence = "weekly"
    description: str = ""
    last_update_at: datetime | None = None
    source_alignment_id: int | None = None


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
