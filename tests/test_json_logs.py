"""``FWBOT_LOG_FORMAT=json``: a real ``fwbot serve`` (HTTP mode, a fake Slack on loopback)
whose stderr is read line by line. Every line is one JSON object; every HTTP request has
exactly one access line (``fwbot.access``) with its request id, method, path, status,
duration and outcome, and for a signed Slack request Slack's ids (key, kind, team, user,
retry); the lines logged while a request is handled, in the request's thread or in the
work after its ack, carry the same ``request_id`` and ``key``. No line holds a token, the
signing secret, the admin token, a response URL or what anyone wrote. A bad value is one
line naming the variable. In process: the formatter, and the text format without access
lines."""

from __future__ import annotations

import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.cli.logs import JSONFormatter, configure_logging
from bot.slack import request_log
from bot.slack.health import Readiness
from bot.slack.metrics import Metrics
from bot.slack.server import SlackWSGI
from local_slack import FakeSlackAPI, SignedRequest, SlackRequests, post
from local_slack.serve_process import ServerDidNotStart, start_serve, stop_serve
from tests.conftest import REPO_ROOT, run_fwbot
from tests.served import now_ts, unique
from tests.slack_fixtures import BOT_TOKEN

SECRET = "json-logs-signing-secret-55ad0e"
ADMIN_TOKEN = "json-logs-admin-token-c0ffee42"
WORDS = "Zq81-private-words about the Lagos office"  # what a user wrote
START_TIMEOUT = 120
REPLY_TIMEOUT = 30


