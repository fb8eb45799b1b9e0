"""The dense index: one vector per retrieval view of each framework element.

Chroma is the index of record: a ``PersistentClient`` under the data directory by default, or a
Chroma server (``HttpClient``) when a host is configured. The collection is named after the
framework's content hash, so a changed framework gets a fresh index automatically, and
``rebuild=True`` (``fwbot index``) rebuilds it on demand.

Frameworks are small (tens to a few hundred elements), so search itself is an exact dot product
in numpy over all views. To keep a fresh ``fwbot ask`` fast, a snapshot of the collection is
kept beside it (``vectors-<hash>.npz``) and read without importing chromadb (whose import alone
costs ~1.5 s); the snapshot is checked against the view texts and rebuilt from Chroma, or from
the model, whenever it does not match.

With a Chroma server, the server is read first and the snapshot is the local copy
(``ChromaLocation.copy_dir``): a server that is down or does not answer at start is searched
through that copy (``VectorIndex.fallback`` says why) when there is one, and is an error
(:class:`StoreUnavailable`) when there is none. A running process searches the vectors it
holds, so a server lost later never delays a question. Replicas that start together build a
missing collection once: the build runs under ``build_lock`` (one per collection name, e.g. a
database advisory lock), and whoever waited reads what the first one stored.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embeddings import MiniLMEmbedder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class View:
    """A text through which an element can be found: its wording, its wording in the context
    of its goal, its title, scope note or keywords."""

    element_id: str
    text: str


@dataclass(frozen=True)
class ChromaLocation:
    path: Path | None = None  # PersistentClient directory
    host: str | None = None  # HttpClient (Chroma server)
    port: int = 8000
    copy_dir: Path | None = None  # with a server: where its local copy (snapshot) is kept

    @property
    def snapshot_dir(self) -> Path | None:
        return self.copy_dir if self.host else self.path


# A lock held while one process builds a collection (its name given): None, no lock.
BuildLock = Callable[[str], AbstractContextManager[object]]


def _fingerprint(views: Sequence[View], model_tag: str) -> str:
    h = hashlib.sha256(model_tag.encode())
    for v in views:
        h.update(b"\0" + v.element_id.encode() + b"\1" + v.text.encode())
    return h.hexdigest()[:16]


class VectorIndex:
    """Vectors for a list of views, persisted in Chroma, searched in memory."""

    def __init__(
        self,
        views: Sequence[View],
        vectors: np.ndarray,
        fingerprint: str,
    ) -> None:
        self.views = list(views)
        self.vectors = vectors
        self.fingerprint = fingerprint
        # where the index of record is (None: in memory only), for :meth:`check_store`
        self.location: ChromaLocation | None = None
        self.collection: str | None = None
        self.built = False  # whether this process embedded the views and stored them
        self.fallback: str | None = None  # why the local copy is searched, not the server

    @classmethod
    def open(
        cls,
        views: Sequence[View],
        embedder: MiniLMEmbedder,
        location: ChromaLocation | None,
        *,
        framework_hash: str,
        rebuild: bool = False,
        build_lock: BuildLock | None = None,
    ) -> VectorIndex:
        index = cls._open(
            views,
            embedder,
            location,
            framework_hash=framework_hash,
            rebuild=rebuild,
            build_lock=build_lock,
        )
        if location is not None:
            index.location = location
            index.collection = collection_name(framework_hash, index.fingerprint)
        return index

    @classmethod
    def _open(
        cls,
        views: Sequence[View],
        embedder: MiniLMEmbedder,
        location: ChromaLocation | None,
        *,
        framework_hash: str,
        rebuild: bool,
        build_lock: BuildLock | None,
    ) -> VectorIndex:
        fp = _fingerprint(views, "minilm-int8")
        texts = [v.text for v in views]
        snapshot = None
        if location is not None and location.snapshot_dir is not None:
            snapshot = location.snapshot_dir / f"vectors-{framework_hash}-{fp}.npz"
        if location is None:  # in-memory only (tests, one-off runs)
            return cls(views, embedder.embed(texts), fp)
        # Embedded, the snapshot is the collection's faster twin; a server is read first.
        if not rebuild and not location.host and snapshot is not None and snapshot.is_file():
            vectors = _read_snapshot(snapshot, fp, len(views))
            if vectors is not None:
                return cls(views, vectors, fp)
        sync = _ChromaSync(views, texts, embedder, location, framework_hash, fp)
        try:
            vectors = sync.run(rebuild=rebuild, lock=build_lock)
        except Exception as exc:
            if not location.host:
                raise
            if isinstance(exc, StoreUnavailable):
                down = exc
            elif _lost_server(exc):
                down = _down(location, _lost_cause(exc))
            else:
                raise
            copy = None
            if not rebuild and snapshot is not None and snapshot.is_file():
                copy = _read_snapshot(snapshot, fp, len(views))
            if copy is None:
                raise down from exc
            log.info("%s: searching the local copy of the index (%s)", down, snapshot)
            index = cls(views, copy, fp)
            index.fallback = down.cause
            return index
        if snapshot is not None:
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            tmp = snapshot.with_suffix(".tmp.npz")
            np.savez(tmp, vectors=vectors, fingerprint=np.array(fp))
            tmp.replace(snapshot)
        index = cls(views, vectors, fp)
        index.built = sync.built
        return index

    def check_store(self, timeout: float = 2.0) -> None:
        """Whether the index of record answers: a Chroma server's heartbeat (``timeout``
        seconds), or the embedded collection read. Raises :class:`StoreUnavailable` (its
        ``reason`` a word: ``down``, ``missing``) otherwise; nothing to check in memory."""
        check_store(self.location, self.collection, timeout=timeout)

    def similarities(self, query_vectors: np.ndarray) -> np.ndarray:
        """Cosine similarity of each query vector (rows) to each view (columns)."""
        return query_vectors @ self.vectors.T


def _read_snapshot(path: Path, fingerprint: str, n_views: int) -> np.ndarray | None:
    """The snapshot's vectors, or None (with a warning) when it is unreadable or stale."""
    try:
        with np.load(path) as data:
            vectors = data["vectors"].astype(np.float32)
            stored = str(data["fingerprint"]) if "fingerprint" in data else ""
    except Exception as exc:  # any damage (truncated, bad zip, bad CRC …) means: rebuild
        log.warning("index snapshot %s is unreadable (%s); rebuilding it", path, exc)
        return None
    if stored != fingerprint or vectors.shape != (n_views, 384):
        log.warning("index snapshot %s does not match the framework; rebuilding it", path)
        return None
    return vectors


