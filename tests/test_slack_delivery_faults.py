"""Answers when Slack stalls, drops answers or fails with 5xx: each answer arrives once, and
"Sorry — something went wrong" only when it really did not (bot/slack/delivery.py)."""

from __future__ import annotations

import http.client
import logging

import pytest

from bot.slack.delivery import retry_handlers
from tests.slack_fixtures import BOT_TOKEN, eventually

SORRY = "Sorry — something went wrong"
ROOT = "500.000001"


def _ask(bot, question: str = "What does objective 1.3 say?") -> None:
    """A mention in C1 (the user's message is in the channel, as in Slack)."""
    bot.api.add_message("C1", f"<@UBOT> {question}", user="U1", ts=ROOT)
    req = bot.requests.event(
        bot.requests.app_mention_event(f"<@UBOT> {question}", user="U1", channel="C1", ts=ROOT)
    )
    assert bot.send(req).status == 200


def _bot_replies(bot) -> list[dict]:
    return [m for m in bot.api.messages("C1") if m.get("bot_id") and m.get("thread_ts") == ROOT]


def _answered(bot):
    """The work is done: the exchange has the ts of the posted answer."""
    return eventually(
        lambda: [e for e in bot.store.thread_exchanges("C1", ROOT) if e.reply_ts], timeout=15
    )


@pytest.mark.slow  # waits out real client timeouts
def test_a_post_slower_than_the_client_timeout_is_found_not_resent_nor_apologised(slack_bot):
    slack_bot.deps.delivery.client.timeout = 0.3  # the post takes 0.8 s but is delivered
    slack_bot.api.delay("chat.postMessage", 0.8)
    _ask(slack_bot)
    (exchange,) = _answered(slack_bot)
    (reply,) = _bot_replies(slack_bot)
    assert "Goal 1 › 1.3" in reply["text"] and SORRY not in reply["text"]
    assert exchange.reply_ts == reply["ts"]
    assert len(slack_bot.api.calls("chat.postMessage")) == 1
    assert slack_bot.api.calls("conversations.replies")  # it looked before deciding


def test_service_unavailable_twice_then_ok_answers_once_without_apology(slack_bot):
    slack_bot.deps.delivery.backoff = 0.05
    slack_bot.api.fail_next("chat.postMessage", status=503, error="service_unavailable", times=2)
    _ask(slack_bot)
    _answered(slack_bot)
    (reply,) = _bot_replies(slack_bot)
    assert "Goal 1 › 1.3" in reply["text"] and SORRY not in reply["text"]
    assert [c.status for c in slack_bot.api.calls("chat.postMessage")] == [503, 503, 200]
    assert not slack_bot.api.calls("conversations.replies")  # "not done": no need to look


def test_internal_errors_until_attempts_run_out_give_one_apology(slack_bot):
    delivery = slack_bot.deps.delivery
    delivery.backoff = 0.05
    slack_bot.api.fail_next(
        "chat.postMessage", status=500, error="internal_error", times=delivery.max_attempts
    )
    _ask(slack_bot)
    replies = eventually(lambda: _bot_replies(slack_bot), timeout=15)
    (apology,) = replies
    assert SORRY in apology["text"]
    calls = slack_bot.api.calls("chat.postMessage")
    assert [c.status for c in calls] == [500] * delivery.max_attempts + [200]
    # each internal_error (which may have applied) was looked for before posting again
    assert len(slack_bot.api.calls("conversations.replies")) == delivery.max_attempts


def test_slack_always_failing_is_bounded_and_posts_nothing(slack_bot, caplog):
    delivery = slack_bot.deps.delivery
    delivery.backoff = 0.05
    slack_bot.api.fail_next("chat.postMessage", status=500, error="internal_error", times=100)
    with caplog.at_level(logging.ERROR, logger="fwbot.slack"):
        _ask(slack_bot)
        eventually(lambda: "could not tell the user" in caplog.text, timeout=15)
    # the answer and then the apology, each tried max_attempts times: nothing arrived
    assert len(slack_bot.api.calls("chat.postMessage")) == 2 * delivery.max_attempts
    assert _bot_replies(slack_bot) == []


def test_a_dropped_answer_is_found_in_the_thread_and_not_resent(slack_bot):
    slack_bot.api.drop_response("chat.postMessage")
    _ask(slack_bot)
    (exchange,) = _answered(slack_bot)
    (reply,) = _bot_replies(slack_bot)
    assert "Goal 1 › 1.3" in reply["text"] and exchange.reply_ts == reply["ts"]
    (post,) = slack_bot.api.calls("chat.postMessage")
    assert post.status == 0  # delivered, the answer lost; no second post, no apology


@pytest.mark.slow  # waits out real client timeouts
def test_the_interactive_client_never_reposts_on_a_dropped_connection(fake_slack):
    client = fake_slack.client(BOT_TOKEN, retry_handlers=retry_handlers())
    fake_slack.drop_response("chat.postMessage")
    with pytest.raises(http.client.RemoteDisconnected):
        client.chat_postMessage(channel="C1", text="once")
    assert [m["text"] for m in fake_slack.messages("C1")] == ["once"]
    fake_slack.drop_response("auth.test")  # reads are still retried on a dropped connection
    assert client.auth_test()["ok"]
