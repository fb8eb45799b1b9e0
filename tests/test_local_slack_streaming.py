"""The fake Slack Web API's streaming methods (chat.startStream / appendStream / stopStream),
driven by a real slack_sdk WebClient: its ``chat_stream`` helper and the direct calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from local_slack import FakeSlackAPI
from local_slack import limits as L

TEAM = "T0001"
META = {"event_type": "fwbot_answer", "event_payload": {"question_id": "q1"}}
FEEDBACK = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "Helpful?"}]}]


def api_error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return info.value


def md(text: str) -> dict[str, str]:
    return {"type": "markdown_text", "text": text}


def ask(fake: FakeSlackAPI, channel: str, text: str = "What is our strategy?") -> str:
    """Seeds a user's question and returns its ts (the thread to stream into)."""
    return str(fake.add_message(channel, text, user="U1")["ts"])


def replies(client: WebClient, channel: str, parent: str, **kwargs: Any) -> list[dict[str, Any]]:
    return list(client.conversations_replies(channel=channel, ts=parent, **kwargs)["messages"])


def start(client: WebClient, channel: str = "DU1", thread_ts: str = "1.000001", **kwargs: Any):
    return client.chat_startStream(channel=channel, thread_ts=thread_ts, **kwargs)


# ---- the SDK's ChatStream helper ------------------------------------------------------------


