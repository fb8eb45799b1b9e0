"""The HTTP front: Slack at ``POST /slack/events``, ``GET /healthz``, ``GET /readyz`` on the
public port; ``GET /metrics`` and readiness in detail on the admin listener.

A WSGI app served by waitress with a pool of threads (bot/slack/http_server.py): a request
never waits for another's listener, and bolt sends each ack as soon as the listener calls
``ack()`` while the work goes on in bolt's own listener pool. In Socket Mode the public port
answers health only.

``/healthz`` is liveness: 200 ``{"ok": true}`` as long as the process serves, without
looking at any dependency (nothing there can hang). ``/readyz`` is readiness (see
:mod:`bot.slack.health`): 200 ``{"ready": true, "checks": {...}}``, or 503 with the failed
check's reason word; on the public port never a host name or an error's text.

The admin listener (``admin=True``: its own host and port, loopback by default, see
``FWBOT_ADMIN_*``) serves ``/metrics`` and adds ``"detail"`` to ``/readyz``: each failed
check's error, hosts and ports included. The public port serves neither (``/metrics`` is
404) unless an admin token is set: then a request with ``Authorization: Bearer <token>``
(compared in constant time) gets both there too, and ``/metrics`` without it is 401.

Nothing reaches bolt before it is known to come from Slack. In order, a ``POST
/slack/events`` is refused with:

* 413 when it announces more than :data:`MAX_BODY_BYTES` (waitress refuses it as soon as the
  headers are in, without reading the body; a chunked body is cut off at the limit);
* 401 when its Slack signature (v0: HMAC-SHA256 of ``v0:{timestamp}:{raw body}`` with the
  signing secret, compared in constant time) is missing or wrong (``bad_signature``), or is
  right but its timestamp is more than 5 minutes from now (``stale``: a replay);
* 400 when it is signed but its body cannot be read as Slack's JSON or form encoding.

Each refusal is one short log line (never the body, never a traceback) and counts in
``fwbot_http_rejected_total{status, reason}``. A request bolt fails on is a 500, counted the
same way (its traceback is logged: only a request signed with the secret can cause one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse

from . import request_log
from .health import Readiness
from .metrics import Metrics
from .middleware import request_kind

log = logging.getLogger("fwbot.slack")
EVENTS_PATH = "/slack/events"
SERVER_THREADS = 16
# Slack's requests are a few KB (a long message event or a modal's state: tens of KB);
# a body larger than this is refused with 413 before it is read.
MAX_BODY_BYTES = 1_000_000
REPLAY_WINDOW = 5 * 60  # seconds: Slack's signatures are valid this long either side of now

StartResponse = Callable[..., Any]


class Refused(Exception):
    """A request that goes no further: its status, metric reason, the tiny body answered and
    a few words for the log (never from the request's body)."""

    def __init__(self, status: int, reason: str, answer: bytes, detail: str) -> None:
        super().__init__(detail)
        self.status, self.reason, self.answer, self.detail = status, reason, answer, detail


_STATUS_LINES = {
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    413: "413 Payload Too Large",
    500: "500 Internal Server Error",
}


class SlackWSGI:
    """``app`` None: health only (Socket Mode's public port, or the admin listener).
    ``signing_secret``: the app's (SLACK_SIGNING_SECRET); without one, requests to Slack's
    path are refused. ``admin``: the admin listener (metrics, readiness in detail).
    ``admin_token``: the bearer token that opens the same on the public port."""

    def __init__(
        self,
        app: App | None,
        metrics: Metrics,
        readiness: Readiness | None = None,
        *,
        signing_secret: str | None = None,
        admin: bool = False,
        admin_token: str | None = None,
        clock: Callable[[], float] = time.time,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.readiness = readiness or Readiness({})
        self.admin = admin
        self.clock = clock
        self.max_body = max_body
        self._secret = (signing_secret or "").encode()
        self._admin_token = (admin_token or "").encode()
        if app is not None:
            # bolt logs a failed verification with the whole body at INFO, and others at
            # DEBUG/INFO: its own loggers say only warnings and errors.
            for name in ("slack_bolt", "slack_bolt.RequestVerification"):
                logging.getLogger(name).setLevel(logging.WARNING)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        """Answer the request; then its access line (bot/slack/request_log.py)."""
        return request_log.logged(self._route, environ, start_response)

    def _route(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH and method == "POST" and self.app is not None:
            try:
                return self._slack(environ, start_response)
            except Refused as no:
                self.refused(
                    no.status,
                    no.reason,
                    no.detail,
                    method=method,
                    path=path,
                    remote=environ.get("REMOTE_ADDR", "?"),
                )
                return _send(start_response, _STATUS_LINES[no.status], no.answer)
        if path == "/healthz" and method in ("GET", "HEAD"):  # liveness: no dependency
            return _send(start_response, "200 OK", b'{"ok": true}', "application/json")
        if path == "/readyz" and method in ("GET", "HEAD"):
            ready, checks, detail = self.readiness.report_detail()
            status = "200 OK" if ready else "503 Service Unavailable"
            answer: dict[str, object] = {"ready": ready, "checks": checks}
            if self._is_admin(environ):
                answer["detail"] = detail
            return _send(start_response, status, json.dumps(answer).encode(), "application/json")
        if path == "/metrics" and method == "GET":
            try:
                self._admin_only(environ)
            except Refused as no:
                if no.status == 401:
                    remote = environ.get("REMOTE_ADDR", "?")
                    self.refused(401, no.reason, no.detail, method=method, path=path, remote=remote)
                return _send(
                    start_response,
                    _STATUS_LINES[no.status],
                    no.answer,
                    extra=[("WWW-Authenticate", "Bearer")] if no.status == 401 else [],
                )
            return _send(
                start_response, "200 OK", self.metrics.exposition(), self.metrics.content_type
            )
        return _send(start_response, "404 Not Found", b"not found\n")

    def _is_admin(self, environ: dict) -> bool:
        """The admin listener, or the public port with the admin token."""
        try:
            self._admin_only(environ)
        except Refused:
            return False
        return True

    def _admin_only(self, environ: dict) -> None:
        """Raise :class:`Refused`: 404 on the public port without an admin token set, 401
        without the right ``Authorization: Bearer`` one."""
        if self.admin:
            return
        if not self._admin_token:
            raise Refused(404, "not_found", b"not found\n", "no admin token set")
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise Refused(401, "bad_token", b"unauthorized\n", "no bearer token")
        if not hmac.compare_digest(self._admin_token, given.strip().encode("latin-1", "replace")):
            raise Refused(401, "bad_token", b"unauthorized\n", "wrong bearer token")

    def refused(
        self, status: int, reason: str, detail: str, *, method: str, path: str, remote: str
    ) -> None:
        """Count a refusal and log it in one short line."""
        self.metrics.rejected.labels(str(status), reason).inc()
        request_log.note_outcome(f"refused: {reason}")
        log.warning(
            "refused %s %s from %s: %d %s (%s)",
            shortened(method, 10),
            shortened(path, 60),
            shortened(remote, 46),
            status,
            reason,
            detail,
        )

    # ---- POST /slack/events ------------------------------------------------------------------

    def _slack(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        raw = self._read(environ)
        self._verify(environ, raw)
        request = _bolt_request(environ, raw)
        current = request_log.current()
        if current is not None:
            current.describe_slack(request.body, request.headers, request_kind(request.body))
        try:
            response = self.app.dispatch(request)  # type: ignore[union-attr]
        except Exception:  # a bug of ours: signed by Slack, so worth its traceback
            self.metrics.rejected.labels("500", "error").inc()
            log.exception("500 error: bolt failed on a signed request to %s", EVENTS_PATH)
            request_log.note_outcome("error")
            return _send(start_response, _STATUS_LINES[500], b"internal error\n")
        if response.status >= 500:
            self.metrics.rejected.labels(str(response.status), "error").inc()
        wsgi = WsgiHttpResponse(
            status=response.status, headers=response.headers, body=response.body
        )
        start_response(wsgi.status, wsgi.get_headers())
        return wsgi.get_body()

    def _read(self, environ: dict) -> bytes:
        """The raw body, refused unread when it says it is over the limit."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise Refused(400, "malformed", b"bad request\n", "bad Content-Length") from None
        if length > self.max_body:
            raise Refused(
                413, "too_large", b"too large\n", f"Content-Length {length} > {self.max_body}"
            )
        return environ["wsgi.input"].read(length) if length > 0 else b""

    def _verify(self, environ: dict, raw: bytes) -> None:
        """Slack's v0 signature over the raw bytes, then the replay window."""
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not self._secret:
            raise Refused(401, "bad_signature", b"invalid signature\n", "no signing secret set")
        if not timestamp or not signature:
            raise Refused(401, "bad_signature", b"invalid signature\n", "not signed")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise Refused(401, "bad_signature", b"invalid signature\n", "bad timestamp")
        expected = (
            "v0="
            + hmac.new(
                self._secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(expected.encode(), signature.encode("latin-1", "replace")):
            raise Refused(401, "bad_signature", b"invalid signature\n", "wrong signature")
        age = self.clock() - int(timestamp)
        if abs(age) > REPLAY_WINDOW:
            when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s ahead"
            raise Refused(401, "stale", b"stale request\n", f"timestamp {when}")


def _bolt_request(environ: dict, raw: bytes) -> BoltRequest:
    """The request as bolt reads it; a body bolt's parser (or Slack's encodings) would not
    take is a 400, not a crash."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "malformed", b"bad request\n", "body is not UTF-8") from None
    headers = WsgiHttpRequest(environ).get_headers()
    try:
        request = BoltRequest(body=text, query=environ.get("QUERY_STRING", ""), headers=headers)
        if text and not (request.content_type == "application/json" or text.startswith("{")):
            # bolt read it as a form: Slack's have every field name=value, in UTF-8
            parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except Exception as exc:  # bad JSON, bad form encoding, a payload bolt cannot take
        raise Refused(
            400, "malformed", b"bad request\n", f"unreadable body: {type(exc).__name__}"
        ) from None
    if not isinstance(request.body, dict):
        raise Refused(400, "malformed", b"bad request\n", "body is not a JSON object")
    return request


def shortened(text: str, limit: int) -> str:
    """``text`` printable and at most ``limit`` characters, for a log line."""
    shown = "".join(ch if ch.isprintable() else "?" for ch in str(text)[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _send(
    start_response: StartResponse,
    status: str,
    body: bytes,
    content_type: str = "text/plain; charset=utf-8",
    *,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    start_response(status, headers + (extra or []))
    return [body]
