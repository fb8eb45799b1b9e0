"""`/progress` and its subcommands: read the words, ask the service, answer privately.

:data:`SUBCOMMANDS` is the one table of them: it dispatches the first word, and
`/progress help` lists it (its usage and what it does), in its order.

The manifest sets ``should_escape: true`` for /progress, so people arrive as ``<@U123>`` or
``<@U123|name>``; initiatives are ``#12`` or ``12``. Every refusal or mistake gets a kind
answer (the service's own words); nothing fails silently.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta

from slack_sdk.errors import SlackApiError

from ...progress.schedule import zone
from ...progress.service import ProgressError, ProgressService
from ...slack_api.workspace import user_info
from ...storage.progress_records import WEEKDAYS, InitiativeRecord
from ...storage.vocabulary import Cadence
from ..blocks import Message
from ..blocks.base import mention
from ..blocks.progress import (
    help_message,
    initiatives_message,
    notice,
    overdue_message,
    service_text,
    slack_date,
    slack_time,
    title_of,
)
from ..blocks.text import escape
from ..deps import SlackDeps
from ..guard import reporting_failures
from ..incoming import plain_text
from .progress_forms import (
    Where,
    open_new,
    open_update,
    service,
    tell_user,
)

log = logging.getLogger("fwbot.slack")

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_LABEL = re.compile(r"<#[CG][A-Z0-9]+\|#?(\d{1,9})>")  # "#12" if a channel "12" exists
_ID = re.compile(r"#?(\d{1,9})")
_CLOCK = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?")
TZ_RECHECK = timedelta(days=1)


@dataclass(frozen=True)
class Command:
    deps: SlackDeps
    where: Where
    trigger_id: str | None

    @property
    def progress(self) -> ProgressService:
        return service(self.deps)

    @property
    def user(self) -> str:
        return self.where.user

    def tell(self, text: str) -> None:
        self.where.tell(self.deps, notice(text))

    def send(self, message: Message) -> None:
        self.where.tell(self.deps, message)


# ---- reading the words -------------------------------------------------------------------------


def parse_user(token: str) -> str | None:
    """``<@U123>`` / ``<@U123|name>`` → ``U123``."""
    m = _USER.fullmatch(token.strip())
    return m.group(1) if m else None


def parse_id(token: str) -> int | None:
    """``#12`` / ``12`` (or a channel link labelled 12) → 12."""
    token = token.strip()
    m = _ID.fullmatch(token) or _CHANNEL_LABEL.fullmatch(token)
    return int(m.group(1)) if m else None


def parse_weekday(word: str) -> int | None:
    """ "tuesday", "Tuesdays", "Tue", "tu" → 1; None if not (exactly) one weekday."""
    w = word.lower().strip(".,")
    if w.endswith("s") and w[:-1] in WEEKDAYS:
        w = w[:-1]
    found = [i for i, day in enumerate(WEEKDAYS) if len(w) >= 2 and day.startswith(w)]
    return found[0] if len(found) == 1 else None


def parse_clock(word: str) -> time | None:
    """ "10:00", "9.30", "14h", "9am", "2:30pm" → a time; None if not one."""
    m = _CLOCK.fullmatch(word.strip().lower())
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m.group(3) == "pm" else 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None


WHEN_EXAMPLE = "`/progress when tuesday 10:00`"


def parse_when(words: list[str]) -> tuple[int, time]:
    """A weekday and a time, in either order; ProgressError otherwise."""
    day: int | None = None
    at: time | None = None
    for word in words:
        if day is None and (d := parse_weekday(word)) is not None:
            day = d
        elif at is None and (t := parse_clock(word)) is not None:
            at = t
    if day is None or at is None:
        raise ProgressError(f"Please give a day and a time (24-hour clock), e.g. {WHEN_EXAMPLE}.")
    return day, at


def _id_and_user(args: list[str], example: str) -> tuple[int, str]:
    ids = [i for i in map(parse_id, args) if i is not None]
    users = [u for u in map(parse_user, args) if u is not None]
    if not ids or not users:
        stray = next((a for a in args if a.startswith("@")), None)
        if stray:
            raise ProgressError(
                f"I couldn't tell who `{stray}` is — pick the person from "
                f"Slack's @ list, e.g. {example}."
            )
        raise ProgressError(f"Please write it like {example}.")
    return ids[0], users[0]


# ---- subcommands ----------------------------------------------------------------------------


def _update(cmd: Command, args: list[str]) -> None:
    wanted = next((i for i in map(parse_id, args) if i is not None), None)
    if wanted is not None:
        open_update(cmd.deps, wanted, cmd.trigger_id, cmd.where)
        return
    mine = cmd.progress.mine(cmd.user)
    if not mine:
        cmd.tell(
            "You have no initiatives to update yet. Start one with `/progress new`, "
            "or press *Track as initiative* on an `/align` result. "
            "`/progress help` shows everything I can do."
        )
        return
    open_update(cmd.deps, mine[0].id, cmd.trigger_id, cmd.where)  # the most overdue


