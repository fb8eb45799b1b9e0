"""The App Home tab: the framework at a glance, the user's recent alignments, and sections
other features add (progress tracking). Always within Slack's 100 blocks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.models.blocks import Block, DividerBlock
from slack_sdk.models.views import View

from framework_data.schema import Framework, Goal

from ..ids import COMMAND_ALIGN
from .alignments import proposal_quote
from .base import context, header, line_sections, mention, sections
from .limits import MAX_VIEW_BLOCKS
from .text import escape, shorten

MAX_RECENT = 10  # recent alignments shown
RECENT_QUOTE_CHARS = 80
STATEMENT_CHARS = 300
# Widths tried, in order, when the objectives must be shortened to fit.
SHORT_WIDTHS = (160, 100, 60)
SHORTENED_NOTE = (
    "Objective texts are shortened here. Ask me for the full text of any of them "
    "(e.g. “what is objective 1.3?”)."
)


@dataclass(frozen=True)
class RecentAlignment:
    """One past /align run of the user, as the home tab lists it."""

    text: str
    ids: list[str]
    status: str
    created_at: datetime


def _date(when: datetime) -> str:
    """A Slack date token (shown in the reader's time zone), falling back to ISO date."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return f"<!date^{int(aware.timestamp())}^{{date_short}}|{aware.date().isoformat()}>"


def recent_line(item: RecentAlignment) -> str:
    """ "• “proposal…” → 1.3, 2.1 · confirmed · date", escaped."""
    ids = ", ".join(escape(i) for i in item.ids) if item.ids else "no objective"
    quote = proposal_quote(item.text, RECENT_QUOTE_CHARS)
    return f"• {quote} → {ids} · {escape(item.status)} · {_date(item.created_at)}"


def _recent_blocks(recent: Sequence[RecentAlignment]) -> list[Block]:
    blocks: list[Block] = [header("Your recent alignments")]
    if not recent:
        blocks += sections(
            escape(f"You haven't aligned anything yet — try {COMMAND_ALIGN} <your proposal>.")
        )
        return blocks
    return blocks + line_sections(recent_line(r) for r in recent[:MAX_RECENT])


def _goal_heading(goal: Goal) -> str:
    return f"*Goal {escape(goal.id)} — {escape(goal.title)}*"


def _goal_text(goal: Goal, width: int | None) -> str:
    def fmt(text: str) -> str:
        return escape(text if width is None else shorten(text, width))

    return "\n".join(
        [_goal_heading(goal), *(f"{escape(o.id)} {fmt(o.text)}" for o in goal.objectives)]
    )


def _per_goal(fw: Framework) -> list[Block]:
    blocks: list[Block] = []
    for goal in fw.goals:
        blocks += line_sections(_goal_text(goal, None).split("\n"))
    return blocks


def _merged(fw: Framework, width: int | None) -> list[Block]:
    blocks: list[Block] = list(line_sections((_goal_text(g, width) for g in fw.goals), "\n\n"))
    return blocks + ([context(SHORTENED_NOTE)] if width is not None else [])


def _goals_only(fw: Framework) -> list[Block]:
    lines = [f"{_goal_heading(g)} ({len(g.objectives)} objectives)" for g in fw.goals]
    return [*line_sections(lines), context(SHORTENED_NOTE)]


def _summary(fw: Framework) -> list[Block]:
    n = sum(1 for _ in fw.objectives())
    return [
        *sections(
            f"{escape(fw.title)} has {len(fw.goals)} goals and {n} objectives. "
            "Ask me about any of them."
        )
    ]


def framework_blocks(fw: Framework, budget: int) -> list[Block]:
    """The framework at a glance in at most ``budget`` blocks (≥ 1): every goal with its
    objectives if that fits, else goals merged into fewer sections, else shortened objective
    lines (with a note that the full text is a question away), else goal titles only."""
    layouts: list[Callable[[], list[Block]]] = [
        lambda: _per_goal(fw),
        lambda: _merged(fw, None),
        *(lambda w=w: _merged(fw, w) for w in SHORT_WIDTHS),
        lambda: _goals_only(fw),
    ]
    for layout in layouts:
        blocks = layout()
        if len(blocks) <= budget:
            return blocks
    return _summary(fw)[: max(1, budget)]


def _intro(fw: Framework, user_id: str) -> list[Block]:
    blocks: list[Block] = list(
        sections(
            f"Hi {mention(user_id)}! Ask me about *{escape(fw.title)}* — mention me in a "
            f"channel or send me a direct message. Use `{COMMAND_ALIGN}` to see which "
            "objectives a proposal serves."
        )
    )
    st = fw.statements
    lines = [
        f"*{name}:* {escape(shorten(value, STATEMENT_CHARS))}"
        for name, value in (("Vision", st.vision), ("Mission", st.mission))
        if value
    ]
    return blocks + line_sections(lines)


def home_view(
    framework: Framework,
    *,
    user_id: str,
    recent: Sequence[RecentAlignment],
    extra_sections: Sequence[Sequence[Block]] = (),
) -> View:
    """The App Home view for ``user_id``.

    Order: title, greeting with vision and mission, the framework at a glance, the user's
    recent alignments (at most 10), then a divider and the ``extra_sections`` as given. The
    framework part gets whatever room the rest leaves (see :func:`framework_blocks`); extra
    sections that would not leave it a single block are left out, last first.
    """
    top: list[Block] = [header(framework.title), *_intro(framework, user_id), DividerBlock()]
    glance_header = header("The framework at a glance")
    tail: list[Block] = [DividerBlock(), *_recent_blocks(recent)]
    extras = [list(section) for section in extra_sections if section]

    def fixed() -> int:
        n_extra = sum(len(e) for e in extras)
        return len(top) + 1 + len(tail) + (n_extra + 1 if n_extra else 0)

    while extras and MAX_VIEW_BLOCKS - fixed() < 1:
        extras.pop()
    body = framework_blocks(framework, MAX_VIEW_BLOCKS - fixed())
    blocks = [*top, glance_header, *body, *tail]
    if extras:
        blocks += [DividerBlock(), *(b for e in extras for b in e)]
    return View(type="home", blocks=blocks[:MAX_VIEW_BLOCKS])
