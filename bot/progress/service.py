"""Progress tracking as a service: what the Slack listeners and the CLI call.

Every change checks who may make it: the initiative's owner or an admin may post updates,
reassign and close (:meth:`ProgressService.changeable`, whose refusal names nothing the asker
may not see); only admins may name objective leads and see everyone's overdue work.
"""

from __future__ import annotations

import contextlib
import threading
import time as _time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from framework_data.schema import Framework

from ..storage.claims_store import ClaimStore
from ..storage.progress_records import (
    Cadence,
    InitiativeRecord,
    NewInitiative,
    OwnerPrefs,
    UpdateRecord,
    UpdateStatus,
)
from ..storage.progress_store import ProgressStore
from ..storage.store import UnknownRecord
from ..storage.vocabulary import one_of
from .schedule import local_instant, next_weekly_slot, week_start, zone

MAX_TITLE = 200
MAX_NOTE = 3000
MAX_SNOOZE = timedelta(weeks=8)
MAX_LEAVE = timedelta(days=366)


class ProgressError(ValueError):
    """A request that can't be done as asked; the message says why, kindly."""


class NotAllowed(ProgressError):
    """The user may not do this (not the owner, not an admin)."""


class UnknownInitiative(ProgressError):
    pass


def not_yours(initiative_id: int) -> str:
    """The one refusal of a change to an initiative: the same words whether it exists or not,
    without its title or owner (see :meth:`ProgressService.changeable`)."""
    return (
        f"You can only change initiatives you own: #{initiative_id} isn't one of yours. "
        "`/progress list` shows yours."
    )


class Admins:
    """Who is an admin: ``ADMIN_USER_IDS``, plus members of a Slack user group when
    ``group_members`` is given (looked up at most every ``ttl`` seconds; on a failed
    lookup the last known members are kept)."""

    def __init__(
        self,
        user_ids: Iterable[str] = (),
        *,
        group_members: Callable[[], Iterable[str]] | None = None,
        ttl: float = 300.0,
        clock: Callable[[], float] = _time.monotonic,
    ) -> None:
        self.user_ids = frozenset(user_ids)
        self._group_members = group_members
        self._ttl, self._clock = ttl, clock
        self._members: frozenset[str] = frozenset()
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def _group(self) -> frozenset[str]:
        if self._group_members is None:
            return frozenset()
        with self._lock:
            now = self._clock()
            if self._fetched_at is None or now - self._fetched_at >= self._ttl:
                # On a failed lookup the last known members stay; it is tried again later.
                with contextlib.suppress(Exception):
                    self._members = frozenset(self._group_members())
                self._fetched_at = now
            return self._members

    def __contains__(self, user_id: object) -> bool:
        return user_id in self.user_ids or user_id in self._group()

    def all(self) -> frozenset[str]:
        return self.user_ids | self._group()


