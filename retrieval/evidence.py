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
# Evidence that is not the person's own word: a concept neighbour of it ("cybercrime" ->
# "darknet"), or an acronym the objectives of several goals share ("NCB"). A citation or tag that
# rests only on such matches (and is not close in meaning on its own) is at most this likely:
# never "high".
RELATED_CEILING = 0.85
# A question whose topic the framework's own words do not name (the best element reaches it
# only through a related term of its scope note): its closest elements are at most this
# likely ("low").
UNNAMED_CEILING = 0.5
SHARED_BY_GOALS = 2  # a term in the objectives of this many goals names many kinds of work
MEANING_ON_ITS_OWN = 0.6  # a cosine at which closeness in meaning is evidence by itself
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


def shared_stems(framework: Framework, docs: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Acronyms ("NCB", "ICT") that the objectives of ``SHARED_BY_GOALS`` or more goals use
    (in their text, the notes as search reads them, their keywords): a unit or a tool that
    takes part in many kinds of work, so naming it says little about which."""
    goals: dict[str, set[str]] = {}
    for goal in framework.goals:
        for o in goal.objectives:
            for text in docs.get(o.id, ()):
                for w in _ACRONYM.findall(text):
                    goals.setdefault(stem(w), set()).add(goal.id)
    return frozenset(s for s, g in goals.items() if len(g) >= SHARED_BY_GOALS)


_ACRONYM = re.compile(r"(?<![\w-])[A-Z]{2,}(?=s?(?![\w-]))")


def is_related(m: Match, shared: frozenset[str] = frozenset()) -> bool:
    """The match is not the person's own word: a concept neighbour, or a shared acronym."""
    return m.concept is not None or stem(m.query_word) in shared


def rests_on_related(matches: Iterable[Match], shared: frozenset[str], dense: float) -> bool:
    """True when every word match is a related term (see :func:`is_related`) and the text is
    not close in meaning on its own: weaker evidence than the person's own words."""
    found = [m for m in matches if m.weight > 0]
    return bool(found) and dense < MEANING_ON_ITS_OWN and all(is_related(m, shared) for m in found)


def not_named(
    top: Sequence[Match],
    top_own: frozenset[str],
    others: Iterable[tuple[Sequence[Match], frozenset[str]]],
) -> tuple[str, ...]:
    """The person's words that the best element (its matches, the stems of its own words)
    reaches only through a related term of its scope note or keywords, and that no element
    found names in its own words, by the same word or a related one ("cybercrime": 3.2's note
    has "darknet"; the framework's text has neither)."""
    via_note = {m.query_word for m in top if m.concept is not None and m.weight > 0}
    via_note -= {m.query_word for m in top if stem(m.element_word) in top_own}
    for matches, own in others:  # a concept family is too broad a relation to name it
        via_note -= {
            m.query_word
            for m in matches
            if stem(m.element_word) in own and not (m.concept or "").endswith(" family")
        }
    return tuple(m.query_word for m in top if m.query_word in via_note)


def related_caveat(matches: Iterable[Match]) -> str:
    """ " (through a related term, not “cybercrime”)" when the note was reached only through
    concept neighbours of the person's words; "" otherwise."""
    found = [m for m in matches if m.weight > 0]
    if not found or any(m.concept is None for m in found):
        return ""
    theirs = ", ".join(f"“{w}”" for w in dict.fromkeys(m.query_word for m in found))
    return f" (through a related term, not {theirs})"


def related_note(element_id: str, matches: Iterable[Match]) -> str | None:
    """For an element found only through concept neighbours of the person's words in its own
    text: "matched 3.a through a related term (tobacco), not “cigarettes”"."""
    found = [m for m in matches if m.weight > 0]
    if not found or any(m.concept is None for m in found):
        return None
    names = (str(m.concept).removesuffix(" family").replace("_", " ") for m in found)
    ours = ", ".join(dict.fromkeys(names))
    theirs = ", ".join(f"“{w}”" for w in dict.fromkeys(m.query_word for m in found))
    return f"matched {element_id} through a related term ({ours}), not {theirs}"


def matched_note(
    element_id: str,
    text: str,
    note: str | None,
    keywords: Sequence[str],
    matches: Iterable[Match],
) -> str | None:
    """Which scope note or keywords of an element the question matched, when it was they and
    not the framework's own words ("matched the scope of 1.2: new biometric services…"):
    those that hold the person's most specific matched word, keywords first."""
    if not note and not keywords:
        return None
    matches = sorted(matches, key=lambda m: -specificity(m.query_word))
    own = {stem(w) for w in words(text)}
    # The matched words of the notes, for the person's most specific words first.
    from_notes = [s for s in dict.fromkeys(stem(m.element_word) for m in matches) if s not in own]
    if not from_notes:
        return None
    caveat = related_caveat(matches)

    def held(t: str) -> tuple[bool, ...]:
        stems = {stem(w) for w in words(t)}
        return tuple(s in stems for s in from_notes)

    ranked = sorted((k for k in keywords if any(held(k))), key=held, reverse=True)
    sentences = [s for s in split_sentences(note or "") if any(held(s))]
    best = max(sentences, key=held, default=None)
    # Keywords (the names staff use) unless a note sentence holds a more telling word.
    if ranked and (best is None or held(ranked[0]).index(True) <= held(best).index(True)):
        return f"matched the keywords of {element_id}: {', '.join(ranked[:3])}{caveat}"
    if best is not None:
        quoted = _excerpt(best, [s for s, h in zip(from_notes, held(best), strict=True) if h])
        return f"matched the scope of {element_id}: {quoted}{caveat}"
    return None


def _excerpt(sentence: str, stems: Sequence[str]) -> str:
    """The sentence, or (when long) its part from a little before the most telling matched
    word (``stems``: most telling first)."""
    if len(sentence) <= NOTE_CHARS:
        return sentence
    found = [m for m in re.finditer(r"[\w'’/-]+", sentence) if stem(m.group().lower()) in stems]
    spans = sorted(found, key=lambda m: stems.index(stem(m.group().lower())))
    start = spans[0].start() if spans else 0
    if start > NOTE_CHARS // 3:
        cut = sentence.rfind(" ", 0, start - NOTE_CHARS // 5)
        return "…" + shorten(sentence[cut + 1 :], NOTE_CHARS)
    return shorten(sentence, NOTE_CHARS)
