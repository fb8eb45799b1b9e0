"""Messages of progress tracking: `/progress list`, the admins' overdue list, help, the App
Home section, the weekly nudge DM (and its updates after the owner acts), escalations and
delivery-failure reports. Pure functions; all user and framework text is escaped; always
within Slack's limits (≤ 50 blocks a message, section text ≤ 3000 characters).

Dates are Slack date tokens (``<!date^…>``), so every reader sees them in their own time zone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, SectionBlock

from bot.progress.schedule import NudgePlan
from bot.storage.progress_records import InitiativeRecord

from ..ids import (
    ACTION_PROGRESS_NEW,
    ACTION_PROGRESS_NO_CHANGE,
    ACTION_PROGRESS_SNOOZE_TOMORROW,
    ACTION_PROGRESS_SNOOZE_WEEK,
    ACTION_PROGRESS_UPDATE,
    BLOCK_PROGRESS_ITEM,
    BLOCK_PROGRESS_MORE,
    BLOCK_PROGRESS_SNOOZE,
    COMMAND_PROGRESS,
)
from .base import (
    Message,
    actions,
    button,
    context,
    fallback_text,
    header,
    line_sections,
    mention,
    mrkdwn,
    sections,
)
from .limits import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from .text import clip, escape, shorten

NO_UPDATE_EMOJI = ":white_circle:"
TITLE_CHARS = 150
MAX_LIST_ITEMS = 20  # /progress list: 2 blocks per item
MAX_HOME_ITEMS = 10  # App Home: 2 blocks per item, ≤ 25 blocks in all
MAX_NUDGE_ITEMS = 15
MAX_OVERDUE_ITEMS = 300
MAX_OBJECTIVE_IDS = 6
DONE_BLOCK = "progress_done"

# Slack errors on a DM, in words an admin can act on.
FAILURE_REASONS: dict[str, str] = {
    "account_inactive": "their account is deactivated",
    "user_disabled": "their account is deactivated",
    "user_not_found": "Slack doesn't know this user any more",
    "cannot_dm_bot": "it's a bot account, which can't get direct messages",
    "channel_not_found": "I couldn't open a direct message with them",
    "not_in_channel": "I couldn't open a direct message with them",
    "is_archived": "our direct message conversation is archived",
    "restricted_action": "the workspace's settings don't let me message them",
    "ekm_access_denied": "the workspace's settings don't let me message them",
    "missing_scope": "the app is missing a Slack permission — reinstall it from its manifest",
    "not_authed": "the app's Slack token is not valid",
    "invalid_auth": "the app's Slack token is not valid",
    "token_revoked": "the app's Slack token was revoked",
    "ratelimited": "Slack asked me to slow down; I'll try again later",
    "msg_too_long": "the message was too long for Slack",
}
_OUR_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{1,32})&gt;")


# ---- small pieces ---------------------------------------------------------------------------


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def slack_date(when: datetime) -> str:
    """A date in the reader's zone ("today", "Nov 30"…), falling back to "Mon 30 Nov 2026"."""
    at = _utc(when)
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}}|{at:%a} {at.day} {at:%b %Y}>"


def slack_time(when: datetime) -> str:
    """A date and time in the reader's zone, falling back to "Mon 30 Nov 2026 09:00 UTC"."""
    at = _utc(when)
    return (
        f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|"
        f"{at:%a} {at.day} {at:%b %Y %H:%M} UTC>"
    )


def plural(n: int, word: str) -> str:
    return f"{n:,} {word if n == 1 else word + 's'}"


def service_text(message: str) -> str:
    """A service's message (``ProgressError``…) as mrkdwn: escaped, but the ``<@U…>``
    mentions it writes itself stay mentions."""
    return _OUR_MENTION.sub(r"<@\1>", escape(message))


def notice(text: str) -> Message:
    """A short message of mrkdwn ``text`` (already escaped where needed)."""
    blocks: list[Block] = list(sections(text))
    return Message(text=fallback_text(blocks, "fwbot"), blocks=blocks)


def title_of(record: InitiativeRecord, limit: int = TITLE_CHARS) -> str:
    """ "#12 “Title”" (escaped, shortened)."""
    return f"#{record.id} “{escape(shorten(record.title, limit))}”"


def objective_ids_text(record: InitiativeRecord) -> str:
    ids = [escape(i) for i in record.objective_ids[:MAX_OBJECTIVE_IDS]]
    more = len(record.objective_ids) - len(ids)
    return ", ".join(ids) + (f" and {more} more" if more > 0 else "") if ids else "none"


