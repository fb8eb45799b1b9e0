"""Questions in another language, offline: recognised however short, told so in their own
language, with the objectives their named things (ids, acronyms, cognates) point to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.assistant import FrameworkAssistant

EVAL = Path(__file__).parent / "fixtures" / "eval"

# What each reply says first, in the asker's language.
SAYS = {
    "fr": "semble être en français",
    "es": "parece estar en español",
    "de": "scheint auf Deutsch",
    "pt": "parece estar em português",
    "it": "sembra in italiano",
    "ru": "на русском языке",
    "ar": "باللغة العربية",
    "zh": "似乎是中文",
    "nl": "in het Nederlands",
}
IDS_LINE = "Possibly related, from the names in your question:"


def _ids_listed(text: str) -> list[str]:
    if IDS_LINE not in text:
        return []
    return text.split(IDS_LINE, 1)[1].strip().rstrip(".").split(", ")


def _told_in(answer_text: str, code: str) -> None:
    assert SAYS[code] in answer_text.split("\n\n")[0]
    assert "doesn't cover" not in answer_text
    assert "please ask in English" in answer_text  # and in English, for whoever else reads


@pytest.mark.parametrize(
    ("question", "code"),
    [
        ("Comment INTERPOL est-il financé ?", "fr"),
        ("¿Cómo se financia INTERPOL?", "es"),
        ("Quel objectif concerne la formation ?", "fr"),
        ("¿Hay algo sobre la ciberdelincuencia?", "es"),
    ],
)
def test_the_testers_short_questions_are_told_in_their_language(
    assistant: FrameworkAssistant, question: str, code: str
) -> None:
    answer = assistant.ask(question)
    assert not answer.answered and answer.citations == []
    _told_in(answer.text, code)


@pytest.mark.parametrize(
    ("question", "code", "ids"),
    [
        ("Et le terrorisme ?", "fr", ["1.5"]),  # cognate of the framework's "terrorism"
        ("Que dit-on de la cybercriminalité ?", "fr", ["1.5"]),
        ("Où est le siège ?", "fr", []),  # nothing named: no ids
        ("Y los NCB?", "es", ["2.1"]),  # an acronym the framework uses
        ("Wer bezahlt das alles?", "de", []),
        ("Und die Biometrie?", "de", ["3.2"]),
        ("Welche Ziele betreffen Cyberkriminalität?", "de", ["1.5"]),
        ("Quem paga pelo I-24/7?", "pt", ["1.1", "1.3"]),
        ("E il terrorismo?", "it", ["1.5"]),
        ("Chi finanzia INTERPOL?", "it", []),  # a name every objective shares names none
        ("Dove si trova la sede?", "it", []),
        ("Кто руководит Интерполом?", "ru", []),
        ("谁领导国际刑警组织？", "zh", []),
        ("ما هو الهدف بخصوص التدريب؟", "ar", []),
        ("Hoe wordt INTERPOL gefinancierd?", "nl", []),
        ("¿Fondos?", "es", []),  # one word is enough
        ("Finanzierung?", "de", []),
    ],
)
def test_short_questions_in_other_languages_are_told_so_with_the_ids_they_name(
    assistant: FrameworkAssistant, question: str, code: str, ids: list[str]
) -> None:
    answer = assistant.ask(question)
    assert not answer.answered
    _told_in(answer.text, code)
    listed = _ids_listed(answer.text)
    assert set(ids) <= set(listed) if ids else listed == []
    if ids:  # the same ids in the asker's language
        assert ", ".join(listed) in answer.text.split("\n\n")[0]


@pytest.mark.parametrize(
    ("question", "code", "ids"),
    [
        ("¿Qué meta trata de la malaria?", "es", ["3.3"]),
        ("Quel objectif concerne la tuberculose ?", "fr", ["3.3"]),
        ("Welches Ziel betrifft Malaria?", "de", ["3.3"]),
        ("Какая цель касается малярии?", "ru", []),
    ],
)
def test_another_framework_takes_other_languages_the_same_way(
    sdg_assistant: FrameworkAssistant, question: str, code: str, ids: list[str]
) -> None:
    answer = sdg_assistant.ask(question)
    assert not answer.answered
    _told_in(answer.text, code)
    assert sdg_assistant.framework.title in answer.text
    assert _ids_listed(answer.text)[: len(ids)] == ids if ids else not _ids_listed(answer.text)


@pytest.mark.parametrize(
    "question",
    [
        "2.4?",
        "and Africa?",
        "who leads it?",
        "What about the savoir-faire of NCBs?",
        "Tell me about la Fondation INTERPOL",
        "Anything on the Sûreté in Côte d'Ivoire?",
        "Is there a fiesta for the General Assembly?",
        "Who pays for I-24/7?",
        "Schengen visa help",
        "Do we have a modus operandi database?",
        "Sûreté du Québec: any cooperation?",
        "What is our stance on the droit à l’oubli?",
        "do we work with la guardia civil",
        "Comment on 2.4?",
    ],
)
def test_english_with_foreign_words_names_and_short_questions_is_not_flagged(
    assistant: FrameworkAssistant, question: str
) -> None:
    from retrieval.language import other_language

    assert other_language(question) is None
    text = assistant.ask(question).text
    assert "looks like" not in text and not any(s in text for s in SAYS.values())


def test_no_english_question_of_the_evaluation_sets_is_flagged() -> None:
    from retrieval.language import other_language

    files = [p for p in EVAL.rglob("*questions*.jsonl") if "sealed" not in p.parts]
    questions = [
        json.loads(line)["question"]
        for p in files
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(questions) > 200
    assert [q for q in questions if other_language(q) is not None] == []


def test_a_latin_script_question_loads_only_latin_script_word_lists(monkeypatch) -> None:
    from retrieval import language

    monkeypatch.setattr(language, "_tables", {})
    assert language.other_language("¿Y la formación?") == "es"
    assert set(language.loaded()) <= set(language.SCRIPTS["LATIN"])
    assert language.other_language("Кто руководит?") == "ru"
    assert "ar" not in language.loaded()


def test_a_framework_in_another_language_gets_the_reply_in_english(
    assistant: FrameworkAssistant,
) -> None:
    """The replies in other languages say "ask in English": a French framework's reply to a
    Spanish question is the English one, naming French."""
    from retrieval.language_reply import other_language_reply

    french = assistant.framework.model_copy(update={"language": "fr"})
    text, ids = other_language_reply("es", "¿Y los NCB?", french)
    assert text.startswith("Your question looks like Spanish") and "ask in French" in text
    assert ids == ["2.1"]
