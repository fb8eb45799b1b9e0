"""The in-process scheduler of `fwbot serve`: one pass (nudges, then the digest) a minute.

Passes are idempotent and claim what they send; under `fwbot serve` each replica's scheduler
takes a lock shared by the replicas first (bot/progress/passes.py: on_one_replica), so one
replica at a time runs a pass."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

log = logging.getLogger("fwbot.scheduler")


class Scheduler:
    def __init__(
        self,
        run_pass: Callable[[datetime], object],
        *,
        interval: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.run_pass = run_pass
        self.interval = interval
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0
        self.failures = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fwbot-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Let the running pass finish (up to ``timeout``), then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.tick()
            # Wait for the next interval boundary (passes every minute on the minute).
            elapsed = time.monotonic() - started
            wait = self.interval - (time.time() % self.interval) if elapsed < self.interval else 0
            self._stop.wait(max(0.5, wait))

    def tick(self) -> None:
        """One pass; a failure is logged and the next pass tries again."""
        try:
            self.run_pass(self.clock())
            self.passes += 1
        except Exception:
            self.failures += 1
            log.exception("scheduled pass failed; the next one runs in %.0f s", self.interval)
