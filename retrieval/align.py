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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field

from .align_parts import PASSAGE_WORDS, Candidate, Proposal, is_part, paragraph_candidate, where_in
from .align_why import explain
from .evidence import matched_note
from .lexical import LexicalHit
from .search import FrameworkSearcher, ScoredElement
from .text import (
    clean_text,
    first_words,
    has_letters,
    is_prose,
    shorten,
    split_parts,
    split_passages,
    split_sentences,
)

MAX_WORDS = 20_000
MAX_TAGS = 5  # the JSON contract's ceiling
MAX_DENSE_PASSAGES = 48  # bounds model time for very long proposals (~3,000 words)
MAX_CANDIDATES = 5  # objectives whose probability is worked out per proposal
SECONDARY_PROBABILITY = 0.5  # a tag after the first is shown only when at least this likely
MAX_CLOSE_TAGS = 3  # (≤ MAX_TAGS) tags shown at most
SUPPORT_BONUS = 0.04  # per extra passage that supports an objective, capped at 2
# A long proposal's part (a paragraph) that, read as a proposal of its own, is at least this
# likely to serve its best objective adds that objective as a tag of its own when the whole
# text ranks it among its MAX_CLOSE_TAGS best (after the whole text's tags, at most MAX_TAGS
# in all): a programme with several aims is tagged with each, while a budget or background
# paragraph's passing match adds nothing.
PART_PROBABILITY = 0.8
HIGH, MEDIUM = 0.9, 0.6  # "high": at least 9 in 10 such tags are right; "medium": 6 in 10
EVIDENCE_CHARS = 280  # a quoted sentence is cut (at a word, with "…") past this
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
    part: str | None = Field(
        default=None,
        description='Where in a long proposal the evidence is ("paragraph 3", "sentence 7").',
    )
    note: str | None = Field(
        default=None, description="Which scope note or keywords matched, when they did."
    )


class Alignment(BaseModel):
    tags: list[Tag] = Field(max_length=MAX_TAGS)
    no_fit: bool
    words_considered: int = 0
    words_ignored: int = 0
    nearest: list[Tag] = Field(default_factory=list, description="Best guesses when no_fit.")
    reviewer: Literal["engine", "model"] = Field(
        default="engine", description="Whose tags: the engine's, or a model's review of them."
    )
    fallback: str | None = Field(
        default=None, description="Why a configured model's review was not used (a reason)."
    )


def confidence_of(probability: float) -> Confidence:
    """The label of a calibrated probability: a promise about how often such tags are right."""
    if probability >= HIGH:
        return "high"
    if probability >= MEDIUM:
        return "medium"
    return "low"


_Best = tuple[float, ScoredElement, int, int]  # fused score, its scoring, its passage, support


