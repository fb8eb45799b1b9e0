"""Is a question clearly in another language than the framework's? Offline, and for short
questions too ("¿Cómo se financia INTERPOL?").

The script decides first (Arabic, Cyrillic, Chinese… are not a Latin-script framework's
language). Within a script, each word votes with how common it is in each candidate language:
wordfreq's word lists (inside the package, no download) are unigram language models, so "est",
"il" and "financé" together are far likelier French than English, while "and Africa?" stays
English. Names are not evidence: acronyms ("INTERPOL", "NCB") and capitalised words inside the
sentence ("Lyon") are left out, and so are digits ("2.4").

The candidate lists (about 6,000 words each, ~1 MB per language) are read on first use, one
script's at a time, only for a question the engine could not answer; for an English framework
a question whose words are common English and include its most frequent words ("the", "what",
"about") never loads them."""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from functools import cache

NAMES = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "ar": "Arabic",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
    "ru": "Russian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "tr": "Turkish",
    "pl": "Polish",
    "uk": "Ukrainian",
    "fa": "Persian",
    "hi": "Hindi",
    "id": "Indonesian",
    "sv": "Swedish",
    "ca": "Catalan",
    "ro": "Romanian",
    "cs": "Czech",
    "da": "Danish",
    "nb": "Norwegian",
    "fi": "Finnish",
    "hu": "Hungarian",
    "bg": "Bulgarian",
    "mk": "Macedonian",
    "ur": "Urdu",
    "el": "Greek",
    "he": "Hebrew",
    "bn": "Bengali",
    "ta": "Tamil",
    "th": "Thai",
}

# The languages written in each script that wordfreq has a word list for; a script with one
# language (or none listed) names it outright.
SCRIPTS: dict[str, tuple[str, ...]] = {
    "LATIN": (
        *("en", "fr", "es", "de", "pt", "it", "nl", "tr", "pl", "id", "sv", "ca", "ro"),
        *("cs", "da", "nb", "fi", "hu"),
    ),
    "CYRILLIC": ("ru", "uk", "bg", "mk"),
    "ARABIC": ("ar", "fa", "ur"),
    "CJK": ("zh",),
    "HIRAGANA": ("ja",),
    "KATAKANA": ("ja",),
    "HANGUL": ("ko",),
    "GREEK": ("el",),
    "HEBREW": ("he",),
    "DEVANAGARI": ("hi",),
    "BENGALI": ("bn",),
    "TAMIL": ("ta",),
    "THAI": ("th",),
}

LIST_WORDS = 6000  # each candidate language's most frequent words (zipf ≳ 4)
UNKNOWN_ZIPF = 1.5  # a word not in a language's list: rarer than any listed word
# A language other than the framework's wins when its words are, summed, this much likelier
# (Zipf units: log10 of frequency) than in the framework's language, by at least
# MARGIN_PER_WORD per word counted.
MARGIN = 2.0
MARGIN_PER_WORD = 0.8

# The quick English check that spares loading any list.
COMMON_ZIPF = 3.0  # "canteen" and commoner
COMMON_SHARE = 0.6
TOP_ENGLISH = 150  # "the", "what", "about", "which", "does"…
TOP_SHARE = 0.3

_lock = threading.Lock()
_tables: dict[str, dict[str, float]] = {}


def language_name(code: str) -> str:
    return NAMES.get(code, "another language")


def other_language(question: str, expected: str = "en") -> str | None:
    """The code of the language ``question`` is clearly written in, when that is not
    ``expected``; "??" for a script none of the known languages is written in; None when it
    is ``expected``'s language, or when that cannot be told."""
    letters = [c for c in question if c.isalpha()]
    if not letters:
        return None
    script = _main_script(letters)
    if script is None:
        return "??"
    candidates = SCRIPTS.get(script, ())
    if expected not in candidates:  # another script than the framework's
        if "HIRAGANA" in {_script(c) for c in letters} or "KATAKANA" in {
            _script(c) for c in letters
        }:
            return "ja"
        return candidates[0] if len(candidates) == 1 else _best(question, candidates) or "??"
    words = evidence_words(question)
    if not words:
        return None
    if expected == "en" and _plainly_english(words):
        return None
    best = _best(question, candidates)
    if best is None or best == expected:
        return None
    margin = _score(words, best) - _score(words, expected)
    return best if margin >= max(MARGIN, MARGIN_PER_WORD * len(words)) else None


