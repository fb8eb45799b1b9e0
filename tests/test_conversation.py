"""The conversation resolver (pure): which topic a follow-up carries on, and position questions
read off the framework's order — on INTERPOL and on the UN SDGs."""

from __future__ import annotations

from pathlib import Path

import pytest

from framework_data.loader import load_framework
from retrieval.conversation import Turn, current_topic, navigate, resolve
from retrieval.conversation_eval import evaluate_conversations, read_conversations
from tests.conftest import SDG_PATH

EVAL = Path(__file__).parent / "fixtures" / "eval"


@pytest.fixture(scope="module")
def sdg():
    return load_framework(SDG_PATH)


def test_the_topic_is_the_latest_established_one(interpol):
    turns = [
        Turn("Which objective is about funding?", ("5.1",)),
        Turn("Show me 3.3", ("3.3",)),
        Turn("is it used in Europe?", ("3.3",)),
        Turn("what's the leave policy?", (), answered=False),
    ]
    assert current_topic(interpol, turns) == ("3.3",)
    # A named id wins over what its answer cited first.
    assert current_topic(interpol, [Turn("compare 4.1 with others", ("G2",))]) == ("4.1",)
    # Statements and declined turns establish no element.
    assert current_topic(interpol, [Turn("what is the vision?", ("vision",))]) == ()


def test_a_pointer_is_resolved_to_a_lookup_of_the_topic(interpol):
    r = resolve("is it used in Europe?", [Turn("Show me 3.3", ("3.3",))], interpol)
    assert r.kind == "pointer" and r.topic == ("3.3",) and r.query.startswith("3.3 ")
    goal = resolve("who funds it?", [Turn("goal 4 please", ("G4", "4.1"))], interpol)
    assert goal.query.startswith("goal 4 ")


@pytest.mark.parametrize(
    ("question", "topic", "expected"),
    [
        ("and the objective preceding that?", "2.2", "2.1"),
        ("what's the following one?", "2.4", "3.1"),  # across goals, in framework order
        ("the one prior to it?", "1.1", None),  # nothing before the first
        ("the closing objective of that goal?", "4.1", "4.3"),
        ("what's its third objective?", "G5", "5.3"),
        ("what is the parent goal of it?", "1.5", "G1"),
        ("and the following goal?", "G2", "G3"),
        ("which goal covers cybercrime and terrorism?", "1.5", None),  # its own topic
        ("is it used in Europe?", "1.5", None),
    ],
)
def test_navigation_on_interpol(interpol, question, topic, expected):
    assert navigate(interpol, question, topic) == expected


@pytest.mark.parametrize(
    ("question", "topic", "expected"),
    [
        ("and the target just before it?", "14.a", "14.7"),
        ("the one coming next?", "16.10", "16.a"),
        ("what's its final target?", "G7", "7.b"),
        ("the opening target of that goal?", "13.b", "13.1"),
        ("which goal does that one sit in?", "16.2", "G16"),
        ("the twelfth target of its goal?", "3.1", "3.c"),
    ],
)
def test_navigation_on_the_sdgs(sdg, question, topic, expected):
    assert navigate(sdg, question, topic) == expected


def test_a_question_naming_its_own_element_stands_alone(sdg):
    r = resolve("and what about 5.2?", [Turn("What does 6.1 say?", ("6.1",))], sdg)
    assert r.kind == "standalone" and r.query == "and what about 5.2?"


def test_without_an_established_element_the_earlier_words_are_borrowed(interpol):
    turns = [Turn("What is the mission?", ("mission",))]
    assert resolve("why?", turns, interpol).query.startswith("What is the mission?")


def test_the_labelled_conversations_are_well_formed(interpol, sdg):
    for name, fw in (("followups_interpol.jsonl", interpol), ("followups_sdg.jsonl", sdg)):
        cases = read_conversations(EVAL / name)
        known = {o.id for _, o in fw.objectives()} | {g.citation_id for g in fw.goals}
        assert len({c.id for c in cases}) == len(cases)
        for case in cases:
            assert len(case.turns) >= 3
            assert all(t.expected is None or t.expected in known for t in case.turns)
    assert len(read_conversations(EVAL / "followups_interpol.jsonl")) >= 40


def test_topic_accuracy_on_the_sdg_conversations(sdg_assistant):
    metrics = evaluate_conversations(sdg_assistant, EVAL / "followups_sdg.jsonl")
    assert metrics.followup_turns >= 24 and metrics.topic_accuracy >= 0.9


def test_fwbot_eval_prints_the_topic_accuracy_of_conversations(fwbot_env, tmp_path):
    import json

    from tests.conftest import run_fwbot

    path = tmp_path / "conversations.jsonl"
    turns = [
        {"question": "What does 4.2 say?", "expected": "4.2"},
        {"question": "what's the office wifi password?", "expected": None},
        {"question": "and the one after it?", "expected": "4.3"},
        {"question": "which goal is that in?", "expected": "G3"},  # wrong on purpose
    ]
    path.write_text(json.dumps({"id": "c1", "turns": turns}) + "\n", encoding="utf-8")
    run = run_fwbot("eval", "--conversations", path, env=fwbot_env)
    out = run.stdout.decode()
    assert run.returncode == 0, run.stderr.decode()
    assert "topic accuracy: 0.667 (2/3)" in out
    assert "miss c1 turn 3: 'which goal is that in?' expected G3, got G4" in out
