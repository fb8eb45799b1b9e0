"""Text as Slack sends it, made plain for the knowledge core.

Slack encodes mentions, channels and links as ``<…>`` markup and escapes ``& < >``. The core
wants what the person typed: the bot's own mention removed, other markup reduced to its label.
"""

from __future__ import annotations

import re

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def plain_text(text: str | None, *, bot_user_id: str | None = None) -> str:
    """``text`` without Slack markup; mentions of the bot are dropped, other people's kept as
    ``@id``; links become their label (or address); entities are unescaped."""
    if not text:
        return ""

    def user(m: re.Match[str]) -> str:
        if bot_user_id and m.group(1) == bot_user_id:
            return ""
        return f"@{m.group(2) or m.group(1)}"

    out = _USER.sub(user, text)
    out = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", out)
    out = _SPECIAL.sub(lambda m: f"@{m.group(1)}", out)
    out = _SUBTEAM.sub(lambda m: f"@{m.group(1) or 'group'}", out)
    out = _DATE.sub(lambda m: m.group(1), out)
    out = _LINK.sub(lambda m: m.group(2) or m.group(1), out)
    out = out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]+", " ", out).strip()


def mentions(text: str | None, user_id: str) -> bool:
    return bool(text) and f"<@{user_id}" in text  # type: ignore[operator]
