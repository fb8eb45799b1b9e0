"""Why a proposal was given a tag: the proposal's phrase and the objective's phrase that
matched, each within one sentence, so that a reader can check the pair at a glance."""

from __future__ import annotations

import re

from .evidence import specificity
from .search import ScoredElement
from .text import shorten, split_sentences, stem, words

# A word this common in English ("new", "people", "work") shared with an objective says
# nothing about what the two are about: it is never shown as a why pair.
WHY_SPECIFICITY = 0.2
NOTE_CLAUSE_CHARS = 100  # a scope-note clause in a why is cut past this


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
