"""Which request a log line belongs to, and the one access line per HTTP request.

The HTTP front (:mod:`bot.slack.server`) opens a :class:`RequestLog` for each request: a
short random id, and once the request is known to come from Slack (its signature checked),
Slack's own ids: the request key the work is kept under (:func:`bot.slack.durable.request_key`:
the ``event_id``, or ``trigger:<trigger_id>``), its kind (``event:app_mention``,
``command:/align``, ``action:<action_id>``…), the team and user ids and
``X-Slack-Retry-Num``. Never a token, a secret, a ``response_url`` or what anyone wrote.

It lives in a context variable, which the pools that run a request's work carry over
(:class:`CarryContext`: bolt's listener pool and the post-ack work pool), so every line logged
while that request is handled carries its ``request_id`` and ``key``; work taken over after a
restart carries its ``key`` (:func:`working_on`). The JSON log format (``FWBOT_LOG_FORMAT=json``,
bot/cli/logs.py) writes them as fields; the text format is unchanged.

When the request is answered, :meth:`RequestLog.done` logs the access line on the
``fwbot.access`` logger at INFO: method, path, status, duration and outcome (``acked``,
``duplicate``, ``not_recorded``, ``refused: <reason>``, ``error``, ``ok``, ``not_ready``,
``not_found``). A Socket Mode envelope gets one too (:func:`envelope`: method ``SOCKET``,
path its type), with the same fields.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from typing import Any

ACCESS = logging.getLogger("fwbot.access")
FIELDS = "fwbot_fields"  # the attribute of a LogRecord holding its structured fields

_REQUEST: ContextVar[RequestLog | None] = ContextVar("fwbot_request", default=None)
_WORK_KEY: ContextVar[str | None] = ContextVar("fwbot_work_key", default=None)


def _clean(value: object, limit: int = 80) -> str:
    """``value`` printable and at most ``limit`` characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value)[:limit])
    return text


class RequestLog:
    """One HTTP request, from its arrival until its answer."""

    def __init__(self, method: str, path: str) -> None:
        self.id = secrets.token_hex(6)
        self.method = _clean(method, 10)
        self.path = _clean(path, 60)
        self.started = time.perf_counter()
        self.outcome: str | None = None
        self.slack: dict[str, Any] = {}  # Slack's ids, once the request is verified
        self.status: int | None = None  # a Socket Mode envelope's: see :func:`envelope`

    @property
    def key(self) -> str | None:
        return self.slack.get("key")

    def describe_slack(
        self, body: Mapping[str, Any], headers: Mapping[str, Any], kind: str
    ) -> None:
        """Note Slack's ids of a verified request (``body`` parsed, ``headers`` bolt's)."""
        fields: dict[str, Any] = {"kind": _clean(kind)}
        if body.get("type") == "event_callback" and body.get("event_id"):
            fields["key"] = _clean(body["event_id"])
        elif body.get("trigger_id"):
            fields["key"] = "trigger:" + _clean(body["trigger_id"])
        team = body.get("team_id") or _id_of(body.get("team"))
        user = body.get("user_id") or _id_of(body.get("user"))
        event = body.get("event")
        if not user and isinstance(event, Mapping):
            user = event.get("user") if isinstance(event.get("user"), str) else None
        if team:
            fields["team"] = _clean(team, 20)
        if user:
            fields["user"] = _clean(user, 20)
        retry = _header(headers, "x-slack-retry-num")
        if retry is not None:
            fields["retry"] = int(retry) if retry.isdigit() else _clean(retry, 10)
            reason = _header(headers, "x-slack-retry-reason")
            if reason:
                fields["retry_reason"] = _clean(reason, 30)
        self.slack = fields

    def done(self, status: int | None) -> None:
        """Log the access line."""
        ms = round((time.perf_counter() - self.started) * 1000, 1)
        outcome = self.outcome or _outcome(status, slack=bool(self.slack))
        fields = {
            "request_id": self.id,
            "method": self.method,
            "path": self.path,
            "status": status,
            "duration_ms": ms,
            "outcome": outcome,
            **self.slack,
        }
        kind = f" {self.slack['kind']}" if "kind" in self.slack else ""
        ACCESS.info(
            "%s %s %s %.1f ms%s %s",
            self.method,
            self.path,
            status if status is not None else "-",
            ms,
            kind,
            outcome,
            extra={FIELDS: fields},
        )


def _id_of(value: object) -> str | None:
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return str(value) if value is not None else None


def _outcome(status: int | None, *, slack: bool) -> str:
    if status is None:
        return "error"
    if status < 300:
        return "acked" if slack else "ok"
    return {404: "not_found", 503: "not_ready"}.get(status, "error" if status >= 500 else "bad")


@contextmanager
def request(method: str, path: str) -> Iterator[RequestLog]:
    """The request being handled in this context (and in the work it hands over)."""
    log = RequestLog(method, path)
    token = _REQUEST.set(log)
    try:
        yield log
    finally:
        _REQUEST.reset(token)


def logged(app: Callable[[dict, Callable[..., Any]], Any], environ: dict, start_response) -> Any:
    """WSGI ``app(environ, start_response)``, in a :func:`request` whose access line is logged
    with the status ``app`` answered."""
    status: list[int] = []

    def answer(line: str, headers: list, *exc_info: Any) -> Any:
        status.append(int(line.split(" ", 1)[0]))
        return start_response(line, headers, *exc_info)

    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    with request(method, path) as log:
        try:
            return app(environ, answer)
        finally:
            log.done(status[-1] if status else None)


@contextmanager
def envelope(envelope: Mapping[str, Any], kind: Callable[[dict], str]) -> Iterator[RequestLog]:
    """A Socket Mode envelope handled as a request: its access line (method ``SOCKET``, path
    the envelope's type, ``status`` the app's answer: set :attr:`RequestLog.status`) is
    logged when the block ends. ``kind``: the request's kind from its payload."""
    with request("SOCKET", str(envelope.get("type") or "?")) as log:
        payload = envelope.get("payload")
        if isinstance(payload, dict):
            attempt = envelope.get("retry_attempt")
            headers = {}
            if isinstance(attempt, int) and attempt > 0:
                headers = {
                    "x-slack-retry-num": str(attempt),
                    "x-slack-retry-reason": str(envelope.get("retry_reason") or ""),
                }
            log.describe_slack(payload, headers, kind(payload))
        try:
            yield log
        finally:
            log.done(log.status)


def current() -> RequestLog | None:
    return _REQUEST.get()


def note_outcome(outcome: str) -> None:
    """Say how the current request ended (``duplicate``), if one is being handled."""
    log = _REQUEST.get()
    if log is not None:
        log.outcome = outcome


@contextmanager
def working_on(key: str) -> Iterator[None]:
    """The work of the request kept under ``key`` runs here (a recovered one too)."""
    token = _WORK_KEY.set(key or None)
    try:
        yield
    finally:
        _WORK_KEY.reset(token)


def context_fields() -> dict[str, Any]:
    """The fields every log line made in this context carries: ``request_id``, ``key``."""
    fields: dict[str, Any] = {}
    log = _REQUEST.get()
    if log is not None:
        fields["request_id"] = log.id
        if log.key:
            fields["key"] = log.key
    key = _WORK_KEY.get()
    if key and "key" not in fields:
        fields["key"] = key
    return fields


class CarryContext(Executor):
    """``inner``, whose jobs run in the context they were submitted from (the request's)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self.inner.submit(copy_context().run, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)
