"""What counts as evidence in a question, and how much of it an element explains.

Two rules, the same for every framework:

- **Own names are neutral.** Staff name their organisation in almost every question
  ("Does INTERPOL have a policy on bananas?"), so the organisation's names and aliases (from
  the framework file) and the words of the framework's own title that no objective uses say
  nothing about what a question is about. They are removed before anything is scored, on the
  question's side and on the framework's.
- **Specific words weigh more.** A word's weight is how specific it is in general language
  (its Zipf frequency, from ``wordfreq``'s offline word list): "bananas" or "canteen" say more
  about a question's topic than "work" or "time". A question is covered by an element when the
  element explains its specific words, by the same stem, a shared concept, or a close word
  meaning (the embedding of the word against the element's own words).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from framework_data.schema import Framework

from .lexical import Match
from .text import STOPWORDS, shorten, split_sentences, stem, words

# Zipf frequency (log10 per billion words): "the" 7.7, "work" 6.0, "training" 5.2,
# "bananas" 3.7. Specificity rises from 0 at ZIPF_COMMON to 1 at ZIPF_RARE and below; a word
# missing from the list (rarer than ~3) counts as rare.
ZIPF_COMMON, ZIPF_RARE = 6.5, 3.0
MIN_SPECIFICITY = 0.05
# How much a lexical match explains a word: the same stem fully, a concept (or family) less.
EXPLAINED_BY_CONCEPT, EXPLAINED_BY_FAMILY = 0.85, 0.5
# A word's embedding close to one of the element's words explains it in part: cosine
# SOFT_LOW explains nothing, SOFT_HIGH and above fully.
SOFT_LOW, SOFT_HIGH = 0.55, 0.85
UNEXPLAINED = 0.5  # a word explained less than this is "left unexplained"
NOTE_CHARS = 100  # how much of a matched scope-note sentence is quoted
WORD_CACHE = 20_000  # question words whose vectors are kept (about 30 MB)


@cache
def _zipf_table() -> dict[str, float]:
    import math

    from wordfreq import get_frequency_dict

    return {w: math.log10(f) + 9 for w, f in get_frequency_dict("en", wordlist="small").items()}


def zipf_english(word: str) -> float:
    """How common ``word`` is in English (Zipf scale: 7 "the" … 3 "canteen"; 0 unknown)."""
    return _zipf_table().get(word.lower(), 0.0)


def specificity(word: str) -> float:
    z = _zipf_table().get(word.lower(), ZIPF_RARE)
    s = (ZIPF_COMMON - z) / (ZIPF_COMMON - ZIPF_RARE)
    return float(min(1.0, max(MIN_SPECIFICITY, s)))


def _is_topic_word(word: str) -> bool:
    base = re.split(r"['’]", word, maxsplit=1)[0]  # "what's", "can't": their first part
    return base not in STOPWORDS and len(base) > 1 and not word[0].isdigit()


class OwnNames:
    """The organisation's names and the framework's title words: neutral in every question."""

    def __init__(self, framework: Framework) -> None:
        org = framework.organization
        phrases = sorted(org.names if org else (), key=len, reverse=True)
        self.phrases = tuple(phrases)
        alternatives = "|".join(re.escape(p) for p in phrases)
        self._re = (
            re.compile(rf"(?<![\w-])(?:{alternatives})(?:['’]s)?(?![\w-])", re.IGNORECASE)
            if phrases
            else None
        )
        # Title words that name the framework rather than a topic: those no objective uses.
        used = {stem(w) for _, o in framework.objectives() for w in words(self.remove_from(o.text))}
        title = [w for w in words(self.remove_from(framework.title)) if _is_topic_word(w)]
        self.neutral_stems = frozenset(stem(w) for w in title if stem(w) not in used)
        # Every title word names the framework: never a word a question is left wanting.
        self.title_stems = frozenset(stem(w) for w in title)

    def remove_from(self, text: str) -> str:
        """The text without the organisation's names ("INTERPOL's role" -> "role")."""
        if self._re is None:
            return text
        return re.sub(r"[ \t]{2,}", " ", self._re.sub(" ", text)).strip()


@dataclass(frozen=True)
class TopicWord:
    word: str
    stem: str
    weight: float  # specificity


def topic_words(text: str, neutral: frozenset[str] = frozenset()) -> list[TopicWord]:
    """The question's words that could carry its topic, once each, with their weight."""
    seen: set[str] = set()
    out: list[TopicWord] = []
    for w in words(text):
        if not _is_topic_word(w):
            continue
        s = stem(w)
        if s in neutral or s in seen:
            continue
        seen.add(s)
        out.append(TopicWord(w, s, specificity(w)))
    return out