@dataclass
class _Prepared:
    text: str  # the proposal as read (cleaned, cut at MAX_WORDS)
    passages: list[str]  # the whole text's passages, then (long texts) its parts' passages
    whole: int  # how many of them are the whole text's
    parts: list[list[int]]  # per paragraph of a long text, its passages (prose only)
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
    def __init__(
        self,
        searcher: FrameworkSearcher,
        reviewer: Reviewer | None = None,
        *,
        read_parts: bool = True,
    ) -> None:
        """``read_parts``: a long proposal's parts may add their own aims (False: the whole
        text's tags only, as before parts were read; kept to measure what they add)."""
        self.searcher = searcher
        self.framework = searcher.framework
        self.reviewer = reviewer
        self.read_parts = read_parts

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
            alignment = self._decide(item)
            if self.reviewer is not None:
                alignment = self._reviewed(text, alignment, item.whole, examples)
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

    def candidates_many(self, texts: Sequence[str | bytes]) -> list[Proposal | AlignInputError]:
        """Per proposal: its best objectives with their evidence, for the whole text and for
        each of its parts, and the words considered and ignored (or why it cannot be
        aligned)."""
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
        out: list[Proposal | AlignInputError] = []
        for k, p in enumerate(prepared):
            if isinstance(p, AlignInputError):
                out.append(p)
                continue
            per_objective, per_passage = self._score(
                p, {i: rows[(k, i)] for i in p.dense_passages}, dense, best_view
            )
            whole = self._candidates(p, per_objective)
            parts = [
                paragraph_candidate(p.passages, p.text, group, per_passage) for group in p.parts
            ]
            out.append(Proposal(whole, parts, p.considered, p.ignored))
        return out

    def _prepare(self, text: str | bytes) -> _Prepared:
        cleaned: str = clean_text(text)  # then its first MAX_WORDS words, a plain str
        if not cleaned:
            raise AlignInputError("The proposal is empty: paste the text to align after /align.")
        if not has_letters(cleaned):
            raise AlignInputError("The proposal has no words to align; paste it as plain text.")
        cleaned, ignored = first_words(cleaned, MAX_WORDS)
        passages = split_passages(cleaned, max_words=PASSAGE_WORDS)
        whole, parts = len(passages), []
        if whole > 1:
            # The parts of a long text: passages that keep within a paragraph, so that each
            # has one part's topic (the whole text's passages may join two paragraphs).
            paragraphs: dict[int, list[int]] = {}
            for number, part in split_parts(cleaned, max_words=PASSAGE_WORDS):
                if not is_part(part):
                    continue
                if part not in passages:
                    passages.append(part)
                paragraphs.setdefault(number, []).append(passages.index(part))
            parts = list(paragraphs.values())
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
        considered = len(cleaned.split())
        return _Prepared(
            cleaned, passages, whole, parts, scoring, considered, ignored, lexical, chosen
        )

    def _score(
        self, p: _Prepared, row_of: dict[int, int], dense: np.ndarray, best_view: np.ndarray
    ) -> tuple[dict[str, _Best], dict[int, list[ScoredElement]]]:
        """Per objective: its best passage's fused score, nudged up when other passages
        support it almost as well; and per passage of a long proposal's parts, its scores."""
        n_elements = len(self.searcher.elements)
        no_dense = (np.zeros(n_elements, dtype=np.float32), np.zeros(n_elements, dtype=np.int64))
        best: dict[str, _Best] = {}
        raws: dict[str, list[float]] = {}
        per_passage: dict[int, list[ScoredElement]] = {}
        parts = {i for paragraph in p.parts for i in paragraph}
        for i in range(len(p.passages)):
            row = row_of.get(i)
            d, v = (dense[row], best_view[row]) if row is not None else no_dense
            fused = self.searcher._fuse(d, v, p.lexical[i], ("objective",))
            if i in parts:
                per_passage[i] = fused
            if i >= p.whole:
                continue
            for s in fused:
                raws.setdefault(s.id, []).append(s.raw)
                if s.id not in best or s.raw > best[s.id][0]:
                    best[s.id] = (s.raw, s, i, 0)
        out: dict[str, _Best] = {}
        for oid, (raw, scored, i, _) in best.items():
            support = sum(1 for r in raws[oid] if r >= raw - 0.05) - 1
            out[oid] = (raw + SUPPORT_BONUS * min(support, 2), scored, i, support)
        return out, per_passage

    @staticmethod
    def _candidates(p: _Prepared, per_objective: dict[str, _Best]) -> list[Candidate]:
        ranked = sorted(per_objective.items(), key=lambda kv: -kv[1][0])[:MAX_CANDIDATES]
        passages = p.whole
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
            out.append(Candidate(oid, raw, scored, p.passages[passage], features, p.text))
        return out

    def _decide(self, proposal: Proposal) -> Alignment:
        """Tags: the best objective when it is likely enough to fit at all, then the others
        that are more likely right than wrong; then, in a long proposal, the objective each
        part serves when that part alone makes it likely; each with its probability."""
        cal = self.searcher.calibration
        candidates = proposal.whole
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
            if self.read_parts:
                shown = {t.id for t in tags}
                close = {c.id for c in candidates[:MAX_CLOSE_TAGS]}
                tags += self._part_tags(proposal.parts, shown, close, MAX_TAGS - len(tags))
        nearest = (
            [] if tags else [self._tag(c, p) for c, p in zip(candidates[:3], probs, strict=False)]
        )
        return Alignment(
            tags=tags,
            no_fit=not tags,
            words_considered=proposal.considered,
            words_ignored=proposal.ignored,
            nearest=nearest,
        )

    def _part_tags(
        self, parts: list[Candidate], shown: set[str], close: set[str], room: int
    ) -> list[Tag]:
        """The aims of a long proposal's parts not among its tags yet: a part's best objective
        when the part alone makes it at least ``PART_PROBABILITY`` likely and the whole text
        ranks it among its ``close`` few, most likely first."""
        best: dict[str, tuple[float, Candidate]] = {}
        for c in parts:
            if c.id in shown or c.id not in close:
                continue
            p = self._probability(c)
            if p >= PART_PROBABILITY and p > best.get(c.id, (0.0,))[0]:
                best[c.id] = (p, c)
        ranked = sorted(best.values(), key=lambda pc: -pc[0])[: max(0, room)]
        return [self._tag(c, p) for p, c in ranked]

    def _probability(self, c: Candidate) -> float:
        """P(the tag is acceptable), held below "high" on related terms alone."""
        p = self.searcher.calibration.tag.probability(c.features)
        return self.searcher.probability(p, c.scored)

    def _tag(self, c: Candidate, probability: float) -> Tag:
        el = c.scored.element
        note = self.searcher.note_of(c.id)
        evidence = self.evidence(c.passage, c.id)
        return Tag(
            id=c.id,
            goal=c.scored.element.goal_id,
            score=round(probability, 4),
            confidence=confidence_of(probability),
            why=explain(c.passage, c.scored, note),
            evidence=evidence,
            part=where_in(c.source, evidence),
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
