"""The /align engine: which objectives does a proposal serve, how surely, and why.

A proposal of any length (up to ``MAX_WORDS`` words) is split into sentence-sized passages;
each passage, and the opening of the whole text, is scored against every objective with the
same hybrid scorer as questions. An objective's fused score is its best passage's, nudged up
when several passages support it; that ranks them. Each of the best few then gets the
probability that it is an acceptable tag (:mod:`retrieval.calibration`): the best is tagged
when it is likely enough to fit at all, the others only when more likely right than wrong (at
most three); when none clears the bar the result says no objective fits well.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field

from .evidence import matched_note, specificity
from .lexical import LexicalHit
from .search import FrameworkSearcher, ScoredElement
from .text import (
    clean_text,
    first_words,
    has_letters,
    is_prose,
    shorten,
    split_passages,
    split_sentences,
    stem,
    words,
)

MAX_WORDS = 20_000
MAX_TAGS = 5  # the JSON contract's ceiling
PASSAGE_WORDS = 60  # a proposal up to this long is read whole; longer ones in passages
MAX_DENSE_PASSAGES = 48  # bounds model time for very long proposals (~3,000 words)
MAX_CANDIDATES = 5  # objectives whose probability is worked out per proposal
SECONDARY_PROBABILITY = 0.5  # a tag after the first is shown only when at least this likely
MAX_CLOSE_TAGS = 3  # (≤ MAX_TAGS) tags shown at most
SUPPORT_BONUS = 0.04  # per extra passage that supports an objective, capped at 2
HIGH, MEDIUM = 0.9, 0.6  # "high": at least 9 in 10 such tags are right; "medium": 6 in 10
# A word this common in English ("new", "people", "work") shared with an objective says
# nothing about what the two are about: it is never shown as a why pair.
WHY_SPECIFICITY = 0.2
EVIDENCE_CHARS = 280  # a quoted sentence is cut (at a word, with "…") past this
NOTE_CLAUSE_CHARS = 100  # a scope-note clause in a why is cut past this
Confidence = Literal["high", "medium", "low"]


class AlignInputError(ValueError):
    """The proposal text cannot be aligned (empty, no words, …); the message says why."""


class Tag(BaseModel):
    id: str
    goal: str | None
    score: float = Field(ge=0.0, le=1.0)
    confidence: Confidence
    why: str
    evidence: str = Field(default="", description="The proposal's sentence that supports it.")
    note: str | None = Field(
        default=None, description="Which scope note or keywords matched, when they did."
    )


class Alignment(BaseModel):
    tags: list[Tag] = Field(max_length=MAX_TAGS)
    no_fit: bool
    words_considered: int = 0
    words_ignored: int = 0
    nearest: list[Tag] = Field(default_factory=list, description="Best guesses when no_fit.")


def confidence_of(probability: float) -> Confidence:
    """The label of a calibrated probability: a promise about how often such tags are right."""
    if probability >= HIGH:
        return "high"
    if probability >= MEDIUM:
        return "medium"
    return "low"


_CLAUSE_SPLIT = re.compile(r",|;|\(|\)|\band\b|\bthrough\b|\bto\b(?=\s+\w+\s)|\bfor\b|\bthat\b")


def _clause_with(text: str, word: str) -> str | None:
    """The clause of ``text`` with a word of the same stem as ``word`` (for readable
    explanations), or None when it has none."""
    target = stem(word.lower())
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(text) if c and len(c.strip()) > 2]
    for clause in clauses:
        if target in {stem(w) for w in words(clause)}:
            return clause
    return None


def _phrase_around(text: str, word: str, span: int = 3) -> str:
    """Up to ``span`` words either side of ``word``, within its sentence (or heading, or
    table row): a phrase never runs across a sentence's end."""
    target = word.lower()
    for sentence in split_sentences(text):
        ws = sentence.split()
        for i, w in enumerate(ws):
            if target in words(w):
                return " ".join(ws[max(0, i - span) : i + span + 1]).strip(".,;:")
    return word


def _theirs(scored: ScoredElement, word: str, note: str | None) -> str:
    """Where the objective's side of a match is: a clause of its own text, else one of its
    keywords or its scope note, said as such (the notes are not the framework's words)."""
    own = _clause_with(scored.element.text, word)
    if own is not None:
        return f"“{own}”"
    target = stem(word.lower())
    for keyword in scored.element.keywords:
        if target in {stem(w) for w in words(keyword)}:
            return f"its keyword “{keyword}”"
    for sentence in split_sentences(note or ""):
        clause = _clause_with(sentence, word)
        if clause is not None:
            return f"its scope note: “{shorten(clause, NOTE_CLAUSE_CHARS)}”"
    return f"“{word}”"


