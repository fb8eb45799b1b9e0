"""The services compose.yaml gives the bot, run from the host for deploy/check_container.py
(Docker Hub, and so the postgres and chromadb/chroma images, is out of reach here):

* PostgreSQL: a fresh schema in the database at :data:`POSTGRES_URL` (the one the tests use),
  dropped afterwards;
* a Chroma server: ``chroma run`` of the chromadb package installed beside this Python, the
  same release as compose.yaml's ``chromadb/chroma`` image (tests/test_deploy.py), on a
  free loopback port with a temporary directory.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REQUIRE_POSTGRES_VAR = "FWBOT_REQUIRE_POSTGRES"  # as the tests: 1 = unreachable is a failure
CHROMA_START_TIMEOUT = 60.0


class Unavailable(Exception):
    """PostgreSQL or the Chroma server cannot be had here; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_POSTGRES_VAR) == "1"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A ``DATABASE_URL`` for a fresh schema, dropped on exit."""
    import psycopg

    schema = f"fwbot_container_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise Unavailable(f"PostgreSQL at {POSTGRES_URL}: {str(exc).strip()[:200]}") from None
    try:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        yield f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}', safe='')}"
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def count_rows(database_url: str, table: str) -> int:
    """How many rows ``table`` holds in the schema ``database_url`` names."""
    import psycopg

    with psycopg.connect(database_url, connect_timeout=5) as connection:
        row = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return int(row[0]) if row else 0


def _heartbeat(port: int) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@contextmanager
def chroma_server() -> Iterator[int]:
    """A Chroma server on 127.0.0.1 (its port), stopped on exit."""
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        raise Unavailable(f"no Chroma server: {chroma} is missing")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="fwbot-chroma-") as path:
        log = open(Path(path) / "server.log", "w+", encoding="utf-8")  # noqa: SIM115
        cmd = [str(chroma), "run", "--path", f"{path}/data", "--host", "127.0.0.1"]
        proc = subprocess.Popen(
            [*cmd, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + CHROMA_START_TIMEOUT
            while not _heartbeat(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise Unavailable(f"the Chroma server did not start: {log.read()[-1000:]}")
                time.sleep(0.2)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
