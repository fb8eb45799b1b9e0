"""Streamed bot messages in the fake workspace: chat.startStream, chat.appendStream and
chat.stopStream, as slack_sdk's ``WebClient.chat_stream`` (``ChatStream``) drives them.

chat.startStream stores a bot message (in the thread of ``thread_ts``) whose ``text`` is the
markdown so far and whose ``streaming_state`` is ``"in_progress"``; appends add to ``text``;
chat.stopStream adds its last text, sets ``blocks`` and ``metadata`` and marks the message
``"completed"``, after which it is an ordinary bot message (chat.update edits it). The text a
call adds is its ``markdown_text`` followed by the ``text`` of its ``markdown_text`` chunks;
other chunk types (``task_update``, ``plan_update``, ``blocks``) are kept in the stream's record
(:meth:`StreamedMessages.streamed`) but not rendered.

Errors (``ok: false``):

* ``channel_not_found``: no ``channel``.
* ``invalid_arguments``: chat.startStream into a DM (``D…``, or a user id) without
  ``thread_ts`` (a top-level stream is allowed in channels only); a ``task_display_mode``
  other than ``timeline`` / ``plan``; chat.appendStream with neither ``markdown_text`` nor
  ``chunks``; a non-string ``markdown_text``.
* ``missing_recipient_user_id`` / ``missing_recipient_team_id``: chat.startStream into a
  channel that is not a DM without ``recipient_user_id`` / ``recipient_team_id``.
* ``invalid_chunks``: ``chunks`` not an array of objects of type ``markdown_text``,
  ``task_update``, ``plan_update`` or ``blocks``, or a markdown chunk without a string ``text``.
* ``msg_too_long``: a ``markdown_text`` or markdown chunk over 12,000 characters, or a call that
  would take the message's text over 40,000 characters.
* ``message_not_found``: append/stop with a ``ts`` (or no ``ts``) naming no message of the
  channel.
* ``message_not_in_streaming_state``: append/stop on a message chat.startStream did not create
  or that was already stopped.
* ``invalid_blocks`` / ``invalid_blocks_format``: chat.stopStream ``blocks`` that
  chat.postMessage would refuse; ``invalid_metadata_format``: ``metadata`` that is not an
  object with a string ``event_type``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from local_slack.limits import (
    MAX_MESSAGE_TEXT,
    Violation,
    check_blocks,
    check_stream_content,
)
from local_slack.messages import MessageStore, Params, Response, dm_channel, error

if TYPE_CHECKING:
    from local_slack.workspace import Workspace

STREAMING, COMPLETED = "in_progress", "completed"  # a streamed message's ``streaming_state``
TASK_DISPLAY_MODES = ("timeline", "plan")
START_FIELDS = (
    "thread_ts",
    "recipient_user_id",
    "recipient_team_id",
    "task_display_mode",
    "icon_emoji",
    "icon_url",
    "username",
)


@dataclass
class Stream:
    """What the fake remembers of one streamed message besides the message itself."""

    channel: str
    ts: str
    state: str = STREAMING
    start: dict[str, Any] = field(default_factory=dict)  # START_FIELDS given to startStream
    pieces: list[str] = field(default_factory=list)  # the text each call added, non-empty
    chunks: list[dict[str, Any]] = field(default_factory=list)  # every chunk, in order
    session_status: Any = None


def _added(p: Params) -> tuple[str, list[dict[str, Any]]] | Violation:
    """The markdown a call adds and its chunks, or why Slack refuses them."""
    violation = check_stream_content(p)
    if violation:
        return violation
    chunks = [copy.deepcopy(dict(c)) for c in p.get("chunks") or []]
    texts = [str(p.get("markdown_text") or "")]
    texts += [c["text"] for c in chunks if c["type"] == "markdown_text"]
    return "".join(texts), chunks


def _too_long(current: str, added: str) -> Response | None:
    """``msg_too_long`` if the message's text would exceed Slack's 40,000 characters."""
    if len(current) + len(added) <= MAX_MESSAGE_TEXT:
        return None
    msg = f"the streamed message must be less than {MAX_MESSAGE_TEXT + 1} characters"
    return error("msg_too_long", Violation("msg_too_long", msg))


class Streams:
    """The chat.*Stream methods over a :class:`MessageStore`; not thread-safe on its own
    (:class:`~local_slack.workspace.Workspace` locks)."""

    def __init__(self, messages: MessageStore) -> None:
        self.messages = messages
        self.records: dict[tuple[str, str], Stream] = {}

    def start(self, p: Params) -> Response:
        channel = dm_channel(str(p.get("channel") or ""))
        if not channel:
            return error("channel_not_found")
        if channel.startswith("D") and not p.get("thread_ts"):
            return error("invalid_arguments")
        if not channel.startswith("D"):
            for key in ("recipient_user_id", "recipient_team_id"):
                if not p.get(key):
                    return error(f"missing_{key}")
        if p.get("task_display_mode") not in (None, *TASK_DISPLAY_MODES):
            return error("invalid_arguments")
        added = _added(p)
        if isinstance(added, Violation):
            return error(added.error, added)
        text, chunks = added
        bot = self.messages.bot
        message: dict[str, Any] = {
            "type": "message",
            "text": text,
            "user": bot["user_id"],
            "bot_id": bot["bot_id"],
            "app_id": bot["app_id"],
            "team": bot["team_id"],
            "ts": self.messages.next_ts(),
            "streaming_state": STREAMING,
        }
        if p.get("thread_ts"):
            message["thread_ts"] = str(p["thread_ts"])
        self.messages.add(channel, message)
        start = {k: copy.deepcopy(p[k]) for k in START_FIELDS if p.get(k) is not None}
        record = Stream(channel, message["ts"], start=start, chunks=chunks)
        if text:
            record.pieces.append(text)
        self.records[(channel, message["ts"])] = record
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def _streaming(self, p: Params) -> tuple[dict[str, Any], Stream] | Response:
        """The message and stream that append/stop name, or the error Slack answers."""
        channel = dm_channel(str(p.get("channel") or ""))
        if not channel:
            return error("channel_not_found")
        message = self.messages.find(channel, p.get("ts"))
        if message is None:
            return error("message_not_found")
        record = self.records.get((channel, message["ts"]))
        if record is None or record.state != STREAMING:
            return error("message_not_in_streaming_state")
        return message, record

    @staticmethod
    def _extend(
        message: dict[str, Any], record: Stream, added: tuple[str, list[dict[str, Any]]]
    ) -> Response | None:
        """Adds a call's text and chunks to the message and its record (None), or refuses."""
        text, chunks = added
        refused = _too_long(str(message.get("text") or ""), text)
        if refused:
            return refused
        message["text"] = str(message.get("text") or "") + text
        if text:
            record.pieces.append(text)
        record.chunks.extend(chunks)
        return None

    def append(self, p: Params) -> Response:
        if p.get("markdown_text") is None and p.get("chunks") is None:
            return error("invalid_arguments")
        added = _added(p)
        if isinstance(added, Violation):
            return error(added.error, added)
        found = self._streaming(p)
        if not isinstance(found, tuple):
            return found
        message, record = found
        refused = self._extend(message, record, added)
        return refused or {"ok": True, "channel": record.channel, "ts": record.ts}

    def stop(self, p: Params) -> Response:
        added = _added(p)
        if isinstance(added, Violation):
            return error(added.error, added)
        blocks, metadata = p.get("blocks"), p.get("metadata")
        violation = check_blocks(blocks) if blocks is not None else None
        if violation:
            return error(violation.error, violation)
        if metadata is not None and not (
            isinstance(metadata, Mapping) and isinstance(metadata.get("event_type"), str)
        ):
            return error("invalid_metadata_format")
        found = self._streaming(p)
        if not isinstance(found, tuple):
            return found
        message, record = found
        refused = self._extend(message, record, added)
        if refused:
            return refused
        if blocks is not None:
            message["blocks"] = copy.deepcopy(blocks)
        if metadata is not None:
            message["metadata"] = copy.deepcopy(metadata)
        message["streaming_state"] = record.state = COMPLETED
        record.session_status = p.get("session_status")
        return {
            "ok": True,
            "channel": record.channel,
            "ts": record.ts,
            "message": copy.deepcopy(message),
        }


class StreamedMessages:
    """Mixed into :class:`~local_slack.web_api.FakeSlackAPI`: what tests read of streams."""

    workspace: Workspace

    def streamed(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The record of a streamed message (None if chat.startStream made none there):
        ``state`` (``in_progress`` / ``completed``), ``pieces`` (the text each start, append
        and stop added, in order), ``chunks`` (every chunk sent), ``start`` (recipients,
        ``thread_ts``, ``task_display_mode``, icon and username given) and
        ``session_status``."""
        with self.workspace.lock:
            record = self.workspace.streams.records.get((dm_channel(channel), ts))
            return copy.deepcopy(asdict(record)) if record is not None else None
