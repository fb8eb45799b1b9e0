"""A small TCP load balancer on loopback, for benches that run several `fwbot serve` replicas:
each new connection goes to the next backend in turn (round robin), as a cloud load balancer
does with HTTP/1.1 connections; a backend that refuses the connection (killed, restarting) is
skipped for that connection and the next one is tried, so a client sees a refusal only when
every backend refuses.

    with RoundRobinProxy([("127.0.0.1", 3001), ("127.0.0.1", 3002)]) as proxy:
        urlopen(f"http://127.0.0.1:{proxy.port}/healthz")

It pipes bytes and reads nothing, so it adds one loopback hop and no parsing. It runs its own
asyncio loop in a daemon thread. ``backends`` can be replaced while it runs
(:meth:`set_backends`); ``connections`` counts connections per backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Sequence

Backend = tuple[str, int]
CHUNK = 65536
CONNECT_TIMEOUT = 2.0


class RoundRobinProxy:
    def __init__(self, backends: Sequence[Backend], *, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self._backends = list(backends)
        self._next = 0
        self._lock = threading.Lock()
        self.connections: Counter[Backend] = Counter()
        self.refused: Counter[Backend] = Counter()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    def set_backends(self, backends: Sequence[Backend]) -> None:
        with self._lock:
            self._backends = list(backends)

    def _order(self) -> list[Backend]:
        with self._lock:
            n = len(self._backends)
            if not n:
                return []
            start, self._next = self._next % n, self._next + 1
            return self._backends[start:] + self._backends[:start]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = None
        for backend in self._order():
            try:
                upstream = await asyncio.wait_for(
                    asyncio.open_connection(*backend), timeout=CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError):
                self.refused[backend] += 1
                continue
            self.connections[backend] += 1
            break
        if upstream is None:  # every backend refused: close, as a balancer with none healthy
            writer.close()
            return
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                with contextlib.suppress(OSError, RuntimeError):
                    w.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def start(self) -> RoundRobinProxy:
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="round-robin-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()

        if self._thread is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def __enter__(self) -> RoundRobinProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the half-close on (the other direction goes on)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()
