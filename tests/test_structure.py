"""Questions the framework's structure answers directly: ids, goals, counts, statements.

In process: the shared INTERPOL ``assistant`` and, in a module fixture, one for the SDG
framework (letter ids such as "14.c", 17 goals)."""

from __future__ import annotations

import pytest
from conftest import SDG_PATH

from framework_data.loader import load_framework
from framework_data.schema import Framework
from retrieval.answer import Answer
from retrieval.structure import StructuralHit, find_structural

INTERPOL = load_framework()
SDG = load_framework(SDG_PATH)


def goal_and_objectives(fw: Framework, goal_id: str) -> list[str]:
    goal = fw.goal(goal_id)
    assert goal is not None
    return [goal.citation_id, *(o.id for o in goal.objectives)]


def check_lookup(answer: Answer, fw: Framework, expected: list[str]) -> None:
    assert answer.answered is True
    assert [c.id for c in answer.citations][: len(expected)] == expected
    assert all(c.score == 1.0 for c in answer.citations[: len(expected)])
    known = fw.citation_ids()
    assert all(c.id in known for c in answer.citations)
    for c in answer.citations:
        assert c.kind == fw.element(c.id).kind


# ---- the INTERPOL framework, through the assistant ---------------------------------------------

LOOKUPS = [
    pytest.param("1.4", ["1.4"]),
    pytest.param("2.3?", ["2.3"]),
    ("objective 4.2", ["4.2"]),
    ("What does 2.3 say?", ["2.3"]),
    ("Objective 1.4.", ["1.4"]),
    ("compare 1.4 and 2.3", ["1.4", "2.3"]),
    ("goal 3", goal_and_objectives(INTERPOL, "3")),
    ("G3", goal_and_objectives(INTERPOL, "3")),
    ("the second goal", goal_and_objectives(INTERPOL, "2")),
    ("Tell me about goal #5", goal_and_objectives(INTERPOL, "5")),
    ("how many goals are there", ["G1", "G2", "G3", "G4", "G5"]),
    ("how many objectives", ["G1", "G2", "G3", "G4", "G5"]),
    ("what is the mission", ["mission"]),
    ("what are our values", ["values"]),
    ("vision?", ["vision"]),
]


@pytest.mark.parametrize(("question", "expected"), LOOKUPS)
def test_direct_lookups(assistant, question: str, expected: list[str]) -> None:
    check_lookup(assistant.ask(question), INTERPOL, expected)


def test_objective_lookup_quotes_the_objective(assistant) -> None:
    answer = assistant.ask("objective 4.2")
    assert [c.id for c in answer.citations] == ["4.2"]  # exactly the id asked for
    assert INTERPOL.objective("4.2").text in answer.text


@pytest.mark.parametrize("goal_id", ["1", "2", "3", "4", "5"])
def test_goal_lookup_cites_the_goal_then_all_its_objectives(assistant, goal_id: str) -> None:
    answer = assistant.ask(f"What is goal {goal_id} about?")
    expected = goal_and_objectives(INTERPOL, goal_id)
    assert [c.id for c in answer.citations] == expected
    assert [c.kind for c in answer.citations] == ["goal"] + ["objective"] * (len(expected) - 1)
    goal = INTERPOL.goal(goal_id)
    assert goal.title in answer.text
    assert all(o.id in answer.text for o in goal.objectives)


def test_counts_are_stated(assistant) -> None:
    n_goals, n_obj = len(INTERPOL.goals), sum(1 for _ in INTERPOL.objectives())
    for question in ("how many goals are there", "how many objectives"):
        text = assistant.ask(question).text
        assert f"{n_goals} goals" in text and f"{n_obj} objectives" in text


def test_statements_are_quoted(assistant) -> None:
    st = INTERPOL.statements
    assert st.mission in assistant.ask("what is the mission").text
    assert st.vision in assistant.ask("vision?").text
    values = assistant.ask("what are our values").text
    assert all(v.name in values for v in st.values)


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("objective 9.9", "9.9"),
        ("goal 12", "G12"),
        ("G12", "G12"),
        ("objective 1.10", "1.10"),
        ("What do 1.4 and 9.9 say?", "9.9"),
    ],
)
def test_unknown_ids_are_never_cited(assistant, question: str, missing: str) -> None:
    answer = assistant.ask(question)
    assert answer.text.strip()
    ids = [c.id for c in [*answer.citations, *answer.related]]
    assert missing not in ids
    assert set(ids) <= INTERPOL.citation_ids()
    assert not any(
        c.score == 1.0 and c.kind == "objective" and c.id.startswith("9") for c in answer.citations
    )


