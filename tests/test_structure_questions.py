"""Questions the framework's structure answers (issue 22): objectives searched within a goal
the question names, ids the framework lacks, the statements however they are asked, and the
framework's own title, period and organisation. Through the assistant, on INTERPOL and on the
SDGs (the example wordings and others)."""

from __future__ import annotations

import pytest

from framework_data.schema import Framework
from retrieval.answer import Answer


def top_id(answer: Answer) -> str:
    assert answer.answered is True, answer.text
    return answer.citations[0].id


# ---- an objective of a named goal, about some topic: searched within that goal -----------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which objective in goal 2 deals with the national bureaus?", "2.1"),
        ("In goal 5, which objective is about money?", "5.1"),
        ("Under goal 5, what objective concerns the budget and funding?", "5.1"),
        ("Which objective of goal 1 is about the quality of the data?", "1.4"),
    ],
)
def test_an_objective_of_a_named_goal_is_searched_within_it(
    assistant, question: str, expected: str
) -> None:
    answer = assistant.ask(question)
    assert top_id(answer) == expected
    goal = assistant.framework.goal_of(expected)
    assert {c.id for c in answer.citations} <= {o.id for o in goal.objectives}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which target of goal 14 is about ocean acidification?", "14.3"),
        ("In SDG 4, which target deals with scholarships?", "4.b"),
    ],
)
def test_sdg_targets_are_searched_within_the_named_goal(
    sdg_assistant, question: str, expected: str
) -> None:
    assert top_id(sdg_assistant.ask(question)) == expected


@pytest.mark.parametrize(
    "question",
    [
        "Can you list goal 5 and all its objectives",
        "What are the objectives of goal 5?",
        "Which objective in goal 5 is about interstellar space tourism?",  # nothing close
    ],
)
def test_a_goal_without_a_topic_is_still_the_goal_and_its_objectives(
    assistant, question: str
) -> None:
    ids = [c.id for c in assistant.ask(question).citations]
    assert ids == ["G5", "5.1", "5.2", "5.3", "5.4", "5.5"]


# ---- ids the framework does not have --------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("What does objective 6.2 say?", "no objective 6.2"),
        ("What does 7.1 say?", "no objective 7.1"),
        ("Tell me about goal 9", "no goal 9"),
        ("what's in the seventh goal?", "no goal 7"),
    ],
)
def test_a_missing_id_is_said_to_be_missing_with_the_ids_there_are(
    assistant, question: str, said: str
) -> None:
    answer = assistant.ask(question)
    assert answer.answered is False and answer.citations == [] and answer.related == []
    assert said in answer.text
    if "goal" in said:
        assert "1–5" in answer.text
    else:
        assert "1.1–1.5" in answer.text and "5.1–5.5" in answer.text


def test_a_missing_objective_of_an_existing_goal_names_that_goals_objectives(assistant) -> None:
    text = assistant.ask("objective 2.7").text
    assert "no objective 2.7" in text and "2.1–2.4" in text


@pytest.mark.parametrize(
    ("question", "said", "ranges"),
    [
        ("What does target 14.d say?", "no target 14.d", ("14.1–14.c", "17.1–17.19")),
        ("target 17.20", "no target 17.20", ("17.1–17.19",)),
        ("SDG 18", "no goal 18", ("1–17",)),
    ],
)
def test_sdg_missing_ids(sdg_assistant, question: str, said: str, ranges: tuple[str]) -> None:
    answer = sdg_assistant.ask(question)
    assert answer.answered is False and said in answer.text
    assert all(r in answer.text for r in ranges)


def test_a_number_in_a_topic_question_is_not_a_missing_id(assistant) -> None:
    answer = assistant.ask("Our budget grew 2.5 percent; which objective covers funding?")
    assert "no objective" not in answer.text
    assert top_id(answer) == "5.1"


def test_a_number_after_a_goal_word_in_a_topic_question_is_not_a_missing_goal(
    sdg_assistant,
) -> None:
    answer = sdg_assistant.ask("What does the SDG 2030 agenda say about safe drinking water?")
    assert "no goal" not in answer.text
    assert top_id(answer) == "6.1"


def test_a_lookup_with_a_missing_id_says_which_is_missing(assistant) -> None:
    answer = assistant.ask("What do 1.4 and 9.9 say?")
    assert [c.id for c in answer.citations] == ["1.4"]
    assert "no 9.9" in answer.text


# ---- the vision, mission and values, however they are asked -----------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What's our mission, simply put?", "mission"),
        ("Tell me the mission briefly", "mission"),
        ("what's the vision, in plain words?", "vision"),
        ("Our values, roughly speaking?", "values"),
        ("What values does the framework promote?", "values"),
    ],
)
def test_statements_however_phrased(assistant, question: str, expected: str) -> None:
    answer = assistant.ask(question)
    assert [c.id for c in answer.citations] == [expected]
    assert answer.citations[0].score == 1.0


