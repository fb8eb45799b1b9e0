"""A running Slack app for tests: the real bolt app, the local fake Web API, a real database.

``slack_bot`` (function scope) gives a :class:`SlackBot`: ``send(req)`` dispatches a signed
request in process (what bolt's HTTP adapter does) and returns the ack; listener work goes on
in bolt's pool and its Web API calls reach ``bot.api`` (a :class:`FakeSlackAPI`), so tests wait
for them with ``bot.api.wait_for(...)``. The knowledge core is the session's in-memory
``assistant``; the store is SQLite in ``tmp_path`` (``slack_bot_pg`` uses PostgreSQL).

Admins are ``{"UADMIN"}`` (``ADMIN``): they may act on anyone's /align run or answer. Every
bot tracks progress too (``bot.progress``, the same admins) on a hand-moved
clock, ``bot.clock`` (Monday 30 Nov 2026 10:00 UTC until moved), unless built with
``make_bot(..., progress=False)`` (``slack_bot_without_progress``).

To check that something was *not* done, ``bot.drain()`` first: it returns once every task
handed to bolt's listener pool or to the bot's work pool (``deps.later``) has finished, so
whatever the bot was going to post has been posted (see :class:`PendingTasks`).

Also shared: ``fake_slack`` (a fake Web API per test), ``module_fake_slack`` (one per test
module, for a server started once per module), and WebClients on ``fake_slack``:
``slack_client`` (the SDK's default retries) and ``no_retry_client``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.progress.service import Admins, ProgressService
from bot.services.alignments import AlignmentService
from bot.services.progress_answers import ProgressAnswerer
from bot.services.questions import QuestionService
from bot.slack.app import build_app
from bot.slack.delivery import Delivery, retry_handlers
from bot.slack.deps import SlackDeps
from bot.slack.durable import Inbox
from bot.slack.features import Feature
from bot.slack.metrics import Metrics
from bot.slack_api.hosts import trust_local_slack
from bot.storage.db import Database
from bot.storage.progress_queries import ProgressQueries
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


DRAIN_TIMEOUT = 30.0  # seconds: an answer, with the model cold on a busy CI machine


class PendingTasks:
    """How many tasks handed to the executors wrapped by :meth:`track` are not done yet
    (queued or running), all executors together.

    One count for all of them is what makes :meth:`wait_idle` right when tasks hand work on:
    a listener task submits its job to the work pool *while it runs*, so the job is counted
    before the listener task stops being counted, and the count never passes through 0 while
    work is still being handed over, however many workers each pool has and in whatever order
    they run. When it is 0, nothing is queued or running anywhere, and only a new request
    (or a timer, see :meth:`SlackDeps.later`: only for a taken-over request with ``settle``)
    can start more."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._pending = 0

    def track(self, executor: Executor) -> Executor:
        return _TrackedExecutor(executor, self)

    def started(self) -> None:
        with self._changed:
            self._pending += 1

    def ended(self, _future: Future | None = None) -> None:
        with self._changed:
            self._pending -= 1
            if self._pending == 0:
                self._changed.notify_all()

    def wait_idle(self, timeout: float = DRAIN_TIMEOUT) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._pending == 0, timeout):
                raise AssertionError(
                    f"{self._pending} task(s) of the bot still queued or running after {timeout} s"
                )


class _TrackedExecutor(Executor):
    """``inner``, with every task counted in ``pending`` from its submission to its end."""

    def __init__(self, inner: Executor, pending: PendingTasks) -> None:
        self.inner, self._pending = inner, pending

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:  # type: ignore[override]
        self._pending.started()  # before the task can run (and end): never below 0
        try:
            future = self.inner.submit(fn, *args, **kwargs)
        except BaseException:
            self._pending.ended()
            raise
        future.add_done_callback(self._pending.ended)  # at once if it is already done
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


