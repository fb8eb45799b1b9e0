"""The parts of a long proposal: the candidates /align weighs (for the whole text, and for
each paragraph read as a proposal of its own) and where a reader finds a tag's evidence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .search import ScoredElement
from .text import PART_MIN_WORDS, has_letters, is_prose, split_sentences

PASSAGE_WORDS = 60  # a proposal up to this long is read whole; longer ones in passages


@dataclass(frozen=True)
class Candidate:
    """An objective a proposal may serve, with the evidence the calibration weighs."""

    id: str
    raw: float
    scored: ScoredElement
    passage: str
    features: dict[str, float]
    source: str = ""  # the whole proposal, to say where in it the evidence is


@dataclass(frozen=True)
class Proposal:
    """A proposal's candidates: for the whole text, and for each part read on its own."""

    whole: list[Candidate]
    parts: list[Candidate]
    considered: int
    ignored: int


def paragraph_candidate(
    passages: Sequence[str],
    text: str,
    paragraph: list[int],
    scored: dict[int, list[ScoredElement]],
) -> Candidate:
    """A paragraph's best objective (its best passage's), with the features it would
    have as a proposal alone."""
    best: dict[str, tuple[ScoredElement, int]] = {}
    for i in paragraph:
        for s in scored[i]:
            if s.id not in best or s.raw > best[s.id][0].raw:
                best[s.id] = (s, i)
    ranked = sorted(best.values(), key=lambda si: -si[0].raw)
    (first, i), second = ranked[0], ranked[1][0] if len(ranked) > 1 else None
    features = {
        "raw": first.raw,
        "dense": first.dense,
        "lexical": min(1.0, first.exact + first.concept),
        "lead": first.raw - second.raw if second is not None else 1.0,
        "top": 1.0,
        "support": 0.0,
    }
    return Candidate(first.id, first.raw, first, passages[i], features, text)


def is_part(passage: str) -> bool:
    """A passage that can carry an aim of its own: prose of some length, not a title."""
    return len(passage.split()) >= PART_MIN_WORDS and any(
        is_prose(s) for s in split_sentences(passage)
    )


def where_in(text: str, sentence: str) -> str | None:
    """Where a reader finds ``sentence`` (as quoted, perhaps cut with "…") in a long ``text``:
    its paragraph in a text of several, else its sentence's number; nothing in a text short
    enough to be read whole."""
    if len(text.split()) <= PASSAGE_WORDS or not sentence:
        return None
    start = " ".join(sentence.removesuffix("…").split())[:60]
    blocks = [b for b in re.split(r"\n\s*\n", text) if has_letters(b)]
    if len(blocks) > 1:
        for number, block in enumerate(blocks, start=1):
            if start in " ".join(block.split()):
                return f"paragraph {number}"
        return None
    for number, each in enumerate(split_sentences(text), start=1):
        if " ".join(each.split()).startswith(start):
            return f"sentence {number}"
    return None
