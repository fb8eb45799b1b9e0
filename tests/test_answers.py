"""Grounded answers, in process: structure-first lookups, search answers, declines, the
``grounded`` guarantee, the langchain retriever and the answer prompt."""

from __future__ import annotations

import re

import pytest

from framework_data.schema import Framework
from retrieval.answer import Answer, Citation, OfflineComposer, grounded
from retrieval.assistant import FrameworkAssistant
from retrieval.search import SearchResult

DECLINE_RE = re.compile(r"(doesn[’']t|does not|do not|don[’']t) cover", re.IGNORECASE)

QUESTIONS = [
    "Which objective is about training?",
    "What does 1.3 say?",
    "goal 3",
    "G5",
    "what are the values",
    "What is our mission?",
    "What is the vision?",
    "how many goals",
    "what is the framework",
    "Which objective covers a sustainable funding model?",
    "Is there anything about data protection?",
    "How do we work with academia and private partners?",
    "where can I park my bike?",
    "What's for lunch in the canteen today?",
]


def goal_line(fw: Framework, objective_id: str) -> str:
    goal = fw.goal_of(objective_id)
    assert goal is not None
    return f"Goal {goal.id} — {goal.title}"


def check_answer(answer: Answer, fw: Framework) -> None:
    """The JSON contract, in process."""
    assert isinstance(answer.text, str) and answer.text.strip()
    for c in [*answer.citations, *answer.related]:
        el = fw.element(c.id)
        assert el is not None, f"{c.id} is not an element of the framework"
        assert c.kind == el.kind
        assert 0.0 <= c.score <= 1.0
    scores = [c.score for c in answer.citations]
    assert scores == sorted(scores, reverse=True), "citations are best first"
    if answer.answered:
        assert answer.citations
    else:
        assert answer.citations == []


# ---- answers from the framework's structure --------------------------------------------------


def test_an_objective_answer_quotes_it_and_names_its_goal(assistant: FrameworkAssistant) -> None:
    fw = assistant.framework
    answer = assistant.ask("What does 1.3 say?")
    check_answer(answer, fw)
    assert answer.answered
    assert [c.id for c in answer.citations] == ["1.3"]
    assert answer.citations[0].kind == "objective"
    objective = fw.objective("1.3")
    assert objective is not None
    assert objective.text in answer.text
    assert goal_line(fw, "1.3") in answer.text
    assert goal_line(fw, "1.3").startswith("Goal 1 — ")


def test_a_searched_objective_answer_quotes_what_it_cites(assistant: FrameworkAssistant) -> None:
    fw = assistant.framework
    answer = assistant.ask("Which objective is about training?")
    check_answer(answer, fw)
    assert answer.answered
    for c in answer.citations:
        if c.kind == "objective":
            objective = fw.objective(c.id)
            assert objective is not None
            assert objective.text in answer.text
            assert goal_line(fw, c.id) in answer.text
    assert "training" in answer.text.lower()


def test_a_goal_question_lists_all_its_objectives(assistant: FrameworkAssistant) -> None:
    fw = assistant.framework
    goal = fw.goal("3")
    assert goal is not None
    answer = assistant.ask("goal 3")
    check_answer(answer, fw)
    assert answer.answered
    ids = [c.id for c in answer.citations]
    assert ids[0] == "G3"
    assert set(ids[1:]) == {o.id for o in goal.objectives}
    assert f"Goal 3 — {goal.title}" in answer.text
    for o in goal.objectives:
        assert o.id in answer.text and o.text in answer.text
    other = {o.id for g in fw.goals if g.id != "3" for o in g.objectives}
    assert not other & set(ids)


def test_the_values_are_listed(assistant: FrameworkAssistant) -> None:
    fw = assistant.framework
    answer = assistant.ask("what are the values")
    check_answer(answer, fw)
    assert answer.answered
    assert [c.id for c in answer.citations] == ["values"]
    assert answer.citations[0].kind == "statement"
    names = [v.name for v in fw.statements.values]
    assert names == ["Respect", "Integrity", "Excellence", "Teamwork", "Innovation"]
    for name in names:
        assert name in answer.text


def test_how_many_goals(assistant: FrameworkAssistant) -> None:
    fw = assistant.framework
    answer = assistant.ask("how many goals")
    check_answer(answer, fw)
    assert answer.answered
    assert re.search(r"\b5 goals\b", answer.text)
    assert re.search(r"\b21 objectives\b", answer.text)
    assert len(fw.goals) == 5 and sum(1 for _ in fw.objectives()) == 21
    assert {c.id for c in answer.citations} <= fw.citation_ids()


