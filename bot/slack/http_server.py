"""The HTTP server under :class:`~bot.slack.server.SlackWSGI`: waitress with a pool of threads,
its loop in a thread of its own, a graceful stop (stop accepting, answer what was received,
then close), and waitress's own refusals (a body over the limit, malformed HTTP) counted and
logged like the app's."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from . import request_log
from .server import SERVER_THREADS, SlackWSGI, shortened


def _refusing_channel(wsgi: SlackWSGI) -> type:
    """waitress's connection class, whose own refusals (a body over the limit, a malformed
    HTTP request) are counted and logged like the app's."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    class RefusalTask(ErrorTask):
        def execute(self) -> None:
            super().execute()
            error: Any = getattr(self.request, "error", None)
            code = int(getattr(error, "code", 400))
            detail = (
                f"body over {wsgi.max_body} bytes"
                if code == 413
                else f"waitress: {shortened(getattr(error, 'body', ''), 60)}"
            )
            addr = self.channel.addr
            method, path = getattr(self.request, "command", "?"), getattr(self.request, "path", "?")
            with contextlib.suppress(Exception), request_log.request(method, path) as req:
                wsgi.refused(  # waitress: an error task must not fail
                    code,
                    {413: "too_large", 500: "error"}.get(code, "bad_http"),
                    detail,
                    method=method,
                    path=path,
                    remote=addr[0] if isinstance(addr, tuple) and addr else "?",
                )
                req.done(code)

    class RefusingChannel(HTTPChannel):
        error_task_class = RefusalTask

    return RefusingChannel


class HTTPServer:
    """waitress on ``host:port`` (port 0: any free port, see :attr:`port`), its loop in a
    thread of its own (:meth:`start`); :meth:`stop` ends it gracefully from another thread."""

    def __init__(
        self, wsgi: SlackWSGI, *, host: str = "0.0.0.0", port: int = 3000, name: str = "fwbot-http"
    ) -> None:
        from waitress.server import create_server

        sockets: dict[int, Any] = {}
        # waitress refuses a body of max_request_body_size bytes or more, unread
        self._server = create_server(
            wsgi,
            map=sockets,
            host=host,
            port=port,
            threads=SERVER_THREADS,
            ident="fwbot",
            clear_untrusted_proxy_headers=True,
            max_request_body_size=wsgi.max_body + 1,
        )
        channel = _refusing_channel(wsgi)
        self._listeners = [d for d in sockets.values() if hasattr(d, "channel_class")]
        for listener in self._listeners:  # one per listening socket
            listener.channel_class = channel
        self._map = sockets
        self._dispatcher = self._server.task_dispatcher
        self.port = int(self._server.effective_port)  # type: ignore[union-attr]
        self.host = host
        self.name = name
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self._server.run()

    def start(self) -> HTTPServer:
        self._thread = threading.Thread(target=self.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Whether the loop started by :meth:`start` is still going."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop accepting connections, give the requests already received up to ``timeout``
        seconds to be answered, then close every connection and end the loop. True when no
        request was cut off."""
        deadline = time.monotonic() + timeout
        self._in_loop(self._close_listeners)
        while self._in_flight() and time.monotonic() < deadline:
            time.sleep(0.02)
        answered = not self._in_flight()
        from waitress import wasyncore

        self._in_loop(lambda: wasyncore.close_all(self._map))  # an empty map ends the loop
        if self._thread is not None:
            self._thread.join(max(0.2, deadline - time.monotonic()))
        # idle worker threads leave at once; a busy one is waited for until the deadline
        self._dispatcher.shutdown(
            cancel_pending=True, timeout=max(1, round(deadline - time.monotonic()))
        )
        return answered

    def _in_loop(self, thunk: Callable[[], object]) -> None:
        """Run ``thunk`` in waitress's loop thread (its socket map is not thread-safe), or here
        when the loop does not run."""
        if self.running and self._listeners:
            self._listeners[0].trigger.pull_trigger(thunk)
        else:
            thunk()

    def _close_listeners(self) -> None:
        from waitress import wasyncore

        for listener in self._listeners:
            if listener.accepting:  # its own close() would close the trigger that wakes the loop
                listener.accepting = False
                wasyncore.dispatcher.close(listener)

    def _in_flight(self) -> bool:
        """A request received (or being received) and not answered yet, in full."""
        if self._dispatcher.queue or self._dispatcher.active_count:
            return True
        for conn in list(self._map.values()):
            if conn in self._listeners:
                continue
            if (
                getattr(conn, "requests", None)
                or getattr(conn, "request", None) is not None
                or getattr(conn, "total_outbufs_len", 0)
            ):
                return True
        return False