def status_text(record: InitiativeRecord) -> str:
    """ ":large_green_circle: On track · 40%", or ":white_circle: No update yet"."""
    if record.last_status is None:
        return f"{NO_UPDATE_EMOJI} No update yet"
    text = f"{record.last_status.emoji} {record.last_status.label}"
    return text + (f" · {record.last_percent}%" if record.last_percent is not None else "")


def due_text(record: InitiativeRecord, now: datetime) -> str:
    """ "*overdue since* <date>", "due <date>" or "closed"."""
    if record.status != "active":
        return "closed"
    if record.is_overdue(now):
        return f"*overdue since {slack_date(record.overdue_from)}*"
    return f"due {slack_date(record.due_at)}"


def item_text(record: InitiativeRecord, now: datetime) -> str:
    kind = "Objective lead · " if record.kind == "objective" else ""
    return (
        f"*{title_of(record)}*\n{status_text(record)} · {due_text(record, now)}\n"
        f"{kind}Objectives: {objective_ids_text(record)}"
    )


def item_buttons(record: InitiativeRecord) -> Block:
    """ "Post update" and (with a previous status) "No change", in a block whose id names the
    initiative, so :func:`nudge_item_done` can find it again."""
    value = str(record.id)
    row = [button("Post update", ACTION_PROGRESS_UPDATE, value, style="primary")]
    if record.last_status is not None:
        row.append(button("No change", ACTION_PROGRESS_NO_CHANGE, value))
    block = actions(row)
    block.block_id = f"{BLOCK_PROGRESS_ITEM}:{record.id}"
    return block


def _item_blocks(records: Sequence[InitiativeRecord], now: datetime) -> list[Block]:
    blocks: list[Block] = []
    for record in records:
        blocks += [
            SectionBlock(text=mrkdwn(clip(item_text(record, now), MAX_SECTION_TEXT))),
            item_buttons(record),
        ]
    return blocks


def _more(n: int, where: str) -> ContextBlock:
    block = context(f"…and {n:,} more — {where}")
    block.block_id = BLOCK_PROGRESS_MORE
    return block


def _message(blocks: list[Block], default: str) -> Message:
    return Message(text=fallback_text(blocks, default), blocks=blocks[:MAX_MESSAGE_BLOCKS])


# ---- /progress list, overdue, help ------------------------------------------------------------


def initiatives_message(
    records: Sequence[InitiativeRecord], *, now: datetime, user_id: str
) -> Message:
    """My active initiatives (most overdue first, as given), each with its buttons."""
    if not records:
        return notice(
            f"Hi {mention(user_id)}! You have no active initiatives. Start one with "
            f"`{COMMAND_PROGRESS} new` — or press *Track as initiative* on an "
            "`/align` result."
        )
    overdue = sum(1 for r in records if r.is_overdue(now))
    intro = f"You have {plural(len(records), 'active initiative')}"
    intro += f", {overdue:,} of them overdue." if overdue else ", none overdue — thank you!"
    blocks: list[Block] = [header("Your initiatives"), *sections(intro)]
    blocks += _item_blocks(records[:MAX_LIST_ITEMS], now)
    if len(records) > MAX_LIST_ITEMS:
        blocks.append(_more(len(records) - MAX_LIST_ITEMS, "the most overdue are shown first."))
    return _message(blocks, "Your initiatives")


def overdue_message(records: Sequence[InitiativeRecord], *, now: datetime) -> Message:
    """Everyone's overdue initiatives, grouped by owner (for admins)."""
    if not records:
        return notice("Nothing is overdue right now. :tada:")
    by_owner: defaultdict[str, list[InitiativeRecord]] = defaultdict(list)
    for record in records[:MAX_OVERDUE_ITEMS]:
        by_owner[record.owner_id].append(record)
    lines: list[str] = []
    for owner, items in by_owner.items():
        lines.append(f"*{mention(owner)}* — {len(items):,} overdue")
        lines += [
            f"• {title_of(r, 90)} · overdue since {slack_date(r.overdue_from)} · {status_text(r)}"
            for r in items
        ]
    blocks: list[Block] = [header(f"Overdue initiatives ({len(records):,})")]
    blocks += line_sections(lines)
    if len(records) > MAX_OVERDUE_ITEMS:
        blocks.append(_more(len(records) - MAX_OVERDUE_ITEMS, "the oldest are shown first."))
    blocks.append(
        context(
            f"`{COMMAND_PROGRESS} reassign #id @person` gives one to someone "
            f"else; `{COMMAND_PROGRESS} close #id` closes it."
        )
    )
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        blocks = [*blocks[: MAX_MESSAGE_BLOCKS - 2], context("(shortened)"), blocks[-1]]
    return _message(blocks, "Overdue initiatives")


