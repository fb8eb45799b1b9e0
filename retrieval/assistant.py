"""The knowledge core's front door: ask a question, align a proposal. No Slack here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, cast

from framework_data.schema import Framework

from .align import Aligner, AlignInputError, Alignment, Example, Reviewer
from .answer import Answer, AnswerComposer, OfflineComposer, StreamingComposer, grounded
from .calibration import default_calibration
from .conversation import Turn, resolve
from .language import other_language
from .language_reply import other_language_reply
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

    def standalone(self, question: str, earlier: Sequence[Turn | str]) -> str:
        """``question`` as one standalone question to search for, given the earlier turns of
        its conversation (oldest first; a bare string is a turn whose answer is unknown)."""
        q = clean_text(question)
        turns = [t if isinstance(t, Turn) else Turn(t) for t in earlier]
        offline = resolve(q, turns, self.framework) if turns else None
        if offline is not None and offline.kind == "navigation":
            return offline.query  # read off the framework's order: nothing for a model to add
        if (
            self.rewriter is not None
            and q
            and (earlier or other_language(q, self.framework.language))
        ):
            asked = [t.question for t in turns]
            rewritten = self.rewriter.standalone(q, asked, self.framework.language)
            if rewritten:
                return clean_text(rewritten)
        return offline.query if offline is not None else q

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
        if declined and (self.rewriter is None or asked in (None, q)):
            # Offline, or a model's rewrite that did not happen (failed, refused, over
            # budget): a question in another language is told so in its language.
            other = other_language(q, self.framework.language)
            if other is not None:
                return self._other_language(other, q)
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

    def _other_language(self, code: str, question: str) -> Answer:
        """Says so in the asker's language when there is a reply in it, and lists the
        objectives the question's names, acronyms and cognates point to, if any."""
        text, _ = other_language_reply(code, question, self.framework)
        return Answer(answered=False, text=text)

    def align(self, text: str | bytes, examples: Sequence[Example] = ()) -> Alignment:
        """``examples``: close proposals staff tagged before (a model reviewer sees them)."""
        return self.aligner.align(text, examples)

    def align_many(self, texts: Sequence[str | bytes]) -> list[Alignment | AlignInputError]:
        """Many proposals in one pass of the model; a bad one yields its error in its place."""
        return self.aligner.align_many(texts)
