"""The real HTTP server (``fwbot serve``) in a subprocess, talking to a fake Slack on loopback.

One server per module (``server``): ``python -m bot.cli serve --port 0`` with the session's
data dir, its own SQLite database and ``SLACK_API_URL`` pointing at a module-wide
:class:`FakeSlackAPI` (given without the trailing slash: the settings must add it). Requests
are signed exactly as Slack signs them and sent over HTTP with urllib. Every check that
something was *not* posted filters the fake's call log by a channel or response URL that only
that test uses, so the tests do not depend on each other's order.

Latency targets are the benchmark's business (bench/bench_slack.py); here a time limit only
appears as Slack's own 3-second ack contract.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.local_slack import Call, FakeSlackAPI, SignedRequest, SlackRequests, post
from bot.local_slack.serve_process import ServerDidNotStart, start_serve, stop_serve
from framework_data.loader import load_framework
from tests.conftest import REPO_ROOT, run_fwbot

SECRET = "http-test-signing-secret"
BOT_TOKEN = "xoxb-test"
START_TIMEOUT = 120  # seconds: the first start of a session may build the search index
REPLY_TIMEOUT = 30  # seconds for the work after the ack (a busy CI machine, a cold model)
SLACK_ACK_LIMIT = 3.0  # seconds: Slack shows the user an error past this
QUIET_WAIT = 1.5  # seconds to wait before asserting that nothing (more) was posted


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int
    log: Path
    fake: FakeSlackAPI
    slack: SlackRequests

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.root}/slack/events"

    def send(self, req: SignedRequest) -> tuple[int, dict[str, str], bytes]:
        return post(self.events_url, req)

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        try:
            with urllib.request.urlopen(self.root + path, timeout=10) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers.items()), err.read()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI(tokens=(BOT_TOKEN,)) as api:
        yield api


@pytest.fixture(scope="module")
def server(fake: FakeSlackAPI, fwbot_env: dict[str, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("fwbot-serve")
    env = {**fwbot_env, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": fake.base_url.rstrip("/"),
           "DATABASE_URL": f"sqlite:///{tmp / 'fwbot.db'}"}
    log = tmp / "server.log"
    with log.open("w", encoding="utf-8") as err:
        try:
            proc, port = start_serve(env, err, timeout=START_TIMEOUT, cwd=REPO_ROOT)
        except ServerDidNotStart as exc:
            pytest.fail(f"{exc}\nlog:\n"
                        + log.read_text(encoding="utf-8", errors="replace")[-4000:])
    try:
        yield Server(proc, port, log, fake, SlackRequests(SECRET))
    finally:
        stop_serve(proc, grace=10)


@pytest.fixture(scope="module")
def objective_ids() -> set[str]:
    return {o.id for _, o in load_framework().objectives()}


def _unique(prefix: str) -> str:
    return prefix + secrets.token_hex(4).upper()


def _ts() -> str:
    return f"{time.time():.6f}"


def _texts(obj: Any) -> Iterator[str]:
    """Every string under ``text`` keys of a block structure."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from _texts(item)


def _mention(server: Server, question: str, channel: str) -> tuple[dict[str, Any], str]:
    ts = _ts()
    event = server.slack.app_mention_event(f"<@UBOT> {question}", user="U1", channel=channel,
                                           ts=ts)
    return event, ts


def _thread_posts(fake: FakeSlackAPI, channel: str, ts: str) -> list[Call]:
    return [c for c in fake.calls("chat.postMessage")
            if c.params.get("channel") == channel and c.params.get("thread_ts") == ts]


# ---- health, metrics, routing ---------------------------------------------------------------


def test_healthz_is_ok(server: Server) -> None:
    status, headers, body = server.get("/healthz")
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["ok"] is True


def test_metrics_count_slack_requests(server: Server) -> None:
    usage = server.slack.slash_command("/align", "", user_id="U1", channel_id=_unique("C"),
                                       response_url=server.fake.response_url())
    assert server.send(usage)[0] == 200
    status, headers, body = server.get("/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "fwbot_slack_requests" in text
    assert re.search(r'^fwbot_slack_requests_total\{kind="command:/align"\} [1-9]', text, re.M), \
        text


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("POST", "/nope"),
                                              ("GET", "/slack/events"), ("POST", "/healthz")])
def test_unknown_routes_are_404(server: Server, method: str, path: str) -> None:
    request = urllib.request.Request(server.root + path, data=b"{}" if method == "POST" else None,
                                     method=method)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code == 404


def test_url_verification_echoes_the_challenge(server: Server) -> None:
    challenge = secrets.token_urlsafe(24)
    status, _, body = server.send(server.slack.url_verification(challenge))
    assert status == 200
    assert json.loads(body)["challenge"] == challenge


# ---- /align ---------------------------------------------------------------------------------


def test_align_acks_empty_then_replies_privately(server: Server, objective_ids: set[str]) -> None:
    url = server.fake.response_url()
    token = url.rsplit("/", 1)[-1]
    req = server.slack.slash_command(
        "/align", "We will train forensic specialists from member countries in digital evidence "
        "and share best practices through regional workshops.", user_id="U1",
        channel_id=_unique("C"), response_url=url)
    sent = time.monotonic()
    status, _, body = server.send(req)
    acked = time.monotonic() - sent
    assert status == 200
    assert body == b""
    assert acked < SLACK_ACK_LIMIT
    [reply] = server.fake.wait_for("response_url", timeout=REPLY_TIMEOUT,
                                   where=lambda c: c.params["_token"] == token)
    assert reply.status == 200, reply.response
    assert reply.params["response_type"] == "ephemeral"
    shown = "\n".join(_texts(reply.params["blocks"]))
    assert any(f"*{oid}*" in shown for oid in objective_ids), shown


