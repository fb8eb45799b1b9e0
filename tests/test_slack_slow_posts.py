"""A slow Slack shows one message, never two (issue 20, item 6): a post slower than the
client's timeout still lands, late — answers, /align replies (response_url and ephemeral),
nudges and the digest are never sent again while it may (bot/slack_api/posting.py).

Each test delays the post past the client's timeout on the fake (which, like Slack, still
stores it at the end of the delay), waits until the bot's work is done and every request the
fake received has been handled, then counts what landed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.progress.chart import status_chart_png
from bot.progress.digest_post import DigestConfig, DigestPublisher
from bot.slack.blocks import Message
from bot.slack.progress_render import render_digest
from bot.slack_api.calls import sender_client
from bot.slack_api.events import DIGEST_EVENT
from bot.slack_api.late_copies import Watched
from bot.slack_api.pacing import AdaptivePacer
from bot.slack_api.sender import SlackSender
from bot.storage.claims_store import ClaimStore
from tests.progress_fixtures import BOT_TOKEN, MONDAY, make_runner, nudges_received, seed

pytestmark = pytest.mark.slow  # waits out real client timeouts and slow posts

SORRY = "Sorry — something went wrong"
ROOT = "500.000001"
PROPOSAL = (
    "Organise a regional workshop that trains border police officers to check "
    "travel documents against the stolen passport database."
)
TIMEOUT = 0.3  # the client gives up after this long...
SLOW = 1.5  # ...but Slack stores the post this long after it was sent


def _slow_replies(bot, method: str) -> None:
    """``method`` takes :data:`SLOW` s; the bot's client waits :data:`TIMEOUT` s, and looks
    in the history only once what it sent can have landed."""
    bot.deps.delivery.client.timeout = TIMEOUT
    bot.deps.delivery.settle = SLOW + 0.7
    bot.api.delay(method, SLOW)


def _all_done(bot) -> None:
    bot.drain(timeout=30)  # the bot's work is finished...
    bot.api.wait_idle(timeout=30)  # ...and every post it sent has landed


def _said_sorry(bot) -> bool:
    everything = [m["text"] for m in bot.api.messages("C1")] + [
        m["text"] for m in bot.api.ephemeral_messages()
    ]
    return any(SORRY in text for text in everything) or any(
        SORRY in str(c.params) for c in bot.api.calls("response_url")
    )


def _ask_in_thread(bot) -> None:
    """A mention asking about 1.3 at :data:`ROOT` in C1, until the bot's work is done."""
    question = "<@UBOT> What does objective 1.3 say?"
    bot.api.add_message("C1", question, user="U1", ts=ROOT)
    r = bot.requests
    event = r.app_mention_event(question, user="U1", channel="C1", ts=ROOT)
    assert bot.send(r.event(event)).status == 200
    _all_done(bot)


def _replies(bot) -> list[dict]:
    """The bot's messages in :data:`ROOT`'s thread."""
    return [m for m in bot.api.messages("C1") if m.get("bot_id") and m.get("thread_ts") == ROOT]


def test_a_slow_answer_in_a_thread_lands_once(slack_bot):
    _slow_replies(slack_bot, "chat.postMessage")
    _ask_in_thread(slack_bot)
    replies = _replies(slack_bot)
    assert len(replies) == 1 and "Goal 1 › 1.3" in replies[0]["text"]
    assert not _said_sorry(slack_bot)
    (exchange,) = slack_bot.store.thread_exchanges("C1", ROOT)
    assert exchange.reply_ts == replies[0]["ts"]  # found in the history, not posted again
    assert len(slack_bot.api.calls("chat.postMessage")) == 1


def test_a_post_slower_than_the_settle_window_is_deleted_when_it_lands(slack_bot):
    """The first try lands after the bot looked and sent again: the late copy is deleted
    (chat.delete), the copy the bot recorded stays, and nobody is told sorry."""
    delivery = slack_bot.deps.delivery
    delivery.client.timeout = TIMEOUT
    delivery.settle = 0.2  # the bot looks before the first try lands...
    delivery.late_copies.after = (SLOW + 1.0,)  # ...and again once it has
    slack_bot.api.delay("chat.postMessage", SLOW, times=1)  # the first try only
    _ask_in_thread(slack_bot)
    assert delivery.late_copies.wait_idle(timeout=30)
    replies = _replies(slack_bot)
    assert len(slack_bot.api.calls("chat.postMessage")) == 2  # both tries landed...
    assert len(replies) == 1 and "Goal 1 › 1.3" in replies[0]["text"]  # ...one is left
    (exchange,) = slack_bot.store.thread_exchanges("C1", ROOT)
    assert exchange.reply_ts == replies[0]["ts"]  # the one the bot recorded
    (deleted,) = slack_bot.api.calls("chat.delete")
    assert deleted.params["ts"] != exchange.reply_ts
    assert slack_bot.deps.metrics.late_copies._value.get() == 1
    assert not _said_sorry(slack_bot)


