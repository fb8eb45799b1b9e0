"""Follow-up questions: which ones borrow the earlier topic, which stand on their own."""

from __future__ import annotations

import pytest

from retrieval.followup import points_back, resolve_followup

EARLIER = ["Which objective is about data quality?"]


@pytest.mark.parametrize(
    "question",
    [
        "and what about 2.4?",
        "what about cybercrime?",
        "Is there an objective that covers terrorism?",
        "Which one is about training?",
        "What does goal 3 say?",
    ],
)
def test_questions_that_name_their_topic_stand_alone(interpol, question):
    assert resolve_followup(question, EARLIER, interpol) == question


@pytest.mark.parametrize(
    "question", ["why?", "tell me more", "who leads it?", "does it cover Africa?"]
)
def test_questions_that_point_back_borrow_the_earlier_topic(interpol, question):
    resolved = resolve_followup(question, EARLIER, interpol)
    assert resolved.startswith(EARLIER[0])


def test_a_chain_of_pointers_keeps_the_last_named_topic(interpol):
    earlier = ["What does objective 1.4 say?", "why?", "tell me more"]
    assert resolve_followup("and who leads it?", earlier, interpol).startswith(earlier[0])


def test_no_history_means_no_change(interpol):
    assert resolve_followup("why?", [], interpol) == "why?"
    assert points_back("why?") and not points_back("What about cybercrime?")


def test_pointer_followup_is_answered_about_the_earlier_topic(assistant, interpol):
    resolved = resolve_followup("why does it matter?", EARLIER, interpol)
    answer = assistant.ask(resolved)
    assert answer.citations and answer.citations[0].id == assistant.ask(EARLIER[0]).citations[0].id