class StoreUnavailable(Exception):
    """The vector store does not answer; ``reason`` is a word, the message is for logs,
    ``cause`` a few words for people (``connection refused``)."""

    def __init__(self, reason: str, detail: str, cause: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.cause = cause or detail


# How long a Chroma server has to answer its heartbeat before fwbot connects; chromadb's own
# HTTP client waits without limit, so a server that accepts and never answers would hang it.
CONNECT_TIMEOUT = 5.0


def check_store(
    location: ChromaLocation | None, collection: str | None, *, timeout: float = 2.0
) -> None:
    """See :meth:`VectorIndex.check_store`."""
    if location is None:
        return
    if location.host:
        check_heartbeat(location, timeout=timeout)
        return
    try:
        count = _client(location).get_collection(str(collection)).count()
    except Exception as exc:  # chromadb raises its own types (NotFoundError, sqlite errors…)
        raise StoreUnavailable("missing", f"collection {collection}: {exc}") from exc
    if count <= 0:
        raise StoreUnavailable("missing", f"collection {collection} is empty")


def check_heartbeat(location: ChromaLocation, *, timeout: float) -> None:
    """Whether the Chroma server at ``location`` answers its heartbeat within ``timeout``
    seconds; :class:`StoreUnavailable` (``down``, its ``cause`` a few words) otherwise."""
    import urllib.error
    import urllib.request

    url = f"http://{_address(location)}/api/v2/heartbeat"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            if resp.status != 200:
                raise _down(location, f"its heartbeat answered {resp.status}")
    except urllib.error.HTTPError as exc:  # an error status
        raise _down(location, f"its heartbeat answered {exc.code}") from exc
    except urllib.error.URLError as exc:  # refused, unknown host
        raise _down(location, _cause(exc.reason, timeout)) from exc
    except TimeoutError as exc:
        raise _down(location, f"no answer within {timeout:g} s") from exc
    except (OSError, ValueError) as exc:  # reset, a malformed answer
        raise _down(location, _cause(exc, timeout)) from exc


def _down(location: ChromaLocation, cause: str) -> StoreUnavailable:
    return StoreUnavailable("down", f"Chroma server at {_address(location)}: {cause}", cause)


def _cause(reason: object, timeout: float) -> str:
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason)


