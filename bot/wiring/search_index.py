"""The search index as settings place it: embedded Chroma in the data folder, or a Chroma
server (CHROMA_HOST) with this replica's local copy of it in the data folder.

A wrong place is one line naming its variable (bot/wiring/places.py). A Chroma server that is
down or does not answer at start is such a line when there is no local copy, and a warning
when there is one (the copy is searched). Replicas that share a server build a missing
collection once, under a lock in the database (bot/storage/build_lock.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from framework_data.schema import Framework
from retrieval.embeddings import MiniLMEmbedder
from retrieval.index import BuildLock, ChromaLocation, StoreUnavailable
from retrieval.search import FrameworkSearcher

from .places import (
    chroma_server_failure,
    chroma_server_fallback,
    data_dir_failure,
    sqlite_file,
    usable_data_dir,
)
from .settings import StorageSettings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger("fwbot")


def chroma_location(storage: StorageSettings) -> ChromaLocation:
    index_dir = storage.data_dir / "index"
    if storage.chroma_host:  # the server's local copy is kept in the data folder
        return ChromaLocation(
            host=storage.chroma_host, port=storage.chroma_port, copy_dir=index_dir
        )
    return ChromaLocation(path=index_dir)


def build_searcher(
    framework: Framework,
    embedder: MiniLMEmbedder,
    storage: StorageSettings,
    engine: Callable[[], Engine],
    *,
    rebuild: bool = False,
) -> FrameworkSearcher:
    """The searcher over ``framework``'s index; ``engine()`` (the database's, opened only if
    the collection must be built on a Chroma server) holds the build lock."""
    location, data_dir = chroma_location(storage), storage.data_dir
    usable_data_dir(data_dir)  # before the model loads: a bad folder fails at once
    try:
        searcher = FrameworkSearcher(
            framework,
            embedder,
            location=location,
            rebuild=rebuild,
            build_lock=index_build_lock(storage, engine) if location.host else None,
        )
    except StoreUnavailable as exc:  # the Chroma server is down: name CHROMA_HOST
        if location.host is None:
            raise
        raise chroma_server_failure(location.host, location.port, exc.cause) from exc
    except OSError as exc:  # the index could not be written there: name FWBOT_DATA_DIR
        failure = data_dir_failure(data_dir, exc)
        if failure is None:
            raise
        raise failure from exc
    if searcher.index.fallback is not None and location.host is not None:
        log.warning(chroma_server_fallback(location.host, location.port, searcher.index.fallback))
    return searcher


BUILD_WAIT = 120.0  # seconds a replica waits for another one's build before building too


def replica_lock(storage: StorageSettings, engine: Callable[[], Engine], *, wait: float):
    """A lock shared by the replicas of one database (-> bot.storage.process_lock.NamedLock):
    PostgreSQL's advisory lock, or (SQLite: one host) a file lock beside the database."""
    from ..storage.process_lock import named_lock

    db_file = sqlite_file(storage.database)
    return named_lock(engine, db_file.parent if db_file else storage.data_dir, wait=wait)


def index_build_lock(storage: StorageSettings, engine: Callable[[], Engine]) -> BuildLock:
    """Held while a collection is built on the Chroma server. A waiter that gives up builds
    too (an upsert: a second build costs time, not correctness), with a warning."""
    lock = replica_lock(storage, engine, wait=BUILD_WAIT)

    @contextmanager
    def building(name: str) -> Iterator[bool]:
        with lock(f"index-{name}") as got:
            if not got:
                log.warning(
                    "index: waited %.0f s for another replica building %s; building it here",
                    BUILD_WAIT,
                    name,
                )
            yield got

    return building


def vector_store_check(
    searcher: Callable[[], FrameworkSearcher],
    storage: StorageSettings,
    on_local_copy: Callable[[bool], None],
) -> Callable[[], None]:
    """The readiness check of the index of record: the embedded collection read, or the Chroma
    server's heartbeat. A server that does not answer leaves the replica ready (``local_copy``:
    it searches the vectors it holds), with a warning and ``on_local_copy(True)``."""
    from ..slack.health import CHECK_TIMEOUT, Degraded, NotReady

    location = chroma_location(storage)

    def vector_store() -> None:
        try:
            searcher().index.check_store(timeout=CHECK_TIMEOUT * 0.75)  # within the bound
        except StoreUnavailable as exc:
            if location.host is None:
                raise NotReady(exc.reason, str(exc)) from exc
            on_local_copy(True)
            line = chroma_server_fallback(location.host, location.port, exc.cause)
            raise Degraded("local_copy", line) from exc
        on_local_copy(False)

    return vector_store
