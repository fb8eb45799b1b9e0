"""`fwbot serve` in Socket Mode, a real process, on the fake Socket Mode server.

One server per module: ``python -m bot.cli serve`` with ``SLACK_APP_TOKEN`` set and
``SLACK_API_URL`` at a :class:`SocketModeSlackAPI` (the fake Web API with
``apps.connections.open`` and its WebSocket endpoint), its own SQLite database, fwbot's own
Socket Mode client (bot/slack_api/socket_mode.py). Requests are the bodies the HTTP tests sign
(``SlackRequests``), sent in Socket Mode envelopes; every test waits for its envelope's ack
and then for what the bot posts on the fake Web API, filtering by a channel or response URL
only it uses.

The fault tests (a ``refresh_requested`` disconnect, a close with 1001, a dropped TCP
connection) check that a request after the fault is acked, and record the ack latencies
(``record_property`` and stdout): thresholds are the benchmark's business
(bench/bench_socket.py), not these tests'.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.slack.ids import ACTION_FEEDBACK_HELPFUL, SHORTCUT_ALIGN_MESSAGE
from framework_data.loader import load_framework
from local_slack import Call, SlackRequests
from local_slack.serve_process import admin_port, health_port
from local_slack.serve_socket import (
    ServerDidNotStart,
    socket_mode_env,
    start_socket_serve,
    stop_serve,
)
from local_slack.socket_mode import SocketModeServer, SocketModeSlackAPI
from tests.conftest import REPO_ROOT
from tests.served import block_texts, now_ts, unique

pytestmark = pytest.mark.slow  # a real `fwbot serve` in Socket Mode

BOT_TOKEN = "xoxb-test"
START_TIMEOUT = 120  # seconds: the first start of a session may build the search index
REPLY_TIMEOUT = 30  # seconds for the work after the ack (a busy CI machine, a cold model)
ACK_WAIT = 15  # seconds to wait for an ack (Slack's limit, 3 s, is the benchmark's business)
RECONNECT_WAIT = 90  # seconds for the client to notice a fault and connect again


@dataclass
class Server:
    proc: subprocess.Popen[str]
    log: Path
    slack: SocketModeSlackAPI
    requests: SlackRequests

    @property
    def socket(self) -> SocketModeServer:
        return self.slack.socket_mode

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def ack(self, envelope_id: str, timeout: float = ACK_WAIT) -> float:
        """The ack latency of an envelope (fails with the server's log if none came)."""
        try:
            return self.socket.wait_for_ack(envelope_id, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nserver log:\n{self.log_tail()}") from None

    def wait_for(self, method: str, where: Callable[[Call], bool]) -> list[Call]:
        try:
            return self.slack.wait_for(method, timeout=REPLY_TIMEOUT, where=where)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nserver log:\n{self.log_tail()}") from None


@pytest.fixture(scope="module")
def server(fwbot_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("fwbot-socket")
    with SocketModeSlackAPI(tokens=(BOT_TOKEN,)) as slack:
        env = socket_mode_env(fwbot_env, slack, bot_token=BOT_TOKEN)
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'fwbot.db'}"
        log = tmp / "server.log"
        with log.open("w", encoding="utf-8") as err:
            try:
                proc, _ = start_socket_serve(env, err, slack, timeout=START_TIMEOUT, cwd=REPO_ROOT)
            except ServerDidNotStart as exc:
                pytest.fail(f"{exc}\nlog:\n" + log.read_text(errors="replace")[-4000:])
        try:
            yield Server(proc, log, slack, SlackRequests("unused-in-socket-mode"))
        finally:
            stop_serve(proc, grace=10)


@pytest.fixture(scope="module")
def objective_ids() -> set[str]:
    return {o.id for _, o in load_framework().objectives()}


def _shown(call: Call) -> str:
    return "\n".join([str(call.params.get("text") or ""), *block_texts(call.params.get("blocks"))])


def _mention(server: Server, question: str, channel: str) -> tuple[dict[str, Any], str]:
    ts = now_ts()
    event = server.requests.app_mention_event(
        f"<@UBOT> {question}", user="U1", channel=channel, ts=ts
    )
    return server.requests.event(event).parsed(), ts


def _in(channel: str) -> Callable[[Call], bool]:
    return lambda c: c.params.get("channel") == channel


def _ask(server: Server, question: str) -> tuple[str, str, Call, float]:
    """A mention in a new channel, acked and answered: channel, ts, the reply, ack latency."""
    channel = unique("C")
    body, ts = _mention(server, question, channel)
    latency = server.ack(server.socket.deliver_event(body))
    [reply] = server.wait_for("chat.postMessage", _in(channel))
    return channel, ts, reply, latency


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


# ---- the health port and the admin listener ------------------------------------------------


def test_probes_on_the_health_port_and_metrics_on_the_admin_listener(server: Server) -> None:
    health, admin = health_port(server.proc), admin_port(server.proc)
    assert health != admin
    assert _get(health, "/healthz") == (200, b'{"ok": true}')
    status, body = _get(health, "/readyz")
    assert status == 200, body
    assert json.loads(body) == {
        "ready": True,
        "checks": {"database": "ok", "vector_store": "ok", "socket": "ok"},
    }
    assert _get(health, "/metrics")[0] == 404
    status, body = _get(admin, "/metrics")
    assert status == 200 and b"fwbot_slack_requests" in body
    status, body = _get(admin, "/readyz")
    assert (status, json.loads(body)["detail"]) == (200, {})
    assert f"admin listener on http://127.0.0.1:{admin} " in server.log_tail(100_000)


# ---- requests answered -------------------------------------------------------------------


def test_a_mention_is_acked_and_answered_in_its_thread_citing_an_objective(
    server: Server, objective_ids: set[str]
) -> None:
    _, ts, reply, _ = _ask(server, "What does objective 1.3 say?")
    assert reply.ok, reply.response
    assert reply.params["thread_ts"] == ts
    assert "1.3" in _shown(reply)
    assert "1.3" in objective_ids


def test_a_dm_is_answered(server: Server) -> None:
    channel = unique("D")
    event = server.requests.message_im_event(
        "Which objective is about training?", user="U1", channel=channel, ts=now_ts()
    )
    server.ack(server.socket.deliver_request(server.requests.event(event)))
    [reply] = server.wait_for("chat.postMessage", _in(channel))
    assert reply.ok, reply.response
    assert _shown(reply).strip()


def test_align_is_answered_through_its_response_url(
    server: Server, objective_ids: set[str]
) -> None:
    url = server.slack.response_url()
    token = url.rsplit("/", 1)[-1]
    command = server.requests.slash_command(
        "/align",
        "We will train forensic specialists from member countries in digital evidence "
        "and share best practices through regional workshops.",
        user_id="U1",
        channel_id=unique("C"),
        response_url=url,
    )
    envelope_id = server.socket.deliver_request(command)
    server.ack(envelope_id)
    assert server.socket.envelope(envelope_id).type == "slash_commands"
    [reply] = server.wait_for("response_url", lambda c: c.params["_token"] == token)
    assert reply.status == 200, reply.response
    assert reply.params["response_type"] == "ephemeral"
    shown = "\n".join(block_texts(reply.params["blocks"]))
    assert any(f"*{oid}*" in shown for oid in objective_ids), shown


def test_align_without_text_answers_usage_in_the_ack_payload(server: Server) -> None:
    command = server.requests.slash_command(
        "/align",
        " ",
        user_id="U1",
        channel_id=unique("C"),
        response_url=server.slack.response_url(),
    )
    envelope_id = server.socket.deliver_request(command)
    server.ack(envelope_id)
    usage = server.socket.envelope(envelope_id).ack_payload
    assert usage is not None and "/align" in usage["text"], usage


def test_a_reply_in_the_answered_thread_is_a_follow_up_answered_there(server: Server) -> None:
    channel, ts, first, _ = _ask(server, "What does objective 2.4 say?")
    assert "2.4" in _shown(first)
    follow = server.requests.channel_message_event(
        "and what about 2.1?", user="U1", channel=channel, ts=now_ts(), thread_ts=ts
    )
    server.ack(server.socket.deliver_request(server.requests.event(follow)))
    replies = server.wait_for("chat.postMessage", lambda c: _in(channel)(c) and "2.1" in _shown(c))
    assert replies[0].params["thread_ts"] == ts


def test_the_assistant_pane_greets_with_suggested_prompts(server: Server) -> None:
    channel, thread_ts = unique("D"), now_ts()
    started = server.requests.assistant_thread_started_event("U1", channel, thread_ts)
    server.ack(server.socket.deliver_request(server.requests.event(started)))
    [prompts] = server.wait_for(
        "assistant.threads.setSuggestedPrompts", lambda c: c.params.get("channel_id") == channel
    )
    assert prompts.ok and prompts.params["prompts"], prompts.response


def test_align_this_message_shortcut_answers_through_its_response_url(
    server: Server, objective_ids: set[str]
) -> None:
    url = server.slack.response_url()
    token = url.rsplit("/", 1)[-1]
    message = {
        "type": "message",
        "user": "U3",
        "ts": now_ts(),
        "text": "Set up a secure channel so member countries can exchange fingerprint data "
        "with the central databases in real time.",
    }
    shortcut = server.requests.message_shortcut_payload(
        SHORTCUT_ALIGN_MESSAGE, message, user="U1", channel=unique("C"), response_url=url
    )
    envelope_id = server.socket.deliver_interaction(shortcut)
    server.ack(envelope_id)
    [reply] = server.wait_for("response_url", lambda c: c.params["_token"] == token)
    shown = "\n".join(block_texts(reply.params.get("blocks")))
    assert any(f"*{oid}*" in shown for oid in objective_ids), shown


def test_helpful_on_an_answer_is_thanked(server: Server) -> None:
    channel, _, answer, _ = _ask(server, "How do we work with the private sector?")
    [value] = [
        e["value"]
        for b in answer.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ACTION_FEEDBACK_HELPFUL
    ]
    url = server.slack.response_url()
    token = url.rsplit("/", 1)[-1]
    payload = server.requests.block_actions_payload(
        ACTION_FEEDBACK_HELPFUL,
        value,
        user="U1",  # who asked: only their vote counts
        channel=channel,
        response_url=url,
        message={"ts": answer.response["ts"], "blocks": answer.params["blocks"]},
    )
    envelope_id = server.socket.deliver_interaction(payload)
    server.ack(envelope_id)
    [thanks] = server.wait_for("response_url", lambda c: c.params["_token"] == token)
    assert "Thanks" in thanks.params["text"]


def test_progress_new_opens_its_modal(server: Server) -> None:
    trigger = f"{secrets.randbelow(10**9)}.1.{secrets.token_hex(8)}"
    command = server.requests.slash_command(
        "/progress",
        "new",
        user_id="U1",
        channel_id=unique("C"),
        response_url=server.slack.response_url(),
        trigger_id=trigger,
    )
    server.ack(server.socket.deliver_request(command))
    [opened] = server.wait_for("views.open", lambda c: c.params.get("trigger_id") == trigger)
    assert opened.ok, opened.response
    assert opened.params["view"]["type"] == "modal"


def test_a_redelivered_event_is_answered_once(server: Server) -> None:
    channel = unique("C")
    body, ts = _mention(server, "What is our vision?", channel)
    server.ack(server.socket.deliver_event(body))
    server.wait_for("chat.postMessage", _in(channel))
    again = server.socket.deliver_event(body, retry_attempt=1, retry_reason="timeout")
    server.ack(again)
    # the retry is dropped before any listener, by its event_id, before its ack: a new
    # mention sent after it and answered proves the server is past it
    _ask(server, "Which objective is about data quality?")
    posts = [
        c for c in server.slack.calls("chat.postMessage") if c.params.get("channel") == channel
    ]
    assert len(posts) == 1, posts
    assert posts[0].params["thread_ts"] == ts


# ---- faults: a following request is acked ------------------------------------------------


def _after_fault(
    server: Server,
    name: str,
    fault: Callable[[], list[int]],
    record: Callable[[str, object], None],
) -> dict[str, float]:
    """Apply ``fault`` to the live connection, send one mention at once (it waits for, or
    goes to, the next connection) and one once a new connection is live; both acked and
    answered. Returns (seconds) how long the new connection took (``reconnect``: the fault
    to its hello) and the two acks' latencies (``during``, ``after``)."""
    [old] = server.socket.wait_connected(1)
    started = time.monotonic()
    assert fault() == [old.id]
    channel = unique("C")
    body, _ = _mention(server, "What does objective 2.1 say?", channel)
    during = server.socket.deliver_event(body)
    [new] = server.socket.wait_connected(1, timeout=RECONNECT_WAIT, after=old.id)
    back = (new.hello_at or 0.0) - started
    latencies = {"reconnect": back, "during": server.ack(during, timeout=RECONNECT_WAIT)}
    server.wait_for("chat.postMessage", _in(channel))
    *_, after = _ask(server, "Which objective is about training?")
    latencies["after"] = after
    for key, value in latencies.items():
        record(f"{name}_{key}_s", round(value, 3))
    print(f"{name}: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in latencies.items()))
    return latencies


def test_steady_acks(server: Server, record_property: Callable[[str, object], None]) -> None:
    latencies = [_ask(server, f"What does objective 1.{n} say?")[3] for n in range(1, 6)]
    record_property("steady_ack_ms", [round(x * 1000, 1) for x in latencies])
    print("steady acks (ms): " + ", ".join(f"{x * 1000:.1f}" for x in latencies))


def test_after_a_refresh_a_request_is_acked(
    server: Server, record_property: Callable[[str, object], None]
) -> None:
    _after_fault(server, "refresh", server.socket.refresh, record_property)


def test_after_a_close_1001_a_request_is_acked(
    server: Server, record_property: Callable[[str, object], None]
) -> None:
    _after_fault(
        server, "close_1001", lambda: server.socket.close(1001, "going away"), record_property
    )


@pytest.mark.parametrize("how", ["rst", "fin", "silent"])
def test_after_a_tcp_drop_a_request_is_acked(
    server: Server, record_property: Callable[[str, object], None], how: str
) -> None:
    drop = server.socket.drop
    _after_fault(server, f"drop_{how}", lambda: drop(how), record_property)  # type: ignore[arg-type]


# ---- the scheduler ----------------------------------------------------------------------


def test_the_nudge_scheduler_runs_in_socket_mode(fwbot_env: dict[str, str], tmp_path: Path) -> None:
    """`fwbot serve` in Socket Mode runs the progress passes itself, as over HTTP: an owner
    overdue since 1 November is nudged once this week, with no cron."""
    from datetime import UTC, datetime

    from bot.progress.schedule import week_key
    from bot.storage.db import Database
    from bot.storage.progress_store import ProgressStore
    from tests.progress_fixtures import nudges_received, seed

    url = f"sqlite:///{tmp_path / 'fwbot.db'}"
    db = Database(url)
    db.migrate()
    seed(ProgressStore(db), ["USOCKET"])
    db.dispose()
    now = datetime.now(UTC)
    with SocketModeSlackAPI(tokens=(BOT_TOKEN,)) as slack:
        env = socket_mode_env(fwbot_env, slack, bot_token=BOT_TOKEN)
        env.update(DATABASE_URL=url, FWBOT_SCHEDULER_INTERVAL="5")
        with (tmp_path / "serve.log").open("w", encoding="utf-8") as err:
            proc, _ = start_socket_serve(env, err, slack, timeout=START_TIMEOUT, cwd=REPO_ROOT)
            try:
                deadline = time.monotonic() + REPLY_TIMEOUT
                while not nudges_received(slack) and time.monotonic() < deadline:
                    time.sleep(0.1)
            finally:
                stop_serve(proc, grace=10)
        expected = (
            {} if now.weekday() == 0 and now.hour < 9 else {("USOCKET", week_key(now.date())): 1}
        )
        assert nudges_received(slack) == expected
