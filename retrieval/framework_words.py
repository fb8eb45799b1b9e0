"""What words mean to a framework: its own names, the topics its elements use, and filler.

Structure questions ("what's our mission, simply put?") are told from topic questions ("how
do our values shape training?") by whether their other words are topics of the framework:
words its elements (text, titles, scope notes, keywords) use. Computed once per framework.
"""

from __future__ import annotations

import threading

from framework_data.schema import Framework

from .text import STOPWORDS, stem, words

# Words that wrap a question about the framework itself, besides the function words.
_WRAPPERS = frozenset(
    """
organisation organization framework strategy strategic official statement overall line
sentence short summary exactly again whole entire list give main core key
""".split()
)

_CACHE: dict[int, tuple[Framework, frozenset[str], frozenset[str]]] = {}
_LOCK = threading.Lock()


def is_filler(word: str) -> bool:
    """A word that carries no topic in any framework (function words, question wrappers,
    numbers, single letters)."""
    w = word.lower()
    return w in STOPWORDS or w in _WRAPPERS or len(w) <= 1 or w[0].isdigit()


def _words_of(fw: Framework) -> tuple[frozenset[str], frozenset[str]]:
    with _LOCK:
        cached = _CACHE.get(id(fw))
        if cached is not None and cached[0] is fw:
            return cached[1], cached[2]
    names = [*(fw.organization.names if fw.organization else ()), fw.title]
    own = frozenset(stem(w) for n in names for w in words(n) if not is_filler(w))
    texts: list[str] = []
    for el in fw.elements():
        texts += [el.text, el.title or "", el.scope or "", *el.keywords]
    topics = frozenset(
        stem(w) for t in texts for w in words(t) if not is_filler(w) and stem(w) not in own
    )
    with _LOCK:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[id(fw)] = (fw, own, topics)
    return own, topics


def own_stems(fw: Framework) -> frozenset[str]:
    """Stems of the framework's title and its organisation's names: they name the framework."""
    return _words_of(fw)[0]


def framework_stems(fw: Framework) -> frozenset[str]:
    """Stems of the words the framework's elements use (its topics), its own names aside."""
    return _words_of(fw)[1]