def test_align_without_text_answers_usage_in_the_ack(server: Server) -> None:
    url = server.fake.response_url()
    token = url.rsplit("/", 1)[-1]
    req = server.slack.slash_command("/align", "  ", user_id="U1", channel_id=_unique("C"),
                                     response_url=url)
    status, headers, body = server.send(req)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    usage = json.loads(body)
    assert usage["response_type"] == "ephemeral"
    assert "/align" in usage["text"]
    assert "/align" in "\n".join(_texts(usage["blocks"]))
    time.sleep(QUIET_WAIT)
    assert not [c for c in server.fake.calls("response_url") if c.params["_token"] == token]


# ---- mentions and Slack's retries -----------------------------------------------------------


def test_mention_is_answered_in_its_thread(server: Server) -> None:
    channel = _unique("C")
    event, ts = _mention(server, "Which objective is about training?", channel)
    status, _, _ = server.send(server.slack.event(event))
    assert status == 200
    [reply] = server.fake.wait_for(
        "chat.postMessage", timeout=REPLY_TIMEOUT,
        where=lambda c: c.params.get("channel") == channel)
    assert reply.params["thread_ts"] == ts
    assert reply.ok, reply.response
    assert reply.params.get("text")


def test_a_retried_event_is_answered_once(server: Server) -> None:
    channel = _unique("C")
    event, ts = _mention(server, "How do we work with the private sector?", channel)
    event_id = _unique("Ev")
    assert server.send(server.slack.event(event, event_id=event_id))[0] == 200
    server.fake.wait_for("chat.postMessage", timeout=REPLY_TIMEOUT,
                         where=lambda c: c.params.get("channel") == channel)
    retry = server.slack.event(event, event_id=event_id, retry_num=1)
    assert retry.headers["X-Slack-Retry-Num"] == "1"
    status, _, _ = server.send(retry)
    assert status == 200
    time.sleep(QUIET_WAIT)
    assert len(_thread_posts(server.fake, channel, ts)) == 1
    metrics = server.get("/metrics")[2].decode()
    assert re.search(r"^fwbot_duplicate_events_total [1-9]", metrics, re.M), metrics


# ---- request verification -------------------------------------------------------------------


def _command_or_mention(server: Server, kind: str) -> tuple[SignedRequest, Any]:
    """A valid request of ``kind`` and a function returning what the fake got for it."""
    channel = _unique("C")
    if kind == "command":
        url = server.fake.response_url()
        token = url.rsplit("/", 1)[-1]
        req = server.slack.slash_command("/align", "Train investigators in open-source "
                                         "intelligence.", user_id="U1", channel_id=channel,
                                         response_url=url)
        return req, lambda: [c for c in server.fake.calls()
                             if c.params.get("_token") == token or
                             c.params.get("channel") == channel]
    event, _ = _mention(server, "What is our vision?", channel)
    return server.slack.event(event), lambda: [c for c in server.fake.calls()
                                               if c.params.get("channel") == channel]


@pytest.mark.parametrize("kind", ["command", "mention"])
def test_wrong_signature_is_401_and_nothing_happens(server: Server, kind: str) -> None:
    req, received = _command_or_mention(server, kind)
    forged = server.slack.resign(req, secret="not-the-secret")
    status, _, _ = server.send(forged)
    assert status == 401
    time.sleep(QUIET_WAIT)
    assert received() == []


@pytest.mark.parametrize("kind", ["command", "mention"])
def test_stale_timestamp_is_401(server: Server, kind: str) -> None:
    req, received = _command_or_mention(server, kind)
    stale = server.slack.resign(req, timestamp=int(time.time()) - 6 * 60)
    status, _, _ = server.send(stale)
    assert status == 401
    time.sleep(QUIET_WAIT)
    assert received() == []


def test_server_is_still_running(server: Server) -> None:
    """Last in the module: nothing above brought the server down."""
    assert server.proc.poll() is None, server.log_tail()


# ---- missing settings -----------------------------------------------------------------------


def _serve_without(env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[bytes]:
    return run_fwbot("serve", "--host", "127.0.0.1", "--port", "0", env={**env, **extra})


def test_serve_without_bot_token_names_it(fwbot_env: dict[str, str]) -> None:
    assert "SLACK_BOT_TOKEN" not in fwbot_env
    done = _serve_without(fwbot_env, SLACK_SIGNING_SECRET=SECRET)
    assert done.returncode == 2
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "SLACK_BOT_TOKEN" in lines[0]


def test_serve_without_secret_or_app_token_names_the_secret(fwbot_env: dict[str, str]) -> None:
    assert not {"SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"} & set(fwbot_env)
    done = _serve_without(fwbot_env, SLACK_BOT_TOKEN=BOT_TOKEN)
    assert done.returncode == 2
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "SLACK_SIGNING_SECRET" in lines[0]
