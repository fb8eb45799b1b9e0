"""`fwbot serve` in Socket Mode in a subprocess, for tests and benchmarks.

The process gets ``SLACK_APP_TOKEN`` and ``SLACK_API_URL`` of a
:class:`~local_slack.socket_mode.SocketModeSlackAPI`; it is ready when the fake sees its
WebSocket connection greeted (the server's own readiness line, `fwbot: Socket Mode
connected`, comes with the same hello). Its stdout
is drained all the time so it never blocks on a full pipe, and kept for error messages.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from local_slack.serve_process import ROOT, ServerDidNotStart, note_ports, spawn_serve, stop_serve
from local_slack.socket_mode import DEFAULT_APP_TOKEN, Link, SocketModeSlackAPI

__all__ = ["ServerDidNotStart", "socket_mode_env", "start_socket_serve", "stop_serve"]


def socket_mode_env(
    base: Mapping[str, str], slack: SocketModeSlackAPI, *, bot_token: str = "xoxb-test"
) -> dict[str, str]:
    """``base`` with the Slack settings of Socket Mode on ``slack`` (no signing secret)."""
    env = {k: v for k, v in base.items() if k != "SLACK_SIGNING_SECRET"}
    env.update(
        SLACK_BOT_TOKEN=bot_token,
        SLACK_APP_TOKEN=next(iter(slack.socket_mode.app_tokens), DEFAULT_APP_TOKEN),
        SLACK_API_URL=slack.base_url.rstrip("/"),
        FWBOT_TRUST_LOCAL_SLACK="true",  # its response URLs and files are plain http
    )
    return env


def start_socket_serve(
    env: Mapping[str, str],
    stderr: IO[str],
    slack: SocketModeSlackAPI,
    *,
    timeout: float,
    cwd: Path = ROOT,
) -> tuple[subprocess.Popen[str], Link]:
    """Start ``python -m bot.cli serve --port 0`` (health on 127.0.0.1) and wait until its
    Socket Mode connection is live on ``slack``; the process and that connection
    (:func:`~local_slack.serve_process.health_port` and ``admin_port`` then know its ports,
    unless ``env`` has FWBOT_ADMIN_PORT=off)."""
    known = max((link.id for link in slack.socket_mode.connections()), default=0)
    proc = spawn_serve(env, stderr, cwd=cwd)
    seen: list[str] = []
    stdout = proc.stdout
    assert stdout is not None  # stdout=PIPE above

    def pump() -> None:
        for line in stdout:
            note_ports(proc, line)
            seen.append(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        live = [link for link in slack.socket_mode.connections(live_only=True) if link.id > known]
        if live:  # the ports were said before the connection: give the pump a moment
            settle = time.monotonic() + 2
            while not any("fwbot admin on port" in x for x in seen) and time.monotonic() < settle:
                time.sleep(0.02)
            return proc, live[0]
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_serve(proc)
            raise ServerDidNotStart(
                f"fwbot serve (Socket Mode) did not connect within {timeout:.0f} s (exit "
                f"{proc.returncode}); stdout: {''.join(seen)!r}"
            )
        time.sleep(0.05)
