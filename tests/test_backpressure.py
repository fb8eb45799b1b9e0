"""Back-pressure (issue 25, item 3): a full replica acks at once, says "busy" once, and the
work it deferred is answered later exactly once, none lost.

The real bolt app on the local fake Slack, signed requests, a real database (SQLite and
PostgreSQL). The work is held busy by the fake: its ``response_url`` hangs until released, so
the /align runs that reply there stay running, as a Slack that answers slowly would keep them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.slack.backpressure import BUSY, TRY_AGAIN, WorkGate, start_recovery
from bot.slack.durable import recover
from bot.slack.recovery_loop import RecoveryLoop
from bot.slack_api.events import BUSY_EVENT, REPLY_EVENT
from bot.storage.db import Database
from bot.storage.work_store import DEFERRED, WorkStore
from local_slack import FakeSlackAPI
from tests.slack_fixtures import BOT_USER, SlackBot, close_bot, eventually, make_bot

LIMIT = 2  # the gate: N
PROPOSAL = "Train border police to use the stolen passports database"


@pytest.fixture
def full_bot(assistant, database: Database, fake_slack: FakeSlackAPI) -> Iterator[SlackBot]:
    """A bot with a gate of ``LIMIT`` and its recovery running (a full pass only at start:
    what it takes later it takes because the gate woke it)."""
    bot = make_bot(assistant, database, fake_slack)
    bot.deps.gate = WorkGate(LIMIT, bot.deps.metrics)
    bot.deps.notices = bot.pending.track(ThreadPoolExecutor(2, thread_name_prefix="notice"))
    loop: RecoveryLoop = start_recovery(bot.deps, every=3600)
    try:
        yield bot
    finally:
        fake_slack.release("response_url")
        loop.stop()
        close_bot(bot)


def _mention(bot: SlackBot, n: int):
    r = bot.requests
    event = r.app_mention_event(
        f"<@{BOT_USER}> What does objective 1.1 say?", user="U1", channel="C1", ts=f"20.00000{n}"
    )
    return bot.send(r.event(event, event_id=f"EvBusy{n}"))


def _metric(bot: SlackBot, name: str, **labels: str) -> float:
    text = bot.deps.metrics.exposition().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name} {labels} not in /metrics")


def _thread(api: FakeSlackAPI, ts: str) -> list[dict]:
    return [m for m in api.messages("C1") if m.get("bot_id") and m.get("thread_ts") == ts]


def test_a_full_replica_acks_says_busy_once_and_answers_everything_once_later(
    full_bot: SlackBot, fake_slack: FakeSlackAPI, database: Database
) -> None:
    bot = full_bot
    fake_slack.hold("response_url")
    # N /align runs fill the gate: each stays running, its reply hanging in the fake
    first = [bot.command(PROPOSAL, user=f"UA{n}") for n in range(LIMIT)]
    assert all(resp.status == 200 and not resp.body for resp, _ in first)
    eventually(lambda: fake_slack.held("response_url") == LIMIT, timeout=30)
    assert _metric(bot, "fwbot_work_queued") == LIMIT

    # k more: two mentions and a command, all acknowledged, each told "busy" once
    mentions = [_mention(bot, n) for n in range(2)]
    assert [m.status for m in mentions] == [200, 200]
    late, late_url = bot.command(PROPOSAL, user="UB")
    assert late.status == 200
    assert json.loads(late.body) == {"response_type": "ephemeral", "text": BUSY.text}
    for n in range(2):
        [busy] = eventually(lambda n=n: _thread(fake_slack, f"20.00000{n}"))
        assert busy["text"] == BUSY.text
        assert busy["metadata"]["event_type"] == BUSY_EVENT
    # kept, handed back for whoever has room; this replica still holds only its N
    undone = WorkStore(database).unfinished()
    assert len(undone) == LIMIT + 3
    assert sum(owner == DEFERRED for _, owner, _ in undone) == 3
    assert _metric(bot, "fwbot_work_queued") == LIMIT
    # a full replica's recovery takes none of it over (nor other replicas' work)
    assert bot.deps.inbox is not None and bot.deps.gate is not None
    assert recover(bot.deps.inbox, bot.deps.plans, bot.deps.later, room=bot.deps.gate.room()) == 0
    assert sum(owner == DEFERRED for _, owner, _ in WorkStore(database).unfinished()) == 3
    assert _metric(bot, "fwbot_work_shed_total", kind="event:app_mention", told="busy") == 2
    assert _metric(bot, "fwbot_work_shed_total", kind="command:/align", told="busy") == 1

    # the held work ends: the gate wakes the recovery, which takes the deferred work over
    fake_slack.release("response_url")
    eventually(lambda: WorkStore(database).unfinished() == [], timeout=60)
    bot.drain()
    for _, url in [*first, (late, late_url)]:
        [reply] = bot.responses(url)
        assert reply.get("blocks") or "objective" in reply["text"].lower()
    assert len(fake_slack.calls("response_url")) == LIMIT + 1  # each answered once
    for n in range(2):
        busy, answer = _thread(fake_slack, f"20.00000{n}")  # busy once, then one answer
        assert busy["text"] == BUSY.text
        assert answer["metadata"]["event_type"] == REPLY_EVENT
        assert "1.1" in answer["text"]
    assert _metric(bot, "fwbot_work_queued") == 0
    assert _metric(bot, "fwbot_reply_seconds_count", kind="command:/align") == LIMIT + 1
    assert _metric(bot, "fwbot_reply_seconds_count", kind="event:app_mention") == 2


def test_light_work_is_done_when_full_and_unkept_work_is_told_to_try_again(
    full_bot: SlackBot, fake_slack: FakeSlackAPI, database: Database
) -> None:
    bot = full_bot
    fake_slack.hold("response_url")
    for n in range(LIMIT):
        bot.command(PROPOSAL, user=f"UA{n}")
    eventually(lambda: fake_slack.held("response_url") == LIMIT, timeout=30)
    # /progress may open a modal (its trigger lasts 3 s): never deferred, done at once
    resp, _ = bot.command("help", command="/progress")
    assert resp.status == 200 and not resp.body
    eventually(lambda: _metric(bot, "fwbot_work_queued") == LIMIT + 1)
    # a command the database could not record can't be deferred: "try again in a minute"
    inbox = bot.deps.inbox
    assert inbox is not None

    def away(*args, **kwargs):
        raise OSError("database away")

    inbox.store.receive = away  # type: ignore[method-assign]
    resp, url = bot.command(PROPOSAL, user="UC")
    assert json.loads(resp.body) == {"response_type": "ephemeral", "text": TRY_AGAIN.text}
    assert _metric(bot, "fwbot_work_shed_total", kind="command:/align", told="try_again") == 1
    fake_slack.release("response_url")
    bot.drain()
    assert not [c for c in fake_slack.calls("response_url") if c.params["_token"] in url]


def test_another_replica_with_room_answers_the_work_a_full_one_deferred_once(
    full_bot: SlackBot, assistant, fake_slack: FakeSlackAPI, database: Database
) -> None:
    bot = full_bot
    fake_slack.hold("response_url")
    for n in range(LIMIT):
        bot.command(PROPOSAL, user=f"UA{n}")
    eventually(lambda: fake_slack.held("response_url") == LIMIT, timeout=30)
    assert _mention(bot, 7).status == 200
    [busy] = eventually(lambda: _thread(fake_slack, "20.000007"))
    assert busy["text"] == BUSY.text
    other = make_bot(assistant, database, fake_slack)  # a second replica, same database
    try:
        assert other.deps.inbox is not None
        assert recover(other.deps.inbox, other.deps.plans, other.deps.later) == 1
        other.drain()
        told, answer = _thread(fake_slack, "20.000007")
        assert told["ts"] == busy["ts"]
        assert answer["metadata"]["event_type"] == REPLY_EVENT and "1.1" in answer["text"]
        fake_slack.release("response_url")
        bot.drain()
        # the first replica, with room again, finds nothing of it left to do
        assert bot.deps.inbox is not None and bot.deps.gate is not None
        assert bot.deps.gate.room() == LIMIT
        assert recover(bot.deps.inbox, bot.deps.plans, bot.deps.later, room=LIMIT) == 0
        bot.drain()
        assert len(_thread(fake_slack, "20.000007")) == 2
        assert WorkStore(database).unfinished() == []
    finally:
        close_bot(other)
    text = bot.deps.metrics.exposition().decode()
    for name in ("work_queued", "work_limit", "work_shed_total", "reply_seconds"):
        assert f"# HELP fwbot_{name} " in text
