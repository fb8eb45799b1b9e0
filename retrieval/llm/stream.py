"""Reading a model's JSON answer while it is still arriving, so that its text can be shown
as it is written and its citations checked before any of it is.

The answer's format puts ``answered`` and ``cited_ids`` before ``text``: by the time the
text starts, the ids it relies on are known and can be checked against the retrieved
elements. :func:`read_partial` reads whatever has arrived; :func:`releasable` says how much
of the text may be shown. Text is never released before the ids are in and check out, so a
reply that would be rejected (an invented id, no citation, a decline) shows nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass

_ANSWERED = re.compile(r'"answered"\s*:\s*(true|false)')
_CITED = re.compile(r'"cited_ids"\s*:\s*(\[[^\]]*\])')
_TEXT = re.compile(r'"text"\s*:\s*"')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "\\": "\\", "/": "/"}


@dataclass(frozen=True)
class PartialAnswer:
    """What has arrived of the model's JSON: each part is None until it is complete (the
    text: what has arrived of it, and whether its closing quote has)."""

    answered: bool | None
    cited_ids: list[str] | None
    text: str
    text_done: bool


def read_partial(reply: str) -> PartialAnswer:
    answered_match = _ANSWERED.search(reply)
    answered = None if answered_match is None else answered_match.group(1) == "true"
    cited: list[str] | None = None
    cited_match = _CITED.search(reply)
    if cited_match is not None:
        try:
            value = json.loads(cited_match.group(1))
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list):
            cited = [str(v) for v in value]
    text, done = "", False
    text_match = _TEXT.search(reply)
    if text_match is not None:
        text, done = _string_so_far(reply, text_match.end())
    return PartialAnswer(answered, cited, text, done)


def releasable(partial: PartialAnswer, allowed: Collection[str]) -> str:
    """The part of the text that may be shown now: all that has arrived once the answer says
    it answers and cites at least one id, every one of them in ``allowed``; else nothing."""
    if partial.answered is not True or not partial.cited_ids:
        return ""
    if any(i not in allowed for i in partial.cited_ids):
        return ""
    return partial.text.lstrip()


def _string_so_far(s: str, start: int) -> tuple[str, bool]:
    """The JSON string starting at ``start`` (after its opening quote), decoded as far as it
    has arrived, and whether it is complete. An escape cut off mid-way waits for the rest."""
    out: list[str] = []
    i = start
    while i < len(s):
        c = s[i]
        if c == '"':
            return "".join(out), True
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(s):
            break
        kind = s[i + 1]
        if kind != "u":
            out.append(_ESCAPES.get(kind, kind))
            i += 2
            continue
        decoded, used = _unicode_escape(s, i)
        if not used:
            break
        out.append(decoded)
        i += used
    return "".join(out), False


def _unicode_escape(s: str, i: int) -> tuple[str, int]:
    """``\\uXXXX`` at ``i`` (with its low half when it is a surrogate pair): the character and
    how many characters it took, or ("", 0) while incomplete."""
    first = s[i + 2 : i + 6]
    if len(first) < 4:
        return "", 0
    try:
        high = int(first, 16)
    except ValueError:
        return first, 6
    if 0xD800 <= high < 0xDC00:
        second = s[i + 6 : i + 12]
        if len(second) < 6:
            return "", 0
        if second.startswith("\\u"):
            try:
                low = int(second[2:], 16)
            except ValueError:
                low = 0
            if 0xDC00 <= low < 0xE000:
                return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), 12
    return chr(high), 6
