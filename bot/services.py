"""The composition root: settings in, wired services out."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from framework_data.loader import load_framework
from framework_data.schema import Framework
from retrieval.assistant import FrameworkAssistant
from retrieval.embeddings import MiniLMEmbedder
from retrieval.index import ChromaLocation
from retrieval.search import FrameworkSearcher

from .settings import Settings


class Services:
    def __init__(self, settings: Settings, *, framework_path: Path | None = None) -> None:
        self.settings = settings
        self.framework_path = framework_path or settings.framework

    @cached_property
    def framework(self) -> Framework:
        return load_framework(self.framework_path)

    @cached_property
    def embedder(self) -> MiniLMEmbedder:
        return MiniLMEmbedder()

    @property
    def chroma_location(self) -> ChromaLocation:
        s = self.settings
        if s.chroma_host:
            return ChromaLocation(host=s.chroma_host, port=s.chroma_port)
        return ChromaLocation(path=s.data_dir / "index")

    def build_searcher(self, *, rebuild: bool = False) -> FrameworkSearcher:
        return FrameworkSearcher(
            self.framework, self.embedder, location=self.chroma_location, rebuild=rebuild
        )

    @cached_property
    def searcher(self) -> FrameworkSearcher:
        return self.build_searcher()

    @cached_property
    def assistant(self) -> FrameworkAssistant:
        return FrameworkAssistant(self.searcher)
