"""Evidence that is not the person's own words (issue 22): a concept neighbour of their word,
or an acronym the objectives of several goals share, is weaker evidence than their words. A
citation or tag resting only on it never reaches "high", and its why line says it was found
through a related term."""

from __future__ import annotations

from framework_data.loader import load_framework
from retrieval.align import HIGH
from retrieval.evidence import (
    RELATED_CEILING,
    UNNAMED_CEILING,
    matched_note,
    not_named,
    shared_stems,
)
from retrieval.lexical import Match


def test_a_shared_acronym_and_a_concept_neighbour_never_make_a_tag_high(assistant):
    for proposal in (
        "Train NCB staff on notices",
        "Coach NCB personnel in handling red notices",
    ):
        tags = assistant.align(proposal).tags
        assert all(t.confidence != "high" for t in tags), (proposal, tags)


def test_a_why_line_says_which_match_is_a_related_term(assistant):
    tag = assistant.align("Train NCB staff on notices").tags[0]
    assert tag.score <= RELATED_CEILING < HIGH
    assert "(a related term, not “staff”)" in tag.why


def test_a_question_answered_through_a_concept_neighbour_is_not_sure(assistant):
    for question in (
        "Is there anything in the strategy about cybercrime?",
        "is cyber-crime part of the strategy?",
    ):
        top = assistant.ask(question).citations[0]
        assert top.score <= RELATED_CEILING, (question, top)
        assert top.note is not None and "through a related term, not “cyber" in top.note


def test_on_the_sdgs_too(sdg_assistant):
    for question in (
        "Which target deals with cigarettes?",
        "Is there a goal about vaping and cigars?",
    ):
        top = sdg_assistant.ask(question).citations[0]
        assert top.id == "3.a"
        assert top.score <= RELATED_CEILING
        assert top.note is not None and "through a related term (tobacco)" in top.note
    tag = sdg_assistant.align("Open smoking cessation clinics for teenagers who use cigarettes")
    assert tag.tags and tag.tags[0].confidence != "high"


def test_the_users_own_words_still_reach_high(assistant):
    top = assistant.ask("Which objective covers the I-24/7 network?").citations[0]
    assert top.id == "1.1" and top.score > RELATED_CEILING
    assert top.note is not None and "related term" not in top.note


def test_a_note_quotes_the_sentence_with_the_most_specific_word_matched(assistant):
    top = assistant.ask("What about environmental crime?").citations[0]
    assert top.id == "2.2"
    assert top.note is not None and "environmental crime" in top.note


def test_shared_acronyms_are_those_of_several_goals():
    fw = load_framework()
    docs = {o.id: [o.text, o.scope or "", *o.keywords] for _, o in fw.objectives()}
    shared = shared_stems(fw, docs)
    assert "ncb" in shared  # 1.3 and 2.1: goals 1 and 2
    assert "training" not in shared and "i-24" not in shared


def test_matched_note_prefers_the_keyword_holding_the_most_specific_word():
    matches = [
        Match("network", "network", None, 1.5),
        Match("i-24", "i-24", None, 2.4),
    ]
    note = matched_note(
        "1.1",
        "Own words",
        "The I-24/7 network and its hosting. Other network matters.",
        ["I-24/7", "network infrastructure"],
        matches,
    )
    assert note == "matched the keywords of 1.1: I-24/7, network infrastructure"


# ---- a topic the framework's own words do not name ------------------------------------------


def test_a_topic_the_framework_does_not_name_is_said_so_with_the_closest_at_low(assistant):
    for question, word in (
        ("Is there anything in the strategy about cybercrime?", "cybercrime"),
        ("Does the framework say anything about ransomware?", "ransomware"),
    ):
        answer = assistant.ask(question)
        assert answer.text.startswith(
            f"{assistant.framework.title} does not name “{word}” in its own words"
        ), answer.text
        assert answer.citations and all(c.score <= UNNAMED_CEILING for c in answer.citations)


def test_a_topic_named_in_the_framework_s_own_words_is_not_said_unnamed(assistant, sdg_assistant):
    for a, question in (
        (assistant, "Which objective covers the I-24/7 network?"),
        (assistant, "What about environmental crime?"),
        (sdg_assistant, "Which target deals with cigarettes?"),  # 3.a names tobacco
    ):
        answer = a.ask(question)
        assert "does not name" not in answer.text, (question, answer.text)


def test_not_named_needs_the_best_to_reach_the_word_only_through_its_note():
    darknet = Match("cybercrime", "darknet", "cybercrime", 2.0)
    # 3.2's own words do not hold "darknet", and no other element names it: not named.
    assert not_named([darknet], frozenset({"incub"}), []) == ("cybercrime",)
    # Its own words hold it: named.
    assert not_named([darknet], frozenset({"darknet"}), []) == ()
    # Another element's own words name it (a family is too broad to count).
    other = Match("cybercrime", "crime", "crime family", 0.5)
    assert not_named([darknet], frozenset(), [([other], frozenset({"crime"}))]) == ("cybercrime",)
    same = Match("cybercrime", "cybercrime", None, 3.0)
    assert not_named([darknet], frozenset(), [([same], frozenset({"cybercrim"}))]) == ()


# ---- why pairs with no shared meaning (issue 22, item 6) -------------------------------------


def test_a_word_as_common_as_new_is_never_a_why_pair(assistant, sdg_assistant):
    for a, proposal in (
        (assistant, "Redesign the canteen and buy new coffee machines"),
        (assistant, "Repaint the staff kitchen and get new fridges"),
        (sdg_assistant, "Put new vending machines in the office lobby"),
    ):
        al = a.align(proposal)
        for t in [*al.tags, *al.nearest]:
            for part in t.why.split("; "):
                if " ↔ " in part:
                    theirs = part.split(" ↔ ", 1)[1].lower()
                    assert "new" not in theirs.replace("“", " ").replace("”", " ").split(), (
                        proposal,
                        t.why,
                    )
