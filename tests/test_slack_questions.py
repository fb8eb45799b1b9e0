"""Questions in Slack, through the real bolt app and the local fake Web API."""

from __future__ import annotations

import json

import pytest

from bot.cli.feedback import eval_lines
from bot.slack.ids import ACTION_FEEDBACK_HELPFUL, ACTION_FEEDBACK_NOT_HELPFUL
from tests.slack_fixtures import ADMIN, eventually


def _text_of(call) -> str:
    return json.dumps(call.params.get("blocks") or []) + call.params.get("text", "")


def _posts(bot, thread_ts=None):
    return [
        c
        for c in bot.api.calls("chat.postMessage")
        if thread_ts is None or c.params.get("thread_ts") == thread_ts
    ]


def test_mention_is_answered_in_its_thread_with_citations_and_feedback_buttons(slack_bot):
    req = slack_bot.requests.event(
        slack_bot.requests.app_mention_event(
            "<@UBOT> What does objective 1.3 say?", user="U1", channel="C1", ts="100.000001"
        )
    )
    assert slack_bot.send(req).status == 200
    (post,) = slack_bot.api.wait_for("chat.postMessage")
    assert post.params["channel"] == "C1" and post.params["thread_ts"] == "100.000001"
    body = _text_of(post)
    assert "Goal 1 › 1.3" in body
    actions = [b for b in post.params["blocks"] if b["type"] == "actions"]
    ids = {e["action_id"] for b in actions for e in b["elements"]}
    assert ids == {ACTION_FEEDBACK_HELPFUL, ACTION_FEEDBACK_NOT_HELPFUL}
    (exchange,) = eventually(
        lambda: [e for e in slack_bot.store.thread_exchanges("C1", "100.000001") if e.reply_ts]
    )
    assert "1.3" in exchange.cited_ids and exchange.reply_ts == post.response["ts"]
    assert exchange.question == "What does objective 1.3 say?"  # the bot's mention removed


def test_followups_in_the_thread_use_the_earlier_question(slack_bot):
    r = slack_bot.requests
    slack_bot.send(
        r.event(
            r.app_mention_event(
                "<@UBOT> Which objective is about data quality?",
                user="U1",
                channel="C1",
                ts="200.000001",
            )
        )
    )
    slack_bot.api.wait_for("chat.postMessage", count=1)
    # A reply in the thread without a mention: a follow-up naming another element.
    slack_bot.send(
        r.event(
            r.channel_message_event(
                "and what about 2.4?",
                user="U1",
                channel="C1",
                ts="200.000002",
                thread_ts="200.000001",
            )
        )
    )
    posts = slack_bot.api.wait_for("chat.postMessage", count=2)
    assert posts[1].params["thread_ts"] == "200.000001"
    assert "2.4" in _text_of(posts[1])
    # A follow-up that only points back: answered about the latest topic (2.4, named since).
    slack_bot.send(
        r.event(
            r.channel_message_event(
                "why does it matter?",
                user="U1",
                channel="C1",
                ts="200.000003",
                thread_ts="200.000001",
            )
        )
    )
    posts = slack_bot.api.wait_for("chat.postMessage", count=3)
    first, _, third = slack_bot.store.thread_exchanges("C1", "200.000001")
    assert first.cited_ids[:1] == ("1.4",) and third.cited_ids[:1] == ("2.4",)


def test_thread_replies_the_bot_did_not_answer_and_bot_messages_are_ignored(slack_bot):
    r = slack_bot.requests
    slack_bot.send(
        r.event(
            r.channel_message_event(
                "what about 2.4?", user="U1", channel="C1", ts="300.000002", thread_ts="300.000001"
            )
        )
    )
    slack_bot.send(
        r.event(
            r.message_im_event(
                "What does 1.1 say?", user="U9", channel="D9", ts="300.000003", bot_id="BOTHER"
            )
        )
    )
    slack_bot.send(
        r.event(
            r.message_im_event(
                "edited", user="U1", channel="D1", ts="300.000004", subtype="message_changed"
            )
        )
    )
    slack_bot.drain()
    assert slack_bot.api.calls("chat.postMessage") == []