def test_a_late_copy_leaves_other_messages_alone(slack_bot):
    """The check deletes only this bot's copies of the same request: another answer in the
    thread, with other metadata, and a person's message with the same words stay."""
    delivery = slack_bot.deps.delivery
    metadata = {"event_type": "fwbot_reply", "event_payload": {"request": "R1"}}
    other = {"event_type": "fwbot_reply", "event_payload": {"request": "R2"}}
    slack_bot.api.add_message("C1", "question", user="U1", ts=ROOT)
    kept = delivery.post(
        "C1", [Message(text="the answer", blocks=[])], thread_ts=ROOT, metadata=metadata
    )
    late = delivery.post(
        "C1", [Message(text="the answer", blocks=[])], thread_ts=ROOT, metadata=metadata
    )
    another = delivery.post(
        "C1", [Message(text="the answer", blocks=[])], thread_ts=ROOT, metadata=other
    )
    slack_bot.api.add_message("C1", "the answer", user="U2", ts="500.000009", thread_ts=ROOT)
    watched = Watched("C1", kept or "", metadata, since=0.0, thread_ts=ROOT)
    assert delivery.late_copies.sweep(watched) == [late]
    left = {m["ts"] for m in slack_bot.api.messages("C1")}
    assert {kept, another, "500.000009"} <= left and late not in left
    assert delivery.late_copies.sweep(watched) == []  # nothing more to delete


def test_a_slow_align_reply_through_the_response_url_lands_once(slack_bot, caplog):
    _slow_replies(slack_bot, "response_url")
    with caplog.at_level(logging.WARNING):
        ack, url = slack_bot.command(PROPOSAL)
        assert ack.status == 200
        _all_done(slack_bot)
    assert len(slack_bot.responses(url)) == 1  # landed late, once
    assert "may not have arrived" in caplog.text  # the client gave up: nothing is resent
    # no second copy by another way, and no apology for a reply that arrived
    assert slack_bot.api.calls("chat.postEphemeral") == []
    assert slack_bot.api.calls("chat.postMessage") == []
    assert not _said_sorry(slack_bot)


def test_a_slow_ephemeral_align_reply_lands_once(slack_bot):
    slack_bot.api.fail_next("response_url", status=404, error="used_url")  # -> ephemeral
    _slow_replies(slack_bot, "chat.postEphemeral")
    slack_bot.command(PROPOSAL)
    _all_done(slack_bot)
    (reply,) = slack_bot.api.ephemeral_messages()
    assert reply["to_user"] == "U1" and SORRY not in reply["text"]
    assert len(slack_bot.api.calls("chat.postEphemeral")) == 1
    assert slack_bot.api.calls("chat.postMessage") == []  # no DM as a second copy
    assert not _said_sorry(slack_bot)


def test_a_slow_nudge_lands_once(database, fake_slack, progress_store):
    seed(progress_store, ["U1"])
    fake_slack.delay("chat.postMessage", SLOW)
    grace = TIMEOUT + SLOW  # the runner's in_flight_grace: the timeout and a margin
    first = make_runner(
        database, fake_slack, timeout=TIMEOUT, workers=1, in_flight_grace=grace
    ).run(MONDAY)
    assert first.sent == [] and first.deferred[0][1].startswith("uncertain")
    # At once again: the claim is held until the post can have landed, then looked up.
    again = make_runner(
        database, fake_slack, timeout=TIMEOUT, workers=1, in_flight_grace=grace
    ).run(MONDAY)
    fake_slack.wait_idle(timeout=30)
    assert again.sent == [] and again.found_delivered == ["U1"]
    assert nudges_received(fake_slack) == {("U1", "2026-W49"): 1}
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_a_nudge_the_next_pass_sent_again_loses_its_late_copy(database, fake_slack, progress_store):
    """The first pass's post lands only after the next pass looked and sent it again: the
    late copy is deleted, and the owner has one nudge."""
    seed(progress_store, ["U1"])
    fake_slack.delay("chat.postMessage", SLOW * 2, times=1)
    first = make_runner(database, fake_slack, timeout=TIMEOUT, workers=1, in_flight_grace=0.0)
    assert first.run(MONDAY).deferred[0][1].startswith("uncertain")
    again = make_runner(
        database,
        fake_slack,
        timeout=TIMEOUT,
        workers=1,
        in_flight_grace=0.0,
        late_checks=(SLOW * 2 + 1.0,),
    )
    assert again.run(MONDAY).sent == ["U1"]  # looked too soon: sent again
    assert again.once.sender.late_copies.wait_idle(timeout=30)
    fake_slack.wait_idle(timeout=30)
    assert len(fake_slack.calls("chat.postMessage")) == 2  # both landed...
    assert nudges_received(fake_slack) == {("U1", "2026-W49"): 1}  # ...one is left
    assert len(fake_slack.calls("chat.delete")) == 1


SLOT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # Monday 12:00 UTC


def test_a_slow_digest_lands_once(database, fake_slack, progress_store, interpol):
    seed(progress_store, ["U1", "U2"])
    fake_slack.delay("chat.postMessage", SLOW)

    def publisher() -> DigestPublisher:
        sender = SlackSender(
            sender_client(BOT_TOKEN, fake_slack.base_url, timeout=TIMEOUT),
            AdaptivePacer(100),
            backoff=0.01,
        )
        return DigestPublisher(
            progress_store,
            ClaimStore(database),
            interpol,
            sender,
            DigestConfig("CDIGEST", 0, time(12), in_flight_grace=TIMEOUT + SLOW),
            render=render_digest,
            chart=status_chart_png,
        )

    publisher().run(SLOT)  # the post timed out: may have landed
    publisher().run(SLOT)  # at once again: waits until it can have landed, then looks
    publisher().run(SLOT + timedelta(minutes=5))
    fake_slack.wait_idle(timeout=30)
    digests = [
        m
        for m in fake_slack.messages("CDIGEST")
        if (m.get("metadata") or {}).get("event_type") == DIGEST_EVENT
    ]
    assert len(digests) == 1
    assert len(fake_slack.calls("chat.postMessage")) == 1
