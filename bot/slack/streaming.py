"""An answer streamed into its thread while the model writes it: ``chat.startStream``,
``chat.appendStream`` and ``chat.stopStream`` through slack_sdk's ``ChatStream`` (what
bolt's ``say_stream`` returns).

The model's thread hands text over (:meth:`StreamedReply.append`); the listener finishes
(:meth:`StreamedReply.finish`) with the answer to show in the end:

* the same text as streamed: the stream is stopped with the sources and feedback buttons
  under it and the reply's metadata (a restart finds it by that, as it finds posted replies);
* another text (the model's reply was rejected or cut off after its text began, so the
  offline answer replaces it): the stream is stopped and the message is updated to the
  whole answer — one message, never a second;
* nothing was streamed, or Slack refused the stream before it started: ``finish`` returns
  None and the caller posts the answer as usual;
* ``chat.startStream`` got no answer (a timeout, a dropped connection): Slack may still
  start the stream later. ``finish`` returns None with :attr:`StreamedReply.start_unknown`
  set; the caller looks for the late stream once it can have landed
  (:meth:`bot.slack.delivery.Delivery.adopt_late_stream`) and makes it the answer, posting
  only when it is not there — one message, never a second.

A Slack error in the middle stops the streaming (counted); ``finish`` then makes the message
right with ``chat.update``. The text is escaped as every other answer is, so nothing a model
writes becomes a mention or a link.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.models.blocks import Block

from ..slack_api.messages import start_stream, update_message
from .blocks import Message, escape, to_dicts
from .metrics import Metrics

log = logging.getLogger("fwbot.slack")

# Characters held before an append: a few calls a second at a model's pace, well inside
# chat.appendStream's rate tier, yet the reader sees the answer grow.
STREAM_BUFFER = 120
FLUSH_SECONDS = 0.5  # held text is sent at least this often
# A whole streamed message stays under this (Slack's limit for one message's text);
# text beyond it waits for finish(), which updates the message.
MAX_STREAMED_CHARS = 11_000


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return str(exc.response.get("error", "unknown"))
    return type(exc).__name__


class StreamedReply:
    """One streamed answer; safe to append from one thread while another finishes it."""

    def __init__(
        self,
        client: WebClient,
        metrics: Metrics,
        *,
        channel: str,
        thread_ts: str,
        user: str,
        team_id: str | None,
        buffer_size: int = STREAM_BUFFER,
        on_started: Callable[[str], object] | None = None,
    ) -> None:
        """``on_started``: told the message's ts once it exists (the request keeps it, so
        that work taken over after a crash completes this message)."""
        # Slack needs the reader outside a DM; named in a DM too (it does no harm there, and
        # some workspaces ask for it with a bot token).
        recipients: dict[str, Any] = {"recipient_user_id": user}
        if team_id:
            recipients["recipient_team_id"] = team_id
        self.channel, self.metrics = channel, metrics
        self._client = client
        self._stream = start_stream(
            client, channel=channel, thread_ts=thread_ts, buffer_size=buffer_size, **recipients
        )
        self._lock = threading.Lock()
        self.handed = ""  # the text handed over so far (shown, or held in the buffer)
        self.broken = False
        self.as_written = False  # finished as streamed (else replaced by ``whole``, or not at all)
        self._closed = False
        self._flushed = 0.0
        self._on_started = on_started
        # chat.startStream got no answer: the stream may still start, showing this text
        self.start_unknown = False
        self.first_text: str | None = None
        self.started_at = time.time()

    @property
    def ts(self) -> str | None:
        """The streamed message's ts; None until the first piece reached Slack."""
        return self._stream.ts

    def append(self, piece: str) -> None:
        with self._lock:
            if self._closed or self.broken:
                return
            if len(self.handed) + len(piece) > MAX_STREAMED_CHARS:
                self.broken = True  # finish() shows the rest by updating the message
                return
            self.handed += piece
            now = time.monotonic()
            # The first piece starts the stream at once; then text is held until there is
            # enough of it, or it has waited long enough.
            flush = self.ts is None or now - self._flushed >= FLUSH_SECONDS
            started = self.ts is not None
            if not started:
                self.first_text, self.started_at = escape(piece), time.time()
            try:
                if flush:
                    self._stream.append(markdown_text=escape(piece), chunks=[])
                    self._flushed = now
                else:
                    self._stream.append(markdown_text=escape(piece))
            except (SlackApiError, SlackRequestError, OSError) as exc:
                self._broke("chat.appendStream" if self.ts else "chat.startStream", exc)
                if self.ts is None and not isinstance(exc, SlackApiError) and flush:
                    self.start_unknown = True  # no answer: it may still land
            if not started and self.ts is not None and self._on_started is not None:
                self._on_started(self.ts)

    def finish(
        self, answer_text: str, whole: Message, footer: list[Block], metadata: dict | None
    ) -> str | None:
        """End the stream showing ``answer_text`` (``whole``: the answer as one ordinary
        message, ``footer``: the blocks under a streamed text). The message's ts, or None
        when nothing reached Slack: the caller posts ``whole`` itself."""
        with self._lock:
            self._closed = True
            as_streamed = not self.broken and self.handed.strip() == answer_text.strip()
            if not self.handed or (self.ts is None and not as_streamed):
                return None  # nothing shown yet: an ordinary post is simplest
            if as_streamed:
                try:
                    self._stream.stop(blocks=to_dicts(footer), metadata=metadata)
                    self.metrics.streamed.labels("streamed").inc()
                    self.as_written = True
                    return self.ts
                except (SlackApiError, SlackRequestError, OSError) as exc:
                    self._broke("chat.stopStream", exc)
                    if self.ts is None:
                        return None
            elif not self.broken:
                self._stop_quietly()
            return self._replace(whole, metadata)

    def _replace(self, whole: Message, metadata: dict | None) -> str | None:
        """Make the streamed message the whole answer (None: it could not be, post it)."""
        ts = self.ts
        assert ts is not None
        try:
            update_message(
                self._client,
                self.channel,
                ts,
                text=whole.text,
                blocks=to_dicts(whole.blocks),
                metadata=metadata,
            )
        except (SlackApiError, OSError) as exc:
            self.metrics.api_errors.labels("chat.update", _error(exc)).inc()
            log.warning("a streamed answer could not be completed (%s); posting it", _error(exc))
            self.metrics.streamed.labels("reposted").inc()
            return None
        self.metrics.streamed.labels("replaced").inc()
        return ts

    def _stop_quietly(self) -> None:
        try:
            self._stream.stop()
        except (SlackApiError, SlackRequestError, OSError) as exc:
            self._broke("chat.stopStream", exc)

    def _broke(self, method: str, exc: Exception) -> None:
        self.broken = True
        self.metrics.api_errors.labels(method, _error(exc)).inc()
        log.warning("streaming stopped: %s failed (%s)", method, _error(exc))
