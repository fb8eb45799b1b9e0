"""Checks on scope notes and keywords: two objectives whose notes share key phrases.

Notes are what tells neighbouring objectives apart ("training itself belongs to 2.3"); when
two objectives' notes or keywords carry the same key phrase, a question with that phrase
cannot tell them apart. ``fwbot framework validate`` lists such pairs as warnings.
"""

from __future__ import annotations

import re
from collections import defaultdict
from itertools import combinations, pairwise

from .schema import Framework, Objective

_WORD = re.compile(r"[^\W_]+(?:[-/'’][^\W_]+)*", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+")
_ID = re.compile(r"(?<![\w.])(?:[Gg]?\d+(?:\.[A-Za-z0-9]+)+)(?![\w])")
# Function words: a phrase is a run of two words that are not these.
_FUNCTION = frozenset(
    """
a an and are as at be by for from in into is it its of on or such than that the their them
they this those to with within without other more most also not both each all any can will
covers cover covering includes including
""".split()
)
# A phrase in the notes of this many objectives or more is common ground, not a key phrase.
COMMON_IN = 3


def _phrases(text: str) -> set[str]:
    out: set[str] = set()
    for sentence in _SENTENCE.split(text):
        ws = [w.lower() for w in _WORD.findall(sentence)]
        out |= {
            f"{a} {b}"
            for a, b in pairwise(ws)
            if a not in _FUNCTION and b not in _FUNCTION and not a.isdigit()
        }
    return out


def _note_phrases(o: Objective, ids: set[str]) -> set[str]:
    """Keywords and two-word phrases of the note, without sentences that point elsewhere and
    without what the objective's own text says."""
    note = " ".join(
        s for s in _SENTENCE.split(o.scope or "") if not (set(_ID.findall(s)) & (ids - {o.id}))
    )
    phrases = _phrases(note) | {k.lower() for k in o.keywords}
    return phrases - _phrases(o.text)


def overlapping_notes(fw: Framework) -> list[str]:
    """One warning per pair of objectives whose notes share key phrases."""
    ids = {o.id for _, o in fw.objectives()}
    objectives = [o for _, o in fw.objectives() if o.scope or o.keywords]
    phrases = {o.id: _note_phrases(o, ids) for o in objectives}
    spread: dict[str, int] = defaultdict(int)
    for ps in phrases.values():
        for p in ps:
            spread[p] += 1
    warnings = []
    for a, b in combinations(objectives, 2):
        shared = sorted(p for p in phrases[a.id] & phrases[b.id] if spread[p] < COMMON_IN)
        if shared:
            quoted = ", ".join(f"“{p}”" for p in shared[:4])
            more = f" and {len(shared) - 4} more" if len(shared) > 4 else ""
            warnings.append(
                f"{a.id} and {b.id}: their scope notes or keywords share {quoted}{more}; "
                f"say in one of them what belongs to the other"
            )
    return warnings
