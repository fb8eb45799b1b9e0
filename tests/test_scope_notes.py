"""Scope notes: which note matched is said apart from the framework's words, and notes that
share key phrases between two objectives are flagged."""

from __future__ import annotations

import json

import pytest
from conftest import run_fwbot

from bot.cli.render import render_answer
from bot.slack.blocks import answer_messages
from framework_data.loader import load_framework
from framework_data.notes import overlapping_notes
from framework_data.schema import Framework
from retrieval.assistant import FrameworkAssistant

INTERPOL = load_framework()


def test_an_answer_found_through_a_keyword_says_which(assistant: FrameworkAssistant) -> None:
    answer = assistant.ask("Which objective covers the I-24/7 network?")
    top = answer.citations[0]
    assert top.id == "1.1"
    assert top.note is not None and top.note.startswith("matched the keywords of 1.1: I-24/7")
    # The answer still quotes the framework's own words, never the note.
    assert "I-24/7" not in answer.text
    assert "I-24/7" in render_answer(answer, INTERPOL)
    slack = json.dumps(
        [b.to_dict() for m in answer_messages(answer, INTERPOL, exchange_id=None) for b in m.blocks]
    )
    assert "matched the keywords of 1.1: I-24/7" in slack


def test_an_answer_from_the_framework_text_names_no_note(assistant: FrameworkAssistant) -> None:
    answer = assistant.ask("Which objective is about the quality of data?")
    assert answer.citations[0].id == "1.4"
    assert answer.citations[0].note is None


@pytest.mark.slow  # a fwbot subprocess
def test_json_carries_the_note_only_when_one_matched(fwbot_env) -> None:
    run = run_fwbot("ask", "--json", "Which objective covers the I-24/7 network?", env=fwbot_env)
    citation = json.loads(run.stdout)["citations"][0]
    assert citation["note"].startswith("matched the keywords of 1.1")
    run = run_fwbot("ask", "--json", "What does 1.3 say?", env=fwbot_env)
    assert "note" not in json.loads(run.stdout)["citations"][0]


def _with_notes(a: dict, b: dict) -> Framework:
    return Framework.model_validate(
        {
            "id": "x",
            "title": "X",
            "goals": [
                {
                    "id": "1",
                    "title": "One",
                    "objectives": [
                        {"id": "1.1", "text": "Share information", **a},
                        {"id": "1.2", "text": "Train staff", **b},
                    ],
                }
            ],
        }
    )


def test_notes_that_share_key_phrases_are_flagged() -> None:
    fw = _with_notes(
        {"scope": "Covers the case management system and its dashboards."},
        {"scope": "Courses on the case management system.", "keywords": ["dashboards"]},
    )
    [warning] = overlapping_notes(fw)
    assert warning.startswith("1.1 and 1.2:")
    assert "“case management”" in warning and "“management system”" in warning


def test_a_pointer_to_the_neighbour_is_not_an_overlap() -> None:
    fw = _with_notes(
        {"scope": "The case management system. Courses on it belong to 1.2."},
        {"scope": "Courses and e-learning on the case management system."},
    )
    assert overlapping_notes(fw)  # both describe the case management system
    fw = _with_notes(
        {"scope": "The case management system. E-learning courses belong to 1.2."},
        {"scope": "E-learning courses for staff."},
    )
    assert overlapping_notes(fw) == []


@pytest.mark.slow  # a fwbot subprocess
def test_validate_prints_the_warnings_and_still_passes(fwbot_env, tmp_path) -> None:
    path = tmp_path / "fw.yaml"
    path.write_text(
        "id: x\ntitle: X\ngoals:\n  - id: '1'\n    title: One\n    objectives:\n"
        "      - {id: '1.1', text: Share information, keywords: [case files]}\n"
        "      - {id: '1.2', text: Train staff, keywords: [case files]}\n",
        encoding="utf-8",
    )
    run = run_fwbot("framework", "validate", path, env=fwbot_env)
    assert run.returncode == 0
    assert b"OK" in run.stdout
    assert b"warning: 1.1 and 1.2" in run.stderr and "“case files”".encode() in run.stderr
