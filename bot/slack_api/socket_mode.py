"""Socket Mode: Slack's WebSocket link to the app, held so that a refresh, a close or a dropped
connection costs no request.

slack_sdk's builtin client stalls about 3 s on every refresh (its one message thread replaces
the connection and waits for the old reader's 3 s ``recv``), reconnects after a close only at
its next 10 s check, and needs about a minute, spinning, to notice a dead TCP connection
(``bench/bench_socket.py`` measures it beside this one). This client, on the ``websockets``
package's threaded client:

* **Refresh**: on Slack's ``disconnect`` (``warning``, ``refresh_requested``) a second
  connection is opened at once while the first keeps serving what it is sent; when the new one
  says ``hello``, the old one is closed. No envelope waits for the swap.
* **Close or error**: the connection's reader sees it at once and opens a new one at once
  (then after 1, 2, 4 … 30 s while Slack cannot be reached).
* **Silent drop**: a ping every ``ping_interval`` seconds, and a connection whose pong does not
  come within ``ping_timeout`` is closed and replaced: back within about their sum, with no
  busy loop (the reader blocks on its socket).
* **Envelopes** are handled on a small pool (``handle(envelope)`` returns the ack's payload)
  and acknowledged on the connection they came on, or on another open one if that closed.
  After :meth:`SocketModeLink.stop` none is taken: Slack sends it again, elsewhere.

``connected`` is true while a connection that said ``hello`` is open: what /readyz reports.
Nothing here knows bolt: :mod:`bot.slack.socket_mode` hands the envelopes to the app.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

log = logging.getLogger("fwbot.socket_mode")

Envelope = dict[str, Any]
# An envelope in, its ack's payload out ({}: an ack without payload; None: no ack, so Slack
# sends an event again).
Handle = Callable[[Envelope], dict[str, Any] | None]
MAX_BACKOFF = 30.0


class _Link:
    """One WebSocket connection and what the client knows of it."""

    def __init__(self, number: int, conn: ClientConnection) -> None:
        self.number, self.conn = number, conn
        self.greeted = threading.Event()  # Slack said hello
        self.retiring = False  # Slack said disconnect: a replacement is on its way
        self.replaced = False  # a replacement was started for it

    @property
    def open(self) -> bool:
        return self.conn.close_code is None


class SocketModeLink:
    """See the module docstring. ``open_url()`` asks Slack for a socket URL
    (``apps.connections.open``); ``on_hello(first)`` is called on each ``hello`` (``first``:
    the first since start)."""

    def __init__(
        self,
        open_url: Callable[[], str],
        handle: Handle,
        *,
        ping_interval: float = 5.0,
        ping_timeout: float = 5.0,
        open_timeout: float = 10.0,
        workers: int = 8,
        on_hello: Callable[[bool], None] = lambda first: None,
    ) -> None:
        self._open_url, self._handle, self._on_hello = open_url, handle, on_hello
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.open_timeout = open_timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fwbot-socket")
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._numbers = 0
        self._greeted_once = False
        self._stopping = threading.Event()
        self._wake = threading.Event()  # cuts a reconnection back-off short (stop)
        self.reconnections = 0
        self.refused = 0  # envelopes that arrived while stopping

    # ---- state ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        with self._lock:
            return any(link.open and link.greeted.is_set() for link in self._links)

    def wait_connected(self, timeout: float) -> bool:
        """True once a connection said hello within ``timeout`` seconds."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set() and not self._stopping.is_set():
                if self.connected:
                    return True
                deadline.wait(0.01)
            return self.connected
        finally:
            timer.cancel()

    # ---- running ----------------------------------------------------------------------------

    def start(self) -> None:
        """Connect (raises when Slack refuses or cannot be reached: the first connection is the
        caller's to report), then keep a connection open in the background until :meth:`stop`."""
        link = self._connect()
        self._spawn(link)

    def _connect(self) -> _Link:
        url = self._open_url()
        host = urlsplit(url).hostname or ""
        conn = connect(
            url,
            open_timeout=self.open_timeout,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            close_timeout=1.0,
            max_size=None,
            compression=None,
            proxy=None if _loopback(host) else True,
        )
        with self._lock:
            self._numbers += 1
            link = _Link(self._numbers, conn)
            self._links.append(link)
        return link

    def _spawn(self, link: _Link) -> None:
        threading.Thread(
            target=self._serve, args=(link,), name=f"fwbot-socket-{link.number}", daemon=True
        ).start()

    def _replace(self, old: _Link | None) -> None:
        """Open a new connection (in the background), retrying with back-off until it opens or
        the link stops."""

        def run() -> None:
            delay = 0.0
            while not self._stopping.is_set():
                if delay:
                    self._wake.wait(delay)
                    if self._stopping.is_set():
                        return
                try:
                    link = self._connect()
                except Exception as exc:  # Slack unreachable, the token refused, a timeout
                    delay = min(MAX_BACKOFF, max(1.0, delay * 2))
                    log.warning(
                        "Socket Mode: cannot reconnect (%s: %s); trying again in %.0f s",
                        type(exc).__name__,
                        _short(exc),
                        delay,
                    )
                    continue
                self.reconnections += 1
                self._spawn(link)
                return

        with self._lock:
            if old is not None:
                if old.replaced:
                    return
                old.replaced = True
        threading.Thread(target=run, name="fwbot-socket-connect", daemon=True).start()

    def _serve(self, link: _Link) -> None:
        """Read ``link`` until it closes; replace it unless it was replaced already."""
        try:
            for raw in link.conn:
                self._receive(link, raw)
        except (ConnectionClosed, WebSocketException, OSError) as exc:
            if not self._stopping.is_set():
                log.info("Socket Mode: connection %d closed (%s)", link.number, _short(exc))
        else:
            if not self._stopping.is_set():
                log.info(
                    "Socket Mode: connection %d closed by Slack (%s)",
                    link.number,
                    link.conn.close_code,
                )
        finally:
            with self._lock:
                if link in self._links:
                    self._links.remove(link)
        if not self._stopping.is_set():
            self._replace(link)

    def _receive(self, link: _Link, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("Socket Mode: a message that is not JSON was ignored")
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "hello":
            link.greeted.set()
            first = not self._greeted_once
            self._greeted_once = True
            self._retire_others(link)
            self._on_hello(first)
        elif kind == "disconnect":
            reason = message.get("reason")
            log.info("Socket Mode: Slack asks connection %d to go (%s)", link.number, reason)
            if reason == "link_disabled":
                log.error(
                    "Socket Mode: Slack disabled this app's Socket Mode connection "
                    "(link_disabled): check the app's settings"
                )
            link.retiring = True
            self._replace(link)  # the old one serves until the new one says hello
        elif message.get("envelope_id"):
            if self._stopping.is_set():
                self.refused += 1  # not acknowledged: Slack sends it again, elsewhere
                return
            self._pool.submit(self._answer, link, message)

    def _retire_others(self, greeted: _Link) -> None:
        """Close the connections Slack asked to go, now that ``greeted`` serves."""
        with self._lock:
            old = [link for link in self._links if link is not greeted and link.retiring]
        for link in old:
            with contextlib.suppress(Exception):
                link.conn.close(1000, "replaced")

    def _answer(self, link: _Link, envelope: Envelope) -> None:
        try:
            payload = self._handle(envelope)
        except Exception:
            log.exception("Socket Mode: an envelope's handler failed")
            return  # no ack: Slack sends an event again
        if payload is None:
            return
        ack: dict[str, Any] = {"envelope_id": envelope["envelope_id"]}
        if payload:
            ack["payload"] = payload
        text = json.dumps(ack)
        for target in self._ack_targets(link):
            try:
                target.conn.send(text)
                return
            except (ConnectionClosed, WebSocketException, OSError):
                continue
        log.warning("Socket Mode: an ack could not be sent (no open connection)")

    def _ack_targets(self, link: _Link) -> list[_Link]:
        with self._lock:
            others = [other for other in self._links if other is not link and other.open]
        return [link, *others]

    # ---- stopping ---------------------------------------------------------------------------

    def stop(self, timeout: float) -> bool:
        """Take no new envelope, give those being handled up to ``timeout`` seconds to be
        acknowledged, then close every connection (no reconnection). True when none was cut
        off."""
        self._stopping.set()
        self._wake.set()
        drained = threading.Event()

        def drain() -> None:
            self._pool.shutdown(wait=True)
            drained.set()

        threading.Thread(target=drain, name="fwbot-socket-drain", daemon=True).start()
        finished = drained.wait(timeout)
        with self._lock:
            links = list(self._links)
        for link in links:
            with contextlib.suppress(Exception):
                link.conn.close(1000, "stopping")
        return finished


def socket_url(client: WebClient, app_token: str) -> str:
    """A WebSocket URL for a new connection (``apps.connections.open`` with the app-level
    token, ``xapp-…``)."""
    return str(client.apps_connections_open(app_token=app_token)["url"])


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:120] if text else type(exc).__name__
