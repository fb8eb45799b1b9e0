"""The people of the console's fake workspace (``fwbot console --slack``), and mentions.

Slack turns ``@maria`` picked from its @ list into ``<@U…>`` before the app sees it; in the
console, ``@name`` of a local person becomes that mention on the way in, and a mention on the
way out is shown as ``@name`` again. An ``@name`` nobody here has stays as typed (the app then
says it cannot tell who that is) and the console says who is here.
"""

from __future__ import annotations

import re
from typing import Any

USER = "ULOCAL"  # the person at the keyboard
# name -> (user id, real name, time zone)
PEOPLE: dict[str, tuple[str, str, str]] = {
    "alex": (USER, "Alex Local", "Europe/Paris"),
    "maria": ("UMARIA", "Maria Santos", "America/Sao_Paulo"),
    "omar": ("UOMAR", "Omar Haddad", "Asia/Amman"),
    "aiko": ("UAIKO", "Aiko Tanaka", "Asia/Tokyo"),
}
NAMES = {user_id: name for name, (user_id, _, _) in PEOPLE.items()}

_TYPED = re.compile(r"(?<![<\w@])@([A-Za-z][\w.-]*)")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def add_people(api: Any) -> None:
    """Put the local people into the fake workspace (``users.info`` knows them)."""
    for name, (user_id, real_name, tz) in PEOPLE.items():
        api.add_user(user_id, real_name=real_name, name=name, tz=tz)


def to_slack(text: str) -> tuple[str, list[str]]:
    """``text`` with each local ``@name`` as Slack's ``<@U…>``; and the names not known here."""
    unknown: list[str] = []

    def swap(match: re.Match[str]) -> str:
        name = match.group(1).rstrip(".-")
        person = PEOPLE.get(name.lower())
        if person is None:
            unknown.append(name)
            return match.group(0)
        return f"<@{person[0]}>" + match.group(1)[len(name) :]

    return _TYPED.sub(swap, text), unknown


def from_slack(text: str) -> str:
    """Mentions as ``@name`` (``@U…`` for someone not from here)."""
    return _MENTION.sub(lambda m: "@" + NAMES.get(m.group(1), m.group(1)), text)


def who_is_here() -> str:
    """The line the banner and ``/users`` show."""
    others = ", ".join(
        f"@{name} ({real})" for name, (uid, real, _) in PEOPLE.items() if uid != USER
    )
    me = next(name for name, (uid, _, _) in PEOPLE.items() if uid == USER)
    return (
        f"You are @{me}. Others here: {others}. Write @name to mention one, "
        "e.g. /progress lead 2.3 @maria monthly."
    )
