"""The HTTP front: Slack at ``POST /slack/events``, ``GET /healthz``, ``GET /metrics``.

A WSGI app served by waitress with a pool of threads: a request never waits for another's
listener, and bolt sends each ack as soon as the listener calls ``ack()`` while the work
goes on in bolt's own listener pool. In Socket Mode the same server answers health and
metrics only.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from .metrics import Metrics

log = logging.getLogger("fwbot.slack")
EVENTS_PATH = "/slack/events"
SERVER_THREADS = 16
MAX_BODY_BYTES = 1_000_000  # Slack's payloads are far smaller; bigger ones are refused

Health = Callable[[], dict[str, Any]]
StartResponse = Callable[..., Any]


class SlackWSGI:
    def __init__(self, app: App | None, metrics: Metrics, health: Health) -> None:
        self.slack = SlackRequestHandler(app, path=EVENTS_PATH) if app is not None else None
        self.metrics = metrics
        self.health = health

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH and method == "POST" and self.slack is not None:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_BODY_BYTES:
                return _send(start_response, "413 Payload Too Large", b"too large\n")
            return self.slack(environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            try:
                body, status = self.health(), "200 OK"
            except Exception as exc:  # a failing dependency: unhealthy, and say which
                log.warning("health check failed: %s", exc)
                body, status = {"ok": False, "error": str(exc)[:300]}, "503 Service Unavailable"
            return _send(start_response, status, json.dumps(body).encode(), "application/json")
        if path == "/metrics" and method == "GET":
            return _send(start_response, "200 OK", self.metrics.exposition(),
                         self.metrics.content_type)
        return _send(start_response, "404 Not Found", b"not found\n")


def _send(start_response: StartResponse, status: str, body: bytes,
          content_type: str = "text/plain; charset=utf-8") -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


class HTTPServer:
    """waitress on ``host:port`` (port 0: any free port, see :attr:`port`)."""

    def __init__(self, wsgi: SlackWSGI, *, host: str = "0.0.0.0", port: int = 3000) -> None:
        from waitress.server import create_server

        self._server = create_server(wsgi, host=host, port=port, threads=SERVER_THREADS,
                                     ident="fwbot", clear_untrusted_proxy_headers=True)
        self.port = int(self._server.effective_port)  # type: ignore[union-attr]
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self._server.run()

    def start(self) -> HTTPServer:
        self._thread = threading.Thread(target=self.serve_forever, name="fwbot-http",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.close()
