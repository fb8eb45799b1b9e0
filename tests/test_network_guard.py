"""The session's network guard (tests/conftest.py): nothing but loopback is reachable, in the
test process and in the fwbot subprocesses."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, NetworkBlocked, address_allowed, is_loopback

UNROUTABLE = ("10.255.255.1", 9)  # a private address nobody answers: a real connect would hang


def _echo_server(family: int, host: str) -> tuple[socket.socket, int, threading.Thread]:
    server = socket.socket(family, socket.SOCK_STREAM)
    server.bind((host, 0))
    server.listen(1)
    server.settimeout(5)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(16).upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, server.getsockname()[1], thread


def _echo(sock: socket.socket) -> bytes:
    sock.sendall(b"ping")
    return sock.recv(16)


def test_connect_to_non_loopback_is_refused_at_once_without_connecting() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)  # were the connect let through, it would wait this long (nobody answers)
    try:
        start = time.monotonic()
        with pytest.raises(NetworkBlocked, match=r"10\.255\.255\.1"):
            sock.connect(UNROUTABLE)
        assert time.monotonic() - start < 0.5
        with pytest.raises(OSError):  # the socket never got a peer: no SYN was sent
            sock.getpeername()
        with pytest.raises(NetworkBlocked):
            sock.connect_ex(UNROUTABLE)
    finally:
        sock.close()


@pytest.mark.parametrize(
    "address",
    [UNROUTABLE, ("8.8.8.8", 53), ("example.com", 80), ("0.0.0.0", 80), ("", 80)],
)
def test_create_connection_is_refused_before_any_lookup(address: tuple[str, int]) -> None:
    start = time.monotonic()
    with pytest.raises(NetworkBlocked):
        socket.create_connection(address, timeout=5)
    assert time.monotonic() - start < 0.5  # no DNS query, no connect attempt


def test_udp_and_ipv6_non_loopback_are_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(NetworkBlocked):
        udp.connect(("192.0.2.1", 53))
    if socket.has_ipv6:
        with (
            socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6,
            pytest.raises(NetworkBlocked),
        ):
            s6.connect(("2001:db8::1", 80, 0, 0))


def test_loopback_ipv4_connections_work() -> None:
    server, port, thread = _echo_server(socket.AF_INET, "127.0.0.1")
    with server:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            assert _echo(client) == b"PING"
        thread.join(5)
    server, port, thread = _echo_server(socket.AF_INET, "127.0.0.1")
    with server:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            assert client.connect_ex(("127.0.0.1", port)) == 0
            assert _echo(client) == b"PING"
        thread.join(5)


def test_localhost_name_connects() -> None:
    server, port, thread = _echo_server(socket.AF_INET, "127.0.0.1")
    with server:
        # "localhost" may resolve to ::1 first; create_connection falls back to 127.0.0.1.
        with socket.create_connection(("localhost", port), timeout=5) as client:
            assert _echo(client) == b"PING"
        thread.join(5)


def test_loopback_ipv6_connects() -> None:
    try:
        server, port, thread = _echo_server(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(("::1", port, 0, 0))
            assert _echo(client) == b"PING"
        thread.join(5)


def test_unix_sockets_are_allowed(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
            conn, _ = server.accept()
            with conn:
                client.sendall(b"hi")
                assert conn.recv(2) == b"hi"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("10.255.255.1", False),
        ("128.0.0.1", False),
        ("::2", False),
        ("localhost.example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_classification(host: object, allowed: bool) -> None:
    assert is_loopback(host) is allowed
    assert address_allowed(socket.AF_INET, (host, 80)) is allowed


def test_guard_is_active_in_fwbot_subprocesses(fwbot_env: dict[str, str]) -> None:
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('10.255.255.1', 9), timeout=5)\n"
        "except Exception as e:\n"
        "    print(type(e).__name__)\n"
    )
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env=fwbot_env,
        cwd=REPO_ROOT,
        timeout=30,
        check=True,
    )
    assert proc.stdout.decode().strip() == "NetworkBlocked", proc.stderr.decode()
    assert time.monotonic() - start < 5
