"""Lexical evidence: which topic words of a query an element shares, exactly or by concept.

Scores are *coverage* fractions, not raw BM25: the share of the query's informative weight
(IDF over the framework's elements) that the element accounts for. A word the framework never
uses gets the highest weight, so an off-topic question ("exchange rate of the euro") that
shares one common word with an objective still has low coverage. That keeps the score
comparable across questions and frameworks, which the calibrated confidence relies on.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .text import STOPWORDS, stem, words

CONCEPTS_PATH = Path(__file__).with_name("concepts.txt")
FAMILY_FACTOR = 0.5  # a family match counts half as much as a shared group
_HEADER_RE = re.compile(r"^(?P<name>[^\[\]:]+?)\s*(?:\[(?P<families>[^\]]*)\])?\s*$")


@dataclass(frozen=True)
class Match:
    """One query word explained by an element: the same stem, a shared concept, or a family."""

    query_word: str
    element_word: str
    concept: str | None  # None for an exact match; "<family> family" for a family match
    weight: float


@dataclass
class LexicalHit:
    exact: float = 0.0  # share of query weight matched by the same stem
    concept: float = 0.0  # share matched only through a shared concept (or concept family)
    matches: list[Match] = field(default_factory=list)


class ConceptLexicon:
    """Maps words and phrases to concept groups, and groups to broader families (concepts.txt)."""

    def __init__(
        self,
        groups: dict[str, list[str]],
        families: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self.heads = {name: terms[:3] for name, terms in groups.items()}
        self.families: dict[str, tuple[str, ...]] = {
            name: (families or {}).get(name, ()) for name in groups
        }
        for name, terms in groups.items():
            for term in terms:
                seq = tuple(stem(w) for w in words(term))
                if seq:
                    self._by_first.setdefault(seq[0], []).append((seq, name))
        for entries in self._by_first.values():
            entries.sort(key=lambda e: -len(e[0]))  # longest phrase first

    @classmethod
    def from_file(cls, path: Path = CONCEPTS_PATH) -> ConceptLexicon:
        groups: dict[str, list[str]] = {}
        families: dict[str, tuple[str, ...]] = {}
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#") or ":" not in line:
                continue
            header, _, terms = line.partition(":")
            m = _HEADER_RE.match(header.strip())
            if m is None:
                raise ValueError(f"{path}: bad group header {header!r}")
            name = m.group("name")
            fams = m.group("families") or ""
            groups[name] = [t.strip() for t in terms.split(",") if t.strip()]
            families[name] = tuple(f.strip() for f in fams.split(",") if f.strip())
        return cls(groups, families)

    def annotate(self, tokens: Sequence[str]) -> list[set[str]]:
        """For each token position (stems, stopwords included), the concepts covering it."""
        out: list[set[str]] = [set() for _ in tokens]
        for i, tok in enumerate(tokens):
            for seq, name in self._by_first.get(tok, ()):
                if tuple(tokens[i : i + len(seq)]) == seq:
                    for j in range(i, i + len(seq)):
                        out[j].add(name)
        return out

    def expansion(self, text: str, limit: int = 6) -> str:
        """The general notions a text's words are instances of ("seedlings" -> "forest")."""
        _, _, cons = analyse(text, self)
        names: list[str] = []
        for cs in cons:
            names += [c for c in sorted(cs) if c not in names]
        return ", ".join(", ".join(self.heads[n][:2]) for n in names[:limit])


@cache
def default_lexicon() -> ConceptLexicon:
    return ConceptLexicon.from_file()


@dataclass(frozen=True)
class _Doc:
    stems: frozenset[str]
    surface: dict[str, str]  # stem -> a word of the element, for explanations
    concepts: dict[str, str]  # concept -> the element word that carries it
    families: dict[str, str]  # family -> the element word that carries it


_NUMBER_RE = re.compile(r"^\d+(?:[.,]\d+)*$")


