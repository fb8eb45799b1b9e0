"""Messages after they are posted, and the assistant pane: ``chat.update`` (with the one
plain-text fallback), streams (``chat.startStream`` … ``chat.stopStream`` through slack_sdk's
``ChatStream``), ``chat.delete``, one message read back (``conversations.history``), and the
assistant thread's status, title and suggested prompts. Posting itself is :mod:`.posting`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse
from slack_sdk.web.chat_stream import ChatStream

from .plain import plain_prefix
from .posting import attempt


def update_message(
    client: WebClient,
    channel: str,
    ts: str,
    *,
    text: str,
    blocks: Sequence[Mapping[str, Any]] | None,
    metadata: Mapping[str, Any] | None = None,
    on_error: Callable[[str], object] | None = None,
) -> None:
    """``chat.update``; blocks Slack refuses (or a text too long) are replaced by the plain
    text (the one fallback rule). Other failures raise what the client raised
    (:class:`slack_sdk.errors.SlackApiError`, a timeout…); ``on_error`` is told each error."""
    args: dict[str, Any] = {"channel": channel, "ts": ts, "text": text, "blocks": blocks}
    if metadata is not None:
        args["metadata"] = metadata
    answer, exc = attempt(client.chat_update, **args)
    if answer.kind != "ok" and on_error is not None:
        on_error(answer.error or "unknown")
    if answer.kind == "fallback":
        answer, exc = attempt(
            client.chat_update, **{**args, "text": plain_prefix(text), "blocks": []}
        )
        if answer.kind != "ok" and on_error is not None:
            on_error(answer.error or "unknown")
    if answer.kind != "ok":
        raise exc or RuntimeError(f"chat.update failed: {answer.error}")


def delete_message(client: WebClient, channel: str, ts: str) -> SlackResponse:
    """``chat.delete`` of this bot's message ``ts``; Slack's errors raise."""
    return client.chat_delete(channel=channel, ts=ts)


def start_stream(
    client: WebClient, *, channel: str, thread_ts: str, buffer_size: int, **recipients: Any
) -> ChatStream:
    """A stream into ``thread_ts``'s thread: it starts (``chat.startStream``) with its first
    append; ``recipients``: ``recipient_user_id`` and ``recipient_team_id``."""
    return client.chat_stream(
        channel=channel, thread_ts=thread_ts, buffer_size=buffer_size, **recipients
    )


def stop_stream(client: WebClient, channel: str, ts: str) -> None:
    """``chat.stopStream`` of the message ``ts`` (raises if Slack has it stopped already)."""
    client.chat_stopStream(channel=channel, ts=ts)


def message_at(client: WebClient, channel: str, ts: str) -> dict[str, Any] | None:
    """The message ``ts`` in ``channel`` as ``conversations.history`` gives it (blocks and
    text); None if it is not there. Slack's errors raise."""
    found = client.conversations_history(
        channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
    )
    messages = found.get("messages") or []
    if not messages or messages[0].get("ts") != ts:
        return None
    return dict(messages[0])


def set_assistant_status(client: WebClient, channel: str, thread_ts: str, status: str) -> None:
    """``assistant.threads.setStatus``: the pane's "is …" line under the thread."""
    client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts, status=status)


def set_assistant_title(client: WebClient, channel: str, thread_ts: str, title: str) -> None:
    """``assistant.threads.setTitle``: the thread's title in the pane's history."""
    client.assistant_threads_setTitle(channel_id=channel, thread_ts=thread_ts, title=title)


def set_suggested_prompts(
    client: WebClient, channel: str, thread_ts: str, prompts: list[dict[str, str]]
) -> None:
    """``assistant.threads.setSuggestedPrompts``: the prompts offered in a new thread."""
    client.assistant_threads_setSuggestedPrompts(
        channel_id=channel, thread_ts=thread_ts, prompts=prompts
    )
