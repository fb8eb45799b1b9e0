"""Where the probabilities and the supporting sentences reach people: /align tags (engine, JSON,
console, Slack), Slack sources, and `fwbot eval`'s reliability table."""

from __future__ import annotations

import json

import pytest
from conftest import run_fwbot
from slack_sdk.models.blocks import ContextBlock, SectionBlock

from bot.cli.render import render_alignment
from bot.slack.blocks import alignment_message, answer_messages
from framework_data.loader import load_framework
from retrieval.align import Alignment, Tag
from retrieval.answer import Answer, Citation
from retrieval.assistant import FrameworkAssistant
from retrieval.text import split_sentences

INTERPOL = load_framework()
PROPOSAL = (
    "Our office wants to renovate the kitchen on the third floor. "
    "We will train border police officers from five countries to detect forged passports "
    "during a two-week course in Dakar. "
    "The budget is 40,000 euros."
)


def test_each_tag_quotes_the_sentence_that_supports_it(assistant: FrameworkAssistant) -> None:
    alignment = assistant.align(PROPOSAL)
    assert alignment.tags, alignment
    sentences = split_sentences(PROPOSAL)
    for tag in alignment.tags:
        assert tag.evidence in sentences
    # The training sentence, not the kitchen or the budget, supports the best tag.
    assert "train border police officers" in alignment.tags[0].evidence


def test_tags_after_the_first_are_more_likely_right_than_wrong(
    assistant: FrameworkAssistant,
) -> None:
    texts = [
        PROPOSAL,
        "Set up a secure connection so border posts can query the stolen passports database, "
        "and train the officers who will use it.",
        "Create a fund with donors to pay for regional workshops on cybercrime investigations.",
    ]
    for alignment in assistant.align_many(texts):
        assert isinstance(alignment, Alignment)
        assert all(t.score >= 0.5 for t in alignment.tags[1:]), alignment.tags
        for t in alignment.tags:
            expected = "high" if t.score >= 0.9 else "medium" if t.score >= 0.6 else "low"
            assert t.confidence == expected


def _tag(**kw) -> Tag:
    base = {
        "id": "2.3",
        "goal": "G2",
        "score": 0.83,
        "confidence": "medium",
        "why": "“train” ↔ “training”",
        "evidence": "We will train <!channel> officers.",
    }
    return Tag(**{**base, **kw})


def test_the_console_shows_probability_and_evidence() -> None:
    text = render_alignment(Alignment(tags=[_tag()], no_fit=False), INTERPOL)
    assert "[medium, 0.83]" in text
    assert "says: “We will train <!channel> officers.”" in text


def test_slack_shows_probability_and_escaped_evidence() -> None:
    msg = alignment_message(
        Alignment(tags=[_tag()], no_fit=False),
        INTERPOL,
        alignment_id=7,
        proposal="We will train officers.",
    )
    texts = []
    for block in msg.blocks:
        if isinstance(block, SectionBlock) and block.text is not None:
            texts.append(block.text.text)
        if isinstance(block, ContextBlock):
            texts += [getattr(e, "text", "") for e in block.elements]
    joined = "\n".join(texts)
    assert "confidence: medium (83% likely right)" in joined
    assert "Your proposal says: “We will train &lt;!channel&gt; officers.”" in joined


def test_slack_sources_show_how_likely_each_is_right() -> None:
    answer = Answer(
        answered=True,
        text="…",
        citations=[
            Citation(id="2.3", kind="objective", score=0.87),
            Citation(id="vision", kind="statement", score=1.0),
        ],
    )
    texts = json.dumps(
        [b.to_dict() for m in answer_messages(answer, INTERPOL, exchange_id=None) for b in m.blocks]
    )
    assert "(87% likely right)" in texts
    assert texts.count("likely right") == 1  # a lookup is certain: no figure


@pytest.mark.slow  # a fwbot subprocess
def test_eval_prints_a_reliability_table_and_ece(fwbot_env, tmp_path) -> None:
    questions = tmp_path / "q.jsonl"
    proposals = tmp_path / "p.jsonl"
    questions.write_text(
        '{"id": "a", "question": "Which objective is about training police?", '
        '"expected": ["2.3"]}\n'
        '{"id": "b", "question": "Does INTERPOL have a policy on bananas?", "expected": []}\n',
        encoding="utf-8",
    )
    proposals.write_text(
        json.dumps({"id": "p", "text": PROPOSAL, "primary": "2.3", "acceptable": ["2.3"]}) + "\n",
        encoding="utf-8",
    )
    run = run_fwbot("eval", "--questions", questions, "--proposals", proposals, env=fwbot_env)
    out = run.stdout.decode()
    assert run.returncode == 0, run.stderr
    assert out.startswith("mode: offline\n")
    assert "questions: calibration error (ECE)" in out
    assert "reliability of the questions' scores" in out
    assert "score bin" in out and "mean score" in out
    data = json.loads(run_fwbot("eval", "--json", "--questions", questions, env=fwbot_env).stdout)
    assert data["mode"] == "offline"  # which mode (and model) was measured
    assert data["questions"]["off_topic_declined"] == 1.0
    assert data["questions"]["scores"]["shown"] >= 1
    assert 0.0 <= data["questions"]["scores"]["ece"] <= 1.0


@pytest.mark.slow  # a fwbot subprocess
def test_eval_without_the_scope_notes_reads_the_bare_framework(fwbot_env, tmp_path) -> None:
    questions = tmp_path / "q.jsonl"
    # "I-24/7" is in 1.1's scope note and keywords, not in the framework's own text.
    questions.write_text(
        '{"id": "a", "question": "Which objective covers the I-24/7 network?", '
        '"expected": ["1.1"]}\n',
        encoding="utf-8",
    )
    with_notes = json.loads(
        run_fwbot("eval", "--json", "--questions", questions, env=fwbot_env).stdout
    )
    bare = json.loads(
        run_fwbot("eval", "--json", "--no-scope", "--questions", questions, env=fwbot_env).stdout
    )
    assert with_notes["questions"]["hit_at_1"] == 1.0
    assert bare["questions"]["hit_at_1"] < 1.0


@pytest.mark.slow  # a fwbot subprocess
def test_framework_show_scope_prints_the_notes(fwbot_env) -> None:
    plain = run_fwbot("framework", "show", env=fwbot_env).stdout.decode()
    notes = run_fwbot("framework", "show", "--scope", env=fwbot_env).stdout.decode()
    assert "I-24/7" not in plain
    assert "keywords: I-24/7" in notes and "scope: " in notes
