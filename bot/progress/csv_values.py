"""The checks of single CSV cells for :mod:`bot.progress.csv_io` (whose docstring says what
each column accepts). Each takes the cell's text and returns its value, or raises
:class:`Bad` with a message that says what is wrong and how to fix it. No I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.storage.vocabulary import Cadence, one_of
from framework_data.schema import Framework

TITLE_MAX = 200
DESCRIPTION_MAX = 4000
FUTURE_TOLERANCE = timedelta(days=1)
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_INITIATIVE_ID = re.compile(r"#?\s*(\d{1,18})")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_FIND_ID = "in Slack open the person's profile, click ⋮ (More) and choose 'Copy member ID'"
_DATE_FORM = "2026-11-20 or 2026-11-20T14:05 (UTC unless you add an offset such as +02:00)"


class Bad(Exception):
    """A value is wrong; the message says why and how to fix it."""


def show(value: str, limit: int = 40) -> str:
    """A value quoted for a message, shortened if long."""
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def initiative_id(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if found := _INITIATIVE_ID.fullmatch(text):
        return int(found.group(1))
    raise Bad(
        f"{show(text)} is not an initiative id; write the number that `fwbot progress"
        " export` gives (like 12), or leave it empty to add a new initiative"
    )


def title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise Bad("is empty; every initiative needs a title")
    if bad := next((c for c in title if unicodedata.category(c) == "Cc"), None):
        raise Bad(f"contains the control character U+{ord(bad):04X}; remove it")
    if len(title) > TITLE_MAX:
        raise Bad(
            f"is {len(title)} characters long; the limit is {TITLE_MAX}. Shorten it and"
            " put the details in the description column"
        )
    return title


def owner(value: str) -> str:
    owner = value.strip()
    if not owner:
        raise Bad(f"is empty; give the owner's Slack user id (like U012AB3CD): {_FIND_ID}")
    if _USER_ID.fullmatch(owner):
        return owner
    if mention := _MENTION.fullmatch(owner):
        return mention.group(1)
    raise Bad(
        f"{show(owner)} is not a Slack user id (like U012AB3CD). A name, @name or"
        f" e-mail address cannot be used; to find the id, {_FIND_ID}"
    )


def cadence_hint() -> str:
    """What the cadence column accepts: ``weekly, fortnightly (every two weeks) or monthly``."""
    return one_of((c.explained for c in Cadence), " or ")


def cadence(value: str) -> Cadence:
    cadence = " ".join(value.split()).casefold()
    if found := Cadence.lookup(cadence):
        return found
    allowed = cadence_hint()
    if not cadence:
        raise Bad(f"is empty; write {allowed}")
    if cadence in ("biweekly", "bi-weekly", "bi weekly"):
        raise Bad(
            f"{show(value.strip())} is unclear (every two weeks, or twice a week?);"
            " write fortnightly for every two weeks"
        )
    raise Bad(f"{show(value.strip())} is not a cadence; write {allowed}")


def last_update(value: str, now: datetime) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Bad(
            f"{show(text)} is not a date in the expected form; write it like"
            f" {_DATE_FORM}, or leave it empty"
        ) from None
    if when > now + FUTURE_TOLERANCE:
        raise Bad(
            f"{show(text)} is in the future (today is {now:%Y-%m-%d} UTC); give the"
            " date of the latest progress update, or leave it empty"
        )
    return when


def description(value: str) -> str:
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > DESCRIPTION_MAX:
        raise Bad(f"is {len(text)} characters long; the limit is {DESCRIPTION_MAX}")
    return text


def objectives_checker(framework: Framework) -> Callable[[str], tuple[str, ...]]:
    ids = [o.id for _, o in framework.objectives()]
    by_key = {i.lower(): i for i in ids}
    if len(ids) == 1:
        known = f"this framework has one objective: {ids[0]}"
    elif len(ids) <= 6:
        known = f"this framework's objectives are {', '.join(ids)}"
    else:
        known = f"this framework has {ids[0]}–{ids[-1]} (see `fwbot framework show`)"

    def check(value: str) -> tuple[str, ...]:
        given = [p.strip() for p in value.split(";") if p.strip()]
        if not given:
            raise Bad(
                "is empty; give at least one objective id, such as"
                f" {ids[0]}; separate several with ';'"
            )
        unknown = [g for g in dict.fromkeys(given) if g.lower() not in by_key]
        if unknown:
            glued = [u for u in unknown if "," in u or " " in u]
            names = ", ".join(show(u) if u in glued else u for u in unknown)
            hint = "; separate objective ids with ';', for example 1.1;2.3" if glued else ""
            raise Bad(f"unknown objective{'s' * (len(unknown) > 1)} {names}; {known}{hint}")
        return tuple(dict.fromkeys(by_key[g.lower()] for g in given))

    return check
