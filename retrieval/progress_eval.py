"""How well :func:`parse_progress` reads progress questions, on a labelled JSONL file.

A label line: ``{"id", "question", "intent", "entities", "framework"}`` where ``intent`` is an
intent or ``"framework"`` (the parser must return None) and ``entities`` holds
``objectives``, ``goals`` (compared as sets), ``initiative`` (an exact title, ``"AMBIGUOUS"``
or null), ``person`` (a Slack user id, ``"me"`` or null) and ``period`` (a label or null).
The initiatives come from a CSV (``title,owner,objectives,cadence,last_update``); an
initiative's id is its row number, from 1. Dates are read as on :data:`EVAL_NOW` in
:data:`EVAL_TZ`, so the labels stay true whenever the evaluation runs.

Plain framework-question files (``{"id", "question", "expected"}``) are checked too: none of
them may be taken for a progress question.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from framework_data.schema import Framework

from .evaluation import QuestionCase, read_jsonl
from .progress_intent import ProgressQuery, parse_progress

EVAL_NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
EVAL_TZ = ZoneInfo("Europe/Paris")
AMBIGUOUS = "AMBIGUOUS"


class LabelledEntities(BaseModel):
    objectives: list[str] = Field(default_factory=list)
    goals: list[str] = Field(default_factory=list)
    initiative: str | None = None
    person: str | None = None
    period: str | None = None


class ProgressCase(BaseModel):
    id: str
    question: str
    intent: str
    entities: LabelledEntities = Field(default_factory=LabelledEntities)
    framework: bool = False


class ProgressMetrics(BaseModel):
    questions: int
    progress_questions: int
    intent_accuracy: float
    entity_accuracy: float
    misses: list[str]


class FrameworkCheck(BaseModel):
    questions: int
    taken_for_progress: int
    taken: list[str]


def read_initiative_titles(path: Path) -> dict[int, str]:
    """Initiative ids (row numbers from 1) and titles of an initiatives CSV."""
    with Path(path).open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and "title" not in rows[0]:
        raise ValueError(f"{path}: no 'title' column (header: title,owner,objectives,...)")
    return {n: row["title"].strip() for n, row in enumerate(rows, start=1)}


def read_progress_cases(path: Path) -> list[ProgressCase]:
    return read_jsonl(path, ProgressCase)


def entities_of(parsed: ProgressQuery, titles: dict[int, str]) -> LabelledEntities:
    """What the parser found, in the labels' terms."""
    if parsed.ambiguous:
        initiative: str | None = AMBIGUOUS
    elif parsed.initiatives:
        initiative = titles.get(parsed.initiatives[0])
    else:
        initiative = None
    # The labels name the ids a question names, whether the framework has them or not.
    unknown_goals = [u.removeprefix("goal ") for u in parsed.unknown if u.startswith("goal ")]
    unknown_objectives = [u for u in parsed.unknown if not u.startswith("goal ")]
    return LabelledEntities(
        objectives=[*parsed.objectives, *unknown_objectives],
        goals=[*parsed.goals, *unknown_goals],
        initiative=initiative,
        person="me" if parsed.me else parsed.person,
        period=parsed.period.label if parsed.period else None,
    )


def _same(found: LabelledEntities, want: LabelledEntities) -> list[str]:
    """The entity fields that differ."""
    diff = []
    if set(found.objectives) != set(want.objectives):
        diff.append("objectives")
    if set(found.goals) != set(want.goals):
        diff.append("goals")
    for field in ("initiative", "person", "period"):
        if getattr(found, field) != getattr(want, field):
            diff.append(field)
    return diff


Parse = Callable[[str], ProgressQuery | None]


def parser_for(
    framework: Framework,
    titles: dict[int, str],
    resolve_topic: Callable[[str], str | None] | None = None,
) -> Parse:
    def parse(question: str) -> ProgressQuery | None:
        return parse_progress(
            question, framework, titles, now=EVAL_NOW, tz=EVAL_TZ, resolve_topic=resolve_topic
        )

    return parse


def evaluate_progress(
    cases: list[ProgressCase], parse: Parse, titles: dict[int, str]
) -> ProgressMetrics:
    right_intent = right_entities = progress = 0
    misses: list[str] = []
    for case in cases:
        parsed = parse(case.question)
        # A mixed question ("what does 1.3 say and how is it doing?") is labelled with its
        # progress intent and framework=true: the parser must keep its framework part.
        want_none = case.intent == "framework"
        got: str = "framework" if parsed is None else parsed.intent
        intent_ok = got == case.intent
        if intent_ok and case.framework and parsed is not None:
            intent_ok = parsed.framework_question is not None
            got = f"{got} without its framework part" if not intent_ok else got
        right_intent += intent_ok
        if not intent_ok:
            misses.append(f"{case.id}: intent {got}, expected {case.intent}: {case.question}")
        if want_none:
            continue
        progress += 1
        if parsed is None:
            continue
        found = entities_of(parsed, titles)
        diff = _same(found, case.entities)
        right_entities += not diff
        if diff:
            shown = ", ".join(
                f"{f} {getattr(found, f)!r} (expected {getattr(case.entities, f)!r})" for f in diff
            )
            misses.append(f"{case.id}: {shown}: {case.question}")
    return ProgressMetrics(
        questions=len(cases),
        progress_questions=progress,
        intent_accuracy=round(right_intent / len(cases), 4) if cases else 1.0,
        entity_accuracy=round(right_entities / progress, 4) if progress else 1.0,
        misses=misses,
    )


def check_framework_questions(path: Path, parse: Parse) -> FrameworkCheck:
    """How many plain framework questions (``{"id", "question", "expected"}``) the parser
    takes for progress questions (it should take none)."""
    cases: list[QuestionCase] = read_jsonl(path, QuestionCase)
    taken = []
    for case in cases:
        parsed = parse(case.question)
        if parsed is not None:
            taken.append(f"{case.id}: taken as {parsed.intent}: {case.question}")
    return FrameworkCheck(questions=len(cases), taken_for_progress=len(taken), taken=taken)


def first_objective_resolver(search: Callable[[str], Any]) -> Callable[[str], str | None]:
    """``resolve_topic`` from a framework search (``searcher.search``): the id of its first
    objective result."""

    def resolve(words: str) -> str | None:
        for hit in search(words).results:
            if hit.element.kind == "objective":
                return str(hit.element.id)
        return None

    return resolve


def progress_table(m: ProgressMetrics, framework: FrameworkCheck | None = None) -> str:
    rows = [
        f"progress questions: {m.questions} labelled ({m.progress_questions} about progress)",
        f"  intent accuracy     {m.intent_accuracy:.3f}",
        f"  entity accuracy     {m.entity_accuracy:.3f}",
    ]
    if framework is not None:
        rows.append(
            f"  framework questions taken for progress  "
            f"{framework.taken_for_progress}/{framework.questions}"
        )
        rows += [f"    {t}" for t in framework.taken]
    if m.misses:
        rows.append(f"  misses ({len(m.misses)}):")
        rows += [f"    {miss}" for miss in m.misses]
    return "\n".join(rows)
