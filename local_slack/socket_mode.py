"""A fake Slack Socket Mode server on loopback, for tests and benchmarks.

:class:`SocketModeServer` is a WebSocket server (the ``websockets`` package's asyncio server,
in a daemon thread) that behaves like Slack's Socket Mode endpoint:

* a connection needs a ticket issued by ``apps.connections.open`` (:meth:`open_connection`,
  served on the fake Web API by :class:`SocketModeSlackAPI`); on connect it is sent
  ``{"type": "hello", "num_connections": N, ...}``;
* :meth:`deliver_event`, :meth:`deliver_command`, :meth:`deliver_interaction` (or
  :meth:`deliver_request` with a :class:`~local_slack.signed.SignedRequest` built by
  :class:`~local_slack.signed.SlackRequests`, so envelopes carry the bodies the HTTP tests
  send) wrap a body in an envelope and send it to one open connection, round robin (never to
  one that was sent a ``disconnect``); with no connection open, envelopes wait for one;
* every ack (``{"envelope_id": ..., "payload": ...}``) is recorded with its latency, from
  the delivery being asked for; :meth:`wait_for_ack` waits for one;
* an ``events_api`` envelope not acked within ``ack_timeout`` (3 s, like Slack) is delivered
  again with ``retry_attempt + 1`` and ``retry_reason: "timeout"`` under a new envelope id, at
  most ``max_retries`` times; a command or interaction not acked in time is recorded in
  :meth:`failures` (the user saw an error);
* faults: :meth:`refresh` / :meth:`disconnect` send ``{"type": "disconnect", "reason": ...}``
  and close that connection ``close_after`` seconds later; :meth:`close` closes with a code
  (1001 by default); :meth:`drop` ends the TCP connection without a close frame (``"fin"``
  or ``"rst"``) or stops reading and writing on it while keeping it open (``"silent"``: no
  pong, no ack read: only the client's ping timeout can notice).

Nothing leaves 127.0.0.1. Times are ``time.monotonic()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import itertools
import json
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

from local_slack.messages import error
from local_slack.signed import JSON_TYPE, SignedRequest
from local_slack.web_api import DEFAULT_TOKEN, Answer, FakeSlackAPI, _json

DEFAULT_APP_TOKEN = "xapp-1-A0001-1-test"
DEFAULT_APP_ID = "A0001"
ACK_TIMEOUT = 3.0  # seconds: Slack's ack deadline
MAX_RETRIES = 3  # Slack redelivers an unacked events_api envelope at most this many times
CLOSE_AFTER = 2.0  # seconds between a disconnect message and the close of that connection
EnvelopeType = Literal["events_api", "slash_commands", "interactive"]
DropHow = Literal["silent", "fin", "rst"]


@dataclass(frozen=True)
class Link:
    """One WebSocket connection, as the server saw it (a snapshot)."""

    id: int
    opened_at: float
    hello_at: float | None = None
    closed_at: float | None = None
    close_code: int | None = None  # as websockets saw the end (1006: no close frame back)
    close_sent: int | None = None  # the code of the close frame the server sent, if any
    disconnect_reason: str | None = None  # the disconnect message sent on it, if any
    dropped: str | None = None  # how the server dropped it, if it did
    delivered: int = 0  # envelopes sent on it

    @property
    def open(self) -> bool:
        return self.closed_at is None and self.dropped is None

    @property
    def live(self) -> bool:
        """Open, greeted, and not told to go away: envelopes are sent to it."""
        return self.open and self.hello_at is not None and self.disconnect_reason is None


@dataclass(frozen=True)
class Envelope:
    """One delivery attempt (a snapshot)."""

    envelope_id: str
    type: EnvelopeType
    payload: dict[str, Any]
    accepts_response_payload: bool
    retry_attempt: int
    retry_reason: str
    created_at: float  # when the delivery was asked for (latencies count from here)
    first_id: str  # the envelope id of the first attempt (itself for a first attempt)
    sent_at: float | None = None
    link_id: int | None = None
    acked_at: float | None = None
    ack_payload: dict[str, Any] | None = None
    ack_link_id: int | None = None
    acks: int = 0  # how many acks came for it (more than 1: acked twice)
    failed: bool = False  # a command or interaction not acked within the ack timeout

    @property
    def latency(self) -> float | None:
        """Seconds from the delivery being asked for to its (first) ack."""
        return None if self.acked_at is None else self.acked_at - self.created_at

    def message(self) -> dict[str, Any]:
        return {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
            "retry_attempt": self.retry_attempt,
            "retry_reason": self.retry_reason,
        }


@dataclass
class _Conn:
    link: Link
    ws: Any  # websockets.asyncio.server.ServerConnection
    close_task: asyncio.Handle | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


class SocketModeServer:
    """The fake Socket Mode endpoint; see the module docstring. ``start()`` / ``stop()`` or
    ``with``. ``ack_timeout``, ``max_retries`` and ``close_after`` default to Slack's
    behaviour (3 s, 3 redeliveries, a couple of seconds)."""

    def __init__(
        self,
        *,
        app_tokens: Iterable[str] = (DEFAULT_APP_TOKEN,),
        app_id: str = DEFAULT_APP_ID,
        ack_timeout: float = ACK_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        close_after: float = CLOSE_AFTER,
    ) -> None:
        self.app_tokens = set(app_tokens)
        self.app_id = app_id
        self.ack_timeout = ack_timeout
        self.max_retries = max_retries
        self.close_after = close_after
        self._changed = threading.Condition()
        self._tickets: set[str] = set()
        self._conns: dict[int, _Conn] = {}
        self._links: dict[int, Link] = {}
        self._envelopes: dict[str, Envelope] = {}
        self._waiting: list[str] = []  # envelope ids with no live connection to go to
        self._armed: set[str] = set()  # envelope ids whose ack deadline is set
        self._stray: list[dict[str, Any]] = []  # messages that ack nothing known
        self._ids = itertools.count(1)
        self._turn = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._port: int | None = None

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Binds 127.0.0.1 on an ephemeral port and serves from a daemon thread."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        problem: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # reported to start()
                problem.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-socket-mode", daemon=True)
        self._thread.start()
        ready.wait(10)
        if problem:
            raise RuntimeError("the fake Socket Mode server did not start") from problem[0]
        return self

    async def _listen(self) -> None:
        from websockets.asyncio.server import serve

        # No server pings: the clients ping (a server ping would also end a "silent" drop).
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            ping_interval=None,
            close_timeout=2,
            compression=None,
        )
        self._port = int(next(iter(self._server.sockets)).getsockname()[1])

    def stop(self) -> None:
        """Drops every connection and stops serving."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shut() -> None:
            for conn in list(self._conns.values()):
                transport = getattr(conn.ws, "transport", None)
                if transport is not None:
                    transport.abort()
            if self._server is not None:
                self._server.close(close_connections=False)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._server.wait_closed(), 5)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shut(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = self._server = None

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
        if self._port is None:
            raise RuntimeError("SocketModeServer is not started")
        return self._port

    # ---- apps.connections.open ---------------------------------------------------------

    def open_connection(self, token: str | None) -> dict[str, Any]:
        """What ``apps.connections.open`` answers for ``token``: a one-use WebSocket URL, or
        Slack's error for a missing, non-app or unknown token."""
        if not token:
            return error("not_authed")
        if not token.startswith("xapp-"):
            return error("not_allowed_token_type")
        if token not in self.app_tokens:
            return error("invalid_auth")
        ticket = secrets.token_hex(16)
        with self._changed:
            self._tickets.add(ticket)
        return {
            "ok": True,
            "url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}",
        }

    def _check_ticket(self, connection: Any, request: Any) -> Any:
        parts = urlsplit(request.path)
        ticket = (parse_qs(parts.query).get("ticket") or [""])[0]
        with self._changed:
            known = parts.path.rstrip("/") == "/link" and ticket in self._tickets
            self._tickets.discard(ticket)
        if not known:
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")
        return None

    # ---- connections -------------------------------------------------------------------

    async def _handle(self, ws: Any) -> None:
        now = time.monotonic()
        with self._changed:
            link = Link(id=next(self._ids), opened_at=now)
            conn = _Conn(link, ws)
            self._conns[link.id] = conn
            self._links[link.id] = link
            live = sum(1 for c in self._conns.values() if c.link.live) + 1
        hello = {
            "type": "hello",
            "num_connections": live,
            "debug_info": {
                "host": "applink-fake",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        try:
            await ws.send(json.dumps(hello))
            with self._changed:
                self._update(conn, hello_at=time.monotonic())
                waiting, self._waiting = self._waiting, []
            for envelope_id in waiting:
                self._route(envelope_id)
            async for message in ws:
                self._received(conn, message)
        except Exception:  # ConnectionClosed and transport errors: the link is over
            pass
        finally:
            with self._changed:
                code = getattr(ws, "close_code", None)
                if conn.link.closed_at is None:
                    self._update(conn, closed_at=time.monotonic(), close_code=code)
                if conn.close_task is not None:
                    conn.close_task.cancel()
                self._conns.pop(conn.link.id, None)

    def _update(self, conn: _Conn, **changes: Any) -> None:
        """Replace a link's snapshot (the lock is held)."""
        conn.link = replace(conn.link, **changes)
        self._links[conn.link.id] = conn.link
        self._changed.notify_all()

    def connections(self, *, live_only: bool = False) -> list[Link]:
        """Every connection seen so far (or only the live ones), oldest first."""
        with self._changed:
            links = sorted(self._links.values(), key=lambda link: link.id)
        return [link for link in links if link.live] if live_only else links

    def wait_connected(self, n: int = 1, timeout: float = 10.0, *, after: int = 0) -> list[Link]:
        """Blocks until ``n`` live connections (greeted, not told to go away) with an id above
        ``after`` exist; returns them. AssertionError after ``timeout`` seconds."""

        def live() -> list[Link]:
            return [link for link in self._links.values() if link.live and link.id > after]

        with self._changed:
            if not self._changed.wait_for(lambda: len(live()) >= n, timeout):
                raise AssertionError(
                    f"{len(live())} live connection(s) after {timeout} s, {n} expected; "
                    f"seen: {sorted(self._links.values(), key=lambda link: link.id)}"
                )
            return sorted(live(), key=lambda link: link.id)

    def wait_closed(self, link_id: int, timeout: float = 10.0) -> Link:
        """Blocks until connection ``link_id`` is closed (by either side); returns it."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: self._links[link_id].closed_at is not None, timeout
            ):
                raise AssertionError(f"connection {link_id} still open after {timeout} s")
            return self._links[link_id]

    def _targets(self, link_id: int | None) -> list[_Conn]:
        with self._changed:
            if link_id is not None:
                conn = self._conns.get(link_id)
                return [conn] if conn is not None and conn.link.open else []
            return [c for c in self._conns.values() if c.link.open]

    # ---- faults ------------------------------------------------------------------------

    def disconnect(
        self,
        reason: str = "refresh_requested",
        *,
        link_id: int | None = None,
        close_after: float | None = None,
    ) -> list[int]:
        """Sends ``{"type": "disconnect", "reason": reason}`` on connection ``link_id`` (None:
        every open one), sends it no more envelopes, and closes it (code 1000) ``close_after``
        seconds later unless the client did first. Returns the ids of the links told."""
        delay = self.close_after if close_after is None else close_after
        message = json.dumps(
            {
                "type": "disconnect",
                "reason": reason,
                "debug_info": {"host": "applink-fake"},
            }
        )
        told = []
        for conn in self._targets(link_id):
            with self._changed:
                if conn.link.disconnect_reason is not None:
                    continue
                self._update(conn, disconnect_reason=reason)
            told.append(conn.link.id)
            self._call(self._send_then_close, conn, message, delay)
        return told

    def refresh(self, *, link_id: int | None = None, close_after: float | None = None) -> list[int]:
        """A ``refresh_requested`` disconnect (Slack's every few hours)."""
        return self.disconnect("refresh_requested", link_id=link_id, close_after=close_after)

    def close(self, code: int = 1001, reason: str = "", *, link_id: int | None = None) -> list[int]:
        """Closes connection ``link_id`` (None: every open one) with a close frame ``code``."""
        closed = []
        for conn in self._targets(link_id):
            with self._changed:
                self._update(conn, disconnect_reason=conn.link.disconnect_reason or f"close {code}")
            closed.append(conn.link.id)
            self._call(self._close, conn, code, reason)
        return closed

    def drop(self, how: DropHow = "silent", *, link_id: int | None = None) -> list[int]:
        """Drops connection ``link_id`` (None: every open one) without a close frame:
        ``"fin"`` closes the socket, ``"rst"`` resets it, ``"silent"`` keeps it open but
        stops reading (no pong, no ack) and sending on it. Its envelopes go elsewhere."""
        dropped = []
        for conn in self._targets(link_id):
            with self._changed:
                self._update(conn, dropped=how)
            dropped.append(conn.link.id)
            self._call(self._drop, conn, how)
        return dropped

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            raise RuntimeError("SocketModeServer is not started")
        loop.call_soon_threadsafe(fn, *args)

    def _send_then_close(self, conn: _Conn, message: str, delay: float) -> None:
        self._spawn(conn, conn.ws.send(message))
        loop = asyncio.get_running_loop()
        conn.close_task = loop.call_later(delay, self._close, conn, 1000, "")

    def _close(self, conn: _Conn, code: int, reason: str) -> None:
        if conn.link.dropped is None and conn.link.closed_at is None:
            with self._changed:
                self._update(conn, close_sent=code)
            self._spawn(conn, conn.ws.close(code, reason))

    def _drop(self, conn: _Conn, how: DropHow) -> None:
        transport = conn.ws.transport
        if how == "silent":
            transport.pause_reading()
            return
        if how == "rst":
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    def _spawn(self, conn: _Conn, coro: Any) -> None:
        async def guarded() -> None:
            with contextlib.suppress(Exception):
                await coro

        task = asyncio.get_running_loop().create_task(guarded())
        conn.tasks.add(task)
        task.add_done_callback(conn.tasks.discard)

    # ---- envelopes ---------------------------------------------------------------------

    def deliver(
        self,
        type: EnvelopeType,
        payload: Mapping[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        first_id: str | None = None,
        created_at: float | None = None,
    ) -> str:
        """Sends ``payload`` in an envelope of ``type`` to a live connection (or the next one
        to open); returns its envelope id."""
        if accepts_response_payload is None:
            accepts_response_payload = type == "slash_commands" or (
                type == "interactive"
                and payload.get("type") in ("view_submission", "block_suggestion")
            )
        envelope_id = secrets.token_hex(4) + "-" + secrets.token_hex(8)
        envelope = Envelope(
            envelope_id=envelope_id,
            type=type,
            payload=dict(payload),
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            created_at=time.monotonic() if created_at is None else created_at,
            first_id=first_id or envelope_id,
        )
        with self._changed:
            self._envelopes[envelope_id] = envelope
        self._call(self._route, envelope_id)
        return envelope_id

    def deliver_event(
        self, body: Mapping[str, Any], *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """An ``events_api`` envelope around an ``event_callback`` body."""
        return self.deliver(
            "events_api", body, retry_attempt=retry_attempt, retry_reason=retry_reason
        )

    def deliver_command(self, fields: Mapping[str, Any]) -> str:
        """A ``slash_commands`` envelope (``fields``: the form fields Slack would POST)."""
        return self.deliver("slash_commands", fields)

    def deliver_interaction(self, payload: Mapping[str, Any]) -> str:
        """An ``interactive`` envelope (block actions, view submissions, shortcuts...)."""
        return self.deliver("interactive", payload)

    def deliver_request(
        self, req: SignedRequest, *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """The body of a request built for the HTTP endpoint, in the envelope Socket Mode
        uses for it: JSON events, form-encoded commands, ``payload=`` interactions."""
        body = req.parsed()
        if req.content_type.startswith(JSON_TYPE):
            return self.deliver_event(body, retry_attempt=retry_attempt, retry_reason=retry_reason)
        if "command" in body and "response_url" in body and "type" not in body:
            return self.deliver_command(body)
        return self.deliver_interaction(body)

    def _route(self, envelope_id: str) -> None:
        """Send an envelope to the next live connection (in the loop's thread)."""
        with self._changed:
            envelope = self._envelopes[envelope_id]
            live = sorted((c for c in self._conns.values() if c.link.live), key=lambda c: c.link.id)
            if not live:
                self._waiting.append(envelope_id)
                conn = None
            else:
                self._turn += 1
                conn = live[self._turn % len(live)]
                self._envelopes[envelope_id] = replace(
                    envelope, sent_at=time.monotonic(), link_id=conn.link.id
                )
                self._update(conn, delivered=conn.link.delivered + 1)
        if conn is not None:
            self._spawn(conn, conn.ws.send(json.dumps(envelope.message())))
        self._arm(envelope_id)

    def _arm(self, envelope_id: str) -> None:
        """The ack deadline of an envelope, counted from its creation (once per envelope)."""
        with self._changed:
            if envelope_id in self._armed:
                return
            self._armed.add(envelope_id)
            envelope = self._envelopes[envelope_id]
        left = max(0.0, envelope.created_at + self.ack_timeout - time.monotonic())
        asyncio.get_running_loop().call_later(left, self._deadline, envelope_id)

    def _deadline(self, envelope_id: str) -> None:
        with self._changed:
            envelope = self._envelopes[envelope_id]
            if envelope.acked_at is not None:
                return
            if envelope.type != "events_api":
                self._envelopes[envelope_id] = replace(envelope, failed=True)
                self._changed.notify_all()
                return
            if envelope.retry_attempt >= self.max_retries:
                return
        self.deliver(
            "events_api",
            envelope.payload,
            retry_attempt=envelope.retry_attempt + 1,
            retry_reason="timeout",
            first_id=envelope.first_id,
        )

    def _received(self, conn: _Conn, raw: str | bytes) -> None:
        now = time.monotonic()
        try:
            message = json.loads(raw)
        except (TypeError, ValueError):
            message = {"raw": raw if isinstance(raw, str) else raw.decode("utf-8", "replace")}
        with self._changed:
            envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
            envelope = self._envelopes.get(envelope_id) if isinstance(envelope_id, str) else None
            if envelope is None:
                self._stray.append(message if isinstance(message, dict) else {"raw": message})
                self._changed.notify_all()
                return
            if envelope.acked_at is None:
                envelope = replace(
                    envelope,
                    acked_at=now,
                    ack_payload=message.get("payload"),
                    ack_link_id=conn.link.id,
                )
            self._envelopes[envelope.envelope_id] = replace(envelope, acks=envelope.acks + 1)
            self._changed.notify_all()

    # ---- what happened -----------------------------------------------------------------

    def envelope(self, envelope_id: str) -> Envelope:
        with self._changed:
            return self._envelopes[envelope_id]

    def envelopes(self) -> list[Envelope]:
        """Every delivery attempt, in creation order."""
        with self._changed:
            return sorted(self._envelopes.values(), key=lambda e: e.created_at)

    def attempts(self, envelope_id: str) -> list[Envelope]:
        """The attempts of the delivery whose first attempt is ``envelope_id``, in order."""
        with self._changed:
            found = [e for e in self._envelopes.values() if e.first_id == envelope_id]
        return sorted(found, key=lambda e: e.retry_attempt)

    def acks(self) -> list[Envelope]:
        """The acked envelopes, in ack order."""
        with self._changed:
            acked = [e for e in self._envelopes.values() if e.acked_at is not None]
        return sorted(acked, key=lambda e: e.acked_at or 0.0)

    def failures(self) -> list[Envelope]:
        """Commands and interactions not acked within the ack timeout."""
        with self._changed:
            return [e for e in self._envelopes.values() if e.failed]

    def stray(self) -> list[dict[str, Any]]:
        """Messages from clients that acked no known envelope."""
        with self._changed:
            return list(self._stray)

    def wait_until(self, check: Callable[[], Any], timeout: float = 10.0) -> None:
        """Blocks until ``check()`` (called with the server's state locked, again at every
        change) is truthy; AssertionError after ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(check, timeout):
                raise AssertionError(f"still not {check} after {timeout} s")

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> float:
        """Blocks until envelope ``envelope_id`` is acked; its latency in seconds.
        AssertionError after ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: self._envelopes[envelope_id].acked_at is not None, timeout
            ):
                raise AssertionError(
                    f"envelope {envelope_id} not acked after {timeout} s: "
                    f"{self._envelopes[envelope_id]}"
                )
            latency = self._envelopes[envelope_id].latency
        assert latency is not None
        return latency

    def wait_for_any_ack(self, first_id: str, timeout: float = 10.0) -> Envelope:
        """Blocks until some attempt of the delivery ``first_id`` is acked; that attempt."""

        def acked() -> list[Envelope]:
            return [
                e
                for e in self._envelopes.values()
                if e.first_id == first_id and e.acked_at is not None
            ]

        with self._changed:
            if not self._changed.wait_for(lambda: bool(acked()), timeout):
                raise AssertionError(f"no attempt of {first_id} acked after {timeout} s")
            return min(acked(), key=lambda e: e.acked_at or 0.0)


class SocketModeSlackAPI(FakeSlackAPI):
    """The fake Web API with a Socket Mode endpoint: ``apps.connections.open`` takes an app
    token (``app_tokens``) and answers a URL of :attr:`socket_mode`, started and stopped with
    it. Keyword arguments besides ``tokens`` and ``app_tokens`` go to
    :class:`SocketModeServer`."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        app_tokens: Iterable[str] = (DEFAULT_APP_TOKEN,),
        **socket_mode: Any,
    ) -> None:
        super().__init__(tokens=tokens)
        self.socket_mode = SocketModeServer(app_tokens=app_tokens, **socket_mode)

    def start(self) -> Self:
        self.socket_mode.start()
        return super().start()

    def stop(self) -> None:
        self.socket_mode.stop()
        super().stop()

    def _api(
        self, method: str, params: dict[str, Any] | None, headers: dict[str, str], at: float
    ) -> Answer | None:
        if method != "apps.connections.open":
            return super()._api(method, params, headers, at)
        failure = self._failure(method)
        if failure is not None:
            body, answer = failure.body, _json(failure.status, failure.body, failure.headers)
        else:
            body = self.socket_mode.open_connection(self._token(params or {}, headers))
            answer = _json(200, body)
        return self._record(method, params or {}, headers, at, answer, body)