class WordMeanings:
    """Embeddings of the framework's own words, to judge how close a question word is to an
    element's words when no stem or concept is shared."""

    def __init__(
        self,
        embed: Callable[[Sequence[str]], np.ndarray],
        element_texts: Mapping[str, Iterable[str]],
    ) -> None:
        vocab: dict[str, int] = {}
        members: dict[str, list[int]] = {}
        for eid, texts in element_texts.items():
            idx: set[int] = set()
            for text in texts:
                for w in words(text):
                    if _is_topic_word(w):
                        idx.add(vocab.setdefault(w, len(vocab)))
            members[eid] = sorted(idx)
        self._embed = embed
        self.vocab = list(vocab)
        self.vectors = embed(self.vocab) if self.vocab else np.zeros((0, 1), dtype=np.float32)
        self.members = {eid: np.asarray(ix, dtype=np.int64) for eid, ix in members.items()}
        # Question words recur: their vectors are kept (the framework's own words from the
        # start), up to WORD_CACHE words.
        self._known: dict[str, np.ndarray] = dict(zip(self.vocab, self.vectors, strict=True))

    def word_vectors(self, query_words: Sequence[str]) -> np.ndarray:
        missing = [w for w in dict.fromkeys(query_words) if w not in self._known]
        if missing:
            fresh = self._embed(missing)
            if len(self._known) < WORD_CACHE:
                self._known.update(zip(missing, fresh, strict=True))
            found = dict(zip(missing, fresh, strict=True))
        else:
            found = {}
        return np.stack([found[w] if w in found else self._known[w] for w in query_words])

    def closeness(self, query_words: Sequence[str], element_ids: Sequence[str]) -> np.ndarray:
        """(query words × elements): the best cosine of each word with the element's words."""
        out = np.zeros((len(query_words), len(element_ids)), dtype=np.float32)
        if not query_words or not self.vocab:
            return out
        sims = self.word_vectors(query_words) @ self.vectors.T
        for j, eid in enumerate(element_ids):
            ix = self.members.get(eid)
            if ix is not None and len(ix):
                out[:, j] = sims[:, ix].max(axis=1)
        return out


@dataclass(frozen=True)
class Explanation:
    """How much of a question's topic an element explains."""

    explained: float  # weighted share of the topic words explained, 0..1
    unexplained_weight: float  # summed weight of the words left unexplained
    worst: float  # the weight of the most specific word left unexplained (0 if none)
    words: int  # topic words in the question
    left: tuple[str, ...]  # the words left unexplained, most specific first


def explain_question(
    tokens: Sequence[TopicWord], matches: Iterable[Match], closeness: np.ndarray | None
) -> Explanation:
    """``closeness``: per token, the best cosine with the element's words (or None)."""
    by_word: dict[str, float] = {}
    for m in matches:
        if m.concept is None:
            share = 1.0
        elif m.concept.endswith(" family"):
            share = EXPLAINED_BY_FAMILY
        else:
            share = EXPLAINED_BY_CONCEPT
        by_word[m.query_word] = max(by_word.get(m.query_word, 0.0), share)
    total = explained = unexplained = worst = 0.0
    left: list[tuple[float, str]] = []
    for i, t in enumerate(tokens):
        share = by_word.get(t.word, 0.0)
        if closeness is not None:
            soft = (float(closeness[i]) - SOFT_LOW) / (SOFT_HIGH - SOFT_LOW)
            share = max(share, min(1.0, max(0.0, soft)))
        total += t.weight
        explained += t.weight * share
        if share < UNEXPLAINED:
            unexplained += t.weight * (1 - share)
            worst = max(worst, t.weight)
            left.append((t.weight, t.word))
    return Explanation(
        explained=explained / total if total else 0.0,
        unexplained_weight=unexplained,
        worst=worst,
        words=len(tokens),
        left=tuple(w for _, w in sorted(left, reverse=True)),
    )


def matched_note(
    element_id: str,
    text: str,
    note: str | None,
    keywords: Sequence[str],
    matches: Iterable[Match],
) -> str | None:
    """Which scope note or keywords of an element the question matched, when it was they and
    not the framework's own words ("matched the scope of 1.2: new biometric services…")."""
    if not note and not keywords:
        return None
    own = {stem(w) for w in words(text)}
    from_notes = {stem(m.element_word) for m in matches} - own
    hit_keywords = [k for k in keywords if {stem(w) for w in words(k)} & from_notes]
    if hit_keywords:
        return f"matched the keywords of {element_id}: {', '.join(hit_keywords[:3])}"
    for sentence in split_sentences(note or ""):
        if {stem(w) for w in words(sentence)} & from_notes:
            return f"matched the scope of {element_id}: {shorten(sentence, NOTE_CHARS)}"
    return None
