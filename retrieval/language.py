"""Is a question clearly in another language than the framework's? Offline: py3langid ships
its model (no download at run time). It is loaded on first use (about 120 MB at its peak),
only for a question the engine could not answer and, for an English framework, only when
most of the question's words are not common English words (wordfreq's list, which the
engine already holds) — so English questions never load it."""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

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
    "sw": "Swahili",
    "sv": "Swedish",
}
MIN_WORDS = 3  # shorter questions ("¿Y el 2.3?") are not enough to tell
MIN_PROBABILITY = 0.85

_lock = threading.Lock()
_identifier: list[Any] = []


def language_name(code: str) -> str:
    return NAMES.get(code, "another language")


def other_language(question: str, expected: str = "en") -> str | None:
    """The code of the language ``question`` is clearly written in, when that is not
    ``expected``; None when it is, or when that cannot be told with confidence."""
    letters = [c for c in question if c.isalpha()]
    if not letters:
        return None
    if expected in _LATIN and sum(1 for c in letters if _latin(c)) < len(letters) / 2:
        code, _ = _classify(question)  # another script: clearly not this language
        return code if code != expected else "??"
    if len(question.split()) < MIN_WORDS:
        return None
    if expected == "en" and _mostly_common_english(question):
        return None
    code, probability = _classify(question)
    return code if code != expected and probability >= MIN_PROBABILITY else None


_LATIN = {"en", "fr", "es", "de", "pt", "it", "nl", "tr", "pl", "id", "sw", "sv"}


def _mostly_common_english(text: str) -> bool:
    from .evidence import zipf_english

    words = [w for w in re.findall(r"[^\W\d_]{2,}", text)]
    common = sum(1 for w in words if zipf_english(w) >= COMMON_ZIPF)
    return bool(words) and common >= len(words) * COMMON_SHARE


COMMON_ZIPF = 3.0  # "canteen" and commoner
COMMON_SHARE = 0.6


def _latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def _classify(text: str) -> tuple[str, float]:
    with _lock:
        if not _identifier:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier.append(LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True))
    code, probability = _identifier[0].classify(text)
    return str(code), float(probability)
