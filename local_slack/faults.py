"""Fault injection for the fake Slack server: queued failures, dropped answers, rate limits
and slow methods."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ANY_METHOD = "*"


@dataclass(frozen=True)
class Failure:
    """An HTTP answer to send instead of the method's result."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def rate_limited(retry_after: int) -> Failure:
    """Slack's 429: ``Retry-After`` in whole seconds and ``error: ratelimited``."""
    return Failure(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


@dataclass
class _Queued:
    failure: Failure
    times: int


class _Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` stored."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.last = rate, burst, burst, now

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 if one is now)."""
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class Faults:
    """Failures queued per method, dropped answers, per-method delays, and chat.postMessage
    rate limits."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._queued: defaultdict[str, deque[_Queued]] = defaultdict(deque)
        self._drops: defaultdict[str, int] = defaultdict(int)
        self._delays: dict[str, float] = {}
        self._delays_left: dict[str, int] = {}  # method -> delayed calls left (absent: all)
        self._per_channel: float | None = None
        self._workspace: float | None = None
        self._burst = 1.0
        self._buckets: dict[str, _Bucket] = {}
        self._holds: dict[str, threading.Event] = {}  # method -> set when released
        self._waiting: defaultdict[str, int] = defaultdict(int)

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answers the next ``times`` calls of ``method`` with a failure. Status 429 (or any
        ``retry_after``) sends ``Retry-After`` (default 1) and ``error: ratelimited``."""
        if status == 429 or retry_after is not None:
            failure = rate_limited(1 if retry_after is None else retry_after)
        else:
            failure = Failure(status, {"ok": False, "error": error or "internal_error"})
        with self._lock:
            self._queued[method].append(_Queued(failure, times))

    def take_failure(self, method: str) -> Failure | None:
        """The failure due for this call of ``method``, consuming one use."""
        with self._lock:
            queue = self._queued.get(method)
            if not queue:
                return None
            head = queue[0]
            head.times -= 1
            if head.times <= 0:
                queue.popleft()
            return head.failure

    def drop_response(self, method: str, times: int = 1) -> None:
        """The next ``times`` executed calls of ``method`` get no answer: the connection is
        closed after the method ran."""
        with self._lock:
            self._drops[method] += max(0, times)

    def take_drop(self, method: str) -> bool:
        """Whether this executed call of ``method`` goes unanswered, consuming one drop."""
        with self._lock:
            if self._drops.get(method, 0) <= 0:
                return False
            self._drops[method] -= 1
            return True

    def delay(self, method: str, seconds: float, *, times: int | None = None) -> None:
        """Makes every call of ``method`` (``"*"``: all) take ``seconds`` longer — only the
        next ``times`` calls if given; 0 clears."""
        with self._lock:
            self._delays_left.pop(method, None)
            if seconds > 0:
                self._delays[method] = seconds
                if times is not None:
                    self._delays_left[method] = max(0, times)
            else:
                self._delays.pop(method, None)

    def delay_for(self, method: str) -> float:
        """The delay for this call of ``method`` (the larger of its own and ``"*"``),
        consuming one of a limited number of delayed calls."""
        with self._lock:
            pauses = []
            for key in (method, ANY_METHOD):
                if key not in self._delays:
                    continue
                left = self._delays_left.get(key)
                if left is not None:
                    if left <= 0:
                        continue
                    self._delays_left[key] = left - 1
                pauses.append(self._delays[key])
            return max(pauses, default=0.0)

    def rate_limit(
        self,
        per_channel_per_sec: float | None,
        workspace_per_sec: float | None,
        *,
        burst: float = 1.0,
    ) -> None:
        """Limits chat.postMessage per channel and per workspace (None: unlimited), as token
        buckets holding at most ``burst`` messages. Resets the buckets."""
        with self._lock:
            self._per_channel, self._workspace = per_channel_per_sec, workspace_per_sec
            self._burst = max(1.0, burst)
            self._buckets.clear()

    def admit_message(self, channel: str) -> Failure | None:
        """None if a message to ``channel`` may be posted now (consuming its tokens), else the
        429 to send, with Retry-After = seconds until allowed (rounded up, at least 1)."""
        with self._lock:
            now = self._clock()
            buckets = []
            for key, rate in ((f"channel:{channel}", self._per_channel), ("*", self._workspace)):
                if rate:
                    if key not in self._buckets:
                        self._buckets[key] = _Bucket(rate, self._burst, now)
                    buckets.append(self._buckets[key])
            wait = max((b.wait(now) for b in buckets), default=0.0)
            if wait > 0:
                return rate_limited(max(1, math.ceil(wait - 1e-9)))
            for bucket in buckets:
                bucket.tokens -= 1
            return None

    def hold(self, method: str) -> None:
        """Calls of ``method`` wait (unanswered, as a Slack that hangs) until
        :meth:`release`."""
        with self._lock:
            self._holds.setdefault(method, threading.Event())

    def release(self, method: str) -> None:
        with self._lock:
            gate = self._holds.pop(method, None)
        if gate is not None:
            gate.set()

    def held(self, method: str) -> int:
        """How many calls of ``method`` are waiting for :meth:`release` now."""
        with self._lock:
            return self._waiting[method]

    def wait_if_held(self, method: str) -> None:
        with self._lock:
            gate = self._holds.get(method)
            if gate is None:
                return
            self._waiting[method] += 1
        try:
            gate.wait()
        finally:
            with self._lock:
                self._waiting[method] -= 1

    def clear(self) -> None:
        """Forgets queued failures and dropped answers, delays and rate limits."""
        with self._lock:
            self._queued.clear()
            self._drops.clear()
            self._delays.clear()
            self._delays_left.clear()
            self._per_channel = self._workspace = None
            self._buckets.clear()
            holds, self._holds = list(self._holds.values()), {}
        for gate in holds:
            gate.set()
