"""A named lock across processes (replicas): held while one of them builds the search index on
a Chroma server, so that replicas starting together build it once (the others wait, then
read it), and while one of them runs the scheduled progress pass (the others skip theirs).

* On PostgreSQL (replicas on several hosts): a session advisory lock keyed by the collection's
  name. The server releases it when the holder's connection ends, so a replica killed in the
  middle of a build never leaves it held.
* On SQLite (one host): an exclusive ``flock`` on a file in the data folder, which the kernel
  releases when its holder dies.

A waiter gives up after ``wait`` seconds (0: one try) and is told so: the lock's context
gives True when it is held, False when it was not had in time.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

POLL_SECONDS = 0.2

NamedLock = Callable[[str], contextlib.AbstractContextManager[bool]]


def named_lock(engine: Callable[[], Engine], lock_dir: Path, *, wait: float) -> NamedLock:
    """Locks by name: PostgreSQL's advisory lock when the database ``engine()`` (called when a
    lock is taken) is PostgreSQL, else a file lock in ``lock_dir``."""

    @contextlib.contextmanager
    def held(name: str) -> Iterator[bool]:
        eng = engine()
        locked = (
            _advisory(eng, name, wait)
            if eng.dialect.name == "postgresql"
            else _file_lock(lock_dir / f"fwbot-{name}.lock", wait)
        )
        with locked as got:
            yield got

    return held


def advisory_key(name: str) -> int:
    """A signed 64-bit key for ``pg_advisory_lock`` from a lock's name."""
    digest = hashlib.sha256(f"fwbot-lock:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def _advisory(engine: Engine, name: str, wait: float) -> Iterator[bool]:
    key = advisory_key(name)
    with engine.connect() as conn:
        got = _poll(
            lambda: bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            ),
            wait,
        )
        conn.commit()
        try:
            yield got
        finally:
            if got:  # a connection lost meanwhile released it already
                with contextlib.suppress(Exception):
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()


@contextlib.contextmanager
def _file_lock(path: Path, wait: float) -> Iterator[bool]:
    try:
        import fcntl
    except ImportError:  # not POSIX: one host, no lock
        yield True
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:

        def take() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        got = _poll(take, wait)
        try:
            yield got
        finally:
            if got:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _poll(take: Callable[[], bool], wait: float) -> bool:
    deadline = time.monotonic() + wait
    while not take():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True
