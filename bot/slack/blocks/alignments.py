"""Messages for /align results: the ephemeral result with its buttons, the version shared in a
channel, the usage help and the failure message."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from framework_data.schema import Framework
from retrieval.align import MAX_TAGS, MAX_WORDS, Alignment, Tag

from ..ids import (
    ACTION_ALIGN_CONFIRM,
    ACTION_ALIGN_EDIT,
    ACTION_ALIGN_SHARE,
    ACTION_ALIGN_TRACK,
    COMMAND_ALIGN,
)
from .base import (
    Message,
    actions,
    button,
    context,
    fallback_text,
    line_sections,
    mention,
    sections,
)
from .limits import MAX_MESSAGE_BLOCKS
from .text import escape, shorten

PROPOSAL_QUOTE_CHARS = 200
SUMMARY_CHARS = 1000
STATUS_SUGGESTED = "suggested"
STATUS_CONFIRMED = "confirmed"
STATUS_CORRECTED = "corrected"


def proposal_quote(proposal: str, limit: int = PROPOSAL_QUOTE_CHARS) -> str:
    """The start of the proposal on one line, escaped, in quotes, "…" when cut."""
    return f"“{escape(shorten(proposal, limit))}”"


def objective_line(objective_id: str, framework: Framework) -> str:
    """ "*1.3* (Goal 1 › 1.3) objective text", escaped."""
    objective = framework.objective(objective_id)
    if objective is None:
        return f"*{escape(objective_id)}*"
    goal = framework.goal_of(objective.id)
    where = f" (Goal {escape(goal.id)} › {escape(objective.id)})" if goal else ""
    return f"*{escape(objective.id)}*{where} {escape(objective.text)}"


def _tag_blocks(tags: Sequence[Tag], framework: Framework, *, why: bool) -> list[Block]:
    blocks: list[Block] = []
    for tag in tags:
        blocks += sections(
            f"{objective_line(tag.id, framework)} — confidence: {tag.confidence}"
            f" ({tag.score:.0%} likely right)"
        )
        if why and tag.why.strip():
            blocks.append(context(f"Why: {escape(tag.why)}"))
        if why and tag.evidence.strip():
            where = f" ({escape(tag.part)})" if tag.part else ""
            blocks.append(context(f"Your proposal says{where}: “{escape(tag.evidence)}”"))
    return blocks


def _notes(alignment: Alignment, truncated_note: str | None) -> list[Block]:
    notes: list[str] = []
    if alignment.words_ignored > 0:
        notes.append(
            f"I read the first {alignment.words_considered:,} words; "
            f"{alignment.words_ignored:,} were not considered."
        )
    if truncated_note:
        notes.append(escape(truncated_note))
    return [context(" ".join(notes))] if notes else []


def _result_blocks(
    alignment: Alignment,
    framework: Framework,
    *,
    status: str,
    decided_ids: Sequence[str] | None,
    why: bool,
) -> list[Block]:
    """Tags (or the decision), the no-fit notice; no quote, notes or buttons."""
    if status != STATUS_SUGGESTED:
        ids = list(decided_ids) if decided_ids is not None else [t.id for t in alignment.tags]
        blocks: list[Block] = list(line_sections(f"• {objective_line(i, framework)}" for i in ids))
        if status == STATUS_CONFIRMED:
            blocks.append(context("✓ Confirmed"))
        elif status == STATUS_CORRECTED:
            target = ", ".join(escape(i) for i in ids) if ids else "no objective"
            blocks.append(context(f"✎ Corrected to {target}"))
        else:
            blocks.append(context(f"Status: {escape(status)}"))
        return blocks
    blocks = _tag_blocks(alignment.tags, framework, why=why)
    if alignment.no_fit or not alignment.tags:
        blocks += sections("No objective fits this proposal well.")
        if alignment.nearest:
            nearest = [f"• {objective_line(t.id, framework)}" for t in alignment.nearest]
            blocks += line_sections(["*Nearest:*", *nearest])
    return blocks


def _fit(blocks: list[Block], keep_last: int = 0) -> list[Block]:
    """At most one message of blocks (only reachable with absurdly long texts)."""
    if len(blocks) <= MAX_MESSAGE_BLOCKS:
        return blocks
    head = MAX_MESSAGE_BLOCKS - keep_last - 1
    tail = blocks[len(blocks) - keep_last :] if keep_last else []
    return [*blocks[:head], context("(shortened)"), *tail]


def alignment_message(
    alignment: Alignment,
    framework: Framework,
    *,
    alignment_id: int | None,
    proposal: str,
    status: str = STATUS_SUGGESTED,
    decided_ids: list[str] | None = None,
    truncated_note: str | None = None,
    read_note: str | None = None,
) -> Message:
    """The /align result for the person who ran it.

    Suggested: the proposal quote, each tag with its confidence and why, notes, and the
    buttons Share / Confirm (only with tags) / Edit tags / Track. Decided ("confirmed",
    "corrected", …): the decided objectives and a status line, with Share and Track only.
    Buttons carry ``str(alignment_id)`` and are left out when it is None. ``read_note``
    (plain text, escaped here) says which documents were read, under the quote.
    """
    blocks: list[Block] = list(sections(f"*Proposal:* {proposal_quote(proposal)}"))
    if read_note:
        blocks.append(context(escape(read_note)))
    blocks += _result_blocks(alignment, framework, status=status, decided_ids=decided_ids, why=True)
    blocks += _notes(alignment, truncated_note)
    keep = 0
    if alignment_id is not None:
        value = str(alignment_id)
        row = [button("Share in channel", ACTION_ALIGN_SHARE, value)]
        if status == STATUS_SUGGESTED:
            if alignment.tags:
                row.append(button("Confirm", ACTION_ALIGN_CONFIRM, value, style="primary"))
            row.append(button("Edit tags", ACTION_ALIGN_EDIT, value))
        row.append(button("Track as initiative", ACTION_ALIGN_TRACK, value))
        blocks.append(actions(row))
        keep = 1
    blocks = _fit(blocks, keep)
    return Message(text=fallback_text(blocks, "Alignment result"), blocks=blocks)


def shared_alignment_message(
    alignment: Alignment,
    framework: Framework,
    *,
    user_id: str,
    proposal: str,
    status: str = STATUS_SUGGESTED,
    decided_ids: list[str] | None = None,
) -> Message:
    """The result posted in a channel: who aligned it, the proposal quote, the tags (or the
    decision). No buttons."""
    blocks: list[Block] = list(
        sections(f"{mention(user_id)} aligned a proposal: {proposal_quote(proposal)}")
    )
    blocks += _result_blocks(
        alignment, framework, status=status, decided_ids=decided_ids, why=False
    )
    blocks = _fit(blocks)
    return Message(text=fallback_text(blocks, "Alignment result"), blocks=blocks)


def usage_message(framework: Framework) -> Message:
    """Help for ``/align`` run without text."""
    blocks: list[Block] = [
        *sections(
            f"*{COMMAND_ALIGN}* tags a proposal with the objectives of "
            f"*{escape(framework.title)}* that it serves, says how sure it is and why."
        ),
        *sections(
            f"*Example:* `{COMMAND_ALIGN} Run a pilot with two partner organisations to share "
            "their data securely and train their staff to use it`"
        ),
        context(
            f"I read up to {MAX_WORDS:,} words and suggest at most {MAX_TAGS} objectives. "
            "You can confirm the tags, edit them, share the result in the channel or track "
            "the proposal as an initiative. Only you see the result until you share it."
        ),
    ]
    return Message(text=fallback_text(blocks), blocks=blocks)


def error_message(summary: str, reference: str | None = None) -> Message:
    """A kind failure message; ``summary`` says what failed (it is escaped and shortened),
    ``reference`` is an id for the logs."""
    what = escape(shorten(summary, SUMMARY_CHARS)).rstrip(". ")
    text = f"Sorry — something went wrong: {what}." if what else "Sorry — something went wrong."
    text += " Please try again in a moment."
    if reference:
        text += f" (ref `{escape(shorten(reference.replace('`', ''), 100))}`)"
    blocks: list[Block] = list(sections(text))
    return Message(text=fallback_text(blocks), blocks=blocks)