def help_message(subcommands: Iterable[tuple[str, str]], *, unknown: str | None = None) -> Message:
    """What `/progress` can do: one line per ``(usage, what it does)`` (the listener's
    subcommand table); ``unknown``: the word that was not understood."""
    lines = [
        f"• `{COMMAND_PROGRESS}{' ' + cmd if cmd else ''}` — {what}" for cmd, what in subcommands
    ]
    first = (
        f"Sorry, I don't know `{escape(shorten(unknown, 40)).replace('`', '')}`. "
        if unknown
        else ""
    )
    blocks: list[Block] = [
        *sections(f"{first}*{COMMAND_PROGRESS}* tracks the progress of your initiatives. You can:"),
        *line_sections(lines),
        context(
            "Each week I send a short reminder when an update is due. One click on "
            "*No change* is enough when nothing moved."
        ),
    ]
    return _message(blocks, "How to use /progress")


# ---- App Home ----------------------------------------------------------------------------------


def progress_home_blocks(records: Sequence[InitiativeRecord], *, now: datetime) -> list[Block]:
    """ "Your initiatives" for App Home: a "New initiative" button and up to 10 items (≤ 24
    blocks)."""
    new = actions([button("New initiative", ACTION_PROGRESS_NEW, "home")])
    blocks: list[Block] = [header("Your initiatives")]
    if not records:
        return [
            *blocks,
            *sections(
                "You aren't tracking any initiative yet. Start one here "
                f"or with `{COMMAND_PROGRESS} new`."
            ),
            new,
        ]
    overdue = sum(1 for r in records if r.is_overdue(now))
    summary = f"{plural(len(records), 'active initiative')}"
    summary += f" · {overdue:,} overdue" if overdue else " · all up to date :tada:"
    blocks += [context(summary), new, *_item_blocks(records[:MAX_HOME_ITEMS], now)]
    if len(records) > MAX_HOME_ITEMS:
        blocks.append(_more(len(records) - MAX_HOME_ITEMS, f"`{COMMAND_PROGRESS} list`"))
    return blocks


# ---- the weekly nudge ------------------------------------------------------------------------


def _nudge_item_text(record: InitiativeRecord, now: datetime) -> str:
    last = status_text(record)
    if record.last_update_at is not None:
        last += f" (updated {slack_date(record.last_update_at)})"
    since = (
        f" · overdue since {slack_date(record.overdue_from)}"
        if record.is_overdue(now)
        else f" · due {slack_date(record.due_at)}"
    )
    return (
        f"*{title_of(record)}*\nObjectives: {objective_ids_text(record)}\n"
        f"Last update: {last}{since}"
    )


def nudge_message(plan: NudgePlan, *, now: datetime) -> Message:
    """The weekly DM: what is waiting for an update, with one-click buttons, and snoozing."""
    items = list(plan.items)
    shown = items[:MAX_NUDGE_ITEMS]
    waiting = "1 initiative is" if len(items) == 1 else f"{len(items):,} initiatives are"
    blocks: list[Block] = [
        header("Time for a progress update"),
        *sections(
            f"Hi {mention(plan.owner_id)}! {waiting} waiting for an update. It only "
            "takes a minute — thank you!"
        ),
    ]
    for record in shown:
        blocks += [
            SectionBlock(text=mrkdwn(clip(_nudge_item_text(record, now), MAX_SECTION_TEXT))),
            item_buttons(record),
        ]
    if len(items) > len(shown):
        blocks.append(_more(len(items) - len(shown), f"`{COMMAND_PROGRESS} list`"))
    snooze = actions(
        [
            button("Snooze until tomorrow", ACTION_PROGRESS_SNOOZE_TOMORROW, "tomorrow"),
            button("Snooze a week", ACTION_PROGRESS_SNOOZE_WEEK, "next week"),
        ]
    )
    snooze.block_id = BLOCK_PROGRESS_SNOOZE
    blocks += [
        DividerBlock(),
        snooze,
        context(
            f"Away for longer? `{COMMAND_PROGRESS} leave until YYYY-MM-DD`. "
            f"Another day or time? `{COMMAND_PROGRESS} when tuesday 10:00`."
        ),
    ]
    text = f"Time for a progress update: {waiting} waiting."
    return Message(text=text, blocks=blocks)


