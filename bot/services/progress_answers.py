"""Questions about progress ("how is 2.3 doing?", "what's overdue under goal 1?", "who leads
4.2?", "what do I own?"), answered offline from the live initiative data.

The question is read by :func:`retrieval.progress_intent.parse_progress` (deterministic, no
model); the numbers, names, statuses and dates come from the database
(:class:`bot.storage.progress_queries.ProgressQueries`), never from a model. Who sees what:

- ``workspace`` (default): titles, owners, statuses and dates to everyone; update notes only
  to the initiative's owner and admins; who has gone quiet only to admins;
- ``owners_admins``: an initiative's details only to its owner and admins (everyone else
  hears counts);
- ``open``: everything to everyone.

An answer that shows something restricted is ``private``: in a channel it goes to the asker
alone (ephemeral), never to the thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from framework_data.schema import Framework
from retrieval.answer import Answer, Citation
from retrieval.progress_intent import ProgressQuery, parse_progress
from retrieval.structure_answers import objective_ranges

from ..storage.progress_queries import ProgressQueries
from ..storage.progress_records import InitiativeRecord
from .progress_text import SHOWN, initiative_line, listed, more, objective_label, update_line

Visibility = Literal["open", "workspace", "owners_admins"]
SILENT_DEFAULT = timedelta(days=30)  # "who hasn't updated?" with no period named
ACTIVITY_DEFAULT = timedelta(days=90)  # "which goal has the least activity?"
NONE_YET = (
    "No initiatives are tracked yet, so there is no progress to report. Add one with "
    "`/progress new` in Slack, from an /align result's *Track as initiative*, or import a CSV "
    "(`fwbot progress import initiatives.csv`)."
)


@dataclass(frozen=True)
class ProgressAnswer:
    answer: Answer
    private: bool  # shows what only the asker may see: never posted to a channel
    framework_question: str | None = None  # the framework part of a mixed question


class ProgressAnswerer:
    def __init__(
        self,
        framework: Framework,
        queries: ProgressQueries,
        *,
        admins: Container[str] = frozenset(),
        visibility: Visibility = "workspace",
        resolve_topic: Callable[[str], str | None] | None = None,
        default_tz: str = "UTC",
        tz_of: Callable[[str], str | None] = lambda user: None,
    ) -> None:
        self.fw, self.queries, self.admins = framework, queries, admins
        self.visibility = visibility
        self.resolve_topic = resolve_topic
        self.default_tz, self.tz_of = default_tz, tz_of
        # The initiatives' titles, kept while ProgressQueries.titles_version is unchanged:
        # one small query instead of 10,000 rows per question, and the same mapping each
        # time, so the parser's title index (built once per mapping) is reused.
        self._titles: tuple[object, dict[int, str]] | None = None
        self._titles_lock = threading.Lock()

    def titles(self) -> dict[int, str]:
        """The active initiatives' titles by id (objective leads left out), cached."""
        version = self.queries.titles_version(kind="initiative")
        with self._titles_lock:
            cached = self._titles
        if cached is not None and cached[0] == version:
            return cached[1]
        titles = self.queries.titles(kind="initiative")
        with self._titles_lock:
            self._titles = (version, titles)
        return titles

    def read(
        self, question: str, asker: str, *, now: datetime | None = None
    ) -> ProgressQuery | None:
        """The progress question ``question`` asks, or None (a framework question)."""
        now = now or datetime.now(UTC)
        return parse_progress(
            question,
            self.fw,
            self.titles(),
            now=now,
            tz=self._tz(asker),
            resolve_topic=self.resolve_topic,
        )

    def answer(
        self, question: str, asker: str, *, now: datetime | None = None
    ) -> ProgressAnswer | None:
        """The answer to a progress question, or None when ``question`` is not one."""
        now = now or datetime.now(UTC)
        query = self.read(question, asker, now=now)
        if query is None:
            return None
        return self.answer_query(query, asker, now=now)

    def answer_query(self, query: ProgressQuery, asker: str, *, now: datetime) -> ProgressAnswer:
        tz = self._tz(asker)
        ask = _Asking(self, query, asker, now, tz)
        if query.unknown:
            lines = [
                f"{self.fw.title} has no {', '.join(query.unknown)}: its objectives are "
                f"{objective_ranges(self.fw)}, its goals {', '.join(g.id for g in self.fw.goals)}."
            ]
            return ask.done(lines, answered=False)
        if not self.queries.any_initiatives():
            return ask.done([NONE_YET], answered=False)
        if query.period is not None and query.period.label == "future":
            return ask.done(
                ["That date is in the future: I can only report updates already posted."],
                answered=False,
            )
        handler = getattr(ask, query.intent)
        return handler()

    def _tz(self, user: str) -> ZoneInfo:
        return ZoneInfo(self.tz_of(user) or self.default_tz)

    def may_see_details(self, item: InitiativeRecord, user: str) -> bool:
        """Title, owner, status and dates."""
        return self.visibility != "owners_admins" or user == item.owner_id or user in self.admins

    def may_see_notes(self, item: InitiativeRecord, user: str) -> bool:
        return self.visibility == "open" or user == item.owner_id or user in self.admins


class _Asking:
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
        lines += more(total, len(updates), "fwbot progress export")
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


def combined(framework: Answer, progress: Answer) -> Answer:
    """A mixed question's answer: what the framework says, then how it is going."""
    ids = {c.id for c in framework.citations}
    return Answer(
        answered=framework.answered or progress.answered,
        text=f"{framework.text}\n\n{progress.text}",
        citations=[*framework.citations, *(c for c in progress.citations if c.id not in ids)],
        composer=framework.composer,
        fallback=framework.fallback,
    )