# ---- declining --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question", ["where can I park my bike?", "What's for lunch in the canteen today?"]
)
def test_an_off_topic_question_is_declined(assistant: FrameworkAssistant, question: str) -> None:
    answer = assistant.ask(question)
    check_answer(answer, assistant.framework)
    assert answer.answered is False
    assert answer.citations == []
    assert DECLINE_RE.search(answer.text), answer.text
    assert assistant.framework.title in answer.text


@pytest.mark.parametrize("question", ["", "   ", "?!…", b"\x00\x07"])
def test_an_empty_question_gets_a_hint_not_an_answer(
    assistant: FrameworkAssistant, question: str | bytes
) -> None:
    answer = assistant.ask(question)
    assert answer.answered is False and answer.citations == []
    assert answer.text.strip()


# ---- every answer keeps the contract ----------------------------------------------------------


@pytest.mark.parametrize("question", QUESTIONS)
def test_citations_are_real_elements_with_scores_in_range(
    assistant: FrameworkAssistant, question: str
) -> None:
    check_answer(assistant.ask(question), assistant.framework)


# ---- grounded() -------------------------------------------------------------------------------


def test_grounded_drops_unknown_citations(assistant: FrameworkAssistant) -> None:
    fw = assistant.framework
    answer = Answer(
        answered=True,
        text="See 1.3, 9.9 and G42.",
        citations=[
            Citation(id="9.9", kind="objective", score=0.99),
            Citation(id="1.3", kind="objective", score=0.9),
            Citation(id="G42", kind="goal", score=0.8),
            Citation(id="G1", kind="goal", score=0.7),
        ],
        related=[
            Citation(id="strategy", kind="statement", score=0.5),
            Citation(id="values", kind="statement", score=0.4),
        ],
    )
    out = grounded(answer, fw)
    assert out.answered is True
    assert [c.id for c in out.citations] == ["1.3", "G1"]
    assert [c.id for c in out.related] == ["values"]
    assert out.text == answer.text
    assert [c.id for c in answer.citations] == ["9.9", "1.3", "G42", "G1"]  # input untouched


def test_grounded_declines_when_no_citation_remains(assistant: FrameworkAssistant) -> None:
    answer = Answer(
        answered=True,
        text="Objective 7.7 covers that.",
        citations=[
            Citation(id="7.7", kind="objective", score=0.95),
            Citation(id="g1", kind="goal", score=0.9),
        ],  # ids are case-sensitive
    )
    out = grounded(answer, assistant.framework)
    assert out.answered is False
    assert out.citations == []


def test_grounded_keeps_a_declined_answer_declined(assistant: FrameworkAssistant) -> None:
    answer = Answer(
        answered=False,
        text="Not covered.",
        citations=[Citation(id="1.3", kind="objective", score=0.3)],
    )
    assert grounded(answer, assistant.framework).answered is False


def test_a_pluggable_composer_is_grounded_by_the_assistant(
    assistant: FrameworkAssistant,
) -> None:
    class Inventive:
        def compose(self, result: SearchResult, framework: Framework) -> Answer:
            return Answer(
                answered=True,
                text="Made up.",
                citations=[
                    Citation(id="99.1", kind="objective", score=1.0),
                    Citation(id="2.3", kind="objective", score=0.9),
                ],
            )

    class OnlyInvented:
        def compose(self, result: SearchResult, framework: Framework) -> Answer:
            return Answer(
                answered=True,
                text="Made up.",
                citations=[Citation(id="99.1", kind="objective", score=1.0)],
            )

    some = FrameworkAssistant(assistant.searcher, composer=Inventive()).ask("training")
    assert [c.id for c in some.citations] == ["2.3"] and some.answered
    none = FrameworkAssistant(assistant.searcher, composer=OnlyInvented()).ask("training")
    assert none.citations == [] and none.answered is False


def test_citation_scores_are_validated() -> None:
    with pytest.raises(ValueError):
        Citation(id="1.1", kind="objective", score=1.5)
    with pytest.raises(ValueError):
        Citation(id="1.1", kind="target", score=0.5)  # type: ignore[arg-type]


def test_offline_composer_declines_an_empty_result(assistant: FrameworkAssistant) -> None:
    answer = OfflineComposer().compose(SearchResult("xyz", None, []), assistant.framework)
    assert answer.answered is False and answer.citations == []
    assert DECLINE_RE.search(answer.text)


# ---- the langchain retriever -----------------------------------------------------------------


