"""Helpers for the nudge tests: a database with initiatives, a runner on the fake Slack, and
counting the nudges that really arrived (a pytest plugin, see conftest.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.progress.nudges import NudgeConfig, NudgeRunner
from bot.slack.progress_render import renderers
from bot.slack_api.calls import sender_client
from bot.slack_api.events import NUDGE_EVENT
from bot.slack_api.pacing import AdaptivePacer
from bot.slack_api.sender import SlackSender
from bot.storage.claims_store import ClaimStore
from bot.storage.db import Database
from bot.storage.progress_records import NewInitiative
from bot.storage.progress_store import ProgressStore
from local_slack import FakeSlackAPI

BOT_TOKEN = "xoxb-test"
MONDAY = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # Monday, after a 09:00 UTC nudge time


def seed(store: ProgressStore, owners: list[str], *, tz: str = "UTC", per_owner: int = 1,
         last: datetime = datetime(2026, 11, 1, tzinfo=UTC), at: time = time(9, 0)) -> None:
    """``per_owner`` weekly initiatives per owner, last updated ``last`` (overdue by default)."""
    items = [NewInitiative(title=f"Initiative {o}-{n}", owner_id=o, objective_ids=("1.1",),
                           last_update_at=last)
             for o in owners for n in range(per_owner)]
    store.import_initiatives(items, actor="test", now=last)
    for owner in owners:
        store.set_prefs(owner, actor="test", audit=False, tz=tz, nudge_time=at,
                        tz_checked_at=last)


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


def make_runner(database: Database, api: FakeSlackAPI, **config) -> NudgeRunner:
    sender = SlackSender(sender_client(BOT_TOKEN, api.base_url, timeout=5),
                         AdaptivePacer(config.pop("max_rate", 1000.0)), backoff=0.01)
    return NudgeRunner(ProgressStore(database), ClaimStore(database), sender, renderers(),
                       NudgeConfig(**{"workers": 4, "in_flight_grace": 0.2, **config}))


@pytest.fixture
def progress_store(database: Database) -> ProgressStore:
    return ProgressStore(database)


def week_later(now: datetime, weeks: int = 1) -> datetime:
    return now + timedelta(weeks=weeks)
