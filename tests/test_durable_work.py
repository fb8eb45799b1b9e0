"""Nothing acknowledged is lost (issue 10, part 1).

A "crashed" process is simulated in-process: its work pool accepts jobs and never runs them
(as a process killed after the ack), and its inbox is closed (its run is over, so its undone
work counts as left by a dead process). A second bot on the same database then finishes that
work — through Slack's retry of the event, or through the recovery pass — exactly once, and a
reply the dead process had already posted is found in the history, not posted again. Every
test runs on SQLite and on PostgreSQL (the ``database`` fixture).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.durable import Ticket, kind_of, recover
from bot.slack_api.events import REPLY_EVENT
from bot.storage.db import Database
from bot.storage.work_store import WorkStore
from local_slack import FakeSlackAPI
from tests.conftest import REPO_ROOT
from tests.slack_fixtures import BOT_TOKEN, BOT_USER, SlackBot, eventually, make_bot

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


class KilledPool(Executor):
    """Takes jobs after the ack and never runs them: the process died first."""

    def __init__(self) -> None:
        self.taken = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[override]
        self.taken += 1
        return Future()


def _drain(bot: SlackBot) -> None:
    """Wait until bolt's listeners and the work pool have finished everything handed to
    them (the listeners run after the ack)."""
    bot.drain()


def _replies(api: FakeSlackAPI, channel: str, thread_ts: str) -> list[dict]:
    return [m for m in api.messages(channel) if m.get("bot_id") and m.get("thread_ts") == thread_ts]


def _mention(bot: SlackBot, text: str, *, ts: str, event_id: str, retry: int | None = None):
    r = bot.requests
    return bot.send(
        r.event(
            r.app_mention_event(f"<@{BOT_USER}> {text}", user="U1", channel="C1", ts=ts),
            event_id=event_id,
            retry_num=retry,
        )
    )


def _crashed_bot(assistant, database: Database, api: FakeSlackAPI) -> tuple[SlackBot, KilledPool]:
    pool = KilledPool()
    return make_bot(assistant, database, api, work=pool), pool


def _kill(bot: SlackBot) -> None:
    assert bot.deps.inbox is not None
    bot.deps.inbox.close()


# ---- the store ---------------------------------------------------------------------------


def test_received_work_is_new_then_duplicate_then_resumed_only_when_its_owner_is_dead(
    database: Database,
) -> None:
    store = WorkStore(database)
    lease = timedelta(minutes=15)
    dead: set[str] = set()

    def receive(owner: str, now: datetime = T0) -> str:
        return store.receive(
            "Ev1",
            kind="event:app_mention",
            body={"x": 1},
            owner=owner,
            lease=lease,
            is_dead=dead.__contains__,
            now=now,
        )

    assert receive("a") == "new"
    assert receive("b") == "duplicate"  # a is alive and within its lease
    assert receive("b", T0 + lease + timedelta(seconds=1)) == "resumed"  # a's lease ended
    dead.add("b")
    assert receive("c", T0 + lease + timedelta(seconds=2)) == "resumed"  # b died
    assert receive("a", T0 + lease + timedelta(seconds=3)) == "duplicate"  # c alive
    store.finish("Ev1")
    dead.add("c")
    assert receive("d", T0 + 3 * lease) == "duplicate"  # done: never again
    assert store.unfinished() == []


def test_a_reply_being_streamed_is_kept_with_its_request_and_handed_to_who_takes_it_over(
    database: Database,
) -> None:
    store = WorkStore(database)
    lease = timedelta(minutes=15)
    store.receive(
        "EvS", kind="event:app_mention", body={}, owner="a", lease=lease, is_dead=set().__contains__
    )
    assert store.noted_reply("EvS") is None
    store.note_reply("EvS", "1712.000100")
    assert store.noted_reply("EvS") == "1712.000100"
    taken = store.take_over("EvS", owner="b", lease=lease, is_dead={"a"}.__contains__)
    assert taken is not None and taken.reply_ts == "1712.000100"
    assert store.noted_reply("EvUnknown") is None


def test_a_claim_without_work_is_done_when_written_and_pruning_counts_abandoned_work(
    database: Database,
) -> None:
    store = WorkStore(database)
    lease = timedelta(minutes=15)
    never = lambda owner: False  # noqa: E731
    assert (
        store.receive("EvHome", kind=None, body=None, owner="a", lease=lease, is_dead=never, now=T0)
        == "new"
    )
    assert (
        store.receive("EvHome", kind=None, body=None, owner="a", lease=lease, is_dead=never, now=T0)
        == "duplicate"
    )
    store.receive(
        "EvWork", kind="event:app_mention", body={}, owner="a", lease=lease, is_dead=never, now=T0
    )
    assert [k for k, _, _ in store.unfinished()] == ["EvWork"]
    assert store.prune(T0 + timedelta(days=2)) == (2, 1)
    assert store.counts() == {"undone": 0, "done": 0}


# ---- events ----------------------------------------------------------------------------


def test_mentions_acked_by_a_process_that_died_are_answered_once_after_the_restart(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    first, pool = _crashed_bot(assistant, database, fake_slack)
    for n in range(3):
        assert (
            _mention(
                first, "What does objective 1.1 say?", ts=f"10.00000{n}", event_id=f"EvCrash{n}"
            ).status
            == 200
        )
    eventually(lambda: pool.taken == 3)  # the listeners ran (after the ack)
    assert not fake_slack.calls("chat.postMessage")
    _kill(first)

    second = make_bot(assistant, database, fake_slack)
    assert second.deps.inbox is not None
    assert recover(second.deps.inbox, second.deps.plans, second.deps.later) == 3
    _drain(second)
    for n in range(3):
        replies = _replies(fake_slack, "C1", f"10.00000{n}")
        assert len(replies) == 1, replies
        assert "1.1" in replies[0]["text"]
        assert replies[0]["metadata"]["event_type"] == REPLY_EVENT
    assert WorkStore(database).unfinished() == []
    assert recover(second.deps.inbox, second.deps.plans, second.deps.later) == 0


def test_a_slack_retry_of_an_event_a_dead_process_left_undone_is_answered_at_once(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    first, pool = _crashed_bot(assistant, database, fake_slack)
    assert _mention(first, "What is our mission?", ts="11.000001", event_id="EvRetry").status == 200
    eventually(lambda: pool.taken == 1)
    _kill(first)
    second = make_bot(assistant, database, fake_slack)
    assert (
        _mention(second, "What is our mission?", ts="11.000001", event_id="EvRetry", retry=1).status
        == 200
    )
    assert (
        _mention(second, "What is our mission?", ts="11.000001", event_id="EvRetry", retry=2).status
        == 200
    )  # in hand now: dropped
    _drain(second)
    assert len(_replies(fake_slack, "C1", "11.000001")) == 1


def test_a_reply_the_dead_process_had_posted_is_found_not_posted_again(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    first = make_bot(assistant, database, fake_slack)
    assert first.deps.inbox is not None
    # It answered, then died before it could mark the work done.
    first.deps.inbox.store.finish = lambda key, now=None: None  # type: ignore[method-assign]
    assert (
        _mention(first, "What does objective 2.1 say?", ts="12.000001", event_id="EvPosted").status
        == 200
    )
    _drain(first)
    assert len(_replies(fake_slack, "C1", "12.000001")) == 1
    _kill(first)

    second = make_bot(assistant, database, fake_slack)
    assert second.deps.inbox is not None
    assert recover(second.deps.inbox, second.deps.plans, second.deps.later) == 1
    _drain(second)
    assert len(_replies(fake_slack, "C1", "12.000001")) == 1
    assert WorkStore(database).unfinished() == []
    assert fake_slack.calls("conversations.replies")  # it looked


def test_a_retried_thread_broadcast_is_answered_once(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    """One rule decides whether a message is recorded and whether it is answered: a thread
    broadcast ("also send to channel") is both, so Slack's retry of it is dropped."""
    bot = make_bot(assistant, database, fake_slack)
    _mention(bot, "What does objective 1.1 say?", ts="13.000001", event_id="EvRoot")
    _drain(bot)
    bot = make_bot(assistant, database, fake_slack)
    r = bot.requests
    broadcast = r.channel_message_event(
        "And what about 1.2?",
        user="U1",
        channel="C1",
        ts="13.000002",
        thread_ts="13.000001",
        subtype="thread_broadcast",
    )
    for retry in (None, 1):
        assert bot.send(r.event(broadcast, event_id="EvBroadcast", retry_num=retry)).status == 200
    _drain(bot)
    replies = _replies(fake_slack, "C1", "13.000001")
    assert len(replies) == 2, [m["text"][:60] for m in replies]  # the mention's and one more


