"""Getting a reply to the user, whatever Slack says: the fallbacks live here.

* A message Slack rejects as ``invalid_blocks`` or ``msg_too_long`` is sent again as plain
  text, split into pieces Slack accepts — the content is never dropped.
* A private reply goes through the ``response_url``; when that is used up or expired it falls
  back to ``chat.postEphemeral``, and when the bot is not in the channel, to a DM.
* Rate limits are retried by the clients' retry handlers (honouring ``Retry-After``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from .blocks import Message, split_text, to_dicts
from .metrics import Metrics

PLAIN_PIECE = 3900  # characters of a plain-text fallback message (Slack shows ~4,000 whole)
_REBUILD_AS_TEXT = {"invalid_blocks", "msg_too_long", "invalid_blocks_format"}
_NOT_REACHABLE = {"channel_not_found", "not_in_channel", "is_archived", "user_not_in_channel"}

log = logging.getLogger(__name__)


def retry_handlers() -> list:
    return [RateLimitErrorRetryHandler(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=2)]


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "unknown")) if exc.response is not None else "unknown"


class Delivery:
    def __init__(self, client: WebClient, metrics: Metrics) -> None:
        self.client = client
        self.metrics = metrics

    def _count(self, method: str, error: str) -> None:
        self.metrics.api_errors.labels(method, error).inc()

    # ---- public messages ------------------------------------------------------------------

    def post(self, channel: str, messages: Sequence[Message], *, thread_ts: str | None = None,
             metadata: dict | None = None) -> str | None:
        """Post ``messages`` in order (in ``thread_ts`` if given); the ts of the first one."""
        first: str | None = None
        for n, message in enumerate(messages):
            ts = self._post_one(channel, message, thread_ts=thread_ts,
                                metadata=metadata if n == 0 else None)
            first = first or ts
        return first

    def _post_one(self, channel: str, message: Message, *, thread_ts: str | None,
                  metadata: dict | None) -> str | None:
        try:
            resp = self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=message.text,
                blocks=to_dicts(message.blocks), metadata=metadata,
            )
            return resp.get("ts")
        except SlackApiError as exc:
            error = _error(exc)
            self._count("chat.postMessage", error)
            if error not in _REBUILD_AS_TEXT:
                raise
            log.warning("chat.postMessage refused the blocks (%s); sending plain text", error)
        ts: str | None = None
        for piece in split_text(message.text, PLAIN_PIECE):
            resp = self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=piece)
            ts = ts or resp.get("ts")
        return ts

    def open_view(self, trigger_id: str | None, view: object) -> bool:
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

    def update(self, channel: str, ts: str, message: Message) -> None:
        try:
            self.client.chat_update(channel=channel, ts=ts, text=message.text,
                                    blocks=to_dicts(message.blocks))
        except SlackApiError as exc:
            error = _error(exc)
            self._count("chat.update", error)
            if error not in _REBUILD_AS_TEXT:
                raise
            self.client.chat_update(channel=channel, ts=ts, text=message.text[:PLAIN_PIECE],
                                    blocks=[])

    # ---- private replies ------------------------------------------------------------------

    def _via_response_url(self, url: str, payload: dict) -> tuple[bool, str]:
        hook = WebhookClient(url, retry_handlers=retry_handlers())
        resp = hook.send_dict(payload)
        if resp.status_code == 200:
            return True, ""
        return False, (resp.body or str(resp.status_code))[:200]

    def reply(self, message: Message, *, user: str, channel: str | None,
              response_url: str | None = None, replace_original: bool = False,
              in_channel: bool = False) -> None:
        """A reply to one user (or, ``in_channel``, to the channel) that always arrives."""
        pieces = [message]
        if response_url:
            payload = {"text": message.text, "blocks": to_dicts(message.blocks),
                       "response_type": "in_channel" if in_channel else "ephemeral",
                       "replace_original": replace_original}
            ok, why = self._via_response_url(response_url, payload)
            if ok:
                return
            if "invalid_blocks" in why or "msg_too_long" in why:
                pieces = [Message(text=p, blocks=[]) for p in split_text(message.text,
                                                                        PLAIN_PIECE)]
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
            try:
                self.client.chat_postEphemeral(channel=channel, user=user, text=message.text,
                                               blocks=to_dicts(message.blocks))
                return
            except SlackApiError as exc:
                error = _error(exc)
                self._count("chat.postEphemeral", error)
                if error not in _NOT_REACHABLE | _REBUILD_AS_TEXT:
                    raise
        self.post(user if not channel or not channel.startswith("D") else channel, [message])
