"""Follow-ups keep the thread, through the real Slack handlers: the topic of a follow-up is the
most recent one the conversation established (an id named, else the last answer's first
citation; a declined turn establishes none), and position questions are read off the
framework's order — on INTERPOL and on the UN SDGs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from local_slack.web_api import FakeSlackAPI
from tests.slack_fixtures import SlackBot, _sqlite_bot


@pytest.fixture
def sdg_bot(sdg_assistant, fake_slack: FakeSlackAPI, tmp_path: Path) -> Iterator[SlackBot]:
    yield from _sqlite_bot(sdg_assistant, fake_slack, tmp_path, progress=False)


def _thread(bot: SlackBot, questions: list[str], root: str = "900.000001") -> list[tuple]:
    """Ask ``questions`` in one channel thread (the first mentions the bot); the (first cited
    id or None when declined, reply text) of every answer, in order."""
    r, texts = bot.requests, []
    base = root.split(".")[0]
    for i, question in enumerate(questions):
        ts = f"{base}.{i + 1:06d}"
        if i == 0:
            event = r.app_mention_event(f"<@UBOT> {question}", user="U1", channel="C9", ts=ts)
        else:
            event = r.channel_message_event(
                question, user="U1", channel="C9", ts=ts, thread_ts=root
            )
        seen = len(bot.api.calls("chat.postMessage"))
        bot.send(r.event(event))
        (post,) = bot.api.wait_for("chat.postMessage", count=seen + 1)[seen:]
        texts.append(json.dumps(post.params.get("blocks") or []) + post.params.get("text", ""))
    exchanges = bot.store.thread_exchanges("C9", root)
    assert [e.question for e in exchanges] == questions
    return [
        (e.cited_ids[0] if e.answered and e.cited_ids else None, text)
        for e, text in zip(exchanges, texts, strict=True)
    ]


def _tops(bot: SlackBot, questions: list[str]) -> list[str | None]:
    return [top for top, _ in _thread(bot, questions)]


# ---- what the tester found ----------------------------------------------------------------


def test_it_is_the_element_named_just_before_not_the_question_before_last(slack_bot):
    tops = _tops(
        slack_bot, ["How is INTERPOL funded?", "What does 2.4 say?", "does it cover Africa?"]
    )
    assert tops == ["5.1", "2.4", "2.4"]


def test_a_new_wording_it_is_the_latest_named_element(slack_bot):
    tops = _tops(
        slack_bot,
        ["Which objective is about diversity at work?", "Show me 3.1", "is it relevant for Asia?"],
    )
    assert tops[1:] == ["3.1", "3.1"]


def test_a_followup_after_another_language_is_about_the_id_named_since(slack_bot):
    turns = _thread(
        slack_bot, ["¿Cómo se financia la organización?", "What does 2.4 say?", "who leads it?"]
    )
    (top, text) = turns[-1]
    assert top == "2.4" and "Spanish" not in text


def test_an_id_named_after_a_pointer_chain_is_the_new_topic(slack_bot):
    turns = _thread(
        slack_bot,
        [
            "Which objective is about training?",
            "does it cover Africa?",
            "and what about 2.4?",
            "who leads it?",
        ],
    )
    assert [t for t, _ in turns] == ["2.3", "2.3", "2.4", "2.4"]
    exchange = slack_bot.store.thread_exchanges("C9", "900.000001")[-1]
    assert exchange.cited_ids == ("2.4",)  # not Goal 3 and its objectives


# ---- navigation by position, and the goal of an objective ------------------------------------


def test_position_questions_are_read_off_the_framework_order(slack_bot):
    tops = _tops(
        slack_bot,
        [
            "What does 3.2 say?",
            "and the objective right before it?",
            "what's the next one in the list?",
            "the last objective under that goal?",
            "which goal is that under?",
            "its opening objective?",
        ],
    )
    assert tops == ["3.2", "3.1", "3.2", "3.4", "G3", "3.1"]


def test_new_wordings_of_position_questions(slack_bot):
    tops = _tops(
        slack_bot,
        [
            "Which objective is about the governing bodies?",
            "what goal number is it?",
            "and the second objective of that goal?",
            "the one that follows it?",
            "and what precedes that one?",
        ],
    )
    assert tops == ["5.5", "G5", "5.2", "5.3", "5.2"]


def test_next_crosses_into_the_next_goal(slack_bot):
    assert _tops(slack_bot, ["What does 1.5 say?", "what comes after it?"]) == ["1.5", "2.1"]


def test_a_followup_after_an_off_topic_turn_reaches_back_to_the_framework_topic(slack_bot):
    tops = _tops(
        slack_bot,
        [
            "Which objective is about data quality?",
            "how many days of leave do we get?",
            "why does it matter?",
        ],
    )
    assert tops == ["1.4", None, "1.4"]


def test_a_new_wording_after_an_off_topic_turn(slack_bot):
    tops = _tops(
        slack_bot,
        ["Tell me about objective 4.1", "Where can I park my bike?", "and the one after it?"],
    )
    assert tops == ["4.1", None, "4.2"]


# ---- the same on the UN SDGs ------------------------------------------------------------------


def test_sdg_followups_keep_the_thread(sdg_bot):
    tops = _tops(
        sdg_bot,
        [
            "What does target 6.1 say?",
            "what's the office wifi password?",
            "and the target after it?",
            "which goal is it part of?",
            "what's its last target?",
            "does it cover Africa?",
        ],
    )
    assert tops == ["6.1", None, "6.2", "G6", "6.b", "6.b"]


def test_sdg_a_named_target_beats_the_question_before_last(sdg_bot):
    tops = _tops(
        sdg_bot,
        [
            "What does target 7.1 say?",
            "does it cover rural areas?",
            "and what about 7.2?",
            "how is it measured?",
        ],
    )
    assert tops == ["7.1", "7.1", "7.2", "7.2"]


# ---- direct messages: a window, and only the last topic -----------------------------------


def test_a_dm_borrows_no_topic_older_than_the_window(slack_bot):
    slack_bot.store.record_exchange(
        channel_id="D9",
        thread_ts=None,
        user_id="U1",
        question="What does 5.1 say?",
        answer="a",
        answered=True,
        cited_ids=["5.1"],
        framework_hash="h",
        now=datetime.now(UTC) - timedelta(minutes=40),
    )
    question = "which goal is it under?"
    alone = slack_bot.deps.questions.assistant.ask(question)
    r = slack_bot.requests
    slack_bot.send(r.event(r.message_im_event(question, user="U1", channel="D9", ts="950.1")))
    slack_bot.api.wait_for("chat.postMessage")
    (_, latest) = slack_bot.store.recent_exchanges(
        "D9", since=datetime.now(UTC) - timedelta(hours=1)
    )
    assert latest.cited_ids[:1] != ("G5",)  # answered as if asked first
    assert latest.cited_ids == tuple(c.id for c in alone.citations)


def test_a_dm_within_the_window_navigates_from_the_last_answer(slack_bot):
    r = slack_bot.requests
    for i, text in enumerate(["Which objective is about change management?", "and the next one?"]):
        slack_bot.send(
            r.event(r.message_im_event(text, user="U1", channel="D8", ts=f"960.00000{i}"))
        )
        slack_bot.api.wait_for("chat.postMessage", count=i + 1)
    exchanges = slack_bot.store.recent_exchanges("D8", since=datetime.now(UTC) - timedelta(hours=1))
    assert [e.cited_ids[0] for e in exchanges] == ["5.3", "5.4"]
