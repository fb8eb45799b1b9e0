"""Getting a reply to the user, whatever Slack says: the fallbacks live here.

* A message Slack rejects as ``invalid_blocks`` or ``msg_too_long`` is sent again as plain
  text, split into pieces Slack accepts — the content is never dropped.
* A private reply goes through the ``response_url``; when that is used up or expired it falls
  back to ``chat.postEphemeral``, and when the bot is not in the channel, to a DM.
* Rate limits are retried by the clients' retry handlers (honouring ``Retry-After``).
* A chat.postMessage that timed out, lost its answer, or got ``internal_error`` /
  ``fatal_error`` may have arrived: after a back-off the bot looks for it (its own message
  with the same text or metadata in the conversation) and posts again only if it is not
  there. Errors Slack gives before doing anything (``service_unavailable``,
  ``request_timeout``, a 5xx with such a body, a refused connection) are retried with
  back-off; at most ``max_attempts`` posts in all. An ephemeral or ``response_url`` reply
  cannot be looked up, so it is retried only on those "not done" errors. When delivery
  cannot be known, :class:`DeliveryUnknown` is raised: the guard then logs but neither
  resends nor apologises. The clients never retry a post blindly on a dropped connection
  (:func:`retry_handlers`).
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import random
import socket
import time
import urllib.error
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.webhook import WebhookClient

from ..slack_api.calls import ApiAnswer, call_once, retry_handlers
from ..slack_api.history import DeliveryUnknown, History
from ..slack_api.plain import PLAIN_TEXT_LIMIT, TEXT_FALLBACK_ERRORS
from .blocks import Message, split_text, to_dicts
from .metrics import Metrics

__all__ = ["Delivery", "DeliveryUnknown", "retry_handlers"]

_NOT_REACHABLE = {"channel_not_found", "not_in_channel", "is_archived", "user_not_in_channel"}

MAX_ATTEMPTS = 3  # posts of one message at most (transient errors, checked uncertainties)
BACKOFF = 1.0  # seconds before the 2nd attempt (or the look-up), doubling, jittered
LOOKBACK_SECONDS = 300  # a look-up considers the bot's messages this far back

log = logging.getLogger(__name__)


def _attempt(method: Callable[..., Any], **kwargs: Any) -> tuple[ApiAnswer, Exception | None]:
    """One call, classified (:func:`~bot.slack_api.calls.call_once`), with the exception it
    raised."""
    caught: list[Exception] = []

    def call(**kw: Any) -> Any:
        try:
            return method(**kw)
        except Exception as exc:
            caught.append(exc)
            raise

    answer = call_once(call, **kwargs)
    return answer, (caught[0] if caught else None)


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "unknown")) if exc.response is not None else "unknown"


class Delivery:
    def __init__(
        self,
        client: WebClient,
        metrics: Metrics,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: float = BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.max_attempts, self.backoff, self._sleep = max(1, max_attempts), backoff, sleep
        # Look-ups answer once or raise: the post's own attempts are the retries.
        self.history = History(client, max_attempts=1, sleep=sleep)

    def _count(self, method: str, error: str) -> None:
        self.metrics.api_errors.labels(method, error).inc()

    # ---- public messages ------------------------------------------------------------------

    def post(
        self,
        channel: str,
        messages: Sequence[Message],
        *,
        thread_ts: str | None = None,
        metadata: dict | None = None,
        look_since: float | None = None,
    ) -> str | None:
        """Post ``messages`` in order (in ``thread_ts`` if given); the ts of the first one.
        ``look_since`` (with ``metadata``): an earlier process may have posted them already
        (work taken over after a crash): if the bot's message with that metadata is in the
        conversation since then, nothing is posted and its ts is returned."""
        if look_since is not None and metadata:
            found = self.find_reply(
                channel, thread_ts=thread_ts, metadata=metadata, since=look_since
            )
            if found:
                return found
        first: str | None = None
        for n, message in enumerate(messages):
            ts = self._post_one(
                channel, message, thread_ts=thread_ts, metadata=metadata if n == 0 else None
            )
            first = first or ts
        return first

    def _post_one(
        self, channel: str, message: Message, *, thread_ts: str | None, metadata: dict | None
    ) -> str | None:
        since = time.time()
        for attempt in range(1, self.max_attempts + 1):
            answer, exc = _attempt(
                self.client.chat_postMessage,
                channel=channel,
                thread_ts=thread_ts,
                text=message.text,
                blocks=to_dicts(message.blocks),
                metadata=metadata,
            )
            if answer.kind == "ok":
                return answer.data.get("ts")
            self._count("chat.postMessage", answer.error or "unknown")
            if answer.kind == "fallback":
                log.warning(
                    "chat.postMessage refused the blocks (%s); sending plain text", answer.error
                )
                return self._post_plain(channel, message, thread_ts=thread_ts)
            if answer.kind in ("permanent", "limited") or exc is None:
                raise exc or RuntimeError(f"chat.postMessage failed: {answer.error}")
            last = attempt == self.max_attempts
            if answer.kind == "transient" and last:
                raise exc  # certainly not delivered: the caller tells the user
            self._back_off(attempt)
            if answer.kind != "transient":  # it may have arrived: look before posting again
                ts = self._find_posted(
                    channel, message, thread_ts=thread_ts, metadata=metadata, since=since
                )
                if ts:
                    log.info(
                        "chat.postMessage (%s) had arrived; not posting it again", answer.error
                    )
                    return ts
                if last:
                    raise exc  # looked: not there, so not delivered
            log.warning(
                "chat.postMessage failed (%s); attempt %d of %d",
                answer.error,
                attempt + 1,
                self.max_attempts,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _post_plain(self, channel: str, message: Message, *, thread_ts: str | None) -> str | None:
        ts: str | None = None
        for piece in split_text(message.text, PLAIN_TEXT_LIMIT):
            resp = self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=piece)
            ts = ts or resp.get("ts")
        return ts

    def find_reply(
        self, channel: str, *, thread_ts: str | None, metadata: Mapping[str, Any], since: float
    ) -> str | None:
        """The ts of the bot's message carrying ``metadata`` in the conversation (thread)
        since ``since``, or None. Raises :class:`DeliveryUnknown` if Slack can't say."""
        found = self._find_posted(
            channel, None, thread_ts=thread_ts, metadata=metadata, since=since
        )
        if found:
            log.info(
                "the reply to %s had been posted before the restart; not posting it again",
                (metadata.get("event_payload") or {}).get("request"),
            )
        return found

    def _back_off(self, attempt: int) -> None:
        self._sleep(self.backoff * 2 ** (attempt - 1) * random.uniform(0.75, 1.0))

    def _find_posted(
        self,
        channel: str,
        message: Message | None,
        *,
        thread_ts: str | None,
        metadata: Mapping[str, Any] | None,
        since: float,
    ) -> str | None:
        """The ts of this bot's message in ``channel`` (in ``thread_ts``'s thread if given)
        posted since ``since`` minus :data:`LOOKBACK_SECONDS` with ``message``'s text or
        ``metadata``; None if none. Raises :class:`DeliveryUnknown` if Slack can't say."""
        moment = datetime.fromtimestamp(since - LOOKBACK_SECONDS, UTC)
        event_type = str(metadata.get("event_type")) if metadata else None
        match = (metadata or {}).get("event_payload") or {}
        try:
            found = self.history.find(
                channel,
                event_type=event_type,
                match=match,
                since=moment,
                thread_ts=thread_ts,
                text=message.text if message is not None else None,
            )
        except DeliveryUnknown as exc:
            if thread_ts and exc.error == "thread_not_found":
                return None  # no such thread (yet): nothing of ours in it
            raise DeliveryUnknown(
                f"could not look in {channel} for the message", error=exc.error
            ) from exc
        return found[1] if found else None

    def open_view(self, trigger_id: str | None, view: dict | View) -> bool:
        """``views.open``; False (counted) when Slack says the trigger expired — the caller
        asks the user to click again. Other errors raise."""
        try:
            self.client.views_open(trigger_id=trigger_id or "", view=view)
            return True
        except SlackApiError as exc:
            if _error(exc) != "expired_trigger_id":
                raise
            self._count("views.open", "expired_trigger_id")
            return False

    def complete_stream(
        self, channel: str, ts: str, message: Message, metadata: dict | None
    ) -> str | None:
        """Make ``ts`` — a message a stopped process was streaming a reply into — the whole
        ``message`` (with ``metadata``): its stream is stopped if Slack still has it open,
        then it is updated. Its ts, or None when it cannot be (gone, or not ours): post."""
        with contextlib.suppress(SlackApiError):  # already stopped, by Slack or by us
            self.client.chat_stopStream(channel=channel, ts=ts)
        try:
            self.client.chat_update(
                channel=channel,
                ts=ts,
                text=message.text,
                blocks=to_dicts(message.blocks),
                metadata=metadata,
            )
        except SlackApiError as exc:
            self._count("chat.update", _error(exc))
            log.info("the streamed reply %s could not be completed (%s)", ts, _error(exc))
            return None
        log.info("completed the reply a stopped process had been streaming (%s)", ts)
        return ts

    def update(self, channel: str, ts: str, message: Message) -> None:
        try:
            self.client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=to_dicts(message.blocks)
            )
        except SlackApiError as exc:
            error = _error(exc)
            self._count("chat.update", error)
            if error not in TEXT_FALLBACK_ERRORS:
                raise
            self.client.chat_update(
                channel=channel, ts=ts, text=message.text[:PLAIN_TEXT_LIMIT], blocks=[]
            )

    # ---- private replies ------------------------------------------------------------------

    def _via_response_url(self, url: str, payload: dict) -> tuple[bool, str]:
        """(sent, why not). A refused connection is "not sent"; a timeout or lost answer
        may have posted it and nothing can look: :class:`DeliveryUnknown`."""
        hook = WebhookClient(url, retry_handlers=retry_handlers())
        try:
            resp = hook.send_dict(payload)
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError | socket.gaierror):
                return False, "connection_refused"
            raise DeliveryUnknown("response_url: no answer") from exc
        except (TimeoutError, http.client.HTTPException, OSError) as exc:
            raise DeliveryUnknown("response_url: no answer") from exc
        if resp.status_code == 200:
            return True, ""
        return False, (resp.body or str(resp.status_code))[:200]

    def reply(
        self,
        message: Message,
        *,
        user: str,
        channel: str | None,
        response_url: str | None = None,
        replace_original: bool = False,
        in_channel: bool = False,
    ) -> None:
        """A reply to one user (or, ``in_channel``, to the channel) that always arrives."""
        pieces = [message]
        if response_url:
            payload = {
                "text": message.text,
                "blocks": to_dicts(message.blocks),
                "response_type": "in_channel" if in_channel else "ephemeral",
                "replace_original": replace_original,
            }
            ok, why = self._via_response_url(response_url, payload)
            if ok:
                return
            if "invalid_blocks" in why or "msg_too_long" in why:
                pieces = [
                    Message(text=p, blocks=[]) for p in split_text(message.text, PLAIN_TEXT_LIMIT)
                ]
                payload = {**payload, "blocks": [], "text": pieces[0].text}
                ok, why = self._via_response_url(response_url, payload)
                if ok and len(pieces) == 1:
                    return
                if ok:
                    pieces = pieces[1:]
            self._count("response_url", why.split()[0] if why else "failed")
            log.info("response_url failed (%s); falling back to the Web API", why)
        if in_channel and channel:
            self.post(channel, pieces)
            return
        for piece in pieces:
            self._ephemeral_or_dm(piece, user=user, channel=channel)

    def _ephemeral_or_dm(self, message: Message, *, user: str, channel: str | None) -> None:
        if channel and not channel.startswith("D"):
            for attempt in range(1, self.max_attempts + 1):
                answer, exc = _attempt(
                    self.client.chat_postEphemeral,
                    channel=channel,
                    user=user,
                    text=message.text,
                    blocks=to_dicts(message.blocks),
                )
                if answer.kind == "ok":
                    return
                self._count("chat.postEphemeral", answer.error or "unknown")
                if answer.kind in ("uncertain", "maybe"):  # can't be looked up: no resend
                    raise DeliveryUnknown(f"chat.postEphemeral: {answer.error}") from exc
                if answer.kind == "transient" and attempt < self.max_attempts:
                    self._back_off(attempt)
                    continue
                if answer.error in _NOT_REACHABLE | TEXT_FALLBACK_ERRORS:
                    break
                raise exc or RuntimeError(f"chat.postEphemeral failed: {answer.error}")
        self.post(user if not channel or not channel.startswith("D") else channel, [message])