def test_known_id_next_to_an_unknown_one_is_still_looked_up(assistant) -> None:
    answer = assistant.ask("What do 1.4 and 9.9 say?")
    assert [c.id for c in answer.citations] == ["1.4"]


# ---- another framework: the SDGs (letter ids, 17 goals) ----------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("14.c", ["14.c"]),
        ("What does 14.C say?", ["14.c"]),
        ("target 6.b", ["6.b"]),
        ("What does 17.10 say?", ["17.10"]),  # not 17.1
        pytest.param("17.10", ["17.10"]),
        ("targets 1.a and 2.b", ["1.a", "2.b"]),
        ("goal 17", goal_and_objectives(SDG, "17")),
        ("SDG 6", goal_and_objectives(SDG, "6")),
        ("the seventeenth goal", goal_and_objectives(SDG, "17")),
    ],
)
def test_sdg_lookups(sdg_assistant, question: str, expected: list[str]) -> None:
    check_lookup(sdg_assistant.ask(question), SDG, expected)


def test_sdg_goal_17_cites_all_nineteen_targets_in_order(sdg_assistant) -> None:
    ids = [c.id for c in sdg_assistant.ask("goal 17").citations]
    assert ids == ["G17"] + [f"17.{i}" for i in range(1, 20)]


def test_sdg_count_and_unknown_ids(sdg_assistant) -> None:
    text = sdg_assistant.ask("how many targets are there").text
    assert "17 goals" in text and f"{sum(1 for _ in SDG.objectives())} objectives" in text
    for question, missing in (("goal 18", "G18"), ("target 14.d", "14.d")):
        answer = sdg_assistant.ask(question)
        ids = {c.id for c in [*answer.citations, *answer.related]}
        assert missing not in ids and ids <= SDG.citation_ids()


# ---- find_structural, directly -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fw", "question", "expected"),
    [
        (INTERPOL, "1.4", StructuralHit("objective", ("1.4",))),
        (INTERPOL, "see 1.4, 2.3", StructuralHit("objective", ("1.4", "2.3"))),
        (INTERPOL, "objective no. 3.2", StructuralHit("objective", ("3.2",))),
        (INTERPOL, "G3", StructuralHit("goal", ("G3",))),
        (INTERPOL, "the fifth pillar", StructuralHit("goal", ("G5",))),
        (INTERPOL, "how many goals are there", StructuralHit("count", (), "goals")),
        (INTERPOL, "number of objectives?", StructuralHit("count", (), "objectives")),
        (INTERPOL, "What is our vision?", StructuralHit("statement", ("vision",))),
        (INTERPOL, "vision and mission", StructuralHit("statement", ("vision", "mission"))),
        (INTERPOL, "list the goals", StructuralHit("overview", ("G1", "G2", "G3", "G4", "G5"))),
        (SDG, "14.c", StructuralHit("objective", ("14.c",))),
        (SDG, "target 6.b", StructuralHit("objective", ("6.b",))),
        (SDG, "goal 17", StructuralHit("goal", ("G17",))),
        (SDG, "goal 12", StructuralHit("goal", ("G12",))),
    ],
    ids=lambda v: v.id if isinstance(v, Framework) else None,
)
def test_find_structural_recognises(fw: Framework, question: str, expected: StructuralHit) -> None:
    assert find_structural(fw, question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   ",
        "🚀",
        "version 1.4.2 of the software",  # a version number, not an objective id
        "How do our values shape training?",  # about training, not the values statement
        "Which objective is about training?",
    ],
)
def test_find_structural_leaves_other_questions_to_search(question: str) -> None:
    assert find_structural(INTERPOL, question) is None


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("objective 9.9", "objective 9.9"),
        ("objective 1.10", "objective 1.10"),  # not objective 1.1
        ("goal 12", "goal 12"),  # INTERPOL has 5 goals
        ("G12", "goal 12"),
        ("the sixth goal", "goal 6"),
    ],
)
def test_find_structural_names_ids_the_framework_lacks(question: str, asked: str) -> None:
    assert find_structural(INTERPOL, question) == StructuralHit("missing", (), asked)
