"""`fwbot nudge run` as real processes against the fake Slack on PostgreSQL: two at once send
one DM per owner; a pass killed mid-way and run again nudges nobody twice and nobody never."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bot.storage.claims_store import ClaimStore
from bot.storage.db import Database
from bot.storage.progress_store import ProgressStore
from tests.conftest import REPO_ROOT
from tests.progress_fixtures import BOT_TOKEN, nudges_received, seed

pytestmark = pytest.mark.slow  # real processes racing on one database

NOW = "2026-11-30T09:30:00+00:00"
OWNERS = [f"U{n:04d}" for n in range(1, 41)]


def nudge_process(env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "nudge", "run", "--now", NOW, *extra],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def env(fwbot_env: dict[str, str], pg_schema_url: str, fake_slack) -> dict[str, str]:
    db = Database(pg_schema_url)
    db.migrate()
    seed(ProgressStore(db), OWNERS)
    db.dispose()
    return {
        **fwbot_env,
        "DATABASE_URL": pg_schema_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake_slack.base_url,
        "FWBOT_NUDGE_WORKERS": "4",
        "FWBOT_SLACK_TIMEOUT": "2",
    }


def test_two_passes_at_once_send_one_dm_per_owner(env, fake_slack) -> None:
    fake_slack.delay("chat.postMessage", 0.02)  # let the two overlap
    first, second = nudge_process(env), nudge_process(env)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert nudges_received(fake_slack) == {(o, "2026-W49"): 1 for o in OWNERS}
    sent = [int(out.split(b"sent ")[1].split(b" ")[0]) for out, _ in outputs]
    assert sum(sent) == len(OWNERS)


def test_a_pass_killed_mid_way_and_run_again_nudges_everyone_exactly_once(env, fake_slack) -> None:
    fake_slack.delay("chat.postMessage", 0.15)  # slow Slack: the kill lands mid-send
    victim = nudge_process(env)
    deadline = time.monotonic() + 60
    while sum(nudges_received(fake_slack).values()) < 8:
        assert time.monotonic() < deadline, "the first pass sent nothing"
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    partial = sum(nudges_received(fake_slack).values())
    assert 0 < partial < len(OWNERS)
    fake_slack.delay("chat.postMessage", 0)
    again = nudge_process(env)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, (out, err)
    assert nudges_received(fake_slack) == {(o, "2026-W49"): 1 for o in OWNERS}
    db = Database(env["DATABASE_URL"])
    try:
        states = {c.subject: c.state for c in ClaimStore(db).claims("nudge")}
    finally:
        db.dispose()
    assert states == {o: "sent" for o in OWNERS}
    # And a third pass has nothing left to do.
    third = nudge_process(env)
    out, _ = third.communicate(timeout=120)
    assert b"sent 0 nudge(s)" in out and sum(nudges_received(fake_slack).values()) == 40


def test_dry_run_against_a_real_database_sends_nothing(env, fake_slack) -> None:
    env = {**env, "FWBOT_DIGEST_CHANNEL": "CDIGEST", "FWBOT_DIGEST_TIME": "09:00"}
    out, err = nudge_process(env, "--dry-run").communicate(timeout=120)
    assert b"40 owner(s) would be nudged" in out, err
    assert b"would post the digest for 2026-W49 to CDIGEST" in out
    assert fake_slack.calls("chat.postMessage") == []


def test_serve_runs_the_scheduler_and_nudges_without_cron(fwbot_env, fake_slack, tmp_path) -> None:
    from datetime import UTC, datetime

    from bot.progress.schedule import week_key
    from local_slack.serve_process import start_serve, stop_serve

    url = f"sqlite:///{tmp_path / 'fwbot.db'}"
    db = Database(url)
    db.migrate()
    seed(ProgressStore(db), ["USERVE"])  # last update 1 Nov: overdue every week after
    db.dispose()
    env = {
        **fwbot_env,
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": fake_slack.base_url,
        "FWBOT_SCHEDULER_INTERVAL": "5",
    }
    now = datetime.now(UTC)
    with (tmp_path / "serve.log").open("w") as err:
        proc, _ = start_serve(env, err, timeout=120, cwd=REPO_ROOT)
        try:
            deadline = time.monotonic() + 30
            while not nudges_received(fake_slack) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop_serve(proc)
    # The nudge of the current week (the slot, Monday 09:00 UTC, has passed unless it is
    # Monday morning now).
    if now.weekday() == 0 and now.hour < 9:
        assert nudges_received(fake_slack) == {}
    else:
        assert nudges_received(fake_slack) == {("USERVE", week_key(now.date())): 1}
