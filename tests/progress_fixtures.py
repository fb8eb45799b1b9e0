"""Helpers for the progress tests (a pytest plugin, see conftest.py): a database with
initiatives, a nudge runner on the fake Slack and counting the nudges that really arrived;
initiative records built by hand (:func:`initiative_record`); the packaged INTERPOL framework
(``interpol``); :func:`dump` for looking for text in blocks."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from bot.progress.nudges import NudgeConfig, NudgeRunner
from bot.slack.progress_render import renderers
from bot.slack_api.calls import sender_client
from bot.slack_api.events import NUDGE_EVENT
from bot.slack_api.pacing import AdaptivePacer
from bot.slack_api.sender import SlackSender
from bot.storage.claims_store import ClaimStore
from bot.storage.db import Database
from bot.storage.progress_records import InitiativeRecord, NewInitiative
from bot.storage.progress_store import ProgressStore
from framework_data.schema import Framework
from local_slack import FakeSlackAPI

BOT_TOKEN = "xoxb-test"
MONDAY = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # Monday, after a 09:00 UTC nudge time


def seed(
    store: ProgressStore,
    owners: list[str],
    *,
    tz: str = "UTC",
    per_owner: int = 1,
    last: datetime = datetime(2026, 11, 1, tzinfo=UTC),
    at: time = time(9, 0),
) -> None:
    """``per_owner`` weekly initiatives per owner, last updated ``last`` (overdue by default)."""
    items = [
        NewInitiative(
            title=f"Initiative {o}-{n}", owner_id=o, objective_ids=("1.1",), last_update_at=last
        )
        for o in owners
        for n in range(per_owner)
    ]
    store.import_initiatives(items, actor="test", now=last)
    for owner in owners:
        store.set_prefs(owner, actor="test", audit=False, tz=tz, nudge_time=at, tz_checked_at=last)


def nudges_received(api: FakeSlackAPI) -> Counter[tuple[str, str]]:
    """(owner, week) of every nudge stored in the fake, counted."""
    got: Counter[tuple[str, str]] = Counter()
    with api.workspace.lock:
        channels = list(api.workspace.messages.channels.items())
    for _channel, messages in channels:
        for message in messages:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == NUDGE_EVENT:
                payload = meta.get("event_payload") or {}
                got[(payload.get("subject"), payload.get("period"))] += 1
    return got


class PacerClock:
    """A monotonic clock for the pacer that moves only when the pacer sleeps: Retry-After
    pauses and spacing pass at once, and ``sleeps`` says how long they were. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(0.0, seconds)
            self.sleeps.append(seconds)


def make_runner(
    database: Database,
    api: FakeSlackAPI,
    *,
    clock: PacerClock | None = None,
    timeout: float = 5,
    **config,
) -> NudgeRunner:
    """A nudge runner on the fake Slack; its pacer runs on ``clock`` (a fresh
    :class:`PacerClock` by default), so rate-limit pauses take no real time. ``timeout``:
    the Slack client's; ``late_checks``: when its sender looks for late copies."""
    clock = clock or PacerClock()
    late = config.pop("late_checks", None)
    sender = SlackSender(
        sender_client(BOT_TOKEN, api.base_url, timeout=timeout),
        AdaptivePacer(config.pop("max_rate", 1000.0), clock=clock, sleep=clock.sleep),
        backoff=0.01,
        **({"late_checks": late} if late is not None else {}),
    )
    return NudgeRunner(
        ProgressStore(database),
        ClaimStore(database),
        sender,
        renderers(),
        NudgeConfig(**{"workers": 4, "in_flight_grace": 0.2, **config}),
    )


@pytest.fixture
def progress_store(database: Database) -> ProgressStore:
    return ProgressStore(database)


def week_later(now: datetime, weeks: int = 1) -> datetime:
    return now + timedelta(weeks=weeks)


def initiative_record(n: int = 1, *, now: datetime, **fields: Any) -> InitiativeRecord:
    """Initiative ``n`` as the store would give it back: weekly and active, owned and created
    by U1, created 30 days before ``now`` and changed ``now``, on objective 1.1, without
    updates; ``fields`` override any of that. Test modules fix their own defaults with
    ``functools.partial``."""
    values: dict[str, Any] = dict(
        id=n,
        kind="initiative",
        title=f"Initiative {n}",
        description="",
        owner_id="U1",
        objective_ids=("1.1",),
        cadence="weekly",
        status="active",
        created_by="U1",
        created_at=now - timedelta(days=30),
        updated_at=now,
    )
    values.update(fields)
    return InitiativeRecord(**values)


def dump(value: Any) -> str:
    """``value`` (blocks, a view...) as JSON text with its characters as they are, to look for
    text in it."""
    return json.dumps(value, ensure_ascii=False)


@pytest.fixture(scope="session")
def interpol() -> Framework:
    """The packaged INTERPOL framework, loaded once (a Framework is frozen: sharing it is
    safe)."""
    from framework_data.loader import load_framework

    return load_framework(None)
