"""Wiring the progress questions: the parser's topic resolver (the framework search), the
asker's time zone (their nudge preferences, else the default), the visibility setting."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from retrieval.calibration import default_calibration

if TYPE_CHECKING:
    from retrieval.answer import Answer

    from ..services.progress_answers import ProgressAnswerer, Visibility
    from .composition import Services


def progress_answerer(
    services: Services, *, visibility: Visibility | None = None
) -> ProgressAnswerer:
    """``visibility``: instead of FWBOT_PROGRESS_VISIBILITY (the CLI's operator sees all)."""
    from ..services.progress_answers import ProgressAnswerer
    from ..storage.progress_queries import ProgressQueries

    searcher = services.searcher
    threshold = default_calibration().answer_threshold

    def resolve_topic(words: str) -> str | None:
        """The objective the framework search finds for ``words``, when it is likely."""
        result = searcher.search(words)
        if not result.results or result.covered < threshold:
            return None
        return next((s.id for s in result.results if s.element.kind == "objective"), None)

    def tz_of(user: str) -> str | None:
        return services.progress_store.prefs(user).tz

    return ProgressAnswerer(
        services.framework,
        ProgressQueries(services.database),
        admins=services.admins,
        visibility=visibility or services.settings.progress.progress_visibility,
        resolve_topic=resolve_topic,
        default_tz=services.settings.progress.default_tz,
        tz_of=tz_of,
        phrase=services.model_parts.phraser.phrase if services.model_parts else None,
    )


LOCAL_USER = "local"  # who asks in the CLI and the plain console ("what do I own?": nothing)


def local_asker(services: Services) -> Callable[[str], Answer]:
    """A question to its answer, as the CLI and the plain console ask: a progress question
    from the database (the operator, who holds the database, sees everything), else the
    framework's answer."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from retrieval.progress_intent import may_be_progress

    assistant = services.assistant
    zone = ZoneInfo(services.settings.progress.default_tz)
    answerers: list[ProgressAnswerer] = []  # built (the database opened) only when needed

    def ask(question: str) -> Answer:
        if not may_be_progress(question, services.framework, now=datetime.now(UTC), tz=zone):
            return assistant.ask(question)
        from ..services.progress_answers import combined

        if not answerers:
            answerers.append(progress_answerer(services, visibility="open"))
        progress = answerers[0].answer(question, LOCAL_USER)
        if progress is None:
            return assistant.ask(question)
        if progress.framework_question:
            return combined(assistant.ask(progress.framework_question), progress.answer)
        return progress.answer

    return ask
