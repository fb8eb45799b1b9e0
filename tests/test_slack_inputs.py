"""URLs inside Slack's payloads are not trusted (issue 21): a reply is POSTed only to Slack's
response-URL hosts, the bot token goes only to Slack's file hosts and never along a redirect
off them, and the local fake is allowed only through ``FWBOT_TRUST_LOCAL_SLACK`` (in-process:
``make_bot(trust_fake=True)``, the default of the ``slack_bot`` fixture).

Each request is signed and goes through the real bolt app against the fake Slack; a loopback
listener that is not the fake stands for the attacker's host and records what reaches it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from document_samples import TRAINING

from bot.services.documents import MAX_BYTES
from bot.slack.ids import SHORTCUT_ALIGN_MESSAGE
from bot.slack_api.files import FetchError, file_fetcher
from bot.slack_api.hosts import (
    Origin,
    file_url_allowed,
    local_origin,
    origin,
    response_url_allowed,
    shown,
    trust_local_slack,
    trusted_local,
)
from bot.wiring.composition import Services
from bot.wiring.settings import Settings
from tests.slack_fixtures import BOT_TOKEN

INTERNAL_PAGE = b"INTERNAL ADMIN PAGE: the quarterly salaries of every officer"


@dataclass
class Listener:
    """A loopback HTTP server that is not the fake: records each request, answers a POST
    with 200 ``ok`` (as a webhook would) and a GET with :data:`INTERNAL_PAGE`, except
    ``/first``, which redirects to ``/second`` on itself."""

    server: ThreadingHTTPServer
    seen: list[tuple[str, str, str | None, bytes]] = field(default_factory=list)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def listener() -> Iterator[Listener]:
    holder: list[Listener] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _answer(self, status: int, body: bytes, location: str | None = None) -> None:
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            holder[0].seen.append(("POST", self.path, self.headers.get("Authorization"), body))
            self._answer(200, b"ok")

        def do_GET(self) -> None:
            holder[0].seen.append(("GET", self.path, self.headers.get("Authorization"), b""))
            if self.path == "/first":
                self._answer(302, b"", location="/second")
            else:
                self._answer(200, INTERNAL_PAGE)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(Listener(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _align_command(bot, text: str, response_url: str, *, channel: str = "C1") -> None:
    ack = bot.send(
        bot.requests.slash_command(
            "/align", text, user_id="U1", channel_id=channel, response_url=response_url
        )
    )
    assert ack.status == 200
    bot.drain()  # the work after the ack is finished, replies sent


def _shortcut(bot, files: list[dict], text: str, response_url: str) -> None:
    r = bot.requests
    message = {"type": "message", "text": text, "ts": "1700000000.000200", "user": "U7"}
    payload = r.message_shortcut_payload(
        SHORTCUT_ALIGN_MESSAGE,
        message,
        user="U1",
        channel="C1",
        response_url=response_url,
        files=files,
    )
    ack = bot.send(r.interaction(payload))
    assert ack.status == 200
    bot.drain()


def _text(reply: dict) -> str:
    parts = [reply.get("text") or ""]
    for block in reply.get("blocks") or []:
        parts.append(str(block))
    return "\n".join(parts)


# ---- 1. response URLs ------------------------------------------------------------------------


def test_a_response_url_off_slack_gets_nothing_and_the_reply_comes_through_the_web_api(
    slack_bot, listener: Listener, caplog
) -> None:
    hook = f"{listener.root}/services/T1/B1/s3cr3t?token=q5"
    with caplog.at_level(logging.INFO, logger="bot.slack.delivery"):
        _align_command(slack_bot, TRAINING, hook)
    assert listener.seen == []  # another user's proposal never reaches that host
    assert slack_bot.api.calls("response_url") == []
    (ephemeral,) = slack_bot.api.ephemeral_messages()
    assert ephemeral["to_user"] == "U1" and ephemeral["channel"] == "C1"
    (record,) = slack_bot.store.recent_alignments("U1")
    assert record.suggested_ids and f"*{record.suggested_ids[0]}*" in _text(ephemeral)
    said = [r.getMessage() for r in caplog.records if "response_url" in r.getMessage()]
    assert said == [
        f"response_url refused, url_not_allowed ({listener.root}); replying through the Web API"
    ]
    assert "s3cr3t" not in caplog.text and "q5" not in caplog.text
    assert "officers" not in caplog.text  # nor what the user wrote


def test_the_fakes_own_response_url_is_not_trusted_without_the_test_setting(
    untrusting_slack_bot,
) -> None:
    bot = untrusting_slack_bot  # SLACK_API_URL alone (the fake) does not open the door
    _align_command(bot, TRAINING, bot.api.response_url())
    assert bot.api.calls("response_url") == []
    (ephemeral,) = bot.api.ephemeral_messages()
    assert ephemeral["to_user"] == "U1"
    assert bot.store.recent_alignments("U1")


def test_the_trusted_fakes_response_url_still_gets_the_reply(slack_bot) -> None:
    _, url = slack_bot.command(TRAINING)
    slack_bot.drain()
    (reply,) = slack_bot.responses(url)
    assert slack_bot.api.ephemeral_messages() == []
    assert slack_bot.store.recent_alignments("U1")[0].suggested_ids
    assert reply["response_type"] == "ephemeral"


# ---- 2. file downloads -----------------------------------------------------------------------


def test_a_file_off_slacks_hosts_gets_no_token_and_the_rest_is_answered(
    slack_bot, listener: Listener
) -> None:
    url = slack_bot.api.response_url()
    plan = f"{listener.root}/files-pri/T0001-F1/download/plan.txt"
    files = [{"id": "F1", "name": "plan.txt", "url_private": plan, "url_private_download": plan}]
    _shortcut(slack_bot, files, TRAINING, url)
    assert listener.seen == []  # the bot token went nowhere
    (reply,) = slack_bot.responses(url)
    assert "plan.txt is not stored on Slack, so I won't send it the app's token" in _text(reply)
    (record,) = slack_bot.store.recent_alignments("U1")
    assert record.text == TRAINING and record.suggested_ids  # the message is still aligned


def test_a_download_redirected_off_slack_is_not_followed(slack_bot, listener: Listener) -> None:
    shared = slack_bot.api.add_file(
        "plan.txt", TRAINING.encode(), redirect_to=f"{listener.root}/internal"
    )
    url = slack_bot.api.response_url()
    _shortcut(slack_bot, [shared], "Our training plan, attached.", url)
    (download,) = slack_bot.api.calls("file_download")
    assert download.status == 302  # the fake (trusted) got the token and redirected
    assert listener.seen == []  # the page it pointed to was never asked for
    (reply,) = slack_bot.responses(url)
    assert "plan.txt can't be downloaded: Slack sent the download elsewhere" in _text(reply)
    assert "INTERNAL" not in _text(reply) and "salaries" not in _text(reply)
    (record,) = slack_bot.store.recent_alignments("U1")
    assert record.text == "Our training plan, attached."


def test_the_fakes_files_get_no_token_without_the_test_setting(untrusting_slack_bot) -> None:
    bot = untrusting_slack_bot
    shared = bot.api.add_file("plan.txt", TRAINING.encode())
    _shortcut(bot, [shared], "", bot.api.response_url())
    assert bot.api.calls("file_download") == []  # http on the fake's port: not Slack's
    (ephemeral,) = bot.api.ephemeral_messages()
    assert "plan.txt is not stored on Slack" in _text(ephemeral)


def test_the_trusted_fakes_files_are_still_read(slack_bot) -> None:
    shared = slack_bot.api.add_file("plan.txt", TRAINING.encode())
    url = slack_bot.api.response_url()
    _shortcut(slack_bot, [shared], "", url)
    (download,) = slack_bot.api.calls("file_download")
    assert download.status == 200 and download.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    (reply,) = slack_bot.responses(url)
    assert f"Read plan.txt: {len(TRAINING.split())} words" in _text(reply)


def test_the_fetcher_follows_a_redirect_only_on_its_origin_and_without_the_token(
    listener: Listener,
) -> None:
    trusted = local_origin(f"{listener.root}/api/")
    fetch = file_fetcher("xoxb-secret", local=trusted, max_bytes=MAX_BYTES)
    assert fetch(f"{listener.root}/first") == INTERNAL_PAGE  # same origin: followed
    assert [(m, p, a) for m, p, a, _ in listener.seen] == [
        ("GET", "/first", "Bearer xoxb-secret"),
        ("GET", "/second", None),  # the token is not carried along a redirect
    ]
    listener.seen.clear()
    other = Origin("http", "127.0.0.1", 9)  # the listener is not this origin
    for url in (
        f"{listener.root}/first",
        "http://files.slack.com/x.pdf",
        "https://files.slack.com.evil.example/x.pdf",
        "https://evil.example/files-pri/x.pdf",
        "file:///etc/passwd",
    ):
        with pytest.raises(FetchError, match="not stored on Slack"):
            file_fetcher("xoxb-secret", local=other, max_bytes=MAX_BYTES)(url)
    assert listener.seen == []


# ---- the host rules (pure) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.slack.com/commands/T1/123/abc", True),
        ("https://HOOKS.Slack.COM/commands/T1/123/abc", True),  # host names are case-blind
        ("https://hooks.slack.com:443/actions/T1/1/x", True),
        ("https://hooks.slack-gov.com/commands/T1/123/abc", True),
        ("http://hooks.slack.com/commands/T1/123/abc", False),  # not https
        ("https://hooks.slack.com:8443/commands/x", False),  # another port
        ("https://hooks.slack.com@evil.com/commands/x", False),  # user info: the host is evil
        ("https://evil.com@hooks.slack.com/commands/x", False),  # user info at all
        ("https://user:pw@hooks.slack.com/x", False),
        ("https://hooks.slack.com./commands/x", False),  # trailing dot
        ("https://hooks.slack.com.evil.com/x", False),
        ("https://evilhooks.slack.com/x", False),
        ("https://api.slack.com/x", False),  # Slack, but not its webhooks
        ("https://files.slack.com/x", False),
        ("https://hooks.slаck.com/x", False),  # Cyrillic а: an IDN look-alike
        ("https://xn--hooks-slck-9ub.com/x", False),
        ("https://ｈｏｏｋｓ.slack.com/x", False),  # full-width: NFKC would make it ASCII
        ("https://hooks.slack.com\\@evil.com/x", False),
        ("https://hooks.slack.com:99999/x", False),  # a port out of range
        ("https://hooks.slack.com:abc/x", False),
        ("https://hooks.slack.com /x", False),
        ("https:///x", False),
        ("javascript:alert(1)", False),
        ("//hooks.slack.com/x", False),
        ("", False),
        ("http://127.0.0.1:3000/response/x", False),  # loopback: only when trusted
    ],
)
def test_response_url_hosts(url: str, ok: bool) -> None:
    assert response_url_allowed(url) is ok


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://files.slack.com/files-pri/T1-F1/download/a.pdf", True),
        ("https://FILES.SLACK.COM/files-pri/T1-F1/a.pdf", True),
        ("https://files.slack-gov.com/files-pri/T1-F1/a.pdf", True),
        ("http://files.slack.com/files-pri/T1-F1/a.pdf", False),
        ("https://files.slack.com:444/files-pri/a.pdf", False),
        ("https://files.slack.com@evil.com/a.pdf", False),
        ("https://files.slack.com./a.pdf", False),
        ("https://a.slack-edge.com/a.pdf", False),  # public avatars and emoji, no token there
        ("https://slack-files.com/T1-F1-abc", False),  # public links need no token
        ("https://slack.com/a.pdf", False),
        ("https://myteam.slack.com/?redir=/files-pri/a.pdf", False),
        ("https://hooks.slack.com/a.pdf", False),
        ("https://filés.slack.com/a.pdf", False),
        ("ftp://files.slack.com/a.pdf", False),
    ],
)
def test_file_hosts(url: str, ok: bool) -> None:
    assert file_url_allowed(url) is ok


def test_a_trusted_local_origin_is_exactly_the_fakes() -> None:
    local = local_origin("http://127.0.0.1:4567/api/")
    assert local == Origin("http", "127.0.0.1", 4567)
    assert response_url_allowed("http://127.0.0.1:4567/response/abc", local=local)
    assert file_url_allowed("http://127.0.0.1:4567/files-pri/T-F/a.txt", local=local)
    assert not response_url_allowed("http://127.0.0.1:4568/response/abc", local=local)
    assert not file_url_allowed("https://127.0.0.1:4567/files-pri/a.txt", local=local)
    assert not file_url_allowed("http://localhost:4567/files-pri/a.txt", local=local)
    assert not file_url_allowed("http://x@127.0.0.1:4567/files-pri/a.txt", local=local)
    assert response_url_allowed("https://hooks.slack.com/x", local=local)  # Slack's still are
    assert local_origin("https://slack.com/api/") is None  # only loopback can be trusted
    assert local_origin("http://10.0.0.5:3000/api/") is None
    assert local_origin("http://[::1]:3000/api/") == Origin("http", "::1", 3000)
    assert local_origin("http://localhost:3000/api/") == Origin("http", "localhost", 3000)


def test_a_url_in_a_log_line_is_its_origin_only() -> None:
    assert shown("https://hooks.slack.com/commands/T1/2/s3cr3t?x=1") == (
        "https://hooks.slack.com:443"
    )
    assert shown("https://a@b/x") == "a URL that is not plain http(s)"
    assert origin("HTTP://Example.COM/x") == Origin("http", "example.com", 80)


# ---- 3. the setting --------------------------------------------------------------------------


def test_the_test_setting_is_off_by_default_and_only_for_a_slack_on_loopback(
    fake_slack, monkeypatch
) -> None:
    monkeypatch.delenv("FWBOT_TRUST_LOCAL_SLACK", raising=False)
    base = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake_slack.base_url}
    plain = Services(Settings(_env_file=None, **base))
    assert plain.settings.slack.trust_local_slack is False
    assert trusted_local(plain.slack_client) is None  # the fake's URL alone opens nothing
    trusting = Services(Settings(_env_file=None, FWBOT_TRUST_LOCAL_SLACK="true", **base))
    assert trusted_local(trusting.slack_client) == local_origin(fake_slack.base_url)

    from pydantic import ValidationError

    from bot.wiring.settings import describe_settings_error

    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, FWBOT_TRUST_LOCAL_SLACK="true")  # Slack itself
    assert describe_settings_error(caught.value).startswith(
        "FWBOT_TRUST_LOCAL_SLACK: is for tests and local runs against the fake Slack only"
    )
    with pytest.raises(ValueError):
        trust_local_slack(fake_slack.client().__class__(base_url="https://slack.com/api/"))
