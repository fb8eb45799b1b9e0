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
    def __init__(self, settings: Settings, *, framework_path: Path | None = None,
                 serving: bool = False) -> None:
        """``serving``: wired for `fwbot serve` (throughput over single-request latency)."""
        self.settings = settings
        self.framework_path = framework_path or settings.framework
        self.serving = serving

    @cached_property
    def framework(self) -> Framework:
        return load_framework(self.framework_path)

    @cached_property
    def embedder(self) -> MiniLMEmbedder:
        threads = self.settings.model_threads or (1 if self.serving else None)
        return MiniLMEmbedder(threads=threads)

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

    # ---- storage and Slack (imported late: the CLI's core commands don't need them) --------

    @cached_property
    def database(self):  # -> bot.storage.db.Database, migrated
        from .storage.db import Database

        db = Database(self.settings.database)
        db.migrate()
        return db

    @cached_property
    def store(self):  # -> bot.storage.store.Store
        from .storage.store import Store

        return Store(self.database)

    @cached_property
    def questions(self):  # -> bot.questions.QuestionService
        from .questions import QuestionService

        return QuestionService(self.assistant, self.store)

    @cached_property
    def alignments(self):  # -> bot.alignments.AlignmentService
        from .alignments import AlignmentService

        return AlignmentService(self.assistant, self.store)

    @cached_property
    def metrics(self):  # -> bot.slack.metrics.Metrics
        from .slack.metrics import Metrics

        return Metrics()

    @cached_property
    def slack_client(self):  # -> slack_sdk.WebClient
        from slack_sdk import WebClient

        from .slack.delivery import retry_handlers

        return WebClient(token=self.settings.slack_bot_token, base_url=self.settings.slack_api_url,
                         timeout=15, retry_handlers=retry_handlers())

    @cached_property
    def slack_deps(self):  # -> bot.slack.deps.SlackDeps
        from .slack.delivery import Delivery
        from .slack.deps import SlackDeps

        return SlackDeps(framework=self.framework, questions=self.questions,
                         alignments=self.alignments, store=self.store,
                         delivery=Delivery(self.slack_client, self.metrics), metrics=self.metrics,
                         work=self.work_pool)

    @cached_property
    def work_pool(self):  # -> concurrent.futures.ThreadPoolExecutor
        """Where answers and alignments are computed after the ack: one thread per core
        (the model is CPU-bound; more threads only make every request wait longer)."""
        import os
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2),
                                  thread_name_prefix="fwbot-work")

    def slack_app(self, *, bot_user_id: str | None = None):  # -> slack_bolt.App
        from .slack.app import build_app

        self.settings.require_slack()
        secret = None if self.settings.socket_mode else self.settings.slack_signing_secret
        return build_app(self.slack_deps, client=self.slack_client, signing_secret=secret,
                         bot_user_id=bot_user_id)

    def health(self) -> dict:
        """What /healthz reports; raises when a dependency is down."""
        from sqlalchemy import text

        with self.database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True, "framework": self.framework.title,
                "objectives": sum(1 for _ in self.framework.objectives())}
