"""The knowledge core's front door: ask a question, align a proposal. No Slack here."""

from __future__ import annotations

from collections.abc import Sequence

from framework_data.schema import Framework

from .align import Aligner, AlignInputError, Alignment
from .answer import Answer, AnswerComposer, OfflineComposer, grounded
from .calibration import default_calibration
from .language import language_name, other_language
from .search import MAX_QUERY_CHARS, FrameworkSearcher
from .text import clean_text


class FrameworkAssistant:
    def __init__(self, searcher: FrameworkSearcher, composer: AnswerComposer | None = None) -> None:
        self.searcher = searcher
        self.framework: Framework = searcher.framework
        self.composer = composer or OfflineComposer()
        self.aligner = Aligner(searcher)

    def ask(self, question: str | bytes) -> Answer:
        q = clean_text(question)
        if not q or not any(ch.isalnum() for ch in q):
            return Answer(
                answered=False,
                text=(
                    f"Ask me anything about {self.framework.title}, e.g. “Which objective is "
                    "about training?” or “What does 1.3 say?”."
                ),
            )
        note = ""
        if len(q) > MAX_QUERY_CHARS:
            note = (
                f"\n\n(Your question was long; I read its first {MAX_QUERY_CHARS:,} "
                "characters. For a proposal, use /align.)"
            )
        result = self.searcher.search(q)
        if not result.results or result.covered < default_calibration().answer_threshold:
            other = other_language(q, self.framework.language)
            if other is not None:
                return self._other_language(other)
        answer = grounded(
            self.composer.compose(result, self.framework),
            self.framework,
            self.searcher.elements.keys(),
        )
        return answer.model_copy(update={"text": answer.text + note}) if note else answer

    def _other_language(self, code: str) -> Answer:
        mine = language_name(self.framework.language)
        theirs = language_name(code) if code != "??" else "another language"
        return Answer(
            answered=False,
            text=(
                f"Your question looks like {theirs}. I can only read {mine} for now, the "
                f"language {self.framework.title} is written in: please ask in {mine}. "
                "(A chat model, if your workspace sets one up, can read other languages.)"
            ),
        )

    def align(self, text: str | bytes) -> Alignment:
        return self.aligner.align(text)

    def align_many(self, texts: Sequence[str | bytes]) -> list[Alignment | AlignInputError]:
        """Many proposals in one pass of the model; a bad one yields its error in its place."""
        return self.aligner.align_many(texts)