def analyse(text: str, lexicon: ConceptLexicon) -> tuple[list[str], list[str], list[set[str]]]:
    """Words, their stems, and the concepts at each position."""
    ws = words(text)
    stems = [stem(w) for w in ws]
    return ws, stems, lexicon.annotate(stems)


def _is_content(word: str) -> bool:
    return word not in STOPWORDS and len(word) > 1 and not _NUMBER_RE.match(word)


class LexicalIndex:
    """Exact and concept-level word overlap between a query and each element's texts."""

    def __init__(
        self,
        docs: Mapping[str, Iterable[str]],
        lexicon: ConceptLexicon | None = None,
        *,
        neutral: frozenset[str] = frozenset(),
    ) -> None:
        """``neutral``: stems that are no evidence in a query (the framework's own name)."""
        self.lexicon = lexicon or default_lexicon()
        self.neutral = neutral
        self.docs: dict[str, _Doc] = {}
        for key, texts in docs.items():
            surface: dict[str, str] = {}
            concepts: dict[str, str] = {}
            families: dict[str, str] = {}
            for text in texts:
                ws, stems, cons = analyse(text, self.lexicon)
                for w, s, cs in zip(ws, stems, cons, strict=True):
                    if _is_content(w):
                        surface.setdefault(s, w)
                    for c in cs:
                        concepts.setdefault(c, w)
                        for f in self.lexicon.families.get(c, ()):
                            families.setdefault(f, w)
            self.docs[key] = _Doc(frozenset(surface), surface, concepts, families)
        n = len(self.docs)
        df = Counter(s for d in self.docs.values() for s in d.stems)
        cdf = Counter(c for d in self.docs.values() for c in d.concepts)
        fdf = Counter(f for d in self.docs.values() for f in d.families)
        self._idf = {s: math.log((n + 1) / (c + 0.5)) for s, c in df.items()}
        self._cidf = {c: math.log((n + 1) / (k + 0.5)) for c, k in cdf.items()}
        self._fidf = {f: math.log((n + 1) / (k + 0.5)) for f, k in fdf.items()}
        self._max_idf = math.log((n + 1) / 0.5)

    def idf(self, stem_: str) -> float:
        return self._idf.get(stem_, self._max_idf)

    def score(self, text: str) -> dict[str, LexicalHit]:
        ws, stems, cons = analyse(text, self.lexicon)
        query: dict[str, tuple[str, set[str]]] = {}
        for w, s, cs in zip(ws, stems, cons, strict=True):
            if _is_content(w) and s not in self.neutral:
                prev = query.get(s)
                query[s] = (w, (prev[1] if prev else set()) | cs)
        total = sum(self.idf(s) for s in query)
        if total <= 0:
            return {key: LexicalHit() for key in self.docs}
        # Per query word, once: its weight, its groups and its families, rarest first.
        terms = []
        for s, (w, cs) in query.items():
            groups = sorted(cs, key=lambda c: -self._cidf.get(c, 0.0))
            fams = sorted(
                {f for c in cs for f in self.lexicon.families.get(c, ())},
                key=lambda f: -self._fidf.get(f, 0.0),
            )
            terms.append((s, w, self.idf(s), groups, fams))
        hits: dict[str, LexicalHit] = {}
        for key, doc in self.docs.items():
            hit = LexicalHit()
            for s, w, weight, groups, fams in terms:
                if s in doc.stems:
                    hit.exact += weight / total
                    hit.matches.append(Match(w, doc.surface[s], None, weight))
                    continue
                best = next((c for c in groups if c in doc.concepts), None)
                if best is not None:
                    cw = min(weight, self._cidf.get(best, 0.0))
                    hit.concept += cw / total
                    hit.matches.append(Match(w, doc.concepts[best], best, cw))
                    continue
                fam = next((f for f in fams if f in doc.families), None)
                if fam is not None:
                    fw = FAMILY_FACTOR * min(weight, self._fidf.get(fam, 0.0))
                    hit.concept += fw / total
                    hit.matches.append(Match(w, doc.families[fam], f"{fam} family", fw))
            hits[key] = hit
        return hits
