"""One scheduler pass of progress tracking, and the send rate it remembers between passes.

A pass sends the nudges that are due (with escalations and failure reports), then posts or
refreshes the weekly digest. The rate Slack allowed the last pass that had to find it is kept
(a month at most), so that a new process starts there instead of finding it again with 429s.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from ..slack_api.pacing import AdaptivePacer
from ..storage.app_state_store import AppStateStore
from .digest_post import DigestPublisher
from .nudges import NudgeRunner, RunReport

SEND_RATE_KEY = "send_rate"
REMEMBER_RATE_FOR = timedelta(days=30)


class SendRateMemory:
    """The learned send rate, in the database's app state."""

    def __init__(self, state: AppStateStore, *, cap: float) -> None:
        self.state, self.cap = state, cap

    def learned(self, now: datetime | None = None) -> float | None:
        """The remembered rate (at most ``cap``), or None: none, too old, or unreadable."""
        known = self.state.get(SEND_RATE_KEY)
        if known is None or (now or datetime.now(UTC)) - known[1] > REMEMBER_RATE_FOR:
            return None
        rate = known[0].get("rate")
        if not isinstance(rate, (int, float)) or rate <= 0:
            return None
        return min(float(rate), self.cap)

    def remember(self, pacer: AdaptivePacer) -> None:
        """Keep the pacer's rate if it was learned from Slack's 429s (or started from one)."""
        if pacer.mode == "track":
            self.state.put(SEND_RATE_KEY, {"rate": pacer.rate})


class ProgressPass:
    """Nudges, then the digest. ``check_token`` runs before a real pass (a refused token
    fails loudly, up front); ``after_sending`` after a real pass that sent something."""

    def __init__(
        self,
        nudges: NudgeRunner,
        digest: DigestPublisher | None,
        *,
        can_send: bool,
        check_token: Callable[[], object],
        after_sending: Callable[[], object],
    ) -> None:
        self.nudges, self.digest, self.can_send = nudges, digest, can_send
        self.check_token, self.after_sending = check_token, after_sending

    def run(self, now: datetime, *, dry_run: bool = False) -> RunReport:
        if not dry_run and self.can_send:
            self.check_token()
        report = self.nudges.run(now, dry_run=dry_run)
        if self.digest is not None and (dry_run or self.can_send):
            report.digest = self.digest.run(now, dry_run=dry_run)
        if not dry_run and report.sent:
            self.after_sending()
        return report


def on_one_replica(
    run_pass: Callable[[datetime], RunReport],
    lock: Callable[[], AbstractContextManager[bool]],
    counted: Callable[[str], object] = lambda outcome: None,
) -> Callable[[datetime], RunReport | None]:
    """``run_pass`` as the scheduler of each replica runs it: under ``lock`` (taken without
    waiting, shared by the replicas), so that one replica at a time runs a pass and the
    others skip theirs (None); ``counted("ran")`` or ``counted("elsewhere")``. The claims
    make each nudge go out once even without it: the lock saves the others the work, and
    makes "who ran this minute's pass" one answer."""

    def scheduled(now: datetime) -> RunReport | None:
        with lock() as mine:
            if not mine:
                counted("elsewhere")
                return None
            report = run_pass(now)
            counted("ran")
            return report

    return scheduled
