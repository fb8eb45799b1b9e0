"""The real HTTP server (``fwbot serve``) in a subprocess, talking to a fake Slack on loopback.

One server per module (``server``): ``python -m bot.cli serve --port 0`` with the session's
data dir, its own SQLite database and ``SLACK_API_URL`` pointing at a module-wide
:class:`FakeSlackAPI` (given without the trailing slash: the settings must add it). Requests
are signed exactly as Slack signs them and sent over HTTP with urllib. Every check that
something was *not* posted filters the fake's call log by a channel or response URL that only
that test uses, so the tests do not depend on each other's order. Such a check never waits
"long enough": the server's pools are in another process, so it reads what the server
decided before it answered, in its metrics (refused before the app: ``fwbot_slack_requests``
does not move; a retry dropped: ``fwbot_duplicate_events`` does) or its database (a command
acted on after its ack is kept there before the ack). That nothing is posted after such a
decision is checked in process, where the bot's pools can be drained (``SlackBot.drain``).

Latency targets are the benchmark's business (bench/bench_slack.py); here a time limit only
appears as Slack's own 3-second ack contract.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.slack.metrics import Metrics
from bot.slack.server import MAX_BODY_BYTES, SlackWSGI
from bot.storage.db import Database
from bot.storage.work_store import WorkStore
from framework_data.loader import load_framework
from local_slack import Call, FakeSlackAPI, SignedRequest, SlackRequests, post, sign
from local_slack.serve_process import ServerDidNotStart, admin_port, start_serve, stop_serve
from tests.conftest import REPO_ROOT, run_fwbot
from tests.served import block_texts, now_ts, unique

pytestmark = pytest.mark.slow  # a real `fwbot serve` over HTTP

SECRET = "http-test-signing-secret"
BOT_TOKEN = "xoxb-test"
START_TIMEOUT = 120  # seconds: the first start of a session may build the search index
REPLY_TIMEOUT = 30  # seconds for the work after the ack (a busy CI machine, a cold model)
SLACK_ACK_LIMIT = 3.0  # seconds: Slack shows the user an error past this


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int
    log: Path
    fake: FakeSlackAPI
    slack: SlackRequests
    database_url: str

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.root}/slack/events"

    def send(self, req: SignedRequest) -> tuple[int, dict[str, str], bytes]:
        return post(self.events_url, req)

    @property
    def admin_root(self) -> str:
        """The admin listener (metrics, readiness in detail)."""
        return f"http://127.0.0.1:{admin_port(self.proc)}"

    def get(self, path: str, *, admin: bool = False) -> tuple[int, dict[str, str], bytes]:
        try:
            root = self.admin_root if admin else self.root
            with urllib.request.urlopen(root + path, timeout=10) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers.items()), err.read()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"


@pytest.fixture(scope="module")
def server(
    module_fake_slack: FakeSlackAPI,
    fwbot_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    fake = module_fake_slack
    tmp = tmp_path_factory.mktemp("fwbot-serve")
    database_url = f"sqlite:///{tmp / 'fwbot.db'}"
    env = {
        **fwbot_env,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.base_url.rstrip("/"),
        "DATABASE_URL": database_url,
    }
    log = tmp / "server.log"
    with log.open("w", encoding="utf-8") as err:
        try:
            proc, port = start_serve(env, err, timeout=START_TIMEOUT, cwd=REPO_ROOT)
        except ServerDidNotStart as exc:
            pytest.fail(
                f"{exc}\nlog:\n" + log.read_text(encoding="utf-8", errors="replace")[-4000:]
            )
    try:
        yield Server(proc, port, log, fake, SlackRequests(SECRET), database_url)
    finally:
        stop_serve(proc, grace=10)


@pytest.fixture(scope="module")
def objective_ids() -> set[str]:
    return {o.id for _, o in load_framework().objectives()}


def _mention(server: Server, question: str, channel: str) -> tuple[dict[str, Any], str]:
    ts = now_ts()
    event = server.slack.app_mention_event(f"<@UBOT> {question}", user="U1", channel=channel, ts=ts)
    return event, ts


def _thread_posts(fake: FakeSlackAPI, channel: str, ts: str) -> list[Call]:
    return [
        c
        for c in fake.calls("chat.postMessage")
        if c.params.get("channel") == channel and c.params.get("thread_ts") == ts
    ]


def _total(server: Server, metric: str) -> float:
    """The sum of ``metric``'s samples (every label set) in the admin listener's /metrics."""
    status, _, body = server.get("/metrics", admin=True)
    assert status == 200
    return sum(
        float(value)
        for value in re.findall(
            rf"^{re.escape(metric)}(?:\{{[^}}]*\}})? (\S+)$", body.decode(), re.M
        )
    )


def _kept(server: Server) -> int:
    """How many requests the server has kept in its database to act on after their ack (done
    or not): each is written down before its ack, so after the ack it is already counted."""
    database = Database(server.database_url)
    try:
        return sum(WorkStore(database).counts().values())
    finally:
        database.dispose()


# ---- health, metrics, routing ---------------------------------------------------------------


def test_healthz_is_ok(server: Server) -> None:
    """Liveness: minimal, and nothing about the dependencies."""
    status, headers, body = server.get("/healthz")
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"ok": True}


def test_readyz_checks_the_database_and_the_vector_store(server: Server) -> None:
    status, headers, body = server.get("/readyz")
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {
        "ready": True,
        "checks": {"database": "ok", "vector_store": "ok"},
    }


def test_metrics_count_slack_requests(server: Server) -> None:
    usage = server.slack.slash_command(
        "/align", "", user_id="U1", channel_id=unique("C"), response_url=server.fake.response_url()
    )
    assert server.send(usage)[0] == 200
    status, headers, body = server.get("/metrics", admin=True)
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "fwbot_slack_requests" in text
    assert re.search(r'^fwbot_slack_requests_total\{kind="command:/align"\} [1-9]', text, re.M), (
        text
    )


def test_metrics_are_on_the_admin_listener_on_loopback_not_the_public_port(
    server: Server,
) -> None:
    status, _, body = server.get("/metrics")
    assert status == 404 and b"fwbot_" not in body
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert f"admin listener on http://127.0.0.1:{admin_port(server.proc)} " in log
    status, _, body = server.get("/readyz", admin=True)
    assert status == 200
    assert json.loads(body) == {
        "ready": True,
        "checks": {"database": "ok", "vector_store": "ok"},
        "detail": {},
    }
    assert server.get("/slack/events", admin=True)[0] == 404  # Slack: the public port only


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("POST", "/nope"),
        ("GET", "/slack/events"),
        ("POST", "/healthz"),
        ("GET", "/metrics"),
    ],
)
def test_unknown_routes_are_404(server: Server, method: str, path: str) -> None:
    request = urllib.request.Request(
        server.root + path, data=b"{}" if method == "POST" else None, method=method
    )
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
        "/align",
        "We will train forensic specialists from member countries in digital evidence "
        "and share best practices through regional workshops.",
        user_id="U1",
        channel_id=unique("C"),
        response_url=url,
    )
    kept = _kept(server)
    sent = time.monotonic()
    status, _, body = server.send(req)
    acked = time.monotonic() - sent
    assert status == 200
    assert body == b""
    assert acked < SLACK_ACK_LIMIT
    assert _kept(server) == kept + 1  # kept before the ack, to be done after it
    [reply] = server.fake.wait_for(
        "response_url", timeout=REPLY_TIMEOUT, where=lambda c: c.params["_token"] == token
    )
    assert reply.status == 200, reply.response
    assert reply.params["response_type"] == "ephemeral"
    shown = "\n".join(block_texts(reply.params["blocks"]))
    assert any(f"*{oid}*" in shown for oid in objective_ids), shown


def test_a_response_url_off_slack_is_not_posted_to_and_the_reply_comes_ephemeral(
    server: Server,
) -> None:
    """serve with FWBOT_TRUST_LOCAL_SLACK (spawn_serve sets it): the fake's own response URLs
    work (the test above), a loopback listener elsewhere gets nothing (issue 21)."""
    seen: list[str] = []

    class Hook(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    channel = unique("C")
    try:
        url = f"http://127.0.0.1:{hook.server_address[1]}/services/T1/s3cr3t"
        req = server.slack.slash_command(
            "/align", "Train border police officers", user_id="U1", channel_id=channel,
            response_url=url,
        )  # fmt: skip
        assert server.send(req)[0] == 200
        [reply] = server.fake.wait_for(
            "chat.postEphemeral",
            timeout=REPLY_TIMEOUT,
            where=lambda c: c.params.get("channel") == channel,
        )
    finally:
        hook.shutdown()
        hook.server_close()
    assert seen == []  # decided before the fallback, which the fake has recorded
    assert reply.params["user"] == "U1" and reply.status == 200
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert f"url_not_allowed (http://127.0.0.1:{hook.server_address[1]})" in log
    assert "s3cr3t" not in log


def test_align_without_text_answers_usage_in_the_ack(server: Server) -> None:
    url = server.fake.response_url()
    token = url.rsplit("/", 1)[-1]
    req = server.slack.slash_command(
        "/align", "  ", user_id="U1", channel_id=unique("C"), response_url=url
    )
    kept = _kept(server)
    status, headers, body = server.send(req)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    usage = json.loads(body)
    assert usage["response_type"] == "ephemeral"
    assert "/align" in usage["text"]
    assert "/align" in "\n".join(block_texts(usage["blocks"]))
    # Nothing kept for after the ack, so nothing is done after it (checked in process, with
    # the pools drained: tests/test_slack_align.py).
    assert _kept(server) == kept
    assert not [c for c in server.fake.calls("response_url") if c.params["_token"] == token]


# ---- mentions and Slack's retries -----------------------------------------------------------


def test_mention_is_answered_in_its_thread(server: Server) -> None:
    channel = unique("C")
    event, ts = _mention(server, "Which objective is about training?", channel)
    status, _, _ = server.send(server.slack.event(event))
    assert status == 200
    [reply] = server.fake.wait_for(
        "chat.postMessage",
        timeout=REPLY_TIMEOUT,
        where=lambda c: c.params.get("channel") == channel,
    )
    assert reply.params["thread_ts"] == ts
    assert reply.ok, reply.response
    assert reply.params.get("text")


def test_a_retried_event_is_answered_once(server: Server) -> None:
    channel = unique("C")
    event, ts = _mention(server, "How do we work with the private sector?", channel)
    event_id = unique("Ev")
    assert server.send(server.slack.event(event, event_id=event_id))[0] == 200
    server.fake.wait_for(
        "chat.postMessage",
        timeout=REPLY_TIMEOUT,
        where=lambda c: c.params.get("channel") == channel,
    )
    retry = server.slack.event(event, event_id=event_id, retry_num=1)
    assert retry.headers["X-Slack-Retry-Num"] == "1"
    duplicates = _total(server, "fwbot_duplicate_events_total")
    status, _, _ = server.send(retry)
    assert status == 200
    # Dropped before any listener (counted before the ack): nothing runs for it.
    assert _total(server, "fwbot_duplicate_events_total") == duplicates + 1
    assert len(_thread_posts(server.fake, channel, ts)) == 1


# ---- request verification -------------------------------------------------------------------


def _command_or_mention(server: Server, kind: str) -> tuple[SignedRequest, Any]:
    """A valid request of ``kind`` and a function returning what the fake got for it."""
    channel = unique("C")
    if kind == "command":
        url = server.fake.response_url()
        token = url.rsplit("/", 1)[-1]
        req = server.slack.slash_command(
            "/align",
            "Train investigators in open-source intelligence.",
            user_id="U1",
            channel_id=channel,
            response_url=url,
        )
        return req, lambda: [
            c
            for c in server.fake.calls()
            if c.params.get("_token") == token or c.params.get("channel") == channel
        ]
    event, _ = _mention(server, "What is our vision?", channel)
    return server.slack.event(event), lambda: [
        c for c in server.fake.calls() if c.params.get("channel") == channel
    ]


def _assert_refused_before_the_app(server: Server, req: SignedRequest, reason: str) -> None:
    """``req`` is answered 401 and never reaches the app (no listener, no work after an ack):
    the refusal is counted and the app's own request count does not move."""
    before = _total(server, "fwbot_slack_requests_total")
    refused = _rejections(server).get(("401", reason), 0)
    status, _, _ = server.send(req)
    assert status == 401
    assert _rejections(server)[("401", reason)] == refused + 1
    assert _total(server, "fwbot_slack_requests_total") == before


