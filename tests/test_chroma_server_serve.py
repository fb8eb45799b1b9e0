"""`fwbot serve` on a Chroma server that stops answering while it runs: a real ``chroma run``
paused with SIGSTOP (it accepts connections and never answers, as a hung server does).

The replica searches the vectors it holds, so questions are answered in their usual time;
/readyz stays 200 and says ``local_copy``; /metrics has ``fwbot_index_local_copy`` 1; the log
has one warning naming CHROMA_HOST. When the server answers again, all of it goes back."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_slack import FakeSlackAPI, SlackRequests, post
from local_slack.serve_process import ServerDidNotStart, admin_port, start_serve, stop_serve
from tests.chroma_server import ChromaServer, running_chroma
from tests.conftest import REPO_ROOT
from tests.served import block_texts, now_ts, unique

pytestmark = pytest.mark.slow  # a real `fwbot serve` and a real Chroma server

SECRET = "chroma-serve-signing-secret"
BOT_TOKEN = "xoxb-test"
START_TIMEOUT = 120.0
REPLY_TIMEOUT = 30.0
CHANGE_TIMEOUT = 30.0  # for readiness to see the change (checks are cached 1.5 s, bounded 2 s)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def metric(admin: str, name: str) -> float:
    _, body = get(f"{admin}/metrics")
    found = re.search(rf"^{re.escape(name)} (\S+)$", body.decode(), re.M)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


def readiness_becomes(root: str, word: str) -> dict:
    """/readyz until its vector_store check says ``word``; the last answer."""
    deadline = time.monotonic() + CHANGE_TIMEOUT
    while True:
        status, body = get(f"{root}/readyz")
        answer = {"status": status, **json.loads(body)}
        if answer["checks"].get("vector_store") == word or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    with running_chroma(tmp_path / "chroma") as server:
        yield server


@pytest.mark.filterwarnings("ignore:Could not reconstruct embedding function")
def test_a_server_lost_while_serving_leaves_answers_on_the_local_copy(
    chroma: ChromaServer,
    fake_slack: FakeSlackAPI,
    fwbot_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {
        **fwbot_env,
        **chroma.env,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake_slack.base_url.rstrip("/"),
        "FWBOT_DATA_DIR": str(tmp_path / "data"),
    }
    log = tmp_path / "serve.log"
    with log.open("w", encoding="utf-8") as err:
        try:
            proc, port = start_serve(env, err, timeout=START_TIMEOUT, cwd=REPO_ROOT)
        except ServerDidNotStart as exc:
            pytest.fail(f"{exc}\n{log.read_text(errors='replace')[-3000:]}")
    root, slack = f"http://127.0.0.1:{port}", SlackRequests(SECRET)
    admin = f"http://127.0.0.1:{admin_port(proc)}"

    def ask(question: str) -> tuple[float, str]:
        channel, ts = unique("C"), now_ts()
        event = slack.app_mention_event(f"<@UBOT> {question}", user="U1", channel=channel, ts=ts)
        sent = time.monotonic()
        assert post(f"{root}/slack/events", slack.event(event))[0] == 200
        [reply] = fake_slack.wait_for(
            "chat.postMessage",
            timeout=REPLY_TIMEOUT,
            where=lambda c: c.params.get("channel") == channel,
        )
        return time.monotonic() - sent, "\n".join(block_texts(reply.params["blocks"]))

    try:
        assert readiness_becomes(root, "ok")["status"] == 200
        assert metric(admin, "fwbot_index_local_copy") == 0
        _, before = ask("Which objective is about training?")

        os.kill(chroma.pid, signal.SIGSTOP)  # accepts, never answers
        try:
            lost = readiness_becomes(root, "local_copy")
            assert lost == {
                "status": 200,
                "ready": True,
                "checks": {"database": "ok", "vector_store": "local_copy"},
            }
            assert metric(admin, "fwbot_index_local_copy") == 1
            assert metric(admin, "fwbot_index_fallbacks_total") == 1
            took_lost, during = ask("Which objective is about training?")
            assert during == before  # the same answer, from the vectors it holds
            assert took_lost < REPLY_TIMEOUT
        finally:
            os.kill(chroma.pid, signal.SIGCONT)

        assert readiness_becomes(root, "ok")["status"] == 200
        assert metric(admin, "fwbot_index_local_copy") == 0
    finally:
        stop_serve(proc, grace=10)
    warnings = [
        line
        for line in log.read_text(encoding="utf-8").splitlines()
        if "local copy" in line and "CHROMA_HOST" in line
    ]
    assert len(warnings) == 1, log.read_text(encoding="utf-8")[-3000:]
    assert f"{chroma.host}:{chroma.port}" in warnings[0]