def evidence_words(text: str) -> list[str]:
    """The lowercased words of ``text`` that say which language it is in: not acronyms, not
    capitalised names inside a sentence, not numbers; words split at apostrophes and
    hyphens ("qu'est-ce" → "qu", "est", "ce")."""
    out: list[str] = []
    starts = True
    for token in re.findall(r"[^\s]+", text):
        parts = [p for p in re.split(r"[^\w]|_|\d", token) if p]
        for i, part in enumerate(parts):
            sentence_start = starts and i == 0
            if sum(1 for c in part if c.isupper()) >= 2:  # INTERPOL, NCBs, ONUDC
                continue
            if part[0].isupper() and not sentence_start:  # Lyon, Africa
                continue
            out.append(part.lower())
        if any(c.isalnum() for c in token):
            starts = token[-1] in ".?!:;¿¡"
        elif token in {"¿", "¡"}:
            starts = True
    return out


def _plainly_english(words: Sequence[str]) -> bool:
    from .evidence import zipf_english

    common = sum(1 for w in words if zipf_english(w) >= COMMON_ZIPF)
    top = sum(1 for w in words if w in _top_english())
    return common >= len(words) * COMMON_SHARE and top >= len(words) * TOP_SHARE


@cache
def _top_english() -> frozenset[str]:
    from wordfreq import top_n_list

    return frozenset(top_n_list("en", TOP_ENGLISH, wordlist="small"))


def _best(text: str, candidates: Sequence[str]) -> str | None:
    words = evidence_words(text)
    scored = [(c, _score(words, c)) for c in candidates if has_word_list(c)]
    if not words or not scored:
        return None
    best, top = max(scored, key=lambda s: s[1])
    return best if top > UNKNOWN_ZIPF * len(words) else None


def _score(words: Sequence[str], code: str) -> float:
    if code == "en":
        from .evidence import zipf_english

        return sum(zipf_english(w) or UNKNOWN_ZIPF for w in words)
    table = word_table(code)
    return sum(table.get(w, UNKNOWN_ZIPF) for w in words)


@cache
def has_word_list(code: str) -> bool:
    return code == "en" or os.path.exists(_list_path(code))


def _list_path(code: str) -> str:
    import wordfreq

    return os.path.join(os.path.dirname(wordfreq.__file__), "data", f"small_{code}.msgpack.gz")


def word_table(code: str) -> dict[str, float]:
    """The language's LIST_WORDS most frequent words and their Zipf frequencies."""
    with _lock:
        if code not in _tables:
            from wordfreq import read_cBpack

            table: dict[str, float] = {}
            for centibels, bucket in enumerate(read_cBpack(_list_path(code))):
                zipf = (900 - centibels) / 100
                for word in bucket:
                    table[word] = zipf
                if len(table) >= LIST_WORDS:
                    break
            _tables[code] = table
        return _tables[code]


def loaded() -> list[str]:
    """The languages whose lists are loaded (for tests and memory checks)."""
    return sorted(_tables)


def _main_script(letters: Sequence[str]) -> str | None:
    counts: dict[str, int] = {}
    for c in letters:
        s = _script(c)
        counts[s] = counts.get(s, 0) + 1
    script = max(counts, key=lambda s: counts[s])
    if script in {"HIRAGANA", "KATAKANA"}:
        return "CJK" if counts.get("CJK") else script
    return script if script in SCRIPTS else None


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    if name.startswith(("CJK", "IDEOGRAPHIC")):
        return "CJK"
    first = name.split(" ", 1)[0]
    return "ARABIC" if first == "ARABIC" else first


def _is_ideographic(part: str) -> bool:
    return any(_script(c) in {"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI"} for c in part)
