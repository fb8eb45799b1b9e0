"""The topic a follow-up carries on: which element an answer in a conversation is about.

A conversation is a list of turns (the question, the ids its answer cited, whether it was
answered). The topic of a follow-up is the most recent one the conversation established: an
objective or goal named in a turn's question, else the element its answer cited first. A
declined turn ("how many days of leave do we get?") establishes nothing, so a follow-up after
it reaches back to the last framework topic. Ids are language-neutral, so a topic set by a
Spanish question carries over to an English follow-up.

A follow-up then either

* stands alone (it names its own element or topic),
* points back at the topic ("does it cover Africa?", "who leads it?"), or
* navigates from it by position ("the one before it", "the next one in the list", "its first
  objective", "which goal is that under?"), read off the framework's goal / objective order —
  for any framework of that shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from framework_data.schema import Framework

from .followup import LEADING_CUE, points_back, resolve_followup, topic_words
from .structure import find_structural
from .text import clean_text, words


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: the question as asked, the ids its answer cited (most relevant
    first) and whether it was answered."""

    question: str
    cited_ids: tuple[str, ...] = ()
    answered: bool = True


@dataclass(frozen=True)
class Resolution:
    query: str  # what to search for
    kind: Literal["standalone", "pointer", "navigation"]
    topic: tuple[str, ...] = ()  # the ids the follow-up was resolved to


_GOAL_WORDS = frozenset({"goal", "goals", "pillar", "pillars", "priority", "priorities", "sdg"})
_UNIT_WORDS = frozenset({"objective", "objectives", "target", "targets", "one", "item", "entry"})
_PREVIOUS = frozenset({"before", "previous", "preceding", "precedes", "precede", "prior"})
_NEXT = frozenset({"next", "after", "following", "follows", "follow", "subsequent"})
_FIRST = frozenset({"first", "opening", "initial", "1st"})
_LAST = frozenset({"last", "final", "closing", "concluding"})
_ORDINAL_WORDS = (
    "second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
    "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split()
_ORDINALS = (
    {w: i for i, w in enumerate(_ORDINAL_WORDS, start=2)}
    | {"2nd": 2, "3rd": 3}
    | {f"{i}th": i for i in range(4, 21)}
)
# Words that relate a question to something already said ("that goal", "the same goal").
_RELATIVE = frozenset(
    {"it", "its", "that", "this", "these", "those", "them", "they", "their", "same", "one"}
)
# Words of a position question that carry no topic of their own ("what comes right after it
# in the list", "which goal does it belong to / fall under / sit in").
_NAVIGATION_FILLERS = (
    _GOAL_WORDS
    | _UNIT_WORDS
    | _PREVIOUS
    | _NEXT
    | _FIRST
    | _LAST
    | set(_ORDINALS)
    | {"list", "number", "come", "comes", "coming", "right", "just", "immediately"}
    | {"directly", "under", "within", "belong", "belongs", "part", "parent", "sit", "sits"}
    | {"fall", "falls", "listed", "order", "sequence", "then", "same", "one", "ones"}
)
# A position question may carry at most this many other words ("filed under", "straight").
_FEW_OTHER_WORDS = 1


def _named_ids(fw: Framework, question: str) -> tuple[str, ...]:
    hit = find_structural(fw, question)
    if hit is not None and hit.kind in ("objective", "goal"):
        return hit.ids
    return ()


def turn_topic(fw: Framework, turn: Turn) -> tuple[str, ...]:
    """The ids a turn established as the conversation's topic (none for a declined turn)."""
    if not turn.answered:
        return ()
    named = _named_ids(fw, clean_text(turn.question))
    if named:
        return named
    known = {o.id for _, o in fw.objectives()} | {g.citation_id for g in fw.goals}
    return tuple(turn.cited_ids[:1]) if turn.cited_ids[:1] and turn.cited_ids[0] in known else ()


def current_topic(fw: Framework, turns: Sequence[Turn]) -> tuple[str, ...]:
    """The topic of the latest turn that established one."""
    for turn in reversed(turns):
        topic = turn_topic(fw, turn)
        if topic:
            return topic
    return ()


def _ordered_objectives(fw: Framework) -> list[str]:
    return [o.id for _, o in fw.objectives()]


def navigate(fw: Framework, question: str, topic: str) -> str | None:
    """The id a position question leads to from ``topic`` (an objective id or a goal's
    citation id), or None when ``question`` is not a position question."""
    ws = words(question)
    others = [w for w in topic_words(question) if w not in _NAVIGATION_FILLERS]
    if len(others) > _FEW_OTHER_WORDS:
        return None
    goal = fw.goal(topic) if topic.startswith("G") else fw.goal_of(topic)
    if goal is None:
        return None
    wset = set(ws)
    position: int | None = None
    if wset & _FIRST:
        position = 1
    elif wset & _LAST:
        position = len(goal.objectives)
    else:
        position = next((_ORDINALS[w] for w in ws if w in _ORDINALS), None)
    if position is not None and wset & _UNIT_WORDS:
        if 1 <= position <= len(goal.objectives):
            return goal.objectives[position - 1].id
        return None
    step = -1 if wset & _PREVIOUS else 1 if wset & _NEXT else 0
    if step and position is None:
        if topic.startswith("G"):
            goals = [g.citation_id for g in fw.goals]
            i = goals.index(goal.citation_id) + step
            return goals[i] if 0 <= i < len(goals) else None
        order = _ordered_objectives(fw)
        i = order.index(topic) + step
        return order[i] if 0 <= i < len(order) else None
    if wset & _GOAL_WORDS and wset & _RELATIVE and position is None:
        return goal.citation_id
    return None


def _as_query(fw: Framework, ids: Sequence[str]) -> str:
    """Ids as words the structural lookup reads: "2.4", "goal 3"."""
    out = []
    for eid in ids:
        g = fw.goal(eid) if eid.startswith("G") else None
        out.append(f"goal {g.id}" if g is not None else eid)
    return " and ".join(out)


def resolve(question: str, turns: Sequence[Turn], fw: Framework) -> Resolution:
    """What to search for to answer ``question`` in its conversation (``turns`` oldest
    first)."""
    q = clean_text(question)
    if not turns or not q or find_structural(fw, q) is not None:
        return Resolution(q, "standalone")
    topic = current_topic(fw, turns)
    if topic:
        target = navigate(fw, q, topic[0])
        if target is not None:
            return Resolution(_as_query(fw, [target]), "navigation", (target,))
        if points_back(q):
            rest = LEADING_CUE.sub("", q)
            return Resolution(f"{_as_query(fw, topic)} {rest}".strip(), "pointer", topic)
        return Resolution(q, "standalone")
    # No element established (only statements or nothing answered): the earlier words.
    earlier = [t.question for t in turns if t.answered]
    resolved = resolve_followup(q, earlier, fw) if earlier else q
    return Resolution(resolved, "pointer" if resolved != q else "standalone")
