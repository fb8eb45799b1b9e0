"""The /align engine: which objectives does a proposal serve, how surely, and why.

A proposal of any length (up to ``MAX_WORDS`` words) is split into sentence-sized passages;
each passage, and the opening of the whole text, is scored against every objective with the
same hybrid scorer as questions. An objective's score is its best passage, nudged up when
several passages support it. Tags are the objectives above a calibrated threshold and close to
the best one, at most five; when none clears the bar the result says no objective fits well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from .lexical import LexicalHit
from .search import FrameworkSearcher, ScoredElement, calibrate
from .text import clean_text, first_words, has_letters, split_passages

MAX_WORDS = 20_000
MAX_TAGS = 5  # the JSON contract's ceiling
PASSAGE_WORDS = 60  # a proposal up to this long is read whole; longer ones in passages
MAX_DENSE_PASSAGES = 48  # bounds model time for very long proposals (~3,000 words)
# A proposal fits when its best objective scores at least this (calibrated). Proposals are
# longer than questions and their fused scores run lower; on the labelled sets no proposal
# that fits nothing scored above ≈ 0.35 (fused), while fitting ones mostly score above 0.38.
ALIGN_MIN_SCORE = 0.4
SECONDARY_MARGIN = 0.08  # fused-score distance from the best tag within which others are kept
MAX_CLOSE_TAGS = 3  # (≤ MAX_TAGS) close runner-ups kept: the engine cannot tell them apart
CLEAR_MARGIN = 0.03  # a best tag this far ahead of the next is "clear"
SUPPORT_BONUS = 0.04  # per extra passage that supports an objective, capped at 2
Confidence = Literal["high", "medium", "low"]


class AlignInputError(ValueError):
    """The proposal text cannot be aligned (empty, no words, …); the message says why."""


class Tag(BaseModel):
    id: str
    goal: str | None
    score: float = Field(ge=0.0, le=1.0)
    confidence: Confidence
    why: str


class Alignment(BaseModel):
    tags: list[Tag] = Field(max_length=MAX_TAGS)
    no_fit: bool
    words_considered: int = 0
    words_ignored: int = 0
    nearest: list[Tag] = Field(default_factory=list, description="Best guesses when no_fit.")


def confidence_of(score: float, *, clear: bool = True) -> Confidence:
    """high: a strong match that stands clear of the rest; medium: a good match, or a strong one
    that a close runner-up shares; low: a fair match."""
    if score >= 0.9 and clear:
        return "high"
    if score >= 0.7:
        return "medium"
    return "low"


_CLAUSE_SPLIT = re.compile(r",|;|\(|\)|\band\b|\bthrough\b|\bto\b(?=\s+\w+\s)|\bfor\b|\bthat\b")


def _clause_with(text: str, word: str) -> str:
    """The clause of ``text`` that contains ``word`` (for readable explanations)."""
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(text) if c and len(c.strip()) > 2]
    for clause in clauses:
        if word.lower() in clause.lower():
            return clause
    return word


def _phrase_around(text: str, word: str, span: int = 3) -> str:
    ws = text.split()
    low = [re.sub(r"\W", "", w.lower()) for w in ws]
    target = re.sub(r"\W", "", word.lower())
    for i, w in enumerate(low):
        if w == target:
            return " ".join(ws[max(0, i - span) : i + span + 1]).strip(".,;:")
    return word


def explain(passage: str, scored: ScoredElement) -> str:
    """One line: the proposal phrase that matched and the objective phrase it matched."""
    parts: list[str] = []
    for m in (m for m in scored.matches if m.weight > 0):
        ours = _phrase_around(passage, m.query_word)
        theirs = _clause_with(scored.element.text, m.element_word)
        part = f"“{ours}” ↔ “{theirs}”"
        if part not in parts:
            parts.append(part)
        if len(parts) == 2:
            break
    if parts:
        return "; ".join(parts)
    snippet = " ".join(passage.split()[:14])
    return f"“{snippet}” is close in meaning to “{scored.best_view}”"


_Best = tuple[float, ScoredElement, str]  # fused score, its scoring, the passage it came from


@dataclass
class _Prepared:
    passages: list[str]
    considered: int
    ignored: int
    lexical: list[dict[str, LexicalHit]]
    dense_passages: list[int]  # indices of the passages that are embedded


class Aligner:
    def __init__(self, searcher: FrameworkSearcher) -> None:
        self.searcher = searcher
        self.framework = searcher.framework

    def align(self, text: str | bytes) -> Alignment:
        """Align one proposal; raises :class:`AlignInputError` for text that has no words."""
        result = self.align_many([text])[0]
        if isinstance(result, AlignInputError):
            raise result
        return result

    def align_many(self, texts: list[str | bytes]) -> list[Alignment | AlignInputError]:
        """Align many proposals with one pass of the model over all their passages."""
        prepared: list[_Prepared | AlignInputError] = []
        for text in texts:
            try:
                prepared.append(self._prepare(text))
            except AlignInputError as exc:
                prepared.append(exc)
        jobs = [(k, i) for k, p in enumerate(prepared) if isinstance(p, _Prepared)
                for i in p.dense_passages]
        vectors = self.searcher.embedder.embed(
            [prepared[k].passages[i] for k, i in jobs]  # type: ignore[union-attr]
        )
        dense, best_view = self.searcher.dense_matrix(vectors)
        rows: dict[tuple[int, int], int] = {job: r for r, job in enumerate(jobs)}
        out: list[Alignment | AlignInputError] = []
        for k, p in enumerate(prepared):
            if isinstance(p, AlignInputError):
                out.append(p)
                continue
            per_objective = self._score(p, {i: rows[(k, i)] for i in p.dense_passages},
                                        dense, best_view)
            out.append(self._decide(per_objective, p.considered, p.ignored))
        return out

    def _prepare(self, text: str | bytes) -> _Prepared:
        cleaned = clean_text(text)
        if not cleaned:
            raise AlignInputError("The proposal is empty: paste the text to align after /align.")
        if not has_letters(cleaned):
            raise AlignInputError("The proposal has no words to align; paste it as plain text.")
        cleaned, ignored = first_words(cleaned, MAX_WORDS)
        passages = split_passages(cleaned, max_words=PASSAGE_WORDS)
        lexical = [self.searcher.lexical.score(p) for p in passages]
        chosen = list(range(len(passages)))
        if len(chosen) > MAX_DENSE_PASSAGES:
            # Very long proposals: the model's time grows with every token, so only the
            # passages with the most lexical evidence are embedded; words still score the rest.
            evidence = [max((h.exact + h.concept for h in lex.values()), default=0.0)
                        for lex in lexical]
            chosen = sorted(chosen, key=lambda i: -evidence[i])[:MAX_DENSE_PASSAGES]
        return _Prepared(passages, len(cleaned.split()), ignored, lexical, chosen)

    def _score(
        self, p: _Prepared, row_of: dict[int, int], dense: np.ndarray, best_view: np.ndarray
    ) -> dict[str, _Best]:
        """Per objective: its best passage's fused score, nudged up when other passages
        support it almost as well."""
        n_elements = len(self.searcher.elements)
        no_dense = (np.zeros(n_elements, dtype=np.float32), np.zeros(n_elements, dtype=np.int64))
        best: dict[str, _Best] = {}
        raws: dict[str, list[float]] = {}
        for i, passage in enumerate(p.passages):
            row = row_of.get(i)
            d, v = (dense[row], best_view[row]) if row is not None else no_dense
            for s in self.searcher._fuse(d, v, p.lexical[i], ("objective",)):
                raws.setdefault(s.id, []).append(s.raw)
                if s.id not in best or s.raw > best[s.id][0]:
                    best[s.id] = (s.raw, s, passage)
        out: dict[str, _Best] = {}
        for oid, (raw, scored, passage) in best.items():
            support = sum(1 for r in raws[oid] if r >= raw - 0.05) - 1
            out[oid] = (raw + SUPPORT_BONUS * min(support, 2), scored, passage)
        return out

    def _decide(
        self,
        per_objective: dict[str, _Best],
        considered: int,
        ignored: int,
    ) -> Alignment:
        ranked = sorted(per_objective.items(), key=lambda kv: -kv[1][0])
        tags: list[Tag] = []
        top_raw = ranked[0][1][0] if ranked else -np.inf
        next_raw = ranked[1][1][0] if len(ranked) > 1 else -np.inf
        for i, (oid, (raw, scored, passage)) in enumerate(ranked[:MAX_CLOSE_TAGS]):
            score = calibrate(raw)
            if score < ALIGN_MIN_SCORE:
                break
            if i > 0 and raw < top_raw - SECONDARY_MARGIN:
                break
            clear = i == 0 and top_raw - next_raw >= CLEAR_MARGIN
            tags.append(self._tag(oid, score, scored, passage, clear=clear))
        nearest = []
        if not tags:
            nearest = [
                self._tag(oid, calibrate(raw), scored, passage, clear=False)
                for oid, (raw, scored, passage) in ranked[:3]
            ]
        return Alignment(
            tags=tags, no_fit=not tags, words_considered=considered, words_ignored=ignored,
            nearest=nearest,
        )

    def _tag(
        self, oid: str, score: float, scored: ScoredElement, passage: str, *, clear: bool
    ) -> Tag:
        return Tag(
            id=oid,
            goal=scored.element.goal_id,
            score=round(score, 4),
            confidence=confidence_of(score, clear=clear),
            why=explain(passage, scored),
        )
