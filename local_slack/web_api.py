"""A fake Slack Web API on loopback, for tests, benchmarks and the local console.

``FakeSlackAPI`` serves ``/api/<method>`` (pass :attr:`FakeSlackAPI.base_url` as
``WebClient(base_url=...)``), response URLs (``/response/<token>``), file upload URLs
(``/upload/<file_id>``) and shared files' ``url_private`` (``/files-pri/…``, see
:mod:`local_slack.files`) from a daemon thread, records every call, and can inject failures,
dropped answers, rate limits and delays. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import copy
import json
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from local_slack.faults import Failure, Faults
from local_slack.files import HostedFiles
from local_slack.messages import dm_channel, error
from local_slack.recording import Call, CallLog
from local_slack.streams import StreamedMessages
from local_slack.workspace import Workspace

if TYPE_CHECKING:
    from slack_sdk import WebClient

DEFAULT_TOKEN = "xoxb-test"
# Params whose string values are JSON documents (WebClient json.dumps them in form bodies).
JSON_FORM_FIELDS = frozenset(
    {"blocks", "attachments", "view", "metadata", "prompts", "files", "chunks"}
)

Answer = tuple[int, dict[str, str], bytes]


def decode_json_field(value: Any) -> Any:
    """A form value holding JSON (``blocks=[...]``), decoded; other values unchanged."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def parse_params(query: str, content_type: str, raw: bytes) -> dict[str, Any] | None:
    """Query string plus a JSON or form body as one dict; None for an unparsable JSON body."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if not raw:
        pass
    elif content_type.startswith("application/json"):
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(body, dict):
            return None
        params.update(body)
    elif content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    # Slack takes these as JSON strings in form bodies, and also in JSON bodies.
    return {k: decode_json_field(v) if k in JSON_FORM_FIELDS else v for k, v in params.items()}


def _json(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Answer:
    out = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return status, out, json.dumps(body).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    """Routes /api/, /response/ and /upload/ to the owning FakeSlackAPI."""

    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        answer = self.server.fake._route(self.command, self.path, dict(self.headers.items()), raw)
        if answer is None:  # a dropped answer: hang up without a status line
            self.close_connection = True
            return
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _handle
    do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog (5) refuses bursts of concurrent clients
    fake: FakeSlackAPI

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (its timeout) before a slow answer: the call was executed
        and recorded all the same, as Slack would; nothing to print."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeSlackAPI(HostedFiles, StreamedMessages):
    """Fake Slack Web API server. ``with FakeSlackAPI() as fake: WebClient(base_url=fake.base_url,
    token="xoxb-test")``. Valid tokens default to {"xoxb-test"}."""

    def __init__(
        self, *, tokens: Iterable[str] = (DEFAULT_TOKEN,), clock: Callable[[], float] = time.time
    ) -> None:
        self.tokens: set[str] = set(tokens)
        # apps.connections.open answers this URL to any xapp- token (a Socket Mode server's)
        self.socket_mode_url: str | None = None
        self._lacking: dict[str, set[str]] = {}  # scope -> valid tokens without it
        self.workspace = Workspace(clock)
        self.faults = Faults()
        self._log = CallLog()
        self._busy = 0  # requests being handled (a delayed one: until it landed)
        self._idle = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Binds 127.0.0.1 on an ephemeral port and serves from a daemon thread."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self.workspace.root_url = self.root_url
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-slack-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and closes the socket."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the server must be started)."""
        if self._server is None:
            raise RuntimeError("FakeSlackAPI is not started")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/api/``, for ``WebClient(base_url=...)``."""
        return f"{self.root_url}/api/"

    def client(self, token: str = DEFAULT_TOKEN, **kwargs: Any) -> WebClient:
        """A slack_sdk WebClient pointed at this server."""
        from slack_sdk import WebClient

        return WebClient(token=token, base_url=self.base_url, **kwargs)

    def response_url(self, token: str | None = None) -> str:
        """A response URL on this server (random token if None); 5 uses within 30 minutes."""
        token = token or secrets.token_hex(12)
        self.workspace.issue_response_url(token)
        return f"{self.root_url}/response/{token}"

    def expire_response_url(self, token: str) -> None:
        """Every further post to this response URL gets 404 ``used_url``."""
        self.workspace.expire_response_url(token)

    # ---- the call log ------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls, oldest first, optionally of one method."""
        return self._log.calls(method)

    def wait_for(
        self,
        method: str | None,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Blocks until ``count`` matching calls were recorded; returns all matching calls.
        Raises AssertionError (listing the calls seen) after ``timeout`` seconds."""
        return self._log.wait_for(method, count, timeout, where)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Blocks until no request is being handled: every call received so far (a delayed
        one too, whose client gave up) has been executed and recorded. Raises AssertionError
        after ``timeout`` seconds."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._busy == 0, timeout):
                raise AssertionError(f"{self._busy} request(s) still handled after {timeout} s")

    def reset(self, *, keep_state: bool = False) -> None:
        """Forgets recorded calls and, unless ``keep_state``, messages, views, files, response
        URL uses, queued failures and dropped answers, delays and rate limits. Tokens, users,
        user groups and unreachable users stay."""
        self._log.clear()
        if not keep_state:
            self.workspace.clear()
            self.faults.clear()

    # ---- workspace state ---------------------------------------------------------------

    def add_user(self, user_id: str, **kwargs: Any) -> dict[str, Any]:
        """Adds a user for users.info: ``tz``, ``tz_offset``, ``is_bot``, ``deleted``,
        ``real_name``, ``name`` (see :meth:`Workspace.add_user`)."""
        return self.workspace.add_user(user_id, **kwargs)

    def add_message(
        self, channel: str, text: str = "", *, user: str, ts: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Seeds a message (e.g. the user message an event describes) into the history."""
        message = {"type": "message", "text": text, "user": user, **fields}
        if ts is not None:
            message["ts"] = ts
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.messages.add(channel, message))

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every stored message of a channel, replies included, oldest first."""
        with self.workspace.lock:
            stored = self.workspace.messages.channels.get(channel, [])
            return copy.deepcopy(sorted(stored, key=lambda m: float(m["ts"])))

    def ephemeral_messages(self) -> list[dict[str, Any]]:
        """chat.postEphemeral messages (with ``channel`` and ``to_user``), oldest first."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.messages.ephemeral)

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The current state of an opened, pushed, updated or published view."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.views.get(view_id))

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The home tab last published for a user."""
        with self.workspace.lock:
            view_id = self.workspace.home_views.get(user_id)
            return copy.deepcopy(self.workspace.views.get(view_id)) if view_id else None

    def uploaded_file(self, file_id: str) -> dict[str, Any] | None:
        """An uploaded file: ``name``, ``title``, ``content`` (bytes), ``shares``... (None once
        files.delete removed it)."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.files.get(file_id))

    def deleted_files(self) -> list[str]:
        """Ids of the files files.delete removed, oldest first."""
        with self.workspace.lock:
            return list(self.workspace.deleted_files)

    def add_usergroup(self, group_id: str, users: Iterable[str]) -> None:
        """Adds (or replaces) a user group for usergroups.users.list."""
        with self.workspace.lock:
            self.workspace.usergroups[group_id] = list(users)

    def make_unreachable(self, user_id: str, error: str = "user_not_found") -> None:
        """chat.postMessage to this user id and conversations.open with them answer ``error``
        from now on (a user added with ``deleted=True`` answers ``account_inactive``)."""
        with self.workspace.lock:
            self.workspace.unreachable[user_id] = error

    def assistant_thread(self, channel_id: str, thread_ts: str) -> dict[str, Any]:
        """Last ``status``, ``prompts`` and ``title`` set on an assistant thread."""
        with self.workspace.lock:
            return copy.deepcopy(self.workspace.assistant_threads.get((channel_id, thread_ts), {}))

    # ---- fault injection ---------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` (or ``"response_url"`` / ``"upload"`` /
        ``"file_download"``) fail: 429 with Retry-After and ``ratelimited``, else HTTP
        ``status`` with ``error``."""
        self.faults.fail_next(
            method, error=error, status=status, retry_after=retry_after, times=times
        )

    def rate_limit(
        self,
        per_channel_per_sec: float | None,
        workspace_per_sec: float | None,
        *,
        burst: float = 1.0,
    ) -> None:
        """Rate-limits chat.postMessage (None: no limit); excess calls get 429 + Retry-After."""
        self.faults.rate_limit(per_channel_per_sec, workspace_per_sec, burst=burst)

    def delay(self, method: str, seconds: float, *, times: int | None = None) -> None:
        """Every call of ``method`` (``"*"``: all) — only the next ``times`` if given — is
        executed and answered ``seconds`` later; 0 clears. As in Slack, a call whose client
        gave up meanwhile (its timeout) is still executed then: a delayed chat.postMessage
        lands at the end of the delay, and shows in the history (and in :meth:`calls`) only
        from then on."""
        self.faults.delay(method, seconds, times=times)

    def hold(self, method: str) -> None:
        """Calls of ``method`` (or ``"response_url"``) hang, unanswered, until
        :meth:`release` (a client that times out meanwhile gets no answer)."""
        self.faults.hold(method)

    def release(self, method: str) -> None:
        self.faults.release(method)

    def held(self, method: str) -> int:
        """How many calls of ``method`` hang now (see :meth:`hold`)."""
        return self.faults.held(method)

    def drop_response(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of Web API ``method`` that get past auth and rate limits
        are executed (a chat.postMessage is stored) but never answered: the server closes the
        connection, so the client sees ``RemoteDisconnected`` - "delivered, but the sender
        never heard back". The call log records them with status 0."""
        self.faults.drop_response(method, times)

    # ---- request handling (server threads) ---------------------------------------------

    def _route(self, verb: str, path: str, headers: dict[str, str], raw: bytes) -> Answer | None:
        with self._idle:
            self._busy += 1
        try:
            return self._route_one(verb, path, headers, raw)
        finally:
            with self._idle:
                self._busy -= 1
                if self._busy == 0:
                    self._idle.notify_all()

    def _route_one(
        self, verb: str, path: str, headers: dict[str, str], raw: bytes
    ) -> Answer | None:
        at = time.monotonic()
        parts = urlsplit(path)
        route, _, name = parts.path.lstrip("/").partition("/")
        name = unquote(name)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if route == "api" and name:
            params = parse_params(parts.query, content_type, raw)
            return self._api(name, params, headers, at)
        if route == "response" and name and verb == "POST":
            return self._respond(name, raw, headers, at)
        if route == "upload" and name and verb == "POST":
            return self._upload(name, raw, headers, at)
        if route == "files-pri" and name and verb == "GET":
            return self._file(name, headers, at)
        return _json(404, error("not_found"))

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        at: float,
        answer: Answer,
        response: dict[str, Any],
    ) -> Answer:
        self._log.append(Call(method, params, headers, at, answer[0], response))
        return answer

    def _failure(self, method: str) -> Failure | None:
        self.faults.wait_if_held(method)
        pause = self.faults.delay_for(method)
        if pause > 0:
            time.sleep(pause)
        return self.faults.take_failure(method)

    def _connections_open(self, token: str | None) -> dict[str, Any]:
        """Slack's answer to an app-level token: a WebSocket URL (see :attr:`socket_mode_url`)."""
        if not token:
            return error("not_authed")
        if not token.startswith("xapp-"):
            return error("not_allowed_token_type")
        if self.socket_mode_url is None:
            return error("internal_error")
        return {"ok": True, "url": self.socket_mode_url}

    @staticmethod
    def _token(params: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else params.get("token")

    def _auth_error(self, params: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
        token = self._token(params, headers)
        if not token:
            return "not_authed"
        return None if token in self.tokens else "invalid_auth"

    def _api(
        self, method: str, params: dict[str, Any] | None, headers: dict[str, str], at: float
    ) -> Answer | None:
        failure = self._failure(method)
        if failure is not None:
            body, answer = failure.body, _json(failure.status, failure.body, failure.headers)
        elif params is None:
            body = error("invalid_json")
            answer = _json(200, body)
        elif method == "apps.connections.open":
            body = self._connections_open(self._token(params, headers))
            answer = _json(200, body)
        elif (problem := self._auth_error(params, headers)) is not None:
            body = error(problem)
            answer = _json(200, body)
        elif (missing := self._missing_scope(method, self._token(params, headers))) is not None:
            body, answer = missing, _json(200, missing)
        elif method == "chat.postMessage" and (
            limited := self.faults.admit_message(dm_channel(str(params.get("channel") or "")))
        ):
            body, answer = limited.body, _json(429, limited.body, limited.headers)
        else:
            body = self.workspace.handle(method, params)
            answer = _json(200, body)
            if self.faults.take_drop(method):
                self._record(method, params, headers, at, (0, {}, b""), body)
                return None
        return self._record(method, params or {}, headers, at, answer, body)

    def _respond(self, token: str, raw: bytes, headers: dict[str, str], at: float) -> Answer:
        try:
            payload = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            payload = None
        params = {**(payload if isinstance(payload, dict) else {}), "_token": token}
        failure = self._failure("response_url")
        if failure is not None:
            status, body, extra = failure.status, failure.body, failure.headers
        elif not isinstance(payload, dict):
            status, body, extra = 400, error("invalid_payload"), {}
        else:
            (status, body), extra = self.workspace.respond(token, payload), {}
        return self._record("response_url", params, headers, at, _json(status, body, extra), body)

    def _upload(self, file_id: str, raw: bytes, headers: dict[str, str], at: float) -> Answer:
        params = {"file_id": file_id, "size": len(raw)}
        failure = self._failure("upload")
        if failure is not None:
            answer = _json(failure.status, failure.body, failure.headers)
            return self._record("upload", params, headers, at, answer, failure.body)
        status, text = self.workspace.upload(file_id, raw)
        answer = (status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode("utf-8"))
        return self._record(
            "upload", params, headers, at, answer, {"ok": status == 200, "body": text}
        )
