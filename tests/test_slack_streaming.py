"""Model-written answers streamed into Slack (issue 12): the real bolt app, signed events, the
fake Slack Web API learning chat.startStream / appendStream / stopStream. One message per
answer whatever happens: streamed as written, replaced when the model's answer fails half-way,
posted whole when Slack refuses the stream."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from bot.slack.blocks import Message, answer_messages, to_dicts
from bot.slack_api.events import REPLY_EVENT
from bot.storage.db import Database
from tests.slack_fixtures import BOT_USER, SlackBot, close_bot, make_bot
from tests.test_llm_answers import Recorder, _assistant, _scripted
from tests.test_llm_stream import StallingModel, _json

QUESTION = "Which objective is about training police officers?"
LONG = (
    "Training police officers belongs to objective 2.3: it asks INTERPOL to share expert "
    "knowledge and good practice with member countries, through courses, e-learning and "
    "exchanges, so that police everywhere can use the Organization's tools well."
)


@pytest.fixture
def database(tmp_path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'stream.db'}")
    db.migrate()
    yield db
    db.dispose()


def _bot(assistant, model, database, fake_slack, timeout: float = 5.0) -> SlackBot:
    return make_bot(_assistant(assistant, model, Recorder(), timeout=timeout), database, fake_slack)


def _answering_bot(assistant, database, fake_slack) -> SlackBot:
    """A bot whose model answers :data:`LONG`, citing 2.3, once."""
    model, _ = _scripted()
    model.messages = iter([_scripted_reply(LONG)])
    return _bot(assistant, model, database, fake_slack)


def _mention(bot: SlackBot, channel: str = "C1", ts: str = "20.000001") -> None:
    r = bot.requests
    event = r.app_mention_event(f"<@{BOT_USER}> {QUESTION}", user="U1", channel=channel, ts=ts)
    bot.send(r.event(event))
    bot.drain()


def _bot_messages(fake_slack, channel: str) -> list[dict]:
    return [m for m in fake_slack.messages(channel) if m.get("bot_id")]


def test_a_model_answer_in_a_thread_is_streamed_then_closed_with_its_sources(
    assistant, database, fake_slack
) -> None:
    bot = _answering_bot(assistant, database, fake_slack)
    try:
        _mention(bot)
        [start] = fake_slack.calls("chat.startStream")
        appends = fake_slack.calls("chat.appendStream")
        [stop] = fake_slack.calls("chat.stopStream")
        assert fake_slack.calls("chat.postMessage") == []
        assert start.params["thread_ts"] == "20.000001"
        assert start.params["recipient_user_id"] == "U1" and start.params["recipient_team_id"]
        assert len(appends) >= 1  # the text grew in more than one step
        [reply] = _bot_messages(fake_slack, "C1")
        assert reply["text"] == LONG and reply["thread_ts"] == "20.000001"
        footer = json.dumps(reply["blocks"])
        assert "Sources" in footer and "2.3" in footer and "feedback" in footer
        assert reply["metadata"]["event_type"] == REPLY_EVENT
        assert stop.params["metadata"]["event_type"] == REPLY_EVENT
        # the exchange knows its reply: a vote on the streamed message finds it
        [exchange] = bot.store.thread_exchanges("C1", "20.000001")
        assert exchange.reply_ts == reply["ts"]
        assert bot.deps.metrics.streamed.labels("streamed")._value.get() == 1
    finally:
        close_bot(bot)


@pytest.mark.slow  # waits out a 1 s model timeout
def test_a_model_answer_that_stalls_half_way_is_replaced_by_the_offline_one(
    assistant, database, fake_slack
) -> None:
    release = threading.Event()
    model = StallingModel(reply=_json(LONG + " " + LONG, ["2.3"]), release=release)
    bot = _bot(assistant, model, database, fake_slack, timeout=1.0)
    try:
        _mention(bot)
        offline = assistant.ask(QUESTION)
        [reply] = _bot_messages(fake_slack, "C1")  # one message, never a second
        assert fake_slack.calls("chat.startStream") and fake_slack.calls("chat.update")
        [exchange] = bot.store.thread_exchanges("C1", "20.000001")
        [whole] = answer_messages(offline, assistant.framework, exchange_id=exchange.id)
        assert reply["text"] == whole.text and reply["blocks"] == to_dicts(whole.blocks)
        assert reply["metadata"]["event_type"] == REPLY_EVENT
        assert fake_slack.calls("chat.postMessage") == []
        assert bot.deps.metrics.streamed.labels("replaced")._value.get() == 1
    finally:
        release.set()
        close_bot(bot)


def test_a_stream_slack_refuses_is_posted_whole(assistant, database, fake_slack) -> None:
    fake_slack.fail_next("chat.startStream", error="not_allowed_token_type")
    bot = _answering_bot(assistant, database, fake_slack)
    try:
        _mention(bot)
        [reply] = _bot_messages(fake_slack, "C1")
        [post] = fake_slack.calls("chat.postMessage")
        assert LONG[:80] in json.dumps(post.params) and reply["thread_ts"] == "20.000001"
        assert fake_slack.calls("chat.appendStream") == []
        errors = bot.deps.metrics.api_errors
        assert errors.labels("chat.startStream", "not_allowed_token_type")._value.get() == 1
    finally:
        close_bot(bot)


def test_the_assistant_pane_streams_too(assistant, database, fake_slack) -> None:
    bot = _answering_bot(assistant, database, fake_slack)
    try:
        r = bot.requests
        event = r.message_im_event(QUESTION, user="U1", channel="D1", ts="31.1", thread_ts="30.1")
        bot.send(r.event(event))
        bot.drain()
        [start] = fake_slack.calls("chat.startStream")
        assert start.params["recipient_user_id"] == "U1" and start.params["thread_ts"] == "30.1"
        [reply] = _bot_messages(fake_slack, "D1")
        assert reply["text"] == LONG
    finally:
        close_bot(bot)


def test_streaming_switched_off_posts_answers_whole(assistant, database, fake_slack) -> None:
    bot = _answering_bot(assistant, database, fake_slack)
    bot.deps.stream_answers = False
    try:
        _mention(bot)
        assert fake_slack.calls("chat.startStream") == []
        [post] = fake_slack.calls("chat.postMessage")
        assert LONG[:80] in json.dumps(post.params)
    finally:
        close_bot(bot)


def test_offline_answers_are_never_streamed(assistant, database, fake_slack) -> None:
    bot = make_bot(assistant, database, fake_slack)
    try:
        _mention(bot)
        assert fake_slack.calls("chat.startStream") == []
        assert len(fake_slack.calls("chat.postMessage")) == 1
    finally:
        close_bot(bot)


def _scripted_reply(text: str):
    from langchain_core.messages import AIMessage

    return AIMessage(content=_json(text, ["2.3"]))


def test_a_stream_broken_half_way_is_completed_in_the_same_message(
    assistant, database, fake_slack
) -> None:
    # Slack ended the stream early (it does after a while): the rest cannot be appended
    fake_slack.fail_next("chat.appendStream", error="message_not_in_streaming_state")
    bot = _answering_bot(assistant, database, fake_slack)
    try:
        _mention(bot)
        [reply] = _bot_messages(fake_slack, "C1")
        shown = json.dumps(reply["blocks"], ensure_ascii=False)
        assert reply["text"].startswith(LONG) and LONG in shown and "Sources" in shown
        assert reply["metadata"]["event_type"] == REPLY_EVENT
        assert fake_slack.calls("chat.update") and fake_slack.calls("chat.postMessage") == []
        assert bot.deps.metrics.streamed.labels("replaced")._value.get() == 1
    finally:
        close_bot(bot)


@pytest.mark.slow  # waits out a client timeout and a late stream
def test_a_stream_slack_starts_after_the_client_gave_up_becomes_the_answer(
    assistant, database, fake_slack
) -> None:
    """chat.startStream times out, and Slack starts the stream later: the bot looks once it
    can have landed and makes that message the answer — one message, none posted beside it."""
    bot = _answering_bot(assistant, database, fake_slack)
    try:
        bot.deps.delivery.client.timeout = 0.3
        bot.deps.delivery.settle = 2.0
        fake_slack.delay("chat.startStream", 1.2, times=1)
        _mention(bot)
        fake_slack.wait_idle(timeout=30)
        [reply] = _bot_messages(fake_slack, "C1")
        assert reply["thread_ts"] == "20.000001"
        shown = json.dumps(reply["blocks"], ensure_ascii=False)
        assert LONG in shown and "Sources" in shown
        assert reply["metadata"]["event_type"] == REPLY_EVENT
        assert fake_slack.calls("chat.postMessage") == []
        assert len(fake_slack.calls("chat.startStream")) == 1
        [exchange] = bot.store.thread_exchanges("C1", "20.000001")
        assert exchange.reply_ts == reply["ts"]
        errors = bot.deps.metrics.api_errors
        assert sum(m.value for m in errors.collect()[0].samples if "startStream" in str(m)) >= 1
    finally:
        close_bot(bot)


def test_a_finished_answer_is_never_taken_for_a_late_stream(
    assistant, database, fake_slack
) -> None:
    """An earlier, finished answer in the thread with the same first words (it carries its
    request's metadata) is left alone: nothing to adopt, the caller posts."""
    bot = _answering_bot(assistant, database, fake_slack)
    try:
        bot.deps.delivery.settle = 0.0
        fake_slack.add_message("C1", QUESTION, user="U1", ts="20.000001")
        earlier = {"event_type": REPLY_EVENT, "event_payload": {"request": "old"}}
        first = Message(text="Training police officers belongs to 2.3", blocks=[])
        kept = bot.deps.delivery.post("C1", [first], thread_ts="20.000001", metadata=earlier)
        found = bot.deps.delivery.adopt_late_stream(
            "C1",
            thread_ts="20.000001",
            first_text=first.text,
            since=0.0,
            message=Message(text=LONG, blocks=[]),
            metadata=None,
        )
        assert found is None
        [reply] = _bot_messages(fake_slack, "C1")
        assert reply["ts"] == kept and reply["text"] == first.text  # untouched
    finally:
        close_bot(bot)


def test_a_restart_finds_a_streamed_reply_by_its_metadata(assistant, database, fake_slack) -> None:
    """The reply names its request in metadata given at chat.stopStream: work taken over after
    a crash finds it and does not answer twice."""
    bot = _answering_bot(assistant, database, fake_slack)
    try:
        _mention(bot)
        [reply] = _bot_messages(fake_slack, "C1")
        payload = reply["metadata"]["event_payload"]
        metadata = {"event_type": REPLY_EVENT, "event_payload": payload}
        found = bot.deps.delivery.find_reply(
            "C1", thread_ts="20.000001", metadata=metadata, since=float(reply["ts"]) - 5
        )
        assert found == reply["ts"]
    finally:
        close_bot(bot)


def test_a_reply_a_stopped_process_was_streaming_is_completed_not_posted_again(
    assistant, database, fake_slack
) -> None:
    """The process dies while the model is writing: its stream's message is kept with the
    request, and the process that takes the work over makes that message the whole answer."""
    from bot.slack.durable import recover
    from bot.storage.work_store import WorkStore
    from tests.slack_fixtures import eventually

    release = threading.Event()
    stalling = StallingModel(reply=_json(LONG + " " + LONG, ["2.3"]), release=release)
    first = _bot(assistant, stalling, database, fake_slack, timeout=30.0)
    try:
        r = first.requests
        event = r.app_mention_event(f"<@{BOT_USER}> {QUESTION}", user="U1", channel="C1", ts="40.1")
        first.send(r.event(event, event_id="EvStreaming"))
        eventually(lambda: WorkStore(database).noted_reply("EvStreaming") is not None)
        [partial] = _bot_messages(fake_slack, "C1")
        assert partial["ts"] == WorkStore(database).noted_reply("EvStreaming")
        assert first.deps.inbox is not None
        first.deps.inbox.close()  # the process is gone (its model never finishes)

        second = _answering_bot(assistant, database, fake_slack)
        try:
            assert second.deps.inbox is not None
            assert recover(second.deps.inbox, second.deps.plans, second.deps.later) == 1
            second.drain()
            [reply] = _bot_messages(fake_slack, "C1")  # the same message, completed
            assert reply["ts"] == partial["ts"]
            assert LONG in json.dumps(reply["blocks"], ensure_ascii=False)
            assert reply["metadata"]["event_type"] == REPLY_EVENT
            assert fake_slack.calls("chat.postMessage") == []
            assert WorkStore(database).unfinished() == []
        finally:
            close_bot(second)
    finally:
        release.set()
        close_bot(first)
