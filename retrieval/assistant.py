"""The knowledge core's front door: ask a question, align a proposal. No Slack here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, cast

from framework_data.schema import Framework

from .align import Aligner, AlignInputError, Alignment, Example, Reviewer
from .answer import Answer, AnswerComposer, OfflineComposer, StreamingComposer, grounded
from .calibration import default_calibration
from .followup import resolve_followup
from .language import language_name, other_language
from .search import MAX_QUERY_CHARS, FrameworkSearcher
from .text import clean_text


class Rewriter(Protocol):
    def standalone(self, question: str, earlier: Sequence[str], language: str) -> str | None: ...


class FrameworkAssistant:
    def __init__(
        self,
        searcher: FrameworkSearcher,
        composer: AnswerComposer | None = None,
        rewriter: Rewriter | None = None,
        reviewer: Reviewer | None = None,
    ) -> None:
        """``rewriter``: a chat model that turns follow-ups and other languages into standalone
        questions in the framework's language (None: the offline follow-up rules);
        ``reviewer``: a chat model that reviews /align's candidates (None: the engine's)."""
        self.searcher = searcher
        self.framework: Framework = searcher.framework
        self.composer = composer or OfflineComposer()
        self.rewriter = rewriter
        self.aligner = Aligner(searcher, reviewer)

    def standalone(self, question: str, earlier: Sequence[str]) -> str:
        """``question`` as one standalone question to search for, given the earlier questions
        of its conversation (oldest first)."""
        q = clean_text(question)
        if (
            self.rewriter is not None
            and q
            and (earlier or other_language(q, self.framework.language))
        ):
            rewritten = self.rewriter.standalone(q, earlier, self.framework.language)
            if rewritten:
                return clean_text(rewritten)
        return resolve_followup(q, earlier, self.framework) if earlier else q

    def ask(
        self,
        question: str | bytes,
        *,
        asked: str | None = None,
        on_text: Callable[[str], object] | None = None,
    ) -> Answer:
        """Answer ``question`` (as searched); ``asked``: the words the person used, when they
        differ (a follow-up, another language) — a model answers those, in their language.
        ``on_text``: a model-written answer's text is handed over as it is written (the
        answer returned is what to show in the end; an answer not written by a model is
        never handed over)."""
        q = clean_text(question)
        if asked is None and self.rewriter is not None:
            asked, q = q, clean_text(self.standalone(q, []))
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
        if asked and asked != q:
            result.asked = asked
        declined = not result.results or result.covered < default_calibration().answer_threshold
        if declined and self.rewriter is None:
            other = other_language(q, self.framework.language)
            if other is not None:
                return self._other_language(other)
        composer = self.composer
        composed = (
            cast(StreamingComposer, composer).compose(result, self.framework, on_text)
            if on_text is not None and getattr(composer, "streams", False)
            else composer.compose(result, self.framework)
        )
        answer = grounded(
            composed,
            self.framework,
            self.searcher.elements.keys(),
        )
        if result.structural is not None and result.structural.kind == "fact":
            # The title, period or organisation: read off the file, no element to cite.
            answer = answer.model_copy(update={"answered": composed.answered})
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

    def align(self, text: str | bytes, examples: Sequence[Example] = ()) -> Alignment:
        """``examples``: close proposals staff tagged before (a model reviewer sees them)."""
        return self.aligner.align(text, examples)

    def align_many(self, texts: Sequence[str | bytes]) -> list[Alignment | AlignInputError]:
        """Many proposals in one pass of the model; a bad one yields its error in its place."""
        return self.aligner.align_many(texts)
