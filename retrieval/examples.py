"""Confirmed and corrected tags as labelled examples that vote with the /align engine.

When people confirm or correct the tags of a proposal, that proposal becomes an example. A new
proposal close in meaning to one or more examples (cosine similarity of their embeddings at or
above ``MIN_SIMILARITY``) gets their tags blended with the engine's: the closer the examples,
the more their vote weighs, up to ``MAX_WEIGHT``. Far-away examples change nothing, so a
handful of corrections cannot drag unrelated proposals around.

An example's words belong to whoever wrote them (``owner_id``): a tag it voted for says so,
but quotes its opening only when the caller's ``may_quote`` allows (e.g. the asker wrote it,
or it was shared); otherwise only the similarity is given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .align import MAX_TAGS, Alignment, Tag, confidence_of
from .embeddings import MiniLMEmbedder
from .text import clean_text, first_words

MIN_SIMILARITY = 0.8  # MiniLM cosine; paraphrases of one proposal score ≈ 0.8–0.95
FULL_SIMILARITY = 0.95  # at or above: a near-duplicate, whose vote weighs MAX_WEIGHT
MAX_WEIGHT = 0.95  # the vote's weight when an example is a near-duplicate
MIN_WEIGHT = 0.6  # … and when it is just at MIN_SIMILARITY: people outrank the engine
NEIGHBOURS = 5
KEEP_SCORE = 0.45  # a blended score below this drops the tag
EXAMPLE_WORDS = 256  # examples and proposals are compared on their opening words


@dataclass(frozen=True)
class LabelledExample:
    text: str
    ids: tuple[str, ...]
    owner_id: str | None = None  # who wrote the text
    shared: bool = False  # its owner made it public


@dataclass(frozen=True)
class Neighbour:
    example: LabelledExample
    similarity: float


class ExampleMemory:
    """Labelled examples and their embeddings; thread-safe; ``add`` and ``replace`` at will."""

    def __init__(self, embedder: MiniLMEmbedder, examples: Iterable[LabelledExample] = ()):
        self._embedder = embedder
        self._lock = threading.Lock()
        self._examples: list[LabelledExample] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self.replace(examples)

    def __len__(self) -> int:
        return len(self._examples)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._embedder.embed([first_words(clean_text(t), EXAMPLE_WORDS)[0] for t in texts])

    def replace(self, examples: Iterable[LabelledExample]) -> None:
        """Use exactly these examples (e.g. reloaded from the database; newest first, one text
        one example). Texts already held keep their embedding: only new ones are embedded."""
        by_text: dict[str, LabelledExample] = {}
        for ex in examples:
            by_text.setdefault(clean_text(ex.text), ex)  # the first (newest) decision wins
        with self._lock:
            known: dict[str, np.ndarray] = {
                clean_text(e.text): self._vectors[i] for i, e in enumerate(self._examples)
            }
        fresh = [k for k in by_text if k not in known]
        if fresh:
            known.update(zip(fresh, self._embed([by_text[k].text for k in fresh]), strict=True))
        kept = list(by_text.values())
        vectors = (
            np.vstack([known[k] for k in by_text]) if kept else np.zeros((0, 0), dtype=np.float32)
        )
        with self._lock:
            self._examples, self._vectors = kept, vectors

    def add(self, example: LabelledExample) -> None:
        """Add an example; a new decision on the same text replaces the earlier one."""
        vector = self._embed([example.text])
        key = clean_text(example.text)
        with self._lock:
            keep = [i for i, e in enumerate(self._examples) if clean_text(e.text) != key]
            self._examples = [self._examples[i] for i in keep] + [example]
            old = self._vectors[keep] if len(keep) else np.zeros((0, vector.shape[1]), np.float32)
            self._vectors = np.vstack([old, vector])

    def nearest(self, text: str, k: int = NEIGHBOURS) -> list[Neighbour]:
        """The examples at or above ``MIN_SIMILARITY`` to ``text``, closest first."""
        with self._lock:
            examples, vectors = self._examples, self._vectors
        if not examples:
            return []
        sims = vectors @ self._embed([text])[0]
        order = np.argsort(-sims)[:k]
        return [Neighbour(examples[i], float(sims[i])) for i in order if sims[i] >= MIN_SIMILARITY]


def _weight(similarity: float) -> float:
    span = (similarity - MIN_SIMILARITY) / (FULL_SIMILARITY - MIN_SIMILARITY)
    return MIN_WEIGHT + (MAX_WEIGHT - MIN_WEIGHT) * min(max(span, 0.0), 1.0)


def never_quote(example: LabelledExample) -> bool:
    return False


def _because(neighbour: Neighbour, *, quote: bool) -> str:
    similarity = f"similarity {neighbour.similarity:.2f}"
    if not quote:
        return f"confirmed for a similar proposal ({similarity})"
    opening, cut = first_words(neighbour.example.text, 12)
    quoted = opening + ("…" if cut else "")
    return f"confirmed for a similar proposal (“{quoted}”, {similarity})"


def vote(
    alignment: Alignment,
    neighbours: Sequence[Neighbour],
    goal_of: dict[str, str],
    *,
    may_quote: Callable[[LabelledExample], bool] = never_quote,
) -> Alignment:
    """Blend the engine's tags with the examples' tags.

    Each id's vote is the similarity-weighted share of neighbours that carry it; its engine
    score is its tag score (0 when the engine did not tag it). The blend weighs the vote by how
    close the nearest example is. ``goal_of`` maps objective ids to their goals' citation ids
    ("G1"); unknown ids, e.g. from an older framework, are ignored. A tag's "why" quotes the
    opening of the example that voted for it only when ``may_quote(example)``."""
    if not neighbours:
        return alignment
    w = _weight(neighbours[0].similarity)
    total = sum(n.similarity for n in neighbours)
    votes: dict[str, float] = {}
    first_voter: dict[str, Neighbour] = {}
    for n in neighbours:
        for oid in n.example.ids:
            if oid in goal_of:
                votes[oid] = votes.get(oid, 0.0) + n.similarity / total
                first_voter.setdefault(oid, n)
    engine = {t.id: t for t in alignment.tags}
    blended: list[Tag] = []
    for oid in dict.fromkeys([*votes, *engine]):
        tag = engine.get(oid)
        score = (1 - w) * (tag.score if tag else 0.0) + w * votes.get(oid, 0.0)
        if score < KEEP_SCORE:
            continue
        if oid in first_voter:
            voter = first_voter[oid]
            because = _because(voter, quote=may_quote(voter.example))
            why = f"{tag.why}; also {because}" if tag else because[0].upper() + because[1:]
        else:
            why = tag.why if tag else ""
        blended.append(
            Tag(
                id=oid,
                goal=goal_of.get(oid),
                score=round(min(score, 1.0), 4),
                confidence=confidence_of(score),
                why=why,
                evidence=tag.evidence if tag else "",
                part=tag.part if tag else None,
                note=tag.note if tag else None,
            )
        )
    blended.sort(key=lambda t: -t.score)
    tags = blended[:MAX_TAGS]
    if not tags:  # the examples say nothing fits (corrected to no objective)
        nearest = alignment.tags or alignment.nearest
        return alignment.model_copy(update={"tags": [], "no_fit": True, "nearest": nearest})
    return alignment.model_copy(update={"tags": tags, "no_fit": False, "nearest": []})
