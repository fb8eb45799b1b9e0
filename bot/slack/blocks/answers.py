"""Messages for answers to questions about the framework, and their feedback buttons.

The answer text is written by the composer from framework text and uses ``*bold*``; it is
escaped in full (the core never emits Slack links or mentions), so framework text containing
``&``, ``<`` or ``>`` shows as written.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock

from framework_data.schema import Element, Framework
from retrieval.answer import RELATED_LEAD, Answer, Citation

from ..ids import ACTION_FEEDBACK_HELPFUL, ACTION_FEEDBACK_NOT_HELPFUL
from .base import Message, actions, button, context, line_contexts, paginate, sections
from .limits import MAX_MESSAGE_BLOCKS
from .text import escape

FEEDBACK_ACTIONS = frozenset({ACTION_FEEDBACK_HELPFUL, ACTION_FEEDBACK_NOT_HELPFUL})
_STATEMENT_NAMES = {"vision": "Vision", "mission": "Mission", "values": "Values"}


def _index(framework: Framework) -> dict[str, Element]:
    return {e.id: e for e in framework.elements()}


def citation_label(
    citation_id: str, framework: Framework, elements: Mapping[str, Element] | None = None
) -> str:
    """Where an element sits, unescaped: "Goal 1 › 1.3", "Goal 1", "Vision" (or the bare id
    when the framework does not know it). ``elements``: the framework's elements by id, when
    the caller already has them."""
    if citation_id in _STATEMENT_NAMES:
        return _STATEMENT_NAMES[citation_id]
    element = (elements if elements is not None else _index(framework)).get(citation_id)
    if element is None:
        return citation_id
    if element.kind == "goal":
        return f"Goal {element.id[1:]}"
    goal = framework.goal(element.goal_id or "")
    return f"Goal {goal.id} › {element.id}" if goal else element.id


def citation_line(
    citation_id: str,
    framework: Framework,
    *,
    quote: bool = True,
    elements: Mapping[str, Element] | None = None,
) -> str:
    """One escaped mrkdwn line naming an element and giving its words:
    "Goal 1 › 1.3 — “text”", "Goal 1 — title", "Vision — “text”", "Values — A, B"."""
    elements = elements if elements is not None else _index(framework)
    label = escape(citation_label(citation_id, framework, elements))
    element = elements.get(citation_id)
    if element is None:
        return label
    if element.kind == "goal":
        return f"{label} — {escape(element.title or element.text)}"
    if element.id == "values" or not quote:
        return f"{label} — {escape(element.text)}"
    return f"{label} — “{escape(element.text)}”"


def _cited_lines(heading: str, cites: Iterable[Citation], fw: Framework, quote: bool) -> list[str]:
    """One line per cited element; a searched (not looked-up) citation shows how likely it is
    to be right."""
    elements = _index(fw)
    seen: set[str] = set()
    lines = [heading]
    for c in cites:
        if c.id not in seen:
            seen.add(c.id)
            likely = f" _({c.score:.0%} likely right)_" if c.score < 1.0 else ""
            lines.append(f"• {citation_line(c.id, fw, quote=quote, elements=elements)}{likely}")
            if c.note:  # a scope note matched: say so, apart from the framework's words
                lines.append(f"   ↳ _{escape(c.note)}_")
    return lines if len(lines) > 1 else []


def feedback_actions(exchange_id: int) -> Block:
    """The "Helpful" / "Not helpful" buttons, carrying the exchange id."""
    value = str(exchange_id)
    return actions(
        [
            button("Helpful", ACTION_FEEDBACK_HELPFUL, value),
            button("Not helpful", ACTION_FEEDBACK_NOT_HELPFUL, value),
        ]
    )


def answer_messages(
    answer: Answer, framework: Framework, *, exchange_id: int | None
) -> list[Message]:
    """The answer as one or more messages (follow-ups go in the same thread).

    Layout: the answer text as sections; the sources (or, for a declined answer, the possibly
    related elements) as context lines; the feedback buttons last, when ``exchange_id`` is
    given. Nothing is dropped: long content is split across sections and messages.
    """
    # A declined answer's text names the related elements too; here they are listed below it.
    text = answer.text.split(RELATED_LEAD)[0] if answer.related else answer.text
    content: list[Block] = list(sections(escape(text)))
    if answer.citations:
        content += line_contexts(_cited_lines("*Sources*", answer.citations, framework, True))
    if answer.related:
        lines = _cited_lines("*Possibly related:*", answer.related, framework, False)
        content += line_contexts(lines)
    if not content:
        content.append(context("_(no answer text)_"))
    last = [feedback_actions(exchange_id)] if exchange_id is not None else []
    return paginate(content, last, default_text="Answer")


def streamed_answer_footer(
    answer: Answer, framework: Framework, *, exchange_id: int | None
) -> list[Block]:
    """What closes an answer whose text was streamed (chat.stopStream's ``blocks``, shown
    under the text): its sources and the feedback buttons, as :func:`answer_messages` lays
    them out."""
    footer: list[Block] = []
    if answer.citations:
        footer += line_contexts(_cited_lines("*Sources*", answer.citations, framework, True))
    if exchange_id is not None:
        footer.append(feedback_actions(exchange_id))
    return footer[-MAX_MESSAGE_BLOCKS:]


def feedback_ack_context(helpful: bool) -> ContextBlock:
    """What replaces the feedback buttons after a vote."""
    return context("Thanks — noted as helpful." if helpful else "Thanks — noted as not helpful.")


def _is_feedback_block(block: dict[str, Any]) -> bool:
    return block.get("type") == "actions" and any(
        e.get("action_id") in FEEDBACK_ACTIONS for e in block.get("elements", [])
    )


def replace_feedback_buttons(blocks: list[dict[str, Any]], helpful: bool) -> list[dict[str, Any]]:
    """A copy of a message's blocks (as Slack sends them in a ``block_actions`` payload) with
    the feedback buttons replaced by :func:`feedback_ack_context`. Blocks without feedback
    buttons come back unchanged."""
    ack = feedback_ack_context(helpful).to_dict()
    return [copy.deepcopy(ack) if _is_feedback_block(b) else copy.deepcopy(b) for b in blocks]