def _address(location: ChromaLocation) -> str:
    return f"{location.host}:{location.port}"


def _lost_server(exc: Exception) -> bool:
    """Whether ``exc`` (raised by chromadb's HTTP client) says the server went away."""
    import sys

    if isinstance(exc, ValueError) and str(exc).startswith("Could not connect to"):
        return True
    httpx = sys.modules.get("httpx")
    seen: BaseException | None = exc
    while seen is not None:  # chromadb re-raises httpx's errors as ValueError(str(e))
        if httpx is not None and isinstance(seen, httpx.TransportError):  # refused, reset…
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _lost_cause(exc: Exception) -> str:
    """A few words for a connection failure chromadb reported."""
    while exc.__cause__ or exc.__context__:  # chromadb re-raises httpx's error as ValueError
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).lower()
    for words in ("connection refused", "timed out", "connection reset", "disconnected"):
        if words in text:
            return words
    return str(exc) or type(exc).__name__


def collection_name(framework_hash: str, fingerprint: str) -> str:
    return f"fwbot-{framework_hash}-{fingerprint}"


def _client(location: ChromaLocation):  # -> chromadb.api.ClientAPI
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if location.host:
        check_heartbeat(location, timeout=CONNECT_TIMEOUT)  # bounded: chromadb's client is not
        return chromadb.HttpClient(host=location.host, port=location.port, settings=settings)
    assert location.path is not None
    location.path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(location.path / "chroma"), settings=settings)


class _ChromaSync:
    """Reads the views' vectors from a collection, building it when it is missing or stale."""

    def __init__(
        self,
        views: Sequence[View],
        texts: list[str],
        embedder: MiniLMEmbedder,
        location: ChromaLocation,
        framework_hash: str,
        fingerprint: str,
    ) -> None:
        self.views, self.texts, self.embedder = views, texts, embedder
        self.location, self.framework_hash = location, framework_hash
        self.name = collection_name(framework_hash, fingerprint)
        self.ids = [f"{i}:{v.element_id}" for i, v in enumerate(views)]
        self.built = False

    def run(self, *, rebuild: bool, lock: BuildLock | None) -> np.ndarray:
        client = _client(self.location)
        if not rebuild:
            stored = self._stored(client)
            if stored is not None:
                log.info("index: collection %s read (%d vectors)", self.name, len(stored))
                return stored
        # Missing or stale (or a rebuild asked for): one process builds, the others wait for
        # it and read what it stored.
        with lock(self.name) if lock is not None else nullcontext():
            if not rebuild:
                stored = self._stored(client)
                if stored is not None:
                    log.info("index: collection %s read, built meanwhile elsewhere", self.name)
                    return stored
            return self._build(client, rebuild=rebuild)

    def _collection(self, client):  # -> chromadb Collection
        return client.get_or_create_collection(
            self.name,
            embedding_function=self.embedder.as_chroma(),
            metadata={"hnsw:space": "cosine", "framework": self.framework_hash},
        )

    def _stored(self, client) -> np.ndarray | None:
        got = self._collection(client).get(ids=self.ids, include=["embeddings", "documents"])
        if (
            len(got["ids"]) != len(self.ids)
            or got["embeddings"] is None
            or [got["documents"][got["ids"].index(i)] for i in self.ids] != self.texts
        ):
            return None
        order = [got["ids"].index(i) for i in self.ids]
        return np.asarray(got["embeddings"], dtype=np.float32)[order]

    def _build(self, client, *, rebuild: bool) -> np.ndarray:
        started, framework_hash = time.perf_counter(), self.framework_hash
        if rebuild:
            for name in _collection_names(client):
                if name.startswith(f"fwbot-{framework_hash}"):
                    client.delete_collection(name)
        vectors = self.embedder.embed(self.texts)
        self._collection(client).upsert(
            ids=self.ids,
            documents=self.texts,
            embeddings=[v.tolist() for v in vectors],
            metadatas=[{"element": v.element_id} for v in self.views],
        )
        # Drop stale collections of this framework (older view sets); other frameworks' stay.
        for name in _collection_names(client):
            if name != self.name and name.startswith(f"fwbot-{framework_hash}"):
                client.delete_collection(name)
        self.built = True
        took = time.perf_counter() - started
        log.info("index: collection %s built (%d vectors, %.1f s)", self.name, len(vectors), took)
        return vectors


def _collection_names(client) -> list[str]:
    return [c if isinstance(c, str) else c.name for c in client.list_collections()]
