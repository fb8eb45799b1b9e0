"""The Slack-facing half of exactly-once nudges: :class:`SlackSender`.

The caller claims ``(owner, week)`` in the database, then calls :meth:`SlackSender.post`
once. The answer says what is known about delivery:

``sent``
    Slack accepted it (``channel_id``, ``ts``).
``permanent``
    It will never work for this recipient (``error``); ``result.fatal`` means it will not
    work for anybody (the token or its scopes): stop the run.
``retry``
    Certainly not delivered; gave up for now (transient errors, or 429s for too long).
``uncertain``
    It may have been delivered (timeout, dropped connection, a 5xx without a Slack answer):
    call :meth:`SlackSender.find_delivered` before sending again. If that raises
    :class:`DeliveryUnknown`, do not send again.

Rate limits are shared through an :class:`~bot.progress.pacing.AdaptivePacer`. The client
must not retry on its own (a retried timeout can post twice): use :func:`sender_client`.
"""

from __future__ import annotations

import http.client
import logging
import random
import socket
import threading
import time
import urllib.error
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.progress.pacing import AdaptivePacer

NUDGE_EVENT = "fwbot_nudge"

Outcome = Literal["sent", "permanent", "retry", "uncertain"]

# Errors that will fail again for this recipient (or for everyone: see FATAL_ERRORS).
PERMANENT_ERRORS = frozenset({
    "user_not_found", "account_inactive", "channel_not_found", "is_archived",
    "not_in_channel", "cannot_dm_bot", "user_disabled", "restricted_action", "no_permission",
    "missing_scope", "invalid_auth", "token_revoked", "token_expired", "not_authed",
    "team_access_not_granted", "not_allowed_token_type", "ekm_access_denied",
    "invalid_arguments", "no_text", "too_many_attachments", "invalid_metadata_format",
    "invalid_metadata_schema", "metadata_too_large", "metadata_must_be_sent_from_app",
})
# Errors about the token, scopes or workspace: every further send fails the same way.
# ``account_inactive`` is left out: for a DM it names the recipient.
FATAL_ERRORS = frozenset({
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "team_access_not_granted",
    "missing_scope", "no_permission", "not_allowed_token_type", "ekm_access_denied",
})
# Slack answered without doing anything: safe to send again after a pause.
TRANSIENT_ERRORS = frozenset({
    "service_unavailable", "request_timeout", "ratelimited", "rate_limited",
})
# Slack documents these as "it's possible some aspect of the operation succeeded": check
# the history before sending again.
MAYBE_APPLIED_ERRORS = frozenset({"internal_error", "fatal_error"})
# Slack refused the blocks or the length: the message goes again as plain text.
TEXT_FALLBACK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long"})

PLAIN_TEXT_LIMIT = 3900  # characters of the plain-text fallback
HISTORY_SLACK_SECONDS = 60  # find_delivered looks this far before ``since`` (clock skew)
MAX_BACKOFF = 30.0
_NON_JSON = "Received a response in a non-JSON format"

log = logging.getLogger(__name__)

Kind = Literal["ok", "limited", "transient", "maybe", "fallback", "permanent", "uncertain"]


class DeliveryUnknown(Exception):
    """Slack could not be asked whether a message was delivered: do not send it again."""

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True)
class SendResult:
    """What :meth:`SlackSender.post` knows about one message (see the module docstring)."""

    outcome: Outcome
    channel_id: str | None = None
    ts: str | None = None
    error: str | None = None

    @property
    def fatal(self) -> bool:
        """A permanent error no recipient will escape (token, scopes): stop sending."""
        return self.outcome == "permanent" and self.error in FATAL_ERRORS


@dataclass(frozen=True)
class _Answer:
    """One Web API call, classified."""

    kind: Kind
    data: Mapping[str, Any]
    error: str | None = None
    retry_after: float = 0.0


def sender_client(token: str, base_url: str, *, timeout: float = 15) -> WebClient:
    """A WebClient that never retries by itself (no rate-limit or connection retry handlers):
    :class:`SlackSender` and the pacer decide what is safe to send again."""
    client = WebClient(token=token, base_url=base_url, retry_handlers=[])
    client.timeout = timeout  # type: ignore[assignment]  # urllib takes float seconds
    return client