def test_own_messages_never_loop(slack_bot):
    r = slack_bot.requests
    slack_bot.send(
        r.event(
            r.message_im_event(
                "What does 1.1 say?", user="UBOT", channel="D1", ts="310.000001", bot_id="BBOT"
            )
        )
    )
    slack_bot.drain()
    assert slack_bot.api.calls("chat.postMessage") == []


def test_a_mention_inside_an_answered_thread_gets_one_reply_not_two(slack_bot):
    r = slack_bot.requests
    slack_bot.send(
        r.event(
            r.app_mention_event(
                "<@UBOT> What is our mission?", user="U1", channel="C1", ts="400.000001"
            )
        )
    )
    slack_bot.api.wait_for("chat.postMessage")
    # Slack sends both an app_mention and a message event for a mention in a thread.
    text = "<@UBOT> and the vision?"
    slack_bot.send(
        r.event(
            r.app_mention_event(
                text, user="U1", channel="C1", ts="400.000002", thread_ts="400.000001"
            )
        )
    )
    slack_bot.send(
        r.event(
            r.channel_message_event(
                text, user="U1", channel="C1", ts="400.000002", thread_ts="400.000001"
            )
        )
    )
    slack_bot.api.wait_for("chat.postMessage", count=2)
    slack_bot.drain()
    assert len(_posts(slack_bot, "400.000001")) == 2


def test_slack_retries_of_an_event_produce_one_reply(slack_bot):
    r = slack_bot.requests
    event = r.app_mention_event(
        "<@UBOT> What does 2.1 say?", user="U1", channel="C1", ts="500.000001"
    )
    first = r.event(event, event_id="Ev500")
    assert slack_bot.send(first).status == 200
    for n in (1, 2):
        retry = r.event(event, event_id="Ev500", retry_num=n)
        assert slack_bot.send(retry).status == 200
    slack_bot.api.wait_for("chat.postMessage")
    slack_bot.drain()
    assert len(slack_bot.api.calls("chat.postMessage")) == 1


def test_direct_messages_are_answered_in_the_dm(slack_bot):
    r = slack_bot.requests
    slack_bot.send(
        r.event(
            r.message_im_event(
                "Which objective is about training?", user="U1", channel="D1", ts="600.000001"
            )
        )
    )
    (post,) = slack_bot.api.wait_for("chat.postMessage")
    assert post.params["channel"] == "D1" and post.params.get("thread_ts") is None
    assert "Objective" in _text_of(post)


def test_assistant_thread_gets_prompts_status_title_and_an_answer(slack_bot):
    r = slack_bot.requests
    slack_bot.send(r.event(r.assistant_thread_started_event("U1", "D1", "700.000001")))
    (prompts,) = slack_bot.api.wait_for("assistant.threads.setSuggestedPrompts")
    assert 1 <= len(prompts.params["prompts"]) <= 4
    slack_bot.send(
        r.event(
            r.message_im_event(
                "What is our vision?",
                user="U1",
                channel="D1",
                ts="700.000002",
                thread_ts="700.000001",
            )
        )
    )
    answers = slack_bot.api.wait_for(
        "chat.postMessage",
        where=lambda c: (
            "vision" in _text_of(c).lower() and c.params.get("thread_ts") == "700.000001"
        ),
    )
    assert answers
    assert slack_bot.api.calls("assistant.threads.setStatus")
    (title,) = slack_bot.api.calls("assistant.threads.setTitle")
    assert title.params["title"] == "What is our vision?"


def test_declined_question_says_so(slack_bot):
    r = slack_bot.requests
    slack_bot.send(
        r.event(
            r.app_mention_event(
                "<@UBOT> Where can I park my bike?", user="U1", channel="C1", ts="800.000001"
            )
        )
    )
    (post,) = slack_bot.api.wait_for("chat.postMessage")
    assert "doesn't cover" in _text_of(post)
    (exchange,) = slack_bot.store.thread_exchanges("C1", "800.000001")
    assert not exchange.answered and exchange.cited_ids == ()


