"""The paced sender of nudges and the digest, the Slack-facing half of exactly-once sends.

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
    :class:`~bot.slack_api.history.DeliveryUnknown`, do not send again.

Rate limits are shared through an :class:`~bot.slack_api.pacing.AdaptivePacer`. The client
must not retry on its own (a retried timeout can post twice): use
:func:`~bot.slack_api.calls.sender_client`.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from slack_sdk import WebClient

from .calls import FATAL_ERRORS
from .history import History, is_user
from .late_copies import LATE_CHECKS, LateCopies, Watched
from .messages import update_message
from .pacing import AdaptivePacer
from .plain import plain_prefix
from .posting import BACKGROUND, post_message

log = logging.getLogger(__name__)

Outcome = Literal["sent", "permanent", "retry", "uncertain"]


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
        late_checks: tuple[float, ...] = LATE_CHECKS,
    ) -> None:
        self.client, self.pacer = client, pacer
        self.policy = dataclasses.replace(
            BACKGROUND,
            max_attempts=max(1, max_attempts),
            backoff=backoff,
            max_rate_limited=max_rate_limited,
        )
        self._sleep, self._rng = sleep, rng
        self.history = History(
            client,
            max_attempts=max_attempts,
            backoff=backoff,
            sleep=sleep,
            max_rate_limited=max_rate_limited,
            rng=rng,
        )
        self.late_copies = LateCopies(self.history, after=late_checks)

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
        them) with ``metadata`` (``{"event_type": ..., "event_payload": {...}}``), under the
        one retry policy (:mod:`bot.slack_api.posting`, :data:`~.posting.BACKGROUND` with
        this sender's ``max_attempts``): 429s wait out Retry-After through the pacer (up to
        ``max_rate_limited`` seconds in all); transient errors are retried with exponential
        backoff; refused blocks are sent once more as plain text; ``internal_error`` /
        ``fatal_error`` (which Slack says may have applied) are looked for in the history
        before a retry; a timeout or lost connection is ``uncertain`` at once, never retried
        blindly."""
        since = datetime.now(UTC)
        args: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "metadata": metadata,
            "thread_ts": thread_ts,
        }
        look = None
        if metadata and metadata.get("event_type"):

            def look(_args: Mapping[str, Any]) -> tuple[str, str] | None:
                return self.find_delivered(
                    channel,
                    event_type=str(metadata["event_type"]),
                    match=metadata.get("event_payload") or {},
                    since=since,
                    thread_ts=thread_ts,
                )

        posted = post_message(
            self.client,
            args,
            self.policy,
            pacer=self.pacer,
            look=look,
            plain=lambda text: [plain_prefix(text)],
            sleep=self._sleep,
            rng=self._rng,
        )
        if posted.outcome == "sent":
            channel_id = posted.channel_id
            if channel_id and is_user(channel) and not posted.found:
                self.history.remember_dm(channel, channel_id)
            if posted.may_land_twice and channel_id and posted.ts and metadata:
                self.watch_late_copies(
                    channel_id, posted.ts, metadata, since=since, thread_ts=thread_ts
                )
            return SendResult("sent", channel_id, posted.ts)
        outcome: Outcome = "uncertain" if posted.outcome == "unknown" else posted.outcome
        return SendResult(outcome, self.history.known_channel(channel), error=posted.error)

    def watch_late_copies(
        self,
        channel_id: str,
        ts: str,
        metadata: Mapping[str, Any],
        *,
        since: datetime,
        thread_ts: str | None = None,
    ) -> None:
        """``ts`` was sent after an earlier try whose fate was unknown (since ``since``):
        a late copy of that try is deleted when it shows (:mod:`.late_copies`)."""
        self.late_copies.watch(
            Watched(channel_id, ts, metadata, since=since.timestamp(), thread_ts=thread_ts)
        )

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
        """See :meth:`bot.slack_api.history.History.find`."""
        return self.history.find(
            channel,
            event_type=event_type,
            match=match,
            since=since,
            channel_id=channel_id,
            thread_ts=thread_ts,
        )

    # ---- the digest's other calls: an edit and its chart ------------------------------

    def update(self, channel: str, ts: str, *, text: str, blocks: list[dict] | None) -> None:
        """``chat.update`` (:func:`~bot.slack_api.messages.update_message`: blocks Slack
        refuses are replaced by the plain text, the one fallback rule). Other errors raise."""
        update_message(self.client, channel, ts, text=text, blocks=blocks)

    def upload(
        self, channel: str, *, thread_ts: str | None, content: bytes, filename: str, title: str
    ) -> str | None:
        """A file in ``channel`` (in ``thread_ts``'s thread); its id."""
        response = self.client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, content=content, filename=filename, title=title
        )
        file = response.get("file") or (response.get("files") or [{}])[0]
        return file.get("id")

    def delete_file(self, file_id: str) -> None:
        self.client.files_delete(file=file_id)