def _context_dict(text: str, block_id: str) -> dict[str, Any]:
    return {
        "type": "context",
        "block_id": block_id,
        "elements": [{"type": "mrkdwn", "text": clip(text, 2000), "verbatim": True}],
    }


def _is_item_actions(block: dict[str, Any]) -> bool:
    return block.get("type") == "actions" and str(block.get("block_id", "")).startswith(
        BLOCK_PROGRESS_ITEM + ":"
    )


def has_item(blocks: Iterable[dict[str, Any]], initiative_id: int) -> bool:
    """Whether the blocks hold the buttons of this initiative (see :func:`item_buttons`)."""
    return any(
        _is_item_actions(b) and b.get("block_id") == f"{BLOCK_PROGRESS_ITEM}:{initiative_id}"
        for b in blocks
    )


def nudge_item_done(
    blocks: Iterable[dict[str, Any]], initiative_id: int, text: str
) -> list[dict[str, Any]]:
    """The nudge's blocks (as Slack sends them) with one item's buttons replaced by
    "✓ ``text``" (plain text, escaped here). When no item is left to do, the snooze buttons
    give way to an "all done" line."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        if _is_item_actions(block) and block.get("block_id") == (
            f"{BLOCK_PROGRESS_ITEM}:{initiative_id}"
        ):
            out.append(
                _context_dict(f":white_check_mark: {escape(text)}", f"{DONE_BLOCK}:{initiative_id}")
            )
        else:
            out.append(dict(block))
    if any(_is_item_actions(b) for b in out):
        return out
    more = any(b.get("block_id") == BLOCK_PROGRESS_MORE for b in out)
    done = (
        f"All of these are done — thank you! A few more are waiting: `{COMMAND_PROGRESS} list`."
        if more
        else "All done — thank you! I'll check in again when the next update is due."
    )
    return [
        _context_dict(f":tada: {done}", f"{DONE_BLOCK}:all")
        if b.get("block_id") == BLOCK_PROGRESS_SNOOZE
        else b
        for b in out
    ]


def nudge_snoozed(blocks: Iterable[dict[str, Any]], until: datetime) -> list[dict[str, Any]]:
    """The nudge's blocks with the snooze buttons replaced by "Snoozed until …"."""
    line = (
        f":zzz: Snoozed until {slack_time(until)} — I'll remind you then. "
        f"`{COMMAND_PROGRESS} snooze off` to undo."
    )
    return [
        _context_dict(line, f"{DONE_BLOCK}:snooze")
        if b.get("block_id") == BLOCK_PROGRESS_SNOOZE
        else dict(b)
        for b in blocks
    ]


# ---- for admins: escalations and delivery failures ------------------------------------------


def escalation_message(item: InitiativeRecord, weeks: int, *, now: datetime) -> Message:
    """An initiative without an update for ``weeks`` weeks, for the admins."""
    blocks: list[Block] = [
        *sections(
            f":warning: {title_of(item)} (owner {mention(item.owner_id)}) has had no "
            f"update for {plural(weeks, 'week')} — overdue since "
            f"{slack_date(item.overdue_from)}.\n{status_text(item)} · Objectives: "
            f"{objective_ids_text(item)}"
        ),
        context(
            f"Maybe it needs another owner (`{COMMAND_PROGRESS} reassign #{item.id} "
            f"@person`) or is finished (`{COMMAND_PROGRESS} close #{item.id}`)."
        ),
    ]
    return _message(blocks, f"#{item.id} has had no update for {plural(weeks, 'week')}")


def failure_reason(error: str) -> str:
    return FAILURE_REASONS.get(error, f"Slack said `{escape(error.replace('`', ''))}`")


def failure_report_message(failures: Sequence[tuple[str, str]]) -> Message:
    """Owners I could not reach, each with the reason in plain words (for the admins)."""
    if not failures:
        return notice("Every progress reminder was delivered.")
    lines = [f"• {mention(owner)}: {failure_reason(error)}" for owner, error in failures]
    blocks: list[Block] = [
        *sections(f"I couldn't deliver {plural(len(failures), 'progress reminder')}:"),
        *line_sections(lines),
        context(
            f"Their initiatives may need another owner: `{COMMAND_PROGRESS} reassign #id @person`."
        ),
    ]
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        blocks = [*blocks[: MAX_MESSAGE_BLOCKS - 2], context("(shortened)"), blocks[-1]]
    return _message(blocks, "Some progress reminders were not delivered")