def test_feedback_votes_are_stored_and_exported_as_eval_lines(slack_bot):
    r = slack_bot.requests
    slack_bot.send(
        r.event(
            r.app_mention_event(
                "<@UBOT> What does objective 1.4 say?", user="U1", channel="C1", ts="900.000001"
            )
        )
    )
    (post,) = slack_bot.api.wait_for("chat.postMessage")
    (exchange,) = slack_bot.store.thread_exchanges("C1", "900.000001")
    for user, action in (
        ("U1", ACTION_FEEDBACK_NOT_HELPFUL),
        ("U1", ACTION_FEEDBACK_HELPFUL),
        (ADMIN, ACTION_FEEDBACK_HELPFUL),  # the asker's and an admin's votes count
    ):
        url = slack_bot.api.response_url()
        ack = slack_bot.send(
            r.interaction(
                r.block_actions_payload(
                    action,
                    str(exchange.id),
                    user=user,
                    channel="C1",
                    response_url=url,
                    message={"ts": post.response["ts"], "blocks": post.params["blocks"]},
                )
            )
        )
        assert ack.status == 200
        (thanks,) = slack_bot.responses(url)
        assert thanks["response_type"] == "ephemeral" and "Thanks" in thanks["text"]
    (row,) = slack_bot.store.feedback_rows()
    assert (row.helpful, row.not_helpful) == (2, 0)  # U1's second vote replaced the first
    (line,) = eval_lines([row])
    assert line["question"] == "What does objective 1.4 say?" and line["expected"][0] == "1.4"


def test_a_vote_on_an_unknown_answer_is_refused_kindly(slack_bot):
    r = slack_bot.requests
    url = slack_bot.api.response_url()
    slack_bot.send(
        r.interaction(
            r.block_actions_payload(
                ACTION_FEEDBACK_HELPFUL, "99999", user="U1", channel="C1", response_url=url
            )
        )
    )
    (reply,) = slack_bot.responses(url)
    assert "couldn't find that answer" in reply["text"]


def test_rejected_blocks_fall_back_to_plain_text(slack_bot):
    r = slack_bot.requests
    slack_bot.api.fail_next("chat.postMessage", error="invalid_blocks")
    slack_bot.send(
        r.event(
            r.app_mention_event(
                "<@UBOT> What does 3.1 say?", user="U1", channel="C1", ts="1000.000001"
            )
        )
    )
    posts = slack_bot.api.wait_for("chat.postMessage", count=2)
    assert posts[0].error == "invalid_blocks"
    assert posts[1].ok and not posts[1].params.get("blocks") and "3.1" in posts[1].params["text"]


@pytest.mark.slow  # waits out a 1 s Retry-After
def test_rate_limits_are_retried_after_retry_after(slack_bot):
    r = slack_bot.requests
    slack_bot.api.fail_next("chat.postMessage", status=429, retry_after=1)
    slack_bot.send(
        r.event(
            r.app_mention_event(
                "<@UBOT> What does 4.1 say?", user="U1", channel="C1", ts="1100.000001"
            )
        )
    )
    first, second = slack_bot.api.wait_for("chat.postMessage", count=2, timeout=10)
    assert first.status == 429 and second.ok
    assert second.at - first.at >= 0.9