def explain(passage: str, scored: ScoredElement, note: str | None = None) -> str:
    """One line: the proposal phrase that matched and the objective phrase it matched
    (``note``: the objective's scope note as search reads it)."""
    parts: list[str] = []
    seen: set[str] = set()
    telling = (m for m in scored.matches if m.weight > 0)
    for m in (m for m in telling if specificity(m.query_word) >= WHY_SPECIFICITY):
        theirs = _theirs(scored, m.element_word, note)
        if theirs in seen:
            continue
        seen.add(theirs)
        related = f" (a related term, not “{m.query_word}”)" if m.concept is not None else ""
        parts.append(f"“{_phrase_around(passage, m.query_word)}” ↔ {theirs}{related}")
        if len(parts) == 2:
            break
    if parts:
        return "; ".join(parts)
    snippet = " ".join(passage.split()[:14])
    return f"“{snippet}” is close in meaning to “{scored.best_view}”"


_Best = tuple[float, ScoredElement, str, int]  # fused score, its scoring, its passage, support


@dataclass(frozen=True)
class Candidate:
    """An objective a proposal may serve, with the evidence the calibration weighs."""

    id: str
    raw: float
    scored: ScoredElement
    passage: str
    features: dict[str, float]


@dataclass
class _Prepared:
    passages: list[str]
    scoring: list[str]  # the passages as scored (the organisation's names removed)
    considered: int
    ignored: int
    lexical: list[dict[str, LexicalHit]]
    dense_passages: list[int]  # indices of the passages that are embedded


class Reviewer(Protocol):
    """Reviews the engine's candidates for a proposal (a chat model: retrieval.llm.review)."""

    def review(
        self,
        proposal: str,
        offline: Alignment,
        proposed: Sequence[Tag],
        examples: Sequence[Example] = (),
    ) -> Alignment: ...


# A proposal staff tagged before, close to this one: its text and the ids they decided.
Example = tuple[str, Sequence[str]]


REVIEWED_CANDIDATES = 6  # the engine's candidates a reviewer chooses from


