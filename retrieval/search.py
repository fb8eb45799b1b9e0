"""Hybrid search over a framework: dense (MiniLM) + lexical (exact and concept), fused and
calibrated, with structure-aware lookups in front.

Every result carries ``score`` in [0, 1], calibrated so that the same thresholds mean the same
thing across questions and frameworks: >= ``STRONG`` a clear match, >= ``WEAK`` plausibly
related, below that no match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from framework_data.schema import Element, ElementKind, Framework

from .embeddings import MiniLMEmbedder
from .index import ChromaLocation, VectorIndex, View
from .lexical import ConceptLexicon, LexicalHit, LexicalIndex, Match
from .structure import StructuralHit, find_structural
from .text import STOPWORDS, clean_text, words

# Fusion weights and calibration (see docs in README "How retrieval works").
W_DENSE, W_EXACT, W_CONCEPT = 1.0, 0.6, 0.8
# calibrate() maps the fused score to [0, 1]; 0.5 sits where, on the labelled sets, questions
# the framework covers separate from those it does not (fused ≈ 0.39).
CAL_CENTER, CAL_SCALE = 0.39, 0.05
STRONG, WEAK = 0.85, 0.5
MAX_QUERY_CHARS = 2_000


def calibrate(raw: float) -> float:
    return 1.0 / (1.0 + math.exp(-(raw - CAL_CENTER) / CAL_SCALE))


@dataclass(frozen=True)
class ScoredElement:
    element: Element
    score: float  # calibrated, 0..1
    raw: float
    dense: float
    exact: float
    concept: float
    matches: tuple[Match, ...] = ()
    best_view: str = ""

    @property
    def id(self) -> str:
        return self.element.id


@dataclass
class SearchResult:
    query: str
    structural: StructuralHit | None
    results: list[ScoredElement] = field(default_factory=list)

    @property
    def top(self) -> ScoredElement | None:
        return self.results[0] if self.results else None


def _views(fw: Framework) -> list[View]:
    views: list[View] = []
    for el in fw.elements():
        views.append(View(el.id, el.text))
        if el.kind == "objective":
            goal = fw.goal(el.goal_id or "")
            if goal is not None:
                views.append(View(el.id, f"{goal.title}: {el.text}"))
        if el.kind == "statement":  # "Our values: Respect, …", "Our mission: …"
            views.append(View(el.id, f"Our {el.id}: {el.text}"))
        for extra in (el.title, el.scope, ", ".join(el.keywords) if el.keywords else None):
            if extra and (el.kind != "goal" or extra != el.title):
                views.append(View(el.id, extra))
    return views


def _lexical_docs(fw: Framework) -> dict[str, list[str]]:
    docs = {
        el.id: [t for t in (el.text, el.title, el.scope, *el.keywords) if t]
        for el in fw.elements()
    }
    for el in fw.elements():
        if el.kind == "statement":
            docs[el.id].append(el.id)  # the word "values" finds the values
    return docs


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
    ) -> None:
        self.framework = framework
        self.embedder = embedder.load()
        self.elements = {el.id: el for el in framework.elements()}
        self._views = _views(framework)
        self.index = VectorIndex.open(
            self._views, embedder, location, framework_hash=framework.content_hash(),
            rebuild=rebuild,
        )
        self.lexical = LexicalIndex(_lexical_docs(framework), lexicon)
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
        sims = self.index.similarities(vectors)  # (queries, views); views grouped by element
        best = np.maximum.reduceat(sims, self._view_starts, axis=1)
        best_view = np.empty(best.shape, dtype=np.int64)
        for col, (start, stop) in enumerate(zip(self._view_starts, self._view_stops, strict=True)):
            best_view[:, col] = start + sims[:, start:stop].argmax(axis=1)
        return best, best_view

    def _dense(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best similarity per element over all query vectors (a question and its focus)."""
        best, best_view = self.dense_matrix(vectors)
        row = best.argmax(axis=0)
        cols = np.arange(best.shape[1])
        return best[row, cols], best_view[row, cols]

    def score(
        self,
        text: str,
        *,
        kinds: Sequence[ElementKind] = ("objective", "goal", "statement"),
        query_vectors: np.ndarray | None = None,
    ) -> list[ScoredElement]:
        """All elements of the given kinds, best first."""
        if query_vectors is None:
            query_vectors = self.embed_query(text)
        dense, best_view = self._dense(query_vectors)
        lex = self.lexical.score(text)
        return self._fuse(dense, best_view, lex, kinds)

    def embed_query(self, text: str) -> np.ndarray:
        focus = focus_text(text)
        texts = [text] if not focus or focus == text.lower() else [text, focus]
        return self.embedder.embed(texts)

    def _fuse(
        self,
        dense: np.ndarray,
        best_view: np.ndarray,
        lex: dict[str, LexicalHit],
        kinds: Sequence[ElementKind],
    ) -> list[ScoredElement]:
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
                    score=calibrate(raw),
                    raw=raw,
                    dense=d,
                    exact=hit.exact,
                    concept=hit.concept,
                    matches=tuple(sorted(hit.matches, key=lambda m: -m.weight)),
                    best_view=self._views[int(best_view[i])].text,
                )
            )
        out.sort(key=lambda s: -s.raw)
        return out

    # ---- questions --------------------------------------------------------------------

    def search(self, query: str, k: int = 5) -> SearchResult:
        """Structure first (ids, statements, counts), then hybrid search."""
        q = clean_text(query, max_chars=MAX_QUERY_CHARS)
        structural = find_structural(self.framework, q)
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
        return SearchResult(q, None, self.score(q)[:k])

    def exact(self, element_id: str) -> ScoredElement:
        """An element found by lookup: certain, score 1."""
        el = self.elements[element_id]
        return ScoredElement(el, 1.0, math.inf, 1.0, 1.0, 0.0, (), el.text)
