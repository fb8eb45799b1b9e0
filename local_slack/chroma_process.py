"""A real Chroma server (``chroma run``, the CLI the chromadb package installs) on a free
loopback port, for tests and benches: :func:`start_chroma` starts it and waits for its
heartbeat, :func:`stop_chroma` stops it (terminate, then kill)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds for `chroma run` to answer its heartbeat
HEARTBEAT = "/api/v2/heartbeat"  # Chroma 1.x (the v1 path answers 410)


@dataclass(frozen=True)
class ChromaServer:
    host: str
    port: int
    path: Path  # its --path (persistence directory)
    pid: int = 0  # of `chroma run`

    @property
    def env(self) -> dict[str, str]:
        """CHROMA_HOST and CHROMA_PORT pointing at this server."""
        return {"CHROMA_HOST": self.host, "CHROMA_PORT": str(self.port)}

    def client(self) -> Any:  # chromadb.api.ClientAPI
        import chromadb
        from chromadb.config import Settings

        return chromadb.HttpClient(
            host=self.host, port=self.port, settings=Settings(anonymized_telemetry=False)
        )


class ChromaDidNotStart(RuntimeError):
    """``chroma run`` exited or did not answer its heartbeat in time."""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (nothing listens on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


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


def start_chroma(
    cli: str, path: Path, log: Path, *, timeout: float = START_TIMEOUT
) -> tuple[subprocess.Popen[bytes], ChromaServer]:
    """``cli run --path path`` on a free loopback port, its output appended to ``log``; returns
    once it answers its heartbeat (else stops it and raises :class:`ChromaDidNotStart`)."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [cli, "run", "--path", str(path), "--host", HOST, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + timeout
    while not answers_heartbeat(HOST, port):
        if proc.poll() is not None:
            raise ChromaDidNotStart(f"chroma run exited with {proc.returncode}; see {log}")
        if time.monotonic() > deadline:
            stop_chroma(proc)
            raise ChromaDidNotStart(f"chroma run did not answer within {timeout:.0f} s")
        time.sleep(0.1)
    return proc, ChromaServer(HOST, port, path, proc.pid)


def stop_chroma(proc: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    """Terminate, then kill after ``grace`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
