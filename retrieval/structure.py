"""Questions answered from the framework's structure, not by search.

A direct id ("4.2", "objective 4.2", "goal 3", "G3") is a lookup, and an id the framework
does not have ("objective 6.2", "goal 9") is said to be missing; questions about the vision,
mission or values, how many goals / objectives there are, or the framework's own title,
period and organisation are read off the structure. A question that names a goal and asks
for one of its objectives about some topic ("which objective in goal 2 is about X") is
searched within that goal. Everything else returns ``None`` and goes to the hybrid search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from framework_data.schema import Framework

from .framework_words import framework_stems, is_filler, own_stems
from .text import stem, words

StructuralKind = Literal[
    "objective", "goal", "statement", "count", "overview", "within", "missing", "fact"
]


@dataclass(frozen=True)
class StructuralHit:
    kind: StructuralKind
    ids: tuple[str, ...]  # citation ids, most relevant first
    # "count": "goals" or "objectives" (or a goal's citation id: its objectives); "fact":
    # "period", "title" or "organization"; "missing": what was asked for ("objective 6.2",
    # "goal 9"); "within": the question without its goal reference.
    detail: str = ""
    missing: tuple[str, ...] = ()  # "objective": ids asked for that the framework lacks


_GOAL_WORDS = r"(?:goal|goals|pillar|pillars|priority|priorities|strategic goal|area|sdg)"
_OBJ_WORDS = r"(?:objective|objectives|target|targets|obj\.?|item)"
_ONE_OBJ = re.compile(r"\b(?:objective|target|item)\b", re.I)  # asking for one of them
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
_INDEFINITE = frozenset({"a", "an", "another", "any", "some"})

# The framework itself, named by what it is ("the framework", "the plan").
_FRAMEWORK_NOUNS = frozenset("framework strategy plan agenda document".split())
# Facts about the framework as a whole, by the words that ask for them.
_PERIOD = re.compile(
    r"\b(?:period|time\s*frame|time\s*span|time\s*horizon|horizon|duration|dates?|years?"
    r"|how\s+long|end|ends|ending|start|starts|begin|begins|expire|expires|runs?|lasts?"
    r"|covers?|valid|finish(?:es)?|conclude[sd]?)\b",
    re.I,
)
_PERIOD_NOUN = re.compile(r"\b(?:period|time\s*frame|time\s*span|time\s*horizon|duration)\b", re.I)
_TITLE = re.compile(r"\b(?:title|titled|name|named|called)\b", re.I)
_ORGANIZATION = re.compile(
    r"\bwhose\b|\bwho\b|\b(?:which|what)\s+(?:organi[sz]ation|institution|body|agency)\b", re.I
)


def asks_for_a_goal(question: str) -> bool | None:
    """True when the question asks for a goal ("which goal is about…", "the innovation
    goal", "which goals cover…"); False when it names no goal; None otherwise: it names goals
    and objectives both ("the goal on X with its objectives") or names the goals as the
    framework ("where do the SDGs talk about…")."""
    if re.search(rf"\b{_GOAL_WORDS}\b", question, re.I) is None:
        return False
    if re.search(rf"\b{_OBJ_WORDS}\b", question, re.I):
        return None
    # "which goal", "the innovation goal"; not "SDG 2030" (a number: a name or a reference)
    one = re.search(r"\b(?:goal|pillar|sdg)\b(?!\s*(?:no\.?|number|n°|#)?\s*\d)", question, re.I)
    which = re.search(r"\b(?:which|what)\s+(?:\w+\s+)?(?:goals|pillars|sdgs)\b", question, re.I)
    return True if one or which else None


def _normalise_obj_id(fw: Framework, raw: str) -> str | None:
    raw = raw.strip(".")
    obj = fw.objective(raw)
    return obj.id if obj else None


def _id_shaped(token: str, ids: list[str]) -> bool:
    """Whether ``token`` looks like one of ``ids`` (digits for digit ids, and so on)."""
    if all(i.isdigit() for i in ids):
        return token.isdigit()
    return token.isalnum() and len(token) <= max(len(i) for i in ids) and not is_filler(token)


def _obj_id_shaped(token: str, fw: Framework) -> bool:
    """``token`` ("6.2", "14.d") has as many parts as the framework's objective ids, and its
    first is shaped like a goal id."""
    parts = token.strip(".").split(".")
    depth = {len(o.id.split(".")) for _, o in fw.objectives()}
    return len(parts) in depth and _id_shaped(parts[0], [g.id for g in fw.goals])


def _plain(ws: list[str]) -> list[str]:
    """The words with their possessive or contracted tail cut ("what's" -> "what")."""
    return [re.split(r"['’]", w, maxsplit=1)[0] for w in ws]


def _topic_words(fw: Framework, ws: list[str], own: frozenset[str] = frozenset()) -> list[str]:
    """The words of a question that name something besides the framework itself: not filler,
    not the framework's or organisation's names, not ``own`` (stems)."""
    names = own_stems(fw)
    return [
        w for w in _plain(ws) if not is_filler(w) and stem(w) not in names and stem(w) not in own
    ]


def _names_a_topic(fw: Framework, ws: list[str], own: frozenset[str] = frozenset()) -> bool:
    """Whether any word of the question is a topic of the framework (its elements use it)."""
    vocabulary = framework_stems(fw)
    return any(stem(w) in vocabulary for w in _topic_words(fw, ws, own))


def find_structural(fw: Framework, question: str) -> StructuralHit | None:
    """Recognise a question that the framework's structure answers directly."""
    q = question.strip()
    ws = words(q)
    if not ws:
        return None
    short = len(ws) <= 12

    # 1. Direct objective ids: "1.4", "objective 1.4", "what does 14.c say".
    obj_ids: list[str] = []
    missing: list[str] = []
    named = ""  # the word the question calls objectives by ("target 14.d")
    for m in _OBJ_REF.finditer(q):
        oid = _normalise_obj_id(fw, m.group(1))
        if oid and oid not in obj_ids:
            obj_ids.append(oid)
        elif oid is None and _obj_id_shaped(m.group(1), fw):
            missing.append(m.group(1).strip("."))
            named = named or words(m.group(0))[0].rstrip("s")
    bare_missing: list[str] = []
    for m in _BARE_ID.finditer(q):
        oid = _normalise_obj_id(fw, m.group(1))
        if oid and oid not in obj_ids:
            obj_ids.append(oid)
        elif oid is None and _obj_id_shaped(m.group(1), fw) and m.group(1) not in missing:
            bare_missing.append(m.group(1).strip("."))
    # A bare number ("2.5 million") is an id only when the question is about nothing else.
    if bare_missing and not _topic_words(fw, words(_BARE_ID.sub(" ", q))):
        missing += bare_missing
    if obj_ids:
        return StructuralHit("objective", tuple(obj_ids), missing=tuple(missing))
    if missing:
        return StructuralHit("missing", (), f"{named or 'objective'} {missing[0]}")

    # 2. How many goals / objectives (in one goal, when one is named).
    if _HOW_MANY.search(q):
        if re.search(rf"\b{_OBJ_WORDS}\b", q, re.I):
            in_goals = _goal_ids(fw, q)[0]
            return StructuralHit("count", (), in_goals[0] if len(in_goals) == 1 else "objectives")
        if re.search(rf"\b{_GOAL_WORDS}\b", q, re.I):
            return StructuralHit("count", (), "goals")

    # 3. Goals by number: "goal 3", "G3", "the second goal".
    goal_ids, missing_goals, without = _goal_ids(fw, q)
    if goal_ids:
        if _ONE_OBJ.search(q) and not re.search(r"\ball\b", q, re.I):
            goals = [fw.goal(g) for g in goal_ids]
            titles = frozenset(stem(w) for g in goals if g for w in words(g.title))
            if _topic_words(fw, [w for w in words(without) if not re.match(_OBJ_WORDS, w)], titles):
                return StructuralHit("within", tuple(goal_ids), without)
        return StructuralHit("goal", tuple(goal_ids))
    # "goal 9" alone is a goal that is missing; "the SDG 2030 agenda on water" is a topic.
    if missing_goals and not _topic_words(fw, words(without)):
        return StructuralHit("missing", (), f"goal {missing_goals[0]}")

    # 4. Vision, mission, values: only when the question is about the statement itself.
    if short:
        asked = _statements_asked(fw, ws)
        if len(asked) == 1 and _about_statement(fw, ws, asked[0]):
            return StructuralHit("statement", (asked[0],))
        if len(asked) > 1:
            return StructuralHit("statement", tuple(asked))

    # 5. The framework's own title, period and organisation.
    if short:
        fact = _fact_asked(fw, q, ws)
        if fact is not None:
            return StructuralHit("fact", (), fact)

    # 6. "What is the framework?" / "list the goals".
    if _OVERVIEW.search(q) and not _mentions_topic_besides(ws, ("goals", "goal")):
        return StructuralHit("overview", tuple(g.citation_id for g in fw.goals))
    return None


def _goal_ids(fw: Framework, q: str) -> tuple[list[str], list[str], str]:
    """The goals a question names (citation ids), the goal ids it names that the framework
    lacks, and the question without its goal references."""
    found: list[str] = []
    missing: list[str] = []
    spans: list[tuple[int, int]] = []
    goal_numbers = [g.id for g in fw.goals]
    for m in list(_GOAL_REF.finditer(q)) + list(_G_REF.finditer(q)):
        g = fw.goal(m.group(1))
        if g is not None:
            spans.append(m.span())
            if g.citation_id not in found:
                found.append(g.citation_id)
        elif _id_shaped(m.group(1), goal_numbers):
            spans.append(m.span())
            if m.group(1) not in missing:
                missing.append(m.group(1))
    for i, ordinal in enumerate(_ORDINALS, start=1):
        o = re.search(rf"\b{ordinal}\s+(?:strategic\s+)?{_GOAL_WORDS}\b", q, re.I)
        if o is None:
            continue
        spans.append(o.span())
        g = fw.goal(str(i)) if i <= len(fw.goals) else None
        if g is None:
            missing.append(str(i))
        elif g.citation_id not in found:
            found.append(g.citation_id)
    without = q
    for start, stop in sorted(spans, reverse=True):
        without = without[:start] + " " + without[stop:]
    return found, missing, " ".join(without.split())


def _statements_asked(fw: Framework, ws: list[str]) -> list[str]:
    st = fw.statements
    present = {"vision": bool(st.vision), "mission": bool(st.mission), "values": bool(st.values)}
    plain = _plain(ws)
    return [
        sid
        for sid, keys in _STATEMENT_WORDS.items()
        if present[sid] and any(k in plain for k in keys)
    ]


def _about_statement(fw: Framework, ws: list[str], sid: str) -> bool:
    """Whether a question naming statement ``sid`` asks for the statement itself: it is not
    "a mission" (some other one), asks for no objective or goal, and its other words are one,
    or a few that name no topic of the framework, the statement's own words aside ("simply
    put")."""
    keys = _STATEMENT_WORDS[sid]
    plain = _plain(ws)
    if all(i > 0 and plain[i - 1] in _INDEFINITE for i, w in enumerate(plain) if w in keys):
        return False
    if any(re.fullmatch(_OBJ_WORDS, w) or re.fullmatch(_GOAL_WORDS, w) for w in plain):
        return False
    element = fw.element(sid)
    own = frozenset(stem(w) for w in (*keys, *words(element.text if element else "")))
    others = _topic_words(fw, ws, own)
    # One other word may be anything ("what values does it promote"); more must be no topic.
    return len(others) <= 1 or (len(others) <= 2 and not _names_a_topic(fw, ws, own))


def _fact_asked(fw: Framework, q: str, ws: list[str]) -> str | None:
    """ "period", "title" or "organization" when the question asks for that fact about the
    framework itself (it names the framework, or asks for the period outright, and no topic
    of the framework)."""
    plain = _plain(ws)
    if any(re.fullmatch(_OBJ_WORDS, w) or re.fullmatch(_GOAL_WORDS, w) for w in plain):
        return None  # about an objective or a goal, not the framework as a whole
    names_it = any(w in _FRAMEWORK_NOUNS for w in plain) or bool(
        own_stems(fw) & {stem(w) for w in plain}
    )
    fact = None
    if _PERIOD_NOUN.search(q) or (names_it and _PERIOD.search(q)):
        fact = "period"
    elif names_it and _TITLE.search(q):
        fact = "title"
    elif names_it and _ORGANIZATION.search(q):
        fact = "organization"
    if fact is None:
        return None
    asking = frozenset(
        stem(w) for p in (_PERIOD, _TITLE) for m in p.finditer(q) for w in words(m.group(0))
    )
    if _names_a_topic(fw, [w for w in ws if w not in _FRAMEWORK_NOUNS], asking):
        return None
    return fact


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
    """True when the question names some other topic ("list the goals on training")."""
    rest = [w for w in ws if w not in keys and w not in _FRAME_WORDS and len(w) > 2]
    return len(rest) > 1
