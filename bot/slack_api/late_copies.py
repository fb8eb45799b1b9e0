"""One message, even when a post Slack was slow to take lands after it was sent again.

Slack has no idempotency key for ``chat.postMessage``. The posting rule
(:mod:`.posting`) waits until a post whose fate is unknown can have landed, looks in the
history, and sends again only when it is not there; a post slower still than that window
lands beside the second one. Such a post comes back :attr:`~.posting.Posted.may_land_twice`,
and its sender hands it here: :class:`LateCopies` looks in the conversation again after each
of ``after`` seconds and deletes (``chat.delete``) every copy of the message — this bot's
messages with the same metadata — but the one the bot kept (whose ts it recorded).

The look-ups run on timers, off the path of the reply; one that fails is logged and counted
and tried again at the next check. Checks still pending when the process stops are not run:
the copy then stays (as rare as a post later than the settle window in a process that stops
within a minute of it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .history import DeliveryUnknown, History
from .messages import delete_message
from .posting import attempt

__all__ = ["LATE_CHECKS", "LateCopies", "Watched"]

log = logging.getLogger(__name__)

# Seconds after a post that may land twice at which the history is read again: a post still
# on its way after the settle window lands within seconds; the last look is the bound.
LATE_CHECKS: tuple[float, ...] = (15.0, 60.0)


@dataclass(frozen=True)
class Watched:
    """A message posted again after a try that may still land: where it is (``channel_id``,
    ``thread_ts``), the copy kept (``keep_ts``), the metadata its copies carry, and when the
    first try was sent (``since``, epoch seconds)."""

    channel_id: str
    keep_ts: str
    metadata: Mapping[str, Any]
    since: float
    thread_ts: str | None = None


class LateCopies:
    """Deletes the late copies of watched messages (see the module docstring). Thread-safe.
    ``on_deleted`` / ``on_error``: told each deleted copy / each failed look-up or deletion
    (metrics)."""

    def __init__(
        self,
        history: History,
        *,
        after: Sequence[float] = LATE_CHECKS,
        on_deleted: Callable[[], object] | None = None,
        on_error: Callable[[str], object] | None = None,
    ) -> None:
        self.history = history
        self.after = tuple(after)
        self._on_deleted, self._on_error = on_deleted, on_error
        self._lock = threading.Condition()
        self._pending = 0
        self._stopped = False
        self._timers: set[threading.Timer] = set()

    def watch(self, message: Watched) -> None:
        """Check ``message``'s conversation for late copies after each of :attr:`after`
        seconds (counted from now). Messages without metadata are not watched: nothing
        tells their copies from another message with the same words."""
        if not message.metadata or not message.metadata.get("event_type") or not self.after:
            log.warning("a post may land twice, and carries no metadata to find its copy by")
            return
        started = time.monotonic()
        with self._lock:
            if self._stopped:
                return
            self._pending += 1
        self._schedule(message, started, 0)

    def _schedule(self, message: Watched, started: float, check: int) -> None:
        delay = max(0.0, started + self.after[check] - time.monotonic())
        timer = threading.Timer(delay, self._run, args=(message, started, check))
        timer.daemon = True
        timer.name = "fwbot-late-copies"
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def _run(self, message: Watched, started: float, check: int) -> None:
        with self._lock:
            self._timers.discard(threading.current_thread())
        try:
            self.sweep(message)
        except Exception:  # a timer thread: log, never die silently
            log.exception("looking for a late copy of a message failed")
            self._error("exception")
        finally:
            with self._lock:
                stopped = self._stopped
            if check + 1 < len(self.after) and not stopped:
                self._schedule(message, started, check + 1)
            elif not stopped:
                with self._lock:
                    self._pending = max(0, self._pending - 1)
                    self._lock.notify_all()

    def sweep(self, message: Watched) -> list[str]:
        """Deletes every copy of ``message`` but ``keep_ts`` now; the ts deleted."""
        metadata = message.metadata
        try:
            copies = self.history.find_all(
                message.channel_id,
                event_type=str(metadata.get("event_type")),
                match=metadata.get("event_payload") or {},
                since=datetime.fromtimestamp(message.since, UTC),
                channel_id=message.channel_id,
                thread_ts=message.thread_ts,
            )
        except DeliveryUnknown as exc:
            log.warning("could not look for a late copy of a message: %s", exc)
            self._error(exc.error or "unknown")
            return []
        deleted = []
        for channel_id, ts in copies:
            if ts == message.keep_ts:
                continue
            answer, _ = attempt(
                delete_message, client=self.history.client, channel=channel_id, ts=ts
            )
            if answer.kind == "ok" or answer.error == "message_not_found":
                log.info("deleted a copy of a message that landed late (%s)", ts)
                deleted.append(ts)
                if self._on_deleted is not None:
                    self._on_deleted()
            else:
                log.warning("could not delete a late copy of a message: %s", answer.error)
                self._error(answer.error or "unknown")
        return deleted

    def _error(self, error: str) -> None:
        if self._on_error is not None:
            self._on_error(error)

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Until every watched message had all its checks; False on timeout (tests)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def stop(self) -> int:
        """Cancels the checks not yet started; how many watched messages are left unchecked."""
        with self._lock:
            self._stopped = True
            timers, self._timers = list(self._timers), set()
            for timer in timers:
                timer.cancel()
            left, self._pending = self._pending, 0
            self._lock.notify_all()
        if left:
            log.warning("stopping with %d message(s) not checked for late copies", left)
        return left
