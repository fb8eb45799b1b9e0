"""AdaptivePacer: spacing, pauses and learning the allowed rate, on a fake clock.

The learning tests drive the pacer against a token bucket like the fake Slack's (and Slack's
chat.postMessage limiter): ``W`` tokens a second, at most ``burst``, a 429 with a whole-second
Retry-After when empty. Everything runs on a simulated clock, so they are exact and fast."""

from __future__ import annotations

import itertools
import math
import threading
import time

import pytest

from bot.slack_api.pacing import AdaptivePacer


class FakeClock:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


def pacer_on(clock: FakeClock, max_rate: float, **kwargs: float) -> AdaptivePacer:
    return AdaptivePacer(max_rate, clock=clock, sleep=clock.sleep, **kwargs)


class Bucket:
    """Slack-like token bucket: ``rate`` a second, ``burst`` at most, full at the start."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.last = rate, burst, burst, now

    def admit(self, now: float) -> int | None:
        """None if admitted, else the Retry-After (whole seconds, at least 1)."""
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return max(1, math.ceil((1 - self.tokens) / self.rate - 1e-9))


def drive(
    pacer: AdaptivePacer, clock: FakeClock, bucket: Bucket, seconds: float, latency: float = 0.002
) -> list[tuple[float, bool]]:
    """One sender against the bucket for ``seconds``: ``(time, admitted)`` per request. The
    request reaches the bucket ``latency`` after its turn and the answer comes back then."""
    end, log = clock.now + seconds, []
    while clock.now < end:
        pacer.wait_turn()
        clock.now += latency
        retry_after = bucket.admit(clock.now)
        log.append((clock.now, retry_after is None))
        if retry_after is None:
            pacer.on_success()
        else:
            pacer.on_rate_limited(retry_after)
    return log


def admitted_between(log: list[tuple[float, bool]], start: float, end: float) -> int:
    return sum(1 for at, ok in log if ok and start <= at < end)


# ---- spacing and pauses --------------------------------------------------------------------


def test_turns_are_spaced_at_the_rate() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 10)
    starts = []
    for _ in range(5):
        pacer.wait_turn()
        starts.append(clock.now)
    assert [round(b - a, 9) for a, b in itertools.pairwise(starts)] == [0.1] * 4
    clock.now += 5  # idle time is not banked: the next turn is immediate, the one after spaced
    pacer.wait_turn()
    pacer.wait_turn()
    assert clock.sleeps[-1] == pytest.approx(0.1)


def test_no_limit_means_no_waiting() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, math.inf)
    for _ in range(1000):
        pacer.wait_turn()
        pacer.on_success()
    assert clock.sleeps == [] and pacer.rate == math.inf and pacer.mode == "free"


def test_a_429_pauses_everyone_until_retry_after() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 100)
    pacer.wait_turn()
    pacer.on_rate_limited(3)
    paused_at = clock.now
    pacer.wait_turn()
    assert clock.now == pytest.approx(paused_at + 3)


def test_429s_of_requests_in_flight_only_extend_the_pause() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 100)
    for _ in range(3):
        pacer.wait_turn()
    pacer.on_rate_limited(1)
    rate, bracket = pacer.rate, pacer.bracket
    clock.now += 0.01
    pacer.on_rate_limited(1)  # sent before the pause began
    pacer.on_rate_limited(2)
    assert (pacer.rate, pacer.bracket) == (rate, bracket)
    start = clock.now
    pacer.wait_turn()
    assert clock.now == pytest.approx(start + 2)


def test_a_quick_first_429_cuts_blind_then_ramps_up() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 80)
    pacer.wait_turn()
    pacer.on_success()
    pacer.wait_turn()
    pacer.on_rate_limited(1)
    assert pacer.mode == "ramp" and pacer.rate == pytest.approx(10)
    pacer.wait_turn()  # after the pause
    for _ in range(10):
        pacer.wait_turn()
        pacer.on_success()
    assert pacer.rate > 10 * 1.5  # grows 2.5x a second


def test_rate_stays_within_min_and_max() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 5, start_rate=50, min_rate=1)
    assert pacer.rate == 5
    for _ in range(10):
        pacer.wait_turn()
        pacer.on_rate_limited(1)
        clock.now += 1.5
    assert pacer.rate >= 1
    with pytest.raises(ValueError):
        AdaptivePacer(1, min_rate=2)


def test_start_rate_is_tracked_and_crept_up_from() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 100, start_rate=10)
    assert pacer.mode == "track" and pacer.bracket == (10, None)
    for _ in range(100):  # ten seconds
        pacer.wait_turn()
        pacer.on_success()
    assert 10 < pacer.rate < 10.5  # slowly at first...
    for _ in range(1500):
        pacer.wait_turn()
        pacer.on_success()
    assert pacer.rate > 20  # ...then faster


# ---- learning the allowed rate -------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "burst", "max_rate"),
    [
        (20, 1, 100),
        (20, 2, 100),
        (20, 5, 1000),
        (5, 1, 50),
        (5, 3, 1000),
        (50, 2, 200),
        (20, 2, 40),
        (20, 5, 40),
    ],
)
def test_settles_just_below_the_allowed_rate(allowed: float, burst: float, max_rate: float) -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, max_rate)
    bucket = Bucket(allowed, burst, clock.now)
    start = clock.now
    log = drive(pacer, clock, bucket, 40)
    settled = admitted_between(log, start + 10, start + 40) / 30
    limited_late = sum(1 for at, ok in log if not ok and at >= start + 10)
    assert 0.9 * allowed <= settled <= allowed * 1.01 + burst / 30
    assert limited_late <= 2  # at most a couple of probing 429s in 30 s
    assert pacer.bracket[0] is not None and pacer.bracket[0] <= allowed * 1.1  # creeps over


def test_a_learned_start_rate_skips_discovery() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 100, start_rate=19.5)
    bucket = Bucket(20, 2, clock.now)
    start = clock.now
    log = drive(pacer, clock, bucket, 20)
    assert admitted_between(log, start, start + 20) >= 0.93 * 20 * 20
    assert sum(1 for _, ok in log if not ok) <= 1


def test_whole_run_including_discovery() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 100)
    bucket = Bucket(20, 2, clock.now)
    start = clock.now
    log = drive(pacer, clock, bucket, 20)
    assert admitted_between(log, start, start + 20) >= 0.8 * 20 * 20
    assert sum(1 for _, ok in log if not ok) <= 4


def test_finds_a_raised_limit_again() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 100)
    bucket = Bucket(10, 2, clock.now)
    drive(pacer, clock, bucket, 20)
    assert 9 <= pacer.rate <= 10.2
    bucket.rate = 15  # the workspace limit went up: the pacer creeps up, slowly at first
    start = clock.now
    log = drive(pacer, clock, bucket, 100)
    assert admitted_between(log, start + 80, start + 100) / 20 >= 0.9 * 15


def test_follows_a_lowered_limit() -> None:
    clock = FakeClock()
    pacer = pacer_on(clock, 100)
    bucket = Bucket(20, 2, clock.now)
    drive(pacer, clock, bucket, 20)
    bucket.rate = 8
    start = clock.now
    log = drive(pacer, clock, bucket, 40)
    assert 0.85 * 8 <= admitted_between(log, start + 25, start + 40) / 15 <= 8.2
    assert sum(1 for at, ok in log if not ok and at >= start + 25) <= 2


class RecordingPacer(AdaptivePacer):
    """Remembers when each turn was granted (under the pacer's lock)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.granted: list[float] = []

    def _take_turn(self, now: float) -> None:
        self.granted.append(now)
        super()._take_turn(now)


@pytest.mark.slow  # 200 turns at 200 a second, in real time
def test_many_threads_share_the_spacing() -> None:
    pacer = RecordingPacer(200)

    def worker() -> None:
        for _ in range(25):
            pacer.wait_turn()
            pacer.on_success()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    turns = pacer.granted
    assert len(turns) == 200 and turns == sorted(turns)
    assert min(b - a for a, b in itertools.pairwise(turns)) >= 1 / 200  # never two at once
    assert time.monotonic() - started >= 199 / 200
