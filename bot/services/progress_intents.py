"""One progress question being answered: a method per intent, each reading the database
through :class:`~bot.storage.progress_queries.ProgressQueries` and saying what it shows, as
:class:`~bot.services.progress_answers.ProgressAnswerer` allows the asker to see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from retrieval.answer import Answer, Citation
from retrieval.progress_intent import ProgressQuery

from ..storage.progress_records import InitiativeRecord
from .progress_text import SHOWN, initiative_line, listed, more, objective_label, update_line

if TYPE_CHECKING:
    from .progress_answers import ProgressAnswerer

SILENT_DEFAULT = timedelta(days=30)  # "who hasn't updated?" with no period named
ACTIVITY_DEFAULT = timedelta(days=90)  # "which goal has the least activity?"


@dataclass(frozen=True)
class ProgressAnswer:
    answer: Answer
    private: bool  # shows what only the asker may see: never posted to a channel
    framework_question: str | None = None  # the framework part of a mixed question


class Asking:
    """One question being answered: its query, asker, time and zone, and what it showed."""

    def __init__(
        self, by: ProgressAnswerer, query: ProgressQuery, asker: str, now: datetime, tz: ZoneInfo
    ) -> None:
        self.by, self.q, self.asker, self.now, self.tz = by, query, asker, now, tz
        self.fw = by.fw
        self.private = False
        self.cited: list[str] = []

    # ---- what the question is about ----------------------------------------------------

    def objective_ids(self) -> list[str]:
        """The objectives named, and every objective of the goals named."""
        ids = list(self.q.objectives)
        for gid in self.q.goals:
            goal = next((g for g in self.fw.goals if g.id == gid), None)
            if goal is not None:
                ids += [o.id for o in goal.objectives]
        return list(dict.fromkeys(ids))

    def scope_words(self) -> str:
        if self.q.goals and not self.q.objectives:
            return " under " + ", ".join(f"Goal {g}" for g in self.q.goals)
        if self.q.objectives:
            return " under " + ", ".join(self.q.objectives)
        return ""

    def list_command(self, extra: str = "") -> str:
        ids = self.objective_ids()
        where = f" --objective {','.join(ids)}" if ids else ""
        return f"fwbot progress list{where}{extra}"

    def owner_filter(self) -> str | None:
        return self.asker if self.q.me else self.q.person

    # ---- lines -------------------------------------------------------------------------

    def item_lines(self, items: list[InitiativeRecord]) -> list[str]:
        out = []
        for item in items:
            if self.by.may_see_details(item, self.asker):
                out.append(initiative_line(item, self.now, self.tz))
                self.private |= self.by.visibility == "owners_admins"
            else:
                out.append(f"• #{item.id} (details only for its owner and admins)")
        return out

    def done(self, lines: list[str], *, answered: bool = True) -> ProgressAnswer:
        citations = [
            Citation(id=i, kind="objective" if self.fw.objective(i) else "goal", score=1.0)
            for i in dict.fromkeys(self.cited)
        ]
        return ProgressAnswer(
            Answer(answered=answered, text="\n".join(lines), citations=citations),
            private=self.private,
            framework_question=self.q.framework_question,
        )

    # ---- one method per intent ---------------------------------------------------------

    def status(self) -> ProgressAnswer:
        if self.q.initiatives:
            return self._initiatives_named("How it is going")
        if self.q.named_initiative and not self.q.objectives and not self.q.goals:
            return self._no_such_initiative()
        ids = self.objective_ids()
        if not ids:
            return self.overview()
        self.cited += [*(f"G{g}" for g in self.q.goals), *self.q.objectives]
        items, total = self.by.queries.for_objectives(ids, now=self.now, limit=SHOWN)
        head = [objective_label(self.fw, i) for i in self.q.objectives] or [
            f"*Goal {g}*" for g in self.q.goals
        ]
        if total == 0:
            return self.done([*head, f"No active initiative serves{self.scope_words()} yet."])
        overdue_total = self.by.queries.overdue(self.now, objective_ids=ids, limit=0)[1]
        lines = [
            *head,
            f"{total} active initiative{'s' if total != 1 else ''}, {overdue_total} overdue "
            f"(as of {self.now.astimezone(self.tz):%-d %b %Y %H:%M}):",
            *listed(self.item_lines(items), total, self.list_command()),
        ]
        return self.done(lines)

    def overview(self) -> ProgressAnswer:
        counts = self.by.queries.coverage([o.id for _, o in self.fw.objectives()])
        overdue_total = self.by.queries.overdue(self.now, limit=0)[1]
        active = sum(counts.values())
        return self.done(
            [
                f"{active} initiative links across {sum(1 for c in counts.values() if c)} of "
                f"{len(counts)} objectives; {overdue_total} initiatives overdue. Ask about an "
                "objective or goal (“how is 2.3 doing?”) for the list."
            ]
        )

    def overdue(self) -> ProgressAnswer:
        ids = self.objective_ids() or None
        owner = self.owner_filter()
        items, total = self.by.queries.overdue(
            self.now, objective_ids=ids, owner_id=owner, limit=SHOWN
        )
        self.cited += self.q.objectives
        whose = " of yours" if self.q.me else (f" of <@{owner}>" if owner else "")
        if total == 0:
            return self.done([f"Nothing{whose}{self.scope_words()} is overdue. :tada:"])
        lines = [
            f"{total} initiative{'s' if total != 1 else ''}{whose}{self.scope_words()} "
            "overdue for an update:",
            *listed(
                self.item_lines(items),
                total,
                self.list_command(" --overdue" + (f" --owner {owner}" if owner else "")),
            ),
        ]
        return self.done(lines)

    def silent(self) -> ProgressAnswer:
        if self.by.visibility != "open" and self.asker not in self.by.admins:
            return self.done(
                ["Only admins can ask who has gone quiet; ask “what's overdue?” instead."],
                answered=False,
            )
        start = self.q.period.start if self.q.period else self.now - SILENT_DEFAULT
        words = self.q.period.words if self.q.period else "in the last 30 days"
        items, total = self.by.queries.silent_since(start, limit=SHOWN)
        self.private = self.by.visibility != "open"
        if total == 0:
            return self.done([f"Every active initiative has an update {words}."])
        lines = [
            f"{total} active initiative{'s' if total != 1 else ''} with no update {words}:",
            *listed(self.item_lines(items), total, "fwbot progress list --silent"),
        ]
        return self.done(lines)

    def coverage(self) -> ProgressAnswer:
        ids = self.objective_ids() or [o.id for _, o in self.fw.objectives()]
        counts = self.by.queries.coverage(ids)
        empty = [i for i in ids if counts.get(i, 0) == 0]
        if not empty:
            return self.done([f"Every objective{self.scope_words()} has an active initiative."])
        self.cited += empty
        lines = [
            f"{len(empty)} of {len(ids)} objectives{self.scope_words()} have no active initiative:",
            *(f"• {objective_label(self.fw, i)}" for i in empty),
        ]
        return self.done(lines)

    def least_active(self) -> ProgressAnswer:
        start = self.q.period.start if self.q.period else self.now - ACTIVITY_DEFAULT
        words = self.q.period.words if self.q.period else "in the last 90 days"
        ids = [o.id for _, o in self.fw.objectives()]
        updates = self.by.queries.activity(ids, start)
        by_goal = {g.id: sum(updates.get(o.id, 0) for o in g.objectives) for g in self.fw.goals}
        least = min(by_goal.values())
        quiet = [g for g, n in by_goal.items() if n == least]
        self.cited += [f"G{g}" for g in quiet]
        lines = [
            f"Updates per goal {words} (an update counts for each objective it serves):",
            *(f"• Goal {g}: {n}" for g, n in by_goal.items()),
            f"Least activity: Goal {', Goal '.join(quiet)}.",
        ]
        return self.done(lines)

    def owner(self) -> ProgressAnswer:
        if self.q.initiatives:
            return self._initiatives_named("Owned by")
        ids = self.q.objectives or self.objective_ids()
        if not ids:
            return self.done(
                ["Which objective or initiative? E.g. “who leads 4.2?”"], answered=False
            )
        self.cited += ids
        lines = []
        owners = self.by.queries.owners_of(ids)
        for oid in ids:
            lead = self.by.queries.lead_of(oid)
            lead_text = f"accountable lead <@{lead.owner_id}>" if lead else "no accountable lead"
            others = [u for u in owners.get(oid, []) if not lead or u != lead.owner_id]
            who = ", ".join(f"<@{u}>" for u in others[:SHOWN]) or "no initiative owners"
            lines.append(
                f"{objective_label(self.fw, oid)}: {lead_text}; initiatives owned by {who}."
            )
        return self.done(lines)

    def mine(self) -> ProgressAnswer:
        owner = self.q.person or self.asker
        items, total = self.by.queries.owned_by(owner, limit=SHOWN)
        whose = "You own" if owner == self.asker else f"<@{owner}> owns"
        if total == 0:
            return self.done([f"{whose} no active initiative."])
        lines = [
            f"{whose} {total} active initiative{'s' if total != 1 else ''}:",
            *listed(self.item_lines(items), total, f"fwbot progress list --owner {owner}"),
        ]
        return self.done(lines)

    def history(self) -> ProgressAnswer:
        return self._updates(initiative_ids=self.q.initiatives or None)

    def changes(self) -> ProgressAnswer:
        return self._updates(initiative_ids=None)

    # ---- shared ------------------------------------------------------------------------

    def _updates(self, *, initiative_ids: list[int] | None) -> ProgressAnswer:
        if self.q.ambiguous:
            return self._which()
        if self.q.named_initiative and not self.q.initiatives:
            return self._no_such_initiative()
        start = self.q.period.start if self.q.period else self.now - timedelta(days=7)
        end = self.q.period.end if self.q.period else self.now
        words = self.q.period.words if self.q.period else "in the last 7 days"
        ids = None if initiative_ids else (self.objective_ids() or None)
        self.cited += self.q.objectives
        updates, total = self.by.queries.updates_for(
            initiative_ids=initiative_ids, objective_ids=ids, start=start, end=end, limit=SHOWN
        )
        if total == 0:
            return self.done([f"No updates {words}{self.scope_words()}."])
        lines = [f"{total} update{'s' if total != 1 else ''} {words}{self.scope_words()}:"]
        hidden = False
        shown = self.by.queries.initiatives([u.initiative_id for u in updates])  # one query
        for u in updates:
            item = shown.get(u.initiative_id)
            notes = item is not None and self.by.may_see_notes(item, self.asker)
            hidden |= not notes and bool(u.note.strip())
            self.private |= notes and self.by.visibility != "open" and bool(u.note.strip())
            title = item.title if item is not None else "?"
            lines.append(update_line(u, title, self.tz, with_note=notes))
        one = initiative_ids[0] if initiative_ids and len(initiative_ids) == 1 else None
        lines += more(
            total, len(updates), "fwbot progress audit" + (f" --initiative {one}" if one else "")
        )
        if hidden:
            lines.append("(Update notes are shown only to each initiative's owner and admins.)")
        return self.done(lines)

    def _initiatives_named(self, heading: str) -> ProgressAnswer:
        if self.q.ambiguous:
            return self._which()
        items = [i for i in map(self.by.queries.initiative, self.q.initiatives) if i]
        for item in items:
            self.cited += list(item.objective_ids)
        lines = self.item_lines(items)
        if heading == "Owned by":
            lines = [
                f"#{i.id} {i.title} is owned by <@{i.owner_id}>."
                if self.by.may_see_details(i, self.asker)
                else f"#{i.id}: its details are only for its owner and admins."
                for i in items
            ]
        return self.done(lines)

    def _which(self) -> ProgressAnswer:
        items = [i for i in map(self.by.queries.initiative, self.q.initiatives) if i]
        lines = [
            f"“{self.q.named_initiative}” could be {len(items)} initiatives; which one? "
            "Ask again with its number (“how is #12 doing?”):",
            *(f"• #{i.id} {i.title}" for i in items[:SHOWN]),
        ]
        return self.done(lines, answered=False)

    def _no_such_initiative(self) -> ProgressAnswer:
        return self.done(
            [
                f"No initiative is called “{self.q.named_initiative}”. `fwbot progress list` "
                "(or App Home) lists them."
            ],
            answered=False,
        )