def test_chat_stream_in_a_dm_thread_accumulates_the_text(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    parent = ask(fake_slack, "DU1")
    streamer = slack_client.chat_stream(channel="DU1", thread_ts=parent, buffer_size=10)
    assert streamer.append(markdown_text="Hello, ") is None  # buffered: nothing sent yet
    assert fake_slack.calls() == []
    started = streamer.append(markdown_text="world! ")
    assert started is not None and started["ok"] and started["channel"] == "DU1"
    ts = streamer.ts
    assert ts is not None and ts == started["ts"]

    first = replies(slack_client, "DU1", parent)
    assert [m["ts"] for m in first] == [parent, ts]
    assert first[1]["text"] == "Hello, world! " and first[1]["streaming_state"] == "in_progress"
    assert first[1]["user"] == "UBOT" and first[1]["thread_ts"] == parent

    streamer.append(markdown_text="Our strategy has three pillars.")
    assert replies(slack_client, "DU1", parent)[1]["text"] == (
        "Hello, world! Our strategy has three pillars."
    )
    streamer.append(markdown_text=" Done")  # buffered until the stop
    stopped = streamer.stop()
    assert stopped["ok"] and stopped["ts"] == ts
    assert stopped["message"]["text"] == "Hello, world! Our strategy has three pillars. Done"
    assert stopped["message"]["streaming_state"] == "completed"

    final = replies(slack_client, "DU1", parent)[1]
    assert final["text"] == stopped["message"]["text"] and final["streaming_state"] == "completed"
    methods = [c.method for c in fake_slack.calls() if c.method.endswith("Stream")]
    assert methods == ["chat.startStream", "chat.appendStream", "chat.stopStream"]
    record = fake_slack.streamed("DU1", ts)
    assert record is not None and record["state"] == "completed"
    assert record["pieces"] == ["Hello, world! ", "Our strategy has three pillars.", " Done"]
    assert record["start"] == {"thread_ts": parent}
    assert fake_slack.messages("DU1")[0]["reply_count"] == 1


def test_chat_stream_in_a_channel_thread_with_blocks_and_metadata(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    parent = ask(fake_slack, "C1")
    streamer = slack_client.chat_stream(
        channel="C1",
        thread_ts=parent,
        recipient_user_id="U1",
        recipient_team_id=TEAM,
        buffer_size=5,
    )
    streamer.append(markdown_text="**Answer**: ")
    streamer.append(
        chunks=[{"type": "task_update", "id": "t1", "title": "Search", "status": "complete"}]
    )
    stopped = streamer.stop(markdown_text="yes.", blocks=FEEDBACK, metadata=META)
    assert stopped["message"]["blocks"] == FEEDBACK

    with_meta = replies(slack_client, "C1", parent, include_all_metadata=True)
    answer = with_meta[1]
    assert answer["text"] == "**Answer**: yes." and answer["streaming_state"] == "completed"
    assert answer["blocks"] == FEEDBACK and answer["metadata"] == META
    assert "metadata" not in replies(slack_client, "C1", parent)[1]
    history = slack_client.conversations_history(channel="C1")["messages"]
    assert [m["ts"] for m in history] == [parent]  # the stream is a reply, not top level

    start_call = fake_slack.calls("chat.startStream")[0]
    assert start_call.params["recipient_user_id"] == "U1"
    assert start_call.params["recipient_team_id"] == TEAM
    record = fake_slack.streamed("C1", str(streamer.ts))
    assert record is not None
    assert [c["type"] for c in record["chunks"]] == [
        "markdown_text",
        "task_update",
        "markdown_text",
    ]
    assert record["start"]["recipient_user_id"] == "U1"


def test_chat_stream_stopped_before_any_flush_starts_and_stops(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    parent = ask(fake_slack, "DU1")
    streamer = slack_client.chat_stream(channel="DU1", thread_ts=parent, buffer_size=100)
    streamer.append(markdown_text="short")
    streamer.stop()  # startStream without text, then stopStream with the buffer as a chunk
    assert [m["text"] for m in replies(slack_client, "DU1", parent)][1] == "short"
    assert fake_slack.calls("chat.startStream")[0].params.get("chunks") is None


# ---- refusals -------------------------------------------------------------------------------


def test_append_and_stop_after_stop_are_refused(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    ts = start(slack_client, markdown_text="one")["ts"]
    slack_client.chat_stopStream(channel="DU1", ts=ts, markdown_text=" two")
    err = api_error(slack_client.chat_appendStream, channel="DU1", ts=ts, markdown_text="three")
    assert err.response["error"] == "message_not_in_streaming_state"
    err = api_error(slack_client.chat_stopStream, channel="DU1", ts=ts)
    assert err.response["error"] == "message_not_in_streaming_state"
    assert fake_slack.messages("DU1")[0]["text"] == "one two"

    posted = slack_client.chat_postMessage(channel="DU1", text="plain")["ts"]
    err = api_error(slack_client.chat_appendStream, channel="DU1", ts=posted, markdown_text="x")
    assert err.response["error"] == "message_not_in_streaming_state"


def test_streaming_into_a_channel_needs_the_recipient(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    err = api_error(start, slack_client, "C1", markdown_text="hi")
    assert err.response["error"] == "missing_recipient_user_id"
    err = api_error(start, slack_client, "C1", markdown_text="hi", recipient_user_id="U1")
    assert err.response["error"] == "missing_recipient_team_id"
    assert fake_slack.messages("C1") == []
    assert start(slack_client, "DU1", markdown_text="hi")["ok"]  # a DM needs no recipient

    no_thread = {"markdown_text": "hi", "recipient_user_id": "U1", "recipient_team_id": TEAM}
    assert slack_client.api_call("chat.startStream", json={"channel": "C1", **no_thread})["ok"]
    err = api_error(slack_client.api_call, "chat.startStream", json={"channel": "DU1", **no_thread})
    assert err.response["error"] == "invalid_arguments"  # a DM stream must be a thread reply


def test_markdown_text_is_limited_to_12000_characters(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    limit = L.MAX_STREAM_MARKDOWN
    assert limit == 12_000
    err = api_error(start, slack_client, markdown_text="x" * (limit + 1))
    assert err.response["error"] == "msg_too_long"
    assert fake_slack.messages("DU1") == []
    ts = start(slack_client, markdown_text="x" * limit)["ts"]
    err = api_error(slack_client.chat_appendStream, channel="DU1", ts=ts, chunks=[md("y" * 12_001)])
    assert err.response["error"] == "msg_too_long"
    err = api_error(slack_client.chat_stopStream, channel="DU1", ts=ts, markdown_text="z" * 12_001)
    assert err.response["error"] == "msg_too_long"
    assert fake_slack.messages("DU1")[0]["text"] == "x" * limit  # nothing was added

    parent = ask(fake_slack, "DU2")
    streamer = slack_client.chat_stream(channel="DU2", thread_ts=parent, buffer_size=20_000)
    streamer.append(markdown_text="w" * 12_001)  # buffered: the SDK sends it as one chunk
    assert api_error(streamer.stop).response["error"] == "msg_too_long"


def test_a_streamed_message_stops_at_40000_characters(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    ts = start(slack_client, markdown_text="a" * 12_000)["ts"]
    for _ in range(2):
        slack_client.chat_appendStream(channel="DU1", ts=ts, markdown_text="b" * 12_000)
    err = api_error(slack_client.chat_appendStream, channel="DU1", ts=ts, markdown_text="c" * 4_001)
    assert err.response["error"] == "msg_too_long"
    assert len(fake_slack.messages("DU1")[0]["text"]) == 36_000
    slack_client.chat_stopStream(channel="DU1", ts=ts, markdown_text="c" * 4_000)
    assert len(fake_slack.messages("DU1")[0]["text"]) == L.MAX_MESSAGE_TEXT == 40_000


def test_unknown_ts_and_bad_arguments(fake_slack: FakeSlackAPI, slack_client: WebClient) -> None:
    err = api_error(slack_client.chat_appendStream, channel="DU1", ts="1.000009", markdown_text="x")
    assert err.response["error"] == "message_not_found"
    err = api_error(slack_client.chat_stopStream, channel="DU1", ts="1.000009")
    assert err.response["error"] == "message_not_found"

    ts = start(slack_client)["ts"]
    err = api_error(slack_client.chat_appendStream, channel="DU1", ts=ts)
    assert err.response["error"] == "invalid_arguments"  # neither markdown_text nor chunks
    err = api_error(slack_client.chat_appendStream, channel="DU1", ts=ts, chunks=[{"text": "x"}])
    assert err.response["error"] == "invalid_chunks"
    err = api_error(
        slack_client.chat_appendStream, channel="DU1", ts=ts, chunks=[{"type": "markdown_text"}]
    )
    assert err.response["error"] == "invalid_chunks"
    err = api_error(start, slack_client, task_display_mode="gantt")
    assert err.response["error"] == "invalid_arguments"
    err = api_error(slack_client.chat_stopStream, channel="DU1", ts=ts, metadata={"x": 1})
    assert err.response["error"] == "invalid_metadata_format"
    err = api_error(slack_client.chat_stopStream, channel="DU1", ts=ts, blocks=[{"text": "x"}])
    assert err.response["error"] == "invalid_blocks"
    record = fake_slack.streamed("DU1", ts)
    assert record is not None and record["state"] == "in_progress"

    slack_client.chat_delete(channel="DU1", ts=ts)
    err = api_error(slack_client.chat_appendStream, channel="DU1", ts=ts, markdown_text="x")
    assert err.response["error"] == "message_not_found"


# ---- after the stream -----------------------------------------------------------------------


def test_a_stopped_stream_can_be_edited_with_chat_update(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    parent = ask(fake_slack, "DU1")
    streamer = slack_client.chat_stream(channel="DU1", thread_ts=parent, buffer_size=1)
    streamer.append(markdown_text="draft answer")
    streamer.stop(metadata=META)
    updated = slack_client.chat_update(channel="DU1", ts=str(streamer.ts), text="final answer")
    assert updated["ok"] and updated["message"]["text"] == "final answer"
    answer = replies(slack_client, "DU1", parent, include_all_metadata=True)[1]
    assert answer["text"] == "final answer" and "edited" in answer
    assert answer["metadata"] == META and answer["streaming_state"] == "completed"


# ---- wire format, faults and the call log ---------------------------------------------------


def test_form_encoded_chunks_blocks_and_metadata_are_decoded(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    started = slack_client.api_call(
        "chat.startStream",
        params={"channel": "DU1", "thread_ts": "1.000001", "chunks": json.dumps([md("form ")])},
    )
    ts = started["ts"]
    slack_client.api_call(
        "chat.stopStream",
        params={
            "channel": "DU1",
            "ts": ts,
            "chunks": json.dumps([md("body")]),
            "blocks": json.dumps(FEEDBACK),
            "metadata": json.dumps(META),
        },
    )
    call = fake_slack.calls("chat.stopStream")[0]
    assert call.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert call.params["chunks"] == [md("body")]
    message = fake_slack.messages("DU1")[0]
    assert message["text"] == "form body"
    assert message["blocks"] == FEEDBACK and message["metadata"] == META


def test_faults_and_the_call_log_cover_the_stream_methods(
    fake_slack: FakeSlackAPI, slack_client: WebClient
) -> None:
    ts = start(slack_client, markdown_text="a")["ts"]
    fake_slack.fail_next("chat.appendStream", error="internal_error")
    err = api_error(slack_client.chat_appendStream, channel="DU1", ts=ts, markdown_text="b")
    assert err.response["error"] == "internal_error"
    assert fake_slack.messages("DU1")[0]["text"] == "a"  # the failed call changed nothing
    slack_client.chat_appendStream(channel="DU1", ts=ts, markdown_text="b")
    assert fake_slack.messages("DU1")[0]["text"] == "ab"

    fake_slack.fail_next("chat.stopStream", status=429, retry_after=3)
    err = api_error(slack_client.chat_stopStream, channel="DU1", ts=ts)
    assert err.response.status_code == 429 and err.response["error"] == "ratelimited"
    assert [c.error for c in fake_slack.calls("chat.appendStream")] == ["internal_error", None]
    assert fake_slack.wait_for("chat.stopStream")[0].status == 429
