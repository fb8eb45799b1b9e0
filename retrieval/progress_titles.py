"""Finding the initiative a question names among many titles (thousands), typos and partial
titles included ("the biometrics pilot" for "Biometrics pilot in West Africa").

An index maps each title word (stemmed) to the titles that use it; a word of the question
that the index lacks is matched to index words one edit away (a deletion index), so a
question costs a few dictionary look-ups, not a pass over every title. Candidates are scored
by how much of the question's naming words they explain (weighted by rarity), then by how
much of their own title the question covers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .text import STOPWORDS, stem, words

# Words that name no initiative in particular: matching only these is no match.
GENERIC_WORDS = frozenset(
    """
project projects programme programmes program programs initiative initiatives pilot pilots
work workstream stream team effort activity activities thing things new one ones item items
update updates status progress
""".split()
)
FUZZY_WEIGHT = 0.8  # a word matched one edit away counts this much
AMBIGUOUS_RATIO = 0.9  # candidates scoring this close to the best are "about equally" good
MIN_EXPLAINED = 0.5  # a match must explain this share of the question's naming words


@dataclass(frozen=True)
class TitleMatch:
    ids: tuple[int, ...]  # best first; several when ambiguous
    ambiguous: bool
    explained: float  # share of the naming words the best title explains
    covered: float  # share of the best title the naming words cover


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def title_tokens(text: str) -> list[str]:
    """The naming words of ``text``, lowercased, without function words."""
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 1]


class TitleIndex:
    """The titles of the live initiatives, indexed by their words. Build once per title set."""

    def __init__(self, titles: Mapping[int, str]) -> None:
        self.titles = dict(titles)
        self.postings: dict[str, set[int]] = defaultdict(set)
        self.tokens: dict[int, frozenset[str]] = {}
        self.stem_of: dict[str, str] = {}
        self.by_deletion: dict[str, set[str]] = defaultdict(set)
        for tid, title in self.titles.items():
            stems = set()
            for w in title_tokens(title):
                s = self.stem_of.setdefault(w, stem(w))
                stems.add(s)
                self.postings[s].add(tid)
            self.tokens[tid] = frozenset(stems)
        for w in self.stem_of:
            if len(w) >= 4:
                for d in _deletes(w):
                    self.by_deletion[d].add(w)
        n = max(len(self.titles), 1)
        self.idf = {s: math.log(1 + n / len(ids)) for s, ids in self.postings.items()}
        # Each title's total weight, once: find() divides by it for every title it touches.
        self.title_weight = {
            tid: sum(self.weight(s) for s in stems) or 1.0 for tid, stems in self.tokens.items()
        }

    def weight(self, s: str) -> float:
        w = self.idf.get(s, math.log(1 + max(len(self.titles), 1)))
        return w * (0.3 if s in GENERIC_STEMS else 1.0)

    def _matches(self, word: str) -> dict[str, float]:
        """Index stems ``word`` may stand for, with how sure: 1 for the same stem, less for a
        word one edit away."""
        s = stem(word)
        if s in self.postings:
            return {s: 1.0}
        if len(word) < 5:
            return {}
        near = set(self.by_deletion.get(word, ())) | {
            v
            for d in _deletes(word)
            for v in (d, *self.by_deletion.get(d, ()))
            if v in self.stem_of
        }
        return {self.stem_of[v]: FUZZY_WEIGHT for v in near}

    def known(self, text: str) -> bool:
        """Whether any naming word of ``text`` (generic ones aside) is in some title."""
        return any(self._matches(w) for w in title_tokens(text) if stem(w) not in GENERIC_STEMS)

    def find(self, text: str) -> TitleMatch | None:
        """The initiative(s) ``text`` names, or None when no title explains enough of it."""
        query = [w for w in title_tokens(text)]
        if not query or not self.titles:
            return None
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, set[str]] = defaultdict(set)
        total = 0.0
        for w in dict.fromkeys(query):
            options = self._matches(w)
            own = stem(w)
            weight = (
                self.weight(own)
                if own in self.postings
                else self.weight(max(options, key=lambda o: self.weight(o)) if options else own)
            )
            total += weight
            for s, sure in options.items():
                for tid in self.postings[s]:
                    if s not in matched[tid]:
                        matched[tid].add(s)
                        scores[tid] += weight * sure
        ranked = []
        for tid, score in scores.items():
            if all(s in GENERIC_STEMS for s in matched[tid]):
                continue
            explained = score / total
            covered = sum(self.weight(s) for s in matched[tid]) / self.title_weight[tid]
            ranked.append((0.7 * explained + 0.3 * covered, explained, covered, tid))
        if not ranked:
            return None
        ranked.sort(key=lambda r: (-r[0], r[3]))
        best, explained, covered, _ = ranked[0]
        if explained < MIN_EXPLAINED:
            return None
        close = [r[3] for r in ranked if r[0] >= AMBIGUOUS_RATIO * best]
        exact = [r[3] for r in ranked if r[1] > 0.999 and r[2] > 0.999]
        if len(exact) == 1:  # a title named whole, word for word, is the one meant
            close = exact
        return TitleMatch(
            ids=tuple(close), ambiguous=len(close) > 1, explained=explained, covered=covered
        )


GENERIC_STEMS = frozenset(stem(w) for w in GENERIC_WORDS)


def exact_title(titles: Iterable[tuple[int, str]], text: str) -> int | None:
    """The id of a title equal to ``text`` (ignoring case and spaces), if any."""
    want = " ".join(words(text))
    return next((tid for tid, t in titles if " ".join(words(t)) == want), None)
