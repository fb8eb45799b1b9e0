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
from dataclasses import replace
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from framework_data.schema import Framework
from retrieval.answer import Answer
from retrieval.progress_intent import ProgressQuery, may_be_progress, parse_progress
from retrieval.structure_answers import objective_ranges

from ..storage.progress_queries import ProgressQueries
from ..storage.progress_records import InitiativeRecord
from .progress_intents import Asking, ProgressAnswer

Visibility = Literal["open", "workspace", "owners_admins"]
Phrase = Callable[[str, str], tuple[str | None, str | None]]
NONE_YET = (
    "No initiatives are tracked yet, so there is no progress to report. Add one with "
    "`/progress new` in Slack, from an /align result's *Track as initiative*, or import a CSV "
    "(`fwbot progress import initiatives.csv`)."
)


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
        phrase: Phrase | None = None,
    ) -> None:
        """``phrase``: a chat model's wording of an answer from its facts (``(text, None)``),
        or why not (``(None, reason)``): it may state nothing the facts do not."""
        self.fw, self.queries, self.admins = framework, queries, admins
        self.visibility = visibility
        self.resolve_topic = resolve_topic
        self.default_tz, self.tz_of = default_tz, tz_of
        self.phrase = phrase
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
        if not may_be_progress(question, self.fw, now=now, tz=ZoneInfo(self.default_tz)):
            return None  # a framework question: no titles, no time zone read
        query = self.read(question, asker, now=now)
        if query is None:
            return None
        done = self.answer_query(query, asker, now=now)
        if self.phrase is None or not done.answer.answered:
            return done
        text, reason = self.phrase(question, done.answer.text)
        update = {"text": text, "composer": "model"} if text else {"fallback": reason}
        return replace(done, answer=done.answer.model_copy(update=update))

    def answer_query(self, query: ProgressQuery, asker: str, *, now: datetime) -> ProgressAnswer:
        tz = self._tz(asker)
        ask = Asking(self, query, asker, now, tz)
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