class ProgressService:
    def __init__(
        self,
        store: ProgressStore,
        framework: Framework,
        *,
        admins: Admins,
        default_tz: str = "UTC",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.framework = framework
        self.admins = admins
        self.default_tz = default_tz
        self.clock = clock
        self.claims = ClaimStore(store.database)

    # ---- reading -------------------------------------------------------------------------

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admins

    def get(self, initiative_id: int) -> InitiativeRecord:
        record = self.store.initiative(initiative_id)
        if record is None:
            raise UnknownInitiative(
                f"There is no initiative #{initiative_id}. `/progress list` shows yours."
            )
        return record

    def mine(self, user_id: str) -> list[InitiativeRecord]:
        """My active initiatives, most overdue first."""
        return sorted(
            self.store.initiatives(owner_id=user_id), key=lambda i: (i.overdue_from, i.id)
        )

    def overdue(self, user_id: str) -> list[InitiativeRecord]:
        """Everyone's overdue initiatives (admins only), oldest first."""
        self._require_admin(user_id, "see everyone's overdue initiatives")
        now = self.clock()
        return sorted(
            (i for i in self.store.initiatives() if i.is_overdue(now)),
            key=lambda i: (i.overdue_from, i.id),
        )

    def prefs(self, user_id: str) -> OwnerPrefs:
        return self.store.prefs(user_id)

    def is_nudge_of(self, user_id: str, channel_id: str, message_ts: str) -> bool:
        """Whether the message ``message_ts`` in ``channel_id`` is a nudge the bot sent to
        ``user_id`` (so in their DM), as its sent claim recorded it."""
        return any(
            claim.channel_id == channel_id
            for claim in self.claims.claims(
                "nudge", subject=user_id, state="sent", message_ts=message_ts
            )
        )

    # ---- initiatives -----------------------------------------------------------------------

    def check_objectives(self, ids: Iterable[str]) -> tuple[str, ...]:
        """The ids in the framework's own spelling; ProgressError naming any unknown one."""
        known: list[str] = []
        unknown: list[str] = []
        for raw in ids:
            raw = raw.strip()
            if not raw:
                continue
            objective = self.framework.objective(raw)
            (known if objective else unknown).append(objective.id if objective else raw)
        if unknown:
            raise ProgressError(
                f"Unknown objective {', '.join(unknown)}: use ids like {self._example_ids()}."
            )
        if not known:
            raise ProgressError("Pick at least one objective this initiative serves.")
        return tuple(dict.fromkeys(known))

    def _example_ids(self) -> str:
        ids = [o.id for _, o in self.framework.objectives()]
        return f"{ids[0]} … {ids[-1]}" if len(ids) > 1 else ids[0]

    def create(self, new: NewInitiative, *, actor: str) -> InitiativeRecord:
        title = " ".join(new.title.split())
        if not title:
            raise ProgressError("An initiative needs a title.")
        if len(title) > MAX_TITLE:
            raise ProgressError(
                f"Please keep the title under {MAX_TITLE} characters (it has {len(title)})."
            )
        # new.cadence is a Cadence: NewInitiative refuses any other value when it is made.
        item = replace(new, title=title, objective_ids=self.check_objectives(new.objective_ids))
        return self.store.create_initiative(item, actor=actor, now=self.clock())

    def can_change(self, record: InitiativeRecord, user_id: str) -> bool:
        """Whether ``user_id`` may update, reassign or close ``record``: its owner or an
        admin."""
        return user_id == record.owner_id or self.is_admin(user_id)

    def changeable(self, initiative_id: int, user_id: str) -> InitiativeRecord:
        """The initiative ``user_id`` wants to change, if they may (its owner or an admin);
        every check of an initiative number someone gives goes through here, before anything
        else about it is looked at or said. To anyone else, an initiative that is not theirs
        and one that does not exist get the same :func:`not_yours` answer, which names
        neither its title nor its owner (only admins hear that a number is unknown)."""
        record = self.store.initiative(initiative_id)
        if record is not None and self.can_change(record, user_id):
            return record
        if record is None and self.is_admin(user_id):
            return self.get(initiative_id)  # raises UnknownInitiative
        raise NotAllowed(not_yours(initiative_id))

    def _require_admin(self, user_id: str, doing: str) -> None:
        if not self.is_admin(user_id):
            raise NotAllowed(f"Only admins can {doing}. Ask one of your fwbot admins.")

    def post_update(
        self, initiative_id: int, *, actor: str, status: str, percent: int | None, note: str = ""
    ) -> UpdateRecord:
        record = self.changeable(initiative_id, actor)
        if record.status != "active":
            raise ProgressError(f"#{record.id} “{record.title}” is closed.")
        if UpdateStatus.lookup(status) is None:
            raise ProgressError(f"Status must be one of: {one_of(s.label for s in UpdateStatus)}.")
        if percent is not None and not 0 <= percent <= 100:
            raise ProgressError("Percent complete must be a whole number from 0 to 100.")
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise ProgressError(
                f"Please keep the note under {MAX_NOTE} characters (it has {len(note)})."
            )
        try:
            return self.store.add_update(
                initiative_id,
                status=status,
                percent=percent,
                note=note,
                author_id=actor,
                now=self.clock(),
            )
        except UnknownRecord as exc:  # deleted meanwhile
            raise UnknownInitiative(str(exc)) from exc

    def no_change(self, initiative_id: int, *, actor: str) -> UpdateRecord:
        """An update that repeats the previous status and percent."""
        record = self.changeable(initiative_id, actor)
        if record.last_status is None:
            raise ProgressError(
                f"#{record.id} “{record.title}” has no update yet, so there is "
                "no status to repeat: please post a first update."
            )
        if record.status != "active":
            raise ProgressError(f"#{record.id} “{record.title}” is closed.")
        return self.store.add_update(
            initiative_id,
            status=record.last_status,
            percent=record.last_percent,
            note="No change",
            author_id=actor,
            no_change=True,
            now=self.clock(),
        )

    def reassign(self, initiative_id: int, new_owner: str, *, actor: str) -> InitiativeRecord:
        self.changeable(initiative_id, actor)
        return self.store.reassign(initiative_id, new_owner, actor=actor, now=self.clock())

    def close(self, initiative_id: int, *, actor: str) -> InitiativeRecord:
        record = self.changeable(initiative_id, actor)
        if record.status == "closed":
            raise ProgressError(f"#{record.id} “{record.title}” is already closed.")
        return self.store.close(initiative_id, actor=actor, now=self.clock())

    def set_lead(
        self, objective_id: str, owner_id: str, *, actor: str, cadence: str = Cadence.MONTHLY
    ) -> InitiativeRecord:
        self._require_admin(actor, "name objective leads")
        (oid,) = self.check_objectives([objective_id])
        if Cadence.lookup(cadence) is None:
            raise ProgressError(f"Cadence must be one of {one_of(Cadence)}.")
        objective = self.framework.objective(oid)
        label = (
            objective.title
            if objective and objective.title
            else (objective.text if objective else oid)
        )
        title = f"Objective {oid}: {label}"[:MAX_TITLE]
        return self.store.set_objective_lead(
            oid, owner_id=owner_id, cadence=cadence, title=title, actor=actor, now=self.clock()
        )

    # ---- the owner's time: snooze, leave, nudge time -------------------------------------

    def snooze(self, user_id: str, spec: str) -> OwnerPrefs:
        """``tomorrow`` (at my nudge time), ``next week`` (my next weekly nudge), ``3d``,
        ``1w``, ``2 weeks``…; ``off`` ends a snooze."""
        now = self.clock()
        prefs = self.store.prefs(user_id)
        tz = zone(prefs.tz, self.default_tz)
        words = " ".join(spec.lower().split())
        if words in ("off", "cancel", "stop", "end", "none"):
            return self.store.set_prefs(user_id, actor=user_id, now=now, snoozed_until=None)
        if words == "tomorrow":
            day = now.astimezone(tz).date() + timedelta(days=1)
            until = local_instant(day, prefs.nudge_time, tz)
        elif words == "next week":
            monday = week_start(now, tz) + timedelta(days=7)
            until = local_instant(
                monday + timedelta(days=prefs.nudge_weekday), prefs.nudge_time, tz
            )
        else:
            until = now + parse_duration(words)
        if until - now > MAX_SNOOZE:
            raise ProgressError(
                "You can snooze for up to 8 weeks; for longer, use "
                "`/progress leave until YYYY-MM-DD`."
            )
        return self.store.set_prefs(user_id, actor=user_id, now=now, snoozed_until=until)

    def leave(self, user_id: str, spec: str) -> OwnerPrefs:
        """``until 2026-12-24`` (away through that day) or ``off`` (back now)."""
        now = self.clock()
        prefs = self.store.prefs(user_id)
        tz = zone(prefs.tz, self.default_tz)
        words = " ".join(spec.lower().split())
        if words in ("off", "cancel", "back", "end", "none"):
            return self.store.set_prefs(user_id, actor=user_id, now=now, leave_until=None)
        if words.startswith("until "):
            words = words[len("until ") :]
        last_day = parse_date(words)
        until = local_instant(last_day + timedelta(days=1), time(0, 0), tz)
        if until <= now:
            raise ProgressError(
                f"{last_day:%d %b %Y} is in the past: give the last day of "
                "your leave, e.g. `/progress leave until "
                f"{(now + timedelta(days=14)).astimezone(tz):%Y-%m-%d}`."
            )
        if until - now > MAX_LEAVE:
            raise ProgressError("Leave can be set up to a year ahead.")
        return self.store.set_prefs(user_id, actor=user_id, now=now, leave_until=until)

    def set_nudge_time(self, user_id: str, weekday: int, at: time) -> OwnerPrefs:
        return self.store.set_prefs(
            user_id, actor=user_id, now=self.clock(), nudge_weekday=weekday, nudge_time=at
        )

    def next_nudge(self, user_id: str) -> datetime:
        prefs = self.store.prefs(user_id)
        tz = zone(prefs.tz, self.default_tz)
        now = max(filter(None, (self.clock(), prefs.snoozed_until, prefs.leave_until)))
        return next_weekly_slot(now, prefs.nudge_weekday, prefs.nudge_time, tz)


_UNITS = {"d": 1, "day": 1, "days": 1, "w": 7, "wk": 7, "week": 7, "weeks": 7}


def parse_duration(words: str) -> timedelta:
    """``3d``, ``1w``, ``2 weeks``, ``a week`` → a timedelta; ProgressError otherwise."""
    text = words.strip().lower().replace("a week", "1 week").replace("a day", "1 day")
    number = "".join(ch for ch in text if ch.isdigit())
    unit = "".join(ch for ch in text if ch.isalpha())
    if number and unit in _UNITS and 0 < int(number) <= 60:
        return timedelta(days=int(number) * _UNITS[unit])
    raise ProgressError(
        f"I don't understand “{words}” as a snooze: try `tomorrow`, `next week`, `3d` or `2w`."
    )


def parse_date(words: str) -> date:
    """``2026-12-24``, ``24.12.2026`` or ``24/12/2026`` (day first) → a date."""
    text = words.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ProgressError(
        f"I don't understand “{words}” as a date: please write it as "
        "YYYY-MM-DD, e.g. `/progress leave until 2026-12-24`."
    )
