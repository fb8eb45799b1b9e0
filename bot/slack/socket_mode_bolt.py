"""Socket Mode on bolt's ``SocketModeHandler`` (the SDK's builtin client), with the same
face as :class:`bot.slack.socket_mode.SocketModeRunner`: ``FWBOT_SOCKET_CLIENT=bolt``, the
baseline ``bench/bench_socket.py`` measures fwbot's own client against. It stalls about 3 s on
every refresh and needs up to a minute to notice a dropped connection (see the bench).

* **Ready.** Slack says ``hello`` on a new connection when it is ready to send envelopes;
  the first one logs and prints ``fwbot: Socket Mode connected`` (once: a reconnection logs
  ``fwbot: Socket Mode reconnected``). :attr:`SocketModeRunner.connected` is what /readyz
  reports: a ``hello`` on the current connection, and that connection not closed since.
* **Stop** (:meth:`SocketModeRunner.stop`). No new envelope is handled (one that arrives is
  not acknowledged: Slack sends it again, to the next connection), the envelopes being
  handled are given until the deadline to be acknowledged, then the socket is closed
  without reconnecting. What was acknowledged is the work pool's to finish or hand back
  (bot/cli/serve.py), as over HTTP.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from .health import NotReady
from .socket_mode import READY_LINE

log = logging.getLogger("fwbot")


class BoltSocketModeRunner:
    def __init__(
        self, app: App, app_token: str, *, announce: Callable[[str], None] | None = None
    ) -> None:
        """``announce``: where the readiness line goes besides the log (stdout by default,
        where ``local_slack/serve_process.py`` waits for it)."""
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self.handler = SocketModeHandler(app, app_token)
        client = self.handler.client
        self.client = client
        client.socket_mode_request_listeners[:] = [self._handle]  # bolt's, counted
        client.on_message_listeners.append(self._on_message)
        # the builtin client tries to reconnect inside its close handler and calls its
        # on_close listeners only after that try: learn about the close before it
        original_on_close = client._on_close

        def on_close(code: int, reason: str | None = None) -> None:
            self._session_ok = False
            original_on_close(code, reason)

        client._on_close = on_close  # type: ignore[method-assign]
        self._announce = announce or (lambda line: print(line, flush=True))
        self._lock = threading.Lock()
        self._in_flight = 0
        self._stopping = False
        self._announced = False
        self._session_ok = False
        self.refused = 0  # envelopes that arrived while stopping (not acknowledged)

    # ---- state ---------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._session_ok and not self._stopping and self.client.is_connected()

    def check(self) -> None:
        """The /readyz check: raises NotReady("disconnected") unless connected."""
        if not self.connected:
            raise NotReady("disconnected", "the Socket Mode connection is not open")

    # ---- running -------------------------------------------------------------------------------

    def start(self) -> BoltSocketModeRunner:
        """Ask Slack for a socket URL (apps.connections.open) and connect; the client's own
        threads take it from there. Raises when Slack refuses the token or cannot be reached."""
        self.handler.connect()
        return self

    def _on_message(self, raw: str) -> None:
        if not raw.startswith("{") or '"hello"' not in raw:
            return
        try:
            kind = json.loads(raw).get("type")
        except ValueError:
            return
        if kind != "hello":
            return
        self._session_ok = True
        if not self._announced:
            self._announced = True
            log.info(READY_LINE)
            self._announce(READY_LINE)
        else:
            log.info("fwbot: Socket Mode reconnected")

    def _handle(self, client: Any, request: Any) -> None:
        with self._lock:
            if self._stopping:
                self.refused += 1  # not acknowledged: Slack sends it again
                return
            self._in_flight += 1
        try:
            self.handler.handle(client, request)  # bolt: dispatch, then the ack on the socket
        finally:
            with self._lock:
                self._in_flight -= 1

    # ---- stopping ------------------------------------------------------------------------------

    def stop(self, timeout: float) -> bool:
        """Take no new envelope, give those being handled up to ``timeout`` seconds to be
        acknowledged, close the socket (no reconnection). True when none was cut off."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._stopping = True
        client = self.client
        client.default_auto_reconnect_enabled = False
        client.auto_reconnect_enabled = False
        while True:
            with self._lock:
                busy = self._in_flight
            if not busy or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        # The client's receive loop holds a lock in recv() (a 3 s timeout) that its close()
        # waits for: shutting the socket down first wakes it, so the close is immediate.
        sock = getattr(client.current_session, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        # Its message loop waits up to 1 s on its queue: mark it closed and wake it.
        client.closed = True
        client.message_queue.put(None)
        # close() joins the client's threads (and waits for its message workers): bounded here
        closing = threading.Thread(target=client.close, name="fwbot-socket-close", daemon=True)
        closing.start()
        closing.join(max(0.1, deadline - time.monotonic()))
        if self.refused:
            log.info(
                "fwbot: stop: %d envelope(s) arrived while stopping: not acknowledged "
                "(Slack sends them again)",
                self.refused,
            )
        return busy == 0