def _list(cmd: Command, args: list[str]) -> None:
    cmd.send(
        initiatives_message(cmd.progress.mine(cmd.user), now=cmd.progress.clock(), user_id=cmd.user)
    )


def _new(cmd: Command, args: list[str]) -> None:
    open_new(cmd.deps, cmd.trigger_id, cmd.where, title=plain_text(" ".join(args)))


def _snooze(cmd: Command, args: list[str]) -> None:
    if not args:
        raise ProgressError(
            "For how long? e.g. `/progress snooze tomorrow`, `next week`, "
            "`3d` or `2w` (`off` ends a snooze)."
        )
    prefs = cmd.progress.snooze(cmd.user, " ".join(args))
    if prefs.snoozed_until is None:
        cmd.tell(
            "Snooze ended — your reminders are back on. Next one: "
            f"{slack_time(cmd.progress.next_nudge(cmd.user))}."
        )
    else:
        cmd.tell(
            f":zzz: Snoozed until {slack_time(prefs.snoozed_until)}. "
            "`/progress snooze off` ends it early."
        )


def _leave(cmd: Command, args: list[str]) -> None:
    if not args:
        raise ProgressError(
            "Please give the last day of your leave, e.g. "
            "`/progress leave until 2026-12-24` (`/progress leave off` when "
            "you are back early)."
        )
    prefs = cmd.progress.leave(cmd.user, " ".join(args))
    if prefs.leave_until is None:
        cmd.tell(
            "Welcome back! Your reminders are on again. Next one: "
            f"{slack_time(cmd.progress.next_nudge(cmd.user))}."
        )
    else:
        last_day = prefs.leave_until - timedelta(seconds=1)
        cmd.tell(
            f"Enjoy your time away! No reminders until the end of {slack_date(last_day)}."
            " `/progress leave off` if you are back early."
        )


def remember_time_zone(deps: SlackDeps, user: str) -> None:
    """Learn the user's time zone from Slack (users.info) when unknown or a day old, so
    "10:00" means their 10:00 (as :mod:`bot.progress.time_zones` does for all owners).
    Best effort: without it the default zone applies."""
    progress = service(deps)
    prefs, now = progress.prefs(user), progress.clock()
    if prefs.tz and prefs.tz_checked_at and now - prefs.tz_checked_at < TZ_RECHECK:
        return
    try:
        tz = user_info(deps.delivery.client, user).get("tz")
    except SlackApiError as exc:
        log.info("users.info for %s failed: %s", user, exc.response.get("error"))
        return
    if tz and zone(tz, "").key == tz:
        progress.store.set_prefs(
            user, actor="system", now=now, audit=tz != prefs.tz, tz=tz, tz_checked_at=now
        )


def _when(cmd: Command, args: list[str]) -> None:
    remember_time_zone(cmd.deps, cmd.user)
    if not args:
        prefs = cmd.progress.prefs(cmd.user)
        tz = zone(prefs.tz, cmd.progress.default_tz)
        cmd.tell(
            f"Your weekly reminder is on {WEEKDAYS[prefs.nudge_weekday].capitalize()}s "
            f"at {prefs.nudge_time:%H:%M} ({escape(tz.key)}). Change it with "
            f"{WHEN_EXAMPLE}."
        )
        return
    weekday, at = parse_when(args)
    prefs = cmd.progress.set_nudge_time(cmd.user, weekday, at)
    tz = zone(prefs.tz, cmd.progress.default_tz)
    cmd.tell(
        f"Done: your weekly reminder is now on {WEEKDAYS[weekday].capitalize()}s at "
        f"{at:%H:%M} ({escape(tz.key)}). Next one: "
        f"{slack_time(cmd.progress.next_nudge(cmd.user))}."
    )


def _overdue(cmd: Command, args: list[str]) -> None:
    cmd.send(overdue_message(cmd.progress.overdue(cmd.user), now=cmd.progress.clock()))


def _dm(cmd: Command, user: str, text: str) -> None:
    tell_user(cmd.deps, cmd.where, user, text)


def _reassign(cmd: Command, args: list[str]) -> None:
    initiative_id, owner = _id_and_user(args, "`/progress reassign #12 @maria`")
    record = cmd.progress.reassign(initiative_id, owner, actor=cmd.user)
    cmd.tell(f"Done: {title_of(record)} now belongs to {mention(owner)}.")
    if owner != cmd.user:
        _dm(
            cmd,
            owner,
            f"Hi {mention(owner)}! {mention(cmd.user)} gave you {title_of(record)} "
            "to look after. I'll ask you for a short update when one is due; "
            "`/progress list` shows all yours.",
        )


