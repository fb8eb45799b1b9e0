"""A real Chroma server for tests: ``chroma run`` (the CLI the chromadb package installs) on a
free loopback port, with its data in a temp dir.

* ``chroma_server`` (session): a :class:`ChromaServer` that answers its heartbeat; stopped
  (terminate, then kill) at the end of the session. :func:`running_chroma`: one of a test's
  own (to stop or pause: SIGSTOP makes it a server that accepts and never answers).
* :func:`free_port`: a loopback port nobody listens on (for a server that is down).
* :func:`silent_listener`: a socket that accepts connections and never answers (a hung server).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds for `chroma run` to answer its heartbeat
HEARTBEAT = "/api/v2/heartbeat"  # Chroma 1.x (the v1 path answers 410)


@dataclass(frozen=True)
class ChromaServer:
    host: str
    port: int
    path: Path  # its --path (persistence directory)
    pid: int  # of `chroma run`

    @property
    def env(self) -> dict[str, str]:
        """CHROMA_HOST and CHROMA_PORT pointing at this server."""
        return {"CHROMA_HOST": self.host, "CHROMA_PORT": str(self.port)}

    def client(self):  # -> chromadb.api.ClientAPI
        import chromadb
        from chromadb.config import Settings

        return chromadb.HttpClient(
            host=self.host, port=self.port, settings=Settings(anonymized_telemetry=False)
        )


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (nothing listens on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port whose socket accepts connections (the kernel's backlog) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        s.listen(16)
        yield int(s.getsockname()[1])


def chroma_cli() -> str | None:
    """The ``chroma`` CLI beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.is_file() else shutil.which("chroma")


def answers_heartbeat(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{HEARTBEAT}", timeout=timeout) as r:
            return bool(r.status == 200)
    except (OSError, ValueError):
        return False


@contextmanager
def running_chroma(path: Path) -> Iterator[ChromaServer]:
    """``chroma run`` with its data in ``path``, answering its heartbeat; stopped at the end."""
    cli = chroma_cli()
    if cli is None:
        pytest.skip("the chroma CLI (chromadb package) is not installed")
    port = free_port()
    log = (path.parent / f"{path.name}.log").open("wb")
    proc = subprocess.Popen(
        [cli, "run", "--path", str(path), "--host", HOST, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not answers_heartbeat(HOST, port):
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited with {proc.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                pytest.fail(f"chroma run did not answer within {START_TIMEOUT:.0f} s")
            time.sleep(0.1)
        yield ChromaServer(HOST, port, path, proc.pid)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # if a test stopped it
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    with running_chroma(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server
