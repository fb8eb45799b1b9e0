"""The composition root: settings in, wired services out."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from framework_data.loader import load_framework
from framework_data.schema import Framework
from retrieval.assistant import FrameworkAssistant
from retrieval.embeddings import MiniLMEmbedder
from retrieval.index import ChromaLocation
from retrieval.search import FrameworkSearcher

# the margin beyond the client's timeout by which a post Slack received has landed: the one
# settle window of every "wait until what was sent can have landed" (bot/slack_api/posting.py)
from ..slack_api.retry import SETTLE
from .search_index import build_searcher, chroma_location, replica_lock, vector_store_check
from .settings import Settings, UnusableSetting

# Threads answering and aligning after the ack: one per core (the model is CPU-bound; more
# threads only make every request wait longer).
WORK_THREADS = max(2, os.cpu_count() or 2)
QUEUED_PER_THREAD = 32  # FWBOT_MAX_QUEUED_WORK's default, per work thread
NOTICE_THREADS = 16  # "busy" lines posted at once (Slack's latency, not the CPU, bounds them)


class Services:
    def __init__(
        self,
        settings: Settings,
        *,
        framework_path: Path | None = None,
        serving: bool = False,
        without_notes: bool = False,
    ) -> None:
        """``serving``: wired for `fwbot serve` (throughput over single-request latency);
        ``without_notes``: the framework without its scope notes and keywords (eval)."""
        self.settings = settings
        self.framework_path = framework_path or settings.storage.framework
        self.serving = serving
        self.without_notes = without_notes

    @cached_property
    def framework(self) -> Framework:
        framework = load_framework(self.framework_path)
        return framework.without_notes() if self.without_notes else framework

    @cached_property
    def embedder(self) -> MiniLMEmbedder:
        threads = self.settings.runtime.model_threads or (1 if self.serving else None)
        return MiniLMEmbedder(threads=threads)

    @property
    def chroma_location(self) -> ChromaLocation:
        return chroma_location(self.settings.storage)

    def build_searcher(self, *, rebuild: bool = False) -> FrameworkSearcher:
        return build_searcher(
            self.framework,
            self.embedder,
            self.settings.storage,
            lambda: self.database.engine,
            rebuild=rebuild,
        )

    def replica_lock(self, *, wait: float):  # -> bot.storage.process_lock.NamedLock
        """A lock by name shared by every replica of this database."""
        return replica_lock(self.settings.storage, lambda: self.database.engine, wait=wait)

    @cached_property
    def searcher(self) -> FrameworkSearcher:
        return self.build_searcher()

    @cached_property
    def assistant(self) -> FrameworkAssistant:
        """The knowledge core; with FWBOT_LLM, answers are written by that model (and fall
        back to the offline composer, counted in /metrics)."""
        parts = self.model_parts
        if parts is None:
            return FrameworkAssistant(self.searcher)
        return FrameworkAssistant(
            self.searcher, composer=parts.composer, rewriter=parts.rewriter, reviewer=parts.reviewer
        )

    @cached_property
    def model_parts(self):  # -> bot.wiring.chat_model.ModelParts | None (no FWBOT_LLM)
        if not self.settings.llm.model:
            return None
        from .chat_model import model_parts

        metrics = self.metrics
        return model_parts(
            self.settings,
            self.framework.title,
            on_fallback=lambda reason: metrics.llm_fallbacks.labels(reason).inc(),
            on_usage=lambda u: metrics.count_tokens(
                u.provider, u.model, u.input_tokens, u.output_tokens
            ),
        )

    # ---- storage and Slack (imported late: the CLI's core commands don't need them) --------

    @cached_property
    def database(self):  # -> bot.storage.db.Database, migrated
        from .places import open_database  # SQLAlchemy only when a command needs it

        return open_database(self.settings.storage)

    @cached_property
    def store(self):  # -> bot.storage.store.Store
        from ..storage.store import Store

        return Store(self.database)

    @cached_property
    def questions(self):  # -> bot.services.questions.QuestionService
        from ..services.questions import QuestionService

        return QuestionService(
            self.assistant, self.store, admins=self.admins, progress=self.progress_answers
        )

    @cached_property
    def progress_answers(self):  # -> bot.services.progress_answers.ProgressAnswerer
        from .progress_answers import progress_answerer

        return progress_answerer(self)

    @cached_property
    def ask_anything(self):  # -> Callable[[str], retrieval.answer.Answer]
        """The CLI's and the console's questions: about progress (the operator sees all),
        else about the framework."""
        from .progress_answers import local_asker

        return local_asker(self)

    @cached_property
    def alignments(self):  # -> bot.services.alignments.AlignmentService
        from ..services.alignments import AlignmentService

        return AlignmentService(self.assistant, self.store, admins=self.admins)

    @cached_property
    def metrics(self):  # -> bot.slack.metrics.Metrics
        from ..slack.metrics import Metrics

        return Metrics()

    @cached_property
    def slack_client(self):  # -> slack_sdk.WebClient
        from slack_sdk import WebClient

        from ..slack.delivery import retry_handlers

        client = WebClient(
            token=self.settings.slack.bot_token,
            base_url=self.settings.slack.api_url,
            timeout=max(1, round(self.settings.slack.timeout)),
            retry_handlers=retry_handlers(),
        )
        if self.settings.slack.trust_local_slack:  # the local fake (tests, local runs)
            from ..slack_api.hosts import trust_local_slack

            trust_local_slack(client)
        return client

    @cached_property
    def slack_deps(self):  # -> bot.slack.deps.SlackDeps
        from concurrent.futures import ThreadPoolExecutor

        from ..slack.backpressure import WorkGate
        from ..slack.delivery import Delivery
        from ..slack.deps import SlackDeps
        from ..slack.durable import Inbox
        from ..storage.work_store import WorkStore

        return SlackDeps(
            framework=self.framework,
            questions=self.questions,
            alignments=self.alignments,
            store=self.store,
            delivery=Delivery(self.slack_client, self.metrics),
            metrics=self.metrics,
            work=self.work_pool,
            progress=self.progress,
            inbox=Inbox(WorkStore(self.database), settle=self.settings.slack.timeout + SETTLE),
            stream_answers=self.settings.slack.streaming,
            gate=WorkGate(self.max_queued_work, self.metrics),
            # "busy" lines: one Web API call each, waiting on Slack, not on the CPU
            notices=ThreadPoolExecutor(
                max_workers=NOTICE_THREADS, thread_name_prefix="fwbot-notice"
            ),
        )

    @property
    def max_queued_work(self) -> int:
        """FWBOT_MAX_QUEUED_WORK, else 32 per work thread: 2–3 s of answers (25–50 ms of CPU
        each), so that only a real flood, not an ordinary burst, gets "busy" lines."""
        return self.settings.runtime.max_queued_work or QUEUED_PER_THREAD * WORK_THREADS

    @cached_property
    def work_pool(self):  # -> concurrent.futures.ThreadPoolExecutor
        """Where answers and alignments are computed after the ack: one thread per core
        (the model is CPU-bound; more threads only make every request wait longer)."""
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=WORK_THREADS, thread_name_prefix="fwbot-work")

    @cached_property
    def slack_identity(self) -> dict:
        """``auth.test`` for SLACK_BOT_TOKEN, once: the bot's user and team ids. Raises
        UnusableSetting when Slack refuses the token or cannot be reached at SLACK_API_URL."""
        import logging

        from slack_sdk import WebClient
        from slack_sdk.errors import SlackApiError
        from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

        from ..slack_api.workspace import auth_test

        self.settings.slack.require_token()
        url = self.settings.slack.api_url
        quiet = logging.getLogger("fwbot.slack.auth_check")  # a failure is our one line
        quiet.propagate = False
        if not quiet.handlers:
            quiet.addHandler(logging.NullHandler())
        client = WebClient(
            token=self.settings.slack.bot_token,
            base_url=url,
            timeout=15,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2)],
            logger=quiet,
        )
        try:
            return auth_test(client)
        except SlackApiError as exc:
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            if error in {
                "invalid_auth",
                "not_authed",
                "token_revoked",
                "token_expired",
                "account_inactive",
            }:
                raise UnusableSetting(
                    f"Slack refused SLACK_BOT_TOKEN ({error}): copy the bot token (xoxb-…) "
                    "again from your Slack app's “OAuth & Permissions” page, or reinstall the "
                    "app; see deploy/README.md"
                ) from exc
            raise UnusableSetting(
                f"Slack at {url} did not accept auth.test ({error or exc.response.status_code})"
                ": check SLACK_API_URL and SLACK_BOT_TOKEN"
            ) from exc
        except (OSError, ValueError) as exc:  # URLError, refused, timeout, TLS, a bad URL
            reason = getattr(exc, "reason", None) or exc
            raise UnusableSetting(
                f"cannot reach Slack at {url} ({reason}): check the network (proxy, firewall)"
                " and SLACK_API_URL"
            ) from exc

    def slack_app(self, *, bot_user_id: str | None = None):  # -> slack_bolt.App
        from ..slack.app import build_app
        from ..slack.features import PluginError

        self.settings.slack.require()
        secret = None if self.settings.slack.socket_mode else self.settings.slack.signing_secret
        if bot_user_id is None:  # the token is checked before the app is built
            bot_user_id = self.slack_identity.get("user_id")
        try:
            return build_app(
                self.slack_deps,
                client=self.slack_client,
                signing_secret=secret,
                bot_user_id=bot_user_id,
            )
        except PluginError as exc:
            raise UnusableSetting(f"{exc}: fix or uninstall that package") from exc

    # ---- progress tracking -----------------------------------------------------------------

    @cached_property
    def progress_store(self):  # -> bot.storage.progress_store.ProgressStore
        from ..storage.progress_store import ProgressStore

        return ProgressStore(self.database)

    @cached_property
    def claim_store(self):  # -> bot.storage.claims_store.ClaimStore
        from ..storage.claims_store import ClaimStore

        return ClaimStore(self.database)

    @cached_property
    def admins(self):  # -> bot.progress.service.Admins
        from ..progress.service import Admins

        group = self.settings.progress.admin_usergroup
        members = None
        if group and self.settings.slack.bot_token:

            def members():
                from ..slack_api.workspace import usergroup_members

                return usergroup_members(self.slack_client, group)

        return Admins(self.settings.progress.admins, group_members=members)

    @cached_property
    def progress(self):  # -> bot.progress.service.ProgressService
        from ..progress.service import ProgressService

        return ProgressService(
            self.progress_store,
            self.framework,
            admins=self.admins,
            default_tz=self.settings.progress.default_tz,
        )

    @cached_property
    def sender(self):  # -> bot.slack_api.sender.SlackSender
        from ..slack_api.calls import sender_client
        from ..slack_api.pacing import AdaptivePacer
        from ..slack_api.sender import SlackSender

        self.settings.slack.require_token()
        client = sender_client(
            self.settings.slack.bot_token or "",
            self.settings.slack.api_url,
            timeout=self.settings.slack.timeout,
        )
        return SlackSender(
            client,
            AdaptivePacer(
                self.settings.progress.send_rate, start_rate=self.send_rate_memory.learned()
            ),
        )

    @cached_property
    def send_rate_memory(self):  # -> bot.progress.passes.SendRateMemory
        from ..progress.passes import SendRateMemory
        from ..storage.app_state_store import AppStateStore

        return SendRateMemory(AppStateStore(self.database), cap=self.settings.progress.send_rate)

    @cached_property
    def nudge_runner(self):  # -> bot.progress.nudges.NudgeRunner
        from ..progress.nudges import NudgeConfig, NudgeRunner
        from ..progress.time_zones import refresh_time_zones
        from ..slack.progress_render import renderers
        from ..slack_api.workspace import user_info

        s = self.settings
        config = NudgeConfig(
            default_tz=s.progress.default_tz,
            workers=s.progress.nudge_workers,
            escalate_after_weeks=s.progress.escalate_after_weeks,
            escalate_to=s.progress.escalate_to,
            admins=s.progress.admins,
            in_flight_grace=s.slack.timeout + SETTLE,
        )
        sender = self.sender if s.slack.bot_token else None

        def refresh(owners, now):
            if s.slack.bot_token:
                refresh_time_zones(
                    self.progress_store,
                    lambda u: user_info(self.slack_client, u),
                    owners,
                    now,
                )

        return NudgeRunner(
            self.progress_store,
            self.claim_store,
            sender,
            renderers(),
            config,
            refresh_time_zones=refresh,
            admins=self.admins.all,
        )

    @cached_property
    def digest_publisher(self):  # -> bot.progress.digest_post.DigestPublisher | None
        from datetime import time

        from ..progress.chart import status_chart_png
        from ..progress.digest_post import DigestConfig, DigestPublisher
        from ..slack.progress_render import render_digest
        from ..storage.progress_records import WEEKDAYS

        s = self.settings
        if not s.progress.digest_channel:
            return None
        config = DigestConfig(
            channel=s.progress.digest_channel,
            weekday=WEEKDAYS.index(s.progress.digest_day),
            at=time.fromisoformat(s.progress.digest_time),
            tz=s.progress.digest_tz,
            in_flight_grace=s.slack.timeout + SETTLE,
        )
        return DigestPublisher(
            self.progress_store,
            self.claim_store,
            self.framework,
            self.sender,
            config,
            render=render_digest,
            chart=status_chart_png,
        )

    @cached_property
    def progress_passes(self):  # -> bot.progress.passes.ProgressPass
        from ..progress.passes import ProgressPass

        return ProgressPass(
            self.nudge_runner,
            self.digest_publisher,
            can_send=bool(self.settings.slack.bot_token),
            check_token=lambda: self.slack_identity,  # raises UnusableSetting
            after_sending=lambda: self.send_rate_memory.remember(self.sender.pacer),
        )

    def progress_pass(self, now, *, dry_run: bool = False):  # -> bot.progress.nudges.RunReport
        return self.progress_passes.run(now, dry_run=dry_run)

    def readiness(self):  # -> bot.slack.health.Readiness
        """What /readyz checks: the database (``SELECT 1``) and the vector store (the
        embedded collection read, or the Chroma server's heartbeat); `fwbot serve` adds the
        socket in Socket Mode. Each bounded in time and cached (bot/slack/health.py). A Chroma
        server that does not answer leaves the replica ready (``local_copy``: it searches the
        vectors it holds), with a warning and ``fwbot_index_local_copy`` 1."""
        from ..slack.health import NotReady, Readiness

        def database() -> None:
            from sqlalchemy import text

            try:
                with self.database.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:
                raise NotReady("down", f"{type(exc).__name__}: {exc}") from exc

        vector_store = vector_store_check(
            lambda: self.searcher, self.settings.storage, self.metrics.index_on_local_copy
        )
        return Readiness({"database": database, "vector_store": vector_store})