# ---- commands ----------------------------------------------------------------------------


def test_an_align_command_acked_by_a_process_that_died_is_answered_after_the_restart(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    first, pool = _crashed_bot(assistant, database, fake_slack)
    resp, url = first.command("Train border police to use the stolen passports database")
    assert resp.status == 200 and pool.taken == 1
    [(key, _, _)] = WorkStore(database).unfinished()
    assert key.startswith("trigger:")
    _kill(first)

    second = make_bot(assistant, database, fake_slack)
    assert second.deps.inbox is not None
    assert recover(second.deps.inbox, second.deps.plans, second.deps.later) == 1
    _drain(second)
    [reply] = second.responses(url)
    assert "objective" in reply["text"].lower() or reply.get("blocks")
    assert WorkStore(database).unfinished() == []


def test_an_empty_align_command_gets_its_usage_and_keeps_nothing(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    bot = make_bot(assistant, database, fake_slack)
    resp, _ = bot.command("   ")
    assert resp.status == 200 and "/align" in (resp.body or "")
    assert WorkStore(database).counts() == {"undone": 0, "done": 0}


def test_work_whose_done_mark_failed_is_marked_by_the_next_pass_not_done_again(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    bot = make_bot(assistant, database, fake_slack)
    inbox = bot.deps.inbox
    assert inbox is not None
    real_finish = inbox.store.finish

    def database_away(key: str, now: datetime | None = None) -> None:
        raise ConnectionError("database away")

    inbox.store.finish = database_away  # type: ignore[method-assign]
    _, url = bot.command("Train border police to use the stolen passports database")
    bot.responses(url)
    pool = bot.deps.work
    assert pool is not None
    pool.shutdown(wait=True)
    assert len(WorkStore(database).unfinished()) == 1
    inbox.store.finish = real_finish  # type: ignore[method-assign]
    inbox.lease = timedelta(0)  # even with its lease over, it is not done again
    assert recover(inbox, bot.deps.plans, lambda job, ticket: pytest.fail("redone")) == 0
    assert WorkStore(database).unfinished() == []


# ---- the database away -------------------------------------------------------------------


def test_with_the_database_away_an_event_gets_503_and_slack_s_retry_is_answered(
    assistant, database: Database, fake_slack: FakeSlackAPI, caplog
) -> None:
    bot = make_bot(assistant, database, fake_slack)
    assert bot.deps.inbox is not None
    store = bot.deps.inbox.store
    real_receive = store.receive

    def away(*args, **kwargs):
        raise ConnectionError("connection refused\nmore detail")

    store.receive = away  # type: ignore[method-assign]
    assert _mention(bot, "What is our mission?", ts="14.000001", event_id="EvAway").status == 503
    assert "Traceback" not in caplog.text and "EvAway not recorded" in caplog.text
    store.receive = real_receive  # type: ignore[method-assign]
    assert (
        _mention(bot, "What is our mission?", ts="14.000001", event_id="EvAway", retry=1).status
        == 200
    )
    _drain(bot)
    assert len(_replies(fake_slack, "C1", "14.000001")) == 1


def test_with_the_database_away_a_command_is_still_done(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    """Slack never resends a command: it is done now, without being kept."""
    bot = make_bot(assistant, database, fake_slack)
    assert bot.deps.inbox is not None

    def away(*args, **kwargs):
        raise ConnectionError("connection refused")

    bot.deps.inbox.store.receive = away  # type: ignore[method-assign]
    resp, url = bot.command("Train border police to use the stolen passports database")
    assert resp.status == 200
    [reply] = bot.responses(url)
    assert reply["text"]


def test_a_taken_over_request_waits_for_a_post_still_landing_before_it_looks(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    """The dead process's chat.postMessage may reach the history after the restart (a slow
    Slack finishing a request whose client is gone): the new owner waits ``settle`` seconds
    before it looks, so it finds that reply instead of posting a second one."""
    first, pool = _crashed_bot(assistant, database, fake_slack)
    assert (
        _mention(first, "What is our mission?", ts="15.000001", event_id="EvLanding").status == 200
    )
    eventually(lambda: pool.taken == 1)
    _kill(first)

    second = make_bot(assistant, database, fake_slack)
    inbox = second.deps.inbox
    assert inbox is not None
    inbox.settle = 20.0
    now = datetime.now(UTC)  # both clocks stand still: the wait is exactly ``settle``
    inbox.clock = lambda: now
    second.deps.clock = now.timestamp
    timers = Timers()
    second.deps.defer = timers.defer
    assert recover(inbox, second.deps.plans, second.deps.later) == 1
    [(wait, _)] = timers.pending
    assert wait == 20.0
    _drain(second)  # the job waits on its timer: it has not looked, nor posted
    assert not fake_slack.calls("conversations.replies")
    assert WorkStore(database).unfinished() != []
    # ... and now the dead process's reply lands, during the wait
    ticket_key = "EvLanding"
    fake_slack.client(BOT_TOKEN).chat_postMessage(
        channel="C1",
        thread_ts="15.000001",
        text="(the first process's answer)",
        metadata={"event_type": REPLY_EVENT, "event_payload": {"request": ticket_key}},
    )
    timers.fire()  # the wait is over
    _drain(second)
    assert fake_slack.calls("conversations.replies")  # it looked...
    assert [m["text"] for m in _replies(fake_slack, "C1", "15.000001")] == [
        "(the first process's answer)"
    ]  # ... and found the reply instead of posting a second one
    assert WorkStore(database).unfinished() == []


def test_a_taken_over_request_s_job_runs_on_a_timer_once_its_wait_is_over(
    assistant, database: Database, fake_slack: FakeSlackAPI
) -> None:
    """``SlackDeps.later``'s own timer (the test above drives a fake one): the job runs once
    the ticket's ``look_after`` has passed, not before, and the ticket is then marked done."""
    bot = make_bot(assistant, database, fake_slack)
    ran_at: list[float] = []
    finished: list[Ticket] = []
    assert bot.deps.inbox is not None
    bot.deps.inbox.finish = finished.append  # type: ignore[method-assign]
    look_after = time.time() + 0.05
    ticket = Ticket("EvTimer", "event:app_mention", 0.0, resumed=True, look_after=look_after)
    bot.deps.later(lambda: ran_at.append(time.time()), ticket)
    assert eventually(lambda: finished) == [ticket]  # marked done after the job ran
    assert ran_at and ran_at[0] >= look_after


class Timers:
    """``SlackDeps.defer`` on a hand-moved clock: jobs wait until :meth:`fire`."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def defer(self, seconds: float, run: Callable[[], None]) -> None:
        self.pending.append((seconds, run))

    def fire(self) -> None:
        pending, self.pending = self.pending, []
        for _, run in pending:
            run()


def test_kinds_are_built_by_kind_of_alone() -> None:
    """Plans and kept requests find each other by kind: no module spells one by hand."""
    assert kind_of("command", "/align") == "command:/align"
    assert kind_of("view", "progress_new") == "view:progress_new"
    spelled = re.compile(r"""f?["'](event|command|action|view|shortcut):""")
    found = [
        f"{path.relative_to(REPO_ROOT)}:{n}"
        for path in sorted((REPO_ROOT / "bot").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if spelled.search(line) and "kind_of(" not in line
    ]
    assert found == []
