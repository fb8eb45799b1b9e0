"""Follow-up questions in a conversation: "and what about 2.4?", "who leads it?", "why?".

A follow-up that names its own topic ("what about training?") or an element ("and 2.4?") stands
on its own. One that only points back ("does it cover Africa?", "tell me more") borrows the
topic of the earlier question it refers to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from framework_data.schema import Framework

from .structure import find_structural
from .text import STOPWORDS, clean_text, words

# Pronouns that point back at the earlier topic ("that" and "there" are left out: "is there
# an objective that covers X" names its own topic).
_POINTERS = frozenset({"it", "its", "these", "those", "they", "them", "their", "former", "latter"})
# A question with a pointer and at most this many topic words is about the earlier topic.
_FEW_TOPIC_WORDS = 2
# Words that carry no topic in a follow-up ("tell me more", "why?", "go on").
_FILLERS = frozenset(
    {
        "tell",
        "more",
        "why",
        "explain",
        "details",
        "detail",
        "elaborate",
        "go",
        "else",
        "example",
        "examples",
        "please",
        "thanks",
        "ok",
        "okay",
        "really",
        "mean",
        "means",
        "meant",
        "say",
        "says",
        "said",
        "exactly",
        "further",
    }
)
LEADING_CUE = re.compile(r"^\s*(?:and|also|but|so|then|what about|how about)\b[\s,]*", re.I)


def topic_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and w not in _FILLERS and len(w) > 1]


def points_back(question: str) -> bool:
    """True when the question refers to an earlier topic instead of naming its own."""
    topic = topic_words(question)
    if not topic:
        return True
    return len(topic) <= _FEW_TOPIC_WORDS and any(w in _POINTERS for w in words(question))


def resolve_followup(question: str, earlier: Sequence[str], framework: Framework) -> str:
    """The question to search for: ``question`` itself, or joined to the latest earlier
    question when it only points back at it. ``earlier`` is oldest first. (Text cleaned
    once by the caller is not cleaned again.)"""
    q = clean_text(question)
    if not earlier or not q or find_structural(framework, q) is not None:
        return q
    if not points_back(q):
        return q
    # The latest earlier question that named its own topic (a chain of "why?"s keeps it).
    previous = clean_text(next((e for e in reversed(earlier) if not points_back(e)), earlier[0]))
    rest = LEADING_CUE.sub("", q)
    return f"{previous} {rest}".strip() if rest else previous