def _close(cmd: Command, args: list[str]) -> None:
    ids = [i for i in map(parse_id, args) if i is not None]
    if not ids:
        raise ProgressError(
            "Which one? e.g. `/progress close #12` (`/progress list` shows the numbers)."
        )
    record: InitiativeRecord = cmd.progress.close(ids[0], actor=cmd.user)
    cmd.tell(f"Closed {title_of(record)}. Its updates stay in the history. Thank you!")
    if record.owner_id != cmd.user:
        _dm(
            cmd,
            record.owner_id,
            f"{mention(cmd.user)} closed {title_of(record)}: no more reminders for it.",
        )


def _lead(cmd: Command, args: list[str]) -> None:
    users = [u for u in map(parse_user, args) if u is not None]
    cadences = [c for c in (Cadence.lookup(a.lower()) for a in args) if c is not None]
    rest = [a for a in args if parse_user(a) is None and Cadence.lookup(a.lower()) is None]
    if not users or len(rest) != 1:
        example = "`/progress lead 2.3 @maria monthly` (the cadence is optional)"
        stray = next((a for a in args if a.startswith("@")), None)
        if stray:  # a name typed, not a person picked: Slack sends <@U…> only for those
            raise ProgressError(
                f"I couldn't tell who `{escape(stray)}` is — pick the person from Slack's @ list "
                f"(a name typed without picking it does not work), e.g. {example}."
            )
        raise ProgressError(f"Please write it like {example}.")
    extra = {"cadence": cadences[0]} if cadences else {}
    record = cmd.progress.set_lead(rest[0].lstrip("#"), users[0], actor=cmd.user, **extra)
    oid = escape(record.objective_ids[0])
    every = record.cadence.phrase
    cmd.tell(f"Done: {mention(users[0])} now leads objective {oid} and posts an update {every}.")
    if users[0] != cmd.user:
        _dm(
            cmd,
            users[0],
            f"Hi {mention(users[0])}! {mention(cmd.user)} named you the lead "
            f"of objective {oid}. I'll ask you for a short update on it "
            f"{every}; `/progress` posts one.",
        )


def _help(cmd: Command, args: list[str]) -> None:
    cmd.send(progress_help())


@dataclass(frozen=True)
class Subcommand:
    """``/progress <name> <example>`` runs ``run(cmd, the words after name)``; the help shows
    it as ``/progress <name> <example>`` — ``what``."""

    name: str
    run: Callable[[Command, list[str]], None]
    example: str
    what: str

    @property
    def usage(self) -> str:
        return " ".join(w for w in (self.name, self.example) if w)


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("", _update, "", "post an update on your most overdue initiative"),
    Subcommand("update", _update, "#12", "post an update on one initiative"),
    Subcommand("list", _list, "", "your initiatives, with buttons to update them"),
    Subcommand("new", _new, "", "start tracking a new initiative"),
    Subcommand(
        "snooze",
        _snooze,
        "tomorrow",
        "no reminder until tomorrow (also `next week`, `3d`, `2w`, `off`)",
    ),
    Subcommand(
        "leave",
        _leave,
        "until 2026-12-24",
        "no reminders while you are away (`leave off`: back early)",
    ),
    Subcommand("when", _when, "tuesday 10:00", "the day and time of your weekly reminder"),
    Subcommand(
        "reassign",
        _reassign,
        "#12 @person",
        "give an initiative to someone else (owner or admin)",
    ),
    Subcommand("close", _close, "#12", "stop tracking an initiative (owner or admin)"),
    Subcommand("overdue", _overdue, "", "everyone's overdue initiatives (admins)"),
    Subcommand(
        "lead",
        _lead,
        f"2.3 @person [{'|'.join(Cadence)}]",
        "name an objective's lead (admins)",
    ),
    Subcommand("help", _help, "", "this list"),
)
_BY_NAME = {s.name: s for s in SUBCOMMANDS}


def progress_help(*, unknown: str | None = None) -> Message:
    """`/progress help`: every subcommand of :data:`SUBCOMMANDS`, in its order."""
    return help_message([(s.usage, s.what) for s in SUBCOMMANDS], unknown=unknown)


def run_command(deps: SlackDeps, command: dict) -> None:
    """Answer one ``/progress …`` (after the ack)."""
    where = Where(command["user_id"], command.get("channel_id"), command.get("response_url"))
    cmd = Command(deps, where, command.get("trigger_id"))
    words = (command.get("text") or "").split()
    name = words[0].lower() if words else ""
    with reporting_failures(
        "progress_command",
        deps.metrics,
        cmd.send,
        summary="I couldn't finish that /progress command.",
    ):
        subcommand = _BY_NAME.get(name)
        if subcommand is None:
            cmd.send(progress_help(unknown=plain_text(words[0])))
            return
        try:
            subcommand.run(cmd, words[1:])
        except ProgressError as exc:
            cmd.tell(service_text(str(exc)))
