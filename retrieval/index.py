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
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
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

    @classmethod
    def open(
        cls,
        views: Sequence[View],
        embedder: MiniLMEmbedder,
        location: ChromaLocation | None,
        *,
        framework_hash: str,
        rebuild: bool = False,
    ) -> VectorIndex:
        index = cls._open(views, embedder, location, framework_hash=framework_hash, rebuild=rebuild)
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
    ) -> VectorIndex:
        fp = _fingerprint(views, "minilm-int8")
        texts = [v.text for v in views]
        snapshot = None
        if location is not None and location.path is not None:
            snapshot = location.path / f"vectors-{framework_hash}-{fp}.npz"
        if location is None:  # in-memory only (tests, one-off runs)
            return cls(views, embedder.embed(texts), fp)
        if not rebuild and snapshot is not None and snapshot.is_file():
            vectors = _read_snapshot(snapshot, fp, len(views))
            if vectors is not None:
                return cls(views, vectors, fp)
        try:
            vectors = _sync_chroma(views, texts, embedder, location, framework_hash, fp, rebuild)
        except Exception as exc:
            if not (location.host and _lost_server(exc)):
                raise
            raise _down(location, _lost_cause(exc)) from exc
        if snapshot is not None:
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            tmp = snapshot.with_suffix(".tmp.npz")
            np.savez(tmp, vectors=vectors, fingerprint=np.array(fp))
            tmp.replace(snapshot)
        return cls(views, vectors, fp)

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


def _sync_chroma(
    views: Sequence[View],
    texts: list[str],
    embedder: MiniLMEmbedder,
    location: ChromaLocation,
    framework_hash: str,
    fingerprint: str,
    rebuild: bool,
) -> np.ndarray:
    client = _client(location)
    name = collection_name(framework_hash, fingerprint)
    ids = [f"{i}:{v.element_id}" for i, v in enumerate(views)]
    if rebuild:
        for col in client.list_collections():
            col_name = col if isinstance(col, str) else col.name
            if col_name.startswith(f"fwbot-{framework_hash}"):
                client.delete_collection(col_name)
    collection = client.get_or_create_collection(
        name,
        embedding_function=embedder.as_chroma(),
        metadata={"hnsw:space": "cosine", "framework": framework_hash},
    )
    got = collection.get(ids=ids, include=["embeddings", "documents"])
    if (
        not rebuild
        and len(got["ids"]) == len(ids)
        and got["embeddings"] is not None
        and [got["documents"][got["ids"].index(i)] for i in ids] == texts
    ):
        order = [got["ids"].index(i) for i in ids]
        return np.asarray(got["embeddings"], dtype=np.float32)[order]
    vectors = embedder.embed(texts)
    collection.upsert(
        ids=ids,
        documents=texts,
        embeddings=[v.tolist() for v in vectors],
        metadatas=[{"element": v.element_id} for v in views],
    )
    # Drop stale collections of this framework (older view sets); other frameworks' stay.
    for col in client.list_collections():
        col_name = col if isinstance(col, str) else col.name
        if col_name != name and col_name.startswith(f"fwbot-{framework_hash}"):
            client.delete_collection(col_name)
    return vectors
