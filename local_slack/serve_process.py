"""`fwbot serve` in a subprocess, for tests and benchmarks: start it, wait until it listens,
stop it. The server's stdout is drained all the time so it never blocks on a full pipe.

Its metrics are on the admin listener (``FWBOT_ADMIN_PORT``; 0 here unless the environment
says otherwise, so that servers side by side never collide): :func:`admin_port` is the port
it said on stdout (``fwbot admin on port N``)."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

READY = re.compile(r"fwbot serving on port (\d+)")  # printed by bot/cli/serve.py
ADMIN = re.compile(r"fwbot admin on port (\d+)")  # the same, before it
HEALTH = re.compile(r"fwbot health on port (\d+)")  # Socket Mode's public port
ROOT = Path(__file__).resolve().parents[1]
_ports: dict[tuple[int, str], int] = {}  # (pid, "admin" or "health") -> port


def admin_port(proc: subprocess.Popen[str]) -> int:
    """The admin listener's port (``/metrics``) of a server started here."""
    return _ports[proc.pid, "admin"]


def health_port(proc: subprocess.Popen[str]) -> int:
    """Socket Mode's public port (``/healthz``, ``/readyz``) of a server started here."""
    return _ports[proc.pid, "health"]


def note_ports(proc: subprocess.Popen[str], line: str) -> None:
    """Remember the ports a line of the server's stdout announces."""
    for kind, pattern in (("admin", ADMIN), ("health", HEALTH)):
        if m := pattern.search(line):
            _ports[proc.pid, kind] = int(m.group(1))


class ServerDidNotStart(RuntimeError):
    """The server exited or stayed silent; the message has its exit code and stdout."""


def spawn_serve(
    env: Mapping[str, str], stderr: IO[str], *, cwd: Path = ROOT
) -> subprocess.Popen[str]:
    """``python -m bot.cli serve --port 0`` on 127.0.0.1, its stdout a text pipe. Its Slack is
    the local fake (``SLACK_API_URL`` on loopback), so ``FWBOT_TRUST_LOCAL_SLACK`` is true
    unless ``env`` says otherwise (the fake's response URLs and files are plain http); the
    admin listener is on any free port unless ``env`` sets ``FWBOT_ADMIN_PORT``."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=cwd,
        env={"FWBOT_TRUST_LOCAL_SLACK": "true", "FWBOT_ADMIN_PORT": "0", **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        encoding="utf-8",
    )


def start_serve(
    env: Mapping[str, str], stderr: IO[str], *, timeout: float, cwd: Path = ROOT
) -> tuple[subprocess.Popen[str], int]:
    """Start ``python -m bot.cli serve --port 0`` on 127.0.0.1; return it and its port."""
    proc = spawn_serve(env, stderr, cwd=cwd)
    lines: queue.Queue[str | None] = queue.Queue()
    stdout = proc.stdout
    assert stdout is not None  # stdout=PIPE above

    def pump() -> None:
        for line in stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None:  # stdout closed (the server exited) or the start timed out
            stop_serve(proc)
            raise ServerDidNotStart(
                f"fwbot serve did not start within {timeout:.0f} s (exit "
                f"{proc.returncode}); stdout: {''.join(seen)!r}"
            )
        seen.append(line)
        note_ports(proc, line)
        if m := READY.search(line):
            return proc, int(m.group(1))


def stop_serve(proc: subprocess.Popen[str], *, grace: float = 15.0) -> int | None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=grace)
    return proc.returncode
