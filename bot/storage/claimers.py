"""Who holds a send claim, whether that holder is still alive, and when it claimed.

A claimer is ``host:pid:run``. A pass on this host whose process is gone, or a pass of this
very process that has ended, is dead for sure; a claimer on another host is trusted until
its lease ends."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from .progress_records import ClaimRecord

_HOST = socket.gethostname()
_ACTIVE_RUNS: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


def claimer(run_id: str) -> str:
    return f"{_HOST}:{os.getpid()}:{run_id}"


def claimer_is_dead(claimed_by: str) -> bool:
    """True only when the claimer certainly stopped: a process on this host that is gone, or
    a pass of this process that ended. Unknown hosts count as alive (their lease decides)."""
    host, _, rest = claimed_by.partition(":")
    pid_text, _, run_id = rest.partition(":")
    if host != _HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        with _ACTIVE_LOCK:
            return run_id not in _ACTIVE_RUNS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claimed_at(claim: ClaimRecord) -> datetime:
    """When the claim was made by Slack's clock (the wall clock; a pass's ``now`` may be
    moved by ``--now``): where to start looking for its message in the history. Claims
    without that note: a week and a day back."""
    wall = claim.detail.get("wall")
    if isinstance(wall, (int, float)):
        return datetime.fromtimestamp(wall, UTC)
    return datetime.now(UTC) - timedelta(days=8)


def takeover_due(claim: ClaimRecord, now: datetime) -> bool:
    return claim.state == "claimed" and (
        now >= claim.lease_until or claimer_is_dead(claim.claimed_by)
    )


@contextmanager
def active_run(run_id: str) -> Iterator[None]:
    """Marks a pass of this process as running (its claims are alive) while the block runs."""
    run_started(run_id)
    try:
        yield
    finally:
        run_ended(run_id)


def run_started(run_id: str) -> None:
    """Marks a long-lived run of this process (a server's) as alive until :func:`run_ended`."""
    with _ACTIVE_LOCK:
        _ACTIVE_RUNS.add(run_id)


def run_ended(run_id: str) -> None:
    with _ACTIVE_LOCK:
        _ACTIVE_RUNS.discard(run_id)
