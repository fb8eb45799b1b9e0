"""`fwbot serve` stops on SIGTERM under load: gracefully, within its grace period, exit 0.

Each trial starts a fresh server against the fake Slack with ``chat.postMessage`` slowed, sends
20 signed app_mention events at once, sends SIGTERM while they are in flight, and checks that
the process is gone within 10 s with code 0 and no traceback, and that every event it
acknowledged was either answered or counted in the log as handed back. The slowest trial's
work cannot finish within the grace period (FWBOT_STOP_GRACE, 8 s), so it must be cut off.
"""

from __future__ import annotations

import re
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from local_slack import FakeSlackAPI, SlackRequests, post
from local_slack.serve_process import ServerDidNotStart, start_serve, stop_serve
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # real `fwbot serve` processes, stopped and killed

SECRET = "stop-test-signing-secret"
BOT_TOKEN = "xoxb-test"
START_TIMEOUT = 120
EVENTS = 20
EXIT_LIMIT = 10.0  # seconds from SIGTERM to the process gone
HANDED_BACK = re.compile(r"(\d+) (?:acknowledged )?job(?:\(s\))? [^\n]*handed back")


@pytest.fixture(scope="module")
def fake(module_fake_slack: FakeSlackAPI) -> FakeSlackAPI:
    return module_fake_slack


def _handed_back(log: str) -> int:
    return sum(int(m.group(1)) for m in HANDED_BACK.finditer(log))


# postMessage delays: quick enough to finish in the grace period; a few rounds of the work
# pool; longer than the whole grace period (the work must be cut off, not waited for)
@pytest.mark.parametrize("post_delay", [0.2, 1.5, 12.0])
def test_sigterm_under_load_stops_gracefully(
    fake: FakeSlackAPI, fwbot_env: dict[str, str], tmp_path: Path, post_delay: float
) -> None:
    env = {
        **fwbot_env,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.base_url.rstrip("/"),
        "FWBOT_SCHEDULER": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fwbot.db'}",
    }
    env.pop("FWBOT_STOP_GRACE", None)  # the default, 8 s
    log_path = tmp_path / "server.log"
    with log_path.open("w", encoding="utf-8") as err:
        try:
            proc, port = start_serve(env, err, timeout=START_TIMEOUT, cwd=REPO_ROOT)
        except ServerDidNotStart as exc:
            pytest.fail(f"{exc}\nlog:\n{log_path.read_text(errors='replace')[-4000:]}")
    try:
        _stop_under_load(proc, port, fake, log_path, post_delay)
    finally:
        fake.delay("chat.postMessage", 0)
        stop_serve(proc, grace=5)


def _stop_under_load(
    proc: subprocess.Popen[str], port: int, fake: FakeSlackAPI, log_path: Path, post_delay: float
) -> None:
    slack = SlackRequests(SECRET)
    url = f"http://127.0.0.1:{port}/slack/events"
    channel = "C" + secrets.token_hex(5).upper()  # this trial's replies only
    fake.delay("chat.postMessage", post_delay)
    acked: dict[str, float] = {}  # event ts -> when its 200 came back
    lock = threading.Lock()

    def send(i: int) -> None:
        ts = f"{time.time():.0f}.{i:06d}"
        event = slack.app_mention_event(
            f"<@UBOT> Which objective is about training? ({i})", user="U1", channel=channel, ts=ts
        )
        try:
            status, _, _ = post(url, slack.event(event), timeout=15)
        except OSError:  # refused or cut off by the stop: not acknowledged, Slack retries
            return
        if status == 200:
            with lock:
                acked[ts] = time.monotonic()

    senders = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(EVENTS)]
    for t in senders:
        t.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # some acked, their work in flight
        with lock:
            if len(acked) >= EVENTS // 4:
                break
        time.sleep(0.01)
    with lock:
        assert len(acked) >= EVENTS // 4, f"only {len(acked)} of {EVENTS} acknowledged"
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # a second one while stopping: ignored
    try:
        code = proc.wait(timeout=EXIT_LIMIT + 5)
    except subprocess.TimeoutExpired:
        code = None
    took = time.monotonic() - signalled
    for t in senders:
        t.join(timeout=20)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert code is not None and took <= EXIT_LIMIT, (
        f"still running {took:.1f} s after SIGTERM (exit {code})\n{log[-4000:]}"
    )
    assert code == 0, log[-4000:]
    assert "uncaptured python exception" not in log, log[-4000:]
    assert "Traceback" not in log, log[-4000:]
    assert "stopping" in log

    replied = {
        c.params.get("thread_ts")
        for c in fake.calls("chat.postMessage")
        if c.params.get("channel") == channel
    }
    missing = set(acked) - replied
    handed_back = _handed_back(log)
    assert len(missing) <= handed_back, (
        f"{len(missing)} acknowledged event(s) neither answered nor handed back "
        f"(log says {handed_back}); acked {len(acked)}, answered {len(replied & set(acked))}"
        f"\n{log[-4000:]}"
    )
    if post_delay > 8:  # nothing could finish in the grace period: the log says what was cut
        assert handed_back >= len(acked), log[-4000:]


def test_kill_9_loses_nothing_acknowledged_and_posts_nothing_twice(
    fake: FakeSlackAPI, fwbot_env: dict[str, str], tmp_path: Path
) -> None:
    """Mentions acked while ``chat.postMessage`` is slow, then ``kill -9``: after a restart
    on the same database every one of them has exactly one reply (issue 10, part 1)."""
    env = {
        **fwbot_env,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.base_url.rstrip("/"),
        "FWBOT_SCHEDULER": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fwbot.db'}",
        # a taken-over request waits this + 5 s for posts of the dead process to land
        "FWBOT_SLACK_TIMEOUT": "4",
    }
    slack = SlackRequests(SECRET)
    channel = "C" + secrets.token_hex(5).upper()
    sent = [f"{time.time():.0f}.{i:06d}" for i in range(8)]
    log_path = tmp_path / "server.log"
    with log_path.open("w", encoding="utf-8") as err:
        proc, port = start_serve(env, err, timeout=START_TIMEOUT, cwd=REPO_ROOT)
        try:
            fake.delay("chat.postMessage", 3.0)
            for i, ts in enumerate(sent):
                event = slack.app_mention_event(
                    f"<@UBOT> Which objective is about training? ({i})",
                    user="U1",
                    channel=channel,
                    ts=ts,
                )
                status, _, _ = post(
                    f"http://127.0.0.1:{port}/slack/events", slack.event(event), timeout=15
                )
                assert status == 200
            proc.kill()  # SIGKILL: no handler, no drain
            proc.wait(timeout=10)
        finally:
            stop_serve(proc, grace=5)
        fake.delay("chat.postMessage", 0)
        before = {
            c.params.get("thread_ts")
            for c in fake.calls("chat.postMessage")
            if c.params.get("channel") == channel
        }
        assert len(before) < len(sent)  # the kill did leave work undone
        proc, _ = start_serve(env, err, timeout=START_TIMEOUT, cwd=REPO_ROOT)
        try:

            def replies() -> list[str]:
                return [str(m.get("thread_ts")) for m in fake.messages(channel) if m.get("bot_id")]

            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and set(replies()) < set(sent):
                time.sleep(0.1)
        finally:
            stop_serve(proc, grace=10)  # drains the work pool: anything in flight is posted
        got = replies()
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert sorted(got) == sorted(sent), f"replies per thread: {got}\n{log[-3000:]}"
    assert "left undone by a stopped process" in log
