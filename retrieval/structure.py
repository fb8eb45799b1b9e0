"""Questions answered from the framework's structure, not by search.

A direct id ("4.2", "objective 4.2", "goal 3", "G3") is a lookup; questions about the vision,
mission or values, or how many goals / objectives there are, are read off the structure.
Everything else returns ``None`` and goes to the hybrid search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from framework_data.schema import Framework

from .text import words

StructuralKind = Literal["objective", "goal", "statement", "count", "overview"]


@dataclass(frozen=True)
class StructuralHit:
    kind: StructuralKind
    ids: tuple[str, ...]  # citation ids, most relevant first
    detail: str = ""  # for "count": "goals" or "objectives"


_GOAL_WORDS = r"(?:goal|goals|pillar|pillars|priority|priorities|strategic goal|area|sdg)"
_OBJ_WORDS = r"(?:objective|objectives|target|targets|obj\.?|item)"
_GOAL_REF = re.compile(rf"\b{_GOAL_WORDS}\s*(?:no\.?|number|n°|#)?\s*([A-Za-z0-9]+)\b", re.I)
_G_REF = re.compile(r"(?<![\w.])[Gg](\d+[a-z]?)\b")
_OBJ_REF = re.compile(
    rf"\b{_OBJ_WORDS}\s*(?:no\.?|number|n°|#)?\s*([A-Za-z0-9]+(?:\.[A-Za-z0-9]+)+)", re.I
)
_BARE_ID = re.compile(r"(?<![\w.])(\d+(?:\.[A-Za-z0-9]+)+)(?![\w.]*\d)")
_HOW_MANY = re.compile(r"\bhow\s+many\b|\bnumber\s+of\b|\bcount\b", re.I)
_OVERVIEW = re.compile(
    r"^\s*(?:what(?:'s| is| are)?\s+(?:in\s+)?(?:the|our)\s+(?:strategic\s+)?"
    r"(?:framework|strategy|plan)|(?:summari[sz]e|overview of|outline)\s+(?:the|our)\s+"
    r"(?:strategic\s+)?(?:framework|strategy|plan)|list\s+(?:all\s+)?(?:the\s+)?goals"
    r"|what\s+are\s+(?:the|our)\s+(?:strategic\s+)?goals)\b",
    re.I,
)
_STATEMENT_WORDS = {
    "vision": ("vision",),
    "mission": ("mission", "purpose", "raison"),
    "values": ("values", "value", "core values", "principles"),
}


def _normalise_obj_id(fw: Framework, raw: str) -> str | None:
    raw = raw.strip(".")
    obj = fw.objective(raw)
    return obj.id if obj else None


def find_structural(fw: Framework, question: str) -> StructuralHit | None:
    """Recognise a question that the framework's structure answers directly."""
    q = question.strip()
    ws = words(q)
    if not ws:
        return None
    short = len(ws) <= 12

    # 1. Direct objective ids: "1.4", "objective 1.4", "what does 14.c say".
    obj_ids: list[str] = []
    for m in list(_OBJ_REF.finditer(q)) + list(_BARE_ID.finditer(q)):
        oid = _normalise_obj_id(fw, m.group(1))
        if oid and oid not in obj_ids:
            obj_ids.append(oid)
    if obj_ids:
        return StructuralHit("objective", tuple(obj_ids))

    # 2. How many goals / objectives.
    if _HOW_MANY.search(q):
        if re.search(rf"\b{_OBJ_WORDS}\b", q, re.I):
            return StructuralHit("count", (), "objectives")
        if re.search(rf"\b{_GOAL_WORDS}\b", q, re.I):
            return StructuralHit("count", (), "goals")

    # 3. Goals by number: "goal 3", "G3", "the second goal".
    goal_ids: list[str] = []
    for m in list(_GOAL_REF.finditer(q)) + list(_G_REF.finditer(q)):
        g = fw.goal(m.group(1))
        if g and g.citation_id not in goal_ids:
            goal_ids.append(g.citation_id)
    for i, ordinal in enumerate(_ORDINALS, start=1):
        if re.search(rf"\b{ordinal}\s+(?:strategic\s+)?{_GOAL_WORDS}\b", q, re.I):
            g = fw.goal(str(i)) if i <= len(fw.goals) else None
            if g and g.citation_id not in goal_ids:
                goal_ids.append(g.citation_id)
    if goal_ids:
        return StructuralHit("goal", tuple(goal_ids))

    # 4. Vision, mission, values: only when the question is about the statement itself.
    if short:
        st = fw.statements
        present = {
            "vision": bool(st.vision),
            "mission": bool(st.mission),
            "values": bool(st.values),
        }
        asked = [
            sid
            for sid, keys in _STATEMENT_WORDS.items()
            if present[sid] and any(k in ws for k in keys)
        ]
        own_words = (*_STATEMENT_WORDS.get(asked[0], ()), *words(fw.title)) if asked else ()
        if len(asked) == 1 and not _mentions_topic_besides(ws, own_words):
            return StructuralHit("statement", (asked[0],))
        if len(asked) > 1:
            return StructuralHit("statement", tuple(asked))

    # 5. "What is the framework?" / "list the goals".
    if _OVERVIEW.search(q) and not _mentions_topic_besides(ws, ("goals", "goal")):
        return StructuralHit("overview", tuple(g.citation_id for g in fw.goals))
    return None


_ORDINALS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
)

_FRAME_WORDS = frozenset(
    """
what is are the our of organisation organization organisation's organization's framework
strategy strategic tell me about say says does do main core key official statement its
please explain describe show give list overall line sentence short summary exactly again
whole entire
""".split()
)


def _mentions_topic_besides(ws: list[str], keys: tuple[str, ...]) -> bool:
    """True when the question names some other topic ("how do our values shape training")."""
    rest = [w for w in ws if w not in keys and w not in _FRAME_WORDS and len(w) > 2]
    return len(rest) > 1
