"""Grounded answers: compose a short reply from what search found, citing element ids.

``AnswerComposer`` is the seam for an LLM composer (a later issue): it gets the question and
the retrieved elements and returns an :class:`Answer`. Whatever composes the answer,
:func:`grounded` drops any citation that is not an element of the framework, so every cited id
exists, always. :class:`OfflineComposer` is the default: no model, no network.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from framework_data.schema import Element, Framework

from .calibration import default_calibration
from .search import ScoredElement, SearchResult
from .structure_answers import count_text, fact_text, missing_note, missing_text, overview_text

# Runner-ups are cited too when they are more likely right than wrong themselves.
SEE_ALSO_PROBABILITY = 0.5
RELATED_FLOOR = 0.2
# How a declined answer's text introduces its possibly related elements (renderers that list
# ``Answer.related`` themselves cut the text here).
RELATED_LEAD = " Possibly related: "


class Citation(BaseModel):
    id: str
    kind: Literal["objective", "goal", "statement"]
    score: float = Field(ge=0.0, le=1.0)
    note: str | None = Field(
        default=None,
        description="Which scope note or keywords matched, when they did (never quoted as "
        "the framework's words).",
    )


class Answer(BaseModel):
    answered: bool
    text: str
    citations: list[Citation] = Field(default_factory=list)
    related: list[Citation] = Field(
        default_factory=list, description="Possibly related elements of a declined question."
    )
    composer: Literal["offline", "model"] = Field(
        default="offline", description="Who wrote the text: the offline composer or a model."
    )
    fallback: str | None = Field(
        default=None, description="Why a configured model's answer was not used (a reason)."
    )


class AnswerComposer(Protocol):
    def compose(self, result: SearchResult, framework: Framework) -> Answer: ...


class StreamingComposer(Protocol):
    """A composer that can hand its text over as it is written (``streams = True``)."""

    streams: bool

    def compose(
        self,
        result: SearchResult,
        framework: Framework,
        on_text: Callable[[str], object] | None = None,
    ) -> Answer: ...


def grounded(answer: Answer, framework: Framework, known: Collection[str] | None = None) -> Answer:
    """The answer with every citation that is not a framework element removed (``known``:
    the framework's citation ids, when the caller already has them)."""
    known = framework.citation_ids() if known is None else known
    cites = [c for c in answer.citations if c.id in known]
    related = [c for c in answer.related if c.id in known]
    return answer.model_copy(
        update={"citations": cites, "related": related, "answered": answer.answered and bool(cites)}
    )


def cite(s: ScoredElement) -> Citation:
    score = round(min(max(s.score, 0.0), 1.0), 4)
    return Citation(id=s.element.id, kind=s.element.kind, score=score, note=s.note)


def _label(el: Element, fw: Framework) -> str:
    if el.kind == "objective":
        return f"Objective {el.id}"
    if el.kind == "goal":
        return f"Goal {el.id[1:]}"
    return f"The {el.id}"


def _goal_line(el: Element, fw: Framework) -> str:
    goal = fw.goal(el.goal_id or "")
    return f"Goal {goal.id} — {goal.title}" if goal else ""


def _quote(text: str) -> str:
    return f"“{text.rstrip('.;')}.”"


class OfflineComposer:
    """Writes the answer from the framework's own words. No model involved."""

    def compose(self, result: SearchResult, framework: Framework) -> Answer:
        st = result.structural
        goals = [Citation(id=g.citation_id, kind="goal", score=1.0) for g in framework.goals]
        if st is not None and st.kind == "count":
            goal = framework.goal(st.detail) if st.detail not in ("goals", "objectives") else None
            cites = goals if goal is None else [goals[framework.goals.index(goal)]]
            return Answer(answered=True, text=count_text(framework, st), citations=cites)
        if st is not None and st.kind == "overview":
            return Answer(answered=True, text=overview_text(framework), citations=goals)
        if st is not None and st.kind == "fact":
            stated, text = fact_text(framework, st.detail)
            return Answer(answered=stated, text=text)
        if st is not None and st.kind == "missing":
            return Answer(answered=False, text=missing_text(framework, st.detail))
        if st is not None and st.kind == "within":
            st = None  # a search within a goal: answered as a search is
        results = result.results
        top = results[0] if results else None
        threshold = default_calibration().answer_threshold
        if top is None or result.covered < threshold:
            return self._decline(result, framework)
        if top.element.kind == "goal":
            return self._goal(top, framework, structural=st is not None)
        chosen = [top] + [
            s
            for s in results[1:3]
            if st is None and s.score >= SEE_ALSO_PROBABILITY and s.element.kind == top.element.kind
        ]
        if st is not None:  # explicit ids: cite exactly those
            chosen = results
        if result.unnamed:  # the closest elements to a topic the framework does not name
            chosen = [top] + [
                s
                for s in results[1:3]
                if s.score >= RELATED_FLOOR and s.element.kind == top.element.kind
            ]
        parts = [self._describe(s.element, framework) for s in chosen]
        if result.unnamed:
            named = ", ".join(f"“{w}”" for w in result.unnamed)
            closest = (
                "the closest objectives are" if len(chosen) > 1 else "the closest objective is"
            )
            parts.insert(0, f"{framework.title} does not name {named} in its own words; {closest}:")
        if st is not None and st.missing:
            parts.append(missing_note(framework, st.missing))
        return Answer(answered=True, text="\n\n".join(parts), citations=[cite(s) for s in chosen])

    def _describe(self, el: Element, fw: Framework) -> str:
        if el.kind == "objective":
            return f"*Objective {el.id}* ({_goal_line(el, fw)}): {_quote(el.text)}"
        if el.id == "values":
            return f"The values of {fw.title} are: {el.text}."
        if el.kind == "statement":
            return f"The {el.id} of {fw.title}: {_quote(el.text)}"
        goal = fw.goal(el.id)
        assert goal is not None
        lines = [f"*Goal {goal.id} — {goal.title}*. Its objectives:"]
        lines += [f"• {o.id} {o.text}" for o in goal.objectives]
        return "\n".join(lines)

    def _goal(self, top: ScoredElement, fw: Framework, *, structural: bool) -> Answer:
        goal = fw.goal(top.element.id)
        assert goal is not None
        cites = [cite(top)] + [
            Citation(id=o.id, kind="objective", score=round(top.score, 4)) for o in goal.objectives
        ]
        return Answer(answered=True, text=self._describe(top.element, fw), citations=cites)

    def _decline(self, result: SearchResult, fw: Framework) -> Answer:
        related = [s for s in result.results[:3] if s.score >= RELATED_FLOOR]
        text = f"{fw.title} doesn't cover that, as far as I can tell."
        if related:
            names = "; ".join(f"{_label(s.element, fw)}: {s.element.text}" for s in related)
            text += f"{RELATED_LEAD}{names}"
        return Answer(answered=False, text=text, citations=[], related=[cite(s) for s in related])
