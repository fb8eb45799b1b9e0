"""The benches' loopback load balancer: connections go round robin and skip a dead backend."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from collections.abc import Iterator

import pytest

from local_slack.round_robin import RoundRobinProxy
from tests.chroma_server import free_port


@pytest.fixture
def backends() -> Iterator[list[int]]:
    servers = []
    for tag in ("a", "b"):

        class Tagged(http.server.BaseHTTPRequestHandler):
            body = tag.encode()

            def do_POST(self) -> None:
                sent = self.rfile.read(int(self.headers["Content-Length"]))
                out = self.body + b":" + sent
                self.send_response(200)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tagged)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield [s.server_port for s in servers]
    for s in servers:
        s.shutdown()
        s.server_close()


def post(port: int, body: bytes) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", data=body, timeout=5) as resp:
        return str(resp.read().decode())


def test_connections_alternate_and_a_dead_backend_is_skipped(backends: list[int]) -> None:
    a, b = backends
    dead = free_port()
    with RoundRobinProxy([("127.0.0.1", a), ("127.0.0.1", dead), ("127.0.0.1", b)]) as proxy:
        got = [post(proxy.port, f"{i}".encode()) for i in range(6)]
        assert got == ["a:0", "b:1", "b:2", "a:3", "b:4", "b:5"]  # dead's turns go to the next
        assert proxy.refused[("127.0.0.1", dead)] == 2
        proxy.set_backends([("127.0.0.1", a)])
        assert post(proxy.port, b"x") == "a:x"