def _retry_after(headers: Mapping[str, Any]) -> float:
    """Retry-After in seconds (1 if missing or unreadable)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


def _classify_api_error(exc: SlackApiError) -> _Answer:
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    error = str(data.get("error") or "unknown")
    if status == 429:
        return _Answer("limited", data, "ratelimited", _retry_after(response.headers or {}))
    if not data or error.startswith(_NON_JSON):  # no Slack answer in the body
        if 400 <= status < 500:
            return _Answer("transient", data, f"http_{status}")  # refused before processing
        return _Answer("uncertain", data, f"http_{status}")
    if error in TEXT_FALLBACK_ERRORS:
        return _Answer("fallback", data, error)
    if error in MAYBE_APPLIED_ERRORS:
        return _Answer("maybe", data, error)
    if error in TRANSIENT_ERRORS:
        return _Answer("transient", data, error)
    if error in PERMANENT_ERRORS:
        return _Answer("permanent", data, error)
    if status >= 500:  # a Slack error body on a 5xx: answered before processing
        return _Answer("transient", data, error)
    log.warning("Slack error %r (HTTP %s) not known; treating it as permanent", error, status)
    return _Answer("permanent", data, error)


def _call(method: Callable[..., Any], **kwargs: Any) -> _Answer:
    """Calls a WebClient method once and classifies the outcome."""
    try:
        response = method(**kwargs)
    except SlackApiError as exc:
        return _classify_api_error(exc)
    except urllib.error.URLError as exc:
        # urllib raises URLError only while connecting and sending; a refused connection or
        # an unknown host never reached Slack, anything else may have.
        if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
            return _Answer("transient", {}, "connection_refused")
        return _Answer("uncertain", {}, "connection_error")
    except TimeoutError:
        return _Answer("uncertain", {}, "timeout")
    except (http.client.HTTPException, OSError):  # RemoteDisconnected, resets, bad answers
        return _Answer("uncertain", {}, "connection_lost")
    return _Answer("ok", response.data if isinstance(response.data, dict) else {})


def _plain(text: str) -> str:
    return text if len(text) <= PLAIN_TEXT_LIMIT else text[: PLAIN_TEXT_LIMIT - 1] + "…"


def _is_user(channel: str) -> bool:
    return channel[:1] in ("U", "W")


class SlackSender:
    """Posts single messages with metadata through a shared pacer, and finds out afterwards
    whether a message was delivered. Thread-safe: many threads may share one sender."""

    def __init__(
        self,
        client: WebClient,
        pacer: AdaptivePacer,
        *,
        max_attempts: int = 6,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        max_rate_limited: float = 600.0,
        rng: random.Random | None = None,
    ) -> None:
        self.client, self.pacer = client, pacer
        self.max_attempts, self.backoff = max(1, max_attempts), backoff
        self.max_rate_limited = max_rate_limited  # seconds of Retry-After before giving up
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._dm_channels: dict[str, str] = {}  # user id -> DM channel id
        self._bot_id: str | None = None
        self._bot_id_known = False

    # ---- sending -----------------------------------------------------------------------

    def post(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[dict] | None,
        metadata: dict | None,
        thread_ts: str | None = None,
    ) -> SendResult:
        """Posts one message to ``channel`` (a channel id, or a user id for the app's DM with
        them) with ``metadata`` (``{"event_type": ..., "event_payload": {...}}``).

        429s wait out Retry-After through the pacer (up to ``max_rate_limited`` seconds in
        all); transient errors are retried with exponential backoff up to ``max_attempts``;
        refused blocks are sent once more as plain text; ``internal_error`` / ``fatal_error``
        (which Slack says may have applied) are checked in the history before a retry; a
        timeout or lost connection is ``uncertain`` at once, never retried blindly."""
        since = datetime.now(UTC)
        args: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks,
                                "metadata": metadata, "thread_ts": thread_ts}
        attempts, limited_for, fell_back = 0, 0.0, False
        while True:
            self.pacer.wait_turn()
            answer = _call(self.client.chat_postMessage, **args)
            if answer.kind == "limited":
                self.pacer.on_rate_limited(answer.retry_after)
                limited_for += answer.retry_after
                if limited_for > self.max_rate_limited:
                    return SendResult("retry", self._known_channel(channel), error="ratelimited")
                continue
            if answer.kind in ("ok", "permanent", "fallback"):
                self.pacer.on_success()  # it got past the rate limiter
            if answer.kind == "ok":
                channel_id = str(answer.data.get("channel") or "") or None
                if channel_id and _is_user(channel):
                    self._remember_dm(channel, channel_id)
                return SendResult("sent", channel_id, answer.data.get("ts"))
            if answer.kind == "fallback" and not fell_back:
                log.warning("chat.postMessage refused the message (%s); plain text", answer.error)
                fell_back = True
                args = {**args, "blocks": None, "text": _plain(text)}
                continue
            if answer.kind in ("permanent", "fallback"):
                return SendResult("permanent", self._known_channel(channel), error=answer.error)
            if answer.kind == "uncertain":
                return SendResult("uncertain", self._known_channel(channel), error=answer.error)
            attempts += 1  # transient, or maybe applied
            if attempts < self.max_attempts:
                self._back_off(attempts)
            if answer.kind == "maybe":
                found = self._verify(channel, metadata, since, thread_ts, answer.error)
                if found is not None:
                    return found
            if attempts >= self.max_attempts:
                return SendResult("retry", self._known_channel(channel), error=answer.error)

    def _verify(self, channel: str, metadata: Mapping[str, Any] | None, since: datetime,
                thread_ts: str | None, error: str | None) -> SendResult | None:
        """After an error Slack may have applied: ``sent`` if the message is in the history,
        ``uncertain`` if that cannot be told, None if it is certainly not there."""
        if not metadata or not metadata.get("event_type"):
            return SendResult("uncertain", self._known_channel(channel), error=error)
        try:
            found = self.find_delivered(channel, event_type=str(metadata["event_type"]),
                                        match=metadata.get("event_payload") or {},
                                        since=since, thread_ts=thread_ts)
        except DeliveryUnknown:
            return SendResult("uncertain", self._known_channel(channel), error=error)
        return SendResult("sent", *found) if found else None

    def _back_off(self, attempt: int) -> None:
        delay = min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1))
        self._sleep(delay * self._rng.uniform(0.5, 1.0))

    # ---- finding out -------------------------------------------------------------------

    def find_delivered(
        self,
        channel: str,
        *,
        event_type: str,
        match: Mapping[str, Any],
        since: datetime,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> tuple[str, str] | None:
        """``(channel_id, ts)`` of a message this bot posted in ``channel`` (a user id means
        the DM with them; ``channel_id`` skips looking that up) at or after ``since`` minus
        a minute, whose metadata has ``event_type`` and an ``event_payload`` containing every
        item of ``match``; None if there is none. Looks in the thread of ``thread_ts`` if
        given, else at top-level messages. Raises :class:`DeliveryUnknown` when Slack cannot
        be asked (after retries): the caller must then not send again."""
        conversation = channel_id or self._conversation(channel)
        bot_id = self._own_bot_id()
        moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        oldest = moment.timestamp() - HISTORY_SLACK_SECONDS
        params: dict[str, Any] = {"channel": conversation, "oldest": f"{oldest:.6f}",
                                  "limit": 200, "include_all_metadata": True}
        method = self.client.conversations_history
        if thread_ts:
            method, params["ts"] = self.client.conversations_replies, thread_ts
        while True:
            data = self._read(method, **params)
            for message in data.get("messages") or []:
                if _matches(message, event_type, match, bot_id, oldest):
                    return conversation, str(message["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not data.get("has_more") or not cursor:
                return None
            params["cursor"] = cursor

    def _conversation(self, channel: str) -> str:
        """The conversation to read: the DM channel for a user id (conversations.open)."""
        if not _is_user(channel):
            return channel
        known = self._known_channel(channel)
        if known:
            return known
        data = self._read(self.client.conversations_open, users=channel)
        channel_id = str((data.get("channel") or {}).get("id") or "")
        if not channel_id:
            raise DeliveryUnknown(f"conversations.open gave no channel for {channel}")
        self._remember_dm(channel, channel_id)
        return channel_id

    def _own_bot_id(self) -> str | None:
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
            answer = _call(method, **kwargs)
            if answer.kind == "ok":
                return answer.data
            if answer.kind == "limited":
                limited_for += answer.retry_after
                if limited_for > self.max_rate_limited:
                    raise DeliveryUnknown("rate-limited for too long", error="ratelimited")
                self._sleep(answer.retry_after)
                continue
            if answer.kind in ("permanent", "fallback"):
                raise DeliveryUnknown(f"Slack refused: {answer.error}", error=answer.error)
            attempts += 1
            if attempts >= self.max_attempts:
                raise DeliveryUnknown(f"no answer after {attempts} tries", error=answer.error)
            self._back_off(attempts)

    def _remember_dm(self, user_id: str, channel_id: str) -> None:
        with self._lock:
            self._dm_channels[user_id] = channel_id

    def _known_channel(self, channel: str) -> str | None:
        if not _is_user(channel):
            return channel
        with self._lock:
            return self._dm_channels.get(channel)


def _matches(
    message: Mapping[str, Any],
    event_type: str,
    match: Mapping[str, Any],
    bot_id: str | None,
    oldest: float,
) -> bool:
    """A bot message (ours, if ``bot_id`` is known) no older than ``oldest`` whose metadata
    has ``event_type`` and a payload containing ``match``."""
    if not message.get("bot_id") or (bot_id is not None and message["bot_id"] != bot_id):
        return False
    try:
        if float(message.get("ts") or 0) < oldest:
            return False
    except (TypeError, ValueError):
        return False
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != event_type:
        return False
    payload = metadata.get("event_payload") or {}
    return all(key in payload and payload[key] == value for key, value in match.items())
