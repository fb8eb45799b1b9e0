"""The weekly progress digest as a channel message: status per goal, participation, overdue
initiatives and coverage gaps, from :class:`~bot.progress.digest.DigestData`.

A pure function of the data, so a late update is shown by rendering again and
``chat.update``-ing the posted message. Always within Slack's limits (≤ 50 blocks, section
text ≤ 3000 characters, header ≤ 150), whatever the framework's size and however many
initiatives there are: goal lines are bounded in length and number, the overdue list stops at
15 and the gap list at 20.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import Block, DividerBlock

from bot.progress.digest import (
    DIGEST_STATUS_LABELS,
    DIGEST_STATUSES,
    NO_UPDATE,
    DigestData,
    GoalStatus,
    OverdueItem,
)
from bot.storage.vocabulary import UpdateStatus

from .base import Message, context, header, line_sections, mention, sections
from .limits import MAX_MESSAGE_BLOCKS
from .progress import NO_UPDATE_EMOJI
from .text import clip, escape, shorten

STATUS_EMOJI: dict[str, str] = {
    **{s.value: s.emoji for s in UpdateStatus},
    NO_UPDATE: NO_UPDATE_EMOJI,
}
OVERDUE_COMMAND = "/progress overdue"
MAX_OVERDUE = 15
MAX_GAPS = 20
MAX_GOALS = 60  # goal lines shown; any further goals are summed up in one line
GOAL_TITLE_CHARS = 60
INITIATIVE_TITLE_CHARS = 90
GAP_TITLE_CHARS = 90
MAX_IDS_SHOWN = 4  # objective ids listed on an overdue line
TITLE_CHARS = 200  # the framework title in the intro line


def _plural(n: int, word: str) -> str:
    """ "1 day", "5 days", "1,200 days"."""
    return f"{n:,} {word if n == 1 else word + 's'}"


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def period_dates(start: datetime, end: datetime) -> str:
    """The period's dates, end exclusive: "24–30 Nov 2026", "28 Nov – 4 Dec 2026",
    "29 Dec 2025 – 4 Jan 2026" (UTC)."""
    first = _utc(start).date()
    last = max(first, (_utc(end) - timedelta(microseconds=1)).date())
    if first == last:
        return f"{first.day} {first:%b %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


def _time(when: datetime) -> str:
    """ "Mon 1 Dec 14:05 UTC"."""
    at = _utc(when)
    return f"{at:%a} {at.day} {at:%b %H:%M} UTC"


def goal_line(goal: GoalStatus) -> str:
    """ "*Goal 1* Title — :large_green_circle: 3 on track · :red_circle: 1 off track", escaped;
    statuses with no initiative are left out."""
    title = escape(shorten(goal.title, GOAL_TITLE_CHARS))
    parts = [
        f"{STATUS_EMOJI[s]} {goal.counts.get(s, 0):,} {DIGEST_STATUS_LABELS[s].lower()}"
        for s in DIGEST_STATUSES
        if goal.counts.get(s, 0)
    ]
    counts = " · ".join(parts) if parts else "_no active initiatives_"
    return f"*Goal {escape(shorten(goal.goal_id, 20))}* {title} — {counts}"


def _goal_lines(data: DigestData) -> list[str]:
    lines = [goal_line(g) for g in data.goals[:MAX_GOALS]]
    rest = data.goals[MAX_GOALS:]
    if rest:
        lines.append(
            f"…and {_plural(len(rest), 'more goal')} with "
            f"{sum(g.total for g in rest):,} initiative links between them"
        )
    return lines


def participation_line(data: DigestData) -> str:
    """ "12 of 20 due updates received (60%)" or "No updates were due this week"."""
    if not data.due:
        return "No updates were due this week"
    percent = data.received * 100 // data.due  # 100% only when every update came in
    return f"{data.received:,} of {data.due:,} due updates received ({percent}%)"


def overdue_line(item: OverdueItem) -> str:
    """ "• <@U1> — Title (1.3, 2.1) · overdue 5 days", escaped."""
    title = escape(shorten(item.title, INITIATIVE_TITLE_CHARS))
    ids = [escape(shorten(i, 20)) for i in item.objective_ids[:MAX_IDS_SHOWN]]
    if len(item.objective_ids) > MAX_IDS_SHOWN:
        ids.append("…")
    where = f" ({', '.join(ids)})" if ids else ""
    late = _plural(item.days_overdue, "day")
    return f"• {mention(item.owner_id)} — {title}{where} · overdue {late}"


def _overdue_blocks(data: DigestData) -> list[Block]:
    if not data.overdue:
        return [*sections("*Overdue:* nothing is overdue. :tada:")]
    lines = [f"*Overdue ({len(data.overdue):,})*"]
    lines += [overdue_line(item) for item in data.overdue[:MAX_OVERDUE]]
    hidden = len(data.overdue) - MAX_OVERDUE
    if hidden > 0:
        lines.append(f"…and {hidden:,} more — `{OVERDUE_COMMAND}` lists them all")
    return list(line_sections(lines))


def _gap_blocks(data: DigestData) -> list[Block]:
    if not data.gaps:
        return [*sections("*Coverage:* every objective has at least one active initiative.")]
    heading = (
        f"*Coverage gaps — {_plural(len(data.gaps), 'objective')} without an active initiative*"
    )
    lines = [heading]
    lines += [
        f"• *{escape(shorten(oid, 20))}* {escape(shorten(title, GAP_TITLE_CHARS))}"
        for oid, title in data.gaps[:MAX_GAPS]
    ]
    hidden = len(data.gaps) - MAX_GAPS
    if hidden > 0:
        lines.append(f"…and {hidden:,} more")
    return list(line_sections(lines))


def _context_line(data: DigestData, refreshed_at: datetime | None) -> str:
    note = (
        "Status is each initiative's latest update; one linked to several goals counts "
        f"under each. Generated {_time(data.generated_at)}."
    )
    if refreshed_at is not None:
        late = f" after {_plural(data.late_updates, 'late update')}" if data.late_updates else ""
        note += f" Updated {_time(refreshed_at)}{late}."
    return note


def _fallback(data: DigestData, dates: str) -> str:
    parts = [participation_line(data), f"{len(data.overdue):,} overdue"]
    if data.gaps:
        parts.append(f"{_plural(len(data.gaps), 'objective')} without an initiative")
    return clip(escape(f"Weekly progress digest · {dates}: " + ", ".join(parts)), 3000)


def digest_message(data: DigestData, *, refreshed_at: datetime | None = None) -> Message:
    """The digest for the channel. ``refreshed_at``: when it was re-rendered after late
    updates (``data.late_updates`` of them); shown in the context line."""
    dates = period_dates(data.period_start, data.period_end)
    intro = (
        f"*{escape(shorten(data.framework_title, TITLE_CHARS))}* · "
        f"week {escape(shorten(data.period, 40))}"
    )
    blocks: list[Block] = [
        header(f"Weekly progress digest · {dates}"),
        *sections(intro),
        *line_sections(_goal_lines(data)),
        DividerBlock(),
        *sections(f"*Participation:* {participation_line(data)}"),
        *_overdue_blocks(data),
        *_gap_blocks(data),
        context(_context_line(data, refreshed_at)),
    ]
    if len(blocks) > MAX_MESSAGE_BLOCKS:  # not reachable with the bounds above; a backstop
        blocks = [*blocks[: MAX_MESSAGE_BLOCKS - 1], blocks[-1]]
    return Message(text=_fallback(data, dates), blocks=blocks)
