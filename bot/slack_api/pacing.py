"""Pacing many Slack senders against a rate limit nobody tells us: :class:`AdaptivePacer`.

Threads that post messages share one pacer: each calls :meth:`AdaptivePacer.wait_turn` before
a request and reports the outcome with :meth:`~AdaptivePacer.on_success` or
:meth:`~AdaptivePacer.on_rate_limited`. Turns are handed out one at a time, spaced ``1/rate``
apart (measured from when the previous turn was actually taken, so a late thread never
squeezes two requests together), and nobody gets a turn before a Retry-After pause ends.

A 429 is expensive: every thread waits out Retry-After (a second or more) with nothing sent.
So the pacer learns the allowed rate ``W`` and runs just below it instead of oscillating. It
models Slack's limiter as a token bucket (``W`` tokens a second, at most ``burst``), full
when a pause ends, and keeps a bracket ``lo < W < hi``:

* ``free``: no 429 yet, the rate is ``max_rate`` (or, given ``start_rate``, the pacer starts
  in ``track`` mode at that rate).
* A 429 that comes at once after a pause (in ``free`` or ``ramp`` mode) says only "far too
  fast": the rate is cut to ``CUT`` of itself and ``ramp``s up ``RAMP`` times a second; the
  successes of that first window bound the burst.
* Any later 429 is *replayed*: the turns taken since the pause are fed to the bucket model to
  find the ``W`` that lets exactly the successes through and refuses the next one. With a
  burst of 1 only ramps are replayed - there the 429s come from spacing jitter the model
  cannot see, and each one lowers the rate by ``1 - SETTLE``.
* Otherwise two clean windows (constant rate from a full bucket to a 429) give ``W`` from
  ``successes = burst + W·seconds``, and a long window gives ``(successes + 1) / seconds``.
* Between 429s the pacer ``probe``s the middle of the bracket for ``PROBE_SECONDS`` (no 429
  raises ``lo``), and once the bracket is narrow ``track``s ``lo`` - ``SETTLE`` of ``W``,
  and with a burst of 1 also ``GAP`` seconds of spacing to spare - creeping up slowly, then
  faster (``CREEP``, ``ACCEL``), so a raised limit is found again. 429s that confirm the
  estimate slow the creep down.

429s of requests already in flight when a pause began only extend the pause.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Mode = Literal["free", "ramp", "probe", "track"]


@dataclass(frozen=True)
class _Window:
    """A 429-free stretch that ended in a 429: ``successes`` in ``seconds``, ``rate`` at the
    429; ``clean`` if it ran at a constant rate from a full bucket."""

    seconds: float
    successes: int
    rate: float
    clean: bool


class AdaptivePacer:
    """Spaces the requests of many threads at a rate it adapts to Slack's 429s.

    ``max_rate`` (requests a second) is never exceeded and ``min_rate`` never undercut.
    Without ``start_rate`` the pacer starts at ``max_rate`` and learns the limit from the
    first 429s; ``start_rate`` is a rate known to work (say the last run's :attr:`rate`): the
    pacer tracks it, creeping up as in ``track`` mode, and skips most of the discovery.
    ``clock`` and ``sleep`` are injectable for tests (``clock`` must be monotonic seconds)."""

    SETTLE = 0.97  # track at this share of the allowed rate...
    GAP = 0.005  # ...and, with a burst of 1, with this much spacing (s) to spare
    SPLIT = 1.06  # track once hi/lo is this narrow, else probe the middle
    CREEP = 0.001  # in "track" the rate creeps up by this share a second...
    ACCEL = 0.00015  # ...plus this share a second per second of tracking; a 429 that
    MIN_ACCEL = 0.00003  # confirms the estimate halves it, down to this
    CUT = 1 / 8  # a 429 within QUICK seconds (or 3 successes) cuts the rate to this share
    QUICK = 0.25
    RAMP = 2.5  # ...and it then grows this many times a second
    FIRST_PROBE = 0.8  # with no lo yet, probe at this share of hi
    PROBE_SECONDS = 1.5  # a probe passes after this long without a 429
    MIN_SUCCESSES = 6  # a window needs this many successes...
    MIN_SECONDS = 0.25  # ...and this long to estimate the rate from
    LONG_SECONDS = 3.0  # a window this long estimates W on its own
    MIN_SPREAD = 0.4  # two windows solve for W only if their lengths differ this much (s)
    STEADY = 1.05  # a new window starts when the rate drifts beyond this factor
    MAX_TURNS = 2048  # turns since a pause remembered for a replay
    NARROW = 1.25  # a replay settles W if its range is this narrow, else it is probed

    def __init__(
        self,
        max_rate: float,
        *,
        start_rate: float | None = None,
        min_rate: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < min_rate <= max_rate:
            raise ValueError("need 0 < min_rate <= max_rate")
        self.max_rate, self.min_rate = float(max_rate), float(min_rate)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()  # guards the state below
        self._turn = threading.Lock()  # one thread at a time waits for the next turn
        self._rate = self._clamp(max_rate if start_rate is None else start_rate)
        self._mode: Mode = "free" if start_rate is None else "track"
        self._lo: float | None = None if start_rate is None else self._rate  # went through
        self._hi: float | None = None  # a rate that got a 429
        self._burst: float | None = None  # the bucket size, once known (burst 1, or a fit)
        # The last "far too fast" stretch since a pause: successes, and seconds from its
        # first turn to the refused one.
        self._blind: tuple[int, float] | None = None
        self._pauses = 0  # rate-limit pauses so far
        self._blind_at = self._one_at = -1  # the pause they were learnt at
        self._accel = self.ACCEL
        self._streak = 0  # 429s in a row that came right after the window began
        self._last_turn = -math.inf
        self._pause_until = -math.inf
        self._probe_until = -math.inf
        self._grown_at: float | None = None  # None until the first turn
        self._turns: list[float] = []  # turns since the last pause (or the first turn)
        self._resumed_at = 0.0  # when the last pause ended (or the first turn)
        self._turns_ok = 0  # successes since then
        # The current window: start, successes, rate, and whether it is clean.
        self._since = 0.0
        self._ok = 0
        self._window_rate = self._rate
        self._clean_now = True
        self._clean: _Window | None = None  # the last clean window that ended in a 429

    # ---- public API --------------------------------------------------------------------

    @property
    def rate(self) -> float:
        """The current pacing rate, requests a second."""
        with self._lock:
            return self._rate

    @property
    def bracket(self) -> tuple[float | None, float | None]:
        """``(lo, hi)``: the allowed rate is believed to lie between them (None: unknown)."""
        with self._lock:
            return self._lo, self._hi

    @property
    def mode(self) -> Mode:
        """``free``, ``ramp``, ``probe`` or ``track`` (see the module docstring)."""
        with self._lock:
            return self._mode

    def wait_turn(self) -> None:
        """Blocks until the calling thread may send: ``1/rate`` after the previous turn and
        not before a rate-limit pause ends."""
        with self._turn:
            while True:
                with self._lock:
                    now = self._clock()
                    due = max(self._last_turn + 1.0 / self._rate, self._pause_until)
                    if now >= due:
                        self._take_turn(now)
                        return
                    wait = due - now
                self._sleep(wait)

    def on_success(self) -> None:
        """Records a request that got past the rate limit; lets the rate grow."""
        with self._lock:
            now = self._clock()
            if now < self._pause_until:  # sent before the pause, answered after the 429
                self._late_success()
                return
            if now >= self._since:
                self._ok += 1
                self._turns_ok += 1
            self._grow(now)

    def on_rate_limited(self, retry_after: float) -> None:
        """Records a 429: pauses every thread until ``now + retry_after`` and, unless a pause
        was already running (the request was sent before it), re-estimates the rate."""
        with self._lock:
            now = self._clock()
            until = now + max(0.0, retry_after)
            if now < self._pause_until:  # sent before the pause began: nothing new learned
                self._pause_until = max(self._pause_until, until)
                return
            seconds = max(0.0, now - self._since)
            w = _Window(seconds, self._ok, self._rate, self._clean_now)
            self._pause_until = self._grown_at = until
            self._pauses += 1
            since_pause = _Window(now - self._resumed_at, self._turns_ok, self._rate, True)
            self._learn(w, since_pause, until)
            self._turns, self._turns_ok, self._resumed_at = [], 0, until

    # ---- bookkeeping (called with the lock held) ---------------------------------------

    def _late_success(self) -> None:
        """A success that arrived after the 429 that began this pause (threads race): what
        was learnt from that stretch's successes counted one too few."""
        if self._blind is not None and self._blind_at == self._pauses:
            self._blind = (self._blind[0] + 1, self._blind[1])
        if self._one_at == self._pauses:
            self._burst, self._one_at = None, -1

    def _clamp(self, rate: float) -> float:
        return min(self.max_rate, max(self.min_rate, rate))

    def _take_turn(self, now: float) -> None:
        self._last_turn = now
        if self._grown_at is None:  # the very first turn starts the first window
            self._grown_at = self._resumed_at = self._probe_until = now
            self._restart(now, clean=True)
        if len(self._turns) < self.MAX_TURNS:
            self._turns.append(now)

    def _restart(self, at: float, *, clean: bool) -> None:
        self._since, self._ok, self._window_rate, self._clean_now = at, 0, self._rate, clean

    def _set(self, at: float, mode: Mode, rate: float) -> None:
        """Switches mode and rate; a new clean window starts at ``at``."""
        self._mode, self._rate = mode, self._clamp(rate)
        self._probe_until = at + (self.PROBE_SECONDS if mode == "probe" else 0.0)
        self._restart(at, clean=True)

    def _below(self, allowed: float) -> float:
        """The rate to run at when ``allowed`` is the limit."""
        if self._burst is not None and self._burst < 1.5:
            return min(self.SETTLE * allowed, 1.0 / (1.0 / allowed + self.GAP))
        return self.SETTLE * allowed

    # ---- learning from a 429 -----------------------------------------------------------

    def _learn(self, w: _Window, since_pause: _Window, resume_at: float) -> None:
        """Narrows the bracket with a window that ended in a 429 (and the stretch since the
        last pause, which began with a full bucket), then picks the next rate."""
        quick = w.successes < 3 or w.seconds < self.QUICK
        if since_pause.successes == 1:
            self._burst, self._one_at = 1.0, self._pauses  # a full bucket let only one through
        if self._mode in ("free", "ramp") and (
            since_pause.successes < 3 or since_pause.seconds < self.QUICK
        ):
            n, turns = since_pause.successes, self._turns  # far too fast, no idea how far
            span = turns[n] - turns[0] if len(turns) > n else since_pause.seconds
            self._hi, self._blind, self._blind_at = w.rate, (n, span), self._pauses
            self._set(resume_at, "ramp", self.CUT * w.rate)
            return
        self._streak = self._streak + 1 if quick and w.clean else 0
        self._hi = w.rate if self._hi is None else min(self._hi, w.rate)
        replayed = self._replay(w.rate)
        if replayed is not None and replayed[1] <= replayed[0] * self.NARROW:
            self._estimated(replayed[0], self._below(replayed[0]), replayed[1])
        elif replayed is not None:  # too coarse to settle on: bracket it and probe
            self._hi = min(self._hi, replayed[1])
            lo = self._lo if self._lo is not None and self._lo < self._hi else 0.0
            self._lo = max(replayed[0], lo, self.FIRST_PROBE**2 * self._hi)
        elif self._mode == "ramp":
            self._set(resume_at, "probe", self.FIRST_PROBE * w.rate)
            return
        elif (fitted := self._fit(w)) is not None:
            self._estimated(fitted, self._below(fitted), fitted)
        elif w.successes >= self.MIN_SUCCESSES and w.seconds >= self.LONG_SECONDS:
            seen = min(w.rate, (w.successes + 1) / w.seconds)  # jitter with burst 1: no GAP
            self._estimated(seen, self.SETTLE * seen, seen)
        elif self._lo is not None and self._lo >= self._hi:
            # The limit dropped, or jitter (burst 1): down a little, more each time in a row.
            self._lo = self._below(self._hi) * max(0.5, self.SETTLE ** (2**self._streak - 1))
            self._accel = self.ACCEL
        if w.clean and w.successes >= self.MIN_SUCCESSES and w.seconds >= self.MIN_SECONDS:
            self._clean = w
        self._next(resume_at)

    def _estimated(self, allowed: float, lo: float, hi: float) -> None:
        """Takes an estimate of the allowed rate: tracks ``lo``; a confirmed estimate slows
        the creep down, a changed one speeds it up again."""
        confirmed = self._lo is not None and abs(lo / self._lo - 1) < 0.03
        self._accel = max(self.MIN_ACCEL, self._accel / 2) if confirmed else self.ACCEL
        self._lo = lo
        self._hi = max(lo * self.SPLIT, min(self._hi or hi, hi, allowed * 1.5))

    def _fit(self, w: _Window) -> float | None:
        """``W`` from this clean window and the previous one: ``successes = burst + W·D``
        solved for both; None unless the answer is plausible."""
        p = self._clean
        if p is None or not w.clean or w.successes < self.MIN_SUCCESSES:
            return None
        if w.seconds < self.MIN_SECONDS or abs(w.seconds - p.seconds) < self.MIN_SPREAD:
            return None
        slope = (w.successes - p.successes) / (w.seconds - p.seconds)
        burst = w.successes - slope * w.seconds
        if not 0 < slope <= min(w.rate, p.rate) or not -1.0 <= burst <= w.successes / 2:
            return None
        self._burst = max(1.0, burst)
        return slope

    def _burst_at(self, allowed: float) -> float | None:
        """The bucket size if the allowed rate is ``allowed``: known, or what the last
        far-too-fast stretch says (it began with a full bucket, let ``n`` through and refused
        the next turn ``span`` seconds after the first: ``burst < n + 1 - allowed·span``),
        taking the largest size that fits - give or take half a token of jitter - so as to
        err towards a lower rate."""
        if self._burst is not None:
            return self._burst
        if self._blind is None:
            return None
        n, span = self._blind
        return float(min(n, max(1, math.floor(n + 1.5 - allowed * span))))

    def _replay(self, rate: float) -> tuple[float, float] | None:
        """``(least, most)`` allowed rate for which the bucket model, full at the pause and
        fed the turns taken since, lets the successes through and refuses the next turn;
        None if the model cannot explain the 429 (jitter) or lacks data."""
        turns, n = self._turns, self._turns_ok
        one = self._burst is not None and self._burst < 1.5
        if len(turns) <= n or len(turns) >= self.MAX_TURNS or (one and self._mode != "ramp"):
            return None
        if self._burst_at(rate) is None:
            return None

        def let_through(allowed: float) -> int:  # turns the bucket lets through first
            size = self._burst_at(allowed) or 1.0
            tokens, last = size, min(self._resumed_at, turns[0])
            for i, at in enumerate(turns[: n + 1]):
                tokens = min(size, tokens + (at - last) * allowed)
                last = at
                if tokens < 1.0:
                    return i
                tokens -= 1.0
            return n + 1

        def least(count: int) -> float:  # the least allowed rate letting ``count`` through
            low, high = self.min_rate / 2, max(rate, self.min_rate) * 4
            if let_through(high) < count:
                return math.inf
            for _ in range(32):
                mid = (low + high) / 2
                low, high = (low, mid) if let_through(mid) >= count else (mid, high)
            return high

        low, high = least(n), least(n + 1)
        return (low, high) if low < high < math.inf and low <= rate * 1.5 else None

    def _next(self, at: float) -> None:
        """Probes the middle of the bracket, or tracks its low end once it is narrow."""
        lo, hi = self._lo, self._hi
        if hi is None:
            self._set(at, "free", self._rate)
        elif lo is None:
            self._set(at, "probe", self.FIRST_PROBE * hi)
        elif hi <= lo * self.SPLIT:
            self._set(at, "track", lo)
        else:
            self._set(at, "probe", math.sqrt(lo * hi))

    # ---- growing between 429s ----------------------------------------------------------

    def _grow(self, now: float) -> None:
        if self._grown_at is None or now < self._pause_until:
            return
        dt = min(1.0, max(0.0, now - self._grown_at))
        self._grown_at = now
        if self._mode == "probe":
            if now >= self._probe_until:  # no 429 at the probed rate: it is allowed
                self._lo = self._rate
                self._next(now)
            return
        if self._mode == "ramp":
            self._rate = self._clamp(self._rate * self.RAMP**dt)
            return
        if self._mode != "track":
            return
        creep = self.CREEP + self._accel * max(0.0, now - self._probe_until)
        self._lo = self._rate = self._clamp(self._rate * (1 + creep * dt))
        if self._hi is not None and self._hi < self._rate * self.SPLIT:
            self._hi = self._rate * self.SPLIT
        if self._rate > self.STEADY * self._window_rate:  # drifted: measure from here on
            self._restart(now, clean=False)
