"""The progress feature's closed vocabularies, each defined once: how often an initiative is
updated (:class:`Cadence`) and how an update says it is going (:class:`UpdateStatus`).

Everything else is made from these two types: the database's CHECK constraints
(:func:`sql_in`), the CSV import's check and hint, the modals' menus, the `/progress` help,
the confirmations ("an update every two weeks"), the digest's labels, emoji and chart
colours, and every validity check (``Cadence(value)`` raises :class:`ValueError` naming the
allowed values; :meth:`Vocabulary.lookup` gives None instead). Both are
:class:`~enum.StrEnum`: a member *is* its value (``Cadence.WEEKLY == "weekly"``), so it is
stored, compared, written to CSV and JSON as the plain string. No I/O here.

How to add a cadence (two files; a status is the same, with ``ck_progress_updates_status``
on ``progress_updates``):

1. Add a member here, in the order menus should show it:
   ``QUARTERLY = "quarterly", "every three months", 3, 0`` (value, phrase, months, days).
2. Add a migration in ``bot/storage/migrations/versions/`` that replaces the constraint
   ``ck_initiatives_cadence`` with the new list: copy ``NEW_CADENCE_MIGRATION`` in
   ``tests/test_vocabulary.py``. The models already build the new text from this file, but a
   database keeps the old constraint until migrated, and refuses the new value;
   ``test_the_migrated_database_takes_every_cadence_and_status`` fails until the migration
   is there.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Self


def sql_in(column: str, values: Iterable[str]) -> str:
    """The CHECK constraint text ``column IN ('a', 'b')`` for a vocabulary's values."""
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"{column} IN ({quoted})"


def one_of(values: Iterable[str], last: str = ", ") -> str:
    """``weekly, fortnightly, monthly`` (``last=" or "``: ``…, fortnightly or monthly``)."""
    items = list(values)
    return last.join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


class Vocabulary(StrEnum):
    """A closed set of words (no members here: each vocabulary below has its own)."""

    @classmethod
    def lookup(cls, value: str | None) -> Self | None:
        """The member ``value`` names (exactly: no case folding), or None. ``cls(value)``
        is the same but raises ValueError naming the allowed values."""
        try:
            return cls(value) if value is not None else None
        except ValueError:
            return None


class Cadence(Vocabulary):
    """How often an initiative's owner posts an update.

    Each member is ``value, phrase, months, days``: ``phrase`` completes "an update …"
    (``every two weeks``) and, capitalised, labels the modal's menu (``Every two weeks``);
    one cadence after a date is ``months`` calendar months (a day that the month lacks
    becomes its last day: 31 Jan + 1 month = 28 Feb) and then ``days`` days later. Members
    are listed in the order menus and messages show them."""

    phrase: str
    months: int
    days: int

    # Runs once per member, when the class is made; ``Cadence("weekly")`` looks a member up
    # (hence the defaults: they let type checkers accept that call).
    def __new__(cls, value: str, phrase: str = "", months: int = 0, days: int = 0) -> Cadence:
        member = str.__new__(cls, value)
        member._value_ = value
        member.phrase = phrase
        member.months = months
        member.days = days
        return member

    WEEKLY = "weekly", "every week", 0, 7
    FORTNIGHTLY = "fortnightly", "every two weeks", 0, 14
    MONTHLY = "monthly", "every month", 1, 0

    @classmethod
    def _missing_(cls, value: object) -> Cadence:
        raise ValueError(f"unknown cadence {value!r}: use one of {one_of(cls)}")

    @property
    def label(self) -> str:
        """The menu label: ``Every two weeks``."""
        return self.phrase[:1].upper() + self.phrase[1:]

    @property
    def explained(self) -> str:
        """The value, with its phrase when the word alone may be unclear (the phrase is not
        simply "every <value without -ly>"): ``weekly``, ``fortnightly (every two weeks)``."""
        if self.phrase == f"every {self.value.removesuffix('ly')}":
            return self.value
        return f"{self.value} ({self.phrase})"

    def after(self, start: datetime) -> datetime:
        """``start`` plus one cadence."""
        when = start
        if self.months:
            index = when.month - 1 + self.months
            year, month = when.year + index // 12, index % 12 + 1
            day = min(when.day, calendar.monthrange(year, month)[1])
            when = when.replace(year=year, month=month, day=day)
        return when + timedelta(days=self.days)


class UpdateStatus(Vocabulary):
    """How an update says an initiative is going.

    Each member is ``value, label, glyph, emoji, colour``: the label people read
    (``At risk``), a Unicode glyph for plain-text places such as menu options, the Slack emoji
    for messages, and the digest chart's colour (Okabe–Ito, safe for the common colour-vision
    deficiencies). Members are listed in display order."""

    label: str
    glyph: str
    emoji: str
    colour: str

    def __new__(  # as Cadence's: runs once per member
        cls, value: str, label: str = "", glyph: str = "", emoji: str = "", colour: str = ""
    ) -> UpdateStatus:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.glyph = glyph
        member.emoji = emoji
        member.colour = colour
        return member

    ON_TRACK = "on_track", "On track", "🟢", ":large_green_circle:", "#009E73"  # bluish green
    AT_RISK = "at_risk", "At risk", "🟡", ":large_yellow_circle:", "#E69F00"  # orange
    OFF_TRACK = "off_track", "Off track", "🔴", ":red_circle:", "#D55E00"  # vermillion
    DONE = "done", "Done", "✅", ":white_check_mark:", "#0072B2"  # blue

    @classmethod
    def _missing_(cls, value: object) -> UpdateStatus:
        raise ValueError(f"unknown status {value!r}: use one of {one_of(cls)}")
