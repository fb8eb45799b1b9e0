"""The database going away while a question is answered (a PostgreSQL restart under load,
bench/bench_replicas.py): the asker gets exactly one reply. Every test runs on SQLite and on
PostgreSQL (the ``database`` fixture)."""

from __future__ import annotations

import logging

import pytest

from bot.storage.db import Database
from local_slack import FakeSlackAPI
from tests.slack_fixtures import BOT_USER, SlackBot, make_bot

APOLOGY = "something went wrong"  # bot.slack.blocks.error_message


def ask(bot: SlackBot, ts: str, event_id: str, thread_ts: str | None = None) -> list[dict]:
    """Mention the bot in C1 (a thread root at ``ts``, or in the thread ``thread_ts``); the
    bot's replies in that thread."""
    r = bot.requests
    event = r.app_mention_event(
        f"<@{BOT_USER}> What is our mission?", user="U1", channel="C1", ts=ts, thread_ts=thread_ts
    )
    assert bot.send(r.event(event, event_id=event_id)).status == 200
    bot.drain()
    root = thread_ts or ts
    return [m for m in bot.api.messages("C1") if m.get("bot_id") and m.get("thread_ts") == root]


def test_an_answer_posted_before_the_database_went_away_gets_no_apology_after_it(
    assistant, database: Database, fake_slack: FakeSlackAPI, caplog: pytest.LogCaptureFixture
) -> None:
    bot = make_bot(assistant, database, fake_slack)

    def away(*args: object, **kwargs: object) -> None:
        raise ConnectionError("connection refused\nmore detail")

    bot.deps.questions.store.set_reply_ts = away  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="fwbot.slack"):
        [reply] = ask(bot, "15.000001", "EvAwayAfter")
    assert "mission" in reply["text"].lower() and APOLOGY not in reply["text"]
    assert "its ts not kept (ConnectionError: connection refused)" in caplog.text


def test_a_mention_whose_thread_cannot_be_read_gets_an_apology_not_silence(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    bot = make_bot(assistant, database, fake_slack)

    def away(*args: object, **kwargs: object) -> None:
        raise ConnectionError("connection refused")

    bot.deps.questions.store.thread_exchanges = away  # type: ignore[method-assign]
    # in a thread (a mention starting one has no thread to read)
    [reply] = ask(bot, "16.000002", "EvAwayBefore", thread_ts="16.000001")
    assert APOLOGY in reply["text"].lower()
