"""The answers the framework's structure gives by itself: counts, the overview, the title,
period and organisation, and ids the framework does not have (which ids it has instead)."""

from __future__ import annotations

from framework_data.schema import Framework

from .structure import StructuralHit


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _span(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else f"{ids[0]}–{ids[-1]}"


def _goal_numbers(fw: Framework) -> str:
    ids = [g.id for g in fw.goals]
    consecutive = all(i.isdigit() for i in ids) and [int(i) for i in ids] == list(
        range(int(ids[0]), int(ids[0]) + len(ids))
    )
    return _span(ids) if consecutive else _join(ids)


def objective_ranges(fw: Framework) -> str:
    """The objective ids, goal by goal: "1.1–1.5, 2.1–2.4 and 3.1–3.3"."""
    return _join([_span([o.id for o in g.objectives]) for g in fw.goals])


def missing_text(fw: Framework, asked: str) -> str:
    """``asked``: "objective 6.2", "target 14.d", "goal 9"."""
    kind, _, wanted = asked.partition(" ")
    if kind == "goal":
        return (
            f"{fw.title} has no goal {wanted}: its {len(fw.goals)} goals are numbered "
            f"{_goal_numbers(fw)}."
        )
    goal = fw.goal(wanted.split(".")[0])
    if goal is not None:
        ids = [o.id for o in goal.objectives]
        return (
            f"{fw.title} has no {kind} {wanted}: Goal {goal.id} has {len(ids)}, "
            f"{_span(ids)}. All of them: {objective_ranges(fw)}."
        )
    return f"{fw.title} has no {kind} {wanted}: its objectives are numbered {objective_ranges(fw)}."


def missing_note(fw: Framework, ids: tuple[str, ...]) -> str:
    """The line after a lookup that also named ids the framework lacks."""
    return f"(There is no {_join(list(ids))} in {fw.title}: the ids are {objective_ranges(fw)}.)"


def count_text(fw: Framework, hit: StructuralHit) -> str:
    goal = fw.goal(hit.detail) if hit.detail not in ("goals", "objectives") else None
    if goal is not None:
        ids = [o.id for o in goal.objectives]
        return f"Goal {goal.id} — {goal.title} has {len(ids)} objectives: {_span(ids)}."
    n_obj = sum(1 for _ in fw.objectives())
    return f"{fw.title} has {len(fw.goals)} goals and {n_obj} objectives."


def overview_text(fw: Framework) -> str:
    lines = [f"{fw.title} has {len(fw.goals)} goals:"]
    lines += [f"• Goal {g.id} — {g.title}" for g in fw.goals]
    return "\n".join(lines)


def fact_text(fw: Framework, fact: str) -> tuple[bool, str]:
    """Whether the framework file states ``fact``, and the answer."""
    if fact == "period":
        if fw.period:
            return True, f"{fw.title} covers the period {fw.period}."
        return False, f"The framework file doesn't state the period {fw.title} covers."
    if fact == "organization":
        if fw.organization is not None:
            return True, f"{fw.title} is the framework of {fw.organization.name}."
        return False, f"The framework file doesn't state whose framework {fw.title} is."
    return True, f"The framework is called {fw.title}."
