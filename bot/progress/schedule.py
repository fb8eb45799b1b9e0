"""Who is due a nudge, and when: pure functions of initiatives, preferences and the time.

Each owner has a weekly *slot*: their nudge weekday and local time, in their own IANA zone,
in the ISO week that contains their local "now". Local times are resolved on the slot's own
date (never with today's offset), so daylight-saving changes neither move nor skip a slot; a
local time that does not exist on that date (the spring-forward gap) falls just after the
gap, and one that exists twice (autumn) is the first.

An owner is due this week when something of theirs was overdue at the slot and still is;
the claim key is the ISO week (``2026-W48``). A snooze that ends after this week's slot makes
the snooze's end a slot of its own (key ``2026-W48/snooze-…``). Earlier weeks are never
looked at: after downtime the current week's nudge goes out, older ones are not replayed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..storage.progress_records import WEEKDAYS, InitiativeRecord, OwnerPrefs

DEFAULT_TZ = "UTC"


@lru_cache(maxsize=1024)
def zone(name: str | None, default: str = DEFAULT_TZ) -> ZoneInfo:
    """The IANA zone ``name``, or ``default`` when it is missing or unknown."""
    for candidate in (name, default, DEFAULT_TZ):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``day`` at local wall time ``at`` in ``tz``, as UTC (see the module docstring)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(now: datetime, tz: ZoneInfo) -> date:
    """The Monday of the local ISO week that contains ``now``."""
    local = now.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def weekly_slot(now: datetime, weekday: int, at: time, tz: ZoneInfo) -> tuple[str, datetime]:
    """This local week's slot: (week key, UTC instant)."""
    monday = week_start(now, tz)
    return week_key(monday), local_instant(monday + timedelta(days=weekday), at, tz)


def next_weekly_slot(now: datetime, weekday: int, at: time, tz: ZoneInfo) -> datetime:
    """The first slot strictly after ``now``."""
    _, slot = weekly_slot(now, weekday, at, tz)
    if slot > now:
        return slot
    monday = week_start(now, tz) + timedelta(days=7)
    return local_instant(monday + timedelta(days=weekday), at, tz)


def describe_slot(prefs: OwnerPrefs, tz: ZoneInfo) -> str:
    return f"{WEEKDAYS[prefs.nudge_weekday].capitalize()} {prefs.nudge_time:%H:%M} {tz.key}"


@dataclass(frozen=True, slots=True)
class NudgePlan:
    """One DM to send: ``key`` is the claim period, ``items`` the overdue initiatives."""

    owner_id: str
    key: str
    due_at: datetime
    tz: str
    items: tuple[InitiativeRecord, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """An owner with overdue items who is not nudged now, and why."""

    owner_id: str
    reason: str
    until: datetime | None


def owner_slot(
    prefs: OwnerPrefs, now: datetime, *, default_tz: str = DEFAULT_TZ
) -> tuple[str, datetime] | Skipped:
    """The (key, instant) of the owner's slot that is due at ``now``, or why there is none."""
    tz = zone(prefs.tz, default_tz)
    if prefs.leave_until and now < prefs.leave_until:
        return Skipped(
            prefs.owner_id, f"on leave until {_local(prefs.leave_until, tz)}", prefs.leave_until
        )
    if prefs.snoozed_until and now < prefs.snoozed_until:
        return Skipped(
            prefs.owner_id, f"snoozed until {_local(prefs.snoozed_until, tz)}", prefs.snoozed_until
        )
    key, slot = weekly_slot(now, prefs.nudge_weekday, prefs.nudge_time, tz)
    snooze = prefs.snoozed_until
    if snooze and slot < snooze <= now:
        return f"{key}/snooze-{snooze:%Y%m%dT%H%MZ}", snooze
    if prefs.leave_until and slot < prefs.leave_until <= now:
        after = next_weekly_slot(now, prefs.nudge_weekday, prefs.nudge_time, tz)
        return Skipped(
            prefs.owner_id,
            f"back from leave after this week's nudge time; next nudge {_local(after, tz)}",
            after,
        )
    if slot > now:
        return Skipped(prefs.owner_id, f"nudge time not reached: {_local(slot, tz)}", slot)
    return key, slot


def plan_nudges(
    initiatives: Iterable[InitiativeRecord],
    prefs: Mapping[str, OwnerPrefs],
    now: datetime,
    *,
    default_tz: str = DEFAULT_TZ,
) -> tuple[list[NudgePlan], list[Skipped]]:
    """Every owner due a nudge at ``now`` (with their overdue items, oldest first), and every
    owner with overdue items who is not (with the reason). Owners are in id order."""
    by_owner: defaultdict[str, list[InitiativeRecord]] = defaultdict(list)
    for item in initiatives:
        if item.status == "active":
            by_owner[item.owner_id].append(item)
    plans: list[NudgePlan] = []
    skipped: list[Skipped] = []
    for owner in sorted(by_owner):
        owner_prefs = prefs.get(owner) or OwnerPrefs(owner)
        slot = owner_slot(owner_prefs, now, default_tz=default_tz)
        if isinstance(slot, Skipped):
            if any(i.is_overdue(now) for i in by_owner[owner]):
                skipped.append(slot)
            continue
        key, due_at = slot
        items = sorted(
            (i for i in by_owner[owner] if i.is_overdue(due_at)),
            key=lambda i: (i.overdue_from, i.id),
        )
        if not items:
            continue
        tz = zone(owner_prefs.tz, default_tz)
        assumed = "" if owner_prefs.tz else " (time zone not known yet: assumed)"
        reason = (
            f"{len(items)} overdue at {describe_slot(owner_prefs, tz)}{assumed}: "
            + "; ".join(
                f"#{i.id} {i.title!r} overdue since {_local(i.overdue_from, tz)}" for i in items[:5]
            )
            + (f"; and {len(items) - 5} more" if len(items) > 5 else "")
        )
        plans.append(NudgePlan(owner, key, due_at, tz.key, tuple(items), reason))
    return plans, skipped


def weeks_overdue(item: InitiativeRecord, now: datetime) -> int:
    """Whole weeks since the initiative became overdue (0 in its first overdue week)."""
    if not item.is_overdue(now):
        return 0
    return (now - item.overdue_from) // timedelta(days=7)


def _local(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%a %d %b %H:%M")
