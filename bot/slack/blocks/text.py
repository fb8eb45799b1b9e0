"""Text helpers for Slack mrkdwn: escaping, splitting to size, shortening.

Rule of the package: every piece of text that is not markup we wrote ourselves (user input,
framework text, bot-composed answers) goes through :func:`escape` before it enters a mrkdwn
field, so a typed ``<!channel>`` or ``<@U123>`` is shown, never acted on. Plain-text fields
(headers, buttons, options, view titles) are not parsed by Slack and are not escaped; they
are cut to size with :func:`shorten`. Both make bidi controls visible (:func:`neutralise_bidi`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ELLIPSIS = "…"

# An escape entity such as "&amp;", "&lt;", "&#8212;"; a cut must not fall inside one.
_ENTITY = re.compile(r"&(?:[A-Za-z]{1,8}|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});")
_ENTITY_MAX = 12

# Split points, best first. Each pattern's group 1 is the whitespace dropped at the cut.
_SEPARATORS = (
    re.compile(r"[ \t]*(\n[ \t]*\n\s*)"),  # paragraph break
    re.compile(r"[ \t]*(\n\s*)"),  # line break
    re.compile(r"[.!?…][\"'”’)\]]*(\s+)"),  # sentence end
    re.compile(r"(\s+)"),  # space
)
# A cut at a separator is taken only if the piece before it is at least this share of the
# limit; otherwise a weaker separator further on is preferred. This bounds the number of pieces
# to about 2 × len / limit, whatever the text looks like.
_MIN_SHARE = 0.5


# Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder the text
# around them: a typed U+202E can make a quoted proposal read backwards or disguise a name.
# They are shown as "[U+202E]". The marks U+200E / U+200F (and U+061C) are kept: they only
# set the direction of the characters next to them, which right-to-left writers need.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def neutralise_bidi(text: str) -> str:
    """``text`` with each bidi embedding, override or isolate control made visible as
    ``[U+XXXX]``, so it reorders nothing."""
    return _BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` for Slack mrkdwn (``&`` first), and make bidi controls
    visible (:func:`neutralise_bidi`)."""
    text = neutralise_bidi(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str) -> str:
    """The text with every run of whitespace (newlines included) made a single space."""
    return " ".join(text.split())


def _safe_end(text: str, end: int) -> int:
    """``end``, moved back to the start of an escape entity that it would cut through."""
    start = max(0, end - _ENTITY_MAX)
    for m in _ENTITY.finditer(text, start, min(len(text), end + _ENTITY_MAX)):
        if m.start() < end < m.end():
            return m.start() if m.start() > 0 else end
    return end


def _cut(text: str, limit: int) -> tuple[int, int]:
    """Where the first piece of ``text`` (longer than ``limit``) ends, and where the rest
    resumes (after the whitespace dropped at the cut)."""
    window = text[: limit + 64]  # a separator may start at the limit and run past it
    floor = max(1, int(limit * _MIN_SHARE))
    for pattern in _SEPARATORS:
        best: tuple[int, int] | None = None
        for m in pattern.finditer(window):
            end = m.start(1)
            while end > 0 and text[end - 1].isspace():
                end -= 1
            if end > limit:
                break
            if end >= floor:
                best = (end, m.end(1))
        if best is not None:
            end, resume = best
            while resume < len(text) and text[resume].isspace():
                resume += 1
            return end, resume
    end = _safe_end(text, limit)
    return end, end


def split_text(text: str, limit: int = 3000) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters.

    Cuts at paragraph breaks, else line breaks, else sentence ends, else spaces, else
    anywhere (never inside an escape entity like ``&amp;``, for ``limit`` >= 12). Only the
    whitespace at a cut is dropped; no other character is lost or reordered. A separator is
    used only if the piece before it fills at least half the limit. An empty text gives
    ``[""]``.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        end, resume = _cut(rest, limit)
        pieces.append(rest[:end])
        rest = rest[resume:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut; never cuts an
    escape entity. For text that is already escaped."""
    if len(text) <= limit:
        return text
    end = _safe_end(text, max(0, limit - len(ELLIPSIS)))
    return text[:end].rstrip() + ELLIPSIS


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters, cut at a word boundary when one is
    near the end, with "…" when cut, bidi controls made visible (:func:`neutralise_bidi`). For
    raw (unescaped) text; plain-text fields (buttons, options, headers) get theirs this way."""
    text = one_line(neutralise_bidi(text))
    if len(text) <= limit:
        return text
    room = max(0, limit - len(ELLIPSIS))
    head = text[:room]
    space = head.rfind(" ")
    if space >= room * 0.6:
        head = head[:space]
    return head.rstrip(" ,;:.-—") + ELLIPSIS


def pack_lines(lines: Iterable[str], limit: int, sep: str = "\n") -> list[str]:
    """Join lines with ``sep`` into as few chunks of at most ``limit`` characters as possible,
    in order; a line longer than ``limit`` is split with :func:`split_text`."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        for piece in split_text(line, limit) if len(line) > limit else [line]:
            if current and len(current) + len(sep) + len(piece) <= limit:
                current = f"{current}{sep}{piece}"
            else:
                if current:
                    chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks
