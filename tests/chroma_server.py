"""A real Chroma server for tests: ``chroma run`` (the CLI the chromadb package installs) on a
free loopback port, with its data in a temp dir.

* ``chroma_server`` (session): a :class:`ChromaServer` that answers its heartbeat; stopped
  (terminate, then kill) at the end of the session; :mod:`local_slack.chroma_process`
  starts and stops it (benches use it too). :func:`running_chroma`: one of a test's own (to
  stop or pause: SIGSTOP makes it a server that accepts and never answers).
* :func:`free_port`: a loopback port nobody listens on (for a server that is down).
* :func:`silent_listener`: a socket that accepts connections and never answers (a hung server).
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from local_slack.chroma_process import (
    HOST,
    ChromaDidNotStart,
    ChromaServer,
    chroma_cli,
    free_port,
    start_chroma,
    stop_chroma,
)

__all__ = ["ChromaServer", "chroma_server", "free_port", "running_chroma", "silent_listener"]


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port whose socket accepts connections (the kernel's backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        s.listen(16)
        yield int(s.getsockname()[1])


@contextmanager
def running_chroma(path: Path) -> Iterator[ChromaServer]:
    """``chroma run`` with its data in ``path``, answering its heartbeat; stopped at the end
    (continued first, if a test paused it with SIGSTOP)."""
    cli = chroma_cli()
    if cli is None:
        pytest.skip("the chroma CLI (chromadb package) is not installed")
    try:
        proc, server = start_chroma(cli, path, path.parent / f"{path.name}.log")
    except ChromaDidNotStart as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
        stop_chroma(proc)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    with running_chroma(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server