def test_sdg_statements_however_phrased(sdg_assistant) -> None:
    answer = sdg_assistant.ask("What's the mission, put simply?")
    assert [c.id for c in answer.citations] == ["mission"]


@pytest.mark.parametrize(
    "question",
    [
        "How do our values shape training?",  # about training
        "How do I apply for a visa for a mission to Geneva?",  # a mission, not ours
        "Does our mission cover cybercrime and terrorism?",
    ],
)
def test_a_statement_word_in_a_topic_question_is_not_the_statement(
    assistant, question: str
) -> None:
    answer = assistant.ask(question)
    assert [c.id for c in answer.citations][:1] not in (["mission"], ["values"]) or (
        answer.citations[0].score < 1.0
    )


# ---- the framework's title, period and organisation --------------------------------------------


def _fact(fw: Framework, **changes: object) -> Framework:
    return fw.model_copy(update=changes)


@pytest.mark.parametrize(
    "question",
    [
        "When does the Strategic Framework end?",
        "What is the period of the framework?",
        "Which years does the strategy cover?",
        "How long does our framework run?",
    ],
)
def test_the_period_is_read_from_the_file(assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.answered is True
    assert assistant.framework.period in answer.text
    assert answer.citations == []


def test_sdg_period(sdg_assistant) -> None:
    answer = sdg_assistant.ask("When does the agenda end?")
    assert answer.answered is True and "2016-2030" in answer.text


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("What is the framework called?", "title"),
        ("What is the title of this plan?", "title"),
        ("Whose framework is this?", "organization"),
    ],
)
def test_title_and_organization_are_read_from_the_file(
    assistant, sdg_assistant, question: str, fact: str
) -> None:
    for bot in (assistant, sdg_assistant):
        fw = bot.framework
        expected = fw.title if fact == "title" else fw.organization.name
        answer = bot.ask(question)
        assert answer.answered is True and expected in answer.text
        assert answer.citations == []  # a fact of the file, not the goals' overview


def test_a_fact_the_file_does_not_state_is_said_so(assistant) -> None:
    from retrieval.answer import OfflineComposer
    from retrieval.search import SearchResult
    from retrieval.structure import find_structural

    fw = _fact(assistant.framework, period=None, organization=None)
    for question, what in (
        ("What is the period of the framework?", "period"),
        ("Whose framework is this?", "whose"),
    ):
        hit = find_structural(fw, question)
        answer = OfflineComposer().compose(SearchResult(question, hit), fw)
        assert answer.answered is False
        assert "doesn't state" in answer.text and what in answer.text


def test_counts_of_one_goal(assistant, sdg_assistant) -> None:
    assert "4 objectives" in assistant.ask("How many objectives does goal 2 have?").text
    assert "9 objectives" in sdg_assistant.ask("how many targets are in goal 5").text


@pytest.mark.parametrize(
    "question",
    [
        "When will the sustainable funding model be implemented?",  # a topic of the framework
        "When should we use the framework to tag proposals?",  # no time span asked for
    ],
)
def test_a_question_with_a_date_word_is_not_the_period(assistant, question: str) -> None:
    assert "covers the period" not in assistant.ask(question).text


# ---- a goal answers only a question about the goal as a whole ----------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What does the strategy say about a secure network for sharing police data?", "1.1"),
        ("Anything in the framework on a protected communications system for police?", "1.1"),
    ],
)
def test_an_objective_outranks_its_goal_on_its_own_topic(
    assistant, question: str, expected: str
) -> None:
    assert top_id(assistant.ask(question)) == expected


def test_sdg_an_objective_outranks_its_goal_on_its_own_topic(sdg_assistant) -> None:
    answer = sdg_assistant.ask(
        "What does it say about protecting forests and stopping deforestation?"
    )
    assert top_id(answer) == "15.2"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is our approach to being the global information hub for police?", "G1"),
        ("What's INTERPOL's role in the global security architecture?", "G4"),
        ("Which goal is about innovation?", "G3"),  # asks for a goal: the goal, not 3.3
        ("which goal covers funding?", "G5"),
    ],
)
def test_a_question_about_the_goal_as_a_whole_is_the_goal(
    assistant, question: str, expected: str
) -> None:
    assert top_id(assistant.ask(question)) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which SDG deals with forests and deforestation?", "G15"),
        ("Which goal is about forests?", "G15"),
        ("where do the SDGs mention informal settlements and adequate housing?", "11.1"),
    ],
)
def test_sdg_a_goal_when_a_goal_is_asked_for(sdg_assistant, question: str, expected: str) -> None:
    assert top_id(sdg_assistant.ask(question)) == expected
