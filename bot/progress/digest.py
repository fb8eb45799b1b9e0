"""The weekly progress digest as data: a pure function of the framework, the initiatives and
their updates (no Slack, no database). :mod:`bot.slack.blocks.digest` renders it as a message,
:mod:`bot.progress.chart` as a PNG.

Definitions (all datetimes are timezone-aware, UTC):

* **Active only.** Only initiatives with ``status == "active"`` count; closed ones, and
  updates of initiatives not among the active ones given, are ignored. Both kinds count for
  status, participation and overdue (``kind == "objective"`` is the accountable lead's own
  update stream); coverage gaps look only at ``kind == "initiative"``.
* **Status per goal.** An initiative counts once in every goal that any of its objective ids
  belongs to (ids are matched ignoring case; ids unknown to the framework are ignored, so an
  initiative with only unknown ids counts nowhere). Its status is its current
  ``last_status`` (as of rendering), or ``no_update`` if it never had an update. Every goal
  of the framework is listed, in framework order, zero counts included.
* **Participation.** ``received`` = active initiatives with at least one update in
  ``[period_start, period_end)``. ``due`` = ``received`` + active initiatives without an update
  in the period that were overdue at ``min(now, period_end)``
  (:meth:`InitiativeRecord.is_overdue`). An initiative that was not due yet and sent nothing
  does not count. One refinement: an initiative whose record was updated after that instant
  (a late update, after ``period_end``) is judged as it stood then — its last update before
  that instant among ``updates``, else its creation — so a late answer does not take it out
  of ``due``.
* **Overdue.** Active initiatives overdue at ``now``, the longest overdue first
  (``overdue_from`` ascending, then id). ``days_overdue`` counts whole days since the update
  was due (``due_at``), so it is at least 1 (an initiative is overdue one day after its due
  date); ``overdue_since`` is ``overdue_from``.
* **Coverage gaps.** Objectives, in framework order, that no active ``kind == "initiative"``
  initiative names: ``(objective id, its title, else its text shortened to 80 characters)``.

Runs in linear time: one pass over the initiatives and one over the updates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from framework_data.schema import Framework

from ..storage.progress_records import InitiativeRecord, UpdateRecord
from ..storage.vocabulary import UpdateStatus

NO_UPDATE = "no_update"
# The digest's statuses, in display order (the update statuses, then "never updated").
DIGEST_STATUSES: tuple[str, ...] = (*(s.value for s in UpdateStatus), NO_UPDATE)
DIGEST_STATUS_LABELS: dict[str, str] = {
    **{s.value: s.label for s in UpdateStatus},
    NO_UPDATE: "No update",
}
GAP_TEXT_CHARS = 80


@dataclass(frozen=True)
class GoalStatus:
    """How many active initiatives of one goal stand at each status (all five keys)."""

    goal_id: str
    title: str
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class OverdueItem:
    initiative_id: int
    title: str
    owner_id: str
    objective_ids: tuple[str, ...]
    overdue_since: datetime
    days_overdue: int


@dataclass(frozen=True)
class DigestData:
    """Everything the digest shows; see the module docstring for the definitions."""

    framework_title: str
    period: str  # e.g. "2026-W48"
    period_start: datetime
    period_end: datetime  # exclusive
    generated_at: datetime
    goals: tuple[GoalStatus, ...]
    received: int
    due: int
    overdue: tuple[OverdueItem, ...]
    gaps: tuple[tuple[str, str], ...]  # (objective id, title or shortened text)
    late_updates: int = 0  # updates after the digest was first posted (set by the caller)

    @property
    def participation(self) -> float | None:
        """``received / due``, or None when nothing was due."""
        return self.received / self.due if self.due else None

    @property
    def has_initiatives(self) -> bool:
        """Whether any goal counts at least one active initiative."""
        return any(g.total for g in self.goals)


def shorten_text(text: str, limit: int) -> str:
    """One line, at most ``limit`` characters, cut at a word boundary with "…" when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit * 0.6:
        head = head[:space]
    return head.rstrip(" ,;:.-—") + "…"


