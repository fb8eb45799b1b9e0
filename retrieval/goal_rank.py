"""Goals against their own objectives, in a question's ranking.

A goal's notes and keywords sum up its objectives, so they match whatever one of them is
about, and a goal can outrank the one objective a question is about. A goal is the answer to
a question about the goal as a whole: one that asks for a goal ("which goal is about…"), or
whose topic the goal's own title is as close to as any of its objectives.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .search import ScoredElement


def goals_after_their_objectives(ranked: list[ScoredElement]) -> list[ScoredElement]:
    """``ranked`` (best first) for a question that names no goal: each goal moved just below
    its best objective, unless the goal's own words (its title) are at least as close to the
    question as that objective. A goal's notes sum up its objectives, so they match whatever
    one of them is about; a goal answers a question about the goal as a whole."""
    out = list(ranked)
    for goal in [s for s in ranked if s.element.kind == "goal"]:
        i = out.index(goal)
        j = next(
            (
                j
                for j, s in enumerate(out)
                if s.element.kind == "objective" and s.element.goal_id == goal.id
            ),
            None,
        )
        if j is not None and j > i and goal.own < out[j].dense:
            out.insert(j, out.pop(i))
    return out


def goals_for_their_objectives(results: list[ScoredElement]) -> list[ScoredElement]:
    """Calibrated ``results`` of a question that asks for a goal: a goal is the right answer
    at least as surely as one of its objectives would be, and comes before them."""
    best: dict[str, float] = {}
    for s in results:
        if s.element.kind == "objective" and s.element.goal_id:
            best[s.element.goal_id] = max(best.get(s.element.goal_id, 0.0), s.score)
    lifted = [
        replace(s, score=max(s.score, best.get(s.id, 0.0))) if s.element.kind == "goal" else s
        for s in results
    ]
    return sorted(lifted, key=lambda s: (-s.score, s.element.kind != "goal"))