class Aligner:
    def __init__(self, searcher: FrameworkSearcher, reviewer: Reviewer | None = None) -> None:
        self.searcher = searcher
        self.framework = searcher.framework
        self.reviewer = reviewer

    def align(self, text: str | bytes, examples: Sequence[Example] = ()) -> Alignment:
        """Align one proposal; raises :class:`AlignInputError` for text that has no words.
        ``examples``: close proposals staff tagged before, shown to a reviewer."""
        result = self.align_many([text], examples)[0]
        if isinstance(result, AlignInputError):
            raise result
        return result

    def align_many(
        self, texts: Sequence[str | bytes], examples: Sequence[Example] = ()
    ) -> list[Alignment | AlignInputError]:
        """Align many proposals with one pass of the model over all their passages."""
        out: list[Alignment | AlignInputError] = []
        for text, item in zip(texts, self.candidates_many(texts), strict=True):
            if isinstance(item, AlignInputError):
                out.append(item)
                continue
            alignment = self._decide(*item)
            if self.reviewer is not None:
                alignment = self._reviewed(text, alignment, item[0], examples)
            out.append(alignment)
        return out

    def _reviewed(
        self,
        text: str | bytes,
        offline: Alignment,
        candidates: list[Candidate],
        examples: Sequence[Example],
    ) -> Alignment:
        proposed = [self._tag(c, self._probability(c)) for c in candidates[:REVIEWED_CANDIDATES]]
        assert self.reviewer is not None
        return self.reviewer.review(clean_text(text), offline, proposed, examples)

    def candidates_many(
        self, texts: Sequence[str | bytes]
    ) -> list[tuple[list[Candidate], int, int] | AlignInputError]:
        """Per proposal: its best objectives with their evidence, and the words considered
        and ignored (or the reason it cannot be aligned)."""
        prepared: list[_Prepared | AlignInputError] = []
        for text in texts:
            try:
                prepared.append(self._prepare(text))
            except AlignInputError as exc:
                prepared.append(exc)
        passages = [
            (k, i, p.scoring[i])
            for k, p in enumerate(prepared)
            if isinstance(p, _Prepared)
            for i in p.dense_passages
        ]
        jobs = [(k, i) for k, i, _ in passages]
        vectors = self.searcher.embedder.embed([passage for _, _, passage in passages])
        dense, best_view = self.searcher.dense_matrix(vectors)
        rows: dict[tuple[int, int], int] = {job: r for r, job in enumerate(jobs)}
        out: list[tuple[list[Candidate], int, int] | AlignInputError] = []
        for k, p in enumerate(prepared):
            if isinstance(p, AlignInputError):
                out.append(p)
                continue
            per_objective = self._score(
                p, {i: rows[(k, i)] for i in p.dense_passages}, dense, best_view
            )
            out.append((self._candidates(per_objective, len(p.passages)), p.considered, p.ignored))
        return out

    def _prepare(self, text: str | bytes) -> _Prepared:
        cleaned: str = clean_text(text)  # then its first MAX_WORDS words, a plain str
        if not cleaned:
            raise AlignInputError("The proposal is empty: paste the text to align after /align.")
        if not has_letters(cleaned):
            raise AlignInputError("The proposal has no words to align; paste it as plain text.")
        cleaned, ignored = first_words(cleaned, MAX_WORDS)
        passages = split_passages(cleaned, max_words=PASSAGE_WORDS)
        # Scored without the organisation's names (no evidence); quoted as written.
        scoring = [self.searcher.read(p) for p in passages]
        lexical = [self.searcher.lexical.score(p) for p in scoring]
        chosen = list(range(len(passages)))
        if len(chosen) > MAX_DENSE_PASSAGES:
            # Very long proposals: the model's time grows with every token, so only the
            # passages with the most lexical evidence are embedded; words still score the rest.
            evidence = [
                max((h.exact + h.concept for h in lex.values()), default=0.0) for lex in lexical
            ]
            chosen = sorted(chosen, key=lambda i: -evidence[i])[:MAX_DENSE_PASSAGES]
        chosen = [i for i in chosen if has_letters(scoring[i])]
        return _Prepared(passages, scoring, len(cleaned.split()), ignored, lexical, chosen)

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
                    best[s.id] = (s.raw, s, passage, 0)
        out: dict[str, _Best] = {}
        for oid, (raw, scored, passage, _) in best.items():
            support = sum(1 for r in raws[oid] if r >= raw - 0.05) - 1
            out[oid] = (raw + SUPPORT_BONUS * min(support, 2), scored, passage, support)
        return out

    @staticmethod
    def _candidates(per_objective: dict[str, _Best], passages: int) -> list[Candidate]:
        ranked = sorted(per_objective.items(), key=lambda kv: -kv[1][0])[:MAX_CANDIDATES]
        out = []
        for i, (oid, (raw, scored, passage, support)) in enumerate(ranked):
            other = ranked[1][1][0] if i == 0 and len(ranked) > 1 else ranked[0][1][0]
            features = {
                "raw": raw,
                "dense": scored.dense,
                "lexical": min(1.0, scored.exact + scored.concept),
                "lead": raw - other if len(ranked) > 1 else 1.0,
                "top": 1.0 if i == 0 else 0.0,
                "support": min(support, 3) / max(1, min(passages - 1, 3)),
            }
            out.append(Candidate(oid, raw, scored, passage, features))
        return out

    def _decide(self, candidates: list[Candidate], considered: int, ignored: int) -> Alignment:
        """Tags: the best objective when it is likely enough to fit at all, then the others
        that are more likely right than wrong; each with its probability."""
        cal = self.searcher.calibration
        probs = [self._probability(c) for c in candidates]
        tags: list[Tag] = []
        if candidates and probs[0] >= cal.fit_threshold:
            tags.append(self._tag(candidates[0], probs[0]))
            for c, p in zip(candidates[1:MAX_CLOSE_TAGS], probs[1:MAX_CLOSE_TAGS], strict=False):
                if p >= SECONDARY_PROBABILITY:
                    tags.append(self._tag(c, p))
            # Most likely first: a ceiling on related terms, or a note's pointer moving a
            # word, can leave the fused ranking and the probabilities in different orders.
            tags.sort(key=lambda t: -t.score)
        nearest = (
            [] if tags else [self._tag(c, p) for c, p in zip(candidates[:3], probs, strict=False)]
        )
        return Alignment(
            tags=tags,
            no_fit=not tags,
            words_considered=considered,
            words_ignored=ignored,
            nearest=nearest,
        )

    def _probability(self, c: Candidate) -> float:
        """P(the tag is acceptable), held below "high" on related terms alone."""
        p = self.searcher.calibration.tag.probability(c.features)
        return self.searcher.probability(p, c.scored)

    def _tag(self, c: Candidate, probability: float) -> Tag:
        el = c.scored.element
        note = self.searcher.note_of(c.id)
        return Tag(
            id=c.id,
            goal=c.scored.element.goal_id,
            score=round(probability, 4),
            confidence=confidence_of(probability),
            why=explain(c.passage, c.scored, note),
            evidence=self.evidence(c.passage, c.id),
            note=matched_note(c.id, el.text, note, el.keywords, c.scored.matches),
        )

    def evidence(self, passage: str, objective_id: str) -> str:
        """The sentence of ``passage`` that carries the most of the objective's evidence
        (the words it shares with the objective, weighed as in search), for a reader to
        check the tag at a glance. A heading ("Objectives.") or a table row is quoted only
        when no sentence of prose carries any."""
        sentences = split_sentences(passage)
        if not sentences:
            return ""
        best, best_key = sentences[0], (False, False, 0.0)
        if len(sentences) > 1:
            for sentence in sentences:
                hit = self.searcher.lexical.score(self.searcher.read(sentence)).get(objective_id)
                weight = hit.exact + hit.concept if hit else 0.0
                prose = is_prose(sentence)
                key = (weight > 0 and prose, weight > 0 or prose, weight)
                if key > best_key:
                    best, best_key = sentence, key
        return shorten(best, EVIDENCE_CHARS)
