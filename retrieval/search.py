"""Hybrid search over a framework: dense (MiniLM) + lexical (exact and concept), fused,
with structure-aware lookups in front.

Elements are ranked by the fused score. Each result of :meth:`FrameworkSearcher.search` then
carries ``score``: the probability that citing it is right, from the calibration's logistic
model over the evidence (:mod:`retrieval.calibration`, :mod:`retrieval.evidence`), and the
result carries the probability that the framework covers the question at all.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from framework_data.schema import Element, ElementKind, Framework

from .calibration import (
    Calibration,
    asks_about_the_framework,
    asks_for_a_fact,
    default_calibration,
)
from .embeddings import MiniLMEmbedder
from .evidence import (
    RELATED_CEILING,
    UNNAMED_CEILING,
    Explanation,
    OwnNames,
    WordMeanings,
    explain_question,
    matched_note,
    not_named,
    related_note,
    rests_on_related,
    shared_stems,
    topic_words,
)
from .goal_rank import goals_after_their_objectives, goals_for_their_objectives
from .index import BuildLock, ChromaLocation, VectorIndex
from .lexical import ConceptLexicon, LexicalHit, LexicalIndex, Match
from .search_views import element_views, lexical_docs, note_without_pointers
from .structure import StructuralHit, asks_for_a_goal, find_structural
from .text import STOPWORDS, clean_text, has_letters, stem, words

# Fusion weights (see README "How retrieval works"): they rank; the calibration scores.
W_DENSE, W_EXACT, W_CONCEPT = 1.0, 0.6, 0.8
MAX_QUERY_CHARS = 2_000


@dataclass(frozen=True)
class ScoredElement:
    element: Element
    score: float  # probability that citing it is right (0 until search() calibrates it)
    raw: float
    dense: float
    exact: float
    concept: float
    matches: tuple[Match, ...] = ()
    best_view: str = ""
    own: float = 0.0  # closeness in meaning to the element's own text (a goal's: its title)
    explanation: Explanation | None = None  # how much of a question this element explains
    note: str | None = None  # which of its scope note or keywords matched, if they did

    @property
    def id(self) -> str:
        return self.element.id


@dataclass
class SearchResult:
    query: str
    structural: StructuralHit | None
    results: list[ScoredElement] = field(default_factory=list)
    covered: float = 1.0  # P(the framework covers the question); 1 for lookups
    asked: str | None = None  # the person's own words, when the search used others
    unnamed: tuple[str, ...] = ()  # the question's words the framework's own text never names

    @property
    def top(self) -> ScoredElement | None:
        return self.results[0] if self.results else None


def focus_text(text: str) -> str:
    """The topic words of a question, without the wrapper ("which objective talks about")."""
    kept = [w for w in words(text) if w not in STOPWORDS]
    return " ".join(kept)


class FrameworkSearcher:
    """Scores framework elements against free text. Build once; thread-safe to query."""

    def __init__(
        self,
        framework: Framework,
        embedder: MiniLMEmbedder,
        *,
        location: ChromaLocation | None = None,
        lexicon: ConceptLexicon | None = None,
        rebuild: bool = False,
        calibration: Calibration | None = None,
        build_lock: BuildLock | None = None,
    ) -> None:
        self.framework = framework
        self.embedder = embedder.load()
        self.elements = {el.id: el for el in framework.elements()}
        self.names = OwnNames(framework)
        citable = frozenset(framework.citation_ids())
        self._notes = {el.id: note_without_pointers(el, citable) for el in framework.elements()}
        self.calibration = calibration or default_calibration()
        self._views = element_views(framework, self.names, self._notes)
        self.index = VectorIndex.open(
            self._views,
            embedder,
            location,
            framework_hash=framework.content_hash(),
            rebuild=rebuild,
            build_lock=build_lock,
        )
        docs = lexical_docs(framework, self.names, self._notes)
        self.lexical = LexicalIndex(docs, lexicon, neutral=self.names.neutral_stems)
        self.shared = shared_stems(framework, docs)
        # Each element's own words (its text and title: what answers quote).
        self._own = {
            el.id: frozenset(stem(w) for t in (el.text, el.title) if t for w in words(t))
            for el in framework.elements()
        }
        self._meaning_texts = docs
        self._meanings: WordMeanings | None = None
        self._meanings_lock = threading.Lock()
        ids = list(self.elements)
        self._ids = ids
        self._col = {eid: i for i, eid in enumerate(ids)}
        owners = [self._col[v.element_id] for v in self._views]
        if owners != sorted(owners):
            raise AssertionError("views must be grouped by element, in element order")
        self._view_starts = np.searchsorted(owners, np.arange(len(ids)))
        self._view_stops = np.append(self._view_starts[1:], len(owners))

    # ---- scoring ----------------------------------------------------------------------

    def dense_matrix(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per query vector (rows) and element (columns): the best view's cosine similarity,
        and which view it was."""
        return self._best_views(self.index.similarities(vectors))

    def _best_views(self, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``sims``: (queries, views), views grouped by element."""
        best = np.maximum.reduceat(sims, self._view_starts, axis=1)
        best_view = np.empty(best.shape, dtype=np.int64)
        for col, (start, stop) in enumerate(zip(self._view_starts, self._view_stops, strict=True)):
            best_view[:, col] = start + sims[:, start:stop].argmax(axis=1)
        return best, best_view

    def _dense(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best similarity per element over all query vectors (a question and its focus),
        which view it was, and the similarity to the element's own text (its first view)."""
        sims = self.index.similarities(vectors)
        best, best_view = self._best_views(sims)
        row = best.argmax(axis=0)
        cols = np.arange(best.shape[1])
        own = sims[:, self._view_starts].max(axis=0)
        return best[row, cols], best_view[row, cols], own

    def probability(self, p: float, s: ScoredElement) -> float:
        """A calibrated probability, held below "high" when the evidence is only related
        terms (concept neighbours, shared terms), not the person's own words."""
        if rests_on_related(s.matches, self.shared, s.dense):
            return min(p, RELATED_CEILING)
        return p

    def note_of(self, element_id: str) -> str | None:
        """The element's scope note as search reads it (without pointers to other elements)."""
        return self._notes.get(element_id)

    def read(self, text: str) -> str:
        """The text as it is scored: without the organisation's names (no evidence)."""
        return self.names.remove_from(text)

    def score(
        self,
        text: str,
        *,
        kinds: Sequence[ElementKind] = ("objective", "goal", "statement"),
        query_vectors: np.ndarray | None = None,
        read: bool = True,
    ) -> list[ScoredElement]:
        """All elements of the given kinds, best first by fused score (``read=False``: the
        text was already through :meth:`read`)."""
        text = self.read(text) if read else text
        if not has_letters(text):  # nothing but the organisation's name: no evidence
            n = len(self.elements)
            return self._fuse(np.zeros(n), np.zeros(n, dtype=np.int64), {}, kinds)
        if query_vectors is None:
            query_vectors = self.embed_query(text)
        dense, best_view, own = self._dense(query_vectors)
        lex = self.lexical.score(text)
        return self._fuse(dense, best_view, lex, kinds, own)

    def question_evidence(
        self, question: str, k: int = 5, within: frozenset[str] | None = None
    ) -> list[tuple[ScoredElement, dict[str, float]]]:
        """The ``k`` best elements for a question (``within``: among those ids only), each
        with its explanation and the evidence features the calibration weighs."""
        text = self.read(question)
        ranked = [s for s in self.score(text, read=False) if within is None or s.id in within]
        if asks_for_a_goal(question) is False:
            ranked = goals_after_their_objectives(ranked)
        ranked = ranked[:k]
        if not ranked:
            return []
        tokens = topic_words(text, self.names.title_stems)
        closeness = self.meanings.closeness([t.word for t in tokens], [s.id for s in ranked])
        framing = 1.0 if asks_about_the_framework(question) else 0.0
        out = []
        for j, s in enumerate(ranked):
            ex = explain_question(tokens, s.matches, closeness[:, j] if tokens else None)
            other = ranked[1].raw if j == 0 and len(ranked) > 1 else ranked[0].raw
            features = {
                "dense": s.dense,
                "lexical": min(1.0, s.exact + s.concept),
                "explained": ex.explained,
                "worst": ex.worst,
                "unexplained": min(3.0, ex.unexplained_weight),
                "lead": s.raw - other if len(ranked) > 1 else 1.0,
                "factual": 1.0 if asks_for_a_fact(question, s.element.text) else 0.0,
                # Asking about the framework ("which objective covers…") lends weight to
                # the evidence there is, never evidence of its own.
                "framed_dense": framing * s.dense,
                "framed_explained": framing * ex.explained,
                "top": 1.0 if j == 0 else 0.0,
            }
            note = matched_note(
                s.id, s.element.text, self.note_of(s.id), s.element.keywords, s.matches
            ) or related_note(s.id, s.matches)
            out.append((replace(s, explanation=ex, note=note), features))
        return out

    @property
    def meanings(self) -> WordMeanings:
        """The framework's words embedded one by one (built on first use)."""
        with self._meanings_lock:
            if self._meanings is None:
                self._meanings = WordMeanings(self.embedder.embed, self._meaning_texts)
            return self._meanings

    def embed_query(self, text: str) -> np.ndarray:
        return self.embedder.embed(self._query_texts(text))

    @staticmethod
    def _query_texts(text: str) -> list[str]:
        """What is embedded for a query: the text, and its topic words alone when they differ."""
        focus = focus_text(text)
        return [text] if not focus or focus == text.lower() else [text, focus]

    def _fuse(
        self,
        dense: np.ndarray,
        best_view: np.ndarray,
        lex: dict[str, LexicalHit],
        kinds: Sequence[ElementKind],
        own: np.ndarray | None = None,
    ) -> list[ScoredElement]:
        """``own``: per element, the closeness to its own text (0 when not given)."""
        out: list[ScoredElement] = []
        for eid, el in self.elements.items():
            if el.kind not in kinds:
                continue
            i = self._col[eid]
            hit = lex.get(eid) or LexicalHit()
            d = float(dense[i])
            raw = W_DENSE * d + W_EXACT * hit.exact + W_CONCEPT * hit.concept
            out.append(
                ScoredElement(
                    element=el,
                    score=0.0,
                    raw=raw,
                    dense=d,
                    exact=hit.exact,
                    concept=hit.concept,
                    matches=tuple(sorted(hit.matches, key=lambda m: -m.weight)),
                    best_view=self._views[int(best_view[i])].text,
                    own=float(own[i]) if own is not None else 0.0,
                )
            )
        out.sort(key=lambda s: -s.raw)
        return out

    # ---- questions --------------------------------------------------------------------

    def search(self, query: str, k: int = 5) -> SearchResult:
        """Structure first (ids, statements, counts), then hybrid search."""
        q = clean_text(query, max_chars=MAX_QUERY_CHARS)
        structural = find_structural(self.framework, q)
        if structural is not None and structural.kind == "within":
            found = self._search_within(q, structural, k)
            if found.results and found.covered >= self.calibration.answer_threshold:
                return found
            # Nothing in the goal is close: the goal itself, with all its objectives.
            structural = StructuralHit("goal", structural.ids)
        if structural is not None and structural.kind in ("objective", "goal", "statement"):
            results = [self.exact(eid) for eid in structural.ids]
            if structural.kind == "goal":
                for gid in structural.ids:
                    goal = self.framework.goal(gid)
                    if goal is not None:
                        results += [self.exact(o.id) for o in goal.objectives]
            return SearchResult(q, structural, results)
        if structural is not None:
            return SearchResult(q, structural, [])
        found = self._calibrated(q, None, self.question_evidence(q, k))
        if asks_for_a_goal(q):
            found.results = goals_for_their_objectives(found.results)
        return found

    def _search_within(self, q: str, structural: StructuralHit, k: int) -> SearchResult:
        """A question that names goals and asks for one of their objectives: searched among
        those objectives only (the question without its goal references)."""
        goals = [self.framework.goal(gid) for gid in structural.ids]
        scope = frozenset(o.id for g in goals if g is not None for o in g.objectives)
        return self._calibrated(q, structural, self.question_evidence(structural.detail, k, scope))

    def _calibrated(
        self,
        q: str,
        structural: StructuralHit | None,
        evidence: list[tuple[ScoredElement, dict[str, float]]],
    ) -> SearchResult:
        cal = self.calibration
        results = sorted(
            (
                replace(s, score=self.probability(cal.citation.probability(f), s))
                for s, f in evidence
            ),
            key=lambda s: -s.score,
        )  # best first: the most likely right
        covered = cal.covered.probability(evidence[0][1]) if evidence else 0.0
        unnamed = self._unnamed(results)
        if unnamed:  # the closest elements to a topic the framework does not name: "low"
            results = [replace(s, score=min(s.score, UNNAMED_CEILING)) for s in results]
        return SearchResult(q, structural, results, covered=covered, unnamed=unnamed)

    def _unnamed(self, results: Sequence[ScoredElement]) -> tuple[str, ...]:
        """The question's words that the best element reaches only through a related term of
        its note (and no element found names in its own words), when that is all it rests on."""
        if not results or not rests_on_related(results[0].matches, self.shared, results[0].dense):
            return ()
        top = results[0]
        others = [(s.matches, self._own[s.id]) for s in results[1:]]
        return not_named(top.matches, self._own[top.id], others)

    def exact(self, element_id: str) -> ScoredElement:
        """An element found by lookup: certain, score 1."""
        el = self.elements[element_id]
        return ScoredElement(el, 1.0, math.inf, 1.0, 1.0, 0.0, (), el.text)
