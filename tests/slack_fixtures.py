"""A running Slack app for tests: the real bolt app, the local fake Web API, a real database.

``slack_bot`` (function scope) gives a :class:`SlackBot`: ``send(req)`` dispatches a signed
request in process (what bolt's HTTP adapter does) and returns the ack; listener work goes on
in bolt's pool and its Web API calls reach ``bot.api`` (a :class:`FakeSlackAPI`), so tests wait
for them with ``bot.api.wait_for(...)``. The knowledge core is the session's in-memory
``assistant``; the store is SQLite in ``tmp_path`` (``slack_bot_pg`` uses PostgreSQL).

Every bot tracks progress too (``bot.progress``, admins ``{"UADMIN"}``) on a hand-moved
clock, ``bot.clock`` (Monday 30 Nov 2026 10:00 UTC until moved), unless built with
``make_bot(..., progress=False)`` (``slack_bot_without_progress``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_bolt import App, BoltResponse

from bot.alignments import AlignmentService
from bot.progress.service import Admins, ProgressService
from bot.questions import QuestionService
from bot.slack.app import build_app
from bot.slack.delivery import Delivery, retry_handlers
from bot.slack.deps import SlackDeps
from bot.slack.durable import Inbox
from bot.slack.metrics import Metrics
from bot.storage.db import Database
from bot.storage.progress_store import ProgressStore
from bot.storage.store import Store
from bot.storage.work_store import WorkStore
from local_slack import FakeSlackAPI, SignedRequest, SlackRequests, to_bolt_request

SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
BOT_USER = "UBOT"
ADMIN = "UADMIN"
START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday


@dataclass
class Clock:
    """The progress service's "now" in tests: it stands still until moved."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class SlackBot:
    app: App
    api: FakeSlackAPI
    requests: SlackRequests
    deps: SlackDeps
    store: Store
    progress: ProgressService | None = None
    clock: Clock = field(default_factory=Clock)

    def send(self, req: SignedRequest) -> BoltResponse:
        return self.app.dispatch(to_bolt_request(req))

    def command(self, text: str, *, user: str = "U1", channel: str = "C1",
                command: str = "/align") -> tuple[BoltResponse, str]:
        """Send a slash command; returns the ack and the command's response_url."""
        url = self.api.response_url()
        resp = self.send(self.requests.slash_command(command, text, user_id=user,
                                                     channel_id=channel, response_url=url))
        return resp, url

    def responses(self, url: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        token = url.rsplit("/", 1)[-1]
        calls = self.api.wait_for("response_url", count=count, timeout=timeout,
                                  where=lambda c: c.params.get("_token") == token)
        return [c.params for c in calls]


def eventually(check, timeout: float = 5.0):
    """``check()``'s first truthy result, polling until ``timeout`` (the listener's work goes
    on after the fake recorded its call); AssertionError with the last result otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"still {result!r} after {timeout} s"
            return result
        time.sleep(0.02)


def make_bot(assistant, database: Database, api: FakeSlackAPI, *,
             progress: bool = True, work: Executor | None = None) -> SlackBot:
    store = Store(database)
    metrics = Metrics()
    clock = Clock()
    client = api.client(BOT_TOKEN, retry_handlers=retry_handlers())
    tracking = (ProgressService(ProgressStore(database), assistant.framework,
                                admins=Admins({ADMIN}), clock=clock) if progress else None)
    deps = SlackDeps(framework=assistant.framework,
                     questions=QuestionService(assistant, store),
                     alignments=AlignmentService(assistant, store), store=store,
                     delivery=Delivery(client, metrics), metrics=metrics, progress=tracking,
                     work=work or ThreadPoolExecutor(max_workers=2,
                                                     thread_name_prefix="test-work"),
                     # the fake answers at once: nothing of a "dead" bot's is still landing
                     inbox=Inbox(WorkStore(database), settle=0))
    app = build_app(deps, client=client, signing_secret=SECRET, bot_user_id=BOT_USER)
    return SlackBot(app, api, SlackRequests(SECRET), deps, store, tracking, clock)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI(tokens=(BOT_TOKEN,)) as api:
        yield api


def _sqlite_bot(assistant, api: FakeSlackAPI, tmp_path: Path, *,
                progress: bool) -> Iterator[SlackBot]:
    db = Database(f"sqlite:///{tmp_path / 'fwbot.db'}")
    db.migrate()
    yield make_bot(assistant, db, api, progress=progress)
    db.dispose()


@pytest.fixture
def slack_bot(assistant, fake_slack: FakeSlackAPI, tmp_path: Path) -> Iterator[SlackBot]:
    yield from _sqlite_bot(assistant, fake_slack, tmp_path, progress=True)


@pytest.fixture
def slack_bot_without_progress(assistant, fake_slack: FakeSlackAPI,
                               tmp_path: Path) -> Iterator[SlackBot]:
    yield from _sqlite_bot(assistant, fake_slack, tmp_path, progress=False)


@pytest.fixture
def slack_bot_pg(assistant, fake_slack: FakeSlackAPI, pg_schema_url: str) -> Iterator[SlackBot]:
    db = Database(pg_schema_url)
    db.migrate()
    yield make_bot(assistant, db, fake_slack)
    db.dispose()
