"""The dense index: Chroma as the index of record, keyed by the framework's content hash, with an
npz snapshot beside it; ``fwbot index``; the Chroma server wiring."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import run_fwbot

from bot.wiring.composition import Services
from bot.wiring.settings import Settings
from framework_data.loader import load_framework
from framework_data.schema import Framework
from retrieval.embeddings import MiniLMEmbedder
from retrieval.index import ChromaLocation, VectorIndex, View
from retrieval.search import FrameworkSearcher

INTERPOL = load_framework()


class CountingEmbedder:
    """Wraps the session embedder and counts the calls that run the model."""

    def __init__(self, inner: MiniLMEmbedder) -> None:
        self.inner = inner
        self.calls = 0
        self.texts = 0

    def load(self) -> CountingEmbedder:
        self.inner.load()
        return self  # FrameworkSearcher keeps what load() returns

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        return self.inner.embed(texts)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def as_chroma(self):
        return self.inner.as_chroma()


@pytest.fixture
def counting(embedder: MiniLMEmbedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


def open_searcher(
    fw: Framework, embedder: CountingEmbedder, where: Path, *, rebuild: bool = False
) -> FrameworkSearcher:
    return FrameworkSearcher(fw, embedder, location=ChromaLocation(path=where), rebuild=rebuild)


def chroma_collections(where: Path) -> dict[str, int]:
    """Collection name -> item count, read with a separate client on the same directory."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    # Same settings as the index's client: Chroma refuses two clients of one path that differ.
    client = chromadb.PersistentClient(
        path=str(where / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    out = {}
    for col in client.list_collections():
        name = col if isinstance(col, str) else col.name
        out[name] = client.get_collection(name).count()
    return out


def snapshots(where: Path) -> list[Path]:
    return sorted(where.glob("vectors-*.npz"))


def changed_framework() -> Framework:
    data = INTERPOL.model_dump(mode="json")
    data["goals"][0]["objectives"][0]["text"] += " and around the clock"
    fw = Framework.model_validate(data)
    assert fw.content_hash() != INTERPOL.content_hash()
    return fw


@pytest.fixture
def built(tmp_path: Path, counting: CountingEmbedder) -> tuple[Path, FrameworkSearcher]:
    """An index of the INTERPOL framework built in ``tmp_path`` (one embedding run)."""
    searcher = open_searcher(INTERPOL, counting, tmp_path)
    assert counting.calls == 1
    counting.calls = counting.texts = 0
    return tmp_path, searcher


# ---- building and reopening -----------------------------------------------------------------


@pytest.mark.slow  # embeds the framework into a new index
def test_first_open_creates_a_collection_named_by_hash_and_a_snapshot(
    built: tuple[Path, FrameworkSearcher],
) -> None:
    where, searcher = built
    fw_hash = INTERPOL.content_hash()
    n_views = len(searcher.index.views)
    assert n_views >= len(INTERPOL.elements())

    collections = chroma_collections(where)
    [name] = collections  # one collection for one framework
    assert fw_hash in name
    assert collections[name] == n_views

    [snapshot] = snapshots(where)
    assert fw_hash in snapshot.name
    with np.load(snapshot) as data:
        stored = data["vectors"]
    assert stored.shape == (n_views, 384)
    np.testing.assert_allclose(stored, searcher.index.vectors, atol=1e-6)
    assert searcher.index.vectors.dtype == np.float32


@pytest.mark.slow  # embeds the framework into a new index
def test_reopening_reads_the_snapshot_without_embedding(
    built: tuple[Path, FrameworkSearcher], counting: CountingEmbedder
) -> None:
    where, first = built
    again = open_searcher(INTERPOL, counting, where)
    assert counting.calls == 0
    assert [v for v in again.index.views] == [v for v in first.index.views]
    np.testing.assert_array_equal(again.index.vectors, first.index.vectors)
    # and the reopened index searches like the first one
    q = "Which objective is about training?"
    assert [s.id for s in again.score(q)[:3]] == [s.id for s in first.score(q)[:3]]


@pytest.mark.slow  # embeds the framework into a new index
def test_without_the_snapshot_vectors_come_back_from_chroma(
    built: tuple[Path, FrameworkSearcher], counting: CountingEmbedder
) -> None:
    where, first = built
    for snapshot in snapshots(where):
        snapshot.unlink()
    again = open_searcher(INTERPOL, counting, where)
    assert counting.calls == 0, "vectors should be read from Chroma, not re-embedded"
    np.testing.assert_allclose(again.index.vectors, first.index.vectors, atol=1e-6)
    assert len(snapshots(where)) == 1, "the snapshot is written again"


@pytest.mark.slow  # embeds the framework into a new index
def test_a_changed_framework_gets_its_own_collection_and_the_old_one_stays(
    built: tuple[Path, FrameworkSearcher], counting: CountingEmbedder
) -> None:
    where, first = built
    changed = changed_framework()
    second = open_searcher(changed, counting, where)
    assert counting.calls == 1, "a changed framework is embedded"

    collections = chroma_collections(where)
    old = [n for n in collections if INTERPOL.content_hash() in n]
    new = [n for n in collections if changed.content_hash() in n]
    assert len(old) == 1 and len(new) == 1 and old != new
    assert collections[new[0]] == len(second.index.views)
    assert collections[old[0]] == len(first.index.views)

    # the changed objective's vectors differ; the original framework still opens from disk
    assert not np.allclose(second.index.vectors, first.index.vectors)
    counting.calls = 0
    open_searcher(INTERPOL, counting, where)
    assert counting.calls == 0


@pytest.mark.slow  # embeds the framework into a new index
def test_rebuild_re_embeds(
    built: tuple[Path, FrameworkSearcher], counting: CountingEmbedder
) -> None:
    where, first = built
    rebuilt = open_searcher(INTERPOL, counting, where, rebuild=True)
    assert counting.calls >= 1
    assert counting.texts == len(first.index.views)
    np.testing.assert_allclose(rebuilt.index.vectors, first.index.vectors, atol=1e-5)
    collections = chroma_collections(where)
    mine = [n for n in collections if INTERPOL.content_hash() in n]
    assert len(mine) == 1 and collections[mine[0]] == len(first.index.views)
    assert len(snapshots(where)) == 1


def _corrupt(snapshot: Path, how: str) -> None:
    raw = snapshot.read_bytes()
    if how == "junk":
        snapshot.write_bytes(b"this is not a numpy file\n" * 40)
    elif how == "empty":
        snapshot.write_bytes(b"")
    elif how == "truncated":
        snapshot.write_bytes(raw[: len(raw) // 2])
    elif how == "flipped byte":
        data = bytearray(raw)
        data[len(data) // 2] ^= 0xFF  # inside the stored array: the zip member's CRC fails
        snapshot.write_bytes(bytes(data))
    else:  # pragma: no cover
        raise AssertionError(how)


@pytest.mark.slow  # embeds the framework into a new index
@pytest.mark.parametrize("how", ["junk", "empty", "truncated", "flipped byte"])
def test_a_corrupt_snapshot_is_rebuilt_with_a_warning(
    built: tuple[Path, FrameworkSearcher],
    counting: CountingEmbedder,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    where, first = built
    [snapshot] = snapshots(where)
    _corrupt(snapshot, how)
    with caplog.at_level(logging.WARNING, logger="retrieval.index"):
        again = open_searcher(INTERPOL, counting, where)
    np.testing.assert_allclose(again.index.vectors, first.index.vectors, atol=1e-6)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings and snapshot.name in warnings[0].getMessage()
    assert counting.calls == 0  # Chroma still holds the vectors
    with np.load(snapshot) as data:  # and the snapshot is good again
        np.testing.assert_allclose(data["vectors"], first.index.vectors, atol=1e-6)


@pytest.mark.slow  # embeds the framework into a new index
def test_a_snapshot_of_the_wrong_shape_is_not_used(
    built: tuple[Path, FrameworkSearcher], counting: CountingEmbedder
) -> None:
    where, first = built
    [snapshot] = snapshots(where)
    np.savez(snapshot, vectors=np.zeros((3, 384), dtype=np.float32))
    again = open_searcher(INTERPOL, counting, where)
    np.testing.assert_allclose(again.index.vectors, first.index.vectors, atol=1e-6)


def test_in_memory_index_embeds_and_writes_nothing(
    tmp_path: Path, counting: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    views = [View("a", "police training"), View("b", "the price of bananas")]
    index = VectorIndex.open(views, counting, None, framework_hash="0" * 16)
    assert counting.calls == 1
    assert index.vectors.shape == (2, 384)
    assert list(tmp_path.iterdir()) == []
    sims = index.similarities(counting.inner.embed(["training for police officers"]))
    assert sims.shape == (1, 2) and sims[0, 0] > sims[0, 1]


# ---- the CLI and the settings wiring --------------------------------------------------------


@pytest.mark.slow  # a fwbot subprocess
def test_fwbot_index_cli_reports_the_element_count(
    tmp_path: Path, fwbot_env: dict[str, str]
) -> None:
    env = {**fwbot_env, "FWBOT_DATA_DIR": str(tmp_path)}
    proc = run_fwbot("index", env=env)
    stdout, stderr = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    n_elements = len(INTERPOL.elements())
    assert re.search(rf"\b{n_elements} elements\b", stdout), stdout
    assert str(tmp_path / "index") in stdout
    assert len(snapshots(tmp_path / "index")) == 1
    assert any(INTERPOL.content_hash() in n for n in chroma_collections(tmp_path / "index"))


def test_chroma_host_setting_gives_a_host_location(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FWBOT_FRAMEWORK", raising=False)
    monkeypatch.setenv("CHROMA_HOST", "chroma.internal.example")
    monkeypatch.setenv("CHROMA_PORT", "9123")
    settings = Settings(_env_file=None)
    loc = Services(settings).chroma_location
    assert loc == ChromaLocation(
        host="chroma.internal.example",
        port=9123,
        copy_dir=settings.storage.data_dir / "index",  # the replica's local copy
    )
    assert loc.path is None and loc.snapshot_dir == settings.storage.data_dir / "index"

    monkeypatch.delenv("CHROMA_PORT")
    assert Services(Settings(_env_file=None)).chroma_location.port == 8000


def test_without_chroma_host_the_index_lives_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHROMA_HOST", raising=False)
    monkeypatch.setenv("FWBOT_DATA_DIR", str(tmp_path))
    loc = Services(Settings(_env_file=None)).chroma_location
    assert loc.host is None and loc.path == tmp_path / "index"


def test_a_host_location_reaches_chroma_through_http_client(
    embedder: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wiring only: the heartbeat and the Chroma client are replaced before anything
    could connect."""
    import chromadb

    import retrieval.index as index_module

    class Stop(Exception):
        pass

    seen: dict[str, object] = {}

    def fake_http_client(*args: object, **kwargs: object) -> None:
        seen.update(kwargs, args=args)
        raise Stop

    def no_persistent_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a host location must not open a local PersistentClient")

    monkeypatch.setattr(chromadb, "HttpClient", fake_http_client)
    monkeypatch.setattr(chromadb, "PersistentClient", no_persistent_client)
    monkeypatch.setattr(index_module, "check_heartbeat", lambda location, timeout: None)
    monkeypatch.setenv("CHROMA_HOST", "chroma.internal.example")
    monkeypatch.setenv("CHROMA_PORT", "9123")
    monkeypatch.delenv("FWBOT_FRAMEWORK", raising=False)
    services = Services(Settings(_env_file=None))
    services.__dict__["embedder"] = embedder  # the session's loaded model (cached_property)
    with pytest.raises(Stop):
        services.build_searcher()
    assert seen.get("host") == "chroma.internal.example"
    assert seen.get("port") == 9123