def test_a_failure_after_the_ack_is_told_to_the_user(slack_bot, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("search index unavailable")

    monkeypatch.setattr(slack_bot.deps.questions, "answer", broken)
    r = slack_bot.requests
    ack = slack_bot.send(
        r.event(
            r.app_mention_event(
                "<@UBOT> What does 1.1 say?", user="U1", channel="C1", ts="1200.000001"
            )
        )
    )
    assert ack.status == 200
    (post,) = slack_bot.api.wait_for("chat.postMessage")
    assert post.params["thread_ts"] == "1200.000001"
    assert "went wrong" in _text_of(post).lower() or "couldn't" in _text_of(post)
    assert "ref" in _text_of(post)


def test_a_dm_followup_outside_threads_uses_the_recent_question(slack_bot):
    r = slack_bot.requests
    slack_bot.send(
        r.event(
            r.message_im_event(
                "Which objective is about data quality?", user="U1", channel="D1", ts="1300.000001"
            )
        )
    )
    slack_bot.api.wait_for("chat.postMessage")
    slack_bot.send(
        r.event(
            r.message_im_event("why does it matter?", user="U1", channel="D1", ts="1300.000002")
        )
    )
    posts = slack_bot.api.wait_for("chat.postMessage", count=2)
    assert "1.4" in _text_of(posts[0]) and "1.4" in _text_of(posts[1])


def test_dm_conversation_window(slack_bot):
    from datetime import UTC, datetime, timedelta

    store, questions = slack_bot.store, slack_bot.deps.questions
    asked = datetime.now(UTC) - timedelta(minutes=40)
    store.record_exchange(
        channel_id="D2",
        thread_ts=None,
        user_id="U1",
        question="old one",
        answer="a",
        answered=True,
        cited_ids=[],
        framework_hash="h",
        now=asked,
    )
    store.record_exchange(
        channel_id="D2",
        thread_ts=None,
        user_id="U1",
        question="recent",
        answer="a",
        answered=True,
        cited_ids=[],
        framework_hash="h",
    )
    assert questions.earlier_questions("D2", None) == ["recent"]
    assert questions.earlier_questions("C2", None) == []  # channels: threads only


def test_a_progress_answer_with_restricted_notes_goes_to_the_asker_alone(slack_bot):
    """In a channel, an answer that shows update notes (for the owner or an admin) is
    ephemeral; anyone else gets the thread reply without the notes."""
    from datetime import UTC, datetime, timedelta

    from bot.storage.progress_records import NewInitiative

    now = datetime.now(UTC)
    store = slack_bot.progress.store
    (item,) = store.import_initiatives(
        [NewInitiative("Border data pilot", "UOWNER", ("1.3",))], actor="test", now=now
    )
    secret = "the vendor contract was cancelled"
    store.add_update(
        item.id, status="at_risk", percent=30, note=secret, author_id="UOWNER",
        now=now - timedelta(days=2),
    )  # fmt: skip
    r = slack_bot.requests
    slack_bot.send(
        r.event(
            r.app_mention_event(
                "<@UBOT> what changed in the last 30 days?",
                user=ADMIN,
                channel="C1",
                ts="300.000001",
            )
        )
    )
    (private,) = slack_bot.api.wait_for("chat.postEphemeral")
    assert private.params["user"] == ADMIN and secret in _text_of(private)
    slack_bot.send(
        r.event(
            r.app_mention_event(
                "<@UBOT> what changed in the last 30 days?",
                user="U2",
                channel="C1",
                ts="300.000002",
            )
        )
    )
    (public,) = slack_bot.api.wait_for("chat.postMessage")
    assert public.params["thread_ts"] == "300.000002"
    assert "Border data pilot" in _text_of(public) and secret not in _text_of(public)
    assert not [c for c in _posts(slack_bot) if secret in _text_of(c)]


def test_a_top_level_mention_reads_no_earlier_exchanges_a_mention_in_a_thread_does(slack_bot):
    """A mention at the top of a channel starts its own thread: nothing to read there, so its
    answer costs one database session fewer; inside a thread the earlier turns are read."""
    from sqlalchemy import event

    reads: list[str] = []

    def count(conn, cursor, statement, params, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM exchanges" in statement:
            reads.append(statement)

    engine = slack_bot.store.database.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        r = slack_bot.requests
        slack_bot.send(
            r.event(
                r.app_mention_event(
                    "<@UBOT> Which objective is about data quality?",
                    user="U1",
                    channel="C1",
                    ts="900.000001",
                )
            )
        )
        slack_bot.api.wait_for("chat.postMessage", count=1)
        slack_bot.drain()
        assert reads == []
        slack_bot.send(
            r.event(
                r.app_mention_event(
                    "<@UBOT> and what about 2.4?",
                    user="U1",
                    channel="C1",
                    ts="900.000002",
                    thread_ts="900.000001",
                )
            )
        )
        slack_bot.api.wait_for("chat.postMessage", count=2)
        slack_bot.drain()
        assert len(reads) == 1
    finally:
        event.remove(engine, "before_cursor_execute", count)
    first, second = slack_bot.store.thread_exchanges("C1", "900.000001")
    assert first.cited_ids[:1] == ("1.4",) and "2.4" in second.cited_ids