@pytest.mark.parametrize("kind", ["command", "mention"])
def test_wrong_signature_is_401_and_nothing_happens(server: Server, kind: str) -> None:
    req, received = _command_or_mention(server, kind)
    forged = server.slack.resign(req, secret="not-the-secret")
    _assert_refused_before_the_app(server, forged, "bad_signature")
    assert received() == []


@pytest.mark.parametrize("kind", ["command", "mention"])
def test_stale_timestamp_is_401(server: Server, kind: str) -> None:
    req, received = _command_or_mention(server, kind)
    stale = server.slack.resign(req, timestamp=int(time.time()) - 6 * 60)
    _assert_refused_before_the_app(server, stale, "stale")
    assert received() == []


# ---- refusals before the app: size, signature, body --------------------------------------


REFUSAL = re.compile(r"refused (\S+) (\S+) from (\S+): (\d{3}) (\w+) \((.*)\)$")
MAX_LOG_LINE = 200  # bytes: one refusal's line, timestamp and logger name included
LOG_WAIT = 10.0  # seconds for a refusal's log line to appear (it is written before the answer)


def _post_bytes(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _log_size(server: Server) -> int:
    return server.log.stat().st_size


def _log_since(server: Server, offset: int) -> bytes:
    with server.log.open("rb") as f:
        f.seek(offset)
        return f.read()


def _refusals_since(server: Server, offset: int, count: int) -> list[re.Match[str]]:
    """The refusal lines logged after ``offset``, once there are ``count`` of them."""
    deadline = time.monotonic() + LOG_WAIT
    while True:
        lines = _log_since(server, offset).decode("utf-8", "replace").splitlines()
        found = [m for m in map(REFUSAL.search, lines) if m]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, (
                f"{len(found)} refusal lines, {count} expected:\n"
                + "\n".join(line[:300] for line in lines[-20:])
            )
            return found


def _rejections(server: Server) -> dict[tuple[str, str], float]:
    """``fwbot_http_rejected_total`` from the admin listener's /metrics, by (status, reason)."""
    status, _, body = server.get("/metrics", admin=True)
    assert status == 200
    counts = {}
    for m in re.finditer(r"^fwbot_http_rejected_total\{([^}]*)\} (\S+)$", body.decode(), re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        counts[labels["status"], labels["reason"]] = float(m.group(2))
    return counts


def _raw_http(server: Server, head: bytes, timeout: float = 10) -> bytes:
    """Sends ``head`` (request line and headers, no body) and returns what the server
    answers before the connection closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(head)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
        return got


def test_unsigned_malformed_json_is_401_and_one_short_log_line(server: Server) -> None:
    marker = unique("BODYMARK")
    start = _log_size(server)
    status, body = _post_bytes(
        server.events_url,
        b'{"type": "event_callback", "' + marker.encode() + b'" oops',
        {"Content-Type": "application/json"},
    )
    assert status == 401
    assert len(body) < 64, body
    [refusal] = _refusals_since(server, start, 1)
    assert refusal.group(4, 5) == ("401", "bad_signature")
    added = _log_since(server, start)
    line = next(ln for ln in added.splitlines() if b"refused POST" in ln)
    assert len(line) <= MAX_LOG_LINE, line
    assert marker.encode() not in added
    assert b"Traceback" not in added
    assert len(added) < 1000, added[:2000]  # that line, and no body or traceback with it


def test_ten_unsigned_large_bodies_add_little_to_the_log(server: Server) -> None:
    marker = unique("BIGMARK").encode()
    body = b'{"type": "event_callback", "text": "' + marker + b"x" * 500_000 + b'"}'
    start = _log_size(server)
    statuses = [
        _post_bytes(server.events_url, body, {"Content-Type": "application/json"})[0]
        for _ in range(10)
    ]
    assert set(statuses) <= {401, 413}, statuses
    refusals = _refusals_since(server, start, 10)
    assert {m.group(4) for m in refusals} <= {"401", "413"}
    added = _log_since(server, start)
    assert len(added) < 2000, f"the log grew by {len(added)} bytes: {added[:1000]!r}"
    assert marker not in added


def test_a_body_over_the_limit_is_413_before_it_is_sent(server: Server) -> None:
    """The server answers from the headers alone: the 50 MB body is never sent."""
    start = _log_size(server)
    answer = _raw_http(
        server,
        b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 50000000\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert len(answer) < 1000, answer
    [refusal] = _refusals_since(server, start, 1)
    assert refusal.group(4, 5) == ("413", "too_large")


def test_a_stale_signed_request_is_401_and_logged_as_stale(server: Server) -> None:
    req, received = _command_or_mention(server, "mention")
    stale = server.slack.resign(req, timestamp=int(time.time()) - 6 * 60)
    start = _log_size(server)
    status, _, body = server.send(stale)
    assert status == 401
    assert len(body) < 64
    [refusal] = _refusals_since(server, start, 1)
    assert refusal.group(4, 5) == ("401", "stale")
    assert received() == []  # refused before bolt, so no listener ever ran


SIGNED_MALFORMED = {
    "bad JSON": (b'{"type": "event_callback", "event": ', "application/json"),
    "JSON array": (b'[{"type": "event_callback"}]', "application/json"),
    "payload not JSON": (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
    "not UTF-8": (b"command=%2Falign&text=\xff\xfe", "application/x-www-form-urlencoded"),
    "bad form encoding": (
        b"command=%2Falign&text=%E2%28&garbage",
        "application/x-www-form-urlencoded",
    ),
}


@pytest.mark.parametrize("case", SIGNED_MALFORMED)
def test_a_signed_malformed_body_is_400(server: Server, case: str) -> None:
    data, content_type = SIGNED_MALFORMED[case]
    start = _log_size(server)
    status, body = _post_bytes(
        server.events_url, data, {"Content-Type": content_type, **sign(data, SECRET)}
    )
    assert status == 400, body
    assert len(body) < 64
    [refusal] = _refusals_since(server, start, 1)
    assert refusal.group(4, 5) == ("400", "malformed")
    assert b"Traceback" not in _log_since(server, start)


def test_metrics_count_refusals_by_status_and_reason(server: Server) -> None:
    before = _rejections(server)
    json_type = {"Content-Type": "application/json"}
    req, _ = _command_or_mention(server, "command")
    assert _post_bytes(server.events_url, b"{}", json_type)[0] == 401  # unsigned
    assert server.send(server.slack.resign(req, secret="not-the-secret"))[0] == 401
    assert server.send(server.slack.resign(req, timestamp=int(time.time()) - 600))[0] == 401
    assert server.send(server.slack.resign(req, timestamp=int(time.time()) + 600))[0] == 401
    assert _raw_http(
        server, b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000001\r\n\r\n"
    ).startswith(b"HTTP/1.1 413")
    bad = b'{"type": '
    assert _post_bytes(server.events_url, bad, {**json_type, **sign(bad, SECRET)})[0] == 400
    assert server.send(req)[0] == 200  # a good request is no refusal
    after = _rejections(server)
    added = {key: after[key] - before.get(key, 0) for key in after}
    assert {key: n for key, n in added.items() if n} == {
        ("401", "bad_signature"): 2,
        ("401", "stale"): 2,
        ("413", "too_large"): 1,
        ("400", "malformed"): 1,
    }
    assert ("500", "error") in after  # shown, at 0 until the app fails on a request


# ---- the same front in process: what the server above cannot be made to do -----------------


class _ExplodingApp:
    """Stands in for the bolt app: fails on every request it is given."""

    def __init__(self) -> None:
        self.dispatched = 0

    def dispatch(self, request: Any) -> Any:
        self.dispatched += 1
        raise RuntimeError("listener exploded")


class _UnreadableBody:
    def read(self, *_: Any) -> bytes:
        raise AssertionError("the body was read")


def _call(wsgi: SlackWSGI, body: Any, headers: dict[str, str], length: int) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "REMOTE_ADDR": "10.0.0.9",
        "CONTENT_LENGTH": str(length),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": body,
        **{
            "HTTP_" + k.upper().replace("-", "_"): v
            for k, v in headers.items()
            if k != "Content-Type"
        },
        "CONTENT_TYPE": headers.get("Content-Type", ""),
    }
    got: list[str] = []
    answer = b"".join(wsgi(environ, lambda status, _headers: got.append(status)))
    return got[0], answer


def _front(app: Any, metrics: Metrics) -> SlackWSGI:
    return SlackWSGI(app, metrics, signing_secret=SECRET)


def _counted(metrics: Metrics, status: str, reason: str) -> float:
    return metrics.rejected.labels(status, reason)._value.get()


def test_a_request_the_app_fails_on_is_500_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    metrics, app = Metrics(), _ExplodingApp()
    wsgi = _front(app, metrics)
    req = SlackRequests(SECRET).url_verification("challenge")
    with caplog.at_level("INFO", logger="fwbot.slack"):
        status, body = _call(
            wsgi, io.BytesIO(req.body.encode()), req.headers, len(req.body.encode())
        )
    assert status.startswith("500 ") and len(body) < 64
    assert app.dispatched == 1
    assert _counted(metrics, "500", "error") == 1
    [record] = [r for r in caplog.records if r.name == "fwbot.slack"]
    assert "500 error" in record.getMessage() and record.exc_info  # a bug: traceback kept


def test_the_app_refuses_a_body_over_the_limit_unread() -> None:
    """Served by something other than waitress, the Content-Length check still holds."""
    metrics, app = Metrics(), _ExplodingApp()
    wsgi = _front(app, metrics)
    status, body = _call(
        wsgi, _UnreadableBody(), {"Content-Type": "application/json"}, MAX_BODY_BYTES + 1
    )
    assert status.startswith("413 ") and len(body) < 64
    assert _counted(metrics, "413", "too_large") == 1
    assert app.dispatched == 0


def test_server_is_still_running(server: Server) -> None:
    """Last in the module: nothing above brought the server down."""
    assert server.proc.poll() is None, server.log_tail()


# ---- missing settings -----------------------------------------------------------------------


def _serve_without(env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[bytes]:
    return run_fwbot("serve", "--host", "127.0.0.1", "--port", "0", env={**env, **extra})


def test_serve_without_bot_token_names_it(fwbot_env: dict[str, str]) -> None:
    assert "SLACK_BOT_TOKEN" not in fwbot_env
    done = _serve_without(fwbot_env, SLACK_SIGNING_SECRET=SECRET)
    assert done.returncode == 1
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "SLACK_BOT_TOKEN" in lines[0]


def test_serve_without_secret_or_app_token_names_the_secret(fwbot_env: dict[str, str]) -> None:
    assert not {"SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"} & set(fwbot_env)
    done = _serve_without(fwbot_env, SLACK_BOT_TOKEN=BOT_TOKEN)
    assert done.returncode == 1
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "SLACK_SIGNING_SECRET" in lines[0]