def _goal_index(framework: Framework) -> dict[str, int]:
    """Objective id (casefolded) → position of its goal in ``framework.goals``."""
    return {o.id.casefold(): i for i, goal in enumerate(framework.goals) for o in goal.objectives}


def _goal_statuses(
    framework: Framework, active: Sequence[InitiativeRecord]
) -> tuple[GoalStatus, ...]:
    index = _goal_index(framework)
    counts: list[dict[str, int]] = [dict.fromkeys(DIGEST_STATUSES, 0) for _ in framework.goals]
    for record in active:
        status = record.last_status or NO_UPDATE
        goals = {index[oid.casefold()] for oid in record.objective_ids if oid.casefold() in index}
        for g in goals:
            counts[g][status] += 1
    return tuple(
        GoalStatus(goal_id=goal.id, title=goal.title, counts=c)
        for goal, c in zip(framework.goals, counts, strict=True)
    )


def _was_overdue(
    record: InitiativeRecord, at: datetime, last_update_before: Mapping[int, datetime]
) -> bool:
    """Whether ``record`` was overdue at ``at``, judged by its last update before then."""
    if record.last_update_at is None or record.last_update_at < at:
        return record.is_overdue(at)
    as_it_stood = dataclasses.replace(record, last_update_at=last_update_before.get(record.id))
    return as_it_stood.is_overdue(at)


def _participation(
    active: Sequence[InitiativeRecord],
    updates: Sequence[UpdateRecord],
    *,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
) -> tuple[int, int]:
    """``(received, due)`` for the period."""
    at = min(now, period_end)
    active_ids = {r.id for r in active}
    updated: set[int] = set()
    last_update_before: dict[int, datetime] = {}
    for u in updates:
        if u.initiative_id not in active_ids:
            continue
        if period_start <= u.created_at < period_end:
            updated.add(u.initiative_id)
        if u.created_at < at:
            seen = last_update_before.get(u.initiative_id)
            if seen is None or u.created_at > seen:
                last_update_before[u.initiative_id] = u.created_at
    missing = sum(
        1 for r in active if r.id not in updated and _was_overdue(r, at, last_update_before)
    )
    return len(updated), len(updated) + missing


def _overdue(active: Sequence[InitiativeRecord], now: datetime) -> tuple[OverdueItem, ...]:
    late = sorted((r for r in active if r.is_overdue(now)), key=lambda r: (r.overdue_from, r.id))
    return tuple(
        OverdueItem(
            initiative_id=r.id,
            title=r.title,
            owner_id=r.owner_id,
            objective_ids=r.objective_ids,
            overdue_since=r.overdue_from,
            days_overdue=max(1, (now - r.due_at).days),
        )
        for r in late
    )


def _gaps(framework: Framework, active: Sequence[InitiativeRecord]) -> tuple[tuple[str, str], ...]:
    covered = {oid.casefold() for r in active if r.kind == "initiative" for oid in r.objective_ids}
    return tuple(
        (o.id, o.title or shorten_text(o.text, GAP_TEXT_CHARS))
        for _, o in framework.objectives()
        if o.id.casefold() not in covered
    )


def build_digest(
    framework: Framework,
    initiatives: Sequence[InitiativeRecord],
    updates: Sequence[UpdateRecord],
    *,
    period: str,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
) -> DigestData:
    """The digest for ``period`` (``[period_start, period_end)``) as of ``now``.

    ``updates`` should hold at least the period's updates (earlier ones only sharpen the
    judgement of initiatives updated late, see the module docstring)."""
    if period_end <= period_start:
        raise ValueError("period_end must be after period_start")
    active = [r for r in initiatives if r.status == "active"]
    received, due = _participation(
        active, updates, period_start=period_start, period_end=period_end, now=now
    )
    return DigestData(
        framework_title=framework.title,
        period=period,
        period_start=period_start,
        period_end=period_end,
        generated_at=now,
        goals=_goal_statuses(framework, active),
        received=received,
        due=due,
        overdue=_overdue(active, now),
        gaps=_gaps(framework, active),
    )