@dataclass
class SlackBot:
    app: App
    api: FakeSlackAPI
    requests: SlackRequests
    deps: SlackDeps
    store: Store
    progress: ProgressService | None = None
    clock: Clock = field(default_factory=Clock)
    # bolt's listener pool and the work pool, counted (make_bot wraps both)
    pending: PendingTasks = field(default_factory=PendingTasks)

    def send(self, req: SignedRequest) -> BoltResponse:
        return self.app.dispatch(to_bolt_request(req))

    def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Wait until the requests sent so far are completely handled: every listener bolt
        started (they run after the ack) and every job they handed to the work pool has
        finished, and the jobs those handed on too. The pools stay usable.

        Deterministic: ``send`` returns after bolt submitted the listener (it submits, then
        waits for the ack), so its task is counted from then on; see :class:`PendingTasks`.
        Not for a bot built with a pool that never runs its jobs (``test_durable_work``)."""
        self.pending.wait_idle(timeout)

    def command(
        self, text: str, *, user: str = "U1", channel: str = "C1", command: str = "/align"
    ) -> tuple[BoltResponse, str]:
        """Send a slash command; returns the ack and the command's response_url."""
        url = self.api.response_url()
        resp = self.send(
            self.requests.slash_command(
                command, text, user_id=user, channel_id=channel, response_url=url
            )
        )
        return resp, url

    def responses(self, url: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        token = url.rsplit("/", 1)[-1]
        calls = self.api.wait_for(
            "response_url",
            count=count,
            timeout=timeout,
            where=lambda c: c.params.get("_token") == token,
        )
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


def make_bot(
    assistant,
    database: Database,
    api: FakeSlackAPI,
    *,
    progress: bool = True,
    work: Executor | None = None,
    plugins: Sequence[Feature] | None = (),
    trust_fake: bool = True,
) -> SlackBot:
    """``plugins``: None discovers the installed ones, as `fwbot serve` does; ``trust_fake``
    false: the bot as in production, which sends replies and the token only to Slack's hosts
    (not the fake's http URLs)."""
    store = Store(database)
    metrics = Metrics()
    clock = Clock()
    client = api.client(BOT_TOKEN, retry_handlers=retry_handlers())
    if trust_fake:  # what FWBOT_TRUST_LOCAL_SLACK does: the fake's response URLs and files
        trust_local_slack(client)
    tracking = (
        ProgressService(
            ProgressStore(database), assistant.framework, admins=Admins({ADMIN}), clock=clock
        )
        if progress
        else None
    )
    pending = PendingTasks()
    admins = Admins({ADMIN})
    answers = (
        ProgressAnswerer(assistant.framework, ProgressQueries(database), admins=admins)
        if progress
        else None
    )
    deps = SlackDeps(
        framework=assistant.framework,
        questions=QuestionService(assistant, store, admins=admins, progress=answers),
        alignments=AlignmentService(assistant, store, admins=admins),
        store=store,
        # the fake stores a post whose answer it drops at once: a short settle window (a
        # test of a slow Slack sets the one it needs)
        delivery=Delivery(client, metrics, settle=0.2),
        metrics=metrics,
        progress=tracking,
        work=pending.track(
            work or ThreadPoolExecutor(max_workers=2, thread_name_prefix="test-work")
        ),
        # the fake answers at once: nothing of a "dead" bot's is still landing
        inbox=Inbox(WorkStore(database), settle=0),
    )
    app = build_app(
        deps, client=client, signing_secret=SECRET, bot_user_id=BOT_USER, plugins=plugins
    )
    # bolt runs listeners (and lazy listeners) after the ack in this pool: counted too
    runner = app.listener_runner
    runner.listener_executor = pending.track(runner.listener_executor)
    lazy = runner.lazy_listener_runner
    lazy.executor = pending.track(lazy.executor)  # type: ignore[attr-defined]
    return SlackBot(app, api, SlackRequests(SECRET), deps, store, tracking, clock, pending)


def close_bot(bot: SlackBot) -> None:
    """Let the bot finish what it was doing (nothing of a test's runs on after it), then stop
    its pools."""
    try:
        bot.drain()
    finally:
        bot.app.listener_runner.listener_executor.shutdown(wait=False)
        if bot.deps.work is not None:
            bot.deps.work.shutdown(wait=False)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackAPI]:
    """The fake Slack Web API, fresh for each test (bot token ``xoxb-test``)."""
    with FakeSlackAPI(tokens=(BOT_TOKEN,)) as api:
        yield api


@pytest.fixture(scope="module")
def module_fake_slack() -> Iterator[FakeSlackAPI]:
    """One fake Slack Web API for a whole test module (e.g. for a server started once per
    module): tests tell their calls apart by channel or response URL, not by resetting it."""
    with FakeSlackAPI(tokens=(BOT_TOKEN,)) as api:
        yield api


@pytest.fixture
def slack_client(fake_slack: FakeSlackAPI) -> WebClient:
    """A WebClient on ``fake_slack`` as the SDK makes one (its default retry handlers)."""
    return WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url)


@pytest.fixture
def no_retry_client(fake_slack: FakeSlackAPI) -> WebClient:
    """A WebClient on ``fake_slack`` that never retries by itself, so every call reaches the
    fake once (not even a dropped connection is retried)."""
    return WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url, retry_handlers=[])


def _sqlite_bot(
    assistant, api: FakeSlackAPI, tmp_path: Path, *, progress: bool, trust_fake: bool = True
) -> Iterator[SlackBot]:
    db = Database(f"sqlite:///{tmp_path / 'fwbot.db'}")
    db.migrate()
    bot = make_bot(assistant, db, api, progress=progress, trust_fake=trust_fake)
    try:
        yield bot
    finally:
        close_bot(bot)
        db.dispose()


@pytest.fixture
def slack_bot(assistant, fake_slack: FakeSlackAPI, tmp_path: Path) -> Iterator[SlackBot]:
    yield from _sqlite_bot(assistant, fake_slack, tmp_path, progress=True)


@pytest.fixture
def untrusting_slack_bot(assistant, fake_slack: FakeSlackAPI, tmp_path: Path) -> Iterator[SlackBot]:
    """The bot as in production (``FWBOT_TRUST_LOCAL_SLACK`` unset): the fake's own http
    response URLs and file URLs are not Slack's, so it neither posts to nor downloads from
    them."""
    yield from _sqlite_bot(assistant, fake_slack, tmp_path, progress=False, trust_fake=False)


@pytest.fixture
def slack_bot_without_progress(
    assistant, fake_slack: FakeSlackAPI, tmp_path: Path
) -> Iterator[SlackBot]:
    yield from _sqlite_bot(assistant, fake_slack, tmp_path, progress=False)


@pytest.fixture
def slack_bot_pg(assistant, fake_slack: FakeSlackAPI, pg_schema_url: str) -> Iterator[SlackBot]:
    db = Database(pg_schema_url)
    db.migrate()
    bot = make_bot(assistant, db, fake_slack)
    try:
        yield bot
    finally:
        close_bot(bot)
        db.dispose()
