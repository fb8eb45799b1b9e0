"""How a progress answer reads: one line per initiative or update, the period stated, the
rest counted with the command that lists them all. Plain functions over records; Slack
mrkdwn that reads as plain text in the console and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from framework_data.schema import Framework

from ..storage.progress_records import InitiativeRecord, UpdateRecord

SHOWN = 10  # initiatives or updates listed in one answer; the rest are counted
NOTE_CHARS = 160  # an update's note is cut past this in a list


def day(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%-d %b %Y") if at is not None else "never"


def objective_label(fw: Framework, oid: str) -> str:
    """ "2.3 (Goal 2) Build international police capabilities…" """
    objective = fw.objective(oid)
    if objective is None:
        return oid
    goal = fw.goal_of(oid)
    where = f" (Goal {goal.id})" if goal else ""
    text = objective.text if len(objective.text) <= 90 else objective.text[:89].rstrip() + "…"
    return f"*{oid}*{where} {text}"


def initiative_line(
    item: InitiativeRecord, now: datetime, tz: ZoneInfo, *, with_owner: bool = True
) -> str:
    """ "• #12 Biometrics pilot – Ghana — <@U01…> — on track, 40 %, updated 2 Dec 2026
    (overdue since 30 Nov 2026)" """
    parts = [f"#{item.id} {item.title}"]
    if with_owner:
        parts.append(f"<@{item.owner_id}>")
    state = []
    if item.last_status is not None:
        state.append(item.last_status.label.lower())
    if item.last_percent is not None:
        state.append(f"{item.last_percent} %")
    state.append(
        f"updated {day(item.last_update_at, tz)}" if item.last_update_at else "no update yet"
    )
    parts.append(", ".join(state))
    line = "• " + " — ".join(parts)
    if item.is_overdue(now):
        line += f" (*overdue* since {day(item.overdue_from, tz)})"
    return line


def update_line(update: UpdateRecord, title: str, tz: ZoneInfo, *, with_note: bool) -> str:
    """ "• 2 Dec 2026 — #12 Biometrics pilot — at risk, 40 %: <note>" """
    state = update.status.label.lower()
    if update.percent is not None:
        state += f", {update.percent} %"
    line = f"• {day(update.created_at, tz)} — #{update.initiative_id} {title} — {state}"
    note = " ".join(update.note.split())
    if with_note and note:
        line += f": “{note if len(note) <= NOTE_CHARS else note[: NOTE_CHARS - 1] + '…'}”"
    return line


def more(total: int, shown: int, command: str) -> list[str]:
    """ "…and 14 more: `fwbot progress list --objective 2.3`" when some were not listed."""
    if total <= shown:
        return []
    return [f"…and {total - shown} more: `{command}`"]


def listed(lines: Sequence[str], total: int, command: str) -> list[str]:
    return [*lines[:SHOWN], *more(total, min(len(lines), SHOWN), command)]