def test_retriever_returns_langchain_documents(assistant: FrameworkAssistant) -> None:
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    from retrieval.retriever import FrameworkRetriever

    fw = assistant.framework
    retriever = FrameworkRetriever(searcher=assistant.searcher, k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("Which objective is about training?")
    assert 1 <= len(docs) <= 3
    scores = []
    for doc in docs:
        assert isinstance(doc, Document)
        assert {"id", "kind", "goal", "score"} <= set(doc.metadata)
        el = fw.element(doc.metadata["id"])
        assert el is not None
        assert doc.metadata["kind"] == el.kind
        assert doc.page_content == el.text
        assert doc.metadata["goal"] == el.goal_id
        if el.kind == "objective":
            goal = fw.goal_of(el.id)
            assert goal is not None and doc.metadata["goal"] == goal.citation_id
        assert 0.0 <= doc.metadata["score"] <= 1.0
        scores.append(doc.metadata["score"])
    assert scores == sorted(scores, reverse=True)


def test_retriever_respects_k_and_looks_up_ids(assistant: FrameworkAssistant) -> None:
    from retrieval.retriever import FrameworkRetriever

    [doc] = FrameworkRetriever(searcher=assistant.searcher, k=1).invoke("What does 1.3 say?")
    assert doc.metadata["id"] == "1.3" and doc.metadata["score"] == 1.0
    docs = FrameworkRetriever(searcher=assistant.searcher, k=2).invoke("goal 3")
    assert len(docs) == 2 and docs[0].metadata["id"] == "G3"


# ---- the answer prompt -----------------------------------------------------------------------


def test_answer_prompt_renders(assistant: FrameworkAssistant) -> None:
    from retrieval.llm.composer import FORMAT_INSTRUCTIONS
    from retrieval.llm.prompts import chat_prompt, prompt_text, prompt_version

    fw = assistant.framework
    text = prompt_text("answer")
    assert prompt_version(text) == "3"
    template = chat_prompt(text)
    elements = "\n".join(f"{e.id}: {e.text}" for e in fw.elements()[:4])
    system, human = template.format_messages(
        question="Which objective is about training?",
        elements=elements,
        framework_title=fw.title,
        format_instructions=FORMAT_INSTRUCTIONS,
    )
    assert fw.title in system.content and FORMAT_INSTRUCTIONS in system.content
    assert "Which objective is about training?" in human.content
    assert elements in human.content
    assert "{" not in system.content.replace(FORMAT_INSTRUCTIONS, "")
    with pytest.raises(KeyError):  # every placeholder is required
        template.format_messages(question="q", elements="e")


# ---- questions in another language -----------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Quel objectif concerne la formation des policiers ?", "French"),
        ("¿Qué objetivo trata de la cibercriminalidad en la región?", "Spanish"),
        ("ما هو الهدف المتعلق بتدريب الشرطة؟", "Arabic"),
        ("Welches Ziel betrifft die Ausbildung der Polizei?", "German"),
    ],
)
def test_a_question_in_another_language_is_told_so_not_declined_as_off_topic(
    assistant: FrameworkAssistant, question: str, language: str
) -> None:
    answer = assistant.ask(question)
    assert not answer.answered and answer.citations == []
    assert f"looks like {language}" in answer.text and "please ask in English" in answer.text
    assert "doesn't cover" not in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "What time does the cafeteria open on Sundays?",  # English, off-topic: the usual decline
        "¿Y el 2.3?",  # too short to tell, and a lookup anyway
        "Schengen visa help",
    ],
)
def test_english_and_short_questions_are_not_taken_for_another_language(
    assistant: FrameworkAssistant, question: str
) -> None:
    assert "looks like" not in assistant.ask(question).text


def test_the_framework_says_its_language(assistant: FrameworkAssistant) -> None:
    """A framework written in French takes French questions and tells English ones."""
    from retrieval.language import other_language

    assert assistant.framework.language == "en"
    assert other_language("Quel objectif concerne la formation des policiers ?", "fr") is None
    assert other_language("Which objective is about training police officers?", "fr") == "en"


def test_english_questions_never_load_the_language_model(monkeypatch) -> None:
    """The other languages' word lists load on first use: common English words decide first."""
    from retrieval import language

    def must_not_load(code: str) -> dict[str, float]:
        raise AssertionError(f"the {code} word list was loaded")

    monkeypatch.setattr(language, "word_table", must_not_load)
    for question in (
        "What time does the cafeteria open on Sundays?",
        "How do we apply for a visa for the conference in Lyon next spring?",
    ):
        assert language.other_language(question) is None
