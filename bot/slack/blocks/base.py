"""Building blocks shared by the message and view builders: text objects, sized sections and
context lines, messages and their pagination."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from .limits import (
    MAX_BUTTON_TEXT,
    MAX_CONTEXT_ELEMENT_TEXT,
    MAX_HEADER_TEXT,
    MAX_MESSAGE_BLOCKS,
    MAX_MESSAGE_TEXT,
    MAX_SECTION_TEXT,
)
from .text import clip, escape, pack_lines, shorten, split_text

_USER_ID = re.compile(r"[A-Z0-9]{2,32}")


@dataclass(frozen=True)
class Message:
    """One chat message: ``text`` is the notification / accessibility fallback (mrkdwn,
    escaped), ``blocks`` what is shown."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        """Keyword arguments for ``chat.postMessage`` / ``chat.update`` (validated)."""
        return {"text": self.text, "blocks": to_dicts(self.blocks)}


def to_dicts(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    """The blocks as the Web API receives them; raises ``SlackObjectFormationError`` when a
    block breaks one of slack_sdk's own limits."""
    return [b.to_dict() for b in blocks]


def mrkdwn(text: str) -> MarkdownTextObject:
    """A mrkdwn text object with ``verbatim`` set, so Slack does not auto-link URLs, channel
    names or bare ``@here``-style words; explicit ``<...>`` markup we write still works."""
    return MarkdownTextObject(text=text, verbatim=True)


def plain(text: str, limit: int) -> PlainTextObject:
    """A plain-text object, shortened to ``limit`` characters."""
    return PlainTextObject(text=shorten(text, limit) or " ", emoji=True)


def sections(text: str) -> list[SectionBlock]:
    """``text`` (escaped mrkdwn) as one section per ≤3000-character piece."""
    pieces = split_text(text.strip(), MAX_SECTION_TEXT)
    return [SectionBlock(text=mrkdwn(p)) for p in pieces if p.strip()]


def line_sections(lines: Iterable[str], sep: str = "\n") -> list[SectionBlock]:
    """Lines (escaped mrkdwn) joined by ``sep`` into as few ≤3000-character sections as
    possible."""
    chunks = pack_lines(lines, MAX_SECTION_TEXT, sep)
    return [SectionBlock(text=mrkdwn(c.strip())) for c in chunks if c.strip()]


def context(text: str) -> ContextBlock:
    """A context block with one mrkdwn element (clipped to 2000 characters)."""
    return ContextBlock(elements=[mrkdwn(clip(text, MAX_CONTEXT_ELEMENT_TEXT))])


def line_contexts(lines: Iterable[str]) -> list[ContextBlock]:
    """Lines (escaped mrkdwn) packed into ≤2000-character context blocks, one element each so
    they read as lines; nothing is clipped."""
    chunks = pack_lines(lines, MAX_CONTEXT_ELEMENT_TEXT)
    return [ContextBlock(elements=[mrkdwn(c)]) for c in chunks if c.strip()]


def mention(user_id: str) -> str:
    """A real mention (``<@U123>``) for a Slack user id; anything else is shown escaped."""
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else escape(user_id)


def header(text: str) -> HeaderBlock:
    """A header (plain text, shortened to 150 characters)."""
    return HeaderBlock(text=plain(text, MAX_HEADER_TEXT))


def button(text: str, action_id: str, value: str | None, style: str | None = None) -> ButtonElement:
    """A button with a plain-text label (≤75 characters)."""
    return ButtonElement(
        text=plain(text, MAX_BUTTON_TEXT), action_id=action_id, value=value, style=style
    )


def actions(buttons: Sequence[ButtonElement]) -> ActionsBlock:
    return ActionsBlock(elements=list(buttons))


def block_text(block: Block) -> str:
    """The visible text of a section, context or header block ("" for others)."""
    if isinstance(block, SectionBlock) and block.text is not None:
        return block.text.text
    if isinstance(block, HeaderBlock) and block.text is not None:
        return block.text.text
    if isinstance(block, ContextBlock):
        return " ".join(getattr(e, "text", "") or "" for e in block.elements)
    return ""


def fallback_text(blocks: Iterable[Block], default: str = "") -> str:
    """The message's notification text: its blocks' text, at most 40 000 characters."""
    text = "\n".join(t for t in (block_text(b) for b in blocks) if t)
    return clip(text or default, MAX_MESSAGE_TEXT)


def paginate(
    content: Sequence[Block],
    last: Sequence[Block] = (),
    *,
    max_blocks: int = MAX_MESSAGE_BLOCKS,
    default_text: str = "",
) -> list[Message]:
    """Spread ``content`` over as many messages as needed (≤ ``max_blocks`` each), in order,
    with the ``last`` blocks (e.g. buttons) at the end of the final message."""
    if len(last) > max_blocks:
        raise ValueError("the trailing blocks alone exceed one message")
    pages: list[list[Block]] = []
    rest = list(content)
    while rest:
        pages.append(rest[:max_blocks])
        rest = rest[max_blocks:]
    if not pages:
        pages.append([])
    room = max_blocks - len(pages[-1])
    if room < len(last):
        # Move content to a new final page so the trailing blocks share it with some content.
        move = len(last) - room
        pages.append(pages[-1][-move:])
        pages[-2] = pages[-2][:-move]
    pages[-1].extend(last)
    return [Message(text=fallback_text(page, default_text), blocks=page) for page in pages]
