"""What counts as evidence: the organisation's names are neutral, specific words weigh more,
and how much of a question an element explains."""

from __future__ import annotations

import numpy as np
import pytest

from framework_data.schema import Framework
from retrieval.assistant import FrameworkAssistant
from retrieval.evidence import OwnNames, explain_question, specificity, topic_words
from retrieval.lexical import Match


def _framework(**extra) -> Framework:
    return Framework.model_validate(
        {
            "id": "acme",
            "title": "ACME Group Strategy 2030",
            "goals": [
                {
                    "id": "1",
                    "title": "Grow ACME's markets",
                    "objectives": [
                        {"id": "1.1", "text": "Open offices in new regions"},
                        {"id": "1.2", "text": "Train ACME staff in sales"},
                    ],
                }
            ],
            **extra,
        }
    )


def test_the_organisations_names_are_removed_with_their_possessive() -> None:
    fw = _framework(organization={"name": "ACME", "aliases": ["ACME Group", "the Company"]})
    names = OwnNames(fw)
    assert names.remove_from("What is ACME's role?") == "What is role?"
    assert names.remove_from("Does ACME Group or the company fund it?") == "Does or fund it?"
    # whole names only
    assert names.remove_from("acmeville and ACME-like") == "acmeville and ACME-like"


def test_without_an_organisation_nothing_is_stripped_but_title_words_are_neutral() -> None:
    names = OwnNames(_framework())
    assert names.remove_from("ACME's staff") == "ACME's staff"
    # "acme" names the framework (its title) and no objective uses it once names are kept:
    # it is no evidence; "group" neither. Title words that objectives use stay evidence.
    assert {"group"} <= names.neutral_stems
    assert "group" in names.title_stems


def test_specific_words_weigh_more_than_common_ones() -> None:
    assert specificity("bananas") > specificity("policy") > specificity("work")
    assert specificity("the") == pytest.approx(0.05)
    assert specificity("zyxwvutsr") == 1.0  # not in the word list: rare


def test_explanation_counts_the_specific_words_left_unexplained() -> None:
    tokens = topic_words("policy on bananas")
    assert [t.word for t in tokens] == ["policy", "bananas"]
    matched = explain_question(tokens, [Match("policy", "policy", None, 1.0)], None)
    assert matched.left == ("bananas",)
    assert 0 < matched.explained < 0.5  # "bananas" weighs more than "policy"
    assert matched.worst == pytest.approx(specificity("bananas"))
    close = np.array([0.2, 0.9], dtype=np.float32)  # "bananas" close to an element word
    assert explain_question(tokens, [], close).left == ("policy",)


def test_contractions_are_no_topic() -> None:
    assert [t.word for t in topic_words("what's the capital of Australia")] == [
        "capital",
        "australia",
    ]


@pytest.mark.parametrize(
    "question",
    [
        "Does INTERPOL have a policy on bananas?",
        "INTERPOL?",
        "Where can I park my car at the Lyon headquarters?",
        "How many staff work at INTERPOL?",
    ],
)
def test_naming_the_organisation_is_no_reason_to_answer(
    assistant: FrameworkAssistant, question: str
) -> None:
    answer = assistant.ask(question)
    assert not answer.answered, answer
    assert answer.citations == []


def test_answers_carry_probabilities_and_a_covered_question_is_answered(
    assistant: FrameworkAssistant,
) -> None:
    answer = assistant.ask("Which objective is about training police officers?")
    assert answer.answered
    assert answer.citations[0].id == "2.3"
    assert 0.5 < answer.citations[0].score < 1.0


def test_org_names_do_not_change_what_a_question_finds(assistant: FrameworkAssistant) -> None:
    plain = assistant.searcher.search("improving the quality of data exchanged")
    named = assistant.searcher.search("improving the quality of INTERPOL's data exchanged")
    assert [s.id for s in plain.results[:3]] == [s.id for s in named.results[:3]]
    assert plain.results[0].score == pytest.approx(named.results[0].score, abs=0.02)