@dataclass
class Served:
    proc: Any
    port: int
    log: Path
    fake: FakeSlackAPI
    slack: SlackRequests
    read_upto: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)  # every line read so far

    def new_lines(self) -> list[dict[str, Any]]:
        """The lines written since the last call, each parsed as JSON (any other line fails)."""
        raw = self.log.read_bytes()
        chunk, self.read_upto = raw[self.read_upto : raw.rfind(b"\n") + 1], raw.rfind(b"\n") + 1
        parsed = []
        for line in chunk.decode("utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                pytest.fail(f"a log line that is not JSON: {line[:300]!r}")
            assert isinstance(entry, dict), line
            parsed.append(entry)
        self.lines.extend(parsed)
        return parsed

    def send(self, req: SignedRequest) -> int:
        return post(f"http://127.0.0.1:{self.port}/slack/events", req)[0]

    def get(self, path: str, **headers: str) -> tuple[int, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()


@pytest.fixture(scope="module")
def served(
    module_fake_slack: FakeSlackAPI,
    fwbot_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("fwbot-json-logs")
    env = {
        **fwbot_env,
        "FWBOT_LOG_FORMAT": "json",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "FWBOT_ADMIN_TOKEN": ADMIN_TOKEN,
        "SLACK_API_URL": module_fake_slack.base_url,
        "DATABASE_URL": f"sqlite:///{tmp / 'fwbot.db'}",
    }
    log = tmp / "server.log"
    with log.open("w", encoding="utf-8") as err:
        try:
            proc, port = start_serve(env, err, timeout=START_TIMEOUT, cwd=REPO_ROOT)
        except ServerDidNotStart as exc:
            pytest.fail(f"{exc}\nlog:\n" + log.read_text(errors="replace")[-4000:])
    server = Served(proc, port, log, module_fake_slack, SlackRequests(SECRET))
    try:
        yield server
    finally:
        stop_serve(proc, grace=10)


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "fwbot.access"]


def one_access_line(served: Served) -> dict[str, Any]:
    """The access line of the one request just answered (it is logged before the answer)."""
    [line] = access_lines(served.new_lines())
    assert {"ts", "level", "logger", "msg", "request_id", "method", "path", "status"} <= set(
        line
    ), line
    assert line["level"] == "INFO" and line["ts"].endswith("Z")
    assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
    return line


def test_every_request_has_one_access_line_and_its_work_carries_its_id(served: Served) -> None:
    served.new_lines()  # the start: JSON too (checked by new_lines)
    assert any("listening on" in line["msg"] for line in served.lines)

    # A question in a channel: acked, answered in the thread after the ack.
    channel, ts = unique("C"), now_ts()
    event = served.slack.app_mention_event(f"<@UBOT> {WORDS}?", user="U7", channel=channel, ts=ts)
    event_id = "Ev" + secrets.token_hex(5).upper()
    assert served.send(served.slack.event(event, event_id=event_id)) == 200
    mention = one_access_line(served)
    assert mention["method"] == "POST" and mention["path"] == "/slack/events"
    assert (mention["status"], mention["outcome"], mention["kind"]) == (
        200,
        "acked",
        "event:app_mention",
    )
    assert (mention["key"], mention["team"], mention["user"]) == (event_id, "T0001", "U7")
    assert "retry" not in mention
    served.fake.wait_for(
        "chat.postMessage",
        timeout=REPLY_TIMEOUT,
        where=lambda c: c.params.get("channel") == channel and c.params.get("thread_ts") == ts,
    )

    # Slack's retry of it: acked and dropped, said in a line of the request's own thread.
    retry = served.slack.event(event, event_id=event_id, retry_num=1)
    assert served.send(retry) == 200
    lines = served.new_lines()
    [again] = access_lines(lines)
    assert (again["outcome"], again["retry"], again["retry_reason"], again["key"]) == (
        "duplicate",
        1,
        "http_timeout",
        event_id,
    )
    assert again["request_id"] != mention["request_id"]
    [dropped] = [line for line in lines if "already handled" in line["msg"]]
    assert (dropped["request_id"], dropped["key"]) == (again["request_id"], event_id)

    # /align whose response URL fails: the work after the ack says so, with the request's id.
    url = served.fake.response_url()
    served.fake.fail_next("response_url", status=500, error="internal_error")
    command = served.slack.slash_command(
        "/align", f"Train officers. {WORDS}", user_id="U8", channel_id=channel, response_url=url
    )
    trigger = command.parsed()["trigger_id"]
    assert served.send(command) == 200
    align = one_access_line(served)
    assert (align["kind"], align["outcome"], align["key"], align["user"]) == (
        "command:/align",
        "acked",
        f"trigger:{trigger}",
        "U8",
    )
    served.fake.wait_for(
        "chat.postEphemeral",
        timeout=REPLY_TIMEOUT,
        where=lambda c: c.params.get("channel") == channel and c.params.get("user") == "U8",
    )
    work = [line for line in served.new_lines() if "response_url failed" in line["msg"]]
    assert work, "the fallback from the response URL is logged"
    assert all(line["request_id"] == align["request_id"] for line in work), work
    assert all(line["key"] == f"trigger:{trigger}" for line in work), work
    assert all(line["thread"] != "fwbot-http" for line in work)

    # Refused before the app: its warning and its access line, one id.
    forged = served.slack.resign(command, secret="not-the-secret")
    assert served.send(forged) == 401
    lines = served.new_lines()
    [refused] = access_lines(lines)
    assert (refused["status"], refused["outcome"]) == (401, "refused: bad_signature")
    assert "kind" not in refused and "user" not in refused  # nothing read from an unsigned body
    [warning] = [line for line in lines if line["level"] == "WARNING"]
    assert warning["request_id"] == refused["request_id"]

    # Probes and metrics.
    for path, headers, status, outcome in (
        ("/healthz", {}, 200, "ok"),
        ("/readyz", {}, 200, "ok"),
        ("/metrics", {}, 401, "refused: bad_token"),
        ("/metrics", {"Authorization": f"Bearer {ADMIN_TOKEN}"}, 200, "ok"),
        ("/nowhere", {}, 404, "not_found"),
    ):
        assert served.get(path, **headers)[0] == status
        line = one_access_line(served)
        assert (line["method"], line["path"], line["status"], line["outcome"]) == (
            "GET",
            path,
            status,
            outcome,
        )


def test_no_secret_and_no_message_text_in_any_line(served: Served) -> None:
    """After the requests of the test above (run alone: its own few requests)."""
    url = served.fake.response_url()
    channel = unique("C")
    command = served.slack.slash_command(
        "/align", WORDS, user_id="U9", channel_id=channel, response_url=url
    )
    assert served.send(command) == 200
    served.fake.wait_for(
        "response_url", timeout=REPLY_TIMEOUT, where=lambda c: url.endswith(c.params["_token"])
    )
    served.new_lines()
    assert access_lines(served.lines)
    forbidden = (BOT_TOKEN, SECRET, ADMIN_TOKEN, "Zq81", "Lagos", url, url.rsplit("/", 1)[-1])
    for line in served.lines:
        text = json.dumps(line, ensure_ascii=False)
        leaked = [word for word in forbidden if word in text]
        assert not leaked, (leaked, line)
        assert "\n" not in line["msg"]


def test_every_exposed_metric_is_in_the_deploy_readme(served: Served) -> None:
    """What the served /metrics exposes, whoever registered it, has a row in deploy/README.md."""
    status, body = served.get("/metrics", Authorization=f"Bearer {ADMIN_TOKEN}")
    assert status == 200
    from tests.test_metrics_documented import documented, exposed

    names = exposed(body.decode())
    assert "fwbot_slack_requests_total" in names
    assert names <= documented(), sorted(names - documented())


def test_a_bad_log_format_is_one_line_naming_the_variable(fwbot_env: dict[str, str]) -> None:
    env = {**fwbot_env, "FWBOT_LOG_FORMAT": "yaml", "SLACK_BOT_TOKEN": BOT_TOKEN}
    result = run_fwbot("serve", "--port", "0", env=env)
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "FWBOT_LOG_FORMAT" in err and "'json'" in err and "yaml" in err, err


# ---- in process ------------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    names = ["", "fwbot.access", "slack_sdk", "slack_bolt", *logging.Logger.manager.loggerDict]
    levels = {name: logging.getLogger(name).level for name in names}
    factory = logging.getLogRecordFactory()
    try:
        yield
    finally:
        logging.setLogRecordFactory(factory)
        for name in [*logging.Logger.manager.loggerDict, ""]:
            logging.getLogger(name).setLevel(levels.get(name, logging.NOTSET))


def _get(wsgi: SlackWSGI, path: str) -> str:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1"}
    got: list[str] = []
    b"".join(wsgi(environ, lambda status, headers: got.append(status)))
    return got[0]


def test_the_text_format_has_no_access_lines(
    restore_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging(log_format="text")
    wsgi = SlackWSGI(None, Metrics(), Readiness({}))
    with caplog.at_level(logging.INFO):
        assert _get(wsgi, "/healthz") == "200 OK"
        logging.getLogger("fwbot").info("still here")
    assert [r.name for r in caplog.records] == ["fwbot"]
    logging.getLogger("fwbot.access").setLevel(logging.INFO)  # what the json format does
    with caplog.at_level(logging.INFO):
        _get(wsgi, "/healthz")
    assert [r.name for r in caplog.records][-1] == "fwbot.access"


def test_a_record_is_one_json_line_with_its_request_and_its_exception() -> None:
    formatter = JSONFormatter()
    with request_log.request("POST", "/slack/events") as req:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            record = logging.LogRecord(
                "fwbot.slack", logging.ERROR, __file__, 1, "failed %s", ("x",), None
            )
            import sys

            record.exc_info = sys.exc_info()
        line = formatter.format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["msg"], entry["level"], entry["request_id"]) == ("failed x", "ERROR", req.id)
    assert "Traceback" in entry["exc"] and "second line" in entry["exc"]
    with request_log.working_on("Ev123"):
        entry = json.loads(formatter.format(logging.LogRecord("w", 20, "", 1, "m", None, None)))
    assert entry["key"] == "Ev123" and "request_id" not in entry


def test_a_socket_mode_envelope_has_its_access_line_too(
    restore_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    """What bot/slack/socket_mode.py wraps each envelope in (the served Socket Mode runs
    are in tests/test_socket_mode_serve.py)."""
    from bot.slack.middleware import request_kind

    logging.getLogger("fwbot.access").setLevel(logging.INFO)  # as the json format has it
    slack = SlackRequests(SECRET)
    event = slack.app_mention_event(f"<@UBOT> {WORDS}", user="U5", channel="C1", ts=now_ts())
    body = slack.event(event, event_id="EvSOCKET1").parsed()
    envelope = {
        "envelope_id": "e-1",
        "type": "events_api",
        "payload": body,
        "retry_attempt": 2,
        "retry_reason": "timeout",
    }
    with caplog.at_level(logging.INFO), request_log.envelope(envelope, request_kind) as log:
        logging.getLogger("fwbot.slack").info("inside")
        request_log.note_outcome("duplicate")
        log.status = 200
    inside, access = caplog.records[-2:]
    fields = getattr(access, request_log.FIELDS)
    assert access.name == "fwbot.access"
    assert {k: fields[k] for k in ("method", "path", "status", "outcome", "kind", "key")} == {
        "method": "SOCKET",
        "path": "events_api",
        "status": 200,
        "outcome": "duplicate",
        "kind": "event:app_mention",
        "key": "EvSOCKET1",
    }
    assert (fields["retry"], fields["retry_reason"], fields["user"]) == (2, "timeout", "U5")
    line = json.loads(JSONFormatter().format(access))
    assert "Zq81" not in json.dumps(line) and line["request_id"] == log.id
    assert inside.getMessage() == "inside"
