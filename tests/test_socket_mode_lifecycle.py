"""`fwbot serve` in Socket Mode (SLACK_APP_TOKEN set), in a subprocess, against the fake Web
API (whose ``apps.connections.open`` hands out the URL) and a minimal loopback Socket Mode
server written here (``hello``, one ``events_api`` envelope at a time, the acks recorded):
the readiness line, /readyz following the socket, and SIGTERM with work in flight.
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from websockets.sync.server import ServerConnection, serve

from local_slack import FakeSlackAPI, SlackRequests
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # real `fwbot serve` processes

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-1-test"
READY_LINE = "fwbot: Socket Mode connected"
START_TIMEOUT = 120  # seconds: the first start of a session may build the search index
GRACE = 4.0  # FWBOT_STOP_GRACE for these tests
EXIT_LIMIT = GRACE + 1.5 + 1.0  # the grace, the hard-stop margin, a busy machine


class SocketModeServer:
    """Slack's end of Socket Mode, enough for these tests: says ``hello`` on each connection
    (when :attr:`greet` is set), sends envelopes on the latest one, records the acks."""

    def __init__(self) -> None:
        self.greet = threading.Event()
        self.greet.set()
        self.acks: list[str] = []
        self.connections: list[ServerConnection] = []
        self._server = serve(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket=test"

    def _handle(self, conn: ServerConnection) -> None:
        self.greet.wait(60)
        self.connections.append(conn)
        conn.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {}}))
        for message in conn:
            data = json.loads(message)
            if isinstance(data, dict) and "envelope_id" in data:
                self.acks.append(data["envelope_id"])

    def send_event(self, body: dict[str, Any]) -> str:
        envelope_id = str(uuid.uuid4())
        self.connections[-1].send(
            json.dumps(
                {
                    "envelope_id": envelope_id,
                    "type": "events_api",
                    "payload": body,
                    "accepts_response_payload": False,
                    "retry_attempt": 0,
                    "retry_reason": "",
                }
            )
        )
        return envelope_id

    def close(self) -> None:
        self._server.shutdown()  # closes the connections too (1001, going away)
        self._thread.join(5)


class Serving:
    """``python -m bot.cli serve`` with its stdout read line by line and its stderr in a file."""

    def __init__(self, env: dict[str, str], log: IO[str], port: int) -> None:
        self.port = port
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            encoding="utf-8",
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            self._new.put(line)
        self._new.put(None)

    def wait_for_line(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            try:
                if self._new.get(timeout=max(0.01, deadline - time.monotonic())) is None:
                    raise AssertionError(f"exited ({self.proc.poll()}) before {text!r}")
            except queue.Empty:
                raise AssertionError(f"no {text!r} within {timeout:.0f} s") from None

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def wait_for_readyz(self, status: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        got: tuple[int, dict[str, Any]] | None = None
        while time.monotonic() < deadline:
            try:
                got = self.get("/readyz")
            except OSError:  # not listening yet
                got = None
            if got is not None and got[0] == status:
                return got[1]
            time.sleep(0.2)
        raise AssertionError(f"/readyz never answered {status} in {timeout:.0f} s: {got}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def socket_server(module_fake_slack: FakeSlackAPI) -> Iterator[SocketModeServer]:
    server = SocketModeServer()
    module_fake_slack.socket_mode_url = server.url
    try:
        yield server
    finally:
        module_fake_slack.socket_mode_url = None
        server.close()


@pytest.fixture
def env(module_fake_slack: FakeSlackAPI, fwbot_env: dict[str, str], tmp_path: Path) -> dict:
    env = {
        **fwbot_env,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": module_fake_slack.base_url.rstrip("/"),
        "FWBOT_TRUST_LOCAL_SLACK": "true",
        "FWBOT_SCHEDULER": "false",
        "FWBOT_STOP_GRACE": str(GRACE),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fwbot.db'}",
    }
    env.pop("SLACK_SIGNING_SECRET", None)
    return env


def test_apps_connections_open_needs_an_app_token(module_fake_slack: FakeSlackAPI) -> None:
    from slack_sdk.errors import SlackApiError

    module_fake_slack.socket_mode_url = "ws://127.0.0.1:9/link"
    try:
        got = module_fake_slack.client().apps_connections_open(app_token=APP_TOKEN)
        assert got["url"] == "ws://127.0.0.1:9/link"
        with pytest.raises(SlackApiError, match="not_allowed_token_type"):
            module_fake_slack.client().apps_connections_open(app_token=BOT_TOKEN)
    finally:
        module_fake_slack.socket_mode_url = None


def test_readiness_follows_the_socket(
    socket_server: SocketModeServer, env: dict[str, str], tmp_path: Path
) -> None:
    socket_server.greet.clear()  # connected, but no hello yet: not ready
    log_path = tmp_path / "server.log"
    with log_path.open("w", encoding="utf-8") as log:
        serving = Serving(env, log, _free_port())
    try:
        body = serving.wait_for_readyz(503, START_TIMEOUT)
        assert body == {
            "ready": False,
            "checks": {"database": "ok", "vector_store": "ok", "socket": "disconnected"},
        }
        assert serving.get("/healthz") == (200, {"ok": True})  # alive all the same
        assert not any(READY_LINE in line for line in serving.lines)
        socket_server.greet.set()
        serving.wait_for_line(READY_LINE, 30)
        assert serving.wait_for_readyz(200, 10) == {
            "ready": True,
            "checks": {"database": "ok", "vector_store": "ok", "socket": "ok"},
        }
        socket_server.close()  # Slack goes away
        assert serving.wait_for_readyz(503, 10)["checks"]["socket"] == "disconnected"
        assert serving.get("/healthz") == (200, {"ok": True})
        signalled = time.monotonic()
        serving.proc.send_signal(signal.SIGTERM)
        assert serving.proc.wait(EXIT_LIMIT) == 0
        print(
            f"\nSocket Mode SIGTERM exit, nothing in flight: {time.monotonic() - signalled:.2f} s"
        )
    finally:
        serving.stop()
    text = log_path.read_text(encoding="utf-8", errors="replace")
    assert sum(READY_LINE in line for line in serving.lines) == 1, serving.lines
    assert text.count(READY_LINE) == 1, text[-3000:]
    assert "Traceback" not in text, text[-3000:]


@pytest.mark.parametrize("post_delay", [1.5, 30.0])
def test_sigterm_with_work_in_flight(
    module_fake_slack: FakeSlackAPI,
    socket_server: SocketModeServer,
    env: dict[str, str],
    tmp_path: Path,
    post_delay: float,
) -> None:
    """An acknowledged mention whose reply is slow, then SIGTERM: the socket is closed, the
    reply is posted when it can be within the grace period, or the job is handed back (kept
    for the next start) and the log says so; exit 0 either way, within the grace period."""
    fake = module_fake_slack
    log_path = tmp_path / "server.log"
    with log_path.open("w", encoding="utf-8") as log:
        serving = Serving(env, log, _free_port())
    channel = "C" + secrets.token_hex(5).upper()
    try:
        serving.wait_for_line(READY_LINE, START_TIMEOUT)
        fake.delay("chat.postMessage", post_delay)
        ts = f"{time.time():.6f}"
        event = SlackRequests("unused").app_mention_event(
            "<@UBOT> Which objective is about training?", user="U1", channel=channel, ts=ts
        )
        body = json.loads(SlackRequests("unused").event(event).body)
        envelope = socket_server.send_event(body)
        deadline = time.monotonic() + 10
        while envelope not in socket_server.acks and time.monotonic() < deadline:
            time.sleep(0.01)
        assert envelope in socket_server.acks, "the envelope was not acknowledged"
        # the reply is being computed or posted (slowly)
        time.sleep(0.5)
        signalled = time.monotonic()
        serving.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        serving.proc.send_signal(signal.SIGTERM)  # a second one while stopping: ignored
        code = serving.proc.wait(EXIT_LIMIT + 5)
        took = time.monotonic() - signalled
    finally:
        fake.delay("chat.postMessage", 0)
        serving.stop()
    text = log_path.read_text(encoding="utf-8", errors="replace")
    print(f"\nSocket Mode SIGTERM exit: {took:.2f} s (post delay {post_delay} s)")
    assert code == 0, text[-3000:]
    assert took <= EXIT_LIMIT, f"{took:.1f} s\n{text[-3000:]}"
    assert "Traceback" not in text, text[-3000:]
    assert text.count("stopping; no new envelopes") == 1, text[-3000:]
    replied = [
        c
        for c in fake.calls("chat.postMessage")
        if c.params.get("channel") == channel and c.params.get("thread_ts") == ts
    ]
    if post_delay < GRACE:
        assert replied, f"the reply was not posted\n{text[-3000:]}"
        assert "fwbot: stopped" in text
    else:
        handed = re.search(r"(\d+) job\(s\) still running [^\n]*handed back", text)
        assert handed and int(handed.group(1)) >= 1, text[-3000:]


def test_a_refused_connection_at_start_is_one_line_and_exit_1(
    module_fake_slack: FakeSlackAPI, env: dict[str, str], tmp_path: Path
) -> None:
    """apps.connections.open refused (here: no Socket Mode server to hand out): no readiness
    line, one error line, exit 1, the health port closed."""
    assert module_fake_slack.socket_mode_url is None
    log_path = tmp_path / "server.log"
    with log_path.open("w", encoding="utf-8") as log:
        serving = Serving(env, log, _free_port())
    try:
        code = serving.proc.wait(START_TIMEOUT)
    finally:
        serving.stop()
    text = log_path.read_text(encoding="utf-8", errors="replace")
    assert code == 1, text[-3000:]
    assert not any(READY_LINE in line for line in serving.lines)
    assert text.count("cannot open the Socket Mode connection") == 1, text[-3000:]
    assert "Traceback" not in text, text[-3000:]


def test_work_cut_off_by_sigterm_is_finished_by_the_next_start(
    module_fake_slack: FakeSlackAPI,
    socket_server: SocketModeServer,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    """Handed back means kept: a reply cut off by the stop is posted, once, after a restart
    on the same database."""
    fake = module_fake_slack
    env = {**env, "FWBOT_SLACK_TIMEOUT": "2"}  # a taken-over job waits this + 5 s
    channel = "C" + secrets.token_hex(5).upper()
    ts = f"{time.time():.6f}"
    slack = SlackRequests("unused")
    event = slack.app_mention_event(
        "<@UBOT> Which objective is about training?", user="U1", channel=channel, ts=ts
    )
    log_path = tmp_path / "server.log"
    with log_path.open("w", encoding="utf-8") as log:
        first = Serving(env, log, _free_port())
        try:
            first.wait_for_line(READY_LINE, START_TIMEOUT)
            fake.delay("chat.postMessage", 30)
            envelope = socket_server.send_event(json.loads(slack.event(event).body))
            deadline = time.monotonic() + 10
            while envelope not in socket_server.acks and time.monotonic() < deadline:
                time.sleep(0.01)
            assert envelope in socket_server.acks
            time.sleep(0.5)
            first.proc.send_signal(signal.SIGTERM)
            assert first.proc.wait(EXIT_LIMIT + 5) == 0
        finally:
            fake.delay("chat.postMessage", 0)
            first.stop()
        second = Serving(env, log, _free_port())
        try:
            second.wait_for_line(READY_LINE, START_TIMEOUT)
            deadline = time.monotonic() + 60

            def replies() -> list[dict[str, Any]]:
                return [
                    m
                    for m in fake.messages(channel)
                    if m.get("bot_id") and m.get("thread_ts") == ts
                ]

            while not replies() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)  # a second reply would come now
            got = replies()
        finally:
            second.proc.send_signal(signal.SIGTERM)
            second.proc.wait(EXIT_LIMIT + 5)
            second.stop()
    text = log_path.read_text(encoding="utf-8", errors="replace")
    assert len(got) == 1, f"{len(got)} replies\n{text[-3000:]}"
    assert "handed back" in text, text[-3000:]
