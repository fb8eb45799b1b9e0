"""Getting a reply to the user, whatever Slack says: the fallbacks live here.

Every call goes through :mod:`bot.slack_api`; posts follow its one retry policy
(:mod:`bot.slack_api.posting`, :data:`~bot.slack_api.retry.INTERACTIVE` with this
delivery's ``max_attempts``, ``backoff`` and ``settle``):

* A message Slack rejects as ``invalid_blocks`` or ``msg_too_long`` is sent again as plain
  text, split into pieces Slack accepts — the content is never dropped.
* A private reply goes through the ``response_url``; when that is used up or expired it falls
  back to ``chat.postEphemeral``, and when the bot is not in the channel, to a DM.
* Rate limits are retried by the clients' retry handlers (honouring ``Retry-After``).
* A chat.postMessage that timed out, lost its answer, or got ``internal_error`` /
  ``fatal_error`` may have arrived: after a back-off — after a timeout or a lost answer,
  once it can have landed: ``settle`` seconds (a slow Slack lands a post after the client
  gave up) — the bot looks for it (its own message with the same text or metadata in the
  conversation) and posts again only if it is not there. Errors Slack gives before doing
  anything (``service_unavailable``, ``request_timeout``, a 5xx with such a body, a refused
  connection) are retried with back-off; at most ``max_attempts`` posts in all. An
  post sent again after a try the history did not show yet is checked later for a late
  copy of that try, which is deleted (:mod:`~bot.slack_api.late_copies`). An
  ephemeral or ``response_url`` reply cannot be looked up, so it is retried only on those
  "not done" errors; one that timed out (the ``response_url`` too waits the client's
  timeout) is sent again by no other way. When delivery cannot be known,
  :class:`DeliveryUnknown` is raised: the guard then logs but neither resends nor
  apologises. The clients never retry a post blindly on a dropped connection
  (:func:`retry_handlers`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from ..slack_api.calls import retry_handlers
from ..slack_api.history import DeliveryUnknown, History
from ..slack_api.hosts import trusted_local
from ..slack_api.late_copies import LATE_CHECKS, LateCopies, Watched
from ..slack_api.messages import stop_stream, update_message
from ..slack_api.plain import PLAIN_TEXT_LIMIT, TEXT_FALLBACK_ERRORS
from ..slack_api.posting import INTERACTIVE, SETTLE, Posted, RetryPolicy, post_message
from ..slack_api.response_url import send_to_response_url
from ..slack_api.views import error_of, open_view
from .blocks import Message, split_text, to_dicts
from .metrics import Metrics

__all__ = ["Delivery", "DeliveryUnknown", "retry_handlers"]

_NOT_REACHABLE = {"channel_not_found", "not_in_channel", "is_archived", "user_not_in_channel"}

MAX_ATTEMPTS = INTERACTIVE.max_attempts  # posts of one message at most
BACKOFF = INTERACTIVE.backoff  # seconds before the 2nd attempt (or the look-up), doubling
LOOKBACK_SECONDS = 300  # a look-up considers the bot's messages this far back

log = logging.getLogger(__name__)


def _plain_pieces(text: str) -> list[str]:
    return split_text(text, PLAIN_TEXT_LIMIT)


def _raise(posted: Posted, method: str) -> None:
    """Raise what a post that did not go through raised (:class:`DeliveryUnknown` when the
    look-up could not tell)."""
    if posted.exception is not None:
        raise posted.exception
    raise RuntimeError(f"{method} failed: {posted.error}")


class Delivery:
    def __init__(
        self,
        client: WebClient,
        metrics: Metrics,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: float = BACKOFF,
        settle: float = SETTLE,
        sleep: Callable[[float], None] = time.sleep,
        late_checks: Sequence[float] = LATE_CHECKS,
    ) -> None:
        """``settle``: seconds after a post timed out (or lost its answer) before the history
        is believed (:data:`~bot.slack_api.retry.SETTLE`); ``late_checks``: when a post sent
        again is checked for a late copy of the first try (:mod:`~bot.slack_api.late_copies`)."""
        self.client = client
        self.metrics = metrics
        self.max_attempts, self.backoff, self._sleep = max(1, max_attempts), backoff, sleep
        self.settle = settle
        # Look-ups answer once or raise: the post's own attempts are the retries.
        self.history = History(client, max_attempts=1, sleep=sleep)
        self.late_copies = LateCopies(
            History(client, sleep=sleep),  # off the reply's path: reads retried
            after=late_checks,
            on_deleted=metrics.late_copies.inc,
            on_error=lambda error: self._count("chat.delete", error),
        )

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

    def _policy(self) -> RetryPolicy:
        return dataclasses.replace(
            INTERACTIVE,
            max_attempts=max(1, self.max_attempts),
            backoff=self.backoff,
            settle=self.settle,
        )

    def _post_one(
        self, channel: str, message: Message, *, thread_ts: str | None, metadata: dict | None
    ) -> str | None:
        since = time.time()

        def look(args: Mapping[str, Any]) -> tuple[str, str] | None:
            shown = Message(text=str(args.get("text") or ""), blocks=[])
            ts = self._find_posted(
                channel, shown, thread_ts=thread_ts, metadata=metadata, since=since
            )
            return (channel, ts) if ts else None

        posted = post_message(
            self.client,
            {
                "channel": channel,
                "thread_ts": thread_ts,
                "text": message.text,
                "blocks": to_dicts(message.blocks),
                "metadata": metadata,
            },
            self._policy(),
            look=look,
            plain=_plain_pieces,
            sleep=self._sleep,
            on_error=lambda error: self._count("chat.postMessage", error),
        )
        if posted.outcome != "sent":
            _raise(posted, "chat.postMessage")
        if posted.may_land_twice and posted.ts:
            self.late_copies.watch(
                Watched(
                    channel_id=posted.channel_id or channel,
                    keep_ts=posted.ts,
                    metadata=metadata or {},
                    since=since,
                    thread_ts=thread_ts,
                )
            )
        return posted.ts

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
        if open_view(self.client, trigger_id, view):
            return True
        self._count("views.open", "expired_trigger_id")
        return False

    def complete_stream(
        self, channel: str, ts: str, message: Message, metadata: dict | None
    ) -> str | None:
        """Make ``ts`` — a message a stopped process was streaming a reply into — the whole
        ``message`` (with ``metadata``): its stream is stopped if Slack still has it open,
        then it is updated. Its ts, or None when it cannot be (gone, or not ours): post."""
        with contextlib.suppress(SlackApiError):  # already stopped, by Slack or by us
            stop_stream(self.client, channel, ts)
        try:
            update_message(
                self.client,
                channel,
                ts,
                text=message.text,
                blocks=to_dicts(message.blocks),
                metadata=metadata,
            )
        except SlackApiError as exc:
            self._count("chat.update", error_of(exc))
            log.info("the streamed reply %s could not be completed (%s)", ts, error_of(exc))
            return None
        log.info("completed the reply a stopped process had been streaming (%s)", ts)
        return ts

    def adopt_late_stream(
        self,
        channel: str,
        *,
        thread_ts: str,
        first_text: str,
        since: float,
        message: Message,
        metadata: dict | None,
    ) -> str | None:
        """A ``chat.startStream`` that got no answer (sent at ``since``, showing
        ``first_text``) may still land: once it can have (``settle`` seconds), look for it in
        ``thread_ts``'s thread; found, it becomes the whole ``message``
        (:meth:`complete_stream`) and its ts is returned; not there (or not to be
        completed): None, the caller posts. Raises :class:`DeliveryUnknown` when Slack
        cannot say — then nothing is posted."""
        self._sleep(max(0.0, since + self.settle - time.time()))
        try:  # a stream never stopped carries no metadata: a finished answer is never taken
            found = self.history.find(
                channel,
                event_type=None,
                match={},
                since=datetime.fromtimestamp(since, UTC),
                text=first_text,
                thread_ts=thread_ts,
                bare=True,
            )
        except DeliveryUnknown as exc:
            raise DeliveryUnknown(
                f"could not look in {channel} for a late stream", error=exc.error
            ) from exc
        ts = found[1] if found else None
        if ts is None:
            return None
        log.info("a stream Slack started late (%s) becomes the answer", ts)
        return self.complete_stream(channel, ts, message, metadata)

    def update(self, channel: str, ts: str, message: Message) -> None:
        """``chat.update`` of ``ts`` to ``message`` (plain text if Slack refuses its blocks);
        other errors raise."""
        update_message(
            self.client,
            channel,
            ts,
            text=message.text,
            blocks=to_dicts(message.blocks),
            on_error=lambda error: self._count("chat.update", error),
        )

    # ---- private replies ------------------------------------------------------------------

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
            local = trusted_local(self.client)
            ok, why = send_to_response_url(
                response_url, payload, timeout=self.client.timeout, local=local
            )
            if ok:
                return
            if "invalid_blocks" in why or "msg_too_long" in why:
                pieces = [
                    Message(text=p, blocks=[]) for p in split_text(message.text, PLAIN_TEXT_LIMIT)
                ]
                payload = {**payload, "blocks": [], "text": pieces[0].text}
                ok, why = send_to_response_url(
                    response_url, payload, timeout=self.client.timeout, local=local
                )
                if ok and len(pieces) == 1:
                    return
                if ok:
                    pieces = pieces[1:]
            self._count("response_url", why.split()[0] if why else "failed")
            if why.startswith("url_not_allowed"):  # a forged or replayed request's URL
                log.warning("response_url refused, %s; replying through the Web API", why)
            else:
                log.info("response_url failed (%s); falling back to the Web API", why)
        if in_channel and channel:
            self.post(channel, pieces)
            return
        for piece in pieces:
            self._ephemeral_or_dm(piece, user=user, channel=channel)

    def _ephemeral_or_dm(self, message: Message, *, user: str, channel: str | None) -> None:
        if channel and not channel.startswith("D"):
            posted = post_message(
                self.client,
                {
                    "channel": channel,
                    "user": user,
                    "text": message.text,
                    "blocks": to_dicts(message.blocks),
                },
                self._policy(),
                ephemeral=True,
                sleep=self._sleep,
                on_error=lambda error: self._count("chat.postEphemeral", error),
            )
            if posted.outcome == "sent":
                return
            if posted.outcome in ("uncertain", "unknown"):  # can't be looked up: no resend
                raise DeliveryUnknown(f"chat.postEphemeral: {posted.error}") from posted.exception
            if posted.error not in _NOT_REACHABLE | TEXT_FALLBACK_ERRORS:
                _raise(posted, "chat.postEphemeral")
        self.post(user if not channel or not channel.startswith("D") else channel, [message])
