"""The recovery pass, in a thread of the running server: :func:`~bot.slack.durable.recover`
now, every minute, and at once when woken (:meth:`RecoveryLoop.wake`: a full replica has room
again for the work it deferred, see :mod:`bot.slack.backpressure`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("fwbot.slack")

RECOVER_EVERY = 60.0  # seconds between recovery passes in a running server


class RecoveryLoop:
    """Runs ``run`` (a recovery pass) now and every ``every`` seconds in a thread, and
    ``woken`` (a quick one) when :meth:`wake` is called in between, until :meth:`stop`; a
    failing pass (the database away) is logged and tried again at the next."""

    def __init__(
        self,
        run: Callable[[], int],
        *,
        every: float = RECOVER_EVERY,
        woken: Callable[[], int] | None = None,
    ) -> None:
        self._run, self.every, self._woken = run, every, woken
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fwbot-recovery", daemon=True)

    def start(self) -> RecoveryLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Run a pass now (work was deferred and there is room for it again)."""
        self._wake.set()

    def _loop(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            self._wake.clear()  # a wake from now on runs another pass
            try:
                if time.monotonic() >= due:
                    due = time.monotonic() + self.every
                    self._run()
                elif self._woken is not None:
                    self._woken()
            except Exception as exc:
                log.warning(
                    "recovery pass failed (%s: %s); next in %.0f s",
                    type(exc).__name__,
                    first_line(exc),
                    self.every,
                )
            self._wake.wait(max(0.0, due - time.monotonic()))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""
