"""Did a message arrive? One look-up in the history for every sender: this bot's message
with the given metadata (or text) in a conversation or thread, since a moment.

Reads are safe to repeat: they are retried (with back-off, and Retry-After on 429) until
Slack answers; when it cannot, :class:`DeliveryUnknown` says so, and the caller must then
neither send again nor apologise.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient

from .calls import call_once
from .retry import RetryPolicy

HISTORY_SLACK_SECONDS = 60  # a look-up starts this far before ``since`` (clock skew)


class DeliveryUnknown(Exception):
    """Slack could not be asked whether a message was delivered: do not send it again."""

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


def is_user(channel: str) -> bool:
    return channel[:1] in ("U", "W")


class History:
    """Look-ups in one workspace's history through ``client``. Thread-safe."""

    def __init__(
        self,
        client: WebClient,
        *,
        max_attempts: int = 6,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        max_rate_limited: float = 600.0,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        # Reads are safe to repeat: the one retry policy, with this reader's numbers.
        self.policy = RetryPolicy(
            max_attempts=max(1, max_attempts), backoff=backoff, max_rate_limited=max_rate_limited
        )
        self.max_attempts, self.backoff = self.policy.max_attempts, backoff
        self.max_rate_limited = max_rate_limited
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._dm_channels: dict[str, str] = {}  # user id -> DM channel id
        self._bot_id: str | None = None
        self._bot_id_known = False

    def back_off(self, attempt: int) -> None:
        self._sleep(self.policy.delay(attempt, self._rng))

    def find(
        self,
        channel: str,
        *,
        event_type: str | None,
        match: Mapping[str, Any],
        since: datetime,
        text: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
        bare: bool = False,
    ) -> tuple[str, str] | None:
        """``(channel_id, ts)`` of a message this bot posted in ``channel`` (a user id means
        the DM with them; ``channel_id`` skips looking that up) at or after ``since`` minus
        a minute, whose metadata has ``event_type`` and an ``event_payload`` containing every
        item of ``match`` (or, with ``text``, whose text is exactly that); None if there is
        none (``bare``: a text match only on a message without metadata). Looks in the
        thread of ``thread_ts`` if given, else at top-level messages. Raises
        :class:`DeliveryUnknown` when Slack cannot be asked (after retries): the caller must
        then not send again."""
        for found in self._matching(
            channel,
            event_type=event_type,
            match=match,
            since=since,
            text=text,
            channel_id=channel_id,
            thread_ts=thread_ts,
            bare=bare,
        ):
            return found
        return None

    def find_all(
        self,
        channel: str,
        *,
        event_type: str | None,
        match: Mapping[str, Any],
        since: datetime,
        text: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> list[tuple[str, str]]:
        """Every message :meth:`find` would consider a match, ``(channel_id, ts)`` each, in
        Slack's order (newest first). Raises :class:`DeliveryUnknown` as :meth:`find`."""
        return list(
            self._matching(
                channel,
                event_type=event_type,
                match=match,
                since=since,
                text=text,
                channel_id=channel_id,
                thread_ts=thread_ts,
            )
        )

    def _matching(
        self,
        channel: str,
        *,
        event_type: str | None,
        match: Mapping[str, Any],
        since: datetime,
        text: str | None,
        channel_id: str | None,
        thread_ts: str | None,
        bare: bool = False,
    ) -> Iterator[tuple[str, str]]:
        """The matches of :meth:`find`, page by page (a page is read only when needed)."""
        conversation = channel_id or self._conversation(channel)
        bot_id = self.own_bot_id()
        moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        oldest = moment.timestamp() - HISTORY_SLACK_SECONDS
        params: dict[str, Any] = {
            "channel": conversation,
            "oldest": f"{oldest:.6f}",
            "limit": 200,
            "include_all_metadata": True,
        }
        method: Callable[..., Any] = self.client.conversations_history
        if thread_ts:
            method, params["ts"] = self.client.conversations_replies, thread_ts
        while True:
            data = self._read(method, **params)
            for message in data.get("messages") or []:
                if bare and message.get("metadata"):
                    continue
                if _matches(message, event_type, match, bot_id, oldest, text):
                    yield conversation, str(message["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not data.get("has_more") or not cursor:
                return
            params["cursor"] = cursor

    def _conversation(self, channel: str) -> str:
        """The conversation to read: the DM channel for a user id (conversations.open)."""
        if not is_user(channel):
            return channel
        known = self.known_channel(channel)
        if known:
            return known
        data = self._read(self.client.conversations_open, users=channel)
        channel_id = str((data.get("channel") or {}).get("id") or "")
        if not channel_id:
            raise DeliveryUnknown(f"conversations.open gave no channel for {channel}")
        self.remember_dm(channel, channel_id)
        return channel_id

    def own_bot_id(self) -> str | None:
        """This token's bot id (auth.test, asked once), to ignore other apps' messages."""
        with self._lock:
            if self._bot_id_known:
                return self._bot_id
        bot_id = self._read(self.client.auth_test).get("bot_id")
        with self._lock:
            self._bot_id, self._bot_id_known = (str(bot_id) if bot_id else None), True
            return self._bot_id

    def _read(self, method: Callable[..., Any], **kwargs: Any) -> Mapping[str, Any]:
        """A read-only call, retried (reads are safe to repeat) until it answers; raises
        :class:`DeliveryUnknown` when it cannot. Reads do not go through the pacer."""
        attempts, limited_for = 0, 0.0
        while True:
            answer = call_once(method, **kwargs)
            if answer.kind == "ok":
                return answer.data
            if answer.kind == "limited":
                limited_for += answer.retry_after
                if limited_for > self.policy.max_rate_limited:
                    raise DeliveryUnknown("rate-limited for too long", error="ratelimited")
                self._sleep(answer.retry_after)
                continue
            if answer.kind in ("permanent", "fallback"):
                raise DeliveryUnknown(f"Slack refused: {answer.error}", error=answer.error)
            attempts += 1
            if attempts >= self.policy.max_attempts:
                raise DeliveryUnknown(f"no answer after {attempts} tries", error=answer.error)
            self.back_off(attempts)

    def remember_dm(self, user_id: str, channel_id: str) -> None:
        with self._lock:
            self._dm_channels[user_id] = channel_id

    def known_channel(self, channel: str) -> str | None:
        if not is_user(channel):
            return channel
        with self._lock:
            return self._dm_channels.get(channel)


def _matches(
    message: Mapping[str, Any],
    event_type: str | None,
    match: Mapping[str, Any],
    bot_id: str | None,
    oldest: float,
    text: str | None = None,
) -> bool:
    """A bot message (ours, if ``bot_id`` is known) no older than ``oldest`` whose metadata
    has ``event_type`` and a payload containing ``match``, or whose text is ``text``."""
    if not message.get("bot_id") or (bot_id is not None and message["bot_id"] != bot_id):
        return False
    try:
        if float(message.get("ts") or 0) < oldest:
            return False
    except (TypeError, ValueError):
        return False
    if text is not None and message.get("text") == text:
        return True
    if event_type is None:
        return False
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != event_type:
        return False
    payload = metadata.get("event_payload") or {}
    return all(key in payload and payload[key] == value for key, value in match.items())
